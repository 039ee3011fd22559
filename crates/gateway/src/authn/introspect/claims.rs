//! An introspection response (RFC 7662 §2.2) read into a principal: activity,
//! expiry, issuer and audience checks, then the configured claim mapping.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::IntrospectionConfig;
use crate::authn::{AuthMethod, Failure, Principal};

/// What a response says about the token.
#[derive(Debug)]
pub(super) enum Answer {
    /// Active and acceptable.
    Active(Principal),
    /// Inactive, or active but not acceptable here (expired, wrong issuer …).
    Refused(Failure),
    /// Not a valid introspection response: the provider is broken.
    Invalid(&'static str),
}

/// Reads a response body at `now` (seconds since the epoch).
pub(super) fn interpret(
    cfg: &IntrospectionConfig,
    provider: &str,
    body: &[u8],
    now: u64,
) -> Answer {
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(body) else {
        return Answer::Invalid("the response is not a JSON object");
    };
    match claims.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Answer::Refused(Failure::Inactive),
        _ => return Answer::Invalid("the response has no boolean `active`"),
    }
    let mut times = [None; 2];
    for (slot, name) in times.iter_mut().zip(["exp", "iat"]) {
        match claims.get(name) {
            None | Some(Value::Null) => {}
            Some(v) => match seconds(v) {
                Some(s) => *slot = Some(s),
                None => return Answer::Invalid("`exp` or `iat` is not a number of seconds"),
            },
        }
    }
    let [exp, iat] = times;
    match principal(cfg, provider, claims) {
        Ok(mut p) => {
            if exp.is_some_and(|e| e <= now) {
                return Answer::Refused(Failure::Expired);
            }
            p.expires_at = exp;
            p.issued_at = iat;
            Answer::Active(p)
        }
        Err(f) => Answer::Refused(f),
    }
}

fn principal(
    cfg: &IntrospectionConfig,
    provider: &str,
    claims: Map<String, Value>,
) -> Result<Principal, Failure> {
    let text = |name: &str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.as_str()),
        _ => None,
    };
    let iss = text("iss");
    if let Some(want) = &cfg.issuer
        && iss != Some(want.as_str())
    {
        return Err(Failure::WrongIssuer);
    }
    if !cfg.audiences.is_empty() {
        let aud = strings(claims.get("aud"));
        if !aud.iter().any(|a| cfg.audiences.iter().any(|w| **a == **w)) {
            return Err(Failure::WrongAudience);
        }
    }
    let subject = text("sub")
        .or_else(|| text("username"))
        .or_else(|| text("client_id"))
        .ok_or(Failure::MissingClaim)?;
    let mut p = Principal::new(subject, iss.unwrap_or(provider), AuthMethod::Introspection);
    p.roles = strings(lookup(&claims, &cfg.roles_claim));
    p.scopes = strings(lookup(&claims, &cfg.scopes_claim));
    p.tenant = cfg
        .tenant_claim
        .as_deref()
        .and_then(|t| match lookup(&claims, t)? {
            Value::String(s) if !s.is_empty() => Some(s.as_str().into()),
            Value::Number(n) => Some(n.to_string().into()),
            _ => None,
        });
    let amr_mfa = strings(claims.get("amr")).iter().any(|a| &**a == "mfa");
    let acr_mfa = text("acr").is_some_and(|a| cfg.mfa_acr_values.iter().any(|v| v == a));
    p.mfa = amr_mfa || acr_mfa;
    p.credential_id = text("jti").map(Into::into);
    p.claims = Arc::new(claims);
    Ok(p)
}

/// A claim by name, or by dotted path through nested objects (`realm_access.roles`).
/// A name that exists as written wins (some claim names hold dots).
fn lookup<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut v = claims.get(parts.next()?)?;
    for part in parts {
        v = v.as_object()?.get(part)?;
    }
    Some(v)
}

/// A space-separated string or an array of strings (others ignored), as a list.
fn strings(v: Option<&Value>) -> Vec<Arc<str>> {
    match v {
        Some(Value::String(s)) => s.split_ascii_whitespace().map(Into::into).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(Into::into)
            .collect(),
        _ => Vec::new(),
    }
}

/// A time claim: whole (or fractional, truncated) non-negative seconds.
fn seconds(v: &Value) -> Option<u64> {
    let n = v.as_number()?;
    n.as_u64().or_else(|| {
        let f = n.as_f64()?;
        (f.is_finite() && f >= 0.0 && f < u64::MAX as f64).then_some(f as u64)
    })
}
