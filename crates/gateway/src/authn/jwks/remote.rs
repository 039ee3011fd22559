//! A JWK set fetched from the issuer (a `jwks_url`, or OIDC discovery) and kept
//! fresh in the background, off the request path.
//!
//! One task per key set fetches at start, then again when the response's
//! `Cache-Control: max-age` (clamped to `[refresh_min, refresh_max]`) runs out;
//! a failed fetch keeps the stale keys and is retried with backoff. Requests
//! never fetch: a token with an unknown `kid` (or a request that finds no keys
//! yet) asks the task for a fetch, at most once per `unknown_kid_cooldown`, and
//! every such request waits for that same fetch: a flood of random `kid`s costs
//! the IdP one request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http::{HeaderMap, Uri};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use tokio::sync::{Notify, oneshot, watch};

use super::KeySet;
use crate::authn::fetch::{FetchError, Fetcher};
use crate::metrics::Metrics;

/// The first retry after a failed fetch; it doubles up to `refresh_min`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Where the key set comes from.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    /// A JWKS URL.
    Jwks(Uri),
    /// OIDC discovery: the document at `url` must name `issuer` exactly and gives `jwks_uri`.
    Discovery {
        /// The configured issuer.
        issuer: String,
        /// `{issuer}/.well-known/openid-configuration`.
        url: Uri,
    },
}

/// Refresh timings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timings {
    pub(crate) refresh_min: Duration,
    pub(crate) refresh_max: Duration,
    pub(crate) unknown_kid_cooldown: Duration,
    pub(crate) fetch_timeout: Duration,
}

/// A remotely fetched key set and its refresher.
pub(crate) struct RemoteKeys {
    provider: String,
    endpoint: Endpoint,
    algorithms: Vec<Algorithm>,
    timings: Timings,
    fetcher: Fetcher,
    metrics: Arc<Metrics>,
    keys: ArcSwapOption<KeySet>,
    /// Bumped after every change of `keys`: cached verdicts of older generations are void.
    generation: AtomicU64,
    /// The `jwks_uri` discovery gave (discovery only).
    jwks_uri: Mutex<Option<Uri>>,
    flight: Mutex<Flight>,
    /// Counts finished fetch attempts: waiters see the one they asked for end.
    attempts: watch::Sender<u64>,
    wake: Arc<Notify>,
    /// Taken by the task when it starts; the sender side lives in `_stop`.
    stop_rx: Mutex<Option<oneshot::Receiver<()>>>,
    /// Dropped with `self`: tells the task to end at once, even mid-sleep.
    _stop: oneshot::Sender<()>,
}

/// The single-flight state.
#[derive(Default)]
struct Flight {
    /// A fetch is running or has been asked for.
    pending: bool,
    /// When a request last asked for a fetch.
    last_asked: Option<Instant>,
}

impl std::fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("provider", &self.provider)
            .field("endpoint", &self.endpoint)
            .field("keys", &self.keys.load().as_ref().map(|k| k.len()))
            .finish_non_exhaustive()
    }
}

impl RemoteKeys {
    /// A key set with no keys yet; [`RemoteKeys::start`] begins fetching.
    pub(crate) fn new(
        provider: &str,
        endpoint: Endpoint,
        algorithms: Vec<Algorithm>,
        timings: Timings,
        fetcher: Fetcher,
        metrics: Arc<Metrics>,
    ) -> RemoteKeys {
        let (stop, stop_rx) = oneshot::channel();
        RemoteKeys {
            provider: provider.to_owned(),
            endpoint,
            algorithms,
            timings,
            fetcher,
            metrics,
            keys: ArcSwapOption::empty(),
            generation: AtomicU64::new(first_generation()),
            jwks_uri: Mutex::new(None),
            flight: Mutex::default(),
            attempts: watch::Sender::new(0),
            wake: Arc::new(Notify::new()),
            stop_rx: Mutex::new(Some(stop_rx)),
            _stop: stop,
        }
    }

    /// Starts the background task if a tokio runtime is running and it has not
    /// started yet (`portcullis check` has no runtime and never fetches).
    pub(crate) fn start(self: &Arc<Self>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(stop) = lock(&self.stop_rx).take() else {
            return;
        };
        // The task fetches at once: requests arriving now wait for that fetch.
        lock(&self.flight).pending = true;
        handle.spawn(run(Arc::downgrade(self), stop));
    }

    /// The current key set, if one was ever obtained.
    pub(crate) fn current(&self) -> Option<Arc<KeySet>> {
        self.keys.load_full()
    }

    /// Whether a key set was ever obtained.
    pub(crate) fn has_keys(&self) -> bool {
        self.keys.load().is_some()
    }

    /// Changes whenever the key set changes.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Waits (at most `fetch_timeout`) for a fresh fetch: the one in flight, or
    /// a new one if none was asked for within `unknown_kid_cooldown`. Returns at
    /// once when the cooldown forbids a fetch.
    pub(crate) async fn refresh(self: &Arc<Self>) {
        self.start();
        let mut done = self.attempts.subscribe();
        {
            let mut flight = lock(&self.flight);
            if !flight.pending {
                let cooling = flight
                    .last_asked
                    .is_some_and(|t| t.elapsed() < self.timings.unknown_kid_cooldown);
                if cooling {
                    return;
                }
                flight.pending = true;
                flight.last_asked = Some(Instant::now());
                self.wake.notify_one();
            }
        }
        let _ = tokio::time::timeout(self.timings.fetch_timeout, done.changed()).await;
    }

