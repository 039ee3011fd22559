//! Traffic control: rate limits (GCRA), calendar quotas, concurrency limits with a
//! bounded throttling queue, the pre-authentication flood guard and the
//! credential-stuffing defence of login operations.
//!
//! Limits are checked against a *store*: this process's memory
//! ([`local::LocalStore`]) or, for several instances, Redis
//! ([`redis::RedisStore`]): one atomic Lua script per check, on Redis' own clock.
//! Every check is all-or-nothing: a request refused by any of its limits is
//! charged to none of them, so a client that keeps retrying while refused is
//! never locked out by its own refusals.

pub mod breached;
pub mod concurrency;
pub mod config;
pub mod flood;
pub mod local;
pub mod login;
pub mod period;
pub mod redis;
pub mod settings;
mod stage;

pub use stage::{flood, ip_key, quota_key, stage, upstream_slot};

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

/// Microseconds since the Unix epoch: the unit of every store time.
pub type Micros = u64;

/// The gateway's wall clock for traffic control: the system clock, shifted by an
/// offset that tests set to cross a calendar boundary without waiting for it.
#[derive(Debug, Default)]
pub struct Clock {
    offset_us: AtomicI64,
}

impl Clock {
    /// Now, on this clock.
    pub fn now(&self) -> SystemTime {
        let offset = self.offset_us.load(Ordering::Relaxed);
        let real = SystemTime::now();
        if offset >= 0 {
            real + Duration::from_micros(offset.unsigned_abs())
        } else {
            real - Duration::from_micros(offset.unsigned_abs())
        }
    }

    /// Now, in microseconds since the epoch.
    pub fn now_us(&self) -> Micros {
        micros(self.now())
    }

    /// Sets this clock to `to` (it keeps running from there).
    pub fn set(&self, to: SystemTime) {
        let real = micros(SystemTime::now()) as i64;
        self.offset_us
            .store(micros(to) as i64 - real, Ordering::Relaxed);
    }
}

/// Microseconds since the epoch (0 before it).
pub fn micros(t: SystemTime) -> Micros {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Where limits and login counters are kept: this process's memory, and Redis
/// when configured. Counter operations (login defence, quota administration) go
/// to Redis while it answers and to the local store when it does not; rate-limit
/// and quota *checks* choose per limit (see the `limit` stage).
#[derive(Debug)]
pub struct Store {
    /// In-process state (always present: the default store, and the fallback).
    pub local: local::LocalStore,
    /// The shared store, when `store.redis` is configured.
    pub redis: Option<Arc<redis::RedisStore>>,
    /// The clock for the local store and calendar periods.
    pub clock: Arc<Clock>,
}

impl Store {
    /// The store the settings describe: Redis (connecting in the background)
    /// when configured, and always the local one.
    pub fn start(
        settings: &settings::StoreSettings,
        metrics: &Arc<crate::metrics::Metrics>,
    ) -> Store {
        Store {
            local: local::LocalStore::new(settings.max_local_keys),
            redis: settings
                .redis
                .clone()
                .map(|cfg| redis::RedisStore::start(cfg, metrics.clone())),
            clock: Arc::new(Clock::default()),
        }
    }

    /// Waits (up to `within`) for the shared store's first connection, so that
    /// a gateway starting next to a healthy Redis does not serve its first
    /// requests in failure mode. True when there is none or it answered.
    pub async fn connected(&self, within: Duration) -> bool {
        let Some(redis) = &self.redis else {
            return true;
        };
        let deadline = tokio::time::Instant::now() + within;
        while !redis.is_up() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Counters' values (absent: 0).
    pub async fn get(&self, keys: &[&str]) -> Vec<Counter> {
        if let Some(r) = &self.redis
            && let Ok(v) = r.get(keys).await
        {
            return v;
        }
        self.local.get(self.clock.now_us(), keys)
    }

    /// Adds one to a counter; a new counter lives `ttl_us`.
    pub async fn incr(&self, key: &str, ttl_us: u64) -> Counter {
        if let Some(r) = &self.redis
            && let Ok(v) = r.incr(key, ttl_us).await
        {
            return v;
        }
        self.local.incr(self.clock.now_us(), key, ttl_us)
    }

    /// Sets a counter, living `ttl_us`.
    pub async fn set(&self, key: &str, value: u64, ttl_us: u64) {
        if let Some(r) = &self.redis
            && r.set(key, value, ttl_us).await.is_ok()
        {
            return;
        }
        self.local.set(self.clock.now_us(), key, value, ttl_us);
    }

    /// Removes counters (in both stores, so a fallback copy cannot outlive a reset).
    pub async fn remove(&self, keys: &[&str]) {
        if let Some(r) = &self.redis {
            let _ = r.remove(keys).await;
        }
        self.local.remove(keys);
    }
}

/// A rate limit in store terms (GCRA: the generic cell rate algorithm).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Emission interval `T`: microseconds between requests at the sustained rate
    /// (at least 1).
    pub interval_us: u64,
    /// Requests that may arrive at once after a quiet period (at least 1).
    pub burst: u64,
    /// Longest a request may be held to fit the rate instead of being refused
    /// (0: never held; throttling).
    pub max_delay_us: u64,
}

/// A calendar quota in store terms: a counter that lives until its period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed in the period.
    pub limit: u64,
    /// Microseconds from now until the period ends (the counter's lifetime;
    /// computed by the caller on its own clock, so the store needs none).
    pub ttl_us: u64,
}

