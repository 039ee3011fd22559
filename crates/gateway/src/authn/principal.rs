//! Who a request comes from, once a credential has been verified.

use std::fmt;
use std::sync::Arc;

/// How a principal was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// A JWT bearer token checked against its issuer's keys.
    Jwt,
    /// An opaque token checked by OAuth2 introspection (RFC 7662).
    Introspection,
    /// An API key.
    ApiKey,
    /// A verified TLS client certificate.
    Mtls,
    /// An HTTP message signature (RFC 9421).
    Signature,
}

impl AuthMethod {
    /// The name used in audit events, metrics and the upstream identity.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Jwt => "jwt",
            AuthMethod::Introspection => "introspection",
            AuthMethod::ApiKey => "api_key",
            AuthMethod::Mtls => "mtls",
            AuthMethod::Signature => "signature",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verified identity behind a request: what later stages (authorization,
/// limits) and the audit log use. It never holds the credential itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The subject (`sub`, the API key's consumer, the certificate's mapped name …).
    pub subject: Arc<str>,
    /// Who vouched for it: the token issuer, or the provider name for keys,
    /// certificates and signatures.
    pub issuer: Arc<str>,
    /// Roles (from a configured claim, the key's config or a mapping rule).
    pub roles: Vec<Arc<str>>,
    /// OAuth2 scopes granted.
    pub scopes: Vec<Arc<str>>,
    /// The tenant, when the credential names one.
    pub tenant: Option<Arc<str>>,
    /// How it was authenticated.
    pub method: AuthMethod,
    /// Multi-factor authentication is attested (`amr` holds `mfa`, or `acr`
    /// is one of the provider's MFA values).
    pub mfa: bool,
    /// The token id (`jti`) or key id, for revocation and the audit log.
    pub credential_id: Option<Arc<str>>,
    /// When the credential was issued (`iat`), seconds since the epoch.
    pub issued_at: Option<u64>,
    /// When the credential expires (`exp`), seconds since the epoch.
    pub expires_at: Option<u64>,
    /// The raw claims (JWT payload or introspection response), for policies.
    pub claims: Arc<serde_json::Map<String, serde_json::Value>>,
    /// The identity headers for the upstream, made once per principal (a cached
    /// token's principal is shared by all its requests). See `identity::attach`.
    pub upstream_headers: std::sync::OnceLock<Vec<(http::HeaderName, http::HeaderValue)>>,
}

impl Principal {
    /// A principal with only a subject, issuer and method; the rest empty.
    pub fn new(
        subject: impl Into<Arc<str>>,
        issuer: impl Into<Arc<str>>,
        method: AuthMethod,
    ) -> Principal {
        Principal {
            subject: subject.into(),
            issuer: issuer.into(),
            roles: Vec::new(),
            scopes: Vec::new(),
            tenant: None,
            method,
            mfa: false,
            credential_id: None,
            issued_at: None,
            expires_at: None,
            claims: Arc::default(),
            upstream_headers: std::sync::OnceLock::new(),
        }
    }

    /// Whether every scope of `required` was granted.
    pub fn has_scopes(&self, required: &[String]) -> bool {
        required
            .iter()
            .all(|r| self.scopes.iter().any(|s| **s == **r))
    }
}

/// Why a credential was not accepted. The names are stable: they appear in the
/// audit log and as the `reason` label of `portcullis_auth_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// No credential of the required kind was presented.
    Missing,
    /// The credential could not be parsed (not a JWT, bad base64, bad header …).
    Malformed,
    /// The token's `alg` is not one the issuer is pinned to (`none` never is).
    AlgorithmNotAllowed,
    /// No key with the token's `kid` (after at most one refresh).
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` holds none of the configured audiences.
    WrongAudience,
    /// The JOSE `typ` header is not the required one.
    WrongType,
    /// A required claim is absent.
    MissingClaim,
    /// Introspection says the token is not active, or the API key is unknown.
    Inactive,
    /// The token, key or subject was revoked.
    Revoked,
    /// The API key or certificate rule has expired.
    KeyExpired,
    /// A client certificate was presented but no rule maps it to a principal.
    UnmappedCertificate,
    /// The signed request's nonce was seen before.
    Replayed,
    /// The signature does not cover a required component, or the digest does not match the body.
    Incomplete,
    /// No key set was ever obtained for the issuer: the request cannot be checked (503).
    KeysUnavailable,
    /// The introspection endpoint failed or timed out (503).
    ProviderUnavailable,
}

impl Failure {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Missing => "missing",
            Failure::Malformed => "malformed",
            Failure::AlgorithmNotAllowed => "algorithm_not_allowed",
            Failure::UnknownKey => "unknown_key",
            Failure::BadSignature => "bad_signature",
            Failure::Expired => "expired",
            Failure::NotYetValid => "not_yet_valid",
            Failure::WrongIssuer => "wrong_issuer",
            Failure::WrongAudience => "wrong_audience",
            Failure::WrongType => "wrong_type",
            Failure::MissingClaim => "missing_claim",
            Failure::Inactive => "inactive",
            Failure::Revoked => "revoked",
            Failure::KeyExpired => "key_expired",
            Failure::UnmappedCertificate => "unmapped_certificate",
            Failure::Replayed => "replayed",
            Failure::Incomplete => "incomplete",
            Failure::KeysUnavailable => "keys_unavailable",
            Failure::ProviderUnavailable => "provider_unavailable",
        }
    }

    /// Whether the failure is the gateway's inability to check (503), not the
    /// client's fault (401).
    pub fn is_unavailable(self) -> bool {
        matches!(
            self,
            Failure::KeysUnavailable | Failure::ProviderUnavailable
        )
    }

    /// The RFC 6750 `error` for a bearer challenge: `invalid_token` for a token
    /// that was presented and not accepted ("expired, revoked, malformed, or
    /// invalid for other reasons"), none when none was presented (§3.1).
    pub fn bearer_error(self) -> Option<&'static str> {
        match self {
            Failure::Missing | Failure::KeysUnavailable | Failure::ProviderUnavailable => None,
            _ => Some("invalid_token"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