    /// One fetch attempt: the time until the next one on success.
    async fn fetch(&self) -> Result<Duration, ()> {
        let uri = match &self.endpoint {
            Endpoint::Jwks(uri) => uri.clone(),
            Endpoint::Discovery { .. } => {
                let known = lock(&self.jwks_uri).clone();
                match known {
                    Some(uri) => uri,
                    None => self.discover().await?,
                }
            }
        };
        let fetched = match self.fetcher.get(&uri).await {
            Ok(f) => f,
            Err(e) => {
                self.count("jwks", error_kind(&e));
                tracing::warn!(provider = %self.provider, %uri, error = %e, "JWKS fetch failed; keeping the current keys");
                // The IdP may have moved its keys: ask discovery again next time.
                *lock(&self.jwks_uri) = None;
                return Err(());
            }
        };
        let (set, skipped) = match KeySet::from_jwks(&fetched.body, &self.algorithms) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.count("jwks", "invalid");
                tracing::warn!(provider = %self.provider, %uri, error = %e, "unusable JWKS; keeping the current keys");
                return Err(());
            }
        };
        self.count("jwks", "ok");
        for why in &skipped {
            tracing::debug!(provider = %self.provider, %uri, "JWKS key skipped: {why}");
        }
        self.install(set);
        Ok(ttl(
            &fetched.headers,
            self.timings.refresh_min,
            self.timings.refresh_max,
        ))
    }

    /// Fetches the discovery document and remembers its `jwks_uri`.
    async fn discover(&self) -> Result<Uri, ()> {
        let Endpoint::Discovery { issuer, url } = &self.endpoint else {
            return Err(());
        };
        #[derive(Deserialize)]
        struct Doc {
            issuer: String,
            jwks_uri: String,
        }
        let fetched = self.fetcher.get(url).await.map_err(|e| {
            self.count("discovery", error_kind(&e));
            tracing::warn!(provider = %self.provider, %url, error = %e, "OIDC discovery failed");
        })?;
        let checked = serde_json::from_slice::<Doc>(&fetched.body)
            .map_err(|e| format!("not a discovery document: {e}"))
            .and_then(|doc| {
                if doc.issuer != *issuer {
                    // Mix-up defence (OIDC Discovery §4.3): the document must be the issuer's own.
                    return Err(format!(
                        "the document names issuer `{}`, not the configured `{issuer}`",
                        doc.issuer.chars().take(200).collect::<String>()
                    ));
                }
                crate::authn::fetch::endpoint(&doc.jwks_uri).map_err(|e| format!("jwks_uri: {e}"))
            });
        match checked {
            Ok(uri) => {
                self.count("discovery", "ok");
                *lock(&self.jwks_uri) = Some(uri.clone());
                Ok(uri)
            }
            Err(e) => {
                self.count("discovery", "invalid");
                tracing::warn!(provider = %self.provider, %url, error = %e, "OIDC discovery refused");
                Err(())
            }
        }
    }

    /// Installs a fetched set, unless it equals the current one (so that
    /// caches keyed by the generation survive an unchanged refresh).
    fn install(&self, set: KeySet) {
        let current = self.keys.load();
        if current
            .as_ref()
            .is_some_and(|c| c.fingerprint() == set.fingerprint())
        {
            return;
        }
        tracing::info!(provider = %self.provider, keys = set.len(), "JWKS key set updated");
        // Keys first, generation after: a verdict stamped with the new
        // generation was reached with the new keys.
        self.keys.store(Some(Arc::new(set)));
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn count(&self, call: &str, result: &str) {
        self.metrics.provider_call(&self.provider, call, result);
    }
}

/// The background refresher. It holds only a `Weak`: dropping the last
/// provider that uses the key set ends it (at once, through `stop`).
async fn run(keys: Weak<RemoteKeys>, mut stop: oneshot::Receiver<()>) {
    let mut failures: u32 = 0;
    loop {
        let Some(this) = keys.upgrade() else {
            return;
        };
        lock(&this.flight).pending = true;
        let wait = match this.fetch().await {
            Ok(ttl) => {
                failures = 0;
                ttl
            }
            Err(()) => {
                failures = failures.saturating_add(1);
                backoff(failures, this.timings.refresh_min)
            }
        };
        lock(&this.flight).pending = false;
        this.attempts.send_modify(|n| *n = n.wrapping_add(1));
        let wake = Arc::clone(&this.wake);
        drop(this);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = wake.notified() => {}
            _ = &mut stop => return,
        }
    }
}

/// Each key set numbers its generations in its own range, so a verdict can
/// never be mistaken for one reached with another instance's keys.
fn first_generation() -> u64 {
    static INSTANCES: AtomicU64 = AtomicU64::new(1);
    INSTANCES.fetch_add(1, Ordering::Relaxed) << 32
}

/// 1s, 2s, 4s … after consecutive failures, never more than `cap`.
fn backoff(failures: u32, cap: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    FIRST_BACKOFF.saturating_mul(1 << exp).min(cap)
}

/// How long a fetched set is fresh: `Cache-Control: max-age` clamped to
/// `[min, max]`; `min` without one (or with `no-cache`/`no-store`).
pub(crate) fn ttl(headers: &HeaderMap, min: Duration, max: Duration) -> Duration {
    let mut max_age = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(text) = value.to_str() else { continue };
        for directive in text.split(',') {
            let directive = directive.trim();
            let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
            let name = name.trim().to_ascii_lowercase();
            if name == "no-cache" || name == "no-store" {
                return min;
            }
            if name == "max-age" {
                max_age = arg.trim().trim_matches('"').parse::<u64>().ok();
            }
        }
    }
    match max_age {
        Some(secs) => Duration::from_secs(secs).max(min).min(max.max(min)),
        None => min,
    }
}

fn error_kind(e: &FetchError) -> &'static str {
    match e {
        FetchError::Timeout(_) => "timeout",
        FetchError::Transport(_) => "transport",
        FetchError::Status(_) => "status",
        FetchError::TooLarge(_) => "too_large",
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
