//! The compiled, immutable snapshot a request runs against; a reload swaps in a new one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::authn::{self, Bound, Provider, Shared};
use crate::config::{ApiConfig, Config, ConfigError, ConfigErrors};
use crate::forward::Upstream;
use crate::metrics::{Metrics, RouteMetrics};
use crate::route::Router;

/// Everything a request needs, compiled from one config.
#[derive(Debug)]
pub struct Runtime {
    /// The validated config this was built from.
    pub config: Config,
    /// The routing table.
    pub router: Router,
    /// APIs in config order (indexed by `route::Operation::api`).
    pub apis: Vec<ApiRuntime>,
    /// When this snapshot was built.
    pub loaded_at: SystemTime,
    /// Metric handles for requests that matched no route.
    pub unrouted: RouteMetrics,
    /// The gateway's key for identity tokens sent upstream, when an API sends them.
    pub identity_key: Option<Arc<crate::identity::Signer>>,
    /// The pre-authentication flood guard (its counts start afresh on a reload
    /// that changes it).
    pub flood: Option<Arc<crate::limit::flood::FloodGuard>>,
}

/// One API, ready to serve.
#[derive(Debug)]
pub struct ApiRuntime {
    /// Name, shared into audit events.
    pub name: Arc<str>,
    /// Its config.
    pub cfg: ApiConfig,
    /// Where its requests go.
    pub upstream: Arc<Upstream>,
    /// Its spec's security schemes, bound to providers (indexed as `route::Security`).
    pub schemes: Vec<Option<Bound>>,
    /// Its per-consumer concurrency limit, kept across reloads while its
    /// settings are unchanged (requests in flight stay counted).
    pub consumer_gate: Option<Arc<crate::limit::concurrency::Keyed>>,
}

impl Runtime {
    /// Compiles a config; upstream clients, identity providers and the routing
    /// table are built here. Providers whose config is unchanged keep their live
    /// state (key sets, caches) from `auth`.
    pub fn build(
        config: Config,
        metrics: &Metrics,
        auth: &Shared,
    ) -> Result<Runtime, ConfigErrors> {
        let file = config.source.clone();
        let mut errors = Vec::new();
        let mut upstreams = HashMap::new();
        for (name, u) in &config.upstreams {
            match Upstream::new(u) {
                Ok(mut up) => {
                    // Slots in flight stay counted across reloads.
                    up.gate = u.concurrency.and_then(|g| {
                        auth.reuse(format!("upstream-gate:{name}:{g:?}"), || {
                            Ok::<_, String>(Arc::new(crate::limit::concurrency::Gate::new(g)))
                        })
                        .ok()
                    });
                    upstreams.insert(name.clone(), Arc::new(up));
                }
                Err(e) => errors.push(ConfigError::at(&file, None, format!("upstreams.{name}"), e)),
            }
        }
        let mut providers = std::collections::BTreeMap::new();
        for (name, p) in &config.identity_providers {
            match Provider::build(name, p, auth) {
                Ok(p) => {
                    providers.insert(name.clone(), p);
                }
                Err(e) => errors.push(ConfigError::at(
                    &file,
                    None,
                    format!("identity_providers.{name}"),
                    e,
                )),
            }
        }
        let identity_key = if config.apis.iter().any(|a| a.identity.token) {
            match identity_key(&config, auth) {
                Ok(k) => Some(k),
                Err(e) => {
                    errors.push(ConfigError::at(
                        &file,
                        None,
                        "identity_token.signing_key",
                        e,
                    ));
                    None
                }
            }
        } else {
            None
        };
        let router = Router::build(&config.apis, &file, metrics).unwrap_or_else(|e| {
            errors.extend(e);
            Router::default()
        });
        let apis = config
            .apis
            .iter()
            .filter_map(|a| {
                upstreams.get(&a.upstream).map(|u| ApiRuntime {
                    consumer_gate: a
                        .traffic
                        .as_ref()
                        .and_then(|t| t.per_consumer.as_ref())
                        .and_then(|(g, _)| {
                            auth.reuse(format!("consumer-gate:{}:{g:?}", a.name), || {
                                Ok::<_, String>(Arc::new(crate::limit::concurrency::Keyed::new(
                                    *g,
                                    crate::limit::config::MAX_CONSUMER_KEYS,
                                )))
                            })
                            .ok()
                        }),
                    name: a.name.as_str().into(),
                    cfg: a.clone(),
                    upstream: u.clone(),
                    schemes: a
                        .spec
                        .as_ref()
                        .map(|s| authn::bind(&a.name, s, &a.security, &providers, metrics))
                        .unwrap_or_default(),
                })
            })
            .collect();
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let flood = config.flood_guard.map(|f| {
            auth.reuse(format!("flood-guard:{f:?}"), || {
                Ok::<_, String>(Arc::new(crate::limit::flood::FloodGuard::new(f)))
            })
        });
        let flood = match flood {
            Some(Ok(f)) => Some(f),
            _ => None,
        };
        Ok(Runtime {
            flood,
            config,
            router,
            apis,
            loaded_at: SystemTime::now(),
            unrouted: metrics.route("", "", ""),
            identity_key,
        })
    }
}

/// The configured identity-token key, or one generated for this process (kept
/// across reloads, so tokens stay verifiable with the JWKS services cached).
fn identity_key(config: &Config, auth: &Shared) -> Result<Arc<crate::identity::Signer>, String> {
    use crate::identity::Signer;
    match &config.identity_token.signing_key {
        Some(pem) => {
            let pem = std::str::from_utf8(pem.expose())
                .map_err(|_| "the signing key is not PEM text".to_owned())?;
            authn::mint::Minter::from_pem(pem).map(|k| Arc::new(Signer::new(k)))
        }
        None => auth.reuse("identity-key:generated".into(), || {
            tracing::warn!(
                "identity_token.signing_key is not set: signing identity tokens with a key \
                 generated for this process (several instances need a shared key)"
            );
            authn::mint::Minter::generate().map(|k| Arc::new(Signer::new(k)))
        }),
    }
}
