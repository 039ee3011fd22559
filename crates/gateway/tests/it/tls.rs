//! TLS through real HTTPS: HSTS, ALPN and h2c, mTLS policies, certificate hot reload,
//! HTTPS upstreams and bad TLS config. Certificates are made here with rcgen.
//!
//! The certificate, gateway and client helpers here are shared by the submodules.

#![allow(clippy::unwrap_used)]

mod config;
mod listeners;
mod mtls;
mod reload;
mod upstream;

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use crate::support::*;

// ---------------------------------------------------------------------------------------
// Certificates

/// A certificate and its private key, both PEM.
pub(crate) struct Pair {
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl Pair {
    pub(crate) fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert, self.key).as_bytes()).unwrap()
    }
}

/// A certificate authority that signs server and client certificates.
pub(crate) struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub(crate) fn new(name: &str) -> Ca {
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

    pub(crate) fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub(crate) fn sign(&self, params: &CertificateParams) -> Pair {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub(crate) fn server(&self) -> Pair {
        self.sign(&server_params())
    }

    /// A client certificate (no names; client verification checks the chain only).
    pub(crate) fn client(&self, cn: &str) -> Pair {
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

pub(crate) fn client_params(cn: &str) -> CertificateParams {
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
pub(crate) fn tls_config(upstream: &str, more: &str, listener_extra: &str) -> String {
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

pub(crate) async fn tls_gateway_with(text: &str, server: &Pair, files: &[(&str, &str)]) -> Gateway {
    let mut all = vec![
        ("server.pem", server.cert.as_str()),
        ("server.key", server.key.as_str()),
    ];
    all.extend_from_slice(files);
    gateway_with(text, &all).await
}

pub(crate) fn https(gw: &Gateway, path: &str) -> String {
    format!("https://{}{path}", gw.addr)
}

/// A client that trusts only `ca_pem` (no built-in roots) and does not pool.
pub(crate) fn tls_client(ca_pem: &str) -> reqwest::ClientBuilder {
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
pub(crate) fn chain(e: &reqwest::Error) -> String {
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
/// New connections see the server certificate that `trusted` signed, not `untrusted`'s.
async fn assert_presents(gw: &Gateway, trusted: &Ca, untrusted: &Ca) {
    let resp = get_items(tls_client(&trusted.pem()), gw).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_untrusted_server(get_items(tls_client(&untrusted.pem()), gw).await);
}

fn assert_untrusted_server(r: reqwest::Result<reqwest::Response>) {
    let e = r.expect_err("the server certificate must not verify");
    assert!(e.is_connect(), "{}", chain(&e));
    assert!(chain(&e).contains("UnknownIssuer"), "{}", chain(&e));
}

/// The server refused the connection during TLS. (The client may see the server's
/// alert or only the closed connection, depending on timing; never a response.)
pub(crate) fn assert_refused(r: reqwest::Result<reqwest::Response>, what: &str) {
    match r {
        Ok(resp) => panic!("{what}: got {}", resp.status()),
        Err(e) => assert!(!e.is_timeout(), "{what}: {}", chain(&e)),
    }
}
