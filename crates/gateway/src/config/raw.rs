//! The config file as written: serde structs that mirror the YAML, unknown fields refused.
//!
//! Values that later checks may reject carry their source position (`Spanned`), so
//! that an error can name the line. `build.rs` turns these into validated types.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::units::{Bytes, Span};

/// The root of `portcullis.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub(crate) listeners: Vec<RawListener>,
    #[serde(default)]
    pub(crate) admin: Option<RawAdmin>,
    #[serde(default)]
    pub(crate) runtime: RawRuntime,
    #[serde(default)]
    pub(crate) limits: RawLimits,
    #[serde(default)]
    pub(crate) normalize: RawNormalize,
    #[serde(default)]
    pub(crate) trusted_proxies: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) security_headers: RawSecurityHeaders,
    #[serde(default)]
    pub(crate) audit: RawAudit,
    #[serde(default)]
    pub(crate) upstreams: BTreeMap<String, RawUpstream>,
    #[serde(default)]
    pub(crate) identity_providers: BTreeMap<String, crate::authn::RawProvider>,
    #[serde(default)]
    pub(crate) identity_token: Option<RawIdentityToken>,
    #[serde(default)]
    pub(crate) store: Option<crate::limit::settings::RawStore>,
    #[serde(default)]
    pub(crate) flood_guard: Option<crate::limit::settings::RawFlood>,
    pub(crate) apis: Vec<RawApi>,
}

/// The JWT the gateway signs to pass a verified identity upstream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdentityToken {
    #[serde(default)]
    pub(crate) signing_key: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) issuer: Option<String>,
    #[serde(default)]
    pub(crate) lifetime: Option<Span>,
}

/// How a verified identity is passed upstream.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdentity {
    #[serde(default)]
    pub(crate) headers: Option<bool>,
    #[serde(default)]
    pub(crate) token: Option<bool>,
    #[serde(default)]
    pub(crate) forward_credentials: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListener {
    pub(crate) address: Spanned<String>,
    #[serde(default)]
    pub(crate) tls: Option<RawTls>,
    #[serde(default)]
    pub(crate) http2: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) certificate: Spanned<String>,
    pub(crate) private_key: Spanned<String>,
    #[serde(default)]
    pub(crate) client_ca: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) client_auth: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmin {
    #[serde(default)]
    pub(crate) address: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) token: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuntime {
    #[serde(default)]
    pub(crate) worker_threads: Option<usize>,
    #[serde(default)]
    pub(crate) shutdown_grace: Option<Span>,
    #[serde(default)]
    pub(crate) watch_config: Option<bool>,
    #[serde(default)]
    pub(crate) watch_interval: Option<Span>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub(crate) max_header_bytes: Option<Bytes>,
    pub(crate) max_headers: Option<usize>,
    pub(crate) max_uri_bytes: Option<Bytes>,
    pub(crate) max_body_bytes: Option<Bytes>,
    pub(crate) header_timeout: Option<Span>,
    pub(crate) idle_timeout: Option<Span>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_concurrent_streams: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNormalize {
    pub(crate) merge_slashes: Option<bool>,
    pub(crate) reject_encoded_slash: Option<bool>,
    pub(crate) reject_backslash: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecurityHeaders {
    pub(crate) enabled: Option<bool>,
    pub(crate) hsts: Option<String>,
    pub(crate) json_csp: Option<String>,
    #[serde(default)]
    pub(crate) custom: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAudit {
    pub(crate) file: Option<Spanned<String>>,
    pub(crate) stdout: Option<bool>,
    pub(crate) queue_capacity: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpstream {
    pub(crate) targets: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) ca_bundle: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) http2: Option<bool>,
    #[serde(default)]
    pub(crate) connect_timeout: Option<Span>,
    #[serde(default)]
    pub(crate) timeout: Option<Span>,
    #[serde(default)]
    pub(crate) retries: Option<u32>,
    #[serde(default)]
    pub(crate) max_failures: Option<u32>,
    #[serde(default)]
    pub(crate) failure_cooldown: Option<Span>,
    #[serde(default)]
    pub(crate) preserve_host: Option<bool>,
    #[serde(default)]
    pub(crate) pool_idle_timeout: Option<Span>,
    #[serde(default)]
    pub(crate) pool_max_idle: Option<usize>,
    #[serde(default)]
    pub(crate) concurrency: Option<RawUpstreamConcurrency>,
}

/// `upstreams.<name>.concurrency`: requests in flight to the group at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpstreamConcurrency {
    pub(crate) max: Spanned<usize>,
    #[serde(default)]
    pub(crate) queue: Option<crate::limit::config::RawQueue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub(crate) name: Spanned<String>,
    #[serde(default)]
    pub(crate) spec: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) without_spec: Option<bool>,
    #[serde(default)]
    pub(crate) base_path: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) strip_base_path: Option<bool>,
    pub(crate) upstream: Spanned<String>,
    #[serde(default)]
    pub(crate) mode: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) replace_upstream_errors: Option<bool>,
    #[serde(default)]
    pub(crate) security: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(crate) public_by_default: Option<bool>,
    #[serde(default)]
    pub(crate) identity: RawIdentity,
    #[serde(default)]
    pub(crate) authorization: Option<portcullis_policy::RawAuthorization>,
    #[serde(default)]
    pub(crate) validation: Option<crate::validate::RawValidation>,
    #[serde(default)]
    pub(crate) inspection: Option<crate::inspect::RawInspection>,
    #[serde(default)]
    pub(crate) responses: Option<crate::respond::protect::RawResponses>,
    #[serde(default)]
    pub(crate) cors: Option<crate::cors::RawCors>,
    #[serde(default)]
    pub(crate) rate_limits: Vec<crate::limit::config::RawRateLimit>,
    #[serde(default)]
    pub(crate) quotas: Vec<crate::limit::config::RawQuota>,
    #[serde(default)]
    pub(crate) concurrency: Option<crate::limit::config::RawConcurrency>,
    #[serde(default)]
    pub(crate) login: Vec<crate::limit::login::RawLogin>,
}
