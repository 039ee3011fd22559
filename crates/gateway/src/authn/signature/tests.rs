mod config_check;

use std::time::Duration;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::config::Secret;
use crate::metrics::Metrics;

/// RFC 9421 B.1.5 `test-shared-secret` (base64).
const RFC_SHARED_SECRET: &str =
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";
/// RFC 9421 B.1.4 `test-key-ed25519`, public (SPKI PEM) and private (PKCS#8).
const RFC_ED25519_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\n\
    MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n\
    -----END PUBLIC KEY-----\n";
const RFC_ED25519_PRIVATE: &str =
    "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";
/// RFC 9421 B.2 `created`.
const RFC_CREATED: u64 = 1_618_884_473;
const NOW: u64 = 1_700_000_000;

fn hmac_secret() -> Secret {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("k"), RFC_SHARED_SECRET).expect("write");
    Secret::resolve("file:k", dir.path()).expect("secret")
}

fn ed25519_pair() -> Ed25519KeyPair {
    let der = STANDARD.decode(RFC_ED25519_PRIVATE).expect("base64");
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).expect("pkcs8")
}

fn keys() -> Vec<KeyConfig> {
    let public = config::parse_ed25519(RFC_ED25519_PUBLIC.as_bytes()).expect("public key");
    vec![
        KeyConfig {
            keyid: "test-shared-secret".into(),
            material: KeyMaterial::HmacSha256(hmac_secret(), SecretEncoding::Base64),
            subject: "billing-batch".into(),
            roles: vec!["batch".into()],
            tenant: Some("acme".into()),
        },
        KeyConfig {
            keyid: "test-key-ed25519".into(),
            material: KeyMaterial::Ed25519(public),
            subject: "test-key-ed25519".into(),
            roles: vec![],
            tenant: None,
        },
    ]
}

fn config() -> SignaturesConfig {
    SignaturesConfig {
        keys: keys(),
        max_age: Duration::from_secs(300),
        clock_skew: Duration::from_secs(30),
        require_nonce: true,
        nonce_cache_size: 1000,
        required_components: ["@method", "@path", "@authority"]
            .map(String::from)
            .to_vec(),
        require_content_digest: true,
        label: None,
    }
}

fn verifier(cfg: &SignaturesConfig) -> Signatures {
    Signatures::new("partners", cfg, &Shared::new(Arc::new(Metrics::new()))).expect("verifier")
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).expect("request").into_parts().0
}

/// The RFC 9421 B.2 test request.
fn rfc_request(input: &str, signature: &str) -> Parts {
    request(
        "POST",
        "/foo?param=Value&Pet=dog",
        &[
            ("host", "example.com"),
            ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("content-type", "application/json"),
            (
                "content-digest",
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            ),
            ("content-length", "18"),
            ("signature-input", input),
            ("signature", signature),
        ],
    )
}

/// The signature base from explicit component values (a reference independent of `base`).
fn base_of(lines: &[(&str, &str)], params: &str) -> Vec<u8> {
    let mut s = String::new();
    for (name, value) in lines {
        s.push_str(&format!("\"{name}\": {value}\n"));
    }
    s.push_str(&format!("\"@signature-params\": {params}"));
    s.into_bytes()
}

fn sign_hmac(base: &[u8]) -> String {
    let secret = STANDARD.decode(RFC_SHARED_SECRET).expect("base64");
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), base);
    STANDARD.encode(tag.as_ref())
}

fn sign_ed25519(base: &[u8]) -> String {
    STANDARD.encode(ed25519_pair().sign(base).as_ref())
}

/// A GET signed with HMAC over method, path, authority, with `params` after the list.
fn signed_get(method: &str, path: &str, params: &str) -> Parts {
    let list = format!("(\"@method\" \"@path\" \"@authority\");{params}");
    let base = base_of(
        &[
            ("@method", method),
            ("@path", path),
            ("@authority", "example.com"),
        ],
        &list,
    );
    let sig = sign_hmac(&base);
    request(
        "GET",
        path,
        &[
            ("host", "example.com"),
            ("signature-input", &format!("sig1={list}")),
            ("signature", &format!("sig1=:{sig}:")),
        ],
    )
}

fn params(created: u64, nonce: &str) -> String {
    format!("created={created};keyid=\"test-shared-secret\";nonce=\"{nonce}\"")
}

