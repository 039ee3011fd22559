//! `identity_providers.<name>.jwt`: the raw YAML and the validated config.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use jsonwebtoken::Algorithm;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::authn::jwks::KeySet;
use crate::config::units::{Bytes, Span};

/// `identity_providers.<name>.jwt` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJwt {
    pub(crate) issuer: Spanned<String>,
    #[serde(default)]
    pub(crate) audiences: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(crate) algorithms: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(crate) jwks_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) pem_files: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(crate) jwks_url: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) discovery: Option<Spanned<bool>>,
    #[serde(default)]
    pub(crate) secret: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) leeway: Option<Spanned<Span>>,
    #[serde(default)]
    pub(crate) required_claims: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) typ: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) roles_claim: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) scopes_claim: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) tenant_claim: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) mfa_acr_values: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) refresh_min: Option<Spanned<Span>>,
    #[serde(default)]
    pub(crate) refresh_max: Option<Spanned<Span>>,
    #[serde(default)]
    pub(crate) unknown_kid_cooldown: Option<Spanned<Span>>,
    #[serde(default)]
    pub(crate) fetch_timeout: Option<Spanned<Span>>,
    #[serde(default)]
    pub(crate) max_jwks_bytes: Option<Spanned<Bytes>>,
    #[serde(default)]
    pub(crate) ca_bundle: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) token_cache_size: Option<Spanned<u64>>,
    #[serde(default)]
    pub(crate) token_cache_ttl_max: Option<Spanned<Span>>,
}

/// A validated JWT issuer config. [`JwtConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// The exact `iss`.
    pub issuer: String,
    /// The token's `aud` must hold one of these.
    pub audiences: Vec<String>,
    /// The pinned algorithms: a token's `alg` must be one, and fit its key.
    pub algorithms: Vec<Algorithm>,
    /// Where the verification keys come from.
    pub keys: KeySource,
    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 30s, at most 5m).
    pub leeway: Duration,
    /// Claims that must be present besides `exp`, `sub`, `iss` and `aud`.
    pub required_claims: Vec<String>,
    /// The required JOSE `typ` (lowercase, without `application/`), e.g. `at+jwt`.
    pub typ: Option<String>,
    /// Where roles are (default `roles`; a dotted path such as `realm_access.roles`).
    pub roles_claim: String,
    /// Where scopes are (default `scope`; `scp` is the fallback).
    pub scopes_claim: String,
    /// Where the tenant is, if anywhere.
    pub tenant_claim: Option<String>,
    /// `acr` values that attest multi-factor authentication.
    pub mfa_acr_values: Vec<String>,
    /// Remote key sets: the shortest time between refreshes (default 5m).
    pub refresh_min: Duration,
    /// Remote key sets: the longest time between refreshes (default 24h).
    pub refresh_max: Duration,
    /// At most one refresh for unknown `kid`s per this (default 30s).
    pub unknown_kid_cooldown: Duration,
    /// Deadline of one key or discovery fetch (default 5s).
    pub fetch_timeout: Duration,
    /// The largest JWKS (or discovery document, or `jwks_file`) read (default 256KiB).
    pub max_jwks_bytes: usize,
    /// Trust roots for the https fetches (default: the public web PKI).
    pub ca_bundle: Option<CaBundle>,
    /// Verified tokens remembered (default 10000; 0 disables the cache).
    pub token_cache_size: usize,
    /// How long a verified token is remembered at most (default 5m).
    pub token_cache_ttl_max: Duration,
}

impl JwtConfig {
    /// A config with every optional setting at its default.
    pub fn new(
        issuer: &str,
        audiences: &[&str],
        algorithms: &[Algorithm],
        keys: KeySource,
    ) -> JwtConfig {
        JwtConfig {
            issuer: issuer.to_owned(),
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            algorithms: algorithms.to_vec(),
            keys,
            leeway: Duration::from_secs(30),
            required_claims: Vec::new(),
            typ: None,
            roles_claim: "roles".into(),
            scopes_claim: "scope".into(),
            tenant_claim: None,
            mfa_acr_values: Vec::new(),
            refresh_min: Duration::from_secs(300),
            refresh_max: Duration::from_secs(24 * 3600),
            unknown_kid_cooldown: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            max_jwks_bytes: 256 << 10,
            ca_bundle: None,
            token_cache_size: 10_000,
            token_cache_ttl_max: Duration::from_secs(300),
        }
    }
}

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Loaded with the config: `jwks_file`, `pem_files` or `secret`.
    Static(Arc<KeySet>),
    /// `jwks_url`: fetched and refreshed in the background.
    Url(Uri),
    /// `discovery: true`: `jwks_uri` from `{issuer}/.well-known/openid-configuration`.
    Discovery,
}

/// The CA certificates trusted for key fetches. `Debug` shows the file and a
/// digest, so a changed bundle makes a new key set on reload.
#[derive(Clone)]
pub struct CaBundle {
    pub(crate) path: PathBuf,
    pub(crate) certs: Arc<[CertificateDer<'static>]>,
}

impl CaBundle {
    /// The certificates.
    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for c in self.certs.iter() {
            ctx.update(c.as_ref());
        }
        let d = crate::hex(ctx.finish().as_ref());
        write!(f, "CaBundle({}, sha256:{d})", self.path.display())
    }
}

/// `at+jwt`, `AT+JWT` and `application/at+jwt` are one type (RFC 7515 §4.1.9).
pub(crate) fn normalize_typ(typ: &str) -> String {
    let lower = typ.trim().to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}
