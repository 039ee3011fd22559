//! HTTP Message Signatures (RFC 9421): verifying a signed request gives a [`Principal`].
//!
//! A signer lists what it covers in `Signature-Input` and sends the signature in
//! `Signature`; we rebuild the signature base from the request as received and check
//! it with the key its `keyid` names (`hmac-sha256` or `ed25519`). Freshness comes
//! from `created` (bounded age, bounded clock skew) and `expires`; replay protection
//! from `nonce`, remembered in a bounded cache that survives config reloads. The
//! body is covered through `Content-Digest` (RFC 9530): when [`Signatures::requires_digest`]
//! says so, the pipeline buffers the body and calls [`check_digest`].
//!
//! Failures, in the order they are checked:
//! no `Signature`/`Signature-Input` → `Missing`; unparsable fields, unsupported
//! component parameters, a covered field the request lacks → `Malformed`; no
//! signature with a known `keyid` → `UnknownKey`; `alg` not the key's →
//! `AlgorithmNotAllowed`; a required component, `created` or (by default) `nonce`
//! not covered → `Incomplete`; `created` too far ahead → `NotYetValid`; `created`
//! too old or `expires` past → `Expired`; the signature not verifying →
//! `BadSignature`; a nonce seen before → `Replayed`.

mod base;
mod config;
mod digest;
mod input;
mod nonce;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use http::request::Parts;

pub use config::{KeyConfig, KeyMaterial, SecretEncoding, SignaturesConfig};
pub(crate) use config::{RawSignatures, check};
pub use digest::check_digest;

use crate::authn::{AuthMethod, Failure, Principal, Shared, now_secs};
use nonce::NonceCache;

/// The scheme a request arrived with, for `@scheme`, `@target-uri` and the default
/// port of `@authority`. The server inserts it into the request's extensions; without
/// it the URI's own scheme is used (HTTP/2), else `http`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestScheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

/// Verifies signed requests.
pub struct Signatures {
    name: Arc<str>,
    keys: HashMap<String, Key>,
    cfg: SignaturesConfig,
    nonces: Arc<NonceCache>,
}

/// A key ready to verify, with the principal it stands for.
struct Key {
    verifier: Verifier,
    algorithm: &'static str,
    subject: Arc<str>,
    roles: Vec<Arc<str>>,
    tenant: Option<Arc<str>>,
}

enum Verifier {
    Hmac(Box<hmac::Key>),
    Ed25519(UnparsedPublicKey<[u8; 32]>),
}

impl fmt::Debug for Signatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keyids: Vec<&String> = self.keys.keys().collect();
        keyids.sort();
        f.debug_struct("Signatures")
            .field("name", &self.name)
            .field("keyids", &keyids)
            .finish_non_exhaustive()
    }
}

impl Signatures {
    /// Builds the verifier (keys, nonce cache).
    ///
    /// The nonce cache is kept across reloads while the provider's name and cache
    /// size stay the same, so a reload does not reopen a replay window.
    pub fn new(name: &str, cfg: &SignaturesConfig, shared: &Shared) -> Result<Signatures, String> {
        let mut keys = HashMap::with_capacity(cfg.keys.len());
        for k in &cfg.keys {
            let verifier = match &k.material {
                m @ KeyMaterial::HmacSha256(..) => {
                    let bytes = m.hmac_bytes().ok_or_else(|| {
                        format!("key `{}`: the secret cannot be decoded", k.keyid)
                    })?;
                    Verifier::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
                }
                KeyMaterial::Ed25519(raw) => {
                    Verifier::Ed25519(UnparsedPublicKey::new(&ED25519, *raw))
                }
            };
            let key = Key {
                verifier,
                algorithm: k.material.algorithm(),
                subject: k.subject.as_str().into(),
                roles: k.roles.iter().map(|r| r.as_str().into()).collect(),
                tenant: k.tenant.as_deref().map(Into::into),
            };
            if keys.insert(k.keyid.clone(), key).is_some() {
                return Err(format!("two keys have keyid `{}`", k.keyid));
            }
        }
        let capacity = cfg.nonce_cache_size;
        let nonces = shared.reuse(format!("signatures.nonces:{name}:{capacity}"), || {
            Ok(Arc::new(NonceCache::new(capacity)))
        })?;
        Ok(Signatures {
            name: name.into(),
            keys,
            cfg: cfg.clone(),
            nonces,
        })
    }

    /// Verifies the request's `Signature`/`Signature-Input` over the request as
    /// received: `authority` is the Host (or `:authority`).
    pub fn verify(&self, parts: &Parts, authority: &str) -> Result<Arc<Principal>, Failure> {
        self.verify_at(parts, authority, now_secs())
    }

