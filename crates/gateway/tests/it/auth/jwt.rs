//! JWT bearer tokens through the real gateway, over HTTP: tokens made by an
//! independent implementation (PyJWT fixtures), keys the token names (`jku`,
//! `x5u`, `jwk`) that must never be fetched or trusted, a JWKS served by a real
//! local endpoint (down at start, rotation, outage, a flood of unknown `kid`s),
//! the verified-token cache, and the config errors of the algorithm list.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis_gateway::authn::mint::{Minter, random_id};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::*;

/// One operation that needs a bearer token.
const JWT_SPEC: &str = r#"
openapi: 3.1.0
info: { title: JWT API, version: "1" }
paths:
  /me:
    get: { operationId: me, security: [{ bearer: [] }], responses: { "200": { description: ok } } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
"#;

/// The challenge for a bearer token that was presented and refused.
const INVALID_TOKEN: &str = r#"Bearer realm="test", error="invalid_token""#;

// The PyJWT fixtures (see `fixtures/jwt/README.md`).
const FIXTURE_ISSUER: &str = "https://idp.fixtures.test";
const FIXTURE_AUDIENCE: &str = "portcullis-fixtures";
const FIXTURE_JWKS: &str = include_str!("../../fixtures/jwt/jwks.json");
const MANIFEST: &str = include_str!("../../fixtures/jwt/manifest.json");
const FIXTURES: [(&str, &str); 15] = [
    (
        "valid-rs256.jwt",
        include_str!("../../fixtures/jwt/valid-rs256.jwt"),
    ),
    (
        "valid-ps256.jwt",
        include_str!("../../fixtures/jwt/valid-ps256.jwt"),
    ),
    (
        "valid-es256.jwt",
        include_str!("../../fixtures/jwt/valid-es256.jwt"),
    ),
    (
        "valid-es384.jwt",
        include_str!("../../fixtures/jwt/valid-es384.jwt"),
    ),
    (
        "valid-eddsa.jwt",
        include_str!("../../fixtures/jwt/valid-eddsa.jwt"),
    ),
    (
        "alg-none.jwt",
        include_str!("../../fixtures/jwt/alg-none.jwt"),
    ),
    (
        "hs256-key-confusion.jwt",
        include_str!("../../fixtures/jwt/hs256-key-confusion.jwt"),
    ),
    (
        "expired.jwt",
        include_str!("../../fixtures/jwt/expired.jwt"),
    ),
    (
        "not-yet-valid.jwt",
        include_str!("../../fixtures/jwt/not-yet-valid.jwt"),
    ),
    (
        "wrong-issuer.jwt",
        include_str!("../../fixtures/jwt/wrong-issuer.jwt"),
    ),
    (
        "wrong-audience.jwt",
        include_str!("../../fixtures/jwt/wrong-audience.jwt"),
    ),
    (
        "bad-signature.jwt",
        include_str!("../../fixtures/jwt/bad-signature.jwt"),
    ),
    (
        "stripped-signature.jwt",
        include_str!("../../fixtures/jwt/stripped-signature.jwt"),
    ),
    (
        "kid-traversal.jwt",
        include_str!("../../fixtures/jwt/kid-traversal.jwt"),
    ),
    (
        "jku-elsewhere.jwt",
        include_str!("../../fixtures/jwt/jku-elsewhere.jwt"),
    ),
];

/// The fixture token in `file`.
fn fixture(file: &str) -> &'static str {
    FIXTURES
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, text)| text.trim())
        .unwrap_or_else(|| panic!("no fixture `{file}`"))
}

/// The failure the gateway names for each refused fixture.
fn expected_failure(file: &str) -> &'static str {
    match file {
        // `alg` is read by the gateway first: `none` and HS256 are not pinned.
        "alg-none.jwt" | "hs256-key-confusion.jwt" => "algorithm_not_allowed",
        "expired.jwt" => "expired",
        "not-yet-valid.jwt" => "not_yet_valid",
        "wrong-issuer.jwt" => "wrong_issuer",
        "wrong-audience.jwt" => "wrong_audience",
        // An empty signature is checked against the key, and does not verify.
        "bad-signature.jwt" | "stripped-signature.jwt" => "bad_signature",
        // A `kid` is a map key, never a path; the token's `jku` is never read.
        "kid-traversal.jwt" | "jku-elsewhere.jwt" => "unknown_key",
        other => panic!("no expectation for fixture `{other}`"),
    }
}

