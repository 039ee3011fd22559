//! HTTP Message Signatures (RFC 9421) through the real gateway: requests signed
//! here (hmac-sha256 and ed25519, the signature base built per RFC 9421 §2.5, the
//! body covered by `Content-Digest` per RFC 9530), verified by a `signatures`
//! provider bound to the spec's `{type: http, scheme: signature}` scheme.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;

use super::reasons;
use crate::support::*;
use crate::tls::{Ca, https, tls_client, tls_config, tls_gateway_with};

const SIG_SPEC: &str = r#"
openapi: 3.1.0
info: { title: Signed API, version: "1" }
paths:
  /public:
    get: { operationId: pub, security: [], responses: { "200": { description: ok } } }
  /orders:
    get: { operationId: listOrders, security: [{ sig: [] }], responses: { "200": { description: ok } } }
    post: { operationId: createOrder, security: [{ sig: [] }], responses: { "200": { description: ok } } }
components:
  securitySchemes:
    sig: { type: http, scheme: signature }
"#;

/// The HMAC key's 32 bytes (given to the gateway base64-encoded, in a file).
const HMAC_SECRET: &[u8; 32] = b"k7#Qv!2pZr9@xLm4$Tn8&Wb1*Hd6^Yc3";

/// Signatures are accepted for 60 s (plus the default 30 s clock skew);
/// `{OPTIONS}` takes more provider settings.
const SIGNERS: &str = r#"
  signers:
    signatures:
      max_age: 60s
{OPTIONS}      keys:
        - { keyid: batch-hmac, algorithm: hmac-sha256, secret: "file:hmac.secret", secret_encoding: base64, subject: billing-batch, roles: [billing] }
        - { keyid: partner-ed, algorithm: ed25519, public_key: partner.pub.pem, subject: partner-b, roles: [partner], tenant: acme }
"#;

/// The keys the test signs with.
struct Keys {
    ed: Ed25519KeyPair,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            ed: Ed25519KeyPair::generate().unwrap(),
        }
    }

    /// The Ed25519 public key as a PEM SubjectPublicKeyInfo (RFC 8410).
    fn ed_pem(&self) -> String {
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(self.ed.public_key().as_ref());
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(spki)
        )
    }

    fn hmac(&self) -> Sig<'_> {
        Sig::new(Key::Hmac(HMAC_SECRET), "batch-hmac", "hmac-sha256")
    }

    fn ed25519(&self) -> Sig<'_> {
        Sig::new(Key::Ed25519(&self.ed), "partner-ed", "ed25519")
    }
}

async fn sig_gateway(up: &Upstream, keys: &Keys) -> Gateway {
    sig_gateway_with(up, keys, "").await
}

/// `options`: more provider settings (lines indented 6 spaces).
async fn sig_gateway_with(up: &Upstream, keys: &Keys, options: &str) -> Gateway {
    sig_gateway_from(&sig_config(&config(&up.url(), ""), options), keys).await
}

/// A gateway from a config made by `sig_config`, with the files it needs.
async fn sig_gateway_from(text: &str, keys: &Keys) -> Gateway {
    let files = sig_files(keys);
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    gateway_with(text, &files).await
}

/// `config_text` (made by `config`) with `sig` → `signers` instead of `bearer` → `idp`.
fn sig_config(config_text: &str, options: &str) -> String {
    config_text
        .replace(
            "    security: { bearer: idp }\n",
            "    security: { sig: signers }\n",
        )
        .replace(
            "identity_providers:\n",
            &format!(
                "identity_providers:{}",
                SIGNERS.replace("{OPTIONS}", options)
            ),
        )
}

/// The spec and the key files `sig_config` refers to.
fn sig_files(keys: &Keys) -> Vec<(&'static str, String)> {
    vec![
        ("spec.yaml", SIG_SPEC.to_owned()),
        ("hmac.secret", format!("{}\n", STANDARD.encode(HMAC_SECRET))),
        ("partner.pub.pem", keys.ed_pem()),
    ]
}

// ---------------------------------------------------------------------------------------
// A small RFC 9421 signer

enum Key<'a> {
    Hmac(&'a [u8]),
    Ed25519(&'a Ed25519KeyPair),
}

/// What one signature covers and says about itself.
struct Sig<'a> {
    key: Key<'a>,
    keyid: &'a str,
    alg: &'a str,
    components: Vec<&'static str>,
    created: u64,
    nonce: Option<String>,
}

/// The components a request with a body is signed over.
const WITH_DIGEST: [&str; 4] = ["@method", "@authority", "@path", "content-digest"];

