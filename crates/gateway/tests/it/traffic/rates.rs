//! Rate limits in one gateway (the in-process store): bursts, `Retry-After`,
//! the `RateLimit` headers, refused requests left uncharged, separate limits
//! for anonymous and authenticated clients, keys, throttling, the flood guard.

use std::time::{Duration, Instant};

use super::{gateway, statuses};
use crate::support::{self, assert_problem, client, token, upstream};

#[tokio::test]
async fn a_burst_is_admitted_then_429_with_retry_after_and_ratelimit_headers() {
    let up = upstream().await;
    let gw = gateway(
        &up,
        "    rate_limits:\n      - { name: per-ip, rate: 3/min, key: ip }\n",
        "",
    )
    .await;
    for left in [2, 1, 0] {
        let resp = gw.get("/items").await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["ratelimit-policy"], "\"per-ip\";q=3;w=60");
        let current = resp.headers()["ratelimit"].to_str().unwrap().to_owned();
        assert!(
            current.starts_with(&format!("\"per-ip\";r={left};t=")),
            "{current}"
        );
    }
    let resp = gw.get("/items").await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((19..=20).contains(&retry), "one emission interval: {retry}");
    assert!(
        resp.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"per-ip\";r=0;"),
    );
    let doc = assert_problem(resp, 429, "rate-limited").await;
    assert!(
        !doc.to_string().contains("127.0.0.1"),
        "no key in the answer"
    );
    assert_eq!(
        up.requests().len(),
        3,
        "the refused request never went upstream"
    );
    let names_the_limit = || {
        gw.audit_lines().iter().any(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("rate-limited: per-ip"))
        })
    };
    support::eventually("the audit log names the limit", names_the_limit).await;
}

#[tokio::test]
async fn refused_requests_are_never_charged() {
    let up = upstream().await;
    // One request per 200 ms, no burst.
    let gw = gateway(
        &up,
        "    rate_limits:\n      - { name: slow, rate: 5/s, burst: 1 }\n",
        "",
    )
    .await;
    assert_eq!(gw.get_status("/items").await, 200);
    let refused = statuses(&gw, "/items", 20).await;
    assert!(refused.iter().all(|&s| s == 429), "{refused:?}");
    // Had the 20 refusals been charged, the next slot would be 4 s away.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(gw.get_status("/items").await, 200);
}

#[tokio::test]
async fn anonymous_and_authenticated_clients_have_separate_limits() {
    let up = upstream().await;
    let gw = gateway(
        &up,
        r#"    rate_limits:
      - { name: anonymous, rate: 2/min, clients: anonymous, key: ip }
      - { name: users, rate: 3/min, clients: authenticated, key: principal }
"#,
        "",
    )
    .await;
    let (alice, bob) = (
        token("alice", serde_json::json!({})),
        token("bob", serde_json::json!({})),
    );
    let secure = |t: String| {
        let url = format!("{}/secure", gw.url);
        async move { client().get(url).bearer_auth(t).send().await.unwrap() }
    };
    for _ in 0..3 {
        let r = secure(alice.clone()).await;
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["ratelimit-policy"]
                .to_str()
                .unwrap()
                .contains("users")
        );
    }
    assert_eq!(
        secure(alice.clone()).await.status(),
        429,
        "alice used her 3"
    );
    assert_eq!(secure(bob).await.status(), 200, "bob has his own");
    // Alice's requests were not counted as anonymous ones from her address.
    assert_eq!(statuses(&gw, "/items", 3).await, [200, 200, 429]);
}