/// What one item of a check enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A GCRA rate limit.
    Rate(Rate),
    /// A counter with a limit and a lifetime.
    Quota(Quota),
}

/// One limit applied to one request: the store key (already namespaced and
/// bounded in length by the caller) and its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The store key, e.g. `rl:bank:per-user:<hash>`.
    pub key: String,
    /// What it enforces.
    pub rule: Rule,
}

/// One item's state after a check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemState {
    /// Whether this item alone would admit the request.
    pub admitted: bool,
    /// Requests this item still admits at once, after this one when the whole
    /// check admitted (0 when refused or held).
    pub remaining: u64,
    /// Rate: microseconds until the item is whole again (burst fully
    /// replenished). Quota: 0 (the caller knows the period's end).
    pub reset_us: u64,
    /// Rate, when this item refused: microseconds until a retry could be
    /// admitted. 0 otherwise.
    pub retry_us: u64,
}

/// The result of checking all of a request's items at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Every item admitted, and every item was charged. When false, none was.
    pub admitted: bool,
    /// How long the request must be held before it goes on (throttling):
    /// the largest delay of its rate items; 0 when not held or refused.
    pub delay_us: u64,
    /// Each item's state, in the order given.
    pub items: Vec<ItemState>,
}

/// A counter's value and the time it has left (login-defence failure
/// counters, lockout markers, quota usage for the admin API).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// The value (0 when absent or expired).
    pub value: u64,
    /// Microseconds until it expires (0 when absent).
    pub ttl_us: u64,
}

/// Why the shared store did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The call did not complete within the configured timeout.
    #[error("the store did not answer in time")]
    Timeout,
    /// The store is known to be down; it was not called (it is probed in the
    /// background until it answers again).
    #[error("the store is down")]
    Down,
    /// The call failed (connection refused or lost, script error …); the
    /// message never holds a key or a credential.
    #[error("the store call failed: {0}")]
    Failed(String),
}

/// GCRA on one key, shared by the local store and (as Lua) the Redis script, so
/// both decide alike. `tat` is the key's theoretical arrival time (`None`:
/// absent). Returns the item state and, when it admits, the new TAT to store.
pub fn gcra(now: Micros, tat: Option<Micros>, rate: &Rate) -> (ItemState, Option<Micros>) {
    let t = rate.interval_us.max(1);
    let burst = rate.burst.max(1);
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat.saturating_add(t);
    // The earliest time this request conforms: `burst` emissions before its TAT.
    let allow_at = new_tat.saturating_sub(burst.saturating_mul(t));
    if now >= allow_at || allow_at - now <= rate.max_delay_us {
        let delay = allow_at.saturating_sub(now);
        let remaining = if delay > 0 {
            0
        } else {
            (now + burst * t - new_tat) / t
        };
        let state = ItemState {
            admitted: true,
            remaining,
            reset_us: new_tat - now,
            retry_us: 0,
        };
        (state, Some(new_tat))
    } else {
        let state = ItemState {
            admitted: false,
            remaining: 0,
            reset_us: tat - now,
            retry_us: allow_at - now - rate.max_delay_us,
        };
        (state, None)
    }
}

/// The delay a GCRA decision imposes: how far past `now` its admitted request
/// conforms (the caller holds it that long).
pub fn gcra_delay(now: Micros, new_tat: Micros, rate: &Rate) -> u64 {
    let t = rate.interval_us.max(1);
    new_tat
        .saturating_sub(rate.burst.max(1).saturating_mul(t))
        .saturating_sub(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_sec: u64, burst: u64) -> Rate {
        Rate {
            interval_us: 1_000_000 / per_sec,
            burst,
            max_delay_us: 0,
        }
    }

    #[test]
    fn a_burst_is_admitted_then_the_rate() {
        let r = rate(10, 3);
        let mut tat = None;
        let now = 1_000_000_000;
        for expect_remaining in [2, 1, 0] {
            let (s, t) = gcra(now, tat, &r);
            assert!(s.admitted);
            assert_eq!(s.remaining, expect_remaining);
            tat = t;
        }
        let (s, t) = gcra(now, tat, &r);
        assert!(!s.admitted && t.is_none());
        assert_eq!(s.retry_us, 100_000, "one interval until the next");
        let (s, _) = gcra(now + 100_000, tat, &r);
        assert!(s.admitted);
    }

    #[test]
    fn a_request_within_the_delay_is_held_not_refused() {
        let r = Rate {
            max_delay_us: 250_000,
            ..rate(10, 1)
        };
        let now = 5_000_000;
        let (_, tat) = gcra(now, None, &r);
        let (s, tat2) = gcra(now, tat, &r);
        assert!(s.admitted);
        assert_eq!(gcra_delay(now, tat2.unwrap(), &r), 100_000);
        let (s, tat3) = gcra(now, tat2, &r);
        assert!(s.admitted);
        assert_eq!(gcra_delay(now, tat3.unwrap(), &r), 200_000);
        let (s, _) = gcra(now, tat3, &r);
        assert_eq!(s.retry_us, 50_000, "300ms to conform, 250ms may be held");
        assert!(!s.admitted, "held past the delay: refused");
    }
}