impl<'a> Sig<'a> {
    /// Covers `@method`, `@authority`, `@path` (and `content-digest` when there is a
    /// body), created now, with a fresh nonce.
    fn new(key: Key<'a>, keyid: &'a str, alg: &'a str) -> Sig<'a> {
        Sig {
            key,
            keyid,
            alg,
            components: vec!["@method", "@authority", "@path"],
            created: now(),
            nonce: Some(fresh_nonce()),
        }
    }

    fn covering(mut self, components: &[&'static str]) -> Self {
        self.components = components.to_vec();
        self
    }

    fn keyid(mut self, keyid: &'a str) -> Self {
        self.keyid = keyid;
        self
    }

    fn alg(mut self, alg: &'a str) -> Self {
        self.alg = alg;
        self
    }

    fn created(mut self, created: u64) -> Self {
        self.created = created;
        self
    }

    fn without_nonce(mut self) -> Self {
        self.nonce = None;
        self
    }

    /// Signs `method target` with `body` for `gw`'s plain HTTP listener.
    fn sign(&self, gw: &Gateway, method: Method, target: &str, body: &[u8]) -> Signed {
        self.sign_for(&gw.url, method, target, body)
    }

    /// Signs `method target` (path and query) with `body`, to be sent to `origin`
    /// (`scheme://authority`): the signature base of RFC 9421 §2.5, label `sig1`.
    fn sign_for(&self, origin: &str, method: Method, target: &str, body: &[u8]) -> Signed {
        let (scheme, authority) = origin.split_once("://").unwrap();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(&'static str, String)> = Vec::new();
        if !body.is_empty() || self.components.contains(&"content-digest") {
            headers.push(("content-digest", content_digest(body)));
        }
        let mut base = String::new();
        for c in &self.components {
            let value = match *c {
                "@method" => method.as_str().to_owned(),
                "@authority" => authority.to_owned(),
                "@path" => path.to_owned(),
                "@query" => format!("?{query}"),
                "@scheme" => scheme.to_owned(),
                "@target-uri" => format!("{origin}{target}"),
                "@request-target" => target.to_owned(),
                field => headers.iter().find(|(n, _)| *n == field).unwrap().1.clone(),
            };
            base.push_str(&format!("\"{c}\": {value}\n"));
        }
        let list: Vec<String> = self.components.iter().map(|c| format!("\"{c}\"")).collect();
        let mut params = format!("({});created={}", list.join(" "), self.created);
        if let Some(n) = &self.nonce {
            params.push_str(&format!(";nonce=\"{n}\""));
        }
        params.push_str(&format!(";keyid=\"{}\";alg=\"{}\"", self.keyid, self.alg));
        base.push_str(&format!("\"@signature-params\": {params}"));
        let signature = match &self.key {
            Key::Hmac(secret) => {
                hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), base.as_bytes())
                    .as_ref()
                    .to_vec()
            }
            Key::Ed25519(pair) => pair.sign(base.as_bytes()).as_ref().to_vec(),
        };
        headers.push(("signature-input", format!("sig1={params}")));
        headers.push((
            "signature",
            format!("sig1=:{}:", STANDARD.encode(signature)),
        ));
        Signed {
            method,
            url: format!("{origin}{target}"),
            headers,
            body: body.to_vec(),
        }
    }
}

/// `Content-Digest` (RFC 9530) with SHA-256.
fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(digest(&SHA256, body)))
}

