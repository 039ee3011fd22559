//! `apis[].rate_limits`, `apis[].quotas` and `apis[].concurrency` as written,
//! checked and compiled into [`Traffic`]: per operation, the limits that apply.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::concurrency::GateConfig;
use super::period::Period;
use crate::config::Checker;
use crate::config::units::Span;

mod parts;
pub use parts::parse_rate;
use parts::{clients, key_part, key_parts, on_store_error};

/// Distinct consumers tracked at once by a per-consumer concurrency limit.
pub const MAX_CONSUMER_KEYS: usize = 100_000;

/// `apis[].rate_limits[]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    name: Spanned<String>,
    /// `100/s`, `6000/min`, `100/10s`, `50000/h`, `1000000/day`.
    rate: Spanned<String>,
    /// Requests admitted at once after a quiet period (default: the rate's count).
    #[serde(default)]
    burst: Option<Spanned<u64>>,
    #[serde(default)]
    key: Option<Spanned<KeyList>>,
    #[serde(default)]
    clients: Option<Spanned<String>>,
    #[serde(default)]
    operations: Vec<Spanned<String>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    #[serde(default)]
    queue: Option<RawQueue>,
    #[serde(default)]
    on_store_error: Option<Spanned<String>>,
}

/// `apis[].quotas[]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuota {
    name: Spanned<String>,
    limit: Spanned<u64>,
    /// `day` or `month`.
    period: Spanned<String>,
    #[serde(default)]
    time_zone: Option<Spanned<String>>,
    /// One key part (default `principal`: the consumer).
    #[serde(default)]
    key: Option<Spanned<String>>,
    #[serde(default)]
    operations: Vec<Spanned<String>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    #[serde(default)]
    on_store_error: Option<Spanned<String>>,
}

/// `apis[].concurrency` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConcurrency {
    /// Requests in flight per consumer.
    per_consumer: Spanned<usize>,
    /// What identifies the consumer (default `[principal]`, anonymous by `ip`).
    #[serde(default)]
    key: Option<Spanned<KeyList>>,
    #[serde(default)]
    queue: Option<RawQueue>,
}

/// A throttling queue as written: `{ size, max_wait }`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    /// Requests that may wait at once.
    pub size: usize,
    /// Longest one waits.
    pub max_wait: Span,
}

/// A key written as one part or a list of parts.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    /// `key: ip`
    One(String),
    /// `key: [principal, operation]`
    Many(Vec<String>),
}

/// One part of a limit's key: what the request is counted by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    /// The client address (IPv6 by /64).
    Ip,
    /// The authenticated subject (the consumer).
    Principal,
    /// The API key's id, for requests authenticated by API key.
    ApiKey,
    /// The principal's tenant.
    Tenant,
    /// The operation.
    Operation,
    /// A request header's value (absent: one shared bucket).
    Header(http::HeaderName),
    /// A claim of the principal (absent: one shared bucket).
    Claim(String),
}

impl KeyPart {
    /// Whether this part needs a verified principal (anonymous requests have
    /// none of it).
    pub fn needs_principal(&self) -> bool {
        matches!(
            self,
            KeyPart::Principal | KeyPart::ApiKey | KeyPart::Tenant | KeyPart::Claim(_)
        )
    }
}

/// Which requests a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clients {
    /// Every request.
    All,
    /// Only requests with a verified principal.
    Authenticated,
    /// Only requests without one.
    Anonymous,
}

/// What a limit does when the shared store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStoreError {
    /// Admit without checking.
    Open,
    /// Refuse (503).
    Closed,
    /// Check against this process's memory, the limit divided by the instance count.
    Local,
}

/// A compiled rate limit or quota.
#[derive(Debug)]
pub struct Limit {
    /// Its name from config (metrics, audit, `RateLimit-Policy`).
    pub name: Arc<str>,
    /// What it counts by.
    pub key: Vec<KeyPart>,
    /// Which requests it counts.
    pub clients: Clients,
    /// Rate or quota.
    pub kind: LimitKind,
    /// Its behaviour when the shared store is down.
    pub on_store_error: OnStoreError,
    /// `RateLimit-Policy` item: `"name";q=..;w=..` (quotas' `w` is the period's
    /// nominal length).
    pub policy: String,
    /// `policy` as a header value (a route with one limit sends it as is).
    pub policy_header: http::HeaderValue,
}

/// A rate or a quota.
#[derive(Debug)]
pub enum LimitKind {
    /// A GCRA rate limit.
    Rate {
        /// Requests per `per`.
        count: u64,
        /// The window of `count`.
        per: Duration,
        /// Requests at once.
        burst: u64,
        /// Throttling: requests may be held up to `max_wait`, at most `size` at once.
        queue: Option<(usize, Duration)>,
        /// Requests held right now.
        held: AtomicUsize,
    },
    /// A calendar quota.
    Quota {
        /// Requests per period.
        limit: u64,
        /// Day or month.
        period: Period,
        /// The calendar's time zone.
        zone: jiff::tz::TimeZone,
    },
}

