//! The limit stages: the flood guard (before authentication), rate limits,
//! quotas and the per-consumer concurrency limit (after authorization), and
//! the upstream's concurrency limit (just before forwarding).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};

use super::concurrency::Full;
use super::config::{Clients, KeyPart, Limit, LimitKind, OnStoreError, Traffic};
use super::{Decision, Item, ItemState, Quota, Rate, Rule, StoreError, period};
use crate::Gateway;
use crate::exchange::Exchange;
use crate::problem::Reject;
use crate::route::Operation;
use crate::runtime::{ApiRuntime, Runtime};

/// The flood guard: counts the request against its address before anything
/// else is done for it.
pub fn flood(gw: &Gateway, rt: &Runtime, ip: IpAddr) -> Result<(), Reject> {
    let Some(guard) = &rt.flood else {
        return Ok(());
    };
    guard
        .admit(ip, gw.store.clock.now_us())
        .map_err(|retry_after| {
            gw.metrics.flood_rejected.inc();
            Reject::Flooded { retry_after }
        })
}

/// Rate limits and quotas (one store call for all of them), then the
/// per-consumer concurrency limit. Sets the `RateLimit` headers in `ex`, and
/// holds the request when a throttling queue admits it late.
pub async fn stage(
    gw: &Gateway,
    api: &ApiRuntime,
    op: &Operation,
    headers: &HeaderMap,
    ex: &mut Exchange,
) -> Result<(), Reject> {
    let Some(traffic) = api.cfg.traffic.as_deref() else {
        return Ok(());
    };
    let applied = applicable(traffic, &op.id, ex);
    if !applied.is_empty() {
        rates_and_quotas(gw, &api.name, op, headers, &applied, ex).await?;
    }
    if let (Some((_, parts)), Some(keyed)) = (&traffic.per_consumer, &api.consumer_gate) {
        // An anonymous consumer is its address.
        let parts = if ex.principal.is_none() && parts.iter().any(KeyPart::needs_principal) {
            &[KeyPart::Ip][..]
        } else {
            parts
        };
        let key = key_of(&api.name, "concurrency", parts, op, headers, ex);
        match keyed.enter(&key).await {
            Ok(permit) => ex.permits.push(permit),
            Err(full) => {
                gw.metrics.limit(&api.name, "concurrency", "rejected");
                return Err(busy("concurrency", full, true));
            }
        }
    }
    Ok(())
}

/// The upstream group's concurrency limit: a slot held until the response
/// has been sent.
pub async fn upstream_slot(
    gw: &Gateway,
    api: &ApiRuntime,
    ex: &mut Exchange,
) -> Result<(), Reject> {
    let Some(gate) = &api.upstream.gate else {
        return Ok(());
    };
    match gate.enter().await {
        Ok(permit) => {
            ex.permits.push(permit);
            Ok(())
        }
        Err(full) => {
            gw.metrics.limit(
                &api.name,
                &format!("upstream:{}", api.upstream.name),
                "rejected",
            );
            Err(busy(
                &format!("upstream:{}", api.upstream.name),
                full,
                false,
            ))
        }
    }
}

fn busy(limit: &str, full: Full, consumer: bool) -> Reject {
    Reject::Busy {
        limit: limit.into(),
        waited: full == Full::Timeout,
        consumer,
    }
}

/// The API's limits that count this request.
fn applicable<'t>(traffic: &'t Traffic, op: &str, ex: &Exchange) -> Vec<&'t Limit> {
    let indexes = traffic.for_operation(op);
    if indexes.is_empty() {
        return Vec::new();
    }
    indexes
        .iter()
        .map(|&i| &traffic.limits[i])
        .filter(|l| match l.clients {
            Clients::All => true,
            Clients::Authenticated => ex.principal.is_some(),
            Clients::Anonymous => ex.principal.is_none(),
        })
        // A limit keyed by a principal's facts does not count anonymous requests.
        .filter(|l| ex.principal.is_some() || !l.key.iter().any(KeyPart::needs_principal))
        .collect()
}

