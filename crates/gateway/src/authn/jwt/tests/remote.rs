//! Remote key sets against a real local HTTP server: rotation, outages, floods
//! of unknown `kid`s, cache lifetimes, discovery, size limits.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::support::*;
use crate::authn::Failure;
use crate::authn::jwt::{JwtConfig, JwtProvider, KeySource};

const ES: [Algorithm; 1] = [Algorithm::ES256];

/// A provider on `server`'s `/jwks`, with long refresh periods (so only the
/// fetches a test causes happen) and no token cache (so every call verifies).
fn remote_config(server: &JwksServer) -> JwtConfig {
    let mut cfg = config(&ES, KeySource::Url(server.url("/jwks").parse().unwrap()));
    cfg.refresh_min = Duration::from_secs(60);
    cfg.refresh_max = Duration::from_secs(600);
    cfg.unknown_kid_cooldown = Duration::from_secs(60);
    cfg.fetch_timeout = Duration::from_secs(2);
    cfg.token_cache_size = 0;
    cfg
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

#[tokio::test]
async fn rotation_fetches_once_and_old_tokens_stay_valid_while_served() {
    let (k1, k2) = (TestKey::ec(Algorithm::ES256), TestKey::ec(Algorithm::ES256));
    let server = JwksServer::start(jwks(&[k1.jwk("k1")])).await;
    let p = provider(&remote_config(&server));
    let old = k1.token(Some("k1"), &claims());
    assert!(
        p.verify(&old).await.is_ok(),
        "the first request waits for the first fetch"
    );
    assert!(p.has_keys());
    assert_eq!(server.hits("/jwks"), 1);
    server.set_jwks(jwks(&[k1.jwk("k1"), k2.jwk("k2")]));
    assert!(
        p.verify(&k2.token(Some("k2"), &claims())).await.is_ok(),
        "new kid: one refresh"
    );
    assert_eq!(server.hits("/jwks"), 2);
    assert!(p.verify(&old).await.is_ok(), "the old key is still served");
    assert_eq!(server.hits("/jwks"), 2, "known kids fetch nothing");
}

#[tokio::test]
async fn no_key_set_yet_is_unavailable_not_unauthorized_until_the_endpoint_is_up() {
    let key = TestKey::ec(Algorithm::ES256);
    let server = JwksServer::start(jwks(&[key.jwk("k1")])).await;
    server.set_down(true);
    let mut cfg = remote_config(&server);
    cfg.unknown_kid_cooldown = Duration::from_millis(100);
    let p = provider(&cfg);
    let token = key.token(Some("k1"), &claims());
    let err = p.verify(&token).await.unwrap_err();
    assert_eq!(err, Failure::KeysUnavailable);
    assert!(err.is_unavailable(), "a 503, not a 401");
    assert!(!p.has_keys());
    server.set_down(false);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        p.verify(&token).await.is_ok(),
        "a request after the cooldown asks for a fetch"
    );
    assert!(p.has_keys());
}