fn fresh_nonce() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A signed request, ready to send (or to tamper with first).
#[derive(Clone)]
struct Signed {
    method: Method,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Signed {
    fn header_mut(&mut self, name: &str) -> &mut String {
        &mut self.headers.iter_mut().find(|(n, _)| *n == name).unwrap().1
    }

    async fn send(&self) -> reqwest::Response {
        self.send_with(&client()).await
    }

    async fn send_with(&self, client: &reqwest::Client) -> reqwest::Response {
        let mut req = client.request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            req = req.header(*name, value);
        }
        if !self.body.is_empty() {
            req = req.body(self.body.clone());
        }
        req.send().await.unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn a_good_hmac_signature_on_a_get_passes_with_the_key_subject() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;

    let resp = keys
        .hmac()
        .sign(&gw, Method::GET, "/orders", b"")
        .send()
        .await;
    assert_eq!(resp.status(), 200);
    let h = up.last().headers;
    assert_eq!(h["x-portcullis-subject"], "billing-batch");
    assert_eq!(h["x-portcullis-auth-method"], "signature");
    assert_eq!(h["x-portcullis-issuer"], "signers");
    assert_eq!(h["x-portcullis-roles"], "billing");

    // Covering the digest of the empty body is fine too.
    let resp = keys
        .hmac()
        .covering(&WITH_DIGEST)
        .sign(&gw, Method::GET, "/orders", b"")
        .send()
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(up.requests().len(), 2);

    reasons(&gw, 2).await;
    let audit = gw.audit_lines();
    let passed = audit.iter().find(|e| e["event"] == "request").unwrap();
    assert_eq!(passed["auth"]["method"], "signature");
    assert_eq!(passed["auth"]["subject"], "billing-batch");
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics
            .contains(r#"portcullis_auth_total{api="test",method="signature",result="success"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_good_ed25519_signature_on_a_post_forwards_the_exact_body() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;

    // Large enough to arrive in several chunks.
    let body: Vec<u8> = format!(
        "{{\"amount\":\"12.50\",\"memo\":\"{}\"}}",
        "é-x".repeat(30_000)
    )
    .into_bytes();
    let signed = keys
        .ed25519()
        .covering(&WITH_DIGEST)
        .sign(&gw, Method::POST, "/orders", &body);
    let resp = signed.send().await;
    assert_eq!(resp.status(), 200);
    let seen = up.last();
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.body.as_ref(),
        body.as_slice(),
        "the upstream received the exact body"
    );
    assert_eq!(
        seen.headers["content-digest"],
        content_digest(&body).as_str()
    );
    assert_eq!(seen.headers["x-portcullis-subject"], "partner-b");
    assert_eq!(seen.headers["x-portcullis-tenant"], "acme");
    assert_eq!(seen.headers["x-portcullis-roles"], "partner");
    assert_eq!(seen.headers["x-portcullis-auth-method"], "signature");
}

#[tokio::test]
async fn a_body_altered_after_signing_is_401_and_the_upstream_sees_nothing() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;
    let body = br#"{"to":"alice","amount":"10.00"}"#;

    for altered in [
        &br#"{"to":"mallory","amount":"10.00"}"#[..],
        br#"{"to":"alice","amount":"99.00"}"#,
    ] {
        let mut signed =
            keys.ed25519()
                .covering(&WITH_DIGEST)
                .sign(&gw, Method::POST, "/orders", body);
        signed.body = altered.to_vec();
        let resp = signed.send().await;
        assert!(resp.headers().get("www-authenticate").is_none());
        assert_problem(resp, 401, "unauthenticated").await;
    }
    // A body the signature does not cover at all (no content-digest component).
    let resp = keys
        .ed25519()
        .sign(&gw, Method::POST, "/orders", body)
        .send()
        .await;
    assert_problem(resp, 401, "unauthenticated").await;
    // A covered digest of the empty body, and a body sent anyway.
    let mut signed = keys
        .hmac()
        .covering(&WITH_DIGEST)
        .sign(&gw, Method::POST, "/orders", b"");
    signed.body = body.to_vec();
    assert_problem(signed.send().await, 401, "unauthenticated").await;
    assert!(up.requests().is_empty(), "nothing reached the upstream");

    let reasons = reasons(&gw, 4).await;
    assert_eq!(
        reasons,
        [
            "unauthenticated: content-digest: incomplete",
            "unauthenticated: content-digest: incomplete",
            "unauthenticated: sig: incomplete",
            "unauthenticated: content-digest: incomplete",
        ]
    );
}

#[tokio::test]
async fn a_tampered_signature_is_401_and_does_not_burn_the_nonce() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;

    for sig in [keys.hmac(), keys.ed25519()] {
        let signed = sig.sign(&gw, Method::GET, "/orders", b"");
        // One bit of the signature flipped.
        let mut flipped = signed.clone();
        let value = flipped.header_mut("signature");
        let mut bytes = STANDARD
            .decode(value.trim_start_matches("sig1=:").trim_end_matches(':'))
            .unwrap();
        bytes[0] ^= 1;
        *value = format!("sig1=:{}:", STANDARD.encode(bytes));
        assert_problem(flipped.send().await, 401, "unauthenticated").await;
        // The parameters changed after signing (a later `created`).
        let mut later = signed.clone();
        let input = later.header_mut("signature-input");
        *input = input.replace(
            &format!("created={}", sig.created),
            &format!("created={}", sig.created + 1),
        );
        assert_problem(later.send().await, 401, "unauthenticated").await;
        // Another method than the one signed.
        let mut moved = signed.clone();
        moved.method = Method::POST;
        assert_problem(moved.send().await, 401, "unauthenticated").await;
        assert!(up.requests().is_empty());
        // Forgeries are not remembered: the genuine request with that nonce passes.
        assert_eq!(signed.send().await.status(), 200);
        up.seen.lock().unwrap().clear();
    }
    let reasons = reasons(&gw, 8).await;
    let bad = reasons
        .iter()
        .filter(|r| *r == "unauthenticated: sig: bad_signature")
        .count();
    assert_eq!(bad, 6, "{reasons:?}");
}

