//! The Redis store: every check one `EVALSHA` of one Lua script on Redis' own
//! clock, over an auto-reconnecting multiplexed connection with a timeout per
//! call; its health (up/down) tracked, logged, counted and probed.
//!
//! Nothing here waits for Redis at start: the connection is made by the
//! background prober, and until Redis answers (and whenever it stops
//! answering) every call fails at once with [`StoreError::Down`], without
//! touching the network, so an outage costs requests no time. A call that fails
//! or times out marks the store down; the prober (`PING` every 250 ms while
//! down, every second while up) marks it up again.

mod address;
mod encode;
mod health;
mod probe;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, RedisResult, Script};
use tokio::task::JoinHandle;

use self::health::{Health, classify};
use super::{Counter, Decision, Item, StoreError};
use crate::config::Secret;
use crate::metrics::Metrics;

/// The check script (see `redis/check.lua` for its arguments and reply).
static CHECK: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("redis/check.lua")));

/// Counters' values and lifetimes: `{value, pttl}` per key.
static GET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local out = {}
         for i = 1, #KEYS do
           out[2 * i - 1] = tonumber(redis.call('GET', KEYS[i])) or 0
           out[2 * i] = redis.call('PTTL', KEYS[i])
         end
         return out",
    )
});

/// `INCR`, with the lifetime set when the counter is created: `{value, pttl}`.
static INCR: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local v = redis.call('INCR', KEYS[1])
         if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
         return {v, redis.call('PTTL', KEYS[1])}",
    )
});

/// The scripts every check and counter call uses, loaded whenever the store
/// comes up.
fn scripts() -> [&'static Script; 3] {
    [&CHECK, &GET, &INCR]
}

/// `store.redis` in config.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` (TLS) URL; may hold a password, so a secret.
    pub url: Secret,
    /// Longest one call may take before it counts as failed.
    pub timeout: Duration,
    /// Prefix of every key (default `portcullis:`).
    pub prefix: String,
    /// Gateway instances sharing this Redis (the `local` fallback divides each
    /// limit by it).
    pub instances: u32,
}

