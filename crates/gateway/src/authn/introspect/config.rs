//! `identity_providers.<name>.introspection`: the raw config, its checks and
//! the validated [`IntrospectionConfig`].

use std::time::Duration;

pub use crate::authn::fetch::endpoint;

use http::Uri;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::units::{Bytes as Size, Span};
use crate::config::{Checker, Secret};
use crate::tls;

/// `identity_providers.<name>.introspection` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIntrospection {
    pub(crate) url: Spanned<String>,
    pub(crate) client_id: Spanned<String>,
    pub(crate) client_secret: Spanned<String>,
    #[serde(default)]
    pub(crate) client_auth: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) timeout: Option<Span>,
    #[serde(default)]
    pub(crate) max_response_bytes: Option<Size>,
    #[serde(default)]
    pub(crate) cache_ttl_max: Option<Span>,
    #[serde(default)]
    pub(crate) negative_ttl: Option<Span>,
    #[serde(default)]
    pub(crate) cache_size: Option<usize>,
    #[serde(default)]
    pub(crate) ca_bundle: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) issuer: Option<String>,
    #[serde(default)]
    pub(crate) audiences: Vec<String>,
    #[serde(default)]
    pub(crate) roles_claim: Option<String>,
    #[serde(default)]
    pub(crate) scopes_claim: Option<String>,
    #[serde(default)]
    pub(crate) tenant_claim: Option<String>,
    #[serde(default)]
    pub(crate) mfa_acr_values: Vec<String>,
}

/// How the gateway authenticates to the endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the form-urlencoded id and secret (the default).
    Basic,
    /// `client_id` and `client_secret` in the request body.
    Post,
}

/// A validated introspection config.
#[derive(Debug, Clone)]
pub struct IntrospectionConfig {
    /// The endpoint (https, or http to a loopback address).
    pub url: Uri,
    /// The gateway's client id at the provider.
    pub client_id: String,
    /// The gateway's client secret.
    pub client_secret: Secret,
    /// How the id and secret are sent (default basic).
    pub client_auth: ClientAuth,
    /// Deadline of one call, connect included (default 2s).
    pub timeout: Duration,
    /// Largest response body accepted (default 64KiB).
    pub max_response_bytes: usize,
    /// Longest an active answer is cached; never past the token's `exp` (default 5m).
    pub cache_ttl_max: Duration,
    /// How long an inactive answer is cached (default 10s).
    pub negative_ttl: Duration,
    /// Most answers cached (default 10000; 0 caches nothing).
    pub cache_size: usize,
    /// CA certificates for the endpoint (default: the public roots).
    pub ca_bundle: Option<Vec<CertificateDer<'static>>>,
    /// When set, `iss` must be exactly this.
    pub issuer: Option<String>,
    /// When not empty, `aud` must hold one of these.
    pub audiences: Vec<String>,
    /// The claim (dotted path allowed) holding roles (default `roles`).
    pub roles_claim: String,
    /// The claim holding scopes, space-separated or an array (default `scope`).
    pub scopes_claim: String,
    /// The claim holding the tenant.
    pub tenant_claim: Option<String>,
    /// `acr` values that attest multi-factor authentication.
    pub mfa_acr_values: Vec<String>,
}

/// Checks `identity_providers.<name>.introspection`.
pub(crate) fn check(
    c: &mut Checker<'_>,
    field: &str,
    raw: &RawIntrospection,
) -> Option<IntrospectionConfig> {
    let url = endpoint(&raw.url.value)
        .map_err(|e| c.error(Some(&raw.url), format!("{field}.url"), e))
        .ok();
    let client_secret = c.secret(&raw.client_secret, format!("{field}.client_secret"));
    if raw.client_id.value.is_empty() {
        c.error(
            Some(&raw.client_id),
            format!("{field}.client_id"),
            "must not be empty",
        );
    }
    let client_auth = match raw.client_auth.as_ref().map(|s| s.value.as_str()) {
        None | Some("basic") => Some(ClientAuth::Basic),
        Some("post") => Some(ClientAuth::Post),
        Some(other) => {
            c.error(
                raw.client_auth.as_ref(),
                format!("{field}.client_auth"),
                format!("`{other}` is not one of basic, post"),
            );
            None
        }
    };
    let ca_bundle = match &raw.ca_bundle {
        None => Some(None),
        Some(p) => {
            let path = c.path(&p.value);
            tls::read_certs(&path)
                .map(Some)
                .map_err(|e| c.error(Some(p), format!("{field}.ca_bundle"), e))
                .ok()
        }
    };
    let timeout = raw.timeout.map_or(Duration::from_secs(2), |s| s.0);
    if timeout.is_zero() || timeout > Duration::from_secs(60) {
        c.error::<()>(
            None,
            format!("{field}.timeout"),
            "must be between 1ms and 60s",
        );
    }
    let max_response_bytes = raw.max_response_bytes.map_or(64 << 10, |b| b.0);
    if !(256..=16 << 20).contains(&max_response_bytes) {
        c.error::<()>(
            None,
            format!("{field}.max_response_bytes"),
            "must be between 256 bytes and 16MiB",
        );
    }
    let cache_ttl_max = raw.cache_ttl_max.map_or(Duration::from_secs(300), |s| s.0);
    if cache_ttl_max > Duration::from_secs(3600) {
        c.warn::<()>(
            None,
            format!("{field}.cache_ttl_max"),
            "tokens revoked at the provider stay accepted for up to this long; over an hour is unusual",
        );
    }
    let claim = |v: &Option<String>, default: &str| v.clone().unwrap_or_else(|| default.into());
    Some(IntrospectionConfig {
        url: url?,
        client_id: raw.client_id.value.clone(),
        client_secret: client_secret?,
        client_auth: client_auth?,
        timeout,
        max_response_bytes: usize::try_from(max_response_bytes).ok()?,
        cache_ttl_max,
        negative_ttl: raw.negative_ttl.map_or(Duration::from_secs(10), |s| s.0),
        cache_size: raw.cache_size.unwrap_or(10_000),
        ca_bundle: ca_bundle?,
        issuer: raw.issuer.clone(),
        audiences: raw.audiences.clone(),
        roles_claim: claim(&raw.roles_claim, "roles"),
        scopes_claim: claim(&raw.scopes_claim, "scope"),
        tenant_claim: raw.tenant_claim.clone(),
        mfa_acr_values: raw.mfa_acr_values.clone(),
    })
}
