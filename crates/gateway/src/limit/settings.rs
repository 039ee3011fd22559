//! The process-wide traffic-control settings: `store` (where limits are kept)
//! and `flood_guard` (the pre-authentication per-IP limit).

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::flood::FloodConfig;
use super::redis::RedisConfig;
use crate::config::Checker;
use crate::config::units::Span;

/// Keys the local store holds at most, by default (about 100 MB at worst).
pub const DEFAULT_LOCAL_KEYS: usize = 1_000_000;

/// `store` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    #[serde(default)]
    redis: Option<RawRedis>,
    /// Keys the in-process store holds at most.
    #[serde(default)]
    max_local_keys: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    /// `redis://host:port/db` or `rediss://…`, or `env:NAME` / `file:path`
    /// (the URL may carry a password).
    url: Spanned<String>,
    #[serde(default)]
    timeout: Option<Span>,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    instances: Option<Spanned<u32>>,
}

/// `flood_guard` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlood {
    /// `1000/s`, `20000/min`: requests one address may send.
    rate: Spanned<String>,
    #[serde(default)]
    ipv6_prefix: Option<Spanned<u8>>,
}

/// Where limits are kept.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// The shared store, when configured.
    pub redis: Option<RedisConfig>,
    /// Keys the in-process store holds at most.
    pub max_local_keys: usize,
}

impl StoreSettings {
    /// Whether a change from `self` to `other` needs a restart (the store's
    /// connection and memory are made once, at start).
    pub fn differs(&self, other: &StoreSettings) -> bool {
        let key = |s: &StoreSettings| {
            s.redis.as_ref().map(|r| {
                (
                    r.url.expose().to_vec(),
                    r.timeout,
                    r.prefix.clone(),
                    r.instances,
                )
            })
        };
        key(self) != key(other) || self.max_local_keys != other.max_local_keys
    }
}

/// Checks `store`.
pub(crate) fn store(c: &mut Checker<'_>, raw: Option<&RawStore>) -> StoreSettings {
    let max_local_keys = raw
        .and_then(|r| r.max_local_keys)
        .unwrap_or(DEFAULT_LOCAL_KEYS)
        .max(1024);
    let redis = raw.and_then(|r| r.redis.as_ref()).and_then(|r| {
        let url = if r.url.value.starts_with("env:") || r.url.value.starts_with("file:") {
            c.secret(&r.url, "store.redis.url")?
        } else if r.url.value.contains('@') {
            // A password written in the config file would sit in its diffs and
            // backups: only by reference.
            c.error(
                Some(&r.url),
                "store.redis.url",
                "a URL with credentials must be given by reference: `env:NAME` or `file:PATH`",
            );
            return None;
        } else {
            crate::config::Secret::plain(r.url.value.clone())
        };
        let text = String::from_utf8_lossy(url.expose()).into_owned();
        if let Err(e) = super::redis::check_url(text.trim()) {
            c.error(Some(&r.url), "store.redis.url", e);
            return None;
        }
        let instances = match &r.instances {
            Some(n) if n.value == 0 => {
                c.error(Some(n), "store.redis.instances", "must be at least 1");
                1
            }
            Some(n) => n.value,
            None => 1,
        };
        Some(RedisConfig {
            url,
            timeout: r.timeout.map_or(Duration::from_millis(100), |s| s.0),
            prefix: r.prefix.clone().unwrap_or_else(|| "portcullis:".to_owned()),
            instances,
        })
    });
    StoreSettings {
        redis,
        max_local_keys,
    }
}

/// Checks `flood_guard`.
pub(crate) fn flood(c: &mut Checker<'_>, raw: Option<&RawFlood>) -> Option<FloodConfig> {
    let raw = raw?;
    let (limit, per) = match super::config::parse_rate(&raw.rate.value) {
        Ok(v) => v,
        Err(e) => {
            c.error(Some(&raw.rate), "flood_guard.rate", e);
            return None;
        }
    };
    let ipv6_prefix = match &raw.ipv6_prefix {
        Some(p) if !(16..=128).contains(&p.value) => {
            c.error(
                Some(p),
                "flood_guard.ipv6_prefix",
                "a prefix length from 16 to 128 (64 is one customer's network)",
            );
            return None;
        }
        Some(p) => p.value,
        None => 64,
    };
    Some(FloodConfig {
        limit,
        window_us: u64::try_from(per.as_micros()).unwrap_or(u64::MAX),
        ipv6_prefix,
    })
}
