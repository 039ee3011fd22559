//! The store's health: up or down, each transition logged once, counted and
//! shown on `/readyz`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::metrics::Metrics;

/// Up/down state of one store.
pub(crate) struct Health {
    up: AtomicBool,
    info: Mutex<Info>,
    server: String,
    metrics: Arc<Metrics>,
}

struct Info {
    since: SystemTime,
    transitions: u64,
    last_error: Option<&'static str>,
    /// Whether it was ever up (the first connection is not a transition).
    connected: bool,
}

impl Health {
    /// Down (not connected yet), since now.
    pub(crate) fn new(server: String, metrics: Arc<Metrics>) -> Health {
        metrics.store_up.set(0);
        Health {
            up: AtomicBool::new(false),
            info: Mutex::new(Info {
                since: SystemTime::now(),
                transitions: 0,
                last_error: Some("not connected yet"),
                connected: false,
            }),
            server,
            metrics,
        }
    }

    /// Whether the store answered last.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// The server's `host:port`.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    fn info(&self) -> std::sync::MutexGuard<'_, Info> {
        self.info.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a failure (`kind`: a short description, no secret); the first
    /// one while up is a transition to down.
    pub(crate) fn down(&self, kind: &'static str) {
        let mut info = self.info();
        info.last_error = Some(kind);
        if self.up.swap(false, Ordering::AcqRel) {
            info.since = SystemTime::now();
            info.transitions += 1;
            drop(info);
            tracing::warn!(
                store = "redis",
                server = %self.server,
                error = kind,
                "the shared store is down: limits use their failure mode until it answers"
            );
            self.metrics.store_event("redis", "down");
            self.metrics.store_up.set(0);
        }
    }

    /// Records that the store answered a probe; from down, a transition to up
    /// (except the first connection, which is logged but not counted).
    pub(crate) fn up(&self) {
        let mut info = self.info();
        if !self.up.swap(true, Ordering::AcqRel) {
            info.since = SystemTime::now();
            let first = !std::mem::replace(&mut info.connected, true);
            if !first {
                info.transitions += 1;
            }
            drop(info);
            self.metrics.store_up.set(1);
            if first {
                tracing::info!(store = "redis", server = %self.server, "connected to the shared store");
            } else {
                tracing::info!(store = "redis", server = %self.server, "the shared store is up again");
                self.metrics.store_event("redis", "up");
            }
        }
    }

    /// Transitions so far: outages and recoveries (the first connection is
    /// not one).
    pub(crate) fn transitions(&self) -> u64 {
        self.info().transitions
    }

    /// `{"state", "since", "transitions", "last_error", "server"}`.
    pub(crate) fn status(&self) -> serde_json::Value {
        let info = self.info();
        let since = jiff::Timestamp::try_from(info.since)
            .map(|t| t.to_string())
            .unwrap_or_default();
        serde_json::json!({
            "state": if self.is_up() { "up" } else { "down" },
            "since": since,
            "transitions": info.transitions,
            "last_error": info.last_error,
            "server": self.server,
        })
    }
}

/// A short, secret-free description of a Redis error, and whether it means the
/// store is unavailable (rather than that one command was refused).
pub(crate) fn classify(e: &redis::RedisError) -> (&'static str, bool) {
    use redis::{ErrorKind, ServerErrorKind};
    if e.is_timeout() {
        return ("timeout", true);
    }
    if e.is_connection_refusal() {
        return ("connection refused", true);
    }
    if e.is_connection_dropped() {
        return ("connection lost", true);
    }
    match e.kind() {
        ErrorKind::Io => ("i/o error", true),
        ErrorKind::AuthenticationFailed => ("authentication failed", true),
        ErrorKind::InvalidClientConfig => ("invalid client configuration", true),
        ErrorKind::Parse => ("protocol error", true),
        ErrorKind::Server(ServerErrorKind::BusyLoading) => ("server loading", true),
        ErrorKind::Server(ServerErrorKind::ReadOnly) => ("server read-only", true),
        ErrorKind::Server(
            ServerErrorKind::MasterDown | ServerErrorKind::ClusterDown | ServerErrorKind::TryAgain,
        ) => ("server unavailable", true),
        ErrorKind::Server(ServerErrorKind::NoPerm) => ("permission denied", false),
        ErrorKind::Server(_) => ("command refused", false),
        // BUSY (a script running too long), OOM and the like.
        ErrorKind::Extension => ("server busy or out of memory", true),
        ErrorKind::UnexpectedReturnType => ("unexpected reply", false),
        _ => ("client error", false),
    }
}
