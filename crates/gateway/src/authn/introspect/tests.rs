//! Against a real introspection endpoint on 127.0.0.1 that checks the client's
//! credentials and counts calls; time in the cache comes from a fake clock.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::*;
use crate::authn::AuthMethod;
use crate::config::Secret;

const CLIENT_ID: &str = "gate way";
const SECRET: &str = "s3cr:t+/&=é";
/// The fake clock's start, in milliseconds.
const T0: u64 = 1_700_000_000_000;
const T0_SECS: u64 = T0 / 1000;

/// The test identity provider.
struct Idp {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    /// How each call authenticated: `basic` or `post`.
    auth: Arc<Mutex<Vec<&'static str>>>,
    task: tokio::task::JoinHandle<()>,
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
    let calls = Arc::new(AtomicUsize::new(0));
    let auth: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let (c, a) = (calls.clone(), auth.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (c, a) = (c.clone(), a.clone());
            tokio::spawn(async move {
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

async fn answer(
    req: http::Request<Incoming>,
    calls: Arc<AtomicUsize>,
    auth: Arc<Mutex<Vec<&'static str>>>,
) -> Response<Full<Bytes>> {
    calls.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let body = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let form = form_decode(&body);
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let basic = parts.headers.get(header::AUTHORIZATION).map(|v| {
        let b64 = v.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let pair = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        let (id, secret) = pair.split_once(':').unwrap();
        (decode(id), decode(secret))
    });
    let authenticated = match basic {
        Some((id, secret)) => {
            auth.lock().unwrap().push("basic");
            id == CLIENT_ID && secret == SECRET && field("client_secret").is_none()
        }
        None => {
            auth.lock().unwrap().push("post");
            field("client_id") == Some(CLIENT_ID) && field("client_secret") == Some(SECRET)
        }
    };
    let well_formed = parts.method == http::Method::POST
        && parts.headers[header::ACCEPT] == "application/json"
        && parts.headers[header::CONTENT_TYPE] == "application/x-www-form-urlencoded"
        && field("token_type_hint") == Some("access_token");
    if !authenticated || !well_formed {
        return reply(StatusCode::UNAUTHORIZED, "{}".into());
    }
    let token = field("token").unwrap_or_default().to_owned();
    let good = serde_json::json!({
        "active": true, "sub": "alice", "iss": "https://idp.test", "aud": ["other", "api"],
        "scope": "accounts:read accounts:write", "realm": {"roles": ["teller"]}, "org": "acme",
        "jti": "j-1", "iat": T0_SECS - 10, "exp": T0_SECS + 3600, "amr": ["pwd", "mfa"],
    });
    let json = match token.as_str() {
        "good" => good,
        "inactive" => serde_json::json!({"active": false}),
        "wrong-iss" => {
            serde_json::json!({"active": true, "sub": "x", "iss": "https://evil.test", "aud": "api"})
        }
        "wrong-aud" => {
            serde_json::json!({"active": true, "sub": "x", "iss": "https://idp.test", "aud": "web"})
        }
        "user" => {
            serde_json::json!({"active": true, "username": "carol", "iss": "https://idp.test", "aud": "api"})
        }
        "client" => {
            serde_json::json!({"active": true, "client_id": "svc", "iss": "https://idp.test", "aud": "api"})
        }
        "slow" | "slowish" => {
            let ms = if token == "slow" { 2000 } else { 150 };
            tokio::time::sleep(Duration::from_millis(ms)).await;
            good
        }
        "big" => serde_json::json!({"active": true, "sub": "x".repeat(4096)}),
        "junk" => return reply(StatusCode::OK, "<html>not json".into()),
        "no-active" => serde_json::json!({"sub": "x"}),
        "err" => return reply(StatusCode::INTERNAL_SERVER_ERROR, "{}".into()),
        t if t.starts_with("exp-") => {
            let exp: u64 = t[4..].parse().unwrap();
            serde_json::json!({"active": true, "sub": "bob", "iss": "https://idp.test", "aud": "api", "exp": exp})
        }
        // Anything else: active, the token (as decoded) is the subject.
        t => serde_json::json!({"active": true, "sub": t, "iss": "https://idp.test", "aud": "api"}),
    };
    reply(StatusCode::OK, json.to_string())
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

fn form_decode(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next().unwrap(), bytes.next().unwrap()];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).unwrap()
}

/// A config for the endpoint at `addr`, and the directory holding its secret.
fn config(addr: SocketAddr, client_auth: ClientAuth) -> (IntrospectionConfig, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), SECRET).unwrap();
    let cfg = IntrospectionConfig {
        url: format!("http://{addr}/introspect").parse().unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::resolve("file:secret", dir.path()).unwrap(),
        client_auth,
        timeout: Duration::from_secs(2),
        max_response_bytes: 1024,
        cache_ttl_max: Duration::from_secs(300),
        negative_ttl: Duration::from_secs(10),
        cache_size: 100,
        ca_bundle: None,
        issuer: Some("https://idp.test".into()),
        audiences: vec!["api".into()],
        roles_claim: "realm.roles".into(),
        scopes_claim: "scope".into(),
        tenant_claim: Some("org".into()),
        mfa_acr_values: Vec::new(),
    };
    (cfg, dir)
}

fn shared() -> Shared {
    Shared::new(Arc::new(Metrics::new()))
}

/// An introspector on a fake clock (milliseconds), starting at `T0`.
fn introspector(cfg: &IntrospectionConfig, shared: &Shared) -> (Introspector, Arc<AtomicU64>) {
    let mut i = Introspector::new("idp", cfg, shared).unwrap();
    let now = Arc::new(AtomicU64::new(T0));
    let n = now.clone();
    i.inner.clock = Arc::new(move || n.load(Ordering::SeqCst));
    (i, now)
}

#[tokio::test]
async fn an_active_token_gives_its_principal_and_is_cached() {
    let idp = idp().await;
    let (cfg, _dir) = config(idp.addr, ClientAuth::Basic);
    let (i, _now) = introspector(&cfg, &shared());
    let p = i.verify("good").await.unwrap();
    assert_eq!(&*p.subject, "alice");
    assert_eq!(&*p.issuer, "https://idp.test");
    assert_eq!(p.method, AuthMethod::Introspection);
    assert_eq!(p.roles, vec![Arc::<str>::from("teller")]);
    assert!(p.has_scopes(&["accounts:read".into(), "accounts:write".into()]));
    assert_eq!(p.tenant.as_deref(), Some("acme"));
    assert!(p.mfa);
    assert_eq!(p.credential_id.as_deref(), Some("j-1"));
    assert_eq!(
        (p.issued_at, p.expires_at),
        (Some(T0_SECS - 10), Some(T0_SECS + 3600))
    );
    assert_eq!(p.claims["sub"], "alice");

    let again = i.verify("good").await.unwrap();
    assert!(Arc::ptr_eq(&p, &again));
    assert_eq!(
        idp.calls.load(Ordering::SeqCst),
        1,
        "the second answer came from the cache"
    );
    assert_eq!(*idp.auth.lock().unwrap(), vec!["basic"]);
}

#[tokio::test]
async fn refusals_are_cached_briefly() {
    let idp = idp().await;
    let (cfg, _dir) = config(idp.addr, ClientAuth::Basic);
    let (i, now) = introspector(&cfg, &shared());
    for (token, failure) in [
        ("inactive", Failure::Inactive),
        ("wrong-iss", Failure::WrongIssuer),
        ("wrong-aud", Failure::WrongAudience),
        (&*format!("exp-{}", T0_SECS - 1), Failure::Expired),
    ] {
        assert_eq!(i.verify(token).await, Err(failure), "{token}");
    }
    assert_eq!(i.verify("inactive").await, Err(Failure::Inactive));
    assert_eq!(
        idp.calls.load(Ordering::SeqCst),
        4,
        "the repeat came from the cache"
    );
    now.fetch_add(10_000, Ordering::SeqCst);
    assert_eq!(i.verify("inactive").await, Err(Failure::Inactive));
    assert_eq!(
        idp.calls.load(Ordering::SeqCst),
        5,
        "after negative_ttl the endpoint is asked again"
    );
}

#[tokio::test]
async fn a_positive_answer_is_cached_until_the_token_expires_at_most() {
    let idp = idp().await;
    let (cfg, _dir) = config(idp.addr, ClientAuth::Basic);
    let (i, now) = introspector(&cfg, &shared());
    let token = format!("exp-{}", T0_SECS + 60);
    assert_eq!(
        i.verify(&token).await.unwrap().expires_at,
        Some(T0_SECS + 60)
    );
    now.fetch_add(59_999, Ordering::SeqCst);
    assert!(i.verify(&token).await.is_ok());
    assert_eq!(idp.calls.load(Ordering::SeqCst), 1);
    now.fetch_add(1, Ordering::SeqCst);
    assert_eq!(
        i.verify(&token).await,
        Err(Failure::Expired),
        "asked again at exp"
    );
    assert_eq!(idp.calls.load(Ordering::SeqCst), 2);

    // Without an early `exp`, cache_ttl_max bounds it.
    assert!(i.verify("good").await.is_ok());
    now.fetch_add(300_000, Ordering::SeqCst);
    assert!(i.verify("good").await.is_ok());
    assert_eq!(idp.calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_down_endpoint_is_unavailable_and_not_cached() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (cfg, _dir) = config(addr, ClientAuth::Basic);
    let (i, _now) = introspector(&cfg, &shared());
    assert_eq!(i.verify("good").await, Err(Failure::ProviderUnavailable));
    assert_eq!(i.inner.cache.sizes(), (0, 0));

    let idp = idp_on(TcpListener::bind(addr).await.unwrap());
    assert_eq!(
        i.verify("good").await.map(|p| p.subject.clone()),
        Ok("alice".into())
    );
    assert_eq!(idp.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn broken_answers_are_unavailable_and_not_cached() {
    let idp = idp().await;
    let (cfg, _dir) = config(idp.addr, ClientAuth::Basic);
    let (i, _now) = introspector(&cfg, &shared());
    for token in ["big", "junk", "no-active", "err", "big"] {
        assert_eq!(
            i.verify(token).await,
            Err(Failure::ProviderUnavailable),
            "{token}"
        );
    }
    assert_eq!(idp.calls.load(Ordering::SeqCst), 5);
    assert_eq!(i.inner.cache.sizes(), (0, 0));
}

#[tokio::test]
async fn a_slow_endpoint_times_out() {
    let idp = idp().await;
    let (mut cfg, _dir) = config(idp.addr, ClientAuth::Basic);
    cfg.timeout = Duration::from_millis(200);
    let (i, _now) = introspector(&cfg, &shared());
    let started = std::time::Instant::now();
    assert_eq!(i.verify("slow").await, Err(Failure::ProviderUnavailable));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn client_credentials_can_go_in_the_body() {
    let idp = idp().await;
    let (cfg, _dir) = config(idp.addr, ClientAuth::Post);
    let (i, _now) = introspector(&cfg, &shared());
    assert!(i.verify("good").await.is_ok());
    assert_eq!(*idp.auth.lock().unwrap(), vec!["post"]);

    // The endpoint refuses wrong credentials: that is the gateway's problem, a 503.
    let (mut cfg, dir) = config(idp.addr, ClientAuth::Post);
    std::fs::write(dir.path().join("secret"), "wrong").unwrap();
    cfg.client_secret = Secret::resolve("file:secret", dir.path()).unwrap();
    let (i, _now) = introspector(&cfg, &shared());
    assert_eq!(i.verify("good").await, Err(Failure::ProviderUnavailable));
}

#[tokio::test]
async fn tokens_are_form_encoded_and_the_subject_falls_back() {
    let idp = idp().await;
    let (cfg, _dir) = config(idp.addr, ClientAuth::Basic);
    let (i, _now) = introspector(&cfg, &shared());
    let odd = "a+b/c.d~e_f-g==";
    assert_eq!(
        i.verify(odd).await.map(|p| p.subject.clone()),
        Ok(odd.into())
    );
    assert_eq!(
        i.verify("user").await.map(|p| p.subject.clone()),
        Ok("carol".into())
    );
    assert_eq!(
        i.verify("client").await.map(|p| p.subject.clone()),
        Ok("svc".into())
    );
    for bad in [
        "",
        "a b",
        "a&token=good",
        "é",
        &"x".repeat(MAX_TOKEN_LEN + 1),
    ] {
        assert_eq!(i.verify(bad).await, Err(Failure::Malformed), "{bad:?}");
    }
    assert_eq!(idp.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn concurrent_requests_for_one_token_share_one_call() {
    let idp = idp().await;
    let (cfg, _dir) = config(idp.addr, ClientAuth::Basic);
    let (i, _now) = introspector(&cfg, &shared());
    let all = futures_util::future::join_all((0..8).map(|_| i.verify("slowish"))).await;
    assert!(all.iter().all(Result::is_ok));
    assert_eq!(idp.calls.load(Ordering::SeqCst), 1);
    assert_eq!(i.inner.cache.sizes(), (1, 0));

    // A cancelled request leaves no flight behind.
    let cancelled = tokio::time::timeout(Duration::from_millis(50), i.verify("slow")).await;
    assert!(cancelled.is_err());
    assert_eq!(i.inner.cache.sizes(), (1, 0));
}

#[tokio::test]
async fn the_cache_is_bounded_and_survives_an_unchanged_reload() {
    let idp = idp().await;
    let (mut cfg, _dir) = config(idp.addr, ClientAuth::Basic);
    cfg.cache_size = 4;
    let shared = shared();
    let (i, _now) = introspector(&cfg, &shared);
    for n in 0..10 {
        assert!(i.verify(&format!("t{n}")).await.is_ok());
        assert!(i.inner.cache.sizes().0 <= 4);
    }
    let (again, _now) = introspector(&cfg, &shared);
    assert!(
        Arc::ptr_eq(&i.inner.cache, &again.inner.cache),
        "same config: same cache"
    );
    cfg.audiences.push("web".into());
    let (changed, _now) = introspector(&cfg, &shared);
    assert!(
        !Arc::ptr_eq(&i.inner.cache, &changed.inner.cache),
        "changed config: new cache"
    );
}

#[test]
fn endpoints_must_be_https_or_loopback() {
    assert!(endpoint("https://idp.example/introspect").is_ok());
    assert!(endpoint("http://127.0.0.1:8080/i").is_ok());
    assert!(endpoint("http://[::1]:8080/i").is_ok());
    assert!(endpoint("http://localhost/i").is_ok());
    assert!(endpoint("http://idp.example/i").is_err());
    assert!(endpoint("http://127.example/i").is_err());
    assert!(endpoint("ftp://idp.example/i").is_err());
    assert!(endpoint("/introspect").is_err());
}

#[test]
fn form_encoding() {
    assert_eq!(
        form_encode("a b+c/d=e&f~é*"),
        "a+b%2Bc%2Fd%3De%26f%7E%C3%A9*"
    );
}

#[test]
fn unknown_fields_are_refused() {
    let ok = "url: https://idp.example/i\nclient_id: gw\nclient_secret: env:X\ntimeout: 1s\n";
    assert!(serde_saphyr::from_str::<RawIntrospection>(ok).is_ok());
    let typo = format!("{ok}cache_tll_max: 1m\n");
    assert!(serde_saphyr::from_str::<RawIntrospection>(&typo).is_err());
}
