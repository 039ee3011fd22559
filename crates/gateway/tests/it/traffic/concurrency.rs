//! Concurrency limits: per upstream group (503 when full) and per consumer
//! (429), each with an optional bounded queue.

use std::time::{Duration, Instant};

use super::gateway;
use crate::support::{client, config, gateway_with, upstream};

/// Sends `n` concurrent GETs; (status, elapsed) sorted by status.
async fn concurrent(url: String, n: usize) -> Vec<(u16, Duration)> {
    let started = Instant::now();
    let sends = (0..n).map(|_| {
        let url = url.clone();
        async move {
            let r = client().get(url).send().await.unwrap();
            let s = r.status().as_u16();
            r.bytes().await.unwrap();
            (s, started.elapsed())
        }
    });
    let mut out = futures_util::future::join_all(sends).await;
    out.sort();
    out
}

fn with_upstream_limit(url: &str, limit: &str) -> String {
    config(url, "").replace(
        "    timeout: 2s\n",
        &format!("    timeout: 2s\n    concurrency: {limit}\n"),
    )
}

#[tokio::test]
async fn an_upstream_limit_without_a_queue_refuses_at_once() {
    let up = upstream().await;
    let gw = gateway_with(&with_upstream_limit(&up.url(), "{ max: 2 }"), &[]).await;
    let results = concurrent(format!("{}/slow/400", gw.url), 3).await;
    let codes: Vec<u16> = results.iter().map(|r| r.0).collect();
    assert_eq!(codes, [200, 200, 503], "{results:?}");
    assert!(
        results[2].1 < Duration::from_millis(300),
        "refused without waiting"
    );
    assert_eq!(up.requests().len(), 2);
}

#[tokio::test]
async fn an_upstream_limit_with_a_queue_smooths_a_burst() {
    let up = upstream().await;
    let gw = gateway_with(
        &with_upstream_limit(&up.url(), "{ max: 2, queue: { size: 4, max_wait: 2s } }"),
        &[],
    )
    .await;
    let results = concurrent(format!("{}/slow/300", gw.url), 4).await;
    assert!(results.iter().all(|r| r.0 == 200), "{results:?}");
    let slowest = results.iter().map(|r| r.1).max().unwrap();
    assert!(
        slowest >= Duration::from_millis(580),
        "two waited a turn: {slowest:?}"
    );
    // The queue's wait is bounded: a slot that never frees in time is a 503.
    let gw = gateway_with(
        &with_upstream_limit(&up.url(), "{ max: 1, queue: { size: 4, max_wait: 100ms } }"),
        &[],
    )
    .await;
    let codes: Vec<u16> = concurrent(format!("{}/slow/500", gw.url), 2)
        .await
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(codes, [200, 503]);
}

#[tokio::test]
async fn a_consumer_limit_refuses_with_429_and_frees_its_slot() {
    let up = upstream().await;
    let gw = gateway(&up, "    concurrency: { per_consumer: 1, key: ip }\n", "").await;
    let codes: Vec<u16> = concurrent(format!("{}/slow/300", gw.url), 2)
        .await
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(codes, [200, 429]);
    // Both slots were released when their responses ended.
    assert_eq!(gw.get_status("/slow/10").await, 200);
    assert_eq!(gw.get_status("/slow/10").await, 200);
}

/// With a config whose concurrency limit is 1: a slot taken before a reload
/// is still counted after it (the next request gets `refused`), and freed
/// when its response ends.
async fn a_slot_survives_a_reload(text: &str, refused: u16) {
    let gw = gateway_with(text, &[]).await;
    let slow = tokio::spawn({
        let url = format!("{}/slow/600", gw.url);
        async move { client().get(url).send().await.unwrap().status().as_u16() }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    gw.write("portcullis.yaml", &format!("{text}\n# reloaded\n"));
    let (status, answer) = gw.reload().await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("loaded")));
    assert_eq!(gw.get_status("/items").await, refused);
    assert_eq!(slow.await.unwrap(), 200);
    assert_eq!(gw.get_status("/items").await, 200);
}

#[tokio::test]
async fn a_reload_keeps_the_upstream_slots_in_flight_counted() {
    let up = upstream().await;
    a_slot_survives_a_reload(&with_upstream_limit(&up.url(), "{ max: 1 }"), 503).await;
}

#[tokio::test]
async fn a_reload_keeps_the_consumer_slots_in_flight_counted() {
    let up = upstream().await;
    let text = config(&up.url(), "    concurrency: { per_consumer: 1, key: ip }\n");
    a_slot_survives_a_reload(&text, 429).await;
}
