use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};

use super::*;

const SEC: u64 = 1_000_000;

fn guard(limit: u64, window_us: u64) -> FloodGuard {
    FloodGuard::new(FloodConfig {
        limit,
        window_us,
        ipv6_prefix: 64,
    })
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().expect("an IPv6 address"))
}

/// Admissions among `n` requests from `ip` at `now`.
fn admitted(g: &FloodGuard, ip: IpAddr, now: u64, n: u64) -> u64 {
    (0..n).filter(|_| g.admit(ip, now).is_ok()).count() as u64
}

#[test]
fn one_address_is_cut_off_at_exactly_the_limit_and_admitted_after_the_window() {
    let g = guard(100, SEC);
    let ip = v4(192, 0, 2, 7);
    let start = 5 * SEC;
    for i in 0..100 {
        assert_eq!(g.admit(ip, start + i), Ok(()), "request {i}");
    }
    // 0.25 s into the window: 0.75 s left, rounded up.
    assert_eq!(g.admit(ip, start + SEC / 4), Err(1));
    assert_eq!(admitted(&g, ip, start + SEC / 2, 50), 0);
    // Just after the window, the previous one still weighs almost fully:
    // one request fits (100 × (1 − 1µs/1s) < 100), the next does not.
    assert_eq!(admitted(&g, ip, start + SEC + 1, 10), 1);
    // A whole window later the count has slid out entirely.
    assert_eq!(admitted(&g, ip, start + 3 * SEC, 150), 100);
    // Other addresses were never affected.
    assert_eq!(admitted(&g, v4(192, 0, 2, 8), start + 3 * SEC, 100), 100);
}

#[test]
fn refused_requests_are_not_counted_and_the_window_slides() {
    let window = 10 * SEC;
    let g = guard(10, window);
    let ip = v4(198, 51, 100, 1);
    let w0 = 100 * window;
    assert_eq!(admitted(&g, ip, w0 + SEC / 2, 10), 10);
    assert_eq!(
        g.admit(ip, w0 + SEC / 2),
        Err(10),
        "9.5 s to the window's end"
    );
    // Refused all through the rest of the window, and at the next one's start.
    for t in (SEC / 2..window).step_by(10_000) {
        assert!(g.admit(ip, w0 + t).is_err());
    }
    let w1 = w0 + window;
    assert!(
        g.admit(ip, w1).is_err(),
        "the previous window still weighs fully"
    );
    // In the next window, at t seconds, the estimate is cur + 10 × (1 − t/10)
    // = cur + 10 − t: one request is admitted each second, at 0.1, 1.1, 2.1 …
    // (had the refusals counted, the previous window would weigh thousands).
    let mut times = Vec::new();
    for step in 1..100u64 {
        let t = step * SEC / 10;
        if g.admit(ip, w1 + t).is_ok() {
            times.push(step);
        }
    }
    assert_eq!(times, vec![1, 11, 21, 31, 41, 51, 61, 71, 81, 91]);
    // Refused at 9.95 s with cur = 10: the window ends in 0.05 s.
    assert_eq!(g.admit(ip, w1 + 9_950_000), Err(1));
    // With cur = 1 at 0.2 s the estimate falls below 10 at 1 s (not 10 s).
    let g = guard(10, window);
    assert_eq!(admitted(&g, ip, w0, 10), 10);
    assert_eq!(g.admit(ip, w1 + SEC / 10), Ok(()));
    assert_eq!(g.admit(ip, w1 + SEC / 5), Err(1));
    assert_eq!(g.admit(ip, w1 + SEC), Err(1));
    assert_eq!(g.admit(ip, w1 + SEC + 1), Ok(()));
}

#[test]
fn a_hundred_thousand_addresses_do_not_get_a_legitimate_one_refused() {
    let g = guard(1000, 60 * SEC);
    let now = 1_000 * 60 * SEC + 7;
    let legit = v4(203, 0, 113, 50);
    let mut legit_sent = 0;
    for i in 0..100_000u32 {
        let [_, b, c, d] = i.to_be_bytes();
        assert_eq!(g.admit(v4(10, b, c, d), now), Ok(()));
        if i % 200 == 0 {
            assert_eq!(g.admit(legit, now), Ok(()), "after {i} addresses");
            legit_sent += 1;
        }
    }
    assert_eq!(legit_sent, 500, "limit / 2");
    let over = g.sketches[0].estimate(1_000, &g.cells(legit)) - 500;
    assert!(over < 50, "over-count {over} despite conservative update");
}

