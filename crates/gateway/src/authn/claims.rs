//! From verified claims (a JWT payload, an introspection response) to a
//! [`Principal`]'s roles, scopes, tenant and MFA, as the provider's config maps
//! them: one mapping for every token kind.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::authn::{AuthMethod, Failure, Principal};

/// `amr` values (RFC 8176) that attest a second factor: `mfa` itself, a
/// one-time password, or a hardware- or software-secured key.
const MFA_AMR: [&str; 4] = ["mfa", "otp", "hwk", "swk"];

/// Where the principal's attributes are in the claims.
#[derive(Debug)]
pub(crate) struct Mapping {
    pub(crate) roles: String,
    pub(crate) scopes: String,
    pub(crate) tenant: Option<String>,
    pub(crate) mfa_acr_values: Vec<String>,
}

impl Mapping {
    /// The principal of a verified JWT payload (`sub` must be a string).
    pub(crate) fn principal(
        &self,
        issuer: &Arc<str>,
        claims: Map<String, Value>,
    ) -> Result<Principal, Failure> {
        let subject: Arc<str> = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(Failure::MissingClaim)?
            .into();
        let mut p = Principal::new(subject, Arc::clone(issuer), AuthMethod::Jwt);
        self.apply(&mut p, claims);
        Ok(p)
    }

    /// Fills `p`'s roles, scopes, tenant, MFA flag, token id and times from the
    /// claims, and keeps the claims.
    pub(crate) fn apply(&self, p: &mut Principal, claims: Map<String, Value>) {
        let roles = lookup(&claims, &self.roles).map_or_else(Vec::new, |v| strings(v, false));
        let scopes = lookup(&claims, &self.scopes)
            .or_else(|| claims.get("scp"))
            .map_or_else(Vec::new, |v| strings(v, true));
        let tenant = self
            .tenant
            .as_deref()
            .and_then(|path| lookup(&claims, path))
            .and_then(|v| match v {
                Value::String(s) => Some(Arc::from(s.as_str())),
                Value::Number(n) => Some(Arc::from(n.to_string())),
                _ => None,
            });
        let amr_mfa = claims
            .get("amr")
            .and_then(Value::as_array)
            .is_some_and(|amr| {
                amr.iter()
                    .filter_map(Value::as_str)
                    .any(|m| MFA_AMR.contains(&m))
            });
        let acr_mfa = claims
            .get("acr")
            .and_then(Value::as_str)
            .is_some_and(|acr| self.mfa_acr_values.iter().any(|v| v == acr));
        p.roles = roles;
        p.scopes = scopes;
        p.tenant = tenant;
        p.mfa = amr_mfa || acr_mfa;
        p.credential_id = claims.get("jti").and_then(Value::as_str).map(Arc::from);
        p.issued_at = claims.get("iat").and_then(seconds);
        p.expires_at = claims.get("exp").and_then(seconds);
        p.claims = Arc::new(claims);
    }
}

/// A claim by name, or by dotted path when no claim has the whole name
/// (namespaced claims such as `https://example.com/roles` hold dots).
pub(crate) fn lookup<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
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

/// A NumericDate as whole seconds (fractions dropped; negatives refused).
pub(crate) fn seconds(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// A string (space-separated when `split`) or an array of strings.
pub(crate) fn strings(v: &Value, split: bool) -> Vec<Arc<str>> {
    match v {
        Value::String(s) if split => s.split_whitespace().map(Arc::from).collect(),
        Value::String(s) if !s.is_empty() => vec![Arc::from(s.as_str())],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(Arc::from)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mapping(roles: &str, tenant: Option<&str>) -> Mapping {
        Mapping {
            roles: roles.into(),
            scopes: "scope".into(),
            tenant: tenant.map(Into::into),
            mfa_acr_values: vec!["urn:mfa".into()],
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn roles_scopes_tenant_and_mfa_are_mapped() {
        let iss: Arc<str> = "https://idp".into();
        let p = mapping("realm_access.roles", Some("org.id"))
            .principal(
                &iss,
                claims(json!({
                    "sub": "alice", "jti": "t-1", "iat": 10, "exp": 20.5,
                    "realm_access": {"roles": ["admin", 7, "user"]},
                    "scope": "read  write", "org": {"id": "acme"}, "amr": ["pwd", "otp"]
                })),
            )
            .unwrap();
        assert_eq!(&*p.subject, "alice");
        assert_eq!(p.roles, vec![Arc::from("admin"), Arc::from("user")]);
        assert_eq!(p.scopes, vec![Arc::from("read"), Arc::from("write")]);
        assert_eq!(p.tenant.as_deref(), Some("acme"));
        assert!(p.mfa);
        assert_eq!(p.credential_id.as_deref(), Some("t-1"));
        assert_eq!((p.issued_at, p.expires_at), (Some(10), Some(20)));
        assert_eq!(p.method, AuthMethod::Jwt);
        assert!(Arc::ptr_eq(&p.issuer, &iss));
    }

    #[test]
    fn scp_is_the_scope_fallback_and_acr_can_attest_mfa() {
        let m = mapping("https://example.com/roles", None);
        let p = m
            .principal(
                &"i".into(),
                claims(json!({"sub": "s", "scp": ["a", "b"], "acr": "urn:mfa",
                              "https://example.com/roles": "auditor"})),
            )
            .unwrap();
        assert_eq!(p.scopes, vec![Arc::from("a"), Arc::from("b")]);
        assert_eq!(p.roles, vec![Arc::from("auditor")]);
        assert!(p.mfa);
        let p = m
            .principal(
                &"i".into(),
                claims(json!({"sub": "s", "amr": ["pwd"], "acr": "1"})),
            )
            .unwrap();
        assert!(!p.mfa);
    }

    #[test]
    fn a_subject_that_is_not_a_string_is_missing() {
        let m = mapping("roles", None);
        assert_eq!(
            m.principal(&"i".into(), claims(json!({"sub": 42})))
                .unwrap_err(),
            Failure::MissingClaim
        );
    }
}