#[tokio::test]
async fn limits_apply_to_their_operations_and_count_by_their_key() {
    let up = upstream().await;
    let gw = gateway(
        &up,
        r#"    rate_limits:
      - { name: per-tenant, rate: 1/min, key: "header:x-tenant", operations: [getItem] }
"#,
        "",
    )
    .await;
    let get = |tenant: &'static str| {
        let url = format!("{}/items/1", gw.url);
        async move {
            client()
                .get(url)
                .header("x-tenant", tenant)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get("a").await, 200);
    assert_eq!(get("a").await, 429);
    assert_eq!(get("b").await, 200, "another header value, another bucket");
    let other = gw.get("/items").await;
    assert_eq!(other.status(), 200, "listItems is not limited");
    assert!(other.headers().get("ratelimit").is_none());
}

#[tokio::test]
async fn a_throttling_queue_holds_requests_instead_of_refusing_them() {
    let up = upstream().await;
    // 10/s, no burst: the 2nd request conforms 100 ms later, the 3rd 200 ms;
    // two may wait, up to 1 s.
    let gw = gateway(
        &up,
        r#"    rate_limits:
      - name: smooth
        rate: 10/s
        burst: 1
        queue: { size: 2, max_wait: 1s }
"#,
        "",
    )
    .await;
    let started = Instant::now();
    let sends = (0..4).map(|_| {
        let url = format!("{}/items", gw.url);
        async move {
            let r = client().get(url).send().await.unwrap();
            (r.status().as_u16(), started.elapsed())
        }
    });
    let mut results = futures_util::future::join_all(sends).await;
    results.sort_by_key(|(_, t)| *t);
    let codes: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        codes.iter().filter(|&&s| s == 200).count(),
        3,
        "one at once and two held: {results:?}"
    );
    assert_eq!(
        codes.iter().filter(|&&s| s == 429).count(),
        1,
        "the queue holds two"
    );
    let slowest_ok = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, t)| *t)
        .max()
        .unwrap();
    assert!(
        slowest_ok >= Duration::from_millis(180),
        "held to fit the rate: {slowest_ok:?}"
    );
}

#[tokio::test]
async fn the_flood_guard_counts_every_request_before_authentication() {
    let up = upstream().await;
    let gw = gateway(&up, "", "flood_guard: { rate: 5/min }").await;
    // Unauthenticated and unroutable requests count: they are what a flood is made of.
    assert_eq!(statuses(&gw, "/secure", 3).await, [401, 401, 401]);
    assert_eq!(statuses(&gw, "/nowhere", 2).await, [404, 404]);
    let resp = gw.get("/items").await;
    assert!(resp.headers().contains_key("retry-after"));
    assert_problem(resp, 429, "too-many-requests").await;
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains("portcullis_flood_rejected_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_bad_limit_is_a_config_error_naming_its_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    support::write_base_files(dir.path());
    let text = support::config(
        "http://127.0.0.1:1",
        r#"    rate_limits:
      - { name: ok, rate: 10/s }
      - { name: bad, rate: ten per second }
      - { name: keyed, rate: 1/s, key: [ip, cookie] }
    quotas:
      - { name: q, limit: 5, period: week }
"#,
    );
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, &text).unwrap();
    let err = portcullis_gateway::config::load(&path)
        .unwrap_err()
        .to_string();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        err.contains(&format!(":{}:", line_of("ten per second")))
            && err.contains("apis[0].rate_limits[1].rate"),
        "{err}"
    );
    assert!(
        err.contains("apis[0].rate_limits[2].key") && err.contains("`cookie`"),
        "{err}"
    );
    assert!(err.contains("apis[0].quotas[0].period"), "{err}");
}

#[tokio::test]
async fn monitor_mode_records_a_refusal_and_lets_the_request_through() {
    let up = upstream().await;
    let gw = gateway(
        &up,
        "    mode: monitor\n    rate_limits:\n      - { name: watched, rate: 1/min, key: ip }\n",
        "",
    )
    .await;
    assert_eq!(statuses(&gw, "/items", 3).await, [200, 200, 200]);
    assert_eq!(up.requests().len(), 3);
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains("limit=\"watched\",outcome=\"rejected\"} 2"),
        "{metrics}"
    );
}