#[tokio::test]
async fn a_replayed_signature_is_401_replayed() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;

    let body = br#"{"to":"alice","amount":"10.00"}"#;
    let signed = keys
        .ed25519()
        .covering(&WITH_DIGEST)
        .sign(&gw, Method::POST, "/orders", body);
    assert_eq!(signed.send().await.status(), 200);
    assert_problem(signed.send().await, 401, "unauthenticated").await;
    // The same nonce in a new signature (another time) is a replay too.
    let mut again = keys.ed25519().covering(&WITH_DIGEST).created(now() - 1);
    again.nonce = signed_nonce(&signed);
    assert_problem(
        again.sign(&gw, Method::POST, "/orders", body).send().await,
        401,
        "unauthenticated",
    )
    .await;
    // Nonces are per key: another key may use it.
    let mut other = keys.hmac();
    other.nonce = signed_nonce(&signed);
    assert_eq!(
        other
            .sign(&gw, Method::GET, "/orders", b"")
            .send()
            .await
            .status(),
        200
    );
    assert_eq!(up.requests().len(), 2);

    let seen = reasons(&gw, 4).await;
    let replayed = |seen: &[String]| {
        seen.iter()
            .filter(|r| *r == "unauthenticated: sig: replayed")
            .count()
    };
    assert_eq!(replayed(&seen), 2, "{seen:?}");
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains(
            r#"portcullis_auth_total{api="test",method="signature",result="replayed"} 2"#
        ),
        "{metrics}"
    );

    // The nonces seen survive a reload that rebuilds the provider.
    let text = std::fs::read_to_string(gw.config_path()).unwrap();
    gw.write(
        "portcullis.yaml",
        &text.replace("max_age: 60s", "max_age: 61s"),
    );
    let (status, answer) = gw.reload().await;
    assert_eq!(
        (status, answer["result"].as_str()),
        (200, Some("loaded")),
        "{answer}"
    );
    assert_problem(signed.send().await, 401, "unauthenticated").await;
    assert_eq!(replayed(&reasons(&gw, 5).await), 3);
    assert_eq!(up.requests().len(), 2);
}

/// The nonce a signed request's `Signature-Input` carries.
fn signed_nonce(s: &Signed) -> Option<String> {
    let input = &s
        .headers
        .iter()
        .find(|(n, _)| *n == "signature-input")
        .unwrap()
        .1;
    let start = input.find("nonce=\"").unwrap() + 7;
    Some(input[start..start + input[start..].find('"').unwrap()].to_owned())
}

#[tokio::test]
async fn stale_and_future_signatures_are_401() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;

    // Older than max_age (60 s).
    let old = keys
        .hmac()
        .created(now() - 120)
        .sign(&gw, Method::GET, "/orders", b"");
    assert_problem(old.send().await, 401, "unauthenticated").await;
    // Further ahead than the clock skew (30 s).
    let ahead = keys
        .hmac()
        .created(now() + 120)
        .sign(&gw, Method::GET, "/orders", b"");
    assert_problem(ahead.send().await, 401, "unauthenticated").await;
    // Within both: fine.
    let recent = keys
        .hmac()
        .created(now() - 50)
        .sign(&gw, Method::GET, "/orders", b"");
    assert_eq!(recent.send().await.status(), 200);
    assert_eq!(up.requests().len(), 1);
    let reasons = reasons(&gw, 3).await;
    assert_eq!(
        reasons[..2],
        [
            "unauthenticated: sig: expired",
            "unauthenticated: sig: not_yet_valid"
        ]
    );
}