/// A throttling-queue place reserved for the duration of the check and hold.
struct Held<'a>(Vec<&'a std::sync::atomic::AtomicUsize>);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        for h in &self.0 {
            h.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

async fn rates_and_quotas(
    gw: &Gateway,
    api: &str,
    op: &Operation,
    headers: &HeaderMap,
    limits: &[&Limit],
    ex: &mut Exchange,
) -> Result<(), Reject> {
    let now = gw.store.clock.now();
    let now_us = super::micros(now);
    let mut held = Held(Vec::new());
    let mut items = Vec::with_capacity(limits.len());
    // For quotas: seconds from now to the end of the period.
    let mut ends = Vec::with_capacity(limits.len());
    for l in limits {
        let key = key_of(api, &l.name, &l.key, op, headers, ex);
        let (rule, end) = match &l.kind {
            LimitKind::Rate {
                count,
                per,
                burst,
                queue,
                held: waiting,
            } => {
                let mut max_delay_us = 0;
                if let Some((size, wait)) = queue {
                    // A place in the queue is taken before the store is asked,
                    // so that a full queue means "refuse", not "charged and held".
                    if waiting.fetch_add(1, Ordering::AcqRel) < *size {
                        held.0.push(waiting);
                        max_delay_us = micros_of(*wait);
                    } else {
                        waiting.fetch_sub(1, Ordering::AcqRel);
                    }
                }
                let rate = Rate {
                    interval_us: (micros_of(*per) / count).max(1),
                    burst: *burst,
                    max_delay_us,
                };
                (Rule::Rate(rate), 0)
            }
            LimitKind::Quota {
                limit,
                period: p,
                zone,
            } => {
                let window = period::window(now, *p, zone);
                let ttl_us = window
                    .end
                    .duration_since(now)
                    .map_or(1, |d| micros_of(d).max(1));
                let rule = Rule::Quota(Quota {
                    limit: *limit,
                    ttl_us,
                });
                let key = format!("{key}:{}", window.id);
                items.push(Item { key, rule });
                ends.push(ttl_us.div_ceil(1_000_000));
                continue;
            }
        };
        items.push(Item { key, rule });
        ends.push(end);
    }

    let decision = decide(gw, api, limits, &items, now_us).await?;
    ex.rate_headers = Some(rate_headers(limits, &decision.items, &ends));
    if !decision.admitted {
        let i = decision.items.iter().position(|s| !s.admitted).unwrap_or(0);
        let l = limits[i];
        gw.metrics.limit(api, &l.name, "rejected");
        let quota = matches!(l.kind, LimitKind::Quota { .. });
        let retry_after = if quota {
            ends[i]
        } else {
            decision.items[i].retry_us.div_ceil(1_000_000)
        };
        return Err(Reject::RateLimited {
            limit: l.name.clone(),
            retry_after: retry_after.max(1),
            quota,
        });
    }
    if decision.delay_us > 0 {
        for (l, s) in limits.iter().zip(&decision.items) {
            if matches!(l.kind, LimitKind::Rate { .. }) && s.remaining == 0 {
                gw.metrics.limit(api, &l.name, "delayed");
            }
        }
        tokio::time::sleep(Duration::from_micros(decision.delay_us)).await;
    }
    drop(held);
    Ok(())
}

/// One store call for every item; when the shared store cannot answer, each
/// limit does what it is configured to.
async fn decide(
    gw: &Gateway,
    api: &str,
    limits: &[&Limit],
    items: &[Item],
    now_us: u64,
) -> Result<Decision, Reject> {
    let store = &gw.store;
    let Some(redis) = &store.redis else {
        return Ok(store.local.check(now_us, items));
    };
    let error = match redis.check(items).await {
        Ok(d) => return Ok(d),
        Err(e) => e,
    };
    let instances = u64::from(redis.config().instances.max(1));
    let mut local = Vec::new();
    let mut local_at = Vec::new();
    for (i, (l, item)) in limits.iter().zip(items).enumerate() {
        match l.on_store_error {
            OnStoreError::Closed => {
                gw.metrics.limit(api, &l.name, "store_error_closed");
                if !matches!(error, StoreError::Down) {
                    tracing::debug!(limit = %l.name, %error, "limit refused: the store failed");
                }
                return Err(Reject::LimitUnavailable {
                    limit: l.name.clone(),
                });
            }
            OnStoreError::Open => gw.metrics.limit(api, &l.name, "store_error_open"),
            OnStoreError::Local => {
                gw.metrics.limit(api, &l.name, "store_error_local");
                local.push(Item {
                    key: item.key.clone(),
                    rule: scaled(item.rule, instances),
                });
                local_at.push(i);
            }
        }
    }
    let checked = store.local.check(now_us, &local);
    // Items that failed open are admitted and advertise nothing.
    let mut states = vec![
        ItemState {
            admitted: true,
            ..ItemState::default()
        };
        items.len()
    ];
    for (j, &i) in local_at.iter().enumerate() {
        states[i] = checked.items[j];
    }
    Ok(Decision {
        admitted: checked.admitted,
        delay_us: checked.delay_us,
        items: states,
    })
}

/// This instance's share of a limit shared by `instances`.
fn scaled(rule: Rule, instances: u64) -> Rule {
    match rule {
        Rule::Rate(r) => Rule::Rate(Rate {
            interval_us: r.interval_us.saturating_mul(instances),
            burst: (r.burst / instances).max(1),
            max_delay_us: r.max_delay_us,
        }),
        Rule::Quota(q) => Rule::Quota(Quota {
            limit: (q.limit / instances).max(1),
            ttl_us: q.ttl_us,
        }),
    }
}

/// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10):
/// every limit that counted the request, with what it has left and when it is
/// whole again.
fn rate_headers(
    limits: &[&Limit],
    states: &[ItemState],
    ends: &[u64],
) -> (HeaderValue, HeaderValue) {
    let policy = match limits {
        [one] => one.policy_header.clone(),
        _ => {
            let joined: Vec<&str> = limits.iter().map(|l| l.policy.as_str()).collect();
            HeaderValue::try_from(joined.join(", ")).unwrap_or(HeaderValue::from_static(""))
        }
    };
    let mut current = String::with_capacity(limits.len() * 40);
    for (i, (l, s)) in limits.iter().zip(states).enumerate() {
        if i > 0 {
            current.push_str(", ");
        }
        let reset = match l.kind {
            LimitKind::Rate { .. } => s.reset_us.div_ceil(1_000_000),
            LimitKind::Quota { .. } => ends[i],
        };
        let _ = write!(current, "\"{}\";r={};t={reset}", l.name, s.remaining);
    }
    // Names are checked in config to be header-safe.
    (
        policy,
        HeaderValue::try_from(current).unwrap_or(HeaderValue::from_static("")),
    )
}

fn micros_of(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The store key of a limit for this request: its API and name, then the key
/// parts' values. Addresses and operation ids are written as they are (short,
/// and not chosen freely by the client); any other value goes through a digest,
/// so that client-chosen text never reaches the store as is and every key has
/// a bounded length.
fn key_of(
    api: &str,
    limit: &str,
    parts: &[KeyPart],
    op: &Operation,
    headers: &HeaderMap,
    ex: &Exchange,
) -> String {
    let mut key = String::with_capacity(api.len() + limit.len() + 48);
    key.push_str(api);
    key.push(':');
    key.push_str(limit);
    key.push(':');
    if written_plain(parts) {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                key.push('|');
            }
            match part {
                KeyPart::Ip => write_ip(&mut key, ex.client_ip),
                _ => key.push_str(&op.id),
            }
        }
        return key;
    }
    key.push_str(&digest(
        parts.iter().map(|part| part_value(part, op, headers, ex)),
    ));
    key
}

