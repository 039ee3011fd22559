//! The login defence through the gateway, in front of a login service that
//! (like many) tells "no such user" from "wrong password": a scripted guessing
//! attack is locked out, every failure looks the same (status, body, timing
//! bucket), the real user logs in once the lockout ends, and breached passwords
//! are refused. The lockout is crossed by moving the gateway's clock.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::support::{self, Gateway, client};

const SPEC: &str = r#"
openapi: 3.1.0
info: { title: Accounts, version: "1" }
security: []
paths:
  /login:
    post:
      operationId: login
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [username, password]
              properties:
                username: { type: string, maxLength: 64 }
                password: { type: string, maxLength: 128 }
      responses:
        "200": { description: logged in }
        "401": { description: refused }
"#;

/// A login service: `alice` / `correct horse` logs in; it answers a wrong
/// password and an unknown user differently (the leak the gateway hides).
struct Accounts {
    url: String,
    calls: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Accounts {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accounts() -> Accounts {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counted = counted.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    async move { Ok::<_, Infallible>(login(req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Accounts { url, calls, task }
}

async fn login(req: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let creds: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let (status, text) = match (creds["username"].as_str(), creds["password"].as_str()) {
        (Some("alice"), Some("correct horse")) => (200, r#"{"token":"t-alice"}"#),
        (Some("alice"), _) => (401, r#"{"error":"wrong password for alice"}"#),
        _ => (401, r#"{"error":"no such user"}"#),
    };
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

async fn gateway(accounts: &Accounts, extra: &str) -> Gateway {
    let text = support::config(&accounts.url, "")
        .replace("    spec: spec.yaml", "    spec: accounts.yaml")
        .replace("    security: { bearer: idp }\n", "")
        + &format!(
            r#"    login:
      - operation: login
        username: /username
        password: /password
        per_username: {{ failures: 3, window: 1m }}
        per_ip: {{ failures: 100, window: 1m }}
        delay: {{ base: 10ms, max: 40ms }}
        lockout: 1m
        uniform: {{ bucket: 150ms }}
{extra}"#
        );
    support::gateway_with(&text, &[("accounts.yaml", SPEC)]).await
}

/// POSTs credentials: status, the problem body without its per-request ids,
/// and the time it took.
async fn attempt(gw: &Gateway, user: &str, password: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let r = client()
        .post(format!("{}/login", gw.url))
        .json(&serde_json::json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let mut body: serde_json::Value = r.json().await.unwrap();
    if let Some(o) = body.as_object_mut() {
        o.remove("request_id");
        o.remove("instance");
    }
    (status, body.to_string(), started.elapsed())
}

#[tokio::test]
async fn a_guessing_attack_is_locked_out_and_the_user_logs_in_after_the_lockout() {
    let acc = accounts().await;
    let gw = gateway(&acc, "").await;

    let (status, uniform, _) = attempt(&gw, "alice", "guess-0").await;
    assert_eq!(status, 401);
    assert!(uniform.contains("login-failed"), "{uniform}");
    assert!(
        !uniform.contains("wrong password"),
        "the service's answer is replaced"
    );
    // An unknown user gets the very same answer: no enumeration.
    let (status, unknown, elapsed) = attempt(&gw, "mallory", "x").await;
    assert_eq!((status, &unknown), (401, &uniform));
    assert!(
        elapsed >= Duration::from_millis(150),
        "released at the bucket's end"
    );

    // The scripted attack: 20 more guesses.
    for i in 1..=20 {
        let (status, body, elapsed) = attempt(&gw, "alice", &format!("guess-{i}")).await;
        assert_eq!((status, &body), (401, &uniform), "guess {i}");
        assert!(
            elapsed >= Duration::from_millis(150) && elapsed < Duration::from_millis(450),
            "guess {i} left in its bucket: {elapsed:?}"
        );
    }
    assert_eq!(
        acc.calls.load(Ordering::SeqCst),
        4,
        "after 3 failures alice is locked: the guesses never reach the service"
    );
    // Locked means locked, even with the right password: the answer is the same.
    let (status, body, _) = attempt(&gw, "alice", "correct horse").await;
    assert_eq!((status, &body), (401, &uniform));

    // A minute later (the gateway's clock is moved, not waited for).
    let clock = &gw.running.as_ref().unwrap().gateway.store.clock;
    clock.set(std::time::SystemTime::now() + Duration::from_secs(61));
    let (status, body, _) = attempt(&gw, "alice", "correct horse").await;
    assert_eq!(
        status, 200,
        "after the lockout the real user logs in: {body}"
    );
    assert!(body.contains("t-alice"));

    let metrics = gw.admin_text("/metrics").await;
    assert!(metrics.contains("event=\"locked\""), "{metrics}");
    support::eventually("the audit events", || gw.audit_lines().len() >= 24).await;
    let audit = gw.audit_lines();
    assert!(
        audit
            .iter()
            .any(|e| e.to_string().contains("login-failed: locked-user")),
        "the audit log says why"
    );
    assert!(
        !audit.iter().any(|e| e.to_string().contains("guess-")),
        "no password in the audit log"
    );
}

#[tokio::test]
async fn a_breached_password_is_refused_before_the_service_sees_it() {
    let acc = accounts().await;
    let digest = |p: &str| {
        let d =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, p.as_bytes());
        d.as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
    };
    let mut lines = [
        format!("{}:3861493", digest("password123")),
        format!("{}:12", digest("hunter2")),
        "0000000000000000000000000000000000000001:1".to_owned(),
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:1".to_owned(),
    ];
    lines.sort();
    let gw = {
        let text = support::config(&acc.url, "")
            .replace("    spec: spec.yaml", "    spec: accounts.yaml")
            .replace("    security: { bearer: idp }\n", "")
            + "    login:\n      - operation: login\n        username: /username\n        password: /password\n        breached_passwords: { file: pwned.txt, action: refuse }\n";
        support::gateway_with(
            &text,
            &[
                ("accounts.yaml", SPEC),
                ("pwned.txt", &(lines.join("\n") + "\n")),
            ],
        )
        .await
    };
    let r = client()
        .post(format!("{}/login", gw.url))
        .json(&serde_json::json!({ "username": "bob", "password": "hunter2" }))
        .send()
        .await
        .unwrap();
    support::assert_problem(r, 400, "password-breached").await;
    assert_eq!(acc.calls.load(Ordering::SeqCst), 0);
    let (status, _, _) = attempt(&gw, "alice", "correct horse").await;
    assert_eq!(status, 200);
}
