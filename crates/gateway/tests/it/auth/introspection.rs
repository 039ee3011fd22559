//! OAuth2 token introspection (RFC 7662) through the real gateway, against a real
//! introspection endpoint on 127.0.0.1 that checks the gateway's client
//! credentials and counts its calls: the answers, their cache, scopes, revocation,
//! and an endpoint that is down, slow or broken (503, never 401).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpListener;

use super::*;

const INTRO_SPEC: &str = r#"
openapi: 3.1.0
info: { title: Opaque API, version: "1" }
paths:
  /me:
    get: { operationId: me, security: [{ bearer: [] }], responses: { "200": { description: ok } } }
  /accounts:
    get: { operationId: accounts, security: [{ bearer: [accounts:read] }], responses: { "200": { description: ok } } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
"#;

const CLIENT_ID: &str = "portcullis-gw";
const CLIENT_SECRET: &str = "s3cret-of-the-gateway";
/// The issuer in the endpoint's answers for `alice` and `carol`.
const AUTH_ISSUER: &str = "https://auth.test";
/// The gateway's deadline for one introspection call.
const TIMEOUT: Duration = Duration::from_millis(300);
/// How long the gateway keeps an inactive answer.
const NEGATIVE_TTL: Duration = Duration::from_millis(400);

/// The test introspection endpoint, `POST /introspect`.
struct Idp {
    addr: SocketAddr,
    /// Calls per token (also those refused for bad client credentials).
    calls: Arc<Mutex<HashMap<String, usize>>>,
    /// How each call authenticated: `basic`, `post` or `none`.
    auth: Arc<Mutex<Vec<&'static str>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Idp {
    fn url(&self) -> String {
        format!("http://{}/introspect", self.addr)
    }

    fn calls(&self, token: &str) -> usize {
        self.calls.lock().unwrap().get(token).copied().unwrap_or(0)
    }

    fn auth(&self) -> Vec<&'static str> {
        self.auth.lock().unwrap().clone()
    }

    /// Stops listening and drops every open connection; returns the address, free.
    async fn stop(self) -> SocketAddr {
        let mut this = self;
        this.task.abort();
        let _ = (&mut this.task).await;
        this.addr
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn idp() -> Idp {
    idp_on(TcpListener::bind("127.0.0.1:0").await.unwrap())
}

fn idp_on(listener: TcpListener) -> Idp {
    let addr = listener.local_addr().unwrap();
    let calls: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let auth: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let (c, a) = (calls.clone(), auth.clone());
    let task = tokio::spawn(async move {
        // Connections live in the set, so stopping the server closes them too.
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (c, a) = (c.clone(), a.clone());
            conns.spawn(async move {
                let svc = service_fn(move |req| {
                    let (c, a) = (c.clone(), a.clone());
                    async move { Ok::<_, Infallible>(answer(req, c, a).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Idp {
        addr,
        calls,
        auth,
        task,
    }
}

fn reply(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

async fn answer(
    req: Request<Incoming>,
    calls: Arc<Mutex<HashMap<String, usize>>>,
    auth: Arc<Mutex<Vec<&'static str>>>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let body = String::from_utf8(body.to_vec()).unwrap();
    // Test values need no percent-decoding.
    let form: HashMap<&str, &str> = body.split('&').filter_map(|p| p.split_once('=')).collect();
    let token = form.get("token").copied().unwrap_or_default().to_owned();
    *calls.lock().unwrap().entry(token.clone()).or_default() += 1;
    let expected_basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let (how, authenticated) = match parts.headers.get("authorization") {
        Some(v) => (
            "basic",
            v == expected_basic.as_str() && !form.contains_key("client_secret"),
        ),
        None if form.contains_key("client_secret") => (
            "post",
            form.get("client_id") == Some(&CLIENT_ID)
                && form.get("client_secret") == Some(&CLIENT_SECRET),
        ),
        None => ("none", false),
    };
    auth.lock().unwrap().push(how);
    let well_formed = parts.method == http::Method::POST
        && parts.uri.path() == "/introspect"
        && parts.headers["content-type"] == "application/x-www-form-urlencoded"
        && form.get("token_type_hint") == Some(&"access_token");
    if !authenticated || !well_formed {
        return reply(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "invalid_client" }),
        );
    }
    let exp = now() + 600;
    let iat = now() - 60;
    let doc = match token.as_str() {
        "tok-alice" => json!({
            "active": true, "sub": "alice", "iss": AUTH_ISSUER, "scope": "profile accounts:read",
            "roles": ["teller"], "jti": "op-1", "iat": iat, "exp": exp,
        }),
        // No `iss`: the provider's name is the issuer.
        "tok-bob" => {
            json!({ "active": true, "sub": "bob", "scope": "profile", "jti": "op-2", "iat": iat, "exp": exp })
        }
        "tok-carol" => {
            json!({ "active": true, "sub": "carol", "iss": AUTH_ISSUER, "iat": iat, "exp": exp })
        }
        "tok-slow" => {
            tokio::time::sleep(TIMEOUT * 5).await;
            json!({ "active": true, "sub": "slow", "exp": exp })
        }
        "tok-broken" => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({ "error": "oops" }),
            );
        }
        _ => json!({ "active": false }),
    };
    reply(StatusCode::OK, &doc)
}

/// A gateway serving `INTRO_SPEC` with `bearer` → the `opaque` introspection
/// provider at `url`; `extra` lines go into the provider's config (6 spaces).
async fn intro_gateway(up: &Upstream, url: &str, secret: &str, extra: &str) -> Gateway {
    let provider = format!(
        "\n  opaque:\n    introspection:\n      url: {url}\n      client_id: {CLIENT_ID}\n      \
         client_secret: file:client-secret\n      timeout: {}ms\n      negative_ttl: {}ms\n      \
         cache_ttl_max: 60s\n{extra}",
        TIMEOUT.as_millis(),
        NEGATIVE_TTL.as_millis(),
    );
    let text = config(&up.url(), "")
        .replace(
            "    security: { bearer: idp }\n",
            "    security: { bearer: opaque }\n",
        )
        .replace(
            "identity_providers:\n",
            &format!("identity_providers:{provider}"),
        );
    gateway_with(
        &text,
        &[
            ("spec.yaml", INTRO_SPEC),
            ("client-secret", &format!("{secret}\n")),
        ],
    )
    .await
}

async fn me(gw: &Gateway, token: &str) -> reqwest::Response {
    call(gw, "/me", Some(token), None).await
}

fn metric(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

fn provider_calls(result: &str, n: usize) -> String {
    format!(
        r#"portcullis_identity_provider_calls_total{{provider="opaque",call="introspection",result="{result}"}} {n}"#
    )
}

const INVALID_TOKEN: &str = "Bearer realm=\"test\", error=\"invalid_token\"";

/// A 503 `authentication-unavailable` with `Retry-After` and no challenge.
async fn assert_unavailable(resp: reqwest::Response) {
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(
        !resp.headers().contains_key("www-authenticate"),
        "not the caller's fault"
    );
    assert_problem(resp, 503, "authentication-unavailable").await;
}

#[tokio::test]
async fn an_active_token_reaches_the_upstream_as_its_subject_and_is_asked_once() {
    let (up, idp) = (upstream().await, idp().await);
    let gw = intro_gateway(&up, &idp.url(), CLIENT_SECRET, "").await;
    assert_eq!(me(&gw, "tok-alice").await.status(), 200);
    let seen = up.last().headers;
    assert_eq!(seen["x-portcullis-subject"], "alice");
    assert_eq!(seen["x-portcullis-issuer"], AUTH_ISSUER);
    assert_eq!(seen["x-portcullis-auth-method"], "introspection");
    assert_eq!(seen["x-portcullis-scopes"], "profile accounts:read");
    assert_eq!(seen["x-portcullis-roles"], "teller");
    assert!(
        !seen.contains_key("authorization"),
        "the token is not forwarded"
    );
    // Served from the cache: the endpoint is not asked again.
    assert_eq!(me(&gw, "tok-alice").await.status(), 200);
    assert_eq!(
        call(&gw, "/accounts", Some("tok-alice"), None)
            .await
            .status(),
        200
    );
    assert_eq!(up.requests().len(), 3);
    assert_eq!(idp.calls("tok-alice"), 1);
    assert_eq!(
        idp.auth(),
        ["basic"],
        "HTTP Basic client authentication by default"
    );
    reasons(&gw, 3).await;
    let audit = gw.audit_lines();
    let ok = audit.iter().find(|e| e["status"] == 200).unwrap();
    assert_eq!(ok["auth"]["method"], "introspection");
    assert_eq!(ok["auth"]["subject"], "alice");
    assert_eq!(ok["auth"]["issuer"], AUTH_ISSUER);
    assert_eq!(ok["auth"]["credential_id"], "op-1");
    let text = std::fs::read_to_string(gw.dir.path().join("audit.jsonl")).unwrap();
    assert!(
        !text.contains("tok-alice"),
        "tokens never reach the audit log"
    );
    let metrics = gw.admin_text("/metrics").await;
    assert!(metric(&metrics, &provider_calls("success", 1)), "{metrics}");
    assert!(
        metric(
            &metrics,
            r#"portcullis_auth_total{api="test",method="introspection",result="success"} 3"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_inactive_token_is_401_invalid_token_and_that_answer_is_kept_briefly() {
    let (up, idp) = (upstream().await, idp().await);
    let gw = intro_gateway(&up, &idp.url(), CLIENT_SECRET, "").await;
    let resp = me(&gw, "tok-gone").await;
    assert_eq!(resp.headers()["www-authenticate"], INVALID_TOKEN);
    assert_problem(resp, 401, "unauthenticated").await;
    assert_problem(me(&gw, "tok-gone").await, 401, "unauthenticated").await;
    assert_eq!(idp.calls("tok-gone"), 1, "the inactive answer is cached");
    tokio::time::sleep(NEGATIVE_TTL + Duration::from_millis(100)).await;
    assert_problem(me(&gw, "tok-gone").await, 401, "unauthenticated").await;
    assert_eq!(idp.calls("tok-gone"), 2, "asked again after negative_ttl");
    assert!(up.requests().is_empty());
    let r = reasons(&gw, 3).await;
    assert!(
        r.iter().all(|r| r == "unauthenticated: bearer: inactive"),
        "{r:?}"
    );
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metric(&metrics, &provider_calls("inactive", 2)),
        "{metrics}"
    );
    assert!(
        metric(
            &metrics,
            r#"portcullis_auth_total{api="test",method="introspection",result="inactive"} 3"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn scopes_from_introspection_are_enforced() {
    let (up, idp) = (upstream().await, idp().await);
    let gw = intro_gateway(&up, &idp.url(), CLIENT_SECRET, "").await;
    let resp = call(&gw, "/accounts", Some("tok-bob"), None).await;
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"test\", error=\"insufficient_scope\", scope=\"accounts:read\""
    );
    assert_problem(resp, 403, "insufficient-scope").await;
    assert_eq!(
        call(&gw, "/accounts", Some("tok-alice"), None)
            .await
            .status(),
        200
    );
    assert_eq!(up.last().headers["x-portcullis-subject"], "alice");
    // No token, or one that is not a token: refused without asking the endpoint.
    let resp = call(&gw, "/accounts", None, None).await;
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"test\"");
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = client()
        .get(format!("{}/me", gw.url))
        .header("authorization", "Bearer tok,alice")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["www-authenticate"], INVALID_TOKEN);
    assert_problem(resp, 401, "unauthenticated").await;
    assert_eq!(idp.calls.lock().unwrap().values().sum::<usize>(), 2);
    assert_eq!(up.requests().len(), 1);
    let r = reasons(&gw, 4).await;
    assert_eq!(
        r,
        [
            "insufficient-scope: bearer: needs `accounts:read`",
            "",
            "unauthenticated: bearer: missing",
            "unauthenticated: bearer: malformed",
        ]
    );
}

#[tokio::test]
async fn an_endpoint_that_is_down_is_503_not_401_and_recovery_needs_no_restart() {
    let (up, idp) = (upstream().await, idp().await);
    let gw = intro_gateway(&up, &idp.url(), CLIENT_SECRET, "").await;
    assert_eq!(
        me(&gw, "tok-alice").await.status(),
        200,
        "a pooled connection exists"
    );
    let addr = idp.stop().await;
    assert_unavailable(me(&gw, "tok-carol").await).await;
    // A token verified before the outage is still served from the cache.
    assert_eq!(me(&gw, "tok-alice").await.status(), 200);
    // Failures are not cached: once the endpoint is back, the same token works.
    let idp = idp_on(TcpListener::bind(addr).await.unwrap());
    assert_eq!(me(&gw, "tok-carol").await.status(), 200);
    assert_eq!(up.last().headers["x-portcullis-subject"], "carol");
    assert_eq!(idp.calls("tok-carol"), 1);
    let r = reasons(&gw, 4).await;
    assert_eq!(
        r[1],
        "authentication-unavailable: opaque: provider_unavailable"
    );
    let metrics = gw.admin_text("/metrics").await;
    assert!(metric(&metrics, &provider_calls("error", 1)), "{metrics}");
    assert!(
        metric(
            &metrics,
            r#"portcullis_auth_total{api="test",method="introspection",result="provider_unavailable"} 1"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_endpoint_on_a_closed_port_is_503() {
    let up = upstream().await;
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let gw = intro_gateway(
        &up,
        &format!("http://{closed}/introspect"),
        CLIENT_SECRET,
        "",
    )
    .await;
    assert_unavailable(me(&gw, "tok-alice").await).await;
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn a_slow_or_failing_endpoint_is_503_and_is_asked_again_next_time() {
    let (up, idp) = (upstream().await, idp().await);
    let gw = intro_gateway(&up, &idp.url(), CLIENT_SECRET, "").await;
    let start = Instant::now();
    assert_unavailable(me(&gw, "tok-slow").await).await;
    let took = start.elapsed();
    assert!(
        took >= TIMEOUT && took < TIMEOUT * 4,
        "answered after {took:?}"
    );
    assert_unavailable(me(&gw, "tok-broken").await).await;
    assert_unavailable(me(&gw, "tok-broken").await).await;
    assert_eq!(idp.calls("tok-broken"), 2, "a failure is not cached");
    assert!(up.requests().is_empty());
    let metrics = gw.admin_text("/metrics").await;
    assert!(metric(&metrics, &provider_calls("timeout", 1)), "{metrics}");
    assert!(metric(&metrics, &provider_calls("status", 2)), "{metrics}");
}

#[tokio::test]
async fn wrong_client_credentials_are_the_gateways_problem_not_the_callers() {
    let (up, idp) = (upstream().await, idp().await);
    let gw = intro_gateway(&up, &idp.url(), "not-the-secret", "").await;
    assert_unavailable(me(&gw, "tok-alice").await).await;
    assert_eq!(idp.calls("tok-alice"), 1);
    assert_eq!(idp.auth(), ["basic"]);
    // `client_auth: post` sends the credentials in the body instead.
    let up2 = upstream().await;
    let gw2 = intro_gateway(&up2, &idp.url(), CLIENT_SECRET, "      client_auth: post\n").await;
    assert_eq!(me(&gw2, "tok-alice").await.status(), 200);
    assert_eq!(idp.auth(), ["basic", "post"]);
}

#[tokio::test]
async fn admin_revocations_apply_to_introspected_tokens() {
    let (up, idp) = (upstream().await, idp().await);
    let gw = intro_gateway(&up, &idp.url(), CLIENT_SECRET, "").await;
    for t in ["tok-alice", "tok-bob", "tok-carol"] {
        assert_eq!(me(&gw, t).await.status(), 200, "{t}");
    }
    let revoke = |path: &'static str, body: serde_json::Value| {
        gw.admin_request(reqwest::Method::POST, path)
            .json(&body)
            .send()
    };
    // By `iss` and `jti`, when the answer names an issuer …
    let resp = revoke(
        "/revocations/tokens",
        json!({ "issuer": AUTH_ISSUER, "jti": "op-1", "until": now() + 600 }),
    );
    assert_eq!(resp.await.unwrap().status(), 201);
    // … else by the provider's name.
    let resp = revoke(
        "/revocations/tokens",
        json!({ "issuer": "opaque", "jti": "op-2", "until": now() + 600 }),
    );
    assert_eq!(resp.await.unwrap().status(), 201);
    // A subject, logged out everywhere.
    let resp = revoke("/revocations/subjects", json!({ "subject": "carol" }));
    assert_eq!(resp.await.unwrap().status(), 201);
    for t in ["tok-alice", "tok-bob", "tok-carol"] {
        let resp = me(&gw, t).await;
        assert_eq!(resp.headers()["www-authenticate"], INVALID_TOKEN, "{t}");
        assert_problem(resp, 401, "unauthenticated").await;
    }
    // Refused from the cache: the endpoint still says the tokens are active.
    for t in ["tok-alice", "tok-bob", "tok-carol"] {
        assert_eq!(idp.calls(t), 1, "{t}");
    }
    let r = reasons(&gw, 6).await;
    assert!(
        r[3..]
            .iter()
            .all(|r| r == "unauthenticated: bearer: revoked"),
        "{r:?}"
    );
}
