//! Test keys, tokens and a small JWKS server that counts its requests.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http_body_util::Full;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::authn::jwt::{JwtConfig, JwtProvider, KeySource};
use crate::authn::{Shared, now_secs};
use crate::metrics::Metrics;

pub(crate) const ISS: &str = "https://idp.example";
pub(crate) const AUD: &str = "api://bank";

/// A signing key with its public forms.
pub(crate) struct TestKey {
    pub(crate) alg: Algorithm,
    encoding: EncodingKey,
    /// The public JWK members (no `kid`, `use` or `alg`).
    public: Value,
    /// The public key as SPKI PEM.
    pub(crate) pem: String,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RSA key generation is slow: two keys per test binary, made once.
fn rsa_pkcs8(which: usize) -> Vec<u8> {
    static KEYS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..2)
            .map(|_| {
                RsaKeyPair::generate(KeySize::Rsa2048)
                    .unwrap()
                    .as_der()
                    .unwrap()
                    .as_ref()
                    .to_vec()
            })
            .collect()
    })[which]
        .clone()
}

impl TestKey {
    /// RSA key `which` (0 or 1) for an RS*/PS* algorithm.
    pub(crate) fn rsa(alg: Algorithm, which: usize) -> TestKey {
        let der = rsa_pkcs8(which);
        let kp = RsaKeyPair::from_pkcs8(&der).unwrap();
        let parts = RsaPublicKeyComponents::<Vec<u8>>::from(kp.public_key());
        TestKey {
            alg,
            encoding: EncodingKey::from_rsa_pem(pem("PRIVATE KEY", &der).as_bytes()).unwrap(),
            public: json!({"kty": "RSA", "n": b64(&parts.n), "e": b64(&parts.e)}),
            pem: pem("PUBLIC KEY", kp.public_key().as_der().unwrap().as_ref()),
        }
    }

    /// A fresh EC key: P-256 for ES256, P-384 for ES384.
    pub(crate) fn ec(alg: Algorithm) -> TestKey {
        let (signing, crv, len) = match alg {
            Algorithm::ES256 => (&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32),
            _ => (&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48),
        };
        let kp = EcdsaKeyPair::generate(signing).unwrap();
        let point = kp.public_key().as_ref().to_vec();
        TestKey {
            alg,
            encoding: EncodingKey::from_ec_der(kp.to_pkcs8v1().unwrap().as_ref()),
            public: json!({"kty": "EC", "crv": crv, "x": b64(&point[1..=len]), "y": b64(&point[len + 1..])}),
            pem: pem("PUBLIC KEY", kp.public_key().as_der().unwrap().as_ref()),
        }
    }

    /// A fresh Ed25519 key.
    pub(crate) fn ed25519() -> TestKey {
        let kp = Ed25519KeyPair::generate().unwrap();
        TestKey {
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(kp.to_pkcs8v1().unwrap().as_ref()),
            public: json!({"kty": "OKP", "crv": "Ed25519", "x": b64(kp.public_key().as_ref())}),
            pem: pem("PUBLIC KEY", kp.public_key().as_der().unwrap().as_ref()),
        }
    }

    /// An HMAC secret.
    pub(crate) fn hmac(alg: Algorithm, secret: &[u8]) -> TestKey {
        TestKey {
            alg,
            encoding: EncodingKey::from_secret(secret),
            public: Value::Null,
            pem: String::new(),
        }
    }

    /// The public JWK with `kid`, `use: sig` and `alg`.
    pub(crate) fn jwk(&self, kid: &str) -> Value {
        let mut v = self.public.clone();
        v["kid"] = kid.into();
        v["use"] = "sig".into();
        v["alg"] = serde_json::to_value(self.alg).unwrap();
        v
    }

    /// Signs `claims` with this key's algorithm and the given header fields.
    pub(crate) fn sign_with(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).unwrap()
    }

    /// A token with `kid` (if any) and `claims`.
    pub(crate) fn token(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut h = Header::new(self.alg);
        h.kid = kid.map(Into::into);
        self.sign_with(&h, claims)
    }
}

