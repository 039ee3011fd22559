//! The compiled, immutable snapshot a request runs against; a reload swaps in a new one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

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
}

impl Runtime {
    /// Compiles a config; upstream clients and the routing table are built here.
    pub fn build(config: Config, metrics: &Metrics) -> Result<Runtime, ConfigErrors> {
        let file = config.source.clone();
        let mut errors = Vec::new();
        let mut upstreams = HashMap::new();
        for (name, u) in &config.upstreams {
            match Upstream::new(u) {
                Ok(up) => {
                    upstreams.insert(name.clone(), Arc::new(up));
                }
                Err(e) => errors.push(ConfigError::at(&file, None, format!("upstreams.{name}"), e)),
            }
        }
        let router = Router::build(&config.apis, &file, metrics).unwrap_or_else(|e| {
            errors.extend(e);
            Router::default()
        });
        let apis = config
            .apis
            .iter()
            .filter_map(|a| {
                upstreams.get(&a.upstream).map(|u| ApiRuntime {
                    name: a.name.as_str().into(),
                    cfg: a.clone(),
                    upstream: u.clone(),
                })
            })
            .collect();
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Runtime {
            config,
            router,
            apis,
            loaded_at: SystemTime::now(),
            unrouted: metrics.route("", "", ""),
        })
    }
}
