//! HTTPS upstreams, verified against their CA bundle.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use super::{Ca, Pair};
use crate::support::*;

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
    let resp = gw.get("/items/1").await;
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
    let resp = gw.get("/items/1").await;
    let doc = assert_problem(resp, 502, "upstream-unavailable").await;
    assert!(
        !doc.to_string().contains("certificate"),
        "no TLS detail leaks to the client: {doc}"
    );
    assert!(tls_up.seen().is_empty(), "no request was sent to it");

    // Without a bundle the Mozilla roots apply, which do not include a private CA.
    let gw = gateway_with(&config(&tls_up.url(), ""), &[]).await;
    let resp = gw.get("/items/1").await;
    assert_problem(resp, 502, "upstream-unavailable").await;
    assert!(tls_up.seen().is_empty());
}
