//! JWK set parsing, key lookup, refresh lifetimes and endpoint rules.

use std::time::Duration;

use http::HeaderMap;
use jsonwebtoken::Algorithm;
use serde_json::json;

use super::remote::ttl;
use super::*;
use crate::authn::fetch::endpoint as endpoint_uri;
use crate::authn::jwt::tests::support::{TestKey, jwks};

#[test]
fn unusable_keys_are_skipped_not_fatal() {
    let es = TestKey::ec(Algorithm::ES256);
    let rs = TestKey::rsa(Algorithm::RS256, 0);
    let mut enc = rs.jwk("enc");
    enc["use"] = "enc".into();
    let mut wrong_alg = es.jwk("rs512");
    wrong_alg["alg"] = "RS512".into();
    let doc = jwks(&[
        es.jwk("good"),
        enc,
        wrong_alg,
        json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}),
        json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "p521"}),
        json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "short"}),
        json!({"kty": "EC", "crv": "P-256", "x": "!!", "y": "AA", "kid": "junk"}),
        json!({"kty": "RSA", "kid": 7}),
        json!("not an object"),
        rs.jwk("rsa"),
    ]);
    let (set, skipped) =
        KeySet::from_jwks(doc.to_string().as_bytes(), &[Algorithm::ES256]).unwrap();
    assert_eq!(set.len(), 1, "only the ES256 key: {skipped:?}");
    assert_eq!(skipped.len(), 9, "{skipped:?}");
    for why in [
        "use `enc`",
        "RS512",
        "symmetric",
        "P-521",
        "not base64url",
        "not a configured algorithm",
        "bits",
    ] {
        assert!(
            skipped.iter().any(|s| s.contains(why)),
            "{why}: {skipped:?}"
        );
    }
    let err = KeySet::from_jwks(doc.to_string().as_bytes(), &[Algorithm::EdDSA]).unwrap_err();
    assert!(err.contains("no key usable"), "{err}");
    assert!(KeySet::from_jwks(b"{\"keys\": 1}", &[Algorithm::ES256]).is_err());
    assert!(KeySet::from_jwks(b"<html>", &[Algorithm::ES256]).is_err());
}

#[test]
fn candidates_follow_kid_alg_and_curve() {
    let p256 = TestKey::ec(Algorithm::ES256);
    let mut kidless = TestKey::ec(Algorithm::ES256).jwk("x");
    kidless.as_object_mut().unwrap().remove("kid");
    let algs = [Algorithm::ES256, Algorithm::ES384];
    let doc = jwks(&[p256.jwk("a"), kidless]);
    let (set, _) = KeySet::from_jwks(doc.to_string().as_bytes(), &algs).unwrap();
    assert_eq!(
        set.candidates(Some("a"), Algorithm::ES256).unwrap().len(),
        1
    );
    assert_eq!(
        set.candidates(Some("a"), Algorithm::ES384).unwrap_err(),
        Failure::AlgorithmNotAllowed
    );
    assert_eq!(set.candidates(None, Algorithm::ES256).unwrap().len(), 2);
    // An unknown kid may still be verified by a kid-less key.
    assert_eq!(
        set.candidates(Some("zz"), Algorithm::ES256).unwrap().len(),
        1
    );
    assert_eq!(
        set.candidates(Some("zz"), Algorithm::ES384).unwrap_err(),
        Failure::UnknownKey
    );
    // Kid-less tries are bounded.
    let many: Vec<_> = (0..10)
        .map(|_| {
            let mut j = TestKey::ec(Algorithm::ES256).jwk("");
            j.as_object_mut().unwrap().remove("kid");
            j
        })
        .collect();
    let (set, _) = KeySet::from_jwks(jwks(&many).to_string().as_bytes(), &algs).unwrap();
    assert_eq!(
        set.candidates(None, Algorithm::ES256).unwrap().len(),
        MAX_KIDLESS_TRIES
    );
}

#[test]
fn fingerprints_follow_the_keys_and_debug_hides_secrets() {
    let a = TestKey::ec(Algorithm::ES256);
    let b = TestKey::ec(Algorithm::ES256);
    let set = |keys: &[serde_json::Value]| {
        KeySet::from_jwks(jwks(keys).to_string().as_bytes(), &[Algorithm::ES256])
            .unwrap()
            .0
    };
    assert_eq!(
        set(&[a.jwk("1"), b.jwk("2")]).fingerprint(),
        set(&[b.jwk("2"), a.jwk("1")]).fingerprint()
    );
    assert_ne!(
        set(&[a.jwk("1")]).fingerprint(),
        set(&[a.jwk("2")]).fingerprint()
    );
    assert_ne!(
        KeySet::from_secret(b"one").fingerprint(),
        KeySet::from_secret(b"two").fingerprint()
    );
    let shown = format!("{:?}", KeySet::from_secret(b"hunter2-hunter2"));
    assert!(
        shown.contains("redacted") && !shown.contains("hunter2"),
        "{shown}"
    );
}

#[test]
fn pem_files_must_hold_a_public_key() {
    let algs = [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA];
    let ok = |pem: &str| KeySet::from_pems(&[("k".into(), pem.into())], &algs);
    assert!(ok(&TestKey::ec(Algorithm::ES256).pem).is_ok());
    assert!(ok(&TestKey::rsa(Algorithm::RS256, 1).pem).is_ok());
    assert!(ok(&TestKey::ed25519().pem).is_ok());
    let private = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert!(ok(private).unwrap_err().contains("private key"));
    assert!(ok("hello").unwrap_err().contains("no PEM public key"));
    let only_es = KeySet::from_pems(
        &[("rsa".into(), TestKey::rsa(Algorithm::RS256, 1).pem)],
        &[Algorithm::ES256],
    );
    assert!(
        only_es
            .unwrap_err()
            .contains("none of the configured algorithms")
    );
}

#[test]
fn max_age_is_clamped_and_absent_means_refresh_min() {
    let (min, max) = (Duration::from_secs(300), Duration::from_secs(86_400));
    let h = |v: &str| {
        let mut m = HeaderMap::new();
        m.insert(http::header::CACHE_CONTROL, v.parse().unwrap());
        m
    };
    assert_eq!(ttl(&HeaderMap::new(), min, max), min);
    assert_eq!(
        ttl(&h("public, max-age=3600"), min, max),
        Duration::from_secs(3600)
    );
    assert_eq!(ttl(&h("max-age=5"), min, max), min);
    assert_eq!(ttl(&h("Max-Age=\"999999\""), min, max), max);
    assert_eq!(ttl(&h("max-age=3600, no-cache"), min, max), min);
    assert_eq!(ttl(&h("max-age=garbage"), min, max), min);
}

#[test]
fn endpoints_are_https_or_loopback_http() {
    for good in [
        "https://idp.example/jwks",
        "http://127.0.0.1:8080/jwks",
        "http://[::1]/k",
        "http://localhost/k",
    ] {
        assert!(endpoint_uri(good).is_ok(), "{good}");
    }
    for bad in [
        "http://idp.example/jwks",
        "ftp://idp/jwks",
        "file:///etc/passwd",
        "/jwks",
        "https://u:p@idp/jwks",
    ] {
        assert!(endpoint_uri(bad).is_err(), "{bad}");
    }
}