/// Whether a key's values go into the store key as they are: addresses and
/// operation ids (short, and not chosen freely by the client).
fn written_plain(parts: &[KeyPart]) -> bool {
    parts
        .iter()
        .all(|p| matches!(p, KeyPart::Ip | KeyPart::Operation))
}

/// The digest that stands for any other key's values: SHA-256 over the
/// length-prefixed values, 128 bits in hex.
fn digest(values: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for value in values {
        let value = value.as_ref();
        ctx.update(&(value.len() as u64).to_le_bytes());
        ctx.update(value.as_bytes());
    }
    crate::hex(&ctx.finish().as_ref()[..16])
}

/// One key part's value, as the consumer-facing admin API also computes it.
pub(crate) fn part_value<'a>(
    part: &KeyPart,
    op: &'a Operation,
    headers: &'a HeaderMap,
    ex: &'a Exchange,
) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    let p = ex.principal.as_deref();
    match part {
        KeyPart::Ip => Cow::Owned(ip_key(ex.client_ip)),
        KeyPart::Principal => Cow::Owned(p.map_or_else(String::new, |p| p.subject.to_string())),
        KeyPart::ApiKey => Cow::Owned(
            p.filter(|p| p.method == crate::authn::AuthMethod::ApiKey)
                .and_then(|p| p.credential_id.as_deref().map(str::to_owned))
                .unwrap_or_default(),
        ),
        KeyPart::Tenant => Cow::Owned(
            p.and_then(|p| p.tenant.as_deref().map(str::to_owned))
                .unwrap_or_default(),
        ),
        KeyPart::Operation => Cow::Borrowed(&op.id),
        KeyPart::Header(name) => Cow::Borrowed(
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        ),
        KeyPart::Claim(name) => Cow::Owned(
            p.and_then(|p| p.claims.get(name))
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default(),
        ),
    }
}

/// An address as limits count it: IPv4 whole, IPv6 by its /64 (one customer
/// network: counting single IPv6 addresses would let one host use 2^64 keys).
pub fn ip_key(ip: IpAddr) -> String {
    let mut out = String::with_capacity(24);
    write_ip(&mut out, ip);
    out
}

fn write_ip(out: &mut String, ip: IpAddr) {
    // An IPv4-mapped IPv6 address is the IPv4 client it carries.
    let _ = match ip.to_canonical() {
        IpAddr::V4(v4) => write!(out, "{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            write!(out, "{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    };
}

/// The store key a quota uses for a consumer in the current period, for the
/// admin API: `value` is its one key part's value, encoded as `key_of` does.
pub fn quota_key(api: &str, limit: &Limit, value: &str, window_id: &str) -> String {
    let encoded = if written_plain(&limit.key) {
        value.to_owned()
    } else {
        digest([value])
    };
    format!("{api}:{}:{encoded}:{window_id}", limit.name)
}