#[tokio::test]
async fn stale_keys_keep_working_while_the_endpoint_is_down() {
    let key = TestKey::ec(Algorithm::ES256);
    let server = JwksServer::start(jwks(&[key.jwk("k1")])).await;
    let mut cfg = remote_config(&server);
    cfg.refresh_min = Duration::from_millis(100);
    cfg.refresh_max = Duration::from_millis(100);
    let p = provider(&cfg);
    let token = key.token(Some("k1"), &claims());
    assert!(p.verify(&token).await.is_ok());
    server.set_down(true);
    let before = server.hits("/jwks");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        server.hits("/jwks") > before,
        "refreshes were tried and failed"
    );
    assert!(p.verify(&token).await.is_ok(), "stale keys still verify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_costs_the_idp_one_fetch() {
    let key = TestKey::ec(Algorithm::ES256);
    let server = JwksServer::start(jwks(&[key.jwk("k1")])).await;
    let p = Arc::new(provider(&remote_config(&server)));
    assert!(p.verify(&key.token(Some("k1"), &claims())).await.is_ok());
    assert_eq!(server.hits("/jwks"), 1);
    for _ in 0..2 {
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let p = Arc::clone(&p);
                let token = key.token(Some(&format!("random-{i}-{}", rand_u64())), &claims());
                tokio::spawn(async move { p.verify(&token).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap_err(), Failure::UnknownKey);
        }
    }
    assert_eq!(
        server.hits("/jwks"),
        2,
        "400 unknown kids, one shared refresh"
    );
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

#[tokio::test]
async fn cache_control_max_age_is_clamped_to_the_refresh_bounds() {
    let key = TestKey::ec(Algorithm::ES256);
    // max-age of a day, refresh_max 150ms: refreshed every 150ms.
    let server = JwksServer::start(jwks(&[key.jwk("k1")])).await;
    server.set_cache_control("public, max-age=86400");
    let mut cfg = remote_config(&server);
    cfg.refresh_min = Duration::from_millis(50);
    cfg.refresh_max = Duration::from_millis(150);
    let _p = provider(&cfg);
    // max-age of 1s, refresh_min 60s: not refreshed.
    let slow = JwksServer::start(jwks(&[key.jwk("k1")])).await;
    slow.set_cache_control("max-age=1");
    let _q = provider(&remote_config(&slow));
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(
        server.hits("/jwks") >= 4,
        "clamped to refresh_max: {}",
        server.hits("/jwks")
    );
    assert_eq!(slow.hits("/jwks"), 1, "clamped to refresh_min");
}

#[tokio::test]
async fn discovery_finds_the_jwks_and_refuses_another_issuer() {
    let key = TestKey::ec(Algorithm::ES256);
    let server = JwksServer::start(jwks(&[key.jwk("k1")])).await;
    let issuer = server.url("");
    let p = provider(&JwtConfig::new(&issuer, &[AUD], &ES, KeySource::Discovery));
    let mut c = claims();
    c["iss"] = issuer.clone().into();
    assert!(p.verify(&key.token(Some("k1"), &c)).await.is_ok());
    assert_eq!(server.hits("/.well-known/openid-configuration"), 1);
    assert_eq!(server.hits("/jwks"), 1);

    // A discovery document naming another issuer (a mix-up) is refused.
    let evil = JwksServer::start(jwks(&[key.jwk("k1")])).await;
    evil.set_discovery_issuer("https://evil.example");
    let issuer = evil.url("");
    let p = provider(&JwtConfig::new(&issuer, &[AUD], &ES, KeySource::Discovery));
    c["iss"] = issuer.into();
    assert_eq!(
        p.verify(&key.token(Some("k1"), &c)).await.unwrap_err(),
        Failure::KeysUnavailable
    );
    assert_eq!(
        evil.hits("/jwks"),
        0,
        "no key set taken from a mismatching document"
    );
}

#[tokio::test]
async fn an_oversize_key_set_is_refused() {
    let key = TestKey::ec(Algorithm::ES256);
    let padding: Vec<Value> = (0..40)
        .map(|i| TestKey::ec(Algorithm::ES256).jwk(&format!("pad-{i}")))
        .collect();
    let mut keys = vec![key.jwk("k1")];
    keys.extend(padding);
    let server = JwksServer::start(jwks(&keys)).await;
    let mut cfg = remote_config(&server);
    cfg.max_jwks_bytes = 2048;
    let shared = shared();
    let p = JwtProvider::new("idp", &cfg, &shared).unwrap();
    assert_eq!(
        p.verify(&key.token(Some("k1"), &claims()))
            .await
            .unwrap_err(),
        Failure::KeysUnavailable
    );
    let metrics = shared.metrics.encode();
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("too_large") && l.contains("jwks")),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_unchanged_config_reuses_the_key_set_and_dropping_stops_the_refresher() {
    let key = TestKey::ec(Algorithm::ES256);
    let server = JwksServer::start(jwks(&[key.jwk("k1")])).await;
    let mut cfg = remote_config(&server);
    cfg.refresh_min = Duration::from_millis(50);
    cfg.refresh_max = Duration::from_millis(50);
    let shared = shared();
    let a = JwtProvider::new("idp", &cfg, &shared).unwrap();
    let b = JwtProvider::new("idp", &cfg, &shared).unwrap();
    let token = key.token(Some("k1"), &claims());
    assert!(a.verify(&token).await.is_ok() && b.verify(&token).await.is_ok());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hits = server.hits("/jwks");
    assert!((3..=10).contains(&hits), "one refresher for both: {hits}");
    drop((a, b));
    settle().await;
    let after = server.hits("/jwks");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.hits("/jwks"),
        after,
        "the refresher ended with its providers"
    );
}

#[test]
fn without_a_runtime_nothing_is_fetched_until_a_token_arrives_in_one() {
    // `portcullis check` builds providers with no tokio runtime: no task, no fetch.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = TestKey::ec(Algorithm::ES256);
    let server = rt.block_on(JwksServer::start(jwks(&[key.jwk("k1")])));
    let p = provider(&remote_config(&server));
    assert!(!p.has_keys());
    rt.block_on(async {
        settle().await;
        assert_eq!(server.hits("/jwks"), 0);
        assert!(p.verify(&key.token(Some("k1"), &claims())).await.is_ok());
    });
    assert_eq!(server.hits("/jwks"), 1);
}