#[test]
fn rfc9421_b25_hmac_vector() {
    let mut cfg = config();
    cfg.required_components = vec!["@authority".into()];
    cfg.require_nonce = false;
    cfg.require_content_digest = false;
    let parts = rfc_request(
        r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#,
        "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:",
    );
    let p = verifier(&cfg)
        .verify_at(&parts, "example.com", RFC_CREATED + 1)
        .expect("RFC 9421 B.2.5 verifies");
    assert_eq!(&*p.subject, "billing-batch");
    assert_eq!(&*p.issuer, "partners");
    assert_eq!(p.method, AuthMethod::Signature);
    assert_eq!(p.credential_id.as_deref(), Some("test-shared-secret"));
    assert_eq!(p.issued_at, Some(RFC_CREATED));
    assert_eq!(p.roles, vec![Arc::<str>::from("batch")]);
    assert_eq!(p.tenant.as_deref(), Some("acme"));
    // The request has a body the signature does not cover: refused by default.
    cfg.require_content_digest = true;
    assert_eq!(
        verifier(&cfg).verify_at(&parts, "example.com", RFC_CREATED + 1),
        Err(Failure::Incomplete)
    );
}

#[test]
fn rfc9421_b26_ed25519_vector() {
    let mut cfg = config();
    cfg.require_nonce = false;
    cfg.require_content_digest = false;
    let parts = rfc_request(
        r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#,
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
    );
    let p = verifier(&cfg)
        .verify_at(&parts, "example.com", RFC_CREATED + 1)
        .expect("RFC 9421 B.2.6 verifies");
    assert_eq!(&*p.subject, "test-key-ed25519");
    // Tampering with a covered field breaks it.
    let mut tampered = parts;
    tampered
        .headers
        .insert("content-length", http::HeaderValue::from_static("19"));
    assert_eq!(
        verifier(&cfg).verify_at(&tampered, "example.com", RFC_CREATED + 1),
        Err(Failure::BadSignature)
    );
}

