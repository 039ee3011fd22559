//! The gateway's configuration: parsed once from YAML into types that cannot be invalid.
//!
//! `load` reads the file, refuses unknown fields, resolves every referenced file (specs,
//! certificates, secrets) and reports *all* problems with file, line and field. The
//! result is what `Runtime::build` compiles; `portcullis check` stops after this step.

mod build;
mod check;
pub(crate) use check::Checker;
mod error;
mod policies;
pub use policies::*;
mod raw;
mod secret;
pub mod units;
mod upstream;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use portcullis_openapi::Spec;

pub use error::{ConfigError, ConfigErrors};
pub use secret::Secret;

/// A validated configuration, with every referenced file loaded.
#[derive(Debug)]
pub struct Config {
    /// The config file.
    pub source: PathBuf,
    /// SHA-256 (hex) over the config file and every file it references.
    pub version: String,
    /// Every file this config depends on (for the reload watcher).
    pub files: Vec<PathBuf>,
    /// Each file's stamp, taken just before it was read.
    pub stamps: Vec<Stamp>,
    /// Where to accept traffic.
    pub listeners: Vec<ListenerConfig>,
    /// The admin API.
    pub admin: AdminConfig,
    /// Process-level settings (read at start only).
    pub runtime: RuntimeSettings,
    /// Input limits.
    pub limits: Limits,
    /// Path normalization options.
    pub normalize: NormalizeOptions,
    /// Peers whose `X-Forwarded-*`, `Forwarded` and `X-Request-Id` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Response headers added by the gateway.
    pub security_headers: SecurityHeaders,
    /// The audit log.
    pub audit: AuditConfig,
    /// Named upstream groups.
    pub upstreams: BTreeMap<String, UpstreamConfig>,
    /// Named identity providers (JWT issuers, introspection, API keys, mTLS, signatures).
    pub identity_providers: BTreeMap<String, crate::authn::ProviderConfig>,
    /// The gateway's own signing key for identity tokens sent upstream.
    pub identity_token: IdentityTokenConfig,
    /// Where rate limits, quotas and login counters are kept (read at start).
    pub store: crate::limit::settings::StoreSettings,
    /// The pre-authentication per-IP flood guard.
    pub flood_guard: Option<crate::limit::flood::FloodConfig>,
    /// The APIs, in config order.
    pub apis: Vec<ApiConfig>,
    /// Allowed but probably wrong; `portcullis check` prints them, `run` logs them.
    pub warnings: Vec<ConfigError>,
}

/// The identity token the gateway signs for upstreams (`identity_token`).
#[derive(Debug, Clone)]
pub struct IdentityTokenConfig {
    /// PKCS#8 PEM of the signing key; `None`: a key generated at start (one
    /// instance only: several instances must share a configured key).
    pub signing_key: Option<Secret>,
    /// `iss` of the tokens (default `portcullis`).
    pub issuer: String,
    /// Lifetime of each token (default 60s).
    pub lifetime: Duration,
}

/// How an API's upstream learns who the caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityOptions {
    /// Plain `X-Portcullis-*` headers (default true).
    pub headers: bool,
    /// A short-lived JWT signed by the gateway in `X-Portcullis-Identity` (default false).
    pub token: bool,
    /// Forward the verified bearer token or API key as received (default false:
    /// removed, so services cannot leak or replay what they never see).
    pub forward_credentials: bool,
}

/// One listening socket.
#[derive(Debug)]
pub struct ListenerConfig {
    /// The socket address to bind.
    pub address: SocketAddr,
    /// TLS, when the listener is HTTPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Whether HTTP/2 is offered (ALPN on TLS, prior knowledge on cleartext).
    pub http2: bool,
}

/// The admin listener.
#[derive(Debug)]
pub struct AdminConfig {
    /// Where the admin API listens (default 127.0.0.1:9901).
    pub address: SocketAddr,
    /// The bearer token every endpoint but `/healthz` requires.
    pub token: Option<Secret>,
}

/// Settings read once at start; changing them needs a restart.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Tokio worker threads (default: one per core).
    pub worker_threads: Option<usize>,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Reload when the config or a referenced file changes (SIGHUP and `POST /reload`
    /// work either way).
    pub watch_config: bool,
    /// How often the referenced files are checked for changes.
    pub watch_interval: Duration,
}

/// Limits on what a client may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Request line plus headers, in bytes (431 past it).
    pub max_header_bytes: usize,
    /// Number of header fields (431 past it).
    pub max_headers: usize,
    /// Request-target length (414 past it).
    pub max_uri_bytes: usize,
    /// Request body (413 past it).
    pub max_body_bytes: u64,
    /// Time to receive a request head on a new connection (408 past it).
    pub header_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Open client connections (503 past it).
    pub max_connections: usize,
    /// HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_uri_bytes: 8 * 1024,
            max_body_bytes: 10 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_concurrent_streams: 100,
        }
    }
}

/// How request paths are canonicalized before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalizeOptions {
    /// Collapse `//` into `/`.
    pub merge_slashes: bool,
    /// Refuse `%2F` and `%5C` inside a segment (they let `a%2F..` escape a route).
    pub reject_encoded_slash: bool,
    /// Refuse a raw `\` in the path (some servers read it as `/`).
    pub reject_backslash: bool,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions {
            merge_slashes: true,
            reject_encoded_slash: true,
            reject_backslash: true,
        }
    }
}

