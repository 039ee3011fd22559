//! Test builders: upstream servers that record what they receive, and gateways
//! started from a config written into a temporary directory.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, missing_docs)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_gateway::server::Running;
use tokio::net::TcpListener;

/// What an upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub version: http::Version,
}

/// A recording upstream. Paths it understands:
/// - `/status/{code}`: answers that status with a stack-trace-like text body
/// - `/slow/{ms}`: waits, then answers 200
/// - `/stream/{n}`: streams n chunks of 1 KiB, 20 ms apart
/// - anything else: 200 JSON `{"path": ..., "method": ...}`
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn last(&self) -> Seen {
        self.requests().pop().expect("the upstream saw a request")
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn upstream() -> Upstream {
    upstream_on(TcpListener::bind("127.0.0.1:0").await.unwrap()).await
}

pub async fn upstream_on(listener: TcpListener) -> Upstream {
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let rec = seen.clone();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let rec = rec.clone();
            conns.spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let rec = rec.clone();
                    async move { Ok::<_, Infallible>(answer(req, rec).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Upstream { addr, seen, task }
}

type UpBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn answer(req: Request<Incoming>, rec: Arc<Mutex<Vec<Seen>>>) -> Response<UpBody> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    rec.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: body.clone(),
        version: parts.version,
    });
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["status", code] => {
            let code = code.parse().unwrap_or(500);
            let mut r = Response::new(full(
                "java.lang.NullPointerException\n\tat com.bank.Db.connect(Db.java:42) postgres://bank:S3cr3t@db:5432",
            ));
            *r.status_mut() = StatusCode::from_u16(code).unwrap();
            r.headers_mut()
                .insert("x-powered-by", "Express 4.17".parse().unwrap());
            r
        }
        ["slow", ms] => {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(100))).await;
            Response::new(full("slow"))
        }
        ["stream", n] => {
            let n: usize = n.parse().unwrap_or(3);
            let stream = futures_util::stream::unfold(0, move |i| async move {
                if i == n {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((
                    Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'x'; 1024]))),
                    i + 1,
                ))
            });
            Response::new(BodyExt::boxed(StreamBody::new(stream)))
        }
        _ => {
            let json = serde_json::json!({ "method": parts.method.as_str(), "path": path, "query": parts.uri.query(), "body_len": body.len() });
            let mut r = Response::new(full(json.to_string()));
            r.headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            r.headers_mut()
                .insert("connection", "x-hop".parse().unwrap());
            r.headers_mut()
                .insert("x-hop", "must not pass".parse().unwrap());
            r.headers_mut()
                .insert("server", "Apache/2.4.1 (Unix)".parse().unwrap());
            r
        }
    }
}

fn full(s: impl Into<Bytes>) -> UpBody {
    BodyExt::boxed(Full::new(s.into()))
}