#[test]
fn rfc_test_keys_are_the_pair_we_sign_with() {
    let public = config::parse_ed25519(RFC_ED25519_PUBLIC.as_bytes()).expect("public");
    assert_eq!(ed25519_pair().public_key().as_ref(), public.as_slice());
    let raw = STANDARD.encode(public);
    assert_eq!(config::parse_ed25519(raw.as_bytes()), Ok(public));
    assert!(
        config::parse_ed25519(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .is_err()
    );
    assert!(config::parse_ed25519(STANDARD.encode([1u8; 31]).as_bytes()).is_err());
}

#[test]
fn good_hmac_over_every_derived_component_and_a_repeated_field() {
    let list = format!(
        "(\"@method\" \"@target-uri\" \"@authority\" \"@scheme\" \"@request-target\" \
         \"@path\" \"@query\" \"x-tag\");{}",
        params(NOW - 10, "n-1")
    );
    let base = base_of(
        &[
            ("@method", "GET"),
            (
                "@target-uri",
                "https://Example.com:443/accounts/7?a=1&b=%20",
            ),
            ("@authority", "example.com"),
            ("@scheme", "https"),
            ("@request-target", "/accounts/7?a=1&b=%20"),
            ("@path", "/accounts/7"),
            ("@query", "?a=1&b=%20"),
            ("x-tag", "one, two"),
        ],
        &list,
    );
    let mut parts = request(
        "GET",
        "/accounts/7?a=1&b=%20",
        &[
            ("host", "Example.com:443"),
            ("x-tag", "  one "),
            ("x-tag", "two"),
            ("signature-input", &format!("sig1={list}")),
            ("signature", &format!("sig1=:{}:", sign_hmac(&base))),
        ],
    );
    parts.extensions.insert(RequestScheme::Https);
    let v = verifier(&config());
    let p = v
        .verify_at(&parts, "Example.com:443", NOW)
        .expect("verifies");
    assert_eq!(p.credential_id.as_deref(), Some("test-shared-secret"));
    assert!(!v.requires_digest(&parts), "no body");
    // Without the scheme, @scheme and the default port differ: the base changes.
    parts.extensions.clear();
    assert_eq!(
        verifier(&config()).verify_at(&parts, "Example.com:443", NOW),
        Err(Failure::BadSignature)
    );
}

#[test]
fn good_ed25519_with_a_signed_body_digest() {
    let body = br#"{"hello": "world"}"#;
    let digest = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    let list = format!(
        "(\"@method\" \"@path\" \"@authority\" \"content-digest\");created={};\
         keyid=\"test-key-ed25519\";nonce=\"abc\";alg=\"ed25519\";tag=\"app\"",
        NOW - 1
    );
    let base = base_of(
        &[
            ("@method", "POST"),
            ("@path", "/transfers"),
            ("@authority", "example.com"),
            ("content-digest", digest),
        ],
        &list,
    );
    let parts = request(
        "POST",
        "/transfers",
        &[
            ("content-length", "18"),
            ("content-digest", digest),
            ("signature-input", &format!("sig1={list}")),
            ("signature", &format!("sig1=:{}:", sign_ed25519(&base))),
        ],
    );
    let v = verifier(&config());
    let p = v.verify_at(&parts, "example.com", NOW).expect("verifies");
    assert_eq!(&*p.subject, "test-key-ed25519");
    assert!(v.requires_digest(&parts));
    assert_eq!(check_digest(&parts.headers, body), Ok(()));
    assert_eq!(
        check_digest(&parts.headers, b"{\"hello\": \"world!\"}"),
        Err(Failure::Incomplete)
    );
}

#[test]
fn altered_signature_method_path_or_header_fail() {
    let v = verifier(&config());
    let good = signed_get("GET", "/a", &params(NOW, "alt"));
    let mut bad_sig = good.clone();
    let sent = good.headers["signature"].to_str().expect("ascii");
    let mut bytes = STANDARD
        .decode(sent.trim_start_matches("sig1=:").trim_end_matches(':'))
        .expect("base64");
    bytes[0] ^= 1;
    let altered = format!("sig1=:{}:", STANDARD.encode(&bytes));
    bad_sig
        .headers
        .insert("signature", altered.parse().expect("value"));
    assert_eq!(
        v.verify_at(&bad_sig, "example.com", NOW),
        Err(Failure::BadSignature)
    );
    let mut method = good.clone();
    method.method = http::Method::DELETE;
    assert_eq!(
        v.verify_at(&method, "example.com", NOW),
        Err(Failure::BadSignature)
    );
    let mut path = good.clone();
    path.uri = "/b".parse().expect("uri");
    assert_eq!(
        v.verify_at(&path, "example.com", NOW),
        Err(Failure::BadSignature)
    );
    assert_eq!(
        v.verify_at(&good, "evil.example", NOW),
        Err(Failure::BadSignature)
    );
    // A failed attempt does not burn the nonce: the genuine request still passes.
    assert!(v.verify_at(&good, "example.com", NOW).is_ok());
}

#[test]
fn a_covered_header_must_be_present() {
    let list = format!(
        "(\"@method\" \"@path\" \"@authority\" \"x-missing\");{}",
        params(NOW, "m")
    );
    let parts = request(
        "GET",
        "/a",
        &[
            ("signature-input", &format!("sig1={list}")),
            ("signature", "sig1=:AAAA:"),
        ],
    );
    assert_eq!(
        verifier(&config()).verify_at(&parts, "example.com", NOW),
        Err(Failure::Malformed)
    );
}

#[test]
fn required_components_created_and_nonce_must_be_covered() {
    let v = verifier(&config());
    let list = format!("(\"@method\" \"@authority\");{}", params(NOW, "x"));
    let base = base_of(&[("@method", "GET"), ("@authority", "example.com")], &list);
    let parts = request(
        "GET",
        "/a",
        &[
            ("signature-input", &format!("sig1={list}")),
            ("signature", &format!("sig1=:{}:", sign_hmac(&base))),
        ],
    );
    assert_eq!(
        v.verify_at(&parts, "example.com", NOW),
        Err(Failure::Incomplete),
        "no @path"
    );
    let no_nonce = signed_get(
        "GET",
        "/a",
        &format!("created={NOW};keyid=\"test-shared-secret\""),
    );
    assert_eq!(
        v.verify_at(&no_nonce, "example.com", NOW),
        Err(Failure::Incomplete)
    );
    let no_created = signed_get("GET", "/a", "keyid=\"test-shared-secret\";nonce=\"q\"");
    assert_eq!(
        v.verify_at(&no_created, "example.com", NOW),
        Err(Failure::Incomplete)
    );
    // A body (or a Content-Digest field) needs content-digest covered.
    let mut with_body = signed_get("GET", "/a", &params(NOW, "b"));
    with_body
        .headers
        .insert("content-length", http::HeaderValue::from_static("5"));
    assert_eq!(
        v.verify_at(&with_body, "example.com", NOW),
        Err(Failure::Incomplete)
    );
    let mut with_digest = signed_get("GET", "/a", &params(NOW, "c"));
    with_digest.headers.insert(
        "content-digest",
        http::HeaderValue::from_static("sha-256=:AA==:"),
    );
    assert_eq!(
        v.verify_at(&with_digest, "example.com", NOW),
        Err(Failure::Incomplete)
    );
}

#[test]
fn freshness_created_expires_and_skew() {
    let v = verifier(&config());
    let at = |p: &str, now| v.verify_at(&signed_get("GET", "/a", p), "example.com", now);
    assert_eq!(
        at(&params(NOW - 301, "old"), NOW),
        Err(Failure::Expired),
        "older than max_age"
    );
    assert!(at(&params(NOW - 300, "edge"), NOW).is_ok());
    assert_eq!(
        at(&params(NOW + 31, "future"), NOW),
        Err(Failure::NotYetValid)
    );
    assert!(
        at(&params(NOW + 30, "skewed"), NOW).is_ok(),
        "within clock_skew"
    );
    let expired = format!("{};expires={}", params(NOW - 100, "exp"), NOW - 31);
    assert_eq!(at(&expired, NOW), Err(Failure::Expired));
    let live = format!("{};expires={}", params(NOW - 100, "live"), NOW + 60);
    assert_eq!(at(&live, NOW).expect("ok").expires_at, Some(NOW + 60));
}

#[test]
fn a_nonce_is_accepted_once_per_key_and_across_reloads() {
    let shared = Shared::new(Arc::new(Metrics::new()));
    let v = Signatures::new("partners", &config(), &shared).expect("verifier");
    let parts = signed_get("GET", "/a", &params(NOW, "once"));
    assert!(v.verify_at(&parts, "example.com", NOW).is_ok());
    assert_eq!(
        v.verify_at(&parts, "example.com", NOW + 1),
        Err(Failure::Replayed)
    );
    let reloaded = Signatures::new("partners", &config(), &shared).expect("verifier");
    assert_eq!(
        reloaded.verify_at(&parts, "example.com", NOW + 2),
        Err(Failure::Replayed),
        "a reload keeps the replay cache"
    );
    // After the window the signature is too old anyway.
    assert_eq!(
        reloaded.verify_at(&parts, "example.com", NOW + 400),
        Err(Failure::Expired)
    );
}

#[test]
fn missing_unknown_malformed_and_wrong_algorithm() {
    let v = verifier(&config());
    assert_eq!(
        v.verify_at(&request("GET", "/a", &[]), "example.com", NOW),
        Err(Failure::Missing)
    );
    let only_input = request("GET", "/a", &[("signature-input", "sig1=();created=1")]);
    assert_eq!(
        v.verify_at(&only_input, "example.com", NOW),
        Err(Failure::Malformed)
    );
    let unknown = signed_get(
        "GET",
        "/a",
        &format!("created={NOW};keyid=\"nobody\";nonce=\"u\""),
    );
    assert_eq!(
        v.verify_at(&unknown, "example.com", NOW),
        Err(Failure::UnknownKey)
    );
    let wrong_alg = signed_get(
        "GET",
        "/a",
        &format!("{};alg=\"ed25519\"", params(NOW, "w")),
    );
    assert_eq!(
        v.verify_at(&wrong_alg, "example.com", NOW),
        Err(Failure::AlgorithmNotAllowed)
    );
    let right_alg = signed_get(
        "GET",
        "/a",
        &format!("{};alg=\"hmac-sha256\"", params(NOW, "r")),
    );
    assert!(v.verify_at(&right_alg, "example.com", NOW).is_ok());
    for (input, sig) in [
        (
            "sig1=(\"@method\";sf);created=1;keyid=\"test-shared-secret\"",
            "sig1=:AA==:",
        ),
        (
            "sig1=(\"@status\");keyid=\"test-shared-secret\"",
            "sig1=:AA==:",
        ),
        (
            "sig1=(\"@method\" \"@method\");keyid=\"test-shared-secret\"",
            "sig1=:AA==:",
        ),
        (
            "sig1=(\"Host\");keyid=\"test-shared-secret\"",
            "sig1=:AA==:",
        ),
        (
            "sig1=();created=\"1\";keyid=\"test-shared-secret\"",
            "sig1=:AA==:",
        ),
        ("sig1=();keyid=\"test-shared-secret\"", "sig1=\"not bytes\""),
        ("sig1=();keyid=\"test-shared-secret\"", "sig2=:AA==:"),
        ("sig1=(((", "sig1=:AA==:"),
    ] {
        let parts = request(
            "GET",
            "/a",
            &[("signature-input", input), ("signature", sig)],
        );
        assert_eq!(
            v.verify_at(&parts, "example.com", NOW),
            Err(Failure::Malformed),
            "{input}"
        );
    }
    let many: Vec<String> = (0..65).map(|i| format!("\"x-h{i}\"")).collect();
    let input = format!("sig1=({});keyid=\"test-shared-secret\"", many.join(" "));
    let parts = request(
        "GET",
        "/a",
        &[("signature-input", &input), ("signature", "sig1=:AA==:")],
    );
    assert_eq!(
        v.verify_at(&parts, "example.com", NOW),
        Err(Failure::Malformed),
        "too many components"
    );
}

#[test]
fn the_configured_label_is_the_one_checked_and_params_are_used_as_received() {
    // Non-canonical but valid spacing inside the inner list must be kept as sent.
    let list = format!(
        "(  \"@method\"  \"@path\" \"@authority\" );{}",
        params(NOW, "lbl")
    );
    let base = base_of(
        &[
            ("@method", "GET"),
            ("@path", "/a"),
            ("@authority", "example.com"),
        ],
        &list,
    );
    let parts = request(
        "GET",
        "/a",
        &[
            (
                "signature-input",
                "other=(\"@method\");keyid=\"test-key-ed25519\"",
            ),
            ("signature-input", &format!("mine={list}")),
            (
                "signature",
                &format!("other=:AA==:, mine=:{}:", sign_hmac(&base)),
            ),
        ],
    );
    let mut cfg = config();
    cfg.label = Some("mine".into());
    assert!(verifier(&cfg).verify_at(&parts, "example.com", NOW).is_ok());
    cfg.label = Some("absent".into());
    assert_eq!(
        verifier(&cfg).verify_at(&parts, "example.com", NOW),
        Err(Failure::Missing)
    );
    // Without a label the first label with a known keyid is taken: "other".
    assert_eq!(
        verifier(&config()).verify_at(&parts, "example.com", NOW),
        Err(Failure::Incomplete),
        "`other` covers only @method"
    );
}

#[test]
fn requires_digest_when_a_body_may_follow() {
    let v = verifier(&config());
    assert!(!v.requires_digest(&request("GET", "/", &[])));
    assert!(!v.requires_digest(&request("POST", "/", &[("content-length", "0")])));
    assert!(v.requires_digest(&request("POST", "/", &[("content-length", "3")])));
    assert!(v.requires_digest(&request("POST", "/", &[("transfer-encoding", "chunked")])));
    assert!(v.requires_digest(&request(
        "GET",
        "/",
        &[("content-digest", "sha-256=:AA==:")]
    )));
    let mut h2 = request("POST", "/", &[]);
    h2.version = http::Version::HTTP_2;
    assert!(
        v.requires_digest(&h2),
        "HTTP/2 bodies need no Content-Length"
    );
}

#[test]
fn content_digest_rfc9530_vectors() {
    let body = br#"{"hello": "world"}"#;
    let h = |v: &str| request("POST", "/", &[("content-digest", v)]).headers;
    let sha256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    let sha512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
    assert_eq!(check_digest(&h(sha256), body), Ok(()));
    assert_eq!(check_digest(&h(sha512), body), Ok(()));
    assert_eq!(
        check_digest(&h(&format!("{sha256}, {sha512}, md5=:AA==:")), body),
        Ok(())
    );
    assert_eq!(
        check_digest(&h(sha256), b"{\"hello\": \"World\"}"),
        Err(Failure::Incomplete)
    );
    assert_eq!(
        check_digest(&h(&format!("{sha256}, sha-512=:AA==:")), body),
        Err(Failure::Incomplete),
        "every supported algorithm must match"
    );
    assert_eq!(
        check_digest(&h("md5=:AA==:"), body),
        Err(Failure::Incomplete)
    );
    assert_eq!(
        check_digest(&h("sha-256=\"text\""), body),
        Err(Failure::Malformed)
    );
    assert_eq!(check_digest(&h("sha-256=:"), body), Err(Failure::Malformed));
    let none = request("POST", "/", &[]).headers;
    assert_eq!(
        check_digest(&none, body),
        Err(Failure::Incomplete),
        "missing"
    );
    assert_eq!(check_digest(&none, b""), Ok(()), "nothing to vouch for");
}
