//! The Redis store against a real `redis-server` on a free 127.0.0.1 port.

mod outage;

use std::sync::Arc;
use std::time::Duration;

use super::testing::TestRedis;
use super::*;
use crate::limit::{Item, ItemState, Micros, Quota, Rate, Rule, gcra, gcra_delay};

const TIMEOUT: Duration = Duration::from_millis(300);

/// A store on `redis`, waited for until it is up.
async fn store(redis: &TestRedis, metrics: &Arc<Metrics>) -> Arc<RedisStore> {
    let s = RedisStore::start(redis.config(&redis.url(), TIMEOUT), metrics.clone());
    wait_up(&s).await;
    s
}

async fn wait_up(s: &RedisStore) {
    for _ in 0..200 {
        if s.is_up() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the store did not come up: {}", s.status());
}

/// A store event's count from the metrics exposition.
fn events(m: &Metrics, event: &str) -> u64 {
    let label = format!("event=\"{event}\"");
    m.encode()
        .lines()
        .find(|l| l.starts_with("portcullis_store_events") && l.contains(&label))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn rate_item(key: &str, interval_us: u64, burst: u64, max_delay_us: u64) -> Item {
    Item {
        key: key.into(),
        rule: Rule::Rate(Rate {
            interval_us,
            burst,
            max_delay_us,
        }),
    }
}

fn quota_item(key: &str, limit: u64, ttl_us: u64) -> Item {
    Item {
        key: key.into(),
        rule: Rule::Quota(Quota { limit, ttl_us }),
    }
}

/// The TAT Redis holds for `key` (prefix included by the caller).
fn stored_tat(redis: &TestRedis, key: &str) -> Option<Micros> {
    let v = redis.cmd(&["GET", key]).ok()?;
    assert!(
        v.bytes().all(|b| b.is_ascii_digit()),
        "integer, exactly: {v}"
    );
    v.parse().ok()
}

/// Runs `checks` single-item checks of `rate` on one key and asserts that each
/// decision is exactly the reference `gcra()` at the instant Redis decided
/// (recovered from the stored TAT and the reply's `reset_us`).
async fn assert_like_reference(rate: Rate, checks: usize) -> Vec<(ItemState, u64)> {
    let redis = TestRedis::start();
    let s = store(&redis, &Arc::new(Metrics::new())).await;
    let item = rate_item("rl:ref", rate.interval_us, rate.burst, rate.max_delay_us);
    let mut tat = None;
    let mut seen = Vec::new();
    for i in 0..checks {
        let d = s.check(std::slice::from_ref(&item)).await.unwrap();
        let got = d.items[0];
        let stored = stored_tat(&redis, "test:rl:ref").expect("a TAT once admitted");
        let now = stored - got.reset_us;
        let (want, new_tat) = gcra(now, tat, &rate);
        assert_eq!(got, want, "check {i}");
        assert_eq!(d.admitted, want.admitted, "check {i}");
        let want_delay = new_tat.map_or(0, |t| gcra_delay(now, t, &rate));
        assert_eq!(d.delay_us, want_delay, "check {i}");
        if let Some(t) = new_tat {
            assert_eq!(stored, t, "check {i}: the stored TAT");
            tat = Some(t);
        }
        seen.push((got, d.delay_us));
    }
    seen
}

#[tokio::test]
async fn gcra_burst_then_rate_decides_like_the_reference() {
    // 10 s between requests: the checks all happen within one interval.
    let seen = assert_like_reference(
        Rate {
            interval_us: 10_000_000,
            burst: 3,
            max_delay_us: 0,
        },
        5,
    )
    .await;
    let admitted: Vec<_> = seen.iter().map(|(s, _)| s.admitted).collect();
    assert_eq!(admitted, [true, true, true, false, false]);
    assert_eq!(
        seen.iter().map(|(s, _)| s.remaining).collect::<Vec<_>>(),
        [2, 1, 0, 0, 0]
    );
    assert!(seen[3].0.retry_us > 9_000_000 && seen[3].0.retry_us <= 10_000_000);
}

#[tokio::test]
async fn gcra_holds_within_the_delay_like_the_reference() {
    let seen = assert_like_reference(
        Rate {
            interval_us: 10_000_000,
            burst: 1,
            max_delay_us: 25_000_000,
        },
        4,
    )
    .await;
    let delays: Vec<_> = seen.iter().map(|(_, d)| *d).collect();
    assert_eq!(delays[0], 0);
    assert!(
        delays[1] > 9_000_000 && delays[1] <= 10_000_000,
        "{delays:?}"
    );
    assert!(
        delays[2] > 19_000_000 && delays[2] <= 20_000_000,
        "{delays:?}"
    );
    assert!(!seen[3].0.admitted, "30 s to conform, 25 s may be held");
    assert!(seen[3].0.retry_us > 4_000_000 && seen[3].0.retry_us <= 5_000_000);
}

#[tokio::test]
async fn a_check_is_all_or_nothing() {
    let redis = TestRedis::start();
    let s = store(&redis, &Arc::new(Metrics::new())).await;
    let hour = 3_600_000_000;
    let items = [rate_item("rl:a", hour, 1, 0), quota_item("q:b", 5, hour)];
    let d = s.check(&items).await.unwrap();
    assert!(d.admitted && d.items.iter().all(|i| i.admitted));
    assert_eq!(d.items[1].remaining, 4);
    let tat = stored_tat(&redis, "test:rl:a");

    // The rate refuses: the quota is not charged.
    let d = s.check(&items).await.unwrap();
    assert!(!d.admitted);
    assert!(!d.items[0].admitted && d.items[1].admitted, "{d:?}");
    assert_eq!(d.items[1].remaining, 3, "what it would have left");
    assert_eq!(s.get(&["q:b"]).await.unwrap()[0].value, 1, "not charged");
    assert_eq!(stored_tat(&redis, "test:rl:a"), tat);

    // The quota refuses: the rate is not charged.
    let spent = quota_item("q:spent", 1, hour);
    assert!(
        s.check(std::slice::from_ref(&spent))
            .await
            .unwrap()
            .admitted
    );
    let items = [rate_item("rl:c", hour, 5, 0), spent];
    let d = s.check(&items).await.unwrap();
    assert!(!d.admitted && d.items[0].admitted && !d.items[1].admitted);
    assert_eq!(
        redis.cmd(&["EXISTS", "test:rl:c"]).unwrap(),
        "0",
        "nothing written"
    );
    assert_eq!(d.delay_us, 0);
}

#[tokio::test]
async fn a_quota_counts_to_its_limit_and_lives_its_period() {
    let redis = TestRedis::start();
    let s = store(&redis, &Arc::new(Metrics::new())).await;
    let q = [quota_item("q:day", 3, 20_000_000)];
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let d = s.check(&q).await.unwrap();
        remaining.push((d.admitted, d.items[0].remaining));
        assert_eq!((d.items[0].reset_us, d.items[0].retry_us), (0, 0));
    }
    assert_eq!(
        remaining,
        [(true, 2), (true, 1), (true, 0), (false, 0), (false, 0)]
    );
    let c = s.get(&["q:day"]).await.unwrap()[0];
    assert_eq!(c.value, 3, "refusals are not counted");
    assert!(c.ttl_us > 15_000_000 && c.ttl_us <= 20_000_000, "{c:?}");
    // A later check with a longer period does not extend the counter's life.
    let d = s
        .check(&[quota_item("q:day", 10, 100_000_000)])
        .await
        .unwrap();
    assert!(d.admitted);
    assert!(s.get(&["q:day"]).await.unwrap()[0].ttl_us <= 20_000_000);
}

#[tokio::test]
async fn counters_incr_set_get_and_remove_under_the_prefix() {
    let redis = TestRedis::start();
    let s = store(&redis, &Arc::new(Metrics::new())).await;
    assert_eq!(s.get(&["c:x"]).await.unwrap(), [Counter::default()]);
    let c = s.incr("c:x", 10_000_000).await.unwrap();
    assert_eq!(c.value, 1);
    assert!(c.ttl_us > 9_000_000 && c.ttl_us <= 10_000_000, "{c:?}");
    let c = s.incr("c:x", 100_000_000).await.unwrap();
    assert_eq!(c.value, 2);
    assert!(
        c.ttl_us <= 10_000_000,
        "the lifetime is set at creation only"
    );
    s.set("c:y", 7, 5_000_000).await.unwrap();
    let got = s.get(&["c:x", "c:y", "c:none"]).await.unwrap();
    assert_eq!(got[0].value, 2);
    assert_eq!(got[1].value, 7);
    assert!(got[1].ttl_us > 4_000_000 && got[1].ttl_us <= 5_000_000);
    assert_eq!(got[2], Counter::default());
    assert_eq!(redis.cmd(&["GET", "test:c:y"]).unwrap(), "7", "prefixed");
    assert_eq!(redis.cmd(&["EXISTS", "c:y"]).unwrap(), "0");
    s.remove(&["c:x", "c:y"]).await.unwrap();
    assert_eq!(
        s.get(&["c:x", "c:y"]).await.unwrap(),
        [Counter::default(); 2]
    );
    s.incr("c:x", 10_000_000).await.unwrap();
    redis.flushall();
    assert_eq!(s.get(&["c:x"]).await.unwrap(), [Counter::default()]);
    // A counter living under a millisecond still gets one.
    s.set("c:z", 1, 1).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_admit_exactly_the_burst() {
    let redis = TestRedis::start();
    let metrics = Arc::new(Metrics::new());
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(store(&redis, &metrics).await);
    }
    let item = rate_item("rl:shared", 3_600_000_000, 50, 0);
    let mut tasks = Vec::new();
    for s in &stores {
        for _ in 0..20 {
            let (s, item) = (s.clone(), item.clone());
            tasks.push(tokio::spawn(async move {
                let mut admitted = 0;
                for _ in 0..5 {
                    let d = s.check(std::slice::from_ref(&item)).await.unwrap();
                    admitted += u32::from(d.admitted);
                }
                admitted
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 50, "300 checks, exactly the burst admitted");
    assert_eq!(events(&metrics, "call_ok"), 300);
}

#[tokio::test]
async fn each_check_is_one_evalsha() {
    let redis = TestRedis::start();
    let s = store(&redis, &Arc::new(Metrics::new())).await;
    let items = [
        rate_item("rl:e", 1_000_000, 100, 0),
        quota_item("q:e", 100, 60_000_000),
    ];
    let (evalsha, eval, load) = (
        redis.info_calls("evalsha"),
        redis.info_calls("eval"),
        redis.info_calls("script|load"),
    );
    assert_eq!(load, 3, "the scripts were loaded as the store came up");
    for _ in 0..10 {
        s.check(&items).await.unwrap();
    }
    assert_eq!(
        redis.info_calls("evalsha") - evalsha,
        10,
        "no NOSCRIPT first"
    );
    assert_eq!(redis.info_calls("eval"), eval);
    assert_eq!(redis.info_calls("script|load"), load);
    // A server that lost its scripts gets the script again, transparently.
    redis.cmd(&["SCRIPT", "FLUSH"]).unwrap();
    assert!(s.check(&items).await.unwrap().admitted);
    assert_eq!(redis.info_calls("script|load"), load + 1);
}