/// A minimal OpenAPI 3.1 spec used by most tests.
pub const SPEC: &str = r#"
openapi: 3.1.0
info: { title: Test API, version: "1" }
security: []
paths:
  /items:
    get: { operationId: listItems, responses: { "200": { description: ok } } }
    post: { operationId: createItem, responses: { "201": { description: ok } } }
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
    put:
      operationId: putItem
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
  /status/{code}:
    get:
      operationId: status
      parameters: [{ name: code, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
  /slow/{ms}:
    parameters: [{ name: ms, in: path, required: true, schema: { type: string } }]
    get: { operationId: slow, responses: { "200": { description: ok } } }
    post: { operationId: slowPost, responses: { "200": { description: ok } } }
  /stream/{n}:
    get:
      operationId: stream
      parameters: [{ name: n, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
  /secure:
    get:
      operationId: secure
      security: [{ bearer: [] }]
      responses: { "200": { description: ok } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
"#;

/// A running gateway and its temporary directory.
pub struct Gateway {
    pub dir: tempfile::TempDir,
    pub running: Option<Running>,
    pub url: String,
    pub admin: String,
    pub addr: SocketAddr,
}

impl Gateway {
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("portcullis.yaml")
    }

    pub fn write(&self, name: &str, text: &str) {
        write_atomically(&self.dir.path().join(name), text);
    }

    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.path().join("audit.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }

    /// A request to the admin API with the admin token.
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        client()
            .request(method, format!("{}{path}", self.admin))
            .bearer_auth(ADMIN_TOKEN)
    }

    /// GET on the admin API, as text.
    pub async fn admin_text(&self, path: &str) -> String {
        self.admin_request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// GET on the admin API, as JSON.
    pub async fn admin_json(&self, path: &str) -> serde_json::Value {
        self.admin_request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `POST /reload`: the status and the answer.
    pub async fn reload(&self) -> (u16, serde_json::Value) {
        let resp = self
            .admin_request(reqwest::Method::POST, "/reload")
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// GET on the gateway.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        client()
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    /// GET on the gateway; the body is read to its end, the status returned.
    pub async fn get_status(&self, path: &str) -> u16 {
        let resp = client()
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        resp.bytes().await.unwrap();
        status
    }

    pub async fn shutdown(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}

pub fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The usual config: one cleartext listener, the test spec, one upstream; `extra` is
/// appended at the top level (YAML), `{UPSTREAM}` replaced by the upstream URL.
pub fn config(upstream: &str, extra: &str) -> String {
    format!(
        r#"
listeners:
  - address: 127.0.0.1:0
admin:
  address: 127.0.0.1:0
  token: file:admin-token
audit:
  file: audit.jsonl
runtime:
  watch_config: false
  watch_interval: 100ms
upstreams:
  main:
    targets: [{upstream}]
    connect_timeout: 500ms
    timeout: 2s
identity_providers:
  idp:
    jwt:
      issuer: {ISSUER}
      audiences: [test]
      algorithms: [ES256]
      jwks_file: jwks.json
apis:
  - name: test
    spec: spec.yaml
    upstream: main
    security: {{ bearer: idp }}
{extra}
"#
    )
}

/// Turns file watching on in a config made by `config` (off by default, so that only
/// the reloads a test asks for happen).
pub fn watching(text: &str) -> String {
    text.replace("watch_config: false", "watch_config: true")
}

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The files `config()` refers to: the test spec, the admin token, `idp`'s JWKS.
pub fn write_base_files(dir: &Path) {
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
    std::fs::write(dir.join("admin-token"), ADMIN_TOKEN).unwrap();
    std::fs::write(dir.join("jwks.json"), test_key().jwks().to_string()).unwrap();
}

/// The issuer of the default config's identity provider (`idp`).
pub const ISSUER: &str = "https://idp.test";

/// The signing key of `idp`, whose JWKS `gateway_with` writes as `jwks.json`.
pub fn test_key() -> &'static portcullis_gateway::authn::mint::Minter {
    static KEY: std::sync::OnceLock<portcullis_gateway::authn::mint::Minter> =
        std::sync::OnceLock::new();
    KEY.get_or_init(|| portcullis_gateway::authn::mint::Minter::generate().unwrap())
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token from `idp` for `sub`, valid for 10 minutes; `extra` claims are merged in.
pub fn token(sub: &str, extra: serde_json::Value) -> String {
    let mut claims = serde_json::json!({
        "iss": ISSUER,
        "aud": "test",
        "sub": sub,
        "iat": now(),
        "exp": now() + 600,
        "jti": format!("jti-{sub}-{}", now_nanos()),
    });
    if let (Some(c), serde_json::Value::Object(e)) = (claims.as_object_mut(), extra) {
        c.extend(e);
    }
    test_key().sign(&claims).unwrap()
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Starts a gateway with `config_text` and the files given (spec.yaml defaults to SPEC).
pub async fn gateway_with(config_text: &str, files: &[(&str, &str)]) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    write_base_files(dir.path());
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, config_text).unwrap();
    let running = portcullis_gateway::server::start(&path)
        .await
        .unwrap_or_else(|e| panic!("gateway did not start: {e}"));
    let addr = running.listeners[0];
    let url = format!("http://{addr}");
    let admin = format!("http://{}", running.admin);
    Gateway {
        dir,
        running: Some(running),
        url,
        admin,
        addr,
    }
}

pub async fn gateway(upstream: &Upstream) -> Gateway {
    gateway_with(&config(&upstream.url(), ""), &[]).await
}

/// An HTTP client that does not pool (each test request is independent).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Sends raw bytes on a fresh TCP connection and returns everything read until close
/// (or 3 s).
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of the first response in a raw HTTP/1 answer.
pub fn status_of(raw: &str) -> u16 {
    raw.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Asserts a problem document of the given kind and status.
pub async fn assert_problem(resp: reqwest::Response, status: u16, kind: &str) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(doc["type"], format!("urn:portcullis:problem:{kind}"));
    assert_eq!(doc["status"], status);
    assert_eq!(doc["request_id"], rid);
    assert!(doc["title"].is_string() && doc["detail"].is_string());
    doc
}

pub async fn eventually<F: FnMut() -> bool>(what: &str, mut f: F) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Percent-encodes a path, query or cookie value (everything but unreserved
/// characters).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