#[test]
fn memory_stays_fixed_whatever_the_number_of_addresses() {
    let g = guard(1000, SEC);
    let before = g.memory_bytes();
    assert!(before >= 2 * DEPTH * WIDTH * 4, "{before}");
    assert!(before < 2 * DEPTH * WIDTH * 4 + 1024, "{before}");
    for i in 0..50_000u32 {
        let [_, b, c, d] = i.to_be_bytes();
        let _ = g.admit(v4(10, b, c, d), u64::from(i) * 100);
        let _ = g.admit(
            v6(&format!("2001:db8:{b:x}:{c:x}{d:02x}::1")),
            u64::from(i) * 100,
        );
    }
    assert_eq!(g.memory_bytes(), before);
    let small = FloodGuard::with_width(g.config(), 1000);
    assert_eq!(
        small.memory_bytes(),
        before - 2 * DEPTH * (WIDTH - 1024) * 4
    );
}

#[test]
fn ipv6_addresses_are_counted_by_prefix_and_mapped_ipv4_as_ipv4() {
    let g = guard(3, SEC);
    let now = 10 * SEC;
    assert!(g.admit(v6("2001:db8:1:2::1"), now).is_ok());
    assert!(g.admit(v6("2001:db8:1:2:ffff:ffff:ffff:ffff"), now).is_ok());
    assert!(g.admit(v6("2001:db8:1:2:abcd::9"), now).is_ok());
    assert!(
        g.admit(v6("2001:db8:1:2::77"), now).is_err(),
        "one /64, one count"
    );
    assert_eq!(
        admitted(&g, v6("2001:db8:1:3::1"), now, 5),
        3,
        "another /64"
    );
    assert_eq!(admitted(&g, v6("2001:db9:1:2::1"), now, 5), 3);

    assert_eq!(admitted(&g, v4(192, 0, 2, 1), now, 2), 2);
    assert!(g.admit(v6("::ffff:192.0.2.1"), now).is_ok());
    assert!(
        g.admit(v4(192, 0, 2, 1), now).is_err(),
        "mapped = the IPv4 address"
    );

    let g48 = FloodGuard::new(FloodConfig {
        ipv6_prefix: 48,
        ..g.config()
    });
    assert_eq!(admitted(&g48, v6("2001:db8:1:2::1"), now, 2), 2);
    assert!(g48.admit(v6("2001:db8:1:ffff::1"), now).is_ok());
    assert!(g48.admit(v6("2001:db8:1:7::1"), now).is_err(), "one /48");
    assert!(g48.admit(v6("2001:db8:2::1"), now).is_ok());
}

#[test]
fn four_threads_on_one_address_admit_exactly_the_limit() {
    let limit = 1000;
    let g = Arc::new(guard(limit, SEC));
    let ip = v4(192, 0, 2, 99);
    // Windows two apart, so each starts with an empty previous window; each
    // thread offers 4 × limit requests, so the threads overlap (a
    // check-then-raise update without the claim admits ~2 × limit here).
    for window in (10u64..50).step_by(2) {
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (g, barrier) = (Arc::clone(&g), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    let now = window * SEC + t;
                    admitted(&g, ip, now, 4 * limit)
                })
            })
            .collect();
        let total: u64 = handles
            .into_iter()
            .map(|h| h.join().expect("a thread"))
            .sum();
        assert_eq!(total, limit, "window {window}");
    }
}

#[test]
fn threads_racing_across_window_rotations_never_exceed_the_limit() {
    let limit = 200;
    let window = 20_000;
    let g = Arc::new(guard(limit, window));
    let ip = v4(192, 0, 2, 100);
    let windows = 12usize;
    let per_window: Arc<Vec<AtomicU64>> =
        Arc::new((0..windows).map(|_| AtomicU64::new(0)).collect());
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let (g, barrier, per_window) = (
                Arc::clone(&g),
                Arc::clone(&barrier),
                Arc::clone(&per_window),
            );
            std::thread::spawn(move || {
                barrier.wait();
                // Each thread walks the same clock, out of step with the others.
                for step in 0..(windows as u64 * 400) {
                    let now = step * window / 400 + t;
                    if g.admit(ip, now).is_ok() {
                        per_window[(now / window) as usize].fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a thread");
    }
    let counts: Vec<u64> = per_window
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    assert_eq!(counts[0], limit, "{counts:?}");
    assert!(counts.iter().all(|&c| c <= limit), "{counts:?}");
    assert!(
        counts.iter().sum::<u64>() > limit * 3,
        "the window slides: {counts:?}"
    );
}

#[test]
fn an_address_hashes_to_one_counter_per_row() {
    let g = guard(1, SEC);
    let cells = g.cells(v4(192, 0, 2, 1));
    for (row, &c) in cells.iter().enumerate() {
        assert!((row * WIDTH..(row + 1) * WIDTH).contains(&c), "{cells:?}");
    }
    assert_eq!(cells, g.cells(v6("::ffff:192.0.2.1")));
    assert_ne!(cells, g.cells(v4(192, 0, 2, 2)));
    let other = guard(1, SEC);
    assert_ne!(
        cells,
        other.cells(v4(192, 0, 2, 1)),
        "keys differ per guard"
    );
}
