//! An introspection response (RFC 7662 §2.2) read into a principal: activity,
//! expiry, issuer and audience checks, then the configured claim mapping.

use serde_json::{Map, Value};

use super::IntrospectionConfig;
use crate::authn::claims::{Mapping, seconds, strings};
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
        let aud = claims
            .get("aud")
            .map_or_else(Vec::new, |v| strings(v, true));
        if !aud.iter().any(|a| cfg.audiences.iter().any(|w| **a == **w)) {
            return Err(Failure::WrongAudience);
        }
    }
    let subject = text("sub")
        .or_else(|| text("username"))
        .or_else(|| text("client_id"))
        .ok_or(Failure::MissingClaim)?;
    let mut p = Principal::new(subject, iss.unwrap_or(provider), AuthMethod::Introspection);
    let mapping = Mapping {
        roles: cfg.roles_claim.clone(),
        scopes: cfg.scopes_claim.clone(),
        tenant: cfg.tenant_claim.clone(),
        mfa_acr_values: cfg.mfa_acr_values.clone(),
    };
    mapping.apply(&mut p, claims);
    Ok(p)
}