#[tokio::test]
async fn a_signature_missing_a_required_component_or_the_nonce_is_401_incomplete() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;

    let no_authority =
        keys.hmac()
            .covering(&["@method", "@path"])
            .sign(&gw, Method::GET, "/orders", b"");
    assert_problem(no_authority.send().await, 401, "unauthenticated").await;
    let no_method =
        keys.ed25519()
            .covering(&["@authority", "@path"])
            .sign(&gw, Method::GET, "/orders", b"");
    assert_problem(no_method.send().await, 401, "unauthenticated").await;
    let no_nonce = keys
        .hmac()
        .without_nonce()
        .sign(&gw, Method::GET, "/orders", b"");
    assert_problem(no_nonce.send().await, 401, "unauthenticated").await;
    assert!(up.requests().is_empty());
    assert_eq!(
        reasons(&gw, 3).await,
        ["unauthenticated: sig: incomplete"; 3]
    );
}

#[tokio::test]
async fn an_unknown_keyid_or_the_wrong_algorithm_is_401() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;

    let unknown = keys
        .hmac()
        .keyid("ghost")
        .sign(&gw, Method::GET, "/orders", b"");
    assert_problem(unknown.send().await, 401, "unauthenticated").await;
    // An HMAC made with the ed25519 key's id.
    let confused =
        keys.hmac()
            .keyid("partner-ed")
            .alg("ed25519")
            .sign(&gw, Method::GET, "/orders", b"");
    assert_problem(confused.send().await, 401, "unauthenticated").await;
    // The key's id with another algorithm named.
    let wrong_alg = keys
        .hmac()
        .alg("ed25519")
        .sign(&gw, Method::GET, "/orders", b"");
    assert_problem(wrong_alg.send().await, 401, "unauthenticated").await;
    assert!(up.requests().is_empty());
    assert_eq!(
        reasons(&gw, 3).await,
        [
            "unauthenticated: sig: unknown_key",
            "unauthenticated: sig: bad_signature",
            "unauthenticated: sig: algorithm_not_allowed",
        ]
    );
}

#[tokio::test]
async fn no_signature_is_401_with_a_signature_challenge() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;

    let resp = gw.get("/orders").await;
    let challenges = super::challenges(&resp);
    assert_eq!(challenges, ["Signature realm=\"test\""]);
    assert_problem(resp, 401, "unauthenticated").await;
    // A Signature without its Signature-Input is malformed, not missing.
    let signed = keys.hmac().sign(&gw, Method::GET, "/orders", b"");
    let mut half = signed.clone();
    half.headers.retain(|(n, _)| *n != "signature-input");
    assert_problem(half.send().await, 401, "unauthenticated").await;
    assert!(up.requests().is_empty());
    assert_eq!(gw.get_status("/public").await, 200);
    let reasons = reasons(&gw, 3).await;
    assert_eq!(
        reasons[..2],
        [
            "unauthenticated: sig: missing",
            "unauthenticated: sig: malformed"
        ]
    );
}

#[tokio::test]
async fn signed_requests_over_tls_cover_scheme_target_uri_and_query_on_http1_and_http2() {
    let ca = Ca::new("Test CA");
    let keys = Keys::new();
    let up = upstream().await;
    let text = sig_config(&tls_config(&up.url(), "", ""), "");
    let files = sig_files(&keys);
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let gw = tls_gateway_with(&text, &ca.server(), &files).await;
    let origin = https(&gw, "");
    let all = [
        "@method",
        "@scheme",
        "@authority",
        "@target-uri",
        "@request-target",
        "@path",
        "@query",
    ];

    for http1 in [true, false] {
        let mut c = tls_client(&ca.pem());
        if http1 {
            c = c.http1_only();
        }
        let c = c.build().unwrap();
        let signed = keys.hmac().covering(&all).sign_for(
            &origin,
            Method::GET,
            "/orders?since=2024-01-01&limit=5",
            b"",
        );
        let resp = signed.send_with(&c).await;
        assert_eq!(resp.status(), 200, "http1: {http1}");
        let v = if http1 {
            http::Version::HTTP_11
        } else {
            http::Version::HTTP_2
        };
        assert_eq!(resp.version(), v);
        assert_eq!(up.last().headers["x-portcullis-subject"], "billing-batch");
        // Signed as plain HTTP, received over TLS: `@scheme` and `@target-uri` differ.
        let plain = origin.replace("https://", "http://");
        let mut wrong = keys.ed25519().covering(&all).sign_for(
            &plain,
            Method::GET,
            "/orders?since=2024-01-01&limit=5",
            b"",
        );
        wrong.url = signed.url.clone();
        assert_problem(wrong.send_with(&c).await, 401, "unauthenticated").await;
        // Another query than the one signed.
        let mut requery = keys.ed25519().covering(&all).sign_for(
            &origin,
            Method::GET,
            "/orders?since=2024-01-01&limit=5",
            b"",
        );
        requery.url = requery.url.replace("limit=5", "limit=500");
        assert_problem(requery.send_with(&c).await, 401, "unauthenticated").await;
        // A body over HTTP/2 (which may come without Content-Length) is covered as well.
        let body = br#"{"to":"alice","amount":"10.00"}"#;
        let post =
            keys.ed25519()
                .covering(&WITH_DIGEST)
                .sign_for(&origin, Method::POST, "/orders", body);
        assert_eq!(post.send_with(&c).await.status(), 200, "http1: {http1}");
        assert_eq!(up.last().body.as_ref(), body);
    }
    assert_eq!(up.requests().len(), 4);
    let reasons = reasons(&gw, 8).await;
    let bad = reasons
        .iter()
        .filter(|r| *r == "unauthenticated: sig: bad_signature")
        .count();
    assert_eq!(bad, 4, "{reasons:?}");
}

