//! Redis killed mid-run and restarted: each limit behaves as its
//! `on_store_error` says (open, closed, local share), the gateway keeps
//! serving, the transitions are logged, counted and shown on `/readyz`, and
//! limits go back to Redis when it returns.

use std::time::{Duration, Instant};

use super::statuses;
use crate::redis_server::RedisServer;
use crate::support::{Gateway, assert_problem, upstream};

const LIMITS: &str = r#"    rate_limits:
      - { name: open, rate: 1/h, burst: 2, key: operation, operations: [listItems], on_store_error: fail_open }
      - { name: closed, rate: 1/h, burst: 2, key: operation, operations: [getItem], on_store_error: fail_closed }
      - { name: shared, rate: 1/h, burst: 6, key: operation, operations: [status], on_store_error: local }
"#;

async fn store_state(gw: &Gateway) -> String {
    let ready = gw.admin_json("/readyz").await;
    ready["store"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_limit_does_what_it_is_configured_to_while_redis_is_down() {
    let mut redis = RedisServer::start();
    let up = upstream().await;
    // Three instances configured, one running: the local share is a third.
    let gws = instances3(&up, &redis).await;
    let gw = &gws[0];

    assert_eq!(statuses(gw, "/items", 3).await, [200, 200, 429]);
    assert_eq!(statuses(gw, "/items/1", 3).await, [200, 200, 429]);
    assert_eq!(store_state(gw).await, "up");

    redis.kill();
    // The first call finds out (within its timeout); the rest skip Redis.
    let started = Instant::now();
    let open = statuses(gw, "/items", 5).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no request waits long"
    );
    assert_eq!(open, [200; 5], "fail_open admits");
    let closed = gw.get("/items/1").await;
    assert_problem(closed, 503, "limit-unavailable").await;
    assert_eq!(
        statuses(gw, "/status/200", 3).await,
        [200, 200, 429],
        "local: this instance's third of a burst of 6"
    );
    assert_eq!(store_state(gw).await, "down");
    let ready = gw.admin_json("/readyz").await;
    assert_eq!(
        ready["ready"], true,
        "a store outage is each limit's to handle"
    );
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains("portcullis_store_events_total{store=\"redis\",event=\"down\"} 1"),
        "one transition: {metrics}"
    );
    assert!(metrics.contains("portcullis_store_up 0"));
    assert!(
        metrics.contains("event=\"skipped_down\""),
        "calls skipped while down"
    );
    assert!(metrics.contains("outcome=\"store_error_closed\""));

    redis.restart();
    let mut up_again = false;
    for _ in 0..50 {
        if store_state(gw).await == "up" {
            up_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up_again, "the prober brings the store back");
    // Redis restarted empty: the limits count from scratch, in Redis again.
    assert_eq!(statuses(gw, "/items", 3).await, [200, 200, 429]);
    assert_eq!(statuses(gw, "/items/1", 3).await, [200, 200, 429]);
    let metrics = gw.admin_text("/metrics").await;
    assert!(metrics.contains("portcullis_store_events_total{store=\"redis\",event=\"up\"} 1"));
    assert!(metrics.contains("portcullis_store_up 1"));
}

/// One running instance of a deployment configured for three.
async fn instances3(up: &crate::support::Upstream, redis: &RedisServer) -> Vec<Gateway> {
    let text = format!(
        "{}store:\n  redis: {{ url: \"{}\", timeout: 200ms, instances: 3 }}\n",
        crate::support::config(&up.url(), LIMITS),
        redis.url()
    );
    vec![crate::support::gateway_with(&text, &[]).await]
}