    /// Whether the pipeline must buffer the body and call [`check_digest`] after a
    /// successful [`verify`](Self::verify): when the request has a `Content-Digest`
    /// field, or may have a body (a non-zero `Content-Length`, a `Transfer-Encoding`,
    /// or HTTP/2 and later without `Content-Length`). With `require_content_digest:
    /// false`, only when it has a `Content-Digest` field.
    pub fn requires_digest(&self, parts: &Parts) -> bool {
        let h = &parts.headers;
        if h.contains_key(digest::CONTENT_DIGEST) {
            return true;
        }
        self.cfg.require_content_digest
            && (has_body(parts)
                || (parts.version >= http::Version::HTTP_2
                    && !h.contains_key(http::header::CONTENT_LENGTH)))
    }

    /// [`verify`](Self::verify) at a given time (seconds since the epoch).
    fn verify_at(
        &self,
        parts: &Parts,
        authority: &str,
        now: u64,
    ) -> Result<Arc<Principal>, Failure> {
        let received = input::parse(&parts.headers, self.cfg.label.as_deref(), |kid| {
            self.keys.contains_key(kid)
        })?;
        let keyid = received.keyid.as_deref().ok_or(Failure::Malformed)?;
        let key = self.keys.get(keyid).ok_or(Failure::UnknownKey)?;
        if received.alg.as_deref().is_some_and(|a| a != key.algorithm) {
            return Err(Failure::AlgorithmNotAllowed);
        }

        let covers = |c: &str| received.components.iter().any(|r| r == c);
        if !self.cfg.required_components.iter().all(|c| covers(c)) {
            return Err(Failure::Incomplete);
        }
        let digest_needed = self.cfg.require_content_digest
            && (has_body(parts) || parts.headers.contains_key(digest::CONTENT_DIGEST));
        if digest_needed && !covers(digest::CONTENT_DIGEST) {
            return Err(Failure::Incomplete);
        }
        let created = received.created.ok_or(Failure::Incomplete)?;
        if self.cfg.require_nonce && received.nonce.is_none() {
            return Err(Failure::Incomplete);
        }

        let skew = self.cfg.clock_skew.as_secs();
        let max_age = self.cfg.max_age.as_secs();
        if created > now.saturating_add(skew) {
            return Err(Failure::NotYetValid);
        }
        if created.saturating_add(max_age) < now {
            return Err(Failure::Expired);
        }
        if received
            .expires
            .is_some_and(|e| e.saturating_add(skew) < now)
        {
            return Err(Failure::Expired);
        }

        let scheme = scheme(parts);
        let view = base::View {
            parts,
            authority,
            scheme,
        };
        let signature_base = base::build(&view, &received)?;
        let good = match &key.verifier {
            // constant time
            Verifier::Hmac(k) => hmac::verify(k, &signature_base, &received.signature).is_ok(),
            Verifier::Ed25519(k) => k.verify(&signature_base, &received.signature).is_ok(),
        };
        if !good {
            return Err(Failure::BadSignature);
        }

        // Only a verified signature's nonce is remembered: forged requests cannot
        // fill the cache or burn a legitimate client's nonces.
        if let Some(nonce) = &received.nonce {
            let window = max_age.saturating_add(skew);
            self.nonces.record(keyid, nonce, created, window, now)?;
        }

        let mut p = Principal::new(
            key.subject.clone(),
            self.name.clone(),
            AuthMethod::Signature,
        );
        p.roles = key.roles.clone();
        p.tenant = key.tenant.clone();
        p.credential_id = Some(keyid.into());
        p.issued_at = Some(created);
        p.expires_at = received.expires;
        Ok(Arc::new(p))
    }
}

/// Whether the request head announces a body (RFC 9112 §6.3): a `Transfer-Encoding`,
/// or a `Content-Length` that is not `0`.
fn has_body(parts: &Parts) -> bool {
    let h = &parts.headers;
    h.contains_key(http::header::TRANSFER_ENCODING)
        || h.get_all(http::header::CONTENT_LENGTH)
            .iter()
            .any(|v| v.as_bytes().trim_ascii() != b"0")
}

/// The request's scheme: the server's [`RequestScheme`], the URI's, else `http`.
fn scheme(parts: &Parts) -> &'static str {
    match parts.extensions.get::<RequestScheme>() {
        Some(RequestScheme::Https) => return "https",
        Some(RequestScheme::Http) => return "http",
        None => {}
    }
    match parts.uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}
