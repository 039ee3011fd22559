//! The bank verifying the gateway-signed `X-Portcullis-Identity` token: a real
//! bank and a tiny JWKS server on 127.0.0.1:0, tokens signed with fresh ES256 keys.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use portcullis_bank::{BankOptions, IdentityCheck};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An ES256 signing key and its public JWK.
struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl SigningKey {
    fn generate(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("key generates");
        let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("a public JWK");
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        SigningKey {
            kid: kid.to_owned(),
            encoding,
            jwk,
        }
    }

    /// A token with `claims`, signed by this key and naming its `kid`.
    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.encoding).expect("token signs")
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The claims the gateway puts in a token for `sub`, as of now.
fn claims(sub: &str) -> Value {
    let now = now();
    json!({
        "iss": "portcullis", "aud": "bank", "sub": sub, "iat": now, "exp": now + 60,
        "idp": "https://idp.example", "auth_method": "jwt", "roles": ["customer"],
        "scope": "accounts:read", "tenant": null, "mfa": false,
    })
}

/// A JWKS endpoint serving whatever set it currently holds, counting requests.
struct Jwks {
    url: String,
    set: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl Drop for Jwks {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Jwks {
    async fn start(keys: &[&SigningKey]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("bound");
        let set = Arc::new(Mutex::new(String::new()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (Arc::clone(&set), Arc::clone(&fetches));
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (set, fetches) = (Arc::clone(&served), Arc::clone(&counted));
                let service = service_fn(move |_request| {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let body = set.lock().expect("not poisoned").clone();
                    let mut response = http::Response::new(Full::new(Bytes::from(body)));
                    response.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    async move { Ok::<_, Infallible>(response) }
                });
                tokio::spawn(async move {
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    let _ = connection.await;
                });
            }
        });
        let jwks = Jwks {
            url: format!("http://{addr}/.well-known/jwks.json"),
            set,
            fetches,
            server,
        };
        jwks.publish(keys);
        jwks
    }

    /// Replaces the published key set.
    fn publish(&self, keys: &[&SigningKey]) {
        let set = JwkSet {
            keys: keys.iter().map(|key| key.jwk.clone()).collect(),
        };
        let json = serde_json::to_string(&set).expect("serializes");
        *self.set.lock().expect("not poisoned") = json;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// A bank that verifies identity tokens, aborted when dropped.
struct Bank {
    base: String,
    client: Client,
    server: JoinHandle<std::io::Result<()>>,
}

impl Drop for Bank {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn bank(check: IdentityCheck) -> Bank {
    let options = BankOptions {
        identity: Some(check),
    };
    let addr = "127.0.0.1:0".parse().expect("valid address");
    let (addr, server) = portcullis_bank::spawn_with(addr, options)
        .await
        .expect("bank starts");
    Bank {
        base: format!("http://{addr}"),
        client: Client::builder().no_proxy().build().expect("client builds"),
        server,
    }
}

impl Bank {
    /// GETs `path` with these headers; returns the status and the JSON body (or `null`).
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request succeeds");
        let status = response.status();
        let body = response.text().await.expect("a body");
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    async fn accounts(&self, token: &str) -> (StatusCode, Value) {
        self.get("/v2/accounts", &[("X-Portcullis-Identity", token)])
            .await
    }
}

fn ids(body: &Value) -> Vec<&str> {
    let items = body["accounts"].as_array().expect("an array of accounts");
    items
        .iter()
        .map(|item| item["id"].as_str().expect("id"))
        .collect()
}

/// Asserts a 401 with a JSON error, and returns its message.
fn unauthorized((status, body): (StatusCode, Value)) -> String {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    body["error"].as_str().expect("a JSON error").to_owned()
}

#[tokio::test]
async fn a_valid_token_names_the_caller() {
    let key = SigningKey::generate("k1");
    let jwks = Jwks::start(&[&key]).await;
    let bank = bank(IdentityCheck::new(&jwks.url)).await;
    let bob = key.sign(&claims("u-bob"));
    let (status, body) = bank.accounts(&bob).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), ["acc-2001"]);
    // The token wins over a plain subject header sent alongside.
    let spoofed = [
        ("X-Portcullis-Identity", bob.as_str()),
        ("X-Portcullis-Subject", "u-alice"),
    ];
    let (status, body) = bank.get("/v2/accounts", &spoofed).await;
    assert_eq!((status, ids(&body)), (StatusCode::OK, vec!["acc-2001"]));
    // Transfers record the token's subject.
    let response = bank
        .client
        .post(format!("{}/v2/transfers", bank.base))
        .header("X-Portcullis-Identity", &bob)
        .header("X-Portcullis-Subject", "u-alice")
        .json(&json!({"from": "acc-2001", "to": "acc-1001", "amount_cents": 100}))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), StatusCode::CREATED);
    let record: Value = response.json().await.expect("JSON");
    assert_eq!(record["initiated_by"], "u-bob");
    assert_eq!(jwks.fetches(), 1, "the key set is fetched once and cached");
}

