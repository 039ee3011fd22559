//! Portcullis' gateway: an API security gateway that enforces OpenAPI contracts at the edge.
//!
//! `server::start` loads a config, binds the listeners and the admin API and serves;
//! every request runs through `pipeline::handle` against the current `Runtime`
//! snapshot, which `Gateway::reload` swaps atomically.

pub mod admin;
pub mod audit;
pub mod authn;
pub mod authz;
pub mod body;
pub mod client;
pub mod config;
pub mod cors;
pub mod exchange;
pub mod forward;
pub mod identity;
pub mod inspect;
pub mod limit;
pub mod metrics;
pub mod normalize;
pub mod pipeline;
pub mod problem;
pub mod record;
pub mod reload;
pub mod respond;
pub mod route;
pub mod runtime;
pub mod server;
pub mod tls;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::audit::{Audit, Event};
use crate::config::ConfigErrors;
use crate::exchange::RequestIds;
use crate::metrics::Metrics;
use crate::runtime::Runtime;

/// The process-wide gateway state: the current runtime and what outlives reloads.
#[derive(Debug)]
pub struct Gateway {
    runtime: ArcSwap<Runtime>,
    config_path: PathBuf,
    /// Metrics registry (kept across reloads).
    pub metrics: Arc<Metrics>,
    /// The audit queue.
    pub audit: Audit,
    /// Request id source.
    pub ids: RequestIds,
    /// Authentication state that outlives reloads (revocations, key sets, caches).
    pub auth: Arc<authn::Shared>,
    /// Where rate limits, quotas and login counters are kept (made at start).
    pub store: Arc<limit::Store>,
    reload_lock: std::sync::Mutex<()>,
}

impl Gateway {
    /// Wraps a built runtime.
    pub fn new(
        runtime: Runtime,
        config_path: &Path,
        metrics: Arc<Metrics>,
        audit: Audit,
        auth: Arc<authn::Shared>,
        store: Arc<limit::Store>,
    ) -> Gateway {
        Gateway {
            auth,
            store,
            runtime: ArcSwap::from_pointee(runtime),
            config_path: config_path.to_path_buf(),
            metrics,
            audit,
            ids: RequestIds::default(),
            reload_lock: std::sync::Mutex::new(()),
        }
    }

    /// The current snapshot.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// Re-reads the config: parse, validate, build, then swap. On any error the
    /// running config stays, and the error is logged, counted and returned.
    /// Returns the new version, or `None` when nothing changed.
    pub fn reload(&self, trigger: &'static str) -> Result<Option<String>, ConfigErrors> {
        let _one_at_a_time = self
            .reload_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let result = config::load(&self.config_path).and_then(|cfg| {
            if cfg.version == self.runtime.load().config.version {
                return Ok(None);
            }
            Runtime::build(cfg, &self.metrics, &self.auth).map(Some)
        });
        let (detail, outcome) = match result {
            Ok(None) => return Ok(None),
            Ok(Some(rt)) => {
                for w in &rt.config.warnings {
                    tracing::warn!("{w}");
                }
                if rt.config.store.differs(&self.runtime.load().config.store) {
                    tracing::warn!(
                        "`store` changed: the running store is kept until a restart \
                         (its connection and memory are made at start)"
                    );
                }
                let version = rt.config.version.clone();
                self.runtime.store(Arc::new(rt));
                tracing::info!(%version, trigger, "config reloaded");
                (version.clone(), Ok(Some(version)))
            }
            Err(e) => {
                tracing::error!(trigger, "config rejected, keeping the running one:\n{e}");
                (e.to_string(), Err(e))
            }
        };
        self.metrics.reload(outcome.is_ok());
        self.audit.record(Event::Config {
            time: SystemTime::now(),
            result: if outcome.is_ok() {
                "loaded"
            } else {
                "rejected"
            },
            detail,
            trigger,
        });
        outcome
    }
}

/// Equality of secrets without a data-dependent early exit: every byte is
/// compared (only a length difference answers early). Branch-free, so it also
/// runs in vector steps on long tokens; `subtle` is used where speed matters less.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
