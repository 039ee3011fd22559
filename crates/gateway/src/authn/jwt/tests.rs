//! JWT verification: every algorithm family, the classic attacks, claims, cache.

mod config_check;
mod remote;
pub(crate) mod support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use self::support::*;
use super::*;
use crate::authn::jwks::KeySet;

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn with(claims: &[(&str, Value)]) -> Value {
    let mut c = support::claims();
    for (k, v) in claims {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(*k);
        } else {
            c[*k] = v.clone();
        }
    }
    c
}

/// A provider with one key (kid `k1`) from a static JWKS.
fn one_key(key: &TestKey) -> JwtProvider {
    let algs = [key.alg];
    provider(&config(&algs, static_jwks(&jwks(&[key.jwk("k1")]), &algs)))
}

#[tokio::test]
async fn every_algorithm_family_verifies() {
    let keys = [
        TestKey::rsa(Algorithm::RS256, 0),
        TestKey::rsa(Algorithm::PS256, 0),
        TestKey::ec(Algorithm::ES256),
        TestKey::ec(Algorithm::ES384),
        TestKey::ed25519(),
    ];
    for key in &keys {
        let p = one_key(key);
        let principal = p.verify(&key.token(Some("k1"), &claims())).await;
        let principal = principal.unwrap_or_else(|f| panic!("{:?}: {f}", key.alg));
        assert_eq!(&*principal.subject, "alice");
        assert_eq!(&*principal.issuer, ISS);
        assert_eq!(principal.credential_id.as_deref(), Some("t-1"));
        assert!(principal.expires_at.is_some() && principal.issued_at.is_some());
        assert_eq!(principal.claims.get("aud"), Some(&json!(AUD)));
        // Without a kid, the keys that fit the algorithm are tried.
        assert!(
            p.verify(&key.token(None, &claims())).await.is_ok(),
            "{:?}",
            key.alg
        );
    }
    let secret = b"0123456789abcdef0123456789abcdef";
    let hs = TestKey::hmac(Algorithm::HS256, secret);
    let cfg = config(
        &[Algorithm::HS256],
        KeySource::Static(Arc::new(KeySet::from_secret(secret))),
    );
    let p = provider(&cfg);
    assert!(p.verify(&hs.token(None, &claims())).await.is_ok());
    assert!(
        p.verify(&hs.token(Some("any"), &claims())).await.is_ok(),
        "a secret has no kid to match"
    );
    let other = TestKey::hmac(Algorithm::HS256, b"another secret, 32 bytes long!!!");
    assert_eq!(
        p.verify(&other.token(None, &claims())).await.unwrap_err(),
        Failure::BadSignature
    );
}

#[tokio::test]
async fn pem_keys_are_known_by_thumbprint_and_file_stem() {
    let key = TestKey::ec(Algorithm::ES256);
    let algs = [Algorithm::ES256];
    let set = KeySet::from_pems(&[("2024-signing".into(), key.pem.clone())], &algs).unwrap();
    let p = provider(&config(&algs, KeySource::Static(Arc::new(set))));
    // RFC 7638 thumbprint of the public JWK, as `portcullis keys` names it.
    let jwk = key.jwk("");
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    let tp = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ));
    for kid in [Some(tp.as_str()), Some("2024-signing"), None] {
        assert!(
            p.verify(&key.token(kid, &claims())).await.is_ok(),
            "{kid:?}"
        );
    }
    assert_eq!(
        p.verify(&key.token(Some("other"), &claims()))
            .await
            .unwrap_err(),
        Failure::UnknownKey
    );
    let rsa = TestKey::rsa(Algorithm::RS256, 0);
    let set = KeySet::from_pems(&[("rsa".into(), rsa.pem.clone())], &[Algorithm::RS256]).unwrap();
    let p = provider(&config(
        &[Algorithm::RS256],
        KeySource::Static(Arc::new(set)),
    ));
    assert!(p.verify(&rsa.token(Some("rsa"), &claims())).await.is_ok());
    let ed = TestKey::ed25519();
    let set = KeySet::from_pems(&[("ed".into(), ed.pem.clone())], &[Algorithm::EdDSA]).unwrap();
    let p = provider(&config(
        &[Algorithm::EdDSA],
        KeySource::Static(Arc::new(set)),
    ));
    assert!(p.verify(&ed.token(Some("ed"), &claims())).await.is_ok());
}