/// Security headers added to responses.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    /// Add the headers at all.
    pub enabled: bool,
    /// `Strict-Transport-Security` value on TLS listeners.
    pub hsts: String,
    /// `Content-Security-Policy` for JSON responses that carry none.
    pub json_csp: String,
    /// Extra headers, set when the upstream did not.
    pub custom: Vec<(http::HeaderName, http::HeaderValue)>,
}

/// Where audit events go.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// A JSON-lines file, appended to.
    pub file: Option<PathBuf>,
    /// Also write events to standard output.
    pub stdout: bool,
    /// Events queued before new ones are dropped (and counted).
    pub queue_capacity: usize,
}

/// A group of interchangeable upstream servers.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The group's name in config.
    pub name: String,
    /// Base URLs (`http://` or `https://`), used round-robin.
    pub targets: Vec<http::Uri>,
    /// PEM bundle of CAs trusted for `https` targets (default: the Mozilla roots).
    pub ca_bundle: Option<Vec<rustls_pki_types::CertificateDer<'static>>>,
    /// Speak HTTP/2 to the upstream.
    pub http2: bool,
    /// TCP (and TLS) connect timeout.
    pub connect_timeout: Duration,
    /// Time until the response head arrives.
    pub timeout: Duration,
    /// Extra attempts for idempotent, body-less requests that got no response.
    pub retries: u32,
    /// Consecutive failures that take a target out of rotation.
    pub max_failures: u32,
    /// How long a failed target stays out.
    pub failure_cooldown: Duration,
    /// Send the client's `Host` instead of the target's.
    pub preserve_host: bool,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Idle pooled connections per target.
    pub pool_max_idle: usize,
    /// Requests in flight to the group at once, with an optional queue.
    pub concurrency: Option<crate::limit::concurrency::GateConfig>,
}

/// Whether an API's decisions are enforced or only recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reject what the policy rejects.
    Enforce,
    /// Record what would be rejected, let it through.
    Monitor,
}

/// One API fronted by the gateway.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Its name (labels, audit).
    pub name: String,
    /// The OpenAPI document, or `None` for an explicitly unspecified prefix route.
    pub spec: Option<Arc<Spec>>,
    /// Prefix under which the spec's paths are served (`/` or `/bank`, no trailing slash).
    pub base_path: String,
    /// Remove the base path before forwarding.
    pub strip_base_path: bool,
    /// The upstream group's name.
    pub upstream: String,
    /// Enforce or monitor.
    pub mode: Mode,
    /// Replace upstream 5xx bodies with a generic problem (default true).
    pub replace_upstream_errors: bool,
    /// Spec security scheme name → identity provider name.
    pub security: BTreeMap<String, String>,
    /// Operations whose spec states no `security` at all are public (default
    /// false: they are refused, since the spec never said they were public).
    pub public_by_default: bool,
    /// How the verified identity is passed upstream.
    pub identity: IdentityOptions,
    /// The API's authorization policies (Cedar and shortcuts), compiled and
    /// validated; `None`: no authorization beyond the spec's `security`.
    pub authorization: Option<Arc<portcullis_policy::Policies>>,
    /// The spec's contract per operation (request validators, response rules);
    /// `None` for an API without a spec.
    pub contracts: Option<Arc<crate::validate::Contracts>>,
    /// Injection detection; `None` when switched off.
    pub inspection: Option<Arc<crate::inspect::Inspection>>,
    /// Response protection (writeOnly/undocumented fields, redaction, size,
    /// content type); `None` when there is nothing to do.
    pub protection: Option<Arc<crate::respond::protect::Protection>>,
    /// CORS; `None`: cross-origin requests get no CORS headers and preflights are not answered.
    pub cors: Option<Arc<crate::cors::Cors>>,
    /// Rate limits, quotas and the per-consumer concurrency limit; `None`: none.
    pub traffic: Option<Arc<crate::limit::config::Traffic>>,
    /// The login operations' credential-stuffing defence; `None`: none.
    pub logins: Option<Arc<crate::limit::login::Logins>>,
}

/// What identifies one version of a file: modification time, size and inode
/// (following symlinks); `None` when the file cannot be read.
pub type Stamp = Option<(std::time::SystemTime, u64, u64)>;

/// The current stamp of a file.
pub fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// Reads, parses and validates a config file and everything it references.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let first = stamp(path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::at(path, None, "", format!("cannot read the config file: {e}"))
    })?;
    let mut cfg = parse(&text, path)?;
    cfg.stamps[0] = first;
    Ok(cfg)
}

/// Like [`load`], from text already read; relative paths resolve beside `path`.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    build::build(&parse_raw(text, path)?, text, path)
}

/// The YAML as written (duplicate keys refused), nothing resolved yet.
fn parse_raw(text: &str, path: &Path) -> Result<raw::RawConfig, ConfigErrors> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let message = first_line(&e.to_string());
        ConfigError::at(path, e.location(), "", message).into()
    })
}

/// serde-saphyr's message without its own position suffix (we print ours first).
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    match line.find(" at line ") {
        Some(i) => line[..i].to_owned(),
        None => line.to_owned(),
    }
}
