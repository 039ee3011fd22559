//! Naming the caller of one request: from the plain headers, or from a verified identity token.

use std::io;

use http::HeaderMap;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde::Deserialize;

use super::IdentityCheck;
use super::jwks::{KeyError, KeySet};

/// The header through which the gateway names the authenticated caller (plain mode).
const SUBJECT_HEADER: &str = "x-portcullis-subject";

/// The caller's roles, comma-separated (plain mode).
const ROLES_HEADER: &str = "x-portcullis-roles";

/// The gateway-signed identity JWT (verifying mode).
const TOKEN_HEADER: &str = "x-portcullis-identity";

/// Clock skew tolerated on `exp` (and `nbf`), in seconds: the tokens live ≤ 60 s.
const LEEWAY_SECS: u64 = 5;

/// Who is calling, as far as the bank believes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The subject; `None` is anonymous (possible in plain mode only).
    pub(crate) subject: Option<String>,
    /// The caller's roles, for a handler that wants them.
    #[allow(dead_code, reason = "the bank is naive: no handler checks roles")]
    pub(crate) roles: Vec<String>,
}

impl Caller {
    /// The caller the plain headers name, trusted blindly; absent means anonymous.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            let value = headers.get(name)?.to_str().ok()?.trim();
            (!value.is_empty()).then_some(value)
        };
        let roles = text(ROLES_HEADER)
            .into_iter()
            .flat_map(|roles| roles.split(','))
            .map(str::trim)
            .filter(|role| !role.is_empty())
            .map(str::to_owned)
            .collect();
        Caller {
            subject: text(SUBJECT_HEADER).map(str::to_owned),
            roles,
        }
    }
}

/// The claims of an identity token the bank uses; `iss`, `aud` and `exp` are
/// checked by `jsonwebtoken`, the rest (`idp`, `scope`, `tenant`, …) is ignored.
#[derive(Deserialize)]
struct Claims {
    /// Required by the validation; optional here so that its absence is reported as such.
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

/// Verifies `X-Portcullis-Identity` tokens against the gateway's JWK set.
pub(crate) struct Verifier {
    issuer: String,
    audience: String,
    keys: KeySet,
}

impl Verifier {
    /// A verifier for `check`; fails (`InvalidInput`) on invalid settings. Fetches nothing yet.
    pub(crate) fn new(check: &IdentityCheck) -> io::Result<Self> {
        Ok(Verifier {
            issuer: check.issuer.clone(),
            audience: check.audience.clone(),
            keys: KeySet::new(check.jwks_uri()?, check.refetch_interval),
        })
    }

    /// The caller named by the request's identity token, or why there is none
    /// (a message for a 401).
    pub(crate) async fn caller(&self, headers: &HeaderMap) -> Result<Caller, &'static str> {
        let mut values = headers.get_all(TOKEN_HEADER).iter();
        let token = match (values.next(), values.next()) {
            (None, _) => return Err("missing identity token"),
            (Some(_), Some(_)) => return Err("more than one identity token"),
            (Some(value), None) => value.to_str().map_err(|_| MALFORMED)?.trim(),
        };
        let header = decode_header(token).map_err(|_| MALFORMED)?;
        let kid = header.kid.ok_or("identity token names no key (kid)")?;
        let key = self.keys.get(&kid).await.map_err(|error| match error {
            KeyError::Unknown => "identity token signed by an unknown key",
            KeyError::Unavailable => "identity keys unavailable",
        })?;
        // The algorithm is the key's: a token claiming another one is refused.
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let claims = decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|error| rejection(error.kind()))?
            .claims;
        let Some(subject) = claims.sub.filter(|sub| !sub.trim().is_empty()) else {
            return Err("identity token has an empty subject");
        };
        Ok(Caller {
            subject: Some(subject),
            roles: claims.roles,
        })
    }
}

const MALFORMED: &str = "malformed identity token";

/// The 401 message for a token `jsonwebtoken` refused.
fn rejection(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSignature => "identity token has a bad signature",
        ErrorKind::InvalidAlgorithm => "identity token uses the wrong algorithm",
        ErrorKind::ExpiredSignature => "identity token expired",
        ErrorKind::ImmatureSignature => "identity token not yet valid",
        ErrorKind::InvalidIssuer => "identity token has the wrong issuer",
        ErrorKind::InvalidAudience => "identity token has the wrong audience",
        ErrorKind::MissingRequiredClaim(_) => "identity token lacks a required claim",
        ErrorKind::Json(_) => "identity token has malformed claims",
        _ => "invalid identity token",
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn plain_headers_name_the_caller() {
        let mut headers = HeaderMap::new();
        assert_eq!(Caller::from_headers(&headers), Caller::default());
        headers.insert(SUBJECT_HEADER, HeaderValue::from_static(" u-bob "));
        headers.insert(ROLES_HEADER, HeaderValue::from_static("customer, ,admin"));
        let caller = Caller::from_headers(&headers);
        assert_eq!(caller.subject.as_deref(), Some("u-bob"));
        assert_eq!(caller.roles, ["customer", "admin"]);
    }

    #[tokio::test]
    async fn refuses_missing_duplicate_and_malformed_tokens() {
        let verifier = Verifier::new(&IdentityCheck::new("http://127.0.0.1:9/jwks.json"))
            .expect("valid settings");
        let mut headers = HeaderMap::new();
        assert_eq!(
            verifier.caller(&headers).await,
            Err("missing identity token")
        );
        headers.insert(TOKEN_HEADER, HeaderValue::from_static("not-a-jwt"));
        assert_eq!(verifier.caller(&headers).await, Err(MALFORMED));
        headers.append(TOKEN_HEADER, HeaderValue::from_static("a.b.c"));
        assert_eq!(
            verifier.caller(&headers).await,
            Err("more than one identity token")
        );
    }
}