/// `support::config` with its `idp` provider replaced by a `jwt` one made of
/// `fields` (YAML lines, indented 6 spaces).
fn jwt_config(up: &Upstream, fields: &str) -> String {
    let text = config(&up.url(), "");
    let default = format!(
        "  idp:\n    jwt:\n      issuer: {ISSUER}\n      audiences: [test]\n      \
         algorithms: [ES256]\n      jwks_file: jwks.json\n"
    );
    assert!(
        text.contains(&default),
        "support::config changed its `idp`: {text}"
    );
    text.replace(&default, &format!("  idp:\n    jwt:\n{fields}"))
}

/// A gateway trusting the fixtures' issuer and its five keys.
async fn fixture_gateway(up: &Upstream) -> Gateway {
    let text = jwt_config(
        up,
        &format!(
            "      issuer: {FIXTURE_ISSUER}\n      audiences: [{FIXTURE_AUDIENCE}]\n      \
             algorithms: [RS256, PS256, ES256, ES384, EdDSA]\n      jwks_file: fixtures-jwks.json\n"
        ),
    );
    gateway_with(
        &text,
        &[
            ("spec.yaml", JWT_SPEC),
            ("fixtures-jwks.json", FIXTURE_JWKS),
        ],
    )
    .await
}

/// A gateway whose `idp` fetches its keys from `server` (short timings).
async fn remote_gateway(up: &Upstream, server: &KeyServer) -> Gateway {
    let text = jwt_config(
        up,
        &format!(
            "      issuer: {ISSUER}\n      audiences: [test]\n      algorithms: [ES256]\n      \
             jwks_url: {}\n      refresh_min: 1s\n      refresh_max: 60s\n      \
             unknown_kid_cooldown: 1s\n      fetch_timeout: 500ms\n",
            server.url("/jwks.json")
        ),
    );
    gateway_with(&text, &[("spec.yaml", JWT_SPEC)]).await
}

/// GET /me with `token`, tagged with `x-test-tag` so the upstream's log names it.
async fn me(gw: &Gateway, token: &str, tag: &str) -> reqwest::Response {
    client()
        .get(format!("{}/me", gw.url))
        .bearer_auth(token)
        .header("x-test-tag", tag)
        .send()
        .await
        .unwrap()
}

/// The status of GET /me with `token` (body read).
async fn me_status(gw: &Gateway, token: &str) -> u16 {
    let resp = me(gw, token, "-").await;
    let status = resp.status().as_u16();
    resp.bytes().await.unwrap();
    status
}

/// Asserts the 401 of a presented, refused bearer token; returns its request id.
async fn assert_invalid_token(resp: reqwest::Response, what: &str) -> String {
    assert_eq!(resp.status(), 401, "{what}");
    let challenges = super::challenges(&resp);
    assert_eq!(challenges, [INVALID_TOKEN], "{what}");
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_problem(resp, 401, "unauthenticated").await;
    rid
}

/// The audit `reason` of the request `rid` (waits for its line).
async fn audit_reason(gw: &Gateway, rid: &str) -> String {
    eventually(&format!("the audit line of {rid}"), || {
        gw.audit_lines().iter().any(|e| e["request_id"] == rid)
    })
    .await;
    let line = gw
        .audit_lines()
        .into_iter()
        .find(|e| e["request_id"] == rid)
        .unwrap();
    line["reason"].as_str().unwrap_or_default().to_owned()
}

/// The tags of the requests the upstream received, in order.
fn upstream_tags(up: &Upstream) -> Vec<String> {
    up.requests()
        .iter()
        .map(|s| s.headers["x-test-tag"].to_str().unwrap().to_owned())
        .collect()
}

/// Claims of the default issuer (`ISSUER`, audience `test`) for `sub`, valid 10 minutes.
fn claims(sub: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": "test",
        "sub": sub,
        "iat": now(),
        "exp": now() + 600,
        "jti": random_id().unwrap(),
    })
}