/// A connection to Redis and its health.
pub struct RedisStore {
    cfg: RedisConfig,
    inner: Arc<Inner>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What the calls and the prober share.
struct Inner {
    health: Health,
    /// Makes connections (`None`: the URL is unusable; the store stays down).
    client: Option<redis::Client>,
    manager: ConnectionManagerConfig,
    conn: ArcSwapOption<ConnectionManager>,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.inner.health.server())
            .field("up", &self.inner.health.is_up())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Starts connecting (in the background: the gateway serves, with each
    /// limit's failure mode, until Redis answers).
    pub fn start(cfg: RedisConfig, metrics: Arc<Metrics>) -> Arc<RedisStore> {
        RedisStore::start_with_ca(cfg, metrics, None)
    }

    /// [`RedisStore::start`], trusting the CA certificates in `ca_pem` (PEM)
    /// instead of the system's for a `rediss://` server.
    pub fn start_with_ca(
        cfg: RedisConfig,
        metrics: Arc<Metrics>,
        ca_pem: Option<Vec<u8>>,
    ) -> Arc<RedisStore> {
        let timeout = cfg.timeout.max(Duration::from_millis(1));
        let (server, client) = match std::str::from_utf8(cfg.url.expose())
            .map_err(|_| "is not UTF-8".to_owned())
            .and_then(|url| address::parse(url).map(|a| (url, a)))
        {
            Ok((url, addr)) => {
                if addr.tls && rustls::crypto::CryptoProvider::get_default().is_none() {
                    // The redis crate builds its TLS config on the process-wide
                    // provider; another thread may have installed it meanwhile.
                    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                }
                let client = match ca_pem {
                    Some(pem) => redis::Client::build_with_tls(
                        url,
                        redis::TlsCertificates {
                            client_tls: None,
                            root_cert: Some(pem),
                        },
                    ),
                    None => redis::Client::open(url),
                };
                (addr.server, client.ok())
            }
            Err(_) => ("(invalid URL)".to_owned(), None),
        };
        let health = Health::new(server, metrics.clone());
        if client.is_none() {
            health.down("invalid URL or TLS settings");
            tracing::error!(
                store = "redis",
                "the store URL or its TLS settings are unusable: the store stays down"
            );
        }
        let manager = ConnectionManagerConfig::new()
            // One attempt per connection: the prober retries, every 250 ms.
            .set_number_of_retries(0)
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let inner = Arc::new(Inner {
            health,
            client,
            manager,
            conn: ArcSwapOption::empty(),
            timeout,
            metrics,
        });
        let mut tasks = Vec::new();
        if inner.client.is_some() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => tasks.push(rt.spawn(probe::run(inner.clone()))),
                Err(_) => {
                    tracing::error!("the Redis store started outside a runtime: it stays down")
                }
            }
        }
        Arc::new(RedisStore {
            cfg,
            inner,
            tasks: Mutex::new(tasks),
        })
    }

    /// Whether the last call or probe succeeded.
    pub fn is_up(&self) -> bool {
        self.inner.health.is_up()
    }

    /// One atomic check of every item (see [`super::local::LocalStore::check`]).
    pub async fn check(&self, items: &[Item]) -> Result<Decision, StoreError> {
        if items.is_empty() {
            return Ok(Decision {
                admitted: true,
                ..Decision::default()
            });
        }
        let mut inv = CHECK.prepare_invoke();
        for item in items {
            inv.key(self.key(&item.key));
            for a in encode::args(item) {
                inv.arg(a);
            }
        }
        let reply: Vec<i64> = self
            .call(async move |mut c| inv.invoke_async(&mut c).await)
            .await?;
        encode::decision(&reply, items.len())
            .ok_or_else(|| StoreError::Failed("unexpected reply".into()))
    }

    /// Counters' values.
    pub async fn get(&self, keys: &[&str]) -> Result<Vec<Counter>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut inv = GET.prepare_invoke();
        for k in keys {
            inv.key(self.key(k));
        }
        let reply: Vec<i64> = self
            .call(async move |mut c| inv.invoke_async(&mut c).await)
            .await?;
        if reply.len() != 2 * keys.len() {
            return Err(StoreError::Failed("unexpected reply".into()));
        }
        Ok(reply.chunks_exact(2).map(|c| counter(c[0], c[1])).collect())
    }

    /// Adds one to a counter (a new one lives `ttl_us`).
    pub async fn incr(&self, key: &str, ttl_us: u64) -> Result<Counter, StoreError> {
        let mut inv = INCR.prepare_invoke();
        inv.key(self.key(key)).arg(ttl_ms(ttl_us));
        let reply: (i64, i64) = self
            .call(async move |mut c| inv.invoke_async(&mut c).await)
            .await?;
        Ok(counter(reply.0, reply.1))
    }

    /// Sets a counter.
    pub async fn set(&self, key: &str, value: u64, ttl_us: u64) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_ms(ttl_us));
        self.call(async move |mut c| cmd.query_async::<()>(&mut c).await)
            .await
    }

    /// Removes keys.
    pub async fn remove(&self, keys: &[&str]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("DEL");
        for k in keys {
            cmd.arg(self.key(k));
        }
        self.call(async move |mut c| cmd.query_async::<()>(&mut c).await)
            .await
    }

    /// Health for `/readyz`: `{"state": "up"|"down", "since": RFC 3339,
    /// "transitions": n, "last_error": short kind or null, "server": "host:port"}`.
    pub fn status(&self) -> serde_json::Value {
        self.inner.health.status()
    }

    /// The settings.
    pub fn config(&self) -> &RedisConfig {
        &self.cfg
    }

    /// Stops the background tasks (shutdown); calls fail with
    /// [`StoreError::Down`] from then on.
    pub fn stop(&self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            t.abort();
        }
        self.inner.conn.store(None);
    }

    /// Up/down transitions so far (the first connection is not one).
    pub fn transitions(&self) -> u64 {
        self.inner.health.transitions()
    }

    /// `key` with the configured prefix.
    pub(crate) fn key(&self, key: &str) -> String {
        format!("{}{key}", self.cfg.prefix)
    }

    /// Runs a script (keys given without the prefix) through the same
    /// health, timeout and metrics as every other call.
    pub(crate) async fn eval<T: FromRedisValue + Send>(
        &self,
        script: &'static Script,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<T, StoreError> {
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(self.key(k));
        }
        for a in args {
            inv.arg(*a);
        }
        self.call(async move |mut c| inv.invoke_async(&mut c).await)
            .await
    }

    /// Runs a command (keys already prefixed by [`RedisStore::key`]) through
    /// the same health, timeout and metrics as every other call.
    pub(crate) async fn query<T: FromRedisValue + Send>(
        &self,
        cmd: redis::Cmd,
    ) -> Result<T, StoreError> {
        self.call(async move |mut c| cmd.query_async(&mut c).await)
            .await
    }

    /// Runs a pipeline (keys already prefixed) as one call, like [`RedisStore::query`].
    pub(crate) async fn query_pipeline<T: FromRedisValue + Send>(
        &self,
        pipe: redis::Pipeline,
    ) -> Result<T, StoreError> {
        self.call(async move |mut c| pipe.query_async(&mut c).await)
            .await
    }

    /// One call: refused at once while down, else bounded by the timeout; its
    /// outcome counted, and a failure that means an outage marks the store down.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let inner = &self.inner;
        let conn = match inner.conn.load_full() {
            Some(c) if inner.health.is_up() => c,
            _ => {
                inner.metrics.store_event("redis", "skipped_down");
                return Err(StoreError::Down);
            }
        };
        match tokio::time::timeout(inner.timeout, f((*conn).clone())).await {
            Ok(Ok(v)) => {
                inner.metrics.store_event("redis", "call_ok");
                Ok(v)
            }
            Ok(Err(e)) if e.is_timeout() => {
                inner.metrics.store_event("redis", "call_timeout");
                inner.health.down("timeout");
                Err(StoreError::Timeout)
            }
            Ok(Err(e)) => {
                let (kind, outage) = classify(&e);
                inner.metrics.store_event("redis", "call_error");
                if outage {
                    inner.health.down(kind);
                }
                Err(StoreError::Failed(kind.to_owned()))
            }
            Err(_) => {
                inner.metrics.store_event("redis", "call_timeout");
                inner.health.down("timeout");
                Err(StoreError::Timeout)
            }
        }
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Checks a store URL's form (`redis://` or `rediss://`, host present). The
/// error says what is expected and never quotes the URL (it may hold a
/// password).
pub fn check_url(url: &str) -> Result<(), String> {
    address::parse(url)?;
    redis::Client::open(url).map(drop).map_err(|_| {
        "the Redis URL is not accepted by the Redis client: expected \
                      redis://[user:password@]host[:port][/db] or rediss://… for TLS"
            .to_owned()
    })
}

/// A counter from a value and a `PTTL` (ms; negative: absent or no expiry).
fn counter(value: i64, pttl_ms: i64) -> Counter {
    let value = u64::try_from(value).unwrap_or(0);
    Counter {
        value,
        ttl_us: if value == 0 {
            0
        } else {
            u64::try_from(pttl_ms).unwrap_or(0).saturating_mul(1000)
        },
    }
}

/// A lifetime in whole milliseconds, rounded up, at least 1.
fn ttl_ms(ttl_us: u64) -> u64 {
    ttl_us.div_ceil(1000).max(1)
}
