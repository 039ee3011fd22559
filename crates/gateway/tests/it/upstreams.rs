//! Upstream groups: round-robin, passive health, timeouts and when retries are safe.

use std::time::Duration;

use crate::support::*;

fn two_targets(a: &str, b: &str, extra: &str) -> String {
    config(a, "").replace(&format!("targets: [{a}]"), &format!("targets: [{a}, {b}]\n    max_failures: 2\n    failure_cooldown: 30s\n    retries: 1{extra}"))
}

#[tokio::test]
async fn requests_are_spread_round_robin() {
    let (a, b) = (upstream().await, upstream().await);
    let gw = gateway_with(&two_targets(&a.url(), &b.url(), ""), &[]).await;
    for _ in 0..10 {
        assert_eq!(gw.get_status("/items").await, 200);
    }
    assert_eq!((a.requests().len(), b.requests().len()), (5, 5));
}

#[tokio::test]
async fn a_failing_target_is_skipped_and_idempotent_requests_are_retried() {
    let a = upstream().await;
    // A port with nothing listening: connections are refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let gw = gateway_with(&two_targets(&a.url(), &dead_url, ""), &[]).await;
    for _ in 0..10 {
        // Every GET succeeds: a refused connection is retried on the other target.
        assert_eq!(gw.get_status("/items").await, 200);
    }
    assert_eq!(a.requests().len(), 10);
    let ready: serde_json::Value = gw.admin_json("/readyz").await;
    assert_eq!(
        ready["upstreams"]["main"]["down_targets"][0],
        dead_url.trim_start_matches("http://"),
        "{ready}"
    );
}

#[tokio::test]
async fn requests_with_bodies_are_not_retried_and_get_502() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let gw = gateway_with(&config(&dead_url, ""), &[]).await;
    let resp = client()
        .post(format!("{}/items", gw.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 502, "upstream-unavailable").await;
}

#[tokio::test]
async fn slow_upstreams_time_out_with_504_and_non_idempotent_calls_are_not_repeated() {
    let up = upstream().await;
    let text = config(&up.url(), "").replace("timeout: 2s", "timeout: 300ms\n    retries: 2");
    let gw = gateway_with(&text, &[]).await;
    let started = std::time::Instant::now();
    let resp = gw.get("/slow/2000").await;
    assert_problem(resp, 504, "upstream-timeout").await;
    // GET is idempotent: tried 1 + 2 times, each cut at 300 ms.
    assert_eq!(up.requests().len(), 3);
    assert!(started.elapsed() < Duration::from_millis(1900));
    // A POST that timed out may have had its effect: it is never sent again.
    let before = up.requests().len();
    let resp = client()
        .post(format!("{}/slow/2000", gw.url))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 504, "upstream-timeout").await;
    assert_eq!(up.requests().len(), before + 1);
}

#[tokio::test]
async fn a_client_dribbling_its_body_does_not_take_the_target_out() {
    let up = upstream().await;
    let text = config(&up.url(), "").replace("timeout: 2s", "timeout: 300ms\n    max_failures: 1");
    let gw = gateway_with(&text, &[]).await;
    // Declares 10 bytes, sends 2, then stalls past the upstream timeout.
    let resp = raw(
        gw.addr,
        b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab",
    )
    .await;
    assert_eq!(status_of(&resp), 504, "{resp}");
    let ready: serde_json::Value = gw.admin_json("/readyz").await;
    assert_eq!(
        ready["upstreams"]["main"]["down_targets"],
        serde_json::json!([]),
        "{ready}"
    );
    assert_eq!(gw.get_status("/items").await, 200);
}

#[tokio::test]
async fn upstreams_can_be_spoken_to_in_http2_and_keep_the_client_host_when_asked() {
    let up = upstream().await;
    let text = config(&up.url(), "").replace(
        "timeout: 2s",
        "timeout: 2s\n    http2: true\n    preserve_host: true",
    );
    let gw = gateway_with(&text, &[]).await;
    let resp = client()
        .get(format!("{}/items", gw.url))
        .header("host", "api.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = up.last();
    assert_eq!(
        seen.version,
        http::Version::HTTP_2,
        "prior-knowledge h2c to the upstream"
    );
    assert_eq!(seen.headers["host"], "api.example");
}
