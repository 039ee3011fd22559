//! Criterion benchmarks of traffic control's in-process data structures: the
//! pre-authentication flood guard, a concurrency gate, and the local store's
//! all-or-nothing check.
//!
//! Run with `cargo bench -p portcullis-gateway --bench limit`.
//!
//! - `flood/one_ip`: one address over and over (it stays under its limit).
//! - `flood/rotating_ips`: a different pseudo-random address each request, the
//!   pattern of a flood from many sources (every request touches cold counters).
//! - `gate/enter_drop`: taking and releasing an uncontended slot.
//! - `local/rate` and `local/rate_quota`: one GCRA item, and a rate with a quota
//!   checked together, the clock advancing by one emission interval per check
//!   so every check is admitted and charged.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_gateway::limit::concurrency::{Gate, GateConfig};
use portcullis_gateway::limit::flood::{FloodConfig, FloodGuard};
use portcullis_gateway::limit::local::LocalStore;
use portcullis_gateway::limit::{Item, Quota, Rate, Rule};

const SEC: u64 = 1_000_000;

/// Pseudo-random addresses (xorshift64), three of four IPv4.
fn addresses(n: usize) -> Vec<IpAddr> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 4 == 3 {
                IpAddr::V6(Ipv6Addr::from(
                    u128::from(x) << 64 | u128::from(x.rotate_left(17)),
                ))
            } else {
                IpAddr::V4(Ipv4Addr::from(x as u32))
            }
        })
        .collect()
}

fn flood(c: &mut Criterion) {
    let cfg = FloodConfig {
        limit: u64::MAX,
        window_us: 3_600 * SEC,
        ipv6_prefix: 64,
    };
    let now = 500_000 * 3_600 * SEC;
    let mut group = c.benchmark_group("flood");
    let guard = FloodGuard::new(cfg);
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    group.bench_function("one_ip", |b| {
        b.iter(|| guard.admit(black_box(ip), black_box(now)))
    });
    let guard = FloodGuard::new(cfg);
    let ips = addresses(1 << 16);
    let mut i = 0usize;
    group.bench_function("rotating_ips", |b| {
        b.iter(|| {
            i = (i + 1) & (ips.len() - 1);
            guard.admit(black_box(ips[i]), black_box(now))
        })
    });
    group.finish();
}

fn gate(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("a tokio runtime: {e}"),
    };
    let gate = Gate::new(GateConfig {
        max: 64,
        queue: 64,
        max_wait: Duration::from_secs(1),
    });
    c.bench_function("gate/enter_drop", |b| {
        b.to_async(&rt).iter(|| async {
            let permit = gate.enter().await;
            drop(black_box(permit));
        })
    });
}

fn local(c: &mut Criterion) {
    let rate = Rule::Rate(Rate {
        interval_us: 1_000,
        burst: 10,
        max_delay_us: 0,
    });
    let quota = Rule::Quota(Quota {
        limit: u64::MAX,
        ttl_us: 30 * 24 * 3_600 * SEC,
    });
    let item = |key: &str, rule| Item {
        key: key.to_owned(),
        rule,
    };
    let one = [item("rl:bench:per-user:0123456789abcdef", rate)];
    let pair = [
        item("rl:bench:per-user:0123456789abcdef", rate),
        item("q:bench:monthly:0123456789abcdef", quota),
    ];
    let mut group = c.benchmark_group("local");
    for (name, items) in [("rate", &one[..]), ("rate_quota", &pair[..])] {
        let store = LocalStore::new(100_000);
        let mut now = 1_700_000_000 * SEC;
        group.bench_function(name, |b| {
            b.iter(|| {
                now += 1_000;
                store.check(black_box(now), black_box(items))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, flood, gate, local);
criterion_main!(benches);
