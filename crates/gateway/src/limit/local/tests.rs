use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;

use super::*;
use crate::limit::{Quota, Rate, micros};

const SEC: u64 = 1_000_000;
const HOUR: u64 = 3_600 * SEC;
const T0: Micros = 1_800_000_000 * SEC;

fn rate(key: &str, interval_us: u64, burst: u64) -> Item {
    Item {
        key: key.to_owned(),
        rule: Rule::Rate(Rate {
            interval_us,
            burst,
            max_delay_us: 0,
        }),
    }
}

fn quota(key: &str, limit: u64, ttl_us: u64) -> Item {
    Item {
        key: key.to_owned(),
        rule: Rule::Quota(Quota { limit, ttl_us }),
    }
}

#[test]
fn a_burst_is_admitted_then_the_rate() {
    let store = LocalStore::new(100);
    let item = [rate("k", SEC / 10, 3)];
    for expect in [2, 1, 0] {
        let d = store.check(T0, &item);
        assert!(d.admitted);
        assert_eq!(d.items[0].remaining, expect);
        assert_eq!(d.delay_us, 0);
    }
    let d = store.check(T0, &item);
    assert!(!d.admitted && !d.items[0].admitted);
    assert_eq!(d.items[0].retry_us, SEC / 10);
    assert!(!store.check(T0 + SEC / 10 - 1, &item).admitted);
    assert!(store.check(T0 + SEC / 10, &item).admitted);
    assert!(!store.check(T0 + SEC / 10, &item).admitted);
}

#[test]
fn a_held_request_reports_its_delay() {
    let store = LocalStore::new(100);
    let item = [Item {
        key: "k".into(),
        rule: Rule::Rate(Rate {
            interval_us: 100_000,
            burst: 1,
            max_delay_us: 250_000,
        }),
    }];
    let delays: Vec<_> = (0..3).map(|_| store.check(T0, &item).delay_us).collect();
    assert_eq!(delays, [0, 100_000, 200_000]);
    let d = store.check(T0, &item);
    assert!(!d.admitted);
    assert_eq!((d.delay_us, d.items[0].retry_us), (0, 50_000));
}

#[test]
fn a_check_refused_by_one_item_charges_none() {
    let store = LocalStore::new(100);
    let wide = rate("wide", HOUR, 5);
    let narrow = rate("narrow", HOUR, 1);
    assert!(store.check(T0, std::slice::from_ref(&narrow)).admitted);
    let both = [wide.clone(), narrow.clone()];
    for _ in 0..10 {
        let d = store.check(T0, &both);
        assert!(!d.admitted);
        assert_eq!(d.delay_us, 0);
        assert!(d.items[0].admitted, "wide alone would admit");
        assert_eq!(d.items[0].remaining, 5, "wide still has its whole burst");
        assert!(!d.items[1].admitted);
    }
    let d = store.check(T0, &[wide]);
    assert!(d.admitted);
    assert_eq!(
        d.items[0].remaining, 4,
        "the refused checks charged nothing"
    );
}

#[test]
fn a_refused_check_charges_no_quota() {
    let store = LocalStore::new(100);
    let q = quota("q", 10, HOUR);
    let full = rate("r", HOUR, 1);
    assert!(store.check(T0, std::slice::from_ref(&full)).admitted);
    let d = store.check(T0, &[q.clone(), full]);
    assert!(!d.admitted);
    assert_eq!(
        d.items[0],
        ItemState {
            admitted: true,
            remaining: 10,
            ..ItemState::default()
        }
    );
    assert_eq!(store.get(T0, &["q"])[0].value, 0);
    assert_eq!(store.check(T0, &[q]).items[0].remaining, 9);
}

#[test]
fn quotas_count_and_refuse_at_the_limit_without_charging_refusals() {
    let store = LocalStore::new(100);
    let q = [quota("q", 3, HOUR)];
    for expect in [2, 1, 0] {
        let d = store.check(T0, &q);
        assert!(d.admitted);
        assert_eq!(d.items[0].remaining, expect);
        assert_eq!((d.items[0].reset_us, d.items[0].retry_us), (0, 0));
    }
    for _ in 0..5 {
        let d = store.check(T0 + 1, &q);
        assert!(!d.admitted);
        assert_eq!(d.items[0], ItemState::default());
    }
    assert_eq!(
        store.get(T0 + 1, &["q"]),
        [Counter {
            value: 3,
            ttl_us: HOUR - 1
        }]
    );
    assert!(!store.check(T0, &[quota("zero", 0, HOUR)]).admitted);
}

