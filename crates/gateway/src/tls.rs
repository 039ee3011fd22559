//! TLS for listeners (certificates, ALPN, client-certificate verification) and upstreams.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Whether a listener asks for client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificates.
    None,
    /// Verified when presented; connections without one are accepted.
    Optional,
    /// Every connection must present a certificate the client CA signed.
    Required,
}

/// The PEM files behind a listener's TLS.
#[derive(Debug, Clone)]
pub struct Files {
    /// Certificate chain, leaf first.
    pub certificate: PathBuf,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
    /// CAs that sign client certificates.
    pub client_ca: Option<PathBuf>,
    /// Client certificate policy.
    pub client_auth: ClientAuth,
}

/// The process-wide crypto provider (aws-lc-rs).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads every certificate in a PEM file; an empty file is an error.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from `{}`: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("`{}` holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// Builds a listener's TLS config; `http2` adds `h2` to ALPN.
pub fn server_config(files: &Files, http2: bool) -> Result<rustls::ServerConfig, String> {
    let chain = read_certs(&files.certificate)?;
    let key = PrivateKeyDer::from_pem_file(&files.private_key).map_err(|e| {
        format!(
            "cannot read a private key from `{}`: {e}",
            files.private_key.display()
        )
    })?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match (&files.client_ca, files.client_auth) {
        (Some(ca), auth) if auth != ClientAuth::None => {
            let roots = Arc::new(root_store(&read_certs(ca)?)?);
            let v = WebPkiClientVerifier::builder_with_provider(roots, provider());
            let v = if auth == ClientAuth::Optional {
                v.allow_unauthenticated()
            } else {
                v
            };
            builder.with_client_cert_verifier(v.build().map_err(|e| e.to_string())?)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_single_cert(chain, key).map_err(|e| {
        format!(
            "the certificate in `{}` and the private key in `{}` do not form a usable pair: {e}",
            files.certificate.display(),
            files.private_key.display()
        )
    })?;
    cfg.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(cfg)
}

/// TLS to upstreams: the given CA bundle, or the Mozilla roots.
pub fn client_config(
    ca_bundle: Option<&[CertificateDer<'static>]>,
) -> Result<rustls::ClientConfig, String> {
    let roots = match ca_bundle {
        Some(certs) => root_store(certs)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn root_store(certs: &[CertificateDer<'static>]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for c in certs {
        roots
            .add(c.clone())
            .map_err(|e| format!("not a usable CA certificate: {e}"))?;
    }
    Ok(roots)
}
