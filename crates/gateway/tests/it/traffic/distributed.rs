//! Three gateway instances sharing one Redis: limits are exact across them
//! (admitted = limit, never more, under concurrency), one script call per
//! request, refusals uncharged, quotas shared, revocations seen by all.

use std::time::Duration;

use crate::redis_server::RedisServer;
use crate::support::{self, Gateway, client, token, upstream};

/// `n` gateways in front of `up`, sharing `redis`, with `api` appended to the
/// test API's config.
async fn instances(
    n: usize,
    up: &support::Upstream,
    redis: &RedisServer,
    api: &str,
) -> Vec<Gateway> {
    let mut out = Vec::new();
    for _ in 0..n {
        let text = format!(
            "{}store:\n  redis: {{ url: \"{}\", timeout: 200ms, instances: {n} }}\n",
            support::config(&up.url(), api),
            redis.url()
        );
        out.push(support::gateway_with(&text, &[]).await);
    }
    out
}

/// `clients` concurrent clients per gateway, each sending `each` GETs; the
/// number of 200s and of 429s.
async fn hammer(gws: &[Gateway], path: &str, clients: usize, each: usize) -> (usize, usize) {
    let mut tasks = Vec::new();
    for gw in gws {
        for _ in 0..clients {
            let url = format!("{}{path}", gw.url);
            tasks.push(tokio::spawn(async move {
                let c = client();
                let mut codes = Vec::new();
                for _ in 0..each {
                    let r = c.get(&url).send().await.unwrap();
                    codes.push(r.status().as_u16());
                    r.bytes().await.unwrap();
                }
                codes
            }));
        }
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        for code in t.await.unwrap() {
            match code {
                200 => ok += 1,
                429 => refused += 1,
                other => panic!("unexpected status {other}"),
            }
        }
    }
    (ok, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_admit_exactly_the_limit_in_one_round_trip_each() {
    let redis = RedisServer::start();
    let up = upstream().await;
    // 40 at once, then one an hour: nothing regenerates during the test.
    let gws = instances(
        3,
        &up,
        &redis,
        "    rate_limits:\n      - { name: shared, rate: 1/h, burst: 40, key: operation }\n",
    )
    .await;
    let calls_before = redis.info_calls("evalsha");
    let (ok, refused) = hammer(&gws, "/items", 8, 15).await;
    assert_eq!(ok, 40, "admitted = the limit exactly, across 3 instances");
    assert_eq!(refused, 3 * 8 * 15 - 40);
    let calls = redis.info_calls("evalsha") - calls_before;
    assert_eq!(calls, 3 * 8 * 15, "one script call per request, no more");
    assert_eq!(up.requests().len(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_on_one_instance_are_not_charged_on_any() {
    let redis = RedisServer::start();
    let up = upstream().await;
    // One request per 300 ms, shared.
    let gws = instances(
        3,
        &up,
        &redis,
        "    rate_limits:\n      - { name: paced, rate: 10/3s, burst: 1, key: operation }\n",
    )
    .await;
    assert_eq!(gws[0].get_status("/items").await, 200);
    let (ok, refused) = hammer(&gws, "/items", 2, 5).await;
    assert_eq!((ok, refused), (0, 30), "all within the same 300 ms");
    tokio::time::sleep(Duration::from_millis(350)).await;
    // Had the 30 refusals been charged, the next slot would be 9 s away.
    assert_eq!(gws[2].get_status("/items").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_is_shared_by_every_instance_and_read_on_any() {
    let redis = RedisServer::start();
    let up = upstream().await;
    let gws = instances(
        3,
        &up,
        &redis,
        "    quotas:\n      - { name: daily, limit: 10, period: day }\n",
    )
    .await;
    let mut ok = 0;
    for i in 0..18 {
        let r = client()
            .get(format!("{}/secure", gws[i % 3].url))
            .bearer_auth(token("dana", serde_json::json!({})))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            ok += 1;
        } else {
            assert_eq!(r.status(), 429);
        }
    }
    assert_eq!(ok, 10);
    let usage = gws[1].admin_json("/quotas/test/dana").await;
    assert_eq!(usage["quotas"][0]["used"], 10, "{usage}");
    let reset = gws[2]
        .admin_request(reqwest::Method::POST, "/quotas/test/dana/reset")
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(
        gws[0].admin_json("/quotas/test/dana").await["quotas"][0]["used"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_made_on_one_instance_is_enforced_by_the_others() {
    let redis = RedisServer::start();
    let up = upstream().await;
    let gws = instances(2, &up, &redis, "").await;
    let t = token("erin", serde_json::json!({ "jti": "erin-token-1" }));
    let secure = |gw: &Gateway| {
        let (url, t) = (format!("{}/secure", gw.url), t.clone());
        async move {
            client()
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(secure(&gws[1]).await, 200);
    let revoked = gws[0]
        .admin_request(reqwest::Method::POST, "/revocations/tokens")
        .json(&serde_json::json!({ "issuer": support::ISSUER, "jti": "erin-token-1", "until": support::now() + 600 }))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    assert_eq!(secure(&gws[0]).await, 401, "at once where it was made");
    let mut seen = false;
    for _ in 0..30 {
        if secure(&gws[1]).await == 401 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "the other instance refuses it within 3 s");
}