#[test]
fn a_quota_counter_expires_after_its_ttl_set_when_created() {
    let store = LocalStore::new(100);
    assert!(store.check(T0, &[quota("q", 2, SEC)]).admitted);
    // A later check's ttl does not move the window's end.
    assert!(
        store
            .check(T0 + SEC / 2, &[quota("q", 2, 10 * SEC)])
            .admitted
    );
    assert!(!store.check(T0 + SEC - 1, &[quota("q", 2, SEC)]).admitted);
    let d = store.check(T0 + SEC, &[quota("q", 2, SEC)]);
    assert!(d.admitted);
    assert_eq!(d.items[0].remaining, 1, "a new window");
    assert_eq!(store.get(T0 + SEC, &["q"])[0].ttl_us, SEC);
}

#[test]
fn incr_counts_in_a_fixed_window() {
    let store = LocalStore::new(100);
    assert_eq!(
        store.incr(T0, "c", 10 * SEC),
        Counter {
            value: 1,
            ttl_us: 10 * SEC
        }
    );
    assert_eq!(
        store.incr(T0 + 4 * SEC, "c", 10 * SEC),
        Counter {
            value: 2,
            ttl_us: 6 * SEC
        }
    );
    assert_eq!(
        store.get(T0 + 9 * SEC, &["c", "other"]),
        [
            Counter {
                value: 2,
                ttl_us: SEC
            },
            Counter::default()
        ]
    );
    assert_eq!(store.get(T0 + 10 * SEC, &["c"]), [Counter::default()]);
    assert_eq!(
        store.incr(T0 + 10 * SEC, "c", 10 * SEC),
        Counter {
            value: 1,
            ttl_us: 10 * SEC
        }
    );
}

#[test]
fn set_and_remove_counters() {
    let store = LocalStore::new(100);
    store.set(T0, "a", 7, SEC);
    store.set(T0, "b", 1, SEC);
    assert_eq!(
        store.get(T0, &["a"])[0],
        Counter {
            value: 7,
            ttl_us: SEC
        }
    );
    assert_eq!(store.incr(T0, "a", HOUR).value, 8);
    store.remove(&["a", "missing"]);
    assert_eq!(
        store.get(T0, &["a", "b"]),
        [
            Counter::default(),
            Counter {
                value: 1,
                ttl_us: SEC
            }
        ]
    );
    assert_eq!(store.len(), 1);
}

#[test]
fn memory_is_bounded_for_any_max_keys() {
    for max_keys in [1, 3, 10, 64, 100, 1_000] {
        let store = LocalStore::new(max_keys);
        for i in 0..10 * max_keys {
            let key = format!("k{i}");
            match i % 3 {
                0 => drop(store.check(T0, &[rate(&key, HOUR, 5)])),
                1 => drop(store.check(T0, &[quota(&key, 5, HOUR), rate(&key, HOUR, 5)])),
                _ => drop(store.incr(T0, &key, HOUR)),
            }
            assert!(store.len() <= max_keys, "{} > {max_keys}", store.len());
        }
        assert!(store.evictions() > 0);
    }
}

#[test]
fn expired_entries_make_room_before_live_ones_are_evicted() {
    // Each round's keys expire when the next round begins. A round fills 40%
    // of the store (spread unevenly over its shards), so with expired entries
    // dropped first, a live key is evicted only when one round alone
    // overflows a shard; if live keys went first, thousands would be.
    let store = LocalStore::new(640);
    for round in 0..20 {
        let now = T0 + round * SEC;
        for i in 0..256 {
            let key = format!("r{round}-{i}");
            assert!(store.check(now, &[rate(&key, SEC, 1)]).admitted);
        }
    }
    assert!(store.len() <= 640);
    assert!(
        store.evictions() < 100,
        "{} of 5120 inserts evicted a live key",
        store.evictions()
    );
}

#[test]
fn a_hot_key_stays_limited_while_cold_keys_churn() {
    let max_keys = 1_024;
    let store = LocalStore::new(max_keys);
    let hot = [rate("hot", HOUR, 2)];
    assert!(store.check(T0, &hot).admitted);
    assert!(store.check(T0, &hot).admitted);
    for i in 0..10 * max_keys as u64 {
        let now = T0 + i;
        assert!(
            store
                .check(now, &[rate(&format!("cold{i}"), SEC, 10)])
                .admitted
        );
        if i % 97 == 0 {
            assert!(!store.check(now, &hot).admitted, "hot key forgotten at {i}");
        }
    }
    assert!(store.evictions() > 0, "the churn filled the store");
    assert!(!store.check(T0 + 20 * SEC, &hot).admitted);
}

