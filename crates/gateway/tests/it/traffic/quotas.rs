//! Calendar quotas: counted per consumer, advertised in `RateLimit`, refused
//! with the period's end in `Retry-After`, started afresh at the boundary in the
//! configured time zone (the gateway's clock is moved, not waited for), and
//! read and reset through the admin API.

use std::time::{Duration, SystemTime};

use super::gateway;
use crate::support::{Gateway, assert_problem, client, token, upstream};

fn at(rfc3339: &str) -> SystemTime {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap();
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp() as u64)
}

fn set_clock(gw: &Gateway, to: SystemTime) {
    gw.running.as_ref().unwrap().gateway.store.clock.set(to);
}

async fn secure(gw: &Gateway, who: &str) -> reqwest::Response {
    client()
        .get(format!("{}/secure", gw.url))
        .bearer_auth(token(who, serde_json::json!({})))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_daily_quota_ends_at_midnight_in_its_time_zone() {
    let up = upstream().await;
    let gw = gateway(
        &up,
        "    quotas:\n      - { name: daily, limit: 3, period: day, time_zone: Europe/Paris }\n",
        "",
    )
    .await;
    // 23:59:00 in Paris (UTC+1 in November).
    set_clock(&gw, at("2026-11-26T22:59:00Z"));
    for left in [2, 1, 0] {
        let resp = secure(&gw, "alice").await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["ratelimit-policy"], "\"daily\";q=3;w=86400");
        let current = resp.headers()["ratelimit"].to_str().unwrap().to_owned();
        let (r, t) = current
            .strip_prefix("\"daily\";r=")
            .and_then(|s| s.split_once(";t="))
            .unwrap();
        assert_eq!(r.parse::<u64>().unwrap(), left);
        assert!((59..=60).contains(&t.parse::<u64>().unwrap()), "{current}");
    }
    let refused = secure(&gw, "alice").await;
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (59..=60).contains(&retry),
        "until midnight in Paris: {retry}"
    );
    assert_problem(refused, 429, "quota-exceeded").await;
    assert_eq!(secure(&gw, "bob").await.status(), 200, "per consumer");

    let usage = gw.admin_json("/quotas/test/alice").await;
    assert_eq!(usage["quotas"][0]["period"], "2026-11-26");
    assert_eq!(
        usage["quotas"][0]["used"], 3,
        "the refusal was not counted: {usage}"
    );
    assert_eq!(usage["quotas"][0]["remaining"], 0);
    assert_eq!(usage["quotas"][0]["resets_at"], "2026-11-26T23:00:00Z");

    // 00:00:30 the next day in Paris: a new period.
    set_clock(&gw, at("2026-11-26T23:00:30Z"));
    assert_eq!(secure(&gw, "alice").await.status(), 200);
    let usage = gw.admin_json("/quotas/test/alice").await;
    assert_eq!(usage["quotas"][0]["period"], "2026-11-27");
    assert_eq!(usage["quotas"][0]["used"], 1);
}

#[tokio::test]
async fn a_monthly_quota_is_read_and_reset_by_the_admin_api() {
    let up = upstream().await;
    let gw = gateway(
        &up,
        "    quotas:\n      - { name: monthly, limit: 2, period: month }\n",
        "",
    )
    .await;
    set_clock(&gw, at("2026-12-31T23:59:59Z"));
    assert_eq!(secure(&gw, "carol").await.status(), 200);
    assert_eq!(secure(&gw, "carol").await.status(), 200);
    assert_eq!(secure(&gw, "carol").await.status(), 429);
    let usage = gw.admin_json("/quotas/test/carol").await;
    assert_eq!(usage["quotas"][0]["period"], "2026-12");
    assert_eq!(usage["quotas"][0]["used"], 2);

    let reset = gw
        .admin_request(reqwest::Method::POST, "/quotas/test/carol/reset")
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(secure(&gw, "carol").await.status(), 200, "reset");
    assert_eq!(
        gw.admin_json("/quotas/test/carol").await["quotas"][0]["used"],
        1
    );

    // The admin API names what does not exist, and needs its token.
    let missing = gw
        .admin_request(reqwest::Method::GET, "/quotas/nope/carol")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let anonymous = client()
        .get(format!("{}/quotas/test/carol", gw.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // January.
    set_clock(&gw, at("2027-01-01T00:00:01Z"));
    assert_eq!(
        gw.admin_json("/quotas/test/carol").await["quotas"][0]["used"],
        0
    );
    assert_eq!(secure(&gw, "carol").await.status(), 200);
}
