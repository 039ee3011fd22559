//! The gateway's public keys: fetched lazily over plain HTTP, refetched when a
//! token names an unknown `kid`, at most once per refetch interval.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::ACCEPT;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

/// Longest a JWKS fetch may take, connecting included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest JWKS body the bank reads.
const MAX_JWKS: usize = 64 * 1024;

/// A verification key and the one algorithm it may be used with (from the JWK).
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) algorithm: Algorithm,
    pub(crate) decoding: DecodingKey,
}

/// Why no key was found for a `kid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// The JWK set does not have it (and refetching now is not allowed).
    Unknown,
    /// The JWK set could not be fetched.
    Unavailable,
}

/// When the JWK set was last fetched, and whether that failed.
#[derive(Debug, Default)]
struct LastFetch {
    at: Option<Instant>,
    failed: bool,
}

/// The cached JWK set of one URL.
pub(crate) struct KeySet {
    url: Uri,
    refetch_interval: Duration,
    client: Client<HttpConnector, Empty<Bytes>>,
    keys: RwLock<Arc<HashMap<String, Key>>>,
    /// Held while fetching, so concurrent misses cause one fetch.
    last_fetch: tokio::sync::Mutex<LastFetch>,
}

impl KeySet {
    /// An empty set; nothing is fetched until a key is needed.
    pub(crate) fn new(url: Uri, refetch_interval: Duration) -> Self {
        KeySet {
            url,
            refetch_interval,
            client: Client::builder(TokioExecutor::new()).build_http(),
            keys: RwLock::default(),
            last_fetch: tokio::sync::Mutex::default(),
        }
    }

    /// The key named `kid`, fetching the set if it is unknown and a fetch is allowed.
    pub(crate) async fn get(&self, kid: &str) -> Result<Key, KeyError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut last = self.last_fetch.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if last
            .at
            .is_some_and(|at| at.elapsed() < self.refetch_interval)
        {
            return Err(if last.failed {
                KeyError::Unavailable
            } else {
                KeyError::Unknown
            });
        }
        last.at = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                last.failed = false;
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
                self.cached(kid).ok_or(KeyError::Unknown)
            }
            Err(why) => {
                last.failed = true;
                eprintln!(
                    "bank: cannot fetch the identity keys from {}: {why}",
                    self.url
                );
                Err(KeyError::Unavailable)
            }
        }
    }

    fn cached(&self, kid: &str) -> Option<Key> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.get(kid).cloned()
    }

    /// GETs and parses the JWK set, within [`FETCH_TIMEOUT`].
    async fn fetch(&self) -> Result<HashMap<String, Key>, String> {
        let request = Request::get(self.url.clone())
            .header(ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            if response.status() != StatusCode::OK {
                return Err(format!("status {}", response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_JWKS)
                .collect()
                .await
                .map_err(|e| format!("unreadable body: {e}"))?;
            parse(&body.to_bytes())
        };
        tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer within {FETCH_TIMEOUT:?}"))?
    }
}

/// A JWK set as JSON; keys are read one by one so that one odd key does not hide the others.
#[derive(Deserialize)]
struct RawSet {
    keys: Vec<Value>,
}

/// The usable signature keys of a JWK set, by `kid`.
fn parse(body: &[u8]) -> Result<HashMap<String, Key>, String> {
    let set: RawSet = serde_json::from_slice(body).map_err(|e| format!("not a JWK set: {e}"))?;
    let keys = set
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter_map(|jwk| usable(&jwk))
        .collect();
    Ok(keys)
}

/// A key with a `kid`, meant for signatures, whose algorithm its JWK states (or,
/// for EC and OKP keys, its curve implies) and fits its type. Symmetric keys
/// have no place in a public key set and are skipped.
fn usable(jwk: &Jwk) -> Option<(String, Key)> {
    let kid = jwk.common.key_id.clone()?;
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    let implied = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        AlgorithmParameters::RSA(_) => None,
        _ => return None,
    };
    let algorithm = match jwk.common.key_algorithm {
        Some(stated) => Algorithm::try_from(stated).ok()?,
        None => implied?,
    };
    let fits = match algorithm.family() {
        AlgorithmFamily::Ec | AlgorithmFamily::Ed => implied == Some(algorithm),
        AlgorithmFamily::Rsa => matches!(jwk.algorithm, AlgorithmParameters::RSA(_)),
        AlgorithmFamily::Hmac => false,
    };
    let decoding = DecodingKey::from_jwk(jwk).ok()?;
    fits.then_some((
        kid,
        Key {
            algorithm,
            decoding,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    fn algorithms(keys: &[Value]) -> Vec<(String, Algorithm)> {
        let body = serde_json::json!({ "keys": keys }).to_string();
        let mut found: Vec<_> = parse(body.as_bytes())
            .expect("a JWK set")
            .into_iter()
            .map(|(kid, key)| (kid, key.algorithm))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    #[test]
    fn keeps_signature_keys_whose_algorithm_fits() {
        let ec = |kid: &str, alg: Option<&str>, usage: &str| {
            let mut key = serde_json::json!({
                "kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": kid, "use": usage
            });
            if let Some(alg) = alg {
                key["alg"] = alg.into();
            }
            key
        };
        let keys = [
            ec("a-stated", Some("ES256"), "sig"),
            ec("b-implied", None, "sig"),
            ec("c-wrong-curve", Some("ES384"), "sig"),
            ec("d-hmac", Some("HS256"), "sig"),
            ec("e-encryption", Some("ES256"), "enc"),
            serde_json::json!({ "kty": "oct", "k": "c2VjcmV0", "kid": "f-oct", "alg": "HS256" }),
            serde_json::json!({ "kty": "EC", "crv": "P-256", "x": X, "y": Y, "alg": "ES256" }),
            serde_json::json!({ "kty": "weird", "kid": "g-weird" }),
        ];
        assert_eq!(
            algorithms(&keys),
            [
                ("a-stated".to_owned(), Algorithm::ES256),
                ("b-implied".to_owned(), Algorithm::ES256)
            ]
        );
    }

    #[test]
    fn rejects_what_is_not_a_jwk_set() {
        assert!(parse(b"[]").is_err());
        assert!(parse(b"{\"keys\": 1}").is_err());
        assert_eq!(parse(b"{\"keys\": []}").map(|k| k.len()), Ok(0));
    }
}