fn admitted_concurrently(items: &[&[Item]]) -> (u64, LocalStore) {
    let store = LocalStore::new(1_000);
    let admitted = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..8 {
            let (store, admitted) = (&store, &admitted);
            let items = items[t % items.len()];
            s.spawn(move || {
                for _ in 0..10_000 {
                    let now = micros(std::time::SystemTime::now());
                    if store.check(now, items).admitted {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    (admitted.into_inner(), store)
}

#[test]
fn admissions_are_exact_under_concurrency() {
    let (n, _) = admitted_concurrently(&[&[rate("one", HOUR, 100)]]);
    assert_eq!(n, 100);
}

#[test]
fn two_item_admissions_are_exact_under_concurrency() {
    let a = rate("a", HOUR, 100);
    let b = rate("b", HOUR, 50);
    // Half the threads name the items in the other order: shards are locked
    // in shard order whatever the items' order, so this cannot deadlock.
    let (n, store) = admitted_concurrently(&[&[a.clone(), b.clone()], &[b, a.clone()]]);
    assert_eq!(n, 50);
    let d = store.check(micros(std::time::SystemTime::now()), &[a]);
    assert_eq!(d.items[0].remaining, 49, "a was charged exactly 50 times");
}

proptest! {
    #[test]
    fn check_matches_gcra_applied_sequentially(
        interval_us in 1u64..2_000_000,
        burst in 1u64..20,
        max_delay_us in prop_oneof![Just(0u64), 0u64..5_000_000],
        gaps in prop::collection::vec(0u64..3_000_000, 1..150),
    ) {
        let r = Rate { interval_us, burst, max_delay_us };
        let store = LocalStore::new(16);
        let item = [Item { key: "k".into(), rule: Rule::Rate(r) }];
        let mut tat = None;
        let mut now = T0;
        for gap in gaps {
            now += gap;
            let (state, new_tat) = gcra(now, tat, &r);
            let d = store.check(now, &item);
            prop_assert_eq!(d.admitted, state.admitted);
            prop_assert_eq!(d.items[0], state);
            prop_assert_eq!(d.delay_us, new_tat.map_or(0, |t| gcra_delay(now, t, &r)));
            tat = new_tat.or(tat);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Set(usize, u64),
    Incr(usize),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..40, 1u64..1_000).prop_map(|(k, v)| Op::Set(k, v)),
        (0usize..40).prop_map(Op::Incr),
        (0usize..40).prop_map(Op::Remove),
    ]
}

proptest! {
    #[test]
    fn keys_are_forgotten_whole_never_mixed_up(
        max_keys in 1usize..48,
        ops in prop::collection::vec(op(), 1..300),
    ) {
        let store = LocalStore::new(max_keys);
        let keys: Vec<String> = (0..40).map(|k| format!("key{k}")).collect();
        let mut model: std::collections::HashMap<usize, u64> = Default::default();
        for op in ops {
            match op {
                Op::Set(k, v) => {
                    store.set(T0, &keys[k], v, HOUR);
                    model.insert(k, v);
                }
                Op::Incr(k) => {
                    let expect = model.get(&k).map_or(1, |v| v + 1);
                    prop_assert_eq!(store.incr(T0, &keys[k], HOUR).value, expect);
                    model.insert(k, expect);
                }
                Op::Remove(k) => {
                    store.remove(&[&keys[k]]);
                    model.remove(&k);
                }
            }
            if let Op::Set(k, _) | Op::Incr(k) = op {
                prop_assert_eq!(store.get(T0, &[&keys[k]])[0].value, model[&k]);
            }
            prop_assert!(store.len() <= max_keys);
            // Every key holds what was last written to it, or nothing
            // (evicted): never another key's value.
            for (k, key) in keys.iter().enumerate() {
                match (store.get(T0, &[key])[0].value, model.get(&k)) {
                    (0, _) => drop(model.remove(&k)),
                    (got, Some(&v)) => prop_assert_eq!(got, v),
                    (got, None) => prop_assert!(false, "{key} holds {got}"),
                }
            }
            prop_assert_eq!(store.len(), model.len());
        }
    }
}
