//! Revocations through a real `redis-server`.

use std::time::{Duration, Instant};

use super::*;
use crate::authn::AuthMethod;
use crate::limit::redis::testing::TestRedis;
use crate::metrics::Metrics;

async fn instance(redis: &TestRedis) -> Arc<RedisRevocations> {
    let cfg = redis.config(&redis.url(), Duration::from_millis(500));
    let store = RedisStore::start(cfg, Arc::new(Metrics::new()));
    for _ in 0..200 {
        if store.is_up() {
            return RedisRevocations::start(store);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("redis did not come up");
}

fn principal(sub: &str, jti: Option<&str>, iat: Option<u64>) -> Principal {
    let mut p = Principal::new(sub, "https://idp", AuthMethod::Jwt);
    p.credential_id = jti.map(Into::into);
    p.issued_at = iat;
    p
}

fn token(jti: &str, until: u64) -> RevokedToken {
    RevokedToken {
        issuer: "https://idp".into(),
        jti: jti.into(),
        until,
    }
}

/// Waits (at most `within`) until `check` holds; returns how long it took.
async fn eventually(within: Duration, check: impl Fn() -> bool) -> Duration {
    let t = Instant::now();
    while !check() {
        assert!(t.elapsed() < within, "not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.elapsed()
}

#[tokio::test]
async fn a_token_revoked_on_one_instance_is_refused_by_another_within_two_seconds() {
    let redis = TestRedis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let now = now_secs();
    let p = principal("alice", Some("t1"), Some(now - 10));
    assert!(!a.is_revoked(&p, now) && !b.is_revoked(&p, now));
    a.revoke_token(token("t1", now + 3600), now).await.unwrap();
    assert!(a.is_revoked(&p, now), "the writer enforces it at once");
    eventually(Duration::from_secs(2), || b.is_revoked(&p, now_secs())).await;
    assert_eq!(b.list(now_secs()).tokens, [token("t1", now + 3600)]);
    assert!(!b.is_revoked(&principal("alice", Some("t2"), Some(now)), now));
    // A later `until` wins; an earlier one does not shorten it.
    b.revoke_token(token("t1", now + 60), now).await.unwrap();
    a.revoke_token(token("t1", now + 7200), now).await.unwrap();
    eventually(Duration::from_secs(2), || {
        b.list(now_secs()).tokens == [token("t1", now + 7200)]
    })
    .await;
    let score = redis
        .cmd(&[
            "ZSCORE",
            "test:revocations:tokens",
            r#"["https://idp","t1"]"#,
        ])
        .unwrap();
    assert_eq!(score, (now + 7200).to_string());
}

#[tokio::test]
async fn a_subject_revocation_travels_and_merges() {
    let redis = TestRedis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let now = now_secs();
    let entry = |before, until| RevokedSubject {
        issuer: None,
        subject: "carol".into(),
        before,
        until,
    };
    a.revoke_subject(entry(now, now + 100), now).await.unwrap();
    b.revoke_subject(entry(now - 50, now + 500), now)
        .await
        .unwrap();
    let want = entry(now, now + 500);
    for r in [&a, &b] {
        eventually(Duration::from_secs(2), || {
            r.list(now_secs()).subjects == [want.clone()]
        })
        .await;
    }
    assert!(b.is_revoked(&principal("carol", None, Some(now - 1)), now));
    assert!(!b.is_revoked(&principal("carol", None, Some(now)), now));
    let before = redis
        .cmd(&[
            "HGET",
            "test:revocations:subjects:before",
            r#"["","carol"]"#,
        ])
        .unwrap();
    assert_eq!(before, now.to_string());
}

#[tokio::test]
async fn a_write_redis_did_not_record_is_an_error_and_not_enforced() {
    let mut redis = TestRedis::start();
    let a = instance(&redis).await;
    redis.kill();
    let now = now_secs();
    let mut errors = Vec::new();
    for _ in 0..2 {
        errors.push(a.revoke_token(token("t9", now + 60), now).await);
    }
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, Err(RevokeError::Unavailable(_)))),
        "{errors:?}"
    );
    assert!(!a.is_revoked(&principal("dave", Some("t9"), Some(now)), now));
    assert!(a.list(now).tokens.is_empty());
}

#[tokio::test]
async fn a_redis_that_lost_its_data_does_not_hide_later_revocations() {
    let mut redis = TestRedis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let now = now_secs();
    a.revoke_token(token("t1", now + 3600), now).await.unwrap();
    let p1 = principal("erin", Some("t1"), Some(now));
    eventually(Duration::from_secs(2), || b.is_revoked(&p1, now_secs())).await;

    redis.restart(); // no persistence: everything is gone
    eventually(Duration::from_secs(5), || {
        a.store.is_up() && b.store.is_up()
    })
    .await;
    let mut written = false;
    for _ in 0..50 {
        if a.revoke_token(token("t2", now + 3600), now).await.is_ok() {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(written, "the write succeeds once Redis is back");
    let p2 = principal("erin", Some("t2"), Some(now));
    eventually(Duration::from_secs(2), || b.is_revoked(&p2, now_secs())).await;
    assert!(
        b.is_revoked(&p1, now_secs()),
        "the mirror keeps what it saw"
    );
}