#[tokio::test]
async fn alg_none_is_refused_in_any_spelling() {
    let key = TestKey::rsa(Algorithm::RS256, 0);
    let p = one_key(&key);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = format!(
            "{}.{}.",
            b64(&json!({"alg": alg, "kid": "k1"})),
            b64(&claims())
        );
        assert_eq!(
            p.verify(&token).await.unwrap_err(),
            Failure::AlgorithmNotAllowed,
            "{alg}"
        );
    }
    let no_alg = format!("{}.{}.", b64(&json!({"kid": "k1"})), b64(&claims()));
    assert_eq!(p.verify(&no_alg).await.unwrap_err(), Failure::Malformed);
}

#[tokio::test]
async fn hs256_signed_with_a_public_key_is_refused() {
    // Key confusion: the attacker signs HS256 with the bytes of our public key.
    let rsa = TestKey::rsa(Algorithm::RS256, 0);
    let p = one_key(&rsa);
    for secret in [rsa.pem.as_bytes(), rsa.jwk("k1").to_string().as_bytes()] {
        let forged = TestKey::hmac(Algorithm::HS256, secret).token(Some("k1"), &claims());
        assert_eq!(
            p.verify(&forged).await.unwrap_err(),
            Failure::AlgorithmNotAllowed
        );
    }
    let ec = TestKey::ec(Algorithm::ES256);
    let p = one_key(&ec);
    let forged = TestKey::hmac(Algorithm::HS256, ec.pem.as_bytes()).token(Some("k1"), &claims());
    assert_eq!(
        p.verify(&forged).await.unwrap_err(),
        Failure::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn alg_must_fit_the_keys_family_and_curve() {
    // Both ES256 and ES384 are pinned, `k1` is a P-256 key: ES384 under `k1` is refused.
    let p256 = TestKey::ec(Algorithm::ES256);
    let p384 = TestKey::ec(Algorithm::ES384);
    let algs = [Algorithm::ES256, Algorithm::ES384];
    let mut jwk = p256.jwk("k1");
    jwk.as_object_mut().unwrap().remove("alg");
    let p = provider(&config(&algs, static_jwks(&jwks(&[jwk]), &algs)));
    assert_eq!(
        p.verify(&p384.token(Some("k1"), &claims()))
            .await
            .unwrap_err(),
        Failure::AlgorithmNotAllowed
    );
    // A JWK's own `alg` pins it further: PS256 under an RS256-only key is refused.
    let rs = TestKey::rsa(Algorithm::RS256, 0);
    let algs = [Algorithm::RS256, Algorithm::PS256];
    let p = provider(&config(&algs, static_jwks(&jwks(&[rs.jwk("k1")]), &algs)));
    let ps = TestKey::rsa(Algorithm::PS256, 0);
    assert_eq!(
        p.verify(&ps.token(Some("k1"), &claims()))
            .await
            .unwrap_err(),
        Failure::AlgorithmNotAllowed
    );
    assert!(p.verify(&rs.token(Some("k1"), &claims())).await.is_ok());
    // An algorithm that is not pinned, even with a fitting key.
    let rs384 = TestKey::rsa(Algorithm::RS384, 0);
    assert_eq!(
        p.verify(&rs384.token(Some("k1"), &claims()))
            .await
            .unwrap_err(),
        Failure::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn stripped_or_altered_signatures_are_refused() {
    let key = TestKey::ec(Algorithm::ES256);
    let p = one_key(&key);
    let token = key.token(Some("k1"), &claims());
    let (signed, sig) = token.rsplit_once('.').unwrap();
    assert_eq!(
        p.verify(&format!("{signed}.")).await.unwrap_err(),
        Failure::BadSignature
    );
    assert_eq!(p.verify(signed).await.unwrap_err(), Failure::Malformed);
    let mut bad = sig.as_bytes().to_vec();
    bad[10] = if bad[10] == b'A' { b'B' } else { b'A' };
    let altered = format!("{signed}.{}", String::from_utf8(bad).unwrap());
    assert_eq!(p.verify(&altered).await.unwrap_err(), Failure::BadSignature);
    let (head, _) = signed.split_once('.').unwrap();
    let forged = format!("{head}.{}.{sig}", b64(&with(&[("sub", json!("mallory"))])));
    assert_eq!(p.verify(&forged).await.unwrap_err(), Failure::BadSignature);
    for junk in ["", "a.b.c", "not a token", "a.b.c.d", "@@@.@@@.@@@"] {
        assert_eq!(
            p.verify(junk).await.unwrap_err(),
            Failure::Malformed,
            "{junk:?}"
        );
    }
    assert_eq!(
        p.verify(&"a".repeat(70_000)).await.unwrap_err(),
        Failure::Malformed
    );
}

#[tokio::test]
async fn time_claims_are_checked_with_leeway() {
    let key = TestKey::ed25519();
    let p = one_key(&key);
    let now = now_secs();
    let cases = [
        (with(&[("exp", json!(now - 3600))]), Err(Failure::Expired)),
        (with(&[("exp", json!(now - 10))]), Ok(())),
        (
            with(&[("nbf", json!(now + 3600))]),
            Err(Failure::NotYetValid),
        ),
        (with(&[("nbf", json!(now + 10))]), Ok(())),
        (
            with(&[("iat", json!(now + 3600))]),
            Err(Failure::NotYetValid),
        ),
        (
            with(&[("iat", json!("yesterday"))]),
            Err(Failure::Malformed),
        ),
        (with(&[("exp", Value::Null)]), Err(Failure::MissingClaim)),
        (with(&[("sub", Value::Null)]), Err(Failure::MissingClaim)),
        (with(&[("sub", json!(42))]), Err(Failure::MissingClaim)),
    ];
    for (c, want) in cases {
        let got = p.verify(&key.token(Some("k1"), &c)).await.map(|_| ());
        assert_eq!(got, want, "{c}");
    }
}

#[tokio::test]
async fn issuer_audience_and_required_claims() {
    let key = TestKey::ec(Algorithm::ES256);
    let mut cfg = config(
        &[Algorithm::ES256],
        static_jwks(&jwks(&[key.jwk("k1")]), &[Algorithm::ES256]),
    );
    cfg.audiences.push("api://other".into());
    cfg.required_claims = vec!["tenant".into()];
    let p = provider(&cfg);
    let t = |c: Value| key.token(Some("k1"), &c);
    let base = [("tenant", json!("acme"))];
    let ok = |extra: (&str, Value)| with(&[base[0].clone(), extra]);
    assert!(
        p.verify(&t(ok(("aud", json!(["x", "api://other"])))))
            .await
            .is_ok()
    );
    let cases = [
        (
            ok(("iss", json!("https://evil.example"))),
            Failure::WrongIssuer,
        ),
        (
            ok(("iss", json!([ISS, "https://evil.example"]))),
            Failure::WrongIssuer,
        ),
        (ok(("iss", Value::Null)), Failure::MissingClaim),
        (ok(("aud", json!("api://nope"))), Failure::WrongAudience),
        (ok(("aud", json!(["x", "y"]))), Failure::WrongAudience),
        (ok(("aud", Value::Null)), Failure::MissingClaim),
        (claims(), Failure::MissingClaim),
    ];
    for (c, want) in cases {
        assert_eq!(p.verify(&t(c.clone())).await.unwrap_err(), want, "{c}");
    }
}

#[tokio::test]
async fn typ_is_compared_case_insensitively_without_application_prefix() {
    let key = TestKey::ec(Algorithm::ES256);
    let mut cfg = config(
        &[Algorithm::ES256],
        static_jwks(&jwks(&[key.jwk("k1")]), &[Algorithm::ES256]),
    );
    cfg.typ = Some("at+jwt".into());
    let p = provider(&cfg);
    let token = |typ: Option<&str>| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("k1".into());
        h.typ = typ.map(Into::into);
        key.sign_with(&h, &claims())
    };
    for good in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        assert!(p.verify(&token(Some(good))).await.is_ok(), "{good}");
    }
    for bad in [Some("JWT"), Some("id+jwt"), None] {
        assert_eq!(
            p.verify(&token(bad)).await.unwrap_err(),
            Failure::WrongType,
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn kid_is_only_a_map_key() {
    let key = TestKey::ec(Algorithm::ES256);
    let p = one_key(&key);
    for kid in [
        "../../etc/passwd",
        "/dev/zero",
        "http://127.0.0.1:1/jwks",
        "k1\0",
    ] {
        assert_eq!(
            p.verify(&key.token(Some(kid), &claims()))
                .await
                .unwrap_err(),
            Failure::UnknownKey
        );
    }
    // `crit` extensions we do not understand are refused (RFC 7515 §4.1.11).
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("k1".into());
    h.crit = Some(vec!["exp".into()]);
    assert_eq!(
        p.verify(&key.sign_with(&h, &claims())).await.unwrap_err(),
        Failure::Malformed
    );
}

#[tokio::test]
async fn jku_x5u_and_embedded_jwk_headers_are_never_used() {
    // The attacker publishes its own key set and points the token at it.
    let attacker = TestKey::ec(Algorithm::ES256);
    let trap = JwksServer::start(jwks(&[attacker.jwk("evil")])).await;
    let legit = TestKey::ec(Algorithm::ES256);
    let idp = JwksServer::start(jwks(&[legit.jwk("k1")])).await;
    let mut cfg = config(
        &[Algorithm::ES256],
        KeySource::Url(idp.url("/jwks").parse().unwrap()),
    );
    cfg.unknown_kid_cooldown = Duration::from_millis(1);
    let p = provider(&cfg);
    let header = |kid: &str| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.into());
        h.jku = Some(trap.url("/jwks"));
        h.x5u = Some(trap.url("/cert.pem"));
        // An embedded key is not trusted either.
        h.jwk = Some(serde_json::from_value(attacker.jwk(kid)).unwrap());
        h
    };
    let forged = attacker.sign_with(&header("evil"), &claims());
    assert_eq!(p.verify(&forged).await.unwrap_err(), Failure::UnknownKey);
    let forged = attacker.sign_with(&header("k1"), &claims());
    assert_eq!(p.verify(&forged).await.unwrap_err(), Failure::BadSignature);
    // A legitimate token carrying the headers is verified with the configured keys.
    assert!(
        p.verify(&legit.sign_with(&header("k1"), &claims()))
            .await
            .is_ok()
    );
    assert_eq!(trap.all_hits(), 0, "the token's URLs got requests");
    assert!(idp.hits("/jwks") >= 1);
}

#[tokio::test]
async fn cache_hits_return_the_same_principal_until_exp() {
    let key = TestKey::ec(Algorithm::ES256);
    let algs = [Algorithm::ES256];
    let mut cfg = config(&algs, static_jwks(&jwks(&[key.jwk("k1")]), &algs));
    cfg.leeway = Duration::ZERO;
    let p = provider(&cfg);
    let token = key.token(Some("k1"), &claims());
    let a = p.verify(&token).await.unwrap();
    let b = p.verify(&token).await.unwrap();
    assert!(Arc::ptr_eq(&a, &b), "the second call is a cache hit");
    let short = key.token(Some("k1"), &with(&[("exp", json!(now_secs() + 1))]));
    assert!(p.verify(&short).await.is_ok());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        p.verify(&short).await.unwrap_err(),
        Failure::Expired,
        "a hit re-checks exp"
    );
    // Without a cache every call verifies anew.
    cfg.token_cache_size = 0;
    let p = provider(&cfg);
    let (a, b) = (
        p.verify(&token).await.unwrap(),
        p.verify(&token).await.unwrap(),
    );
    assert!(!Arc::ptr_eq(&a, &b));
    assert_eq!(a, b);
}

#[tokio::test]
async fn claim_mapping_reaches_the_principal() {
    let key = TestKey::ed25519();
    let algs = [Algorithm::EdDSA];
    let mut cfg = config(&algs, static_jwks(&jwks(&[key.jwk("k1")]), &algs));
    cfg.roles_claim = "realm_access.roles".into();
    cfg.tenant_claim = Some("tid".into());
    cfg.mfa_acr_values = vec!["gold".into()];
    let p = provider(&cfg);
    let c = with(&[
        ("realm_access", json!({"roles": ["teller"]})),
        ("scp", json!("accounts:read")),
        ("tid", json!("acme")),
        ("acr", json!("gold")),
    ]);
    let principal = p.verify(&key.token(Some("k1"), &c)).await.unwrap();
    assert_eq!(principal.roles, vec![Arc::<str>::from("teller")]);
    assert!(principal.has_scopes(&["accounts:read".into()]));
    assert_eq!(principal.tenant.as_deref(), Some("acme"));
    assert!(principal.mfa);
    assert_eq!(principal.method, crate::authn::AuthMethod::Jwt);
}

/// The cache-hit path is the JWT cost of almost every request: it must stay
/// well under the ~24 µs/request budget (aim: < 1 µs). Prints the cost.
#[tokio::test]
#[ignore = "timing: run with `cargo test --release -- --ignored cache_hit_cost`"]
async fn cache_hit_cost() {
    let key = TestKey::rsa(Algorithm::RS256, 0);
    let p = one_key(&key);
    let c = with(&[
        ("roles", json!(["teller", "auditor", "reader"])),
        (
            "scope",
            json!("accounts:read accounts:write transfers:create"),
        ),
        ("email", json!("alice@bank.example")),
    ]);
    let token = key.token(Some("k1"), &c);
    let uncached = std::time::Instant::now();
    p.verify(&token).await.unwrap();
    let uncached = uncached.elapsed();
    let n: u32 = 200_000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(p.verify(std::hint::black_box(&token)).await.unwrap());
    }
    let per_hit = start.elapsed() / n;
    println!(
        "token {} bytes: first verify {uncached:?}, cache hit {per_hit:?}",
        token.len()
    );
}