/// A JWK set of the public keys of `keys`.
fn jwks_of(keys: &[&Minter]) -> Value {
    let all: Vec<Value> = keys.iter().map(|k| k.jwks()["keys"][0].clone()).collect();
    json!({ "keys": all })
}

/// A compact JWS of `claims` with `header`, signed by `key` (an ES256 `Minter`):
/// the header members `Minter::sign` cannot write.
fn sign_with_header(key: &Minter, header: &Header, claims: &Value) -> String {
    let encoding = EncodingKey::from_ec_pem(key.to_pem().as_bytes()).unwrap();
    jsonwebtoken::encode(header, claims, &encoding).unwrap()
}

/// An ES256 header with `kid`.
fn es256_header(kid: Option<&str>) -> Header {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    header
}

/// `portcullis_auth_total` for the `test` API's JWTs with `result`, from `/metrics`.
async fn auth_total(gw: &Gateway, result: &str) -> String {
    let metrics = gw.admin_text("/metrics").await;
    let prefix = format!(r#"portcullis_auth_total{{api="test",method="jwt",result="{result}"}} "#);
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or("absent")
        .to_owned()
}

// ---------------------------------------------------------------------------
// A JWKS endpoint on 127.0.0.1.

/// A JWKS endpoint that counts every fetch attempt, can change its key set and
/// can go down (while down, new connections are closed at once and requests on
/// open ones get no answer: the fetch fails in transport, as with a dead IdP).
struct KeyServer {
    addr: SocketAddr,
    state: Arc<Mutex<KeyState>>,
    task: tokio::task::JoinHandle<()>,
}

struct KeyState {
    jwks: String,
    cache_control: &'static str,
    down: bool,
    /// The paths of the requests received (answered or not).
    paths: Vec<String>,
    /// Connections closed at once because the server was down.
    dropped: usize,
}

impl KeyServer {
    /// Serves `jwks` on any path, with `Cache-Control: max-age=30` (so the
    /// gateway refetches only when a request asks for it, or after a failure).
    async fn start(jwks: &Value) -> KeyServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(KeyState {
            jwks: jwks.to_string(),
            cache_control: "max-age=30",
            down: false,
            paths: Vec::new(),
            dropped: 0,
        }));
        let st = Arc::clone(&state);
        let task = tokio::spawn(async move {
            // Connections live in the set: stopping the server closes them too.
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                {
                    let mut s = st.lock().unwrap();
                    if s.down {
                        s.dropped += 1;
                        drop(stream);
                        continue;
                    }
                }
                let st = Arc::clone(&st);
                conns.spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let st = Arc::clone(&st);
                        async move { serve_keys(&st, req.uri().path()) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        KeyServer { addr, state, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn set_jwks(&self, jwks: &Value) {
        self.state.lock().unwrap().jwks = jwks.to_string();
    }

    fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    fn set_cache_control(&self, value: &'static str) {
        self.state.lock().unwrap().cache_control = value;
    }

    /// Every fetch attempt: requests received plus connections refused.
    fn attempts(&self) -> usize {
        let s = self.state.lock().unwrap();
        s.paths.len() + s.dropped
    }

    fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().paths.clone()
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn serve_keys(
    state: &Mutex<KeyState>,
    path: &str,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let mut s = state.lock().unwrap();
    s.paths.push(path.to_owned());
    if s.down {
        // An error closes the connection without an answer.
        return Err(std::io::Error::other("down"));
    }
    Ok(Response::builder()
        .header("content-type", "application/json")
        .header("cache-control", s.cache_control)
        .body(Full::new(Bytes::from(s.jwks.clone())))
        .unwrap())
}

// ---------------------------------------------------------------------------
// 1. Tokens from an independent implementation.

#[tokio::test]
async fn every_pyjwt_fixture_is_accepted_or_refused_for_its_exact_reason() {
    let manifest: Value = serde_json::from_str(MANIFEST).unwrap();
    assert_eq!(manifest["issuer"], FIXTURE_ISSUER);
    assert_eq!(manifest["audience"], FIXTURE_AUDIENCE);
    let entries = manifest["tokens"].as_array().unwrap();
    let mut listed: Vec<&str> = entries
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    let mut known: Vec<&str> = FIXTURES.iter().map(|(f, _)| *f).collect();
    listed.sort_unstable();
    known.sort_unstable();
    assert_eq!(listed, known, "every fixture of the manifest is tested");

    let up = upstream().await;
    let gw = fixture_gateway(&up).await;
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for entry in entries {
        let file = entry["file"].as_str().unwrap();
        let resp = me(&gw, fixture(file), file).await;
        match entry["expect"].as_str().unwrap() {
            "accept" => {
                assert_eq!(resp.status(), 200, "{file} is accepted");
                resp.bytes().await.unwrap();
                let seen = up.last();
                assert_eq!(seen.headers["x-test-tag"], file);
                assert_eq!(
                    seen.headers["x-portcullis-subject"], "fixture-user",
                    "{file}"
                );
                assert_eq!(
                    seen.headers["x-portcullis-scopes"], "accounts:read",
                    "{file}"
                );
                accepted.push(file.to_owned());
            }
            "reject" => {
                let rid = assert_invalid_token(resp, file).await;
                refused.push((file, rid));
            }
            other => panic!("{file}: unknown expectation `{other}`"),
        }
    }
    assert_eq!(accepted.len(), 5);
    assert_eq!(refused.len(), 10);
    assert_eq!(
        upstream_tags(&up),
        accepted,
        "only accepted tokens reach the upstream"
    );
    for (file, rid) in &refused {
        assert_eq!(
            audit_reason(&gw, rid).await,
            format!("unauthenticated: bearer: {}", expected_failure(file)),
            "{file}"
        );
    }
    // Counted by reason too.
    assert_eq!(auth_total(&gw, "success").await, "5");
    for (reason, n) in [
        ("algorithm_not_allowed", "2"),
        ("bad_signature", "2"),
        ("unknown_key", "2"),
        ("expired", "1"),
        ("not_yet_valid", "1"),
        ("wrong_issuer", "1"),
        ("wrong_audience", "1"),
    ] {
        assert_eq!(auth_total(&gw, reason).await, n, "{reason}");
    }
}

// ---------------------------------------------------------------------------
// 2. Keys named by the token.

#[tokio::test]
async fn keys_the_token_names_jku_x5u_jwk_are_never_fetched_nor_trusted() {
    let attacker = Minter::generate().unwrap();
    // The attacker's server would hand out the attacker's key, if asked.
    let evil = KeyServer::start(&attacker.jwks()).await;
    let attack_header = |kid: Option<&str>| {
        let mut h = es256_header(kid);
        h.jku = Some(evil.url("/jwks.json"));
        h.x5u = Some(evil.url("/cert.pem"));
        h.jwk = Some(serde_json::from_value(attacker.jwks()["keys"][0].clone()).unwrap());
        h
    };

    // Static keys (the fixtures' issuer).
    let up = upstream().await;
    let gw = fixture_gateway(&up).await;
    let mut fixture_claims = claims("mallory");
    fixture_claims["iss"] = json!(FIXTURE_ISSUER);
    fixture_claims["aud"] = json!(FIXTURE_AUDIENCE);
    for (kid, want) in [
        // A kid the issuer does not have: nothing to verify it with.
        (Some(attacker.kid()), "unknown_key"),
        // The issuer's own kid: its key, not the embedded `jwk`, is used.
        (Some("py-p256"), "bad_signature"),
        // No kid: the issuer's ES256 keys are tried, never the embedded one.
        (None, "bad_signature"),
    ] {
        let token = sign_with_header(&attacker, &attack_header(kid), &fixture_claims);
        let rid = assert_invalid_token(me(&gw, &token, "attack").await, &format!("{kid:?}")).await;
        assert_eq!(
            audit_reason(&gw, &rid).await,
            format!("unauthenticated: bearer: {want}"),
            "kid {kid:?}"
        );
    }
    assert!(up.requests().is_empty());

    // Remote keys: the refresh an unknown kid causes goes to the configured
    // `jwks_url`, never to the token's `jku`.
    let owner = Minter::generate().unwrap();
    let keys = KeyServer::start(&jwks_of(&[&owner])).await;
    let up2 = upstream().await;
    let gw2 = remote_gateway(&up2, &keys).await;
    assert_eq!(
        me_status(&gw2, &owner.sign(&claims("owner")).unwrap()).await,
        200
    );
    assert_eq!(keys.attempts(), 1);
    let token = sign_with_header(
        &attacker,
        &attack_header(Some(attacker.kid())),
        &claims("mallory"),
    );
    let rid = assert_invalid_token(me(&gw2, &token, "attack").await, "remote").await;
    assert_eq!(
        audit_reason(&gw2, &rid).await,
        "unauthenticated: bearer: unknown_key"
    );
    assert_eq!(
        keys.paths(),
        ["/jwks.json", "/jwks.json"],
        "one refresh, of the configured URL"
    );

    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        evil.paths(),
        Vec::<String>::new(),
        "the token's jku/x5u were fetched"
    );
    assert_eq!(evil.attempts(), 0);
    assert_eq!(up2.requests().len(), 1);
}

// ---------------------------------------------------------------------------
// 3. A JWKS endpoint over HTTP.

#[tokio::test]
async fn keys_endpoint_down_at_start_is_503_with_retry_after_then_200_once_it_is_up() {
    let key = Minter::generate().unwrap();
    let server = KeyServer::start(&jwks_of(&[&key])).await;
    server.set_down(true);
    let up = upstream().await;
    let gw = remote_gateway(&up, &server).await;
    let token = key.sign(&claims("early")).unwrap();

    let resp = me(&gw, &token, "early").await;
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(
        resp.headers().get("www-authenticate").is_none(),
        "the gateway's outage is not the client's fault"
    );
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_problem(resp, 503, "authentication-unavailable").await;
    assert_eq!(
        audit_reason(&gw, &rid).await,
        "authentication-unavailable: idp: keys_unavailable"
    );
    assert!(
        server.attempts() >= 1,
        "the gateway tried to fetch its keys"
    );
    let ready = gw
        .admin_request(reqwest::Method::GET, "/readyz")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "not ready without keys");
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["identity_providers"]["idp"]["keys"], false);

    server.set_down(false);
    let since = Instant::now();
    loop {
        match me_status(&gw, &token).await {
            200 => break,
            503 => {}
            other => panic!("while the keys are not fetched yet: {other}, not 503"),
        }
        assert!(
            since.elapsed() < Duration::from_secs(5),
            "no keys 5s after the endpoint came up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        since.elapsed() < Duration::from_secs(3),
        "took {:?}",
        since.elapsed()
    );
    let ready = gw
        .admin_request(reqwest::Method::GET, "/readyz")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        upstream_tags(&up),
        ["-"],
        "only the accepted request reached the upstream"
    );
}

#[tokio::test]
async fn a_rotated_in_key_is_accepted_on_its_first_request_and_a_removed_one_is_refused() {
    let (k1, k2, k3) = (
        Minter::generate().unwrap(),
        Minter::generate().unwrap(),
        Minter::generate().unwrap(),
    );
    let server = KeyServer::start(&jwks_of(&[&k1])).await;
    let up = upstream().await;
    let gw = remote_gateway(&up, &server).await;
    let old = k1.sign(&claims("old")).unwrap();
    assert_eq!(
        me_status(&gw, &old).await,
        200,
        "the first request waits for the first fetch"
    );
    assert_eq!(server.attempts(), 1);

    // The IdP publishes k2 next to k1, and signs with it at once.
    server.set_jwks(&jwks_of(&[&k1, &k2]));
    let new = k2.sign(&claims("new")).unwrap();
    assert_eq!(
        me_status(&gw, &new).await,
        200,
        "no error window: the unknown kid refreshes"
    );
    assert_eq!(server.attempts(), 2, "exactly one refresh");
    assert_eq!(
        me_status(&gw, &k1.sign(&claims("old2")).unwrap()).await,
        200
    );
    assert_eq!(me_status(&gw, &old).await, 200, "k1 is still served");
    assert_eq!(me_status(&gw, &new).await, 200);
    assert_eq!(server.attempts(), 2, "known kids fetch nothing");

    // k1 is withdrawn; once the gateway refreshes (an unknown kid after the
    // cooldown), k1's tokens are refused, cached verdicts included.
    server.set_jwks(&jwks_of(&[&k2]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let unknown = k3.sign(&claims("stranger")).unwrap();
    let rid = assert_invalid_token(me(&gw, &unknown, "k3").await, "k3").await;
    assert_eq!(
        audit_reason(&gw, &rid).await,
        "unauthenticated: bearer: unknown_key"
    );
    assert_eq!(server.attempts(), 3);
    let rid = assert_invalid_token(me(&gw, &old, "old").await, "withdrawn k1").await;
    assert_eq!(
        audit_reason(&gw, &rid).await,
        "unauthenticated: bearer: unknown_key"
    );
    assert_eq!(me_status(&gw, &new).await, 200);
    assert_eq!(upstream_tags(&up).len(), 6);
}

#[tokio::test]
async fn fetched_keys_keep_working_while_the_endpoint_is_down() {
    let key = Minter::generate().unwrap();
    let server = KeyServer::start(&jwks_of(&[&key])).await;
    // No caching: the gateway refetches every `refresh_min` (1s).
    server.set_cache_control("no-store");
    let up = upstream().await;
    let gw = remote_gateway(&up, &server).await;
    let first = key.sign(&claims("first")).unwrap();
    assert_eq!(me_status(&gw, &first).await, 200);

    server.set_down(true);
    let before = server.attempts();
    // An unknown kid makes the gateway try now; the stale keys stay.
    let stranger = Minter::generate().unwrap();
    let rid = assert_invalid_token(
        me(
            &gw,
            &stranger.sign(&claims("stranger")).unwrap(),
            "stranger",
        )
        .await,
        "unknown kid while down",
    )
    .await;
    assert_eq!(
        audit_reason(&gw, &rid).await,
        "unauthenticated: bearer: unknown_key",
        "keys are at hand: a 401, not a 503"
    );
    // And the background refresh fails too, at least once more.
    eventually("two failed fetches", || server.attempts() >= before + 2).await;
    assert_eq!(
        me_status(&gw, &key.sign(&claims("later")).unwrap()).await,
        200
    );
    assert_eq!(me_status(&gw, &first).await, 200);
    let ready = gw
        .admin_request(reqwest::Method::GET, "/readyz")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "stale keys are keys");
    assert_eq!(upstream_tags(&up).len(), 3);
}

#[tokio::test]
async fn a_flood_of_random_kids_is_refused_and_costs_the_idp_at_most_two_fetches() {
    let key = Minter::generate().unwrap();
    let server = KeyServer::start(&jwks_of(&[&key])).await;
    let up = upstream().await;
    let gw = remote_gateway(&up, &server).await;
    assert_eq!(
        me_status(&gw, &key.sign(&claims("warm")).unwrap()).await,
        200
    );
    let before = server.attempts();

    let attacker = Minter::generate().unwrap();
    let tokens: Vec<String> = (0..100)
        .map(|_| {
            let kid = random_id().unwrap();
            sign_with_header(&attacker, &es256_header(Some(&kid)), &claims("flood"))
        })
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for token in tokens {
        let url = format!("{}/me", gw.url);
        set.spawn(async move {
            let resp = client().get(url).bearer_auth(token).send().await.unwrap();
            let status = resp.status().as_u16();
            let challenge = resp.headers().get("www-authenticate").cloned();
            let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
            resp.bytes().await.unwrap();
            (status, challenge, rid)
        });
    }
    let mut rids = Vec::new();
    while let Some(done) = set.join_next().await {
        let (status, challenge, rid) = done.unwrap();
        assert_eq!(status, 401);
        assert_eq!(challenge.unwrap(), INVALID_TOKEN);
        rids.push(rid);
    }
    let fetches = server.attempts() - before;
    assert!(
        (1..=2).contains(&fetches),
        "{fetches} fetches for the flood"
    );
    eventually("100 audit lines", || {
        let lines = gw.audit_lines();
        rids.iter()
            .all(|r| lines.iter().any(|e| e["request_id"] == r.as_str()))
    })
    .await;
    let lines = gw.audit_lines();
    for rid in &rids {
        let line = lines
            .iter()
            .find(|e| e["request_id"] == rid.as_str())
            .unwrap();
        assert_eq!(line["reason"], "unauthenticated: bearer: unknown_key");
    }
    assert_eq!(
        upstream_tags(&up).len(),
        1,
        "none of the flood reached the upstream"
    );
    assert_eq!(auth_total(&gw, "unknown_key").await, "100");
}

// ---------------------------------------------------------------------------
// 4. The verified-token cache.

#[tokio::test]
async fn a_cached_token_counts_as_a_success_each_time_and_still_expires_on_time() {
    let up = upstream().await;
    let text = config(&up.url(), "").replace(
        "      jwks_file: jwks.json\n",
        "      jwks_file: jwks.json\n      leeway: 0s\n",
    );
    let gw = gateway_with(&text, &[("spec.yaml", JWT_SPEC)]).await;
    let exp = now() + 2;
    let short = token("brief", json!({ "exp": exp }));
    assert_eq!(me_status(&gw, &short).await, 200);
    assert_eq!(me_status(&gw, &short).await, 200);
    assert_eq!(auth_total(&gw, "success").await, "2");
    assert_eq!(up.requests().len(), 2);
    for seen in up.requests() {
        assert_eq!(seen.headers["x-portcullis-subject"], "brief");
    }
    // The cached verdict ends at `exp` (no leeway here).
    while now() <= exp {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rid = assert_invalid_token(me(&gw, &short, "late").await, "expired while cached").await;
    assert_eq!(
        audit_reason(&gw, &rid).await,
        "unauthenticated: bearer: expired"
    );
    assert_eq!(auth_total(&gw, "success").await, "2");
    assert_eq!(auth_total(&gw, "expired").await, "1");
    assert_eq!(up.requests().len(), 2);
}

// ---------------------------------------------------------------------------
// 5. Config errors.

/// `config::parse` on `text` in a directory holding the usual files.
fn parse(text: &str) -> Result<(), Vec<portcullis_gateway::config::ConfigError>> {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("spec.yaml", JWT_SPEC),
        ("admin-token", ADMIN_TOKEN),
        ("jwks.json", &test_key().jwks().to_string()),
        ("hs-secret", "q8Vn3kX0pZr7Tw2LmYb5Hc9Ud4Jf6Ga1"),
    ] {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let path = dir.path().join("portcullis.yaml");
    portcullis_gateway::config::parse(text, &path)
        .map(|_| ())
        .map_err(|e| e.0)
}

/// The 1-based line of the first line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1
}

#[test]
fn unsafe_algorithm_lists_are_config_errors_at_their_field_and_line() {
    const NOWHERE: &str = "http://127.0.0.1:1";
    let base = config(NOWHERE, "");
    parse(&base).unwrap();
    let cases = [
        (
            "      algorithms: [none]\n      jwks_file: jwks.json\n",
            "identity_providers.idp.jwt.algorithms[0]",
            "`none` is never accepted",
        ),
        (
            "      algorithms: [ES256, NONE]\n      jwks_file: jwks.json\n",
            "identity_providers.idp.jwt.algorithms[1]",
            "`none` is never accepted",
        ),
        (
            "      algorithms: [HS256]\n      jwks_file: jwks.json\n",
            "identity_providers.idp.jwt.algorithms[0]",
            "HS256 needs `secret`",
        ),
        (
            "      algorithms: [HS256, ES256]\n      secret: file:hs-secret\n",
            "identity_providers.idp.jwt.algorithms",
            "cannot be mixed",
        ),
    ];
    for (lines, field, message) in cases {
        let text = base.replace(
            "      algorithms: [ES256]\n      jwks_file: jwks.json\n",
            lines,
        );
        assert_ne!(text, base);
        let errors = parse(&text).unwrap_err();
        let e = errors
            .iter()
            .find(|e| e.field == field)
            .unwrap_or_else(|| panic!("{lines}: no error at {field}: {errors:?}"));
        assert!(e.message.contains(message), "{field}: {}", e.message);
        assert_eq!(e.line, Some(line_of(&text, "algorithms: [")), "{field}");
        assert!(e.file.ends_with("portcullis.yaml"));
    }
}