#[tokio::test]
async fn no_token_no_service_except_public_routes() {
    let key = SigningKey::generate("k1");
    let jwks = Jwks::start(&[&key]).await;
    let bank = bank(IdentityCheck::new(&jwks.url)).await;
    for path in ["/healthz", "/v2/branches", "/v2/rates/USD"] {
        let (status, _) = bank.get(path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let paths = [
        "/v2/accounts",
        "/v2/accounts/acc-1001",
        "/v2/admin/users",
        "/v1/accounts/acc-1001",
        "/debug/env",
        "/nowhere",
    ];
    for path in paths {
        let message = unauthorized(bank.get(path, &[]).await);
        assert_eq!(message, "missing identity token", "{path}");
    }
    // A caller around the gateway cannot claim an identity with the plain header.
    let spoofed = [
        ("X-Portcullis-Subject", "u-alice"),
        ("X-Portcullis-Roles", "admin"),
    ];
    unauthorized(bank.get("/v2/accounts", &spoofed).await);
    unauthorized(bank.get("/v2/admin/users", &spoofed).await);
    assert_eq!(jwks.fetches(), 0, "the key set is fetched only when needed");
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let key = SigningKey::generate("k1");
    let jwks = Jwks::start(&[&key]).await;
    let bank = bank(IdentityCheck::new(&jwks.url)).await;
    let with = |changes: Value| {
        let mut claims = claims("u-alice");
        for (name, value) in changes.as_object().expect("an object") {
            claims[name] = value.clone();
        }
        claims
    };
    let cases = [
        (
            key.sign(&with(json!({"aud": "payments"}))),
            "wrong audience",
        ),
        (key.sign(&with(json!({"iss": "mallory"}))), "wrong issuer"),
        (key.sign(&with(json!({"exp": now() - 120}))), "expired"),
        (
            key.sign(&with(json!({"nbf": now() + 120}))),
            "not yet valid",
        ),
        (key.sign(&with(json!({"sub": ""}))), "empty subject"),
        (
            key.sign(&json!({"iss": "portcullis", "aud": "bank", "exp": now() + 60})),
            "required claim",
        ),
        // Same kid, another key: the signature does not verify.
        (
            SigningKey::generate("k1").sign(&claims("u-alice")),
            "bad signature",
        ),
        ("not.a.jwt".to_owned(), "malformed"),
    ];
    for (token, expected) in &cases {
        let message = unauthorized(bank.accounts(token).await);
        assert!(message.contains(expected), "{expected}: got {message}");
    }
    // The algorithm comes from the JWK: an HS256 token naming the EC key is refused.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".to_owned());
    let hmac = EncodingKey::from_secret(jwks.set.lock().expect("not poisoned").as_bytes());
    let confused = encode(&header, &claims("u-alice"), &hmac).expect("token signs");
    let message = unauthorized(bank.accounts(&confused).await);
    assert!(message.contains("wrong algorithm"), "{message}");
    // A token without a kid names no key.
    let anonymous = encode(
        &Header::new(Algorithm::ES256),
        &claims("u-alice"),
        &key.encoding,
    )
    .expect("token signs");
    unauthorized(bank.accounts(&anonymous).await);
    // Still valid after all that.
    let (status, body) = bank.accounts(&key.sign(&claims("u-alice"))).await;
    assert_eq!(
        (status, ids(&body)),
        (StatusCode::OK, vec!["acc-1001", "acc-1002"])
    );
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_keys() {
    let old = SigningKey::generate("old");
    let new = SigningKey::generate("new");
    let jwks = Jwks::start(&[&old]).await;
    let mut check = IdentityCheck::new(&jwks.url);
    check.refetch_interval = Duration::ZERO;
    let bank = bank(check).await;
    assert_eq!(
        bank.accounts(&old.sign(&claims("u-bob"))).await.0,
        StatusCode::OK
    );
    assert_eq!(jwks.fetches(), 1);
    // The gateway rotates: the new key is published, then used.
    jwks.publish(&[&old, &new]);
    let (status, body) = bank.accounts(&new.sign(&claims("u-bob"))).await;
    assert_eq!((status, ids(&body)), (StatusCode::OK, vec!["acc-2001"]));
    assert_eq!(jwks.fetches(), 2, "one refetch for the unknown kid");
    assert_eq!(
        bank.accounts(&new.sign(&claims("u-alice"))).await.0,
        StatusCode::OK
    );
    assert_eq!(
        bank.accounts(&old.sign(&claims("u-alice"))).await.0,
        StatusCode::OK
    );
    assert_eq!(jwks.fetches(), 2, "known kids are served from the cache");
    // A kid the gateway never published: one more fetch, then a 401.
    let stranger = SigningKey::generate("stranger");
    let message = unauthorized(bank.accounts(&stranger.sign(&claims("u-bob"))).await);
    assert!(message.contains("unknown key"), "{message}");
    assert_eq!(jwks.fetches(), 3);
}

#[tokio::test]
async fn refetches_are_rate_limited() {
    let known = SigningKey::generate("known");
    let jwks = Jwks::start(&[&known]).await;
    let bank = bank(IdentityCheck::new(&jwks.url)).await;
    let stranger = SigningKey::generate("stranger");
    for _ in 0..3 {
        unauthorized(bank.accounts(&stranger.sign(&claims("u-bob"))).await);
    }
    assert_eq!(jwks.fetches(), 1, "at most one fetch per 10 s");
    assert_eq!(
        bank.accounts(&known.sign(&claims("u-bob"))).await.0,
        StatusCode::OK
    );
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn unreachable_keys_mean_401() {
    let key = SigningKey::generate("k1");
    // A port that was free a moment ago: nothing listens there now.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!(
        "http://{}/.well-known/jwks.json",
        closed.local_addr().expect("bound")
    );
    drop(closed);
    let bank = bank(IdentityCheck::new(url)).await;
    let message = unauthorized(bank.accounts(&key.sign(&claims("u-bob"))).await);
    assert_eq!(message, "identity keys unavailable");
}

#[tokio::test]
async fn invalid_options_fail_before_binding() {
    let addr = "127.0.0.1:0".parse().expect("valid address");
    let options = BankOptions::verifying("https://gateway.example/.well-known/jwks.json");
    let error = portcullis_bank::spawn_with(addr, options)
        .await
        .expect_err("https is not supported");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}
