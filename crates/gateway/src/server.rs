//! Starting, serving and stopping: listeners, admin API, reload triggers, graceful drain.

mod conn;
mod gate;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::Gateway;
use crate::audit::{Audit, Event};
use crate::config::{self, ConfigErrors};
use crate::metrics::Metrics;
use crate::runtime::Runtime;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config is invalid.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// A socket could not be bound, or the audit file opened.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

/// A listener as it was started.
#[derive(Debug)]
pub(crate) struct Slot {
    index: usize,
    configured: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    http2: bool,
}

/// A started gateway.
#[derive(Debug)]
pub struct Running {
    /// The bound address of each listener, in config order.
    pub listeners: Vec<SocketAddr>,
    /// The bound admin address.
    pub admin: SocketAddr,
    /// The shared state (for reloads and inspection).
    pub gateway: Arc<Gateway>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    audit_writer: JoinHandle<()>,
    graceful: Arc<GracefulShutdown>,
    grace: Duration,
}

/// Loads the config, binds every socket and starts serving.
pub async fn start(config_path: &Path) -> Result<Running, StartError> {
    let cfg = config::load(config_path)?;
    let metrics = Arc::new(Metrics::new());
    let (audit, audit_writer) =
        Audit::start(&cfg.audit, metrics.audit_dropped.clone()).map_err(|source| {
            StartError::Io {
                what: "cannot open the audit log".into(),
                source,
            }
        })?;
    let version = cfg.version.clone();
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    let store = Arc::new(crate::limit::Store::start(&cfg.store, &metrics));
    let auth = Arc::new(match &store.redis {
        Some(redis) => crate::authn::Shared::with_revocations(
            metrics.clone(),
            crate::authn::revoke::RedisRevocations::start(redis.clone()),
        ),
        None => crate::authn::Shared::new(metrics.clone()),
    });
    let rt = Runtime::build(cfg, &metrics, &auth)?;
    if !store.connected(Duration::from_secs(1)).await {
        tracing::warn!(
            "the shared store (Redis) did not answer at start: serving with each limit's \
             on_store_error until it does"
        );
    }
    let grace = rt.config.runtime.shutdown_grace;
    let max_connections = rt.config.limits.max_connections;
    let admin_addr = rt.config.admin.address;
    let watch_config = rt.config.runtime.watch_config;
    let mut bound = Vec::new();
    for (index, l) in rt.config.listeners.iter().enumerate() {
        let listener = TcpListener::bind(l.address)
            .await
            .map_err(|source| StartError::Io {
                what: format!("cannot listen on {}", l.address),
                source,
            })?;
        bound.push((
            listener,
            Slot {
                index,
                configured: l.address,
                tls: l.tls.clone(),
                http2: l.http2,
            },
        ));
    }
    let admin_listener = TcpListener::bind(admin_addr)
        .await
        .map_err(|source| StartError::Io {
            what: format!("cannot listen on {admin_addr} (admin)"),
            source,
        })?;
    let admin = admin_listener
        .local_addr()
        .map_err(|source| StartError::Io {
            what: "admin address".into(),
            source,
        })?;
    audit.record(Event::Config {
        time: std::time::SystemTime::now(),
        result: "loaded",
        detail: version,
        trigger: "start",
    });

    let gateway = Arc::new(Gateway::new(rt, config_path, metrics, audit, auth, store));
    let (stop, stopped) = watch::channel(false);
    let graceful = Arc::new(GracefulShutdown::new());
    let limit = Arc::new(Semaphore::new(max_connections));
    let mut listeners = Vec::new();
    let mut tasks = Vec::new();
    for (listener, slot) in bound {
        listeners.push(listener.local_addr().map_err(|source| StartError::Io {
            what: "listener address".into(),
            source,
        })?);
        tasks.push(tokio::spawn(accept_loop(
            gateway.clone(),
            listener,
            slot,
            limit.clone(),
            graceful.clone(),
            stopped.clone(),
        )));
    }
    tasks.push(tokio::spawn(crate::admin::serve(
        gateway.clone(),
        admin_listener,
        stopped.clone(),
    )));
    if watch_config {
        tasks.push(tokio::spawn(crate::reload::watch(
            gateway.clone(),
            stopped.clone(),
        )));
    }
    tracing::info!(?listeners, %admin, "portcullis is serving");
    Ok(Running {
        listeners,
        admin,
        gateway,
        stop,
        tasks,
        audit_writer,
        graceful,
        grace,
    })
}

async fn accept_loop(
    gw: Arc<Gateway>,
    listener: TcpListener,
    slot: Slot,
    limit: Arc<Semaphore>,
    graceful: Arc<GracefulShutdown>,
    mut stopped: watch::Receiver<bool>,
) {
    let slot = Arc::new(slot);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let permit = limit.clone().try_acquire_owned().ok();
        let (gw, slot, watcher) = (gw.clone(), slot.clone(), graceful.watcher());
        tokio::spawn(async move { conn::serve(gw, stream, peer, &slot, permit, watcher).await });
    }
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to the grace period),
    /// then flushes the audit log.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
        let Running {
            gateway,
            audit_writer,
            tasks,
            graceful,
            grace,
            ..
        } = self;
        for t in tasks {
            let _ = t.await;
        }
        // The accept loops are gone, so this is the last handle.
        if let Ok(graceful) = Arc::try_unwrap(graceful)
            && tokio::time::timeout(grace, graceful.shutdown())
                .await
                .is_err()
        {
            tracing::warn!("grace period over; closing the remaining connections");
        }
        // The writer ends once the last queue sender is gone.
        drop(gateway);
        let _ = tokio::time::timeout(Duration::from_secs(5), audit_writer).await;
    }

    /// Serves until SIGTERM or SIGINT (then shuts down gracefully); SIGHUP reloads.
    pub async fn until_signalled(self) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => { let _ = self.gateway.reload("signal"); }
            }
        }
        tracing::info!("shutting down: draining in-flight requests");
        self.shutdown().await;
        Ok(())
    }
}