#[tokio::test]
async fn require_content_digest_false_lets_an_uncovered_body_through() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway_with(&up, &keys, "      require_content_digest: false\n").await;
    let body = br#"{"to":"alice","amount":"10.00"}"#;
    // Signed over the method, authority and path only; no Content-Digest at all.
    let mut signed = keys.hmac().sign(&gw, Method::POST, "/orders", body);
    signed.headers.retain(|(n, _)| *n != "content-digest");
    let status = signed.send().await.status();
    assert_eq!(status, 200, "{:?}", reasons(&gw, 1).await);
    assert_eq!(up.last().body.as_ref(), body);
    // A Content-Digest that is sent is still checked.
    let mut wrong = keys.hmac().sign(&gw, Method::POST, "/orders", body);
    wrong.body = b"{}".to_vec();
    assert_problem(wrong.send().await, 401, "unauthenticated").await;
    assert_eq!(up.requests().len(), 1);
}

#[tokio::test]
async fn monitor_mode_records_a_digest_mismatch_and_lets_the_request_through() {
    let keys = Keys::new();
    let up = upstream().await;
    let text = sig_config(&config(&up.url(), ""), "").replace(
        "    security: { sig: signers }\n",
        "    security: { sig: signers }\n    mode: monitor\n",
    );
    let gw = sig_gateway_from(&text, &keys).await;
    let body = br#"{"to":"alice","amount":"10.00"}"#;

    // A forged signature: recorded, let through without a principal.
    let mut forged = keys
        .ed25519()
        .covering(&WITH_DIGEST)
        .sign(&gw, Method::POST, "/orders", body);
    *forged.header_mut("signature") = format!("sig1=:{}:", STANDARD.encode([7u8; 64]));
    assert_eq!(forged.send().await.status(), 200);
    assert!(!up.last().headers.contains_key("x-portcullis-subject"));
    // A good signature over another body: the same, by the documented monitor contract.
    let mut altered =
        keys.ed25519()
            .covering(&WITH_DIGEST)
            .sign(&gw, Method::POST, "/orders", body);
    altered.body = br#"{"to":"mallory","amount":"10.00"}"#.to_vec();
    let status = altered.send().await.status();
    let mut seen = reasons(&gw, 2).await;
    seen.sort();
    assert_eq!(status, 200, "{seen:?}");
    assert_eq!(
        seen,
        [
            "monitor: unauthenticated: content-digest: incomplete",
            "monitor: unauthenticated: sig: bad_signature",
        ]
    );
    let last = up.last();
    assert_eq!(last.body.as_ref(), altered.body.as_slice());
    assert!(
        !last.headers.contains_key("x-portcullis-subject"),
        "an unverified body carries no identity"
    );
}

#[tokio::test]
async fn a_digest_mismatch_is_counted_as_an_auth_failure() {
    let keys = Keys::new();
    let up = upstream().await;
    let gw = sig_gateway(&up, &keys).await;
    let mut altered =
        keys.ed25519()
            .covering(&WITH_DIGEST)
            .sign(&gw, Method::POST, "/orders", b"{\"amount\":1}");
    altered.body = b"{\"amount\":9}".to_vec();
    assert_problem(altered.send().await, 401, "unauthenticated").await;
    let metrics = gw.admin_text("/metrics").await;
    // The success counter exists from the start (resolved when the scheme is bound), at 0.
    assert!(
        metrics
            .contains(r#"portcullis_auth_total{api="test",method="signature",result="success"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"portcullis_auth_total{api="test",method="signature",result="incomplete"} 1"#
        ),
        "{metrics}"
    );
}