/// An API's traffic control, compiled.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Every limit, in config order (rate limits, then quotas).
    pub limits: Vec<Limit>,
    /// Operation id → indexes into `limits`.
    pub by_operation: HashMap<String, Vec<usize>>,
    /// The per-consumer concurrency limit and its key.
    /// (The gate itself is the runtime's, kept across reloads: `ApiRuntime::consumer_gate`.)
    pub per_consumer: Option<(GateConfig, Vec<KeyPart>)>,
}

impl Traffic {
    /// The limits that apply to an operation.
    pub fn for_operation(&self, op: &str) -> &[usize] {
        self.by_operation.get(op).map_or(&[], Vec::as_slice)
    }

    /// The quotas, for the admin API.
    pub fn quotas(&self) -> impl Iterator<Item = &Limit> {
        self.limits
            .iter()
            .filter(|l| matches!(l.kind, LimitKind::Quota { .. }))
    }
}

/// A policy item as a header value (names are checked to be header-safe).
fn header_value(text: &str) -> http::HeaderValue {
    http::HeaderValue::try_from(text).unwrap_or(http::HeaderValue::from_static(""))
}

/// Compiles an API's traffic control (`field` is `apis[i]`); `None` when it has none.
pub(crate) fn build(
    c: &mut Checker<'_>,
    field: &str,
    rates: &[RawRateLimit],
    quotas: &[RawQuota],
    concurrency: Option<&RawConcurrency>,
    spec: Option<&portcullis_openapi::Spec>,
) -> Option<Arc<Traffic>> {
    if rates.is_empty() && quotas.is_empty() && concurrency.is_none() {
        return None;
    }
    // Every operation of the spec with its tags (an API without a spec has one
    // prefix route, `*`).
    let ops: Vec<(String, Vec<String>)> = match spec {
        Some(s) => s
            .operations
            .iter()
            .map(|o| {
                let id = o
                    .operation_id
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", o.method, o.path));
                (id, o.tags.clone())
            })
            .collect(),
        None => vec![("*".to_owned(), Vec::new())],
    };
    let mut traffic = Traffic::default();
    let mut names: Vec<String> = Vec::new();
    for (i, r) in rates.iter().enumerate() {
        let at = format!("{field}.rate_limits[{i}]");
        let Some(limit) = rate(c, &at, r) else {
            continue;
        };
        unique(c, &mut names, &r.name, &at);
        let selected = select(c, &at, &ops, &r.operations, &r.tags);
        push(&mut traffic, limit, selected);
    }
    for (i, q) in quotas.iter().enumerate() {
        let at = format!("{field}.quotas[{i}]");
        let Some(limit) = quota(c, &at, q) else {
            continue;
        };
        unique(c, &mut names, &q.name, &at);
        let selected = select(c, &at, &ops, &q.operations, &q.tags);
        push(&mut traffic, limit, selected);
    }
    if let Some(raw) = concurrency {
        let at = format!("{field}.concurrency");
        let key = match &raw.key {
            Some(k) => key_parts(c, &format!("{at}.key"), k),
            None => Some(vec![KeyPart::Principal]),
        };
        if raw.per_consumer.value == 0 {
            c.error(
                Some(&raw.per_consumer),
                format!("{at}.per_consumer"),
                "must be at least 1",
            );
        } else if let Some(key) = key {
            let cfg = gate_config(raw.per_consumer.value, raw.queue);
            traffic.per_consumer = Some((cfg, key));
        }
    }
    Some(Arc::new(traffic))
}

/// A concurrency limit's settings from its `max` and optional queue.
pub(crate) fn gate_config(max: usize, queue: Option<RawQueue>) -> GateConfig {
    GateConfig {
        max,
        queue: queue.map_or(0, |q| q.size),
        max_wait: queue.map_or(Duration::ZERO, |q| q.max_wait.0),
    }
}

fn push(traffic: &mut Traffic, limit: Limit, ops: Vec<String>) {
    let index = traffic.limits.len();
    traffic.limits.push(limit);
    for op in ops {
        traffic.by_operation.entry(op).or_default().push(index);
    }
}

fn unique(c: &mut Checker<'_>, names: &mut Vec<String>, name: &Spanned<String>, at: &str) {
    if names.contains(&name.value) {
        c.error(
            Some(name),
            format!("{at}.name"),
            format!("`{}` names another limit of this API already", name.value),
        );
    } else if name.value.is_empty()
        || !name
            .value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        c.error(
            Some(name),
            format!("{at}.name"),
            "use letters, digits, `-`, `_` and `.` (it appears in headers and metrics)",
        );
    }
    names.push(name.value.clone());
}

