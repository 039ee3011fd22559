//! TLS through real HTTPS: HSTS, ALPN and h2c, mTLS policies, certificate hot reload,
//! HTTPS upstreams and bad TLS config. Certificates are made here with rcgen.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use crate::support::*;

// ---------------------------------------------------------------------------------------
// Certificates

/// A certificate and its private key, both PEM.
struct Pair {
    cert: String,
    key: String,
}

impl Pair {
    fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert, self.key).as_bytes()).unwrap()
    }
}

/// A certificate authority that signs server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn sign(&self, params: &CertificateParams) -> Pair {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    fn server(&self) -> Pair {
        self.sign(&server_params())
    }

    /// A client certificate (no names; client verification checks the chain only).
    fn client(&self, cn: &str) -> Pair {
        self.sign(&client_params(cn))
    }
}

fn server_params() -> CertificateParams {
    let mut p =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p
}

fn client_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p
}

/// A self-signed client certificate no configured CA vouches for.
fn rogue_client() -> Pair {
    let key = KeyPair::generate().unwrap();
    let cert = client_params("rogue").self_signed(&key).unwrap();
    Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

// ---------------------------------------------------------------------------------------
// Gateways and clients

/// The usual config with the (only) listener given `listener_extra` (YAML lines indented
/// to the listener's keys).
fn with_listener(config_text: &str, listener_extra: &str) -> String {
    let listener = "  - address: 127.0.0.1:0\n";
    assert!(config_text.contains(listener));
    config_text.replacen(listener, &format!("{listener}{listener_extra}"), 1)
}

/// A TLS listener serving `server.pem`/`server.key`, with `more` added to its `tls` map.
fn tls_config(upstream: &str, more: &str, listener_extra: &str) -> String {
    with_listener(
        &config(upstream, ""),
        &format!(
            "    tls: {{ certificate: server.pem, private_key: server.key{more} }}\n{listener_extra}"
        ),
    )
}

async fn tls_gateway(up: &Upstream, server: &Pair, more: &str, extra: &str) -> Gateway {
    tls_gateway_with(&tls_config(&up.url(), more, extra), server, &[]).await
}

async fn tls_gateway_with(text: &str, server: &Pair, files: &[(&str, &str)]) -> Gateway {
    let mut all = vec![
        ("server.pem", server.cert.as_str()),
        ("server.key", server.key.as_str()),
    ];
    all.extend_from_slice(files);
    gateway_with(text, &all).await
}

fn https(gw: &Gateway, path: &str) -> String {
    format!("https://{}{path}", gw.addr)
}

/// A client that trusts only `ca_pem` (no built-in roots) and does not pool.
fn tls_client(ca_pem: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
}

/// GET `/items` over a fresh connection; `Err` when TLS (or anything else) failed.
async fn get_items(c: reqwest::ClientBuilder, gw: &Gateway) -> reqwest::Result<reqwest::Response> {
    c.build().unwrap().get(https(gw, "/items")).send().await
}

/// The error and its sources, for assertions on why a request failed.
fn chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(s) = next {
        out.push_str(" / ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// The client refused the server's certificate (its issuer is not trusted).
fn assert_untrusted_server(r: reqwest::Result<reqwest::Response>) {
    let e = r.expect_err("the server certificate must not verify");
    assert!(e.is_connect(), "{}", chain(&e));
    assert!(chain(&e).contains("UnknownIssuer"), "{}", chain(&e));
}

/// The server refused the connection during TLS. (The client may see the server's
/// alert or only the closed connection, depending on timing; never a response.)
fn assert_refused(r: reqwest::Result<reqwest::Response>, what: &str) {
    match r {
        Ok(resp) => panic!("{what}: got {}", resp.status()),
        Err(e) => assert!(!e.is_timeout(), "{what}: {}", chain(&e)),
    }
}

async fn admin_reload(gw: &Gateway) -> (u16, serde_json::Value) {
    let resp = client()
        .post(format!("{}/reload", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn version_of(gw: &Gateway) -> String {
    gw.running
        .as_ref()
        .unwrap()
        .gateway
        .runtime()
        .config
        .version
        .clone()
}

// ---------------------------------------------------------------------------------------
// An HTTPS upstream

/// An upstream behind TLS: answers 200 JSON and records each request's path and version.
struct TlsUpstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<(String, Version)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsUpstream {
    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    fn seen(&self) -> Vec<(String, Version)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TlsUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_upstream(pair: &Pair) -> TlsUpstream {
    let certs = CertificateDer::pem_slice_iter(pair.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pair.key.as_bytes()).unwrap();
    let mut cfg = rustls::ServerConfig::builder_with_provider(portcullis_gateway::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<(String, Version)>>> = Arc::default();
    let rec = seen.clone();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, rec) = (acceptor.clone(), rec.clone());
            conns.spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = service_fn(move |req: Request<Incoming>| {
                    let rec = rec.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        rec.lock().unwrap().push((path.clone(), req.version()));
                        let body = serde_json::json!({ "tls": true, "path": path }).to_string();
                        let mut r = Response::new(Full::new(Bytes::from(body)));
                        r.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    TlsUpstream { addr, seen, task }
}

// ---------------------------------------------------------------------------------------
// 1. HTTPS and HSTS

#[tokio::test]
async fn https_serves_http1_and_adds_hsts_which_cleartext_does_not() {
    let ca = Ca::new("Test CA");
    let up = upstream().await;
    let gw = tls_gateway(&up, &ca.server(), "", "").await;
    let c = tls_client(&ca.pem()).http1_only();
    let resp = get_items(c, &gw).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["path"], "/items");
    let seen = up.last();
    assert_eq!(seen.headers["x-forwarded-proto"], "https");
    assert!(
        seen.headers["forwarded"]
            .to_str()
            .unwrap()
            .contains("proto=https")
    );
    // Problems the gateway makes itself carry it too.
    let resp = tls_client(&ca.pem())
        .build()
        .unwrap()
        .get(https(&gw, "/debug/env"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("strict-transport-security"));
    assert_problem(resp, 404, "not-found").await;

    // Cleartext: the same request, no HSTS.
    let plain = gateway(&up).await;
    let resp = client()
        .get(format!("{}/items", plain.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("strict-transport-security").is_none());
    assert_eq!(up.last().headers["x-forwarded-proto"], "http");
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_server_certificate_gets_no_response() {
    let ca = Ca::new("Test CA");
    let other = Ca::new("Other CA");
    let up = upstream().await;
    let gw = tls_gateway(&up, &ca.server(), "", "").await;
    assert_untrusted_server(get_items(tls_client(&other.pem()), &gw).await);
    // Cleartext HTTP on the TLS port is no way around it.
    let answer = raw(gw.addr, b"GET /items HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(!answer.starts_with("HTTP/"), "got {answer:?}");
    assert!(up.requests().is_empty());
}

// ---------------------------------------------------------------------------------------
// 2. ALPN, 3. h2c

#[tokio::test]
async fn http2_is_negotiated_by_alpn_unless_the_listener_disables_it() {
    let ca = Ca::new("Test CA");
    let up = upstream().await;
    let server = ca.server();

    let gw = tls_gateway(&up, &server, "", "").await;
    let resp = get_items(tls_client(&ca.pem()), &gw).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert!(resp.headers().contains_key("strict-transport-security"));
    assert_eq!(
        up.last().version,
        Version::HTTP_11,
        "the upstream is spoken to in HTTP/1.1"
    );

    let gw = tls_gateway(&up, &server, "", "    http2: false\n").await;
    let resp = get_items(tls_client(&ca.pem()), &gw).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.version(),
        Version::HTTP_11,
        "h2 was offered but not accepted"
    );
}

#[tokio::test]
async fn h2c_prior_knowledge_works_on_cleartext_listeners() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let h2c = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .http2_prior_knowledge()
            .build()
            .unwrap()
    };
    let resp = h2c()
        .get(format!("{}/items/7?x=1", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert!(resp.headers().get("strict-transport-security").is_none());
    let seen = up.last();
    assert_eq!(seen.uri, "/items/7?x=1");
    assert_eq!(seen.version, Version::HTTP_11);
    assert_eq!(seen.headers["host"], up.addr.to_string());
    assert_eq!(seen.headers["x-forwarded-proto"], "http");

    // With `http2: false` the preface is not taken for HTTP/2.
    let text = with_listener(&config(&up.url(), ""), "    http2: false\n");
    let gw = gateway_with(&text, &[]).await;
    let before = up.requests().len();
    assert!(h2c().get(format!("{}/items", gw.url)).send().await.is_err());
    assert_eq!(up.requests().len(), before);
    let resp = client()
        .get(format!("{}/items", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(resp.status(), 200);
}

// ---------------------------------------------------------------------------------------
// 4, 5. Client certificates

#[tokio::test]
async fn required_client_certificates_must_be_signed_by_the_client_ca() {
    let ca = Ca::new("Test CA");
    let clients = Ca::new("Client CA");
    let up = upstream().await;
    let gw = tls_gateway_with(
        &tls_config(&up.url(), ", client_ca: ca.pem, client_auth: required", ""),
        &ca.server(),
        &[("ca.pem", &clients.pem())],
    )
    .await;

    let none = get_items(tls_client(&ca.pem()), &gw).await;
    assert_refused(none, "no client certificate");
    let rogue = get_items(
        tls_client(&ca.pem()).identity(rogue_client().identity()),
        &gw,
    )
    .await;
    assert_refused(rogue, "self-signed client certificate");
    // A certificate from the server's CA is not one from the client CA.
    let wrong = get_items(
        tls_client(&ca.pem()).identity(ca.client("alice").identity()),
        &gw,
    )
    .await;
    assert_refused(wrong, "client certificate from another CA");
    assert!(
        up.requests().is_empty(),
        "nothing unauthenticated got through"
    );

    for http1 in [true, false] {
        let mut c = tls_client(&ca.pem()).identity(clients.client("alice").identity());
        if http1 {
            c = c.http1_only();
        }
        let resp = get_items(c, &gw).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.version(),
            if http1 {
                Version::HTTP_11
            } else {
                Version::HTTP_2
            }
        );
    }
    assert_eq!(up.requests().len(), 2);
}

#[tokio::test]
async fn client_auth_is_required_when_a_client_ca_is_given_without_a_policy() {
    let ca = Ca::new("Test CA");
    let clients = Ca::new("Client CA");
    let up = upstream().await;
    let gw = tls_gateway_with(
        &tls_config(&up.url(), ", client_ca: ca.pem", ""),
        &ca.server(),
        &[("ca.pem", &clients.pem())],
    )
    .await;
    assert_refused(
        get_items(tls_client(&ca.pem()), &gw).await,
        "no client certificate",
    );
    let c = tls_client(&ca.pem()).identity(clients.client("bob").identity());
    assert_eq!(get_items(c, &gw).await.unwrap().status(), 200);
}

#[tokio::test]
async fn optional_client_certificates_are_verified_when_presented() {
    let ca = Ca::new("Test CA");
    let clients = Ca::new("Client CA");
    let up = upstream().await;
    let gw = tls_gateway_with(
        &tls_config(&up.url(), ", client_ca: ca.pem, client_auth: optional", ""),
        &ca.server(),
        &[("ca.pem", &clients.pem())],
    )
    .await;

    let resp = get_items(tls_client(&ca.pem()), &gw).await.unwrap();
    assert_eq!(resp.status(), 200, "no certificate is fine");
    let rogue = get_items(
        tls_client(&ca.pem()).identity(rogue_client().identity()),
        &gw,
    )
    .await;
    assert_refused(rogue, "a presented certificate must verify");
    assert_eq!(up.requests().len(), 1);
    let c = tls_client(&ca.pem()).identity(clients.client("carol").identity());
    assert_eq!(get_items(c, &gw).await.unwrap().status(), 200);
    assert_eq!(up.requests().len(), 2);
}

#[tokio::test]
async fn client_auth_none_ignores_client_certificates() {
    let ca = Ca::new("Test CA");
    let clients = Ca::new("Client CA");
    let up = upstream().await;
    let gw = tls_gateway_with(
        &tls_config(&up.url(), ", client_ca: ca.pem, client_auth: none", ""),
        &ca.server(),
        &[("ca.pem", &clients.pem())],
    )
    .await;
    assert_eq!(
        get_items(tls_client(&ca.pem()), &gw)
            .await
            .unwrap()
            .status(),
        200
    );
    // Not asked for, so never sent (and never checked).
    let c = tls_client(&ca.pem()).identity(rogue_client().identity());
    assert_eq!(get_items(c, &gw).await.unwrap().status(), 200);
}

// ---------------------------------------------------------------------------------------
// 6. Certificate hot reload

#[tokio::test]
async fn certificates_reload_on_admin_request_for_new_connections() {
    let (ca1, ca2) = (Ca::new("CA one"), Ca::new("CA two"));
    let up = upstream().await;
    let gw = tls_gateway(&up, &ca1.server(), "", "").await;
    assert_eq!(
        get_items(tls_client(&ca1.pem()), &gw)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_untrusted_server(get_items(tls_client(&ca2.pem()), &gw).await);
    // A connection opened before the swap (kept alive by a pooling client).
    let kept = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .tls_certs_only([reqwest::Certificate::from_pem(ca1.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    assert_eq!(
        kept.get(https(&gw, "/items"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A key that does not match the certificate is refused; the old pair stays.
    let b = ca2.server();
    gw.write("server.key", &b.key);
    let (status, doc) = admin_reload(&gw).await;
    assert_eq!(status, 422, "{doc}");
    assert_eq!(doc["result"], "rejected");
    assert!(doc.to_string().contains("listeners[0].tls"), "{doc}");
    assert_eq!(
        get_items(tls_client(&ca1.pem()), &gw)
            .await
            .unwrap()
            .status(),
        200
    );

    gw.write("server.pem", &b.cert);
    let (status, doc) = admin_reload(&gw).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["result"], "loaded", "{doc}");
    let resp = get_items(tls_client(&ca2.pem()), &gw).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("strict-transport-security"));
    // New connections no longer present the old certificate.
    assert_untrusted_server(get_items(tls_client(&ca1.pem()), &gw).await);
    // The connection that already existed still serves (no restart, no cut).
    assert_eq!(
        kept.get(https(&gw, "/items"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn certificates_reload_when_the_files_change() {
    let (ca1, ca2) = (Ca::new("CA one"), Ca::new("CA two"));
    let up = upstream().await;
    let text = watching(&tls_config(&up.url(), "", ""));
    let gw = tls_gateway_with(&text, &ca1.server(), &[]).await;
    assert_eq!(
        get_items(tls_client(&ca1.pem()), &gw)
            .await
            .unwrap()
            .status(),
        200
    );
    let before = version_of(&gw);
    let b = ca2.server();
    gw.write("server.key", &b.key);
    gw.write("server.pem", &b.cert);
    eventually("the watcher reloads the new certificate", || {
        version_of(&gw) != before
    })
    .await;
    assert_eq!(
        get_items(tls_client(&ca2.pem()), &gw)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_untrusted_server(get_items(tls_client(&ca1.pem()), &gw).await);
}

// ---------------------------------------------------------------------------------------
// 7. HTTPS upstreams

fn https_upstream_config(target: &str) -> String {
    config(target, "").replace(
        "    connect_timeout: 500ms\n",
        "    connect_timeout: 500ms\n    ca_bundle: upstream-ca.pem\n",
    )
}

#[tokio::test]
async fn https_upstreams_are_verified_against_their_ca_bundle() {
    let up_ca = Ca::new("Upstream CA");
    let tls_up = tls_upstream(&up_ca.server()).await;
    let text = https_upstream_config(&tls_up.url());
    let gw = gateway_with(&text, &[("upstream-ca.pem", &up_ca.pem())]).await;
    let resp = client()
        .get(format!("{}/items/1", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["tls"], true);
    assert_eq!(body["path"], "/items/1");
    assert_eq!(
        tls_up.seen(),
        vec![("/items/1".to_owned(), Version::HTTP_11)]
    );
}

#[tokio::test]
async fn https_upstreams_with_an_untrusted_certificate_are_unavailable() {
    let up_ca = Ca::new("Upstream CA");
    let wrong = Ca::new("Some other CA");
    let tls_up = tls_upstream(&up_ca.server()).await;
    let text = https_upstream_config(&tls_up.url());
    let gw = gateway_with(&text, &[("upstream-ca.pem", &wrong.pem())]).await;
    let resp = client()
        .get(format!("{}/items/1", gw.url))
        .send()
        .await
        .unwrap();
    let doc = assert_problem(resp, 502, "upstream-unavailable").await;
    assert!(
        !doc.to_string().contains("certificate"),
        "no TLS detail leaks to the client: {doc}"
    );
    assert!(tls_up.seen().is_empty(), "no request was sent to it");

    // Without a bundle the Mozilla roots apply, which do not include a private CA.
    let gw = gateway_with(&config(&tls_up.url(), ""), &[]).await;
    let resp = client()
        .get(format!("{}/items/1", gw.url))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 502, "upstream-unavailable").await;
    assert!(tls_up.seen().is_empty());
}

// ---------------------------------------------------------------------------------------
// 8. Bad TLS config

fn load_with(server_cert: &str, server_key: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), SPEC).unwrap();
    std::fs::write(dir.path().join("admin-token"), ADMIN_TOKEN).unwrap();
    std::fs::write(dir.path().join("server.pem"), server_cert).unwrap();
    if let Some(key) = server_key {
        std::fs::write(dir.path().join("server.key"), key).unwrap();
    }
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, tls_config("http://127.0.0.1:9", "", "")).unwrap();
    let err = portcullis_gateway::config::load(&path).expect_err("the config is refused");
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!(err.0[0].field, "listeners[0].tls");
    assert!(err.0[0].line.is_some(), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&path.display().to_string()),
        "names the config file: {text}"
    );
    assert!(text.contains(": listeners[0].tls: "), "{text}");
    text
}

#[tokio::test]
async fn a_missing_private_key_file_is_a_config_error_naming_it() {
    let ca = Ca::new("Test CA");
    let text = load_with(&ca.server().cert, None);
    assert!(text.contains("server.key"), "{text}");
}

#[tokio::test]
async fn a_key_that_does_not_match_the_certificate_is_a_config_error() {
    let ca = Ca::new("Test CA");
    let (a, b) = (ca.server(), ca.server());
    let text = load_with(&a.cert, Some(&b.key));
    assert!(
        text.contains("server.pem") && text.contains("server.key"),
        "names both files: {text}"
    );
}

#[tokio::test]
async fn a_file_without_a_certificate_is_a_config_error() {
    let ca = Ca::new("Test CA");
    let a = ca.server();
    let text = load_with(&a.key, Some(&a.key));
    assert!(text.contains("server.pem"), "{text}");
}