/// Valid claims for [`ISS`] and [`AUD`], expiring in 10 minutes.
pub(crate) fn claims() -> Value {
    let now = now_secs();
    json!({"iss": ISS, "aud": AUD, "sub": "alice", "iat": now, "exp": now + 600, "jti": "t-1"})
}

/// A JWKS document.
pub(crate) fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

/// A config for [`ISS`] and [`AUD`] with the given algorithms and keys.
pub(crate) fn config(algs: &[Algorithm], keys: KeySource) -> JwtConfig {
    JwtConfig::new(ISS, &[AUD], algs, keys)
}

/// A static key source from a JWKS document.
pub(crate) fn static_jwks(doc: &Value, algs: &[Algorithm]) -> KeySource {
    let (set, _) = crate::authn::jwks::KeySet::from_jwks(doc.to_string().as_bytes(), algs).unwrap();
    KeySource::Static(Arc::new(set))
}

/// Process-wide auth state for one test.
pub(crate) fn shared() -> Shared {
    Shared::new(Arc::new(Metrics::new()))
}

/// A provider named `idp`.
pub(crate) fn provider(cfg: &JwtConfig) -> JwtProvider {
    JwtProvider::new("idp", cfg, &shared()).unwrap()
}

/// What the test server serves, and what it saw.
#[derive(Default)]
struct State {
    jwks: Value,
    /// The `issuer` of the discovery document (default: the server's own URL).
    discovery_issuer: Option<String>,
    cache_control: Option<String>,
    down: bool,
    hits: HashMap<String, usize>,
}

/// A JWKS / discovery server on 127.0.0.1 that counts requests per path.
#[derive(Clone)]
pub(crate) struct JwksServer {
    pub(crate) addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl JwksServer {
    /// Serves `jwks` at `/jwks`, and discovery at `/.well-known/openid-configuration`.
    pub(crate) async fn start(jwks: Value) -> JwksServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            jwks,
            ..State::default()
        }));
        let server = JwksServer { addr, state };
        let s = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, Infallible>(s.respond(&req)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        server
    }

    fn respond<B>(&self, req: &http::Request<B>) -> http::Response<Full<Bytes>> {
        let mut st = self.state.lock().unwrap();
        let path = req.uri().path().to_owned();
        *st.hits.entry(path.clone()).or_default() += 1;
        let mut resp = http::Response::builder();
        if st.down {
            return resp.status(503).body(Full::new(Bytes::new())).unwrap();
        }
        let body = match path.as_str() {
            "/jwks" => {
                if let Some(cc) = &st.cache_control {
                    resp = resp.header("cache-control", cc.as_str());
                }
                st.jwks.to_string()
            }
            "/.well-known/openid-configuration" => json!({
                "issuer": st.discovery_issuer.clone().unwrap_or_else(|| self.url("")),
                "jwks_uri": self.url("/jwks"),
            })
            .to_string(),
            _ => return resp.status(404).body(Full::new(Bytes::new())).unwrap(),
        };
        resp.header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    }

    /// `http://127.0.0.1:port{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests seen for `path`.
    pub(crate) fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests seen, all paths.
    pub(crate) fn all_hits(&self) -> usize {
        self.state.lock().unwrap().hits.values().sum()
    }

    pub(crate) fn set_jwks(&self, jwks: Value) {
        self.state.lock().unwrap().jwks = jwks;
    }

    /// While down, every request gets a 503.
    pub(crate) fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    pub(crate) fn set_cache_control(&self, value: &str) {
        self.state.lock().unwrap().cache_control = Some(value.into());
    }

    pub(crate) fn set_discovery_issuer(&self, issuer: &str) {
        self.state.lock().unwrap().discovery_issuer = Some(issuer.into());
    }
}