/// The operations a limit applies to: all, or those listed or tagged.
fn select(
    c: &mut Checker<'_>,
    at: &str,
    ops: &[(String, Vec<String>)],
    operations: &[Spanned<String>],
    tags: &[Spanned<String>],
) -> Vec<String> {
    for (i, o) in operations.iter().enumerate() {
        if !ops.iter().any(|(id, _)| *id == o.value) {
            c.error(
                Some(o),
                format!("{at}.operations[{i}]"),
                format!("the spec has no operation `{}`", o.value),
            );
        }
    }
    for (i, t) in tags.iter().enumerate() {
        if !ops.iter().any(|(_, ts)| ts.contains(&t.value)) {
            c.error(
                Some(t),
                format!("{at}.tags[{i}]"),
                format!("no operation of the spec has the tag `{}`", t.value),
            );
        }
    }
    ops.iter()
        .filter(|(id, ts)| {
            (operations.is_empty() && tags.is_empty())
                || operations.iter().any(|o| o.value == *id)
                || tags.iter().any(|t| ts.contains(&t.value))
        })
        .map(|(id, _)| id.clone())
        .collect()
}

fn rate(c: &mut Checker<'_>, at: &str, r: &RawRateLimit) -> Option<Limit> {
    let (count, per) = match parse_rate(&r.rate.value) {
        Ok(v) => v,
        Err(e) => {
            c.error(Some(&r.rate), format!("{at}.rate"), e);
            return None;
        }
    };
    let burst = match &r.burst {
        Some(b) if b.value == 0 => {
            c.error(Some(b), format!("{at}.burst"), "must be at least 1");
            return None;
        }
        Some(b) => b.value,
        None => count,
    };
    let key = match &r.key {
        Some(k) => key_parts(c, &format!("{at}.key"), k)?,
        None => vec![KeyPart::Ip],
    };
    let clients = clients(c, at, r.clients.as_ref())?;
    if clients == Clients::Anonymous && key.iter().any(KeyPart::needs_principal) {
        c.error(
            r.key.as_ref(),
            format!("{at}.key"),
            "anonymous requests have no principal, API key, tenant or claim: key them by `ip` or a header",
        );
        return None;
    }
    if clients == Clients::All && key.iter().any(KeyPart::needs_principal) {
        c.warn(
            r.key.as_ref(),
            format!("{at}.key"),
            "anonymous requests are not counted by this limit (they have no principal): \
             add a limit with `clients: anonymous` keyed by `ip`",
        );
    }
    let on_store_error = on_store_error(c, at, r.on_store_error.as_ref())?;
    let name: Arc<str> = r.name.value.as_str().into();
    let policy = format!("\"{name}\";q={count};w={}", per.as_secs().max(1));
    Some(Limit {
        policy_header: header_value(&policy),
        policy,
        name,
        key,
        clients,
        kind: LimitKind::Rate {
            count,
            per,
            burst,
            queue: r.queue.map(|q| (q.size, q.max_wait.0)),
            held: AtomicUsize::new(0),
        },
        on_store_error,
    })
}

fn quota(c: &mut Checker<'_>, at: &str, q: &RawQuota) -> Option<Limit> {
    let period: Period = match q.period.value.parse() {
        Ok(p) => p,
        Err(e) => {
            c.error(Some(&q.period), format!("{at}.period"), e);
            return None;
        }
    };
    let zone = match &q.time_zone {
        None => jiff::tz::TimeZone::UTC,
        Some(z) => match super::period::parse_zone(&z.value) {
            Ok(tz) => tz,
            Err(e) => {
                c.error(Some(z), format!("{at}.time_zone"), e);
                return None;
            }
        },
    };
    if q.limit.value == 0 {
        c.error(Some(&q.limit), format!("{at}.limit"), "must be at least 1");
        return None;
    }
    let key = match &q.key {
        Some(k) => vec![key_part(c, &format!("{at}.key"), k, &k.value)?],
        None => vec![KeyPart::Principal],
    };
    let on_store_error = on_store_error(c, at, q.on_store_error.as_ref())?;
    let clients = if key.iter().any(KeyPart::needs_principal) {
        Clients::Authenticated
    } else {
        Clients::All
    };
    let seconds = match period {
        Period::Day => 86_400,
        Period::Month => 2_592_000,
    };
    let name: Arc<str> = q.name.value.as_str().into();
    let policy = format!("\"{name}\";q={};w={seconds}", q.limit.value);
    Some(Limit {
        policy_header: header_value(&policy),
        policy,
        name,
        key,
        clients,
        kind: LimitKind::Quota {
            limit: q.limit.value,
            period,
            zone,
        },
        on_store_error,
    })
}
