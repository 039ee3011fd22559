//! JWK sets: the public keys a JWT issuer signs with, read from a JWKS document,
//! PEM files or a shared secret, and looked up by `kid`.
//!
//! A `kid` is only ever a map key here: never a path, never a URL. Keys the
//! gateway cannot or must not use are skipped, not fatal, so one exotic key in
//! an IdP's set (an encryption key, a P-521 key, an `oct` key) does not take
//! the whole issuer down.

mod parse;
pub(crate) mod remote;

use std::collections::HashMap;
use std::fmt;

use aws_lc_rs::digest;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use self::parse::{jwk, pem_key};

use crate::authn::Failure;

/// At most this many keys are tried for a token without a usable `kid`: each
/// try is a signature verification, so an attacker must not make us do many.
const MAX_KIDLESS_TRIES: usize = 4;

/// What a key is: its family and, for EC, its curve. It decides which
/// algorithms the key may verify (`alg` from a token never picks the family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// RSA: RS256/384/512 and PS256/384/512.
    Rsa,
    /// EC P-256: ES256 only.
    P256,
    /// EC P-384: ES384 only.
    P384,
    /// Ed25519: EdDSA.
    Ed25519,
    /// A shared secret: HS256/384/512.
    Hmac,
}

impl KeyKind {
    /// Whether a key of this kind may verify `alg` (family and curve match).
    pub(crate) fn fits(self, alg: Algorithm) -> bool {
        use Algorithm as A;
        matches!(
            (self, alg),
            (
                KeyKind::Rsa,
                A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512
            ) | (KeyKind::P256, A::ES256)
                | (KeyKind::P384, A::ES384)
                | (KeyKind::Ed25519, A::EdDSA)
                | (KeyKind::Hmac, A::HS256 | A::HS384 | A::HS512)
        )
    }
}

/// One verification key (`Debug` redacts the key material).
#[derive(Clone, Debug)]
pub(crate) struct Key {
    /// The JWK's `alg`, when it pins one.
    alg: Option<Algorithm>,
    kind: KeyKind,
    pub(crate) decoding: DecodingKey,
    /// The key's thumbprint (public keys only): names it in logs and `Debug`.
    thumbprint: String,
}

impl Key {
    /// Whether this key may verify a token signed with `alg`.
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        self.kind.fits(alg) && self.alg.is_none_or(|a| a == alg)
    }
}

/// A set of verification keys, indexed by `kid`.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<Key>,
    by_kid: HashMap<String, Vec<usize>>,
    /// Keys without a `kid` (a shared secret, a kid-less JWK).
    kidless: Vec<usize>,
    /// What the set is made of, secret included (as a digest): equal for equal
    /// sets, so caches survive an unchanged refresh and die with a changed one.
    fingerprint: String,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<_> = self.by_kid.keys().collect();
        kids.sort();
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| match k.kind {
                KeyKind::Hmac => "hmac:[redacted]".to_owned(),
                kind => format!("{kind:?}:{}", k.thumbprint),
            })
            .collect();
        f.debug_struct("KeySet")
            .field("kids", &kids)
            .field("keys", &keys)
            .finish()
    }
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": [...]}`), keeping the keys usable with
    /// one of `algorithms`. Returns the set and why each other key was skipped;
    /// a set with no usable key is an error.
    pub(crate) fn from_jwks(
        json: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<(KeySet, Vec<String>), String> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        let doc: Doc = serde_json::from_slice(json)
            .map_err(|e| format!("not a JWK set (`{{\"keys\": [...]}}`): {e}"))?;
        let mut set = KeySet::default();
        let mut skipped = Vec::new();
        for (i, value) in doc.keys.into_iter().enumerate() {
            match jwk(value, algorithms) {
                Ok((kid, key)) => set.push(kid.into_iter().collect(), key),
                Err(why) => skipped.push(format!("key {i}: {why}")),
            }
        }
        if set.keys.is_empty() {
            return Err(format!(
                "the key set holds no key usable with the configured algorithms ({})",
                skipped.join("; ")
            ));
        }
        set.seal();
        Ok((set, skipped))
    }

    /// A set of public keys from PEM texts, each `(name, text)`; a key is known
    /// by its RFC 7638 thumbprint and by `name` (the file stem).
    pub(crate) fn from_pems(
        pems: &[(String, String)],
        algorithms: &[Algorithm],
    ) -> Result<KeySet, String> {
        let mut set = KeySet::default();
        for (name, text) in pems {
            let key = pem_key(text).map_err(|e| format!("`{name}`: {e}"))?;
            if !algorithms.iter().any(|a| key.kind.fits(*a)) {
                return Err(format!(
                    "`{name}`: a {:?} key, which none of the configured algorithms uses",
                    key.kind
                ));
            }
            let kids = vec![key.thumbprint.clone(), name.clone()];
            set.push(kids, key);
        }
        set.seal();
        Ok(set)
    }

    /// The set of one shared secret (HS256/384/512), known by no `kid`.
    pub(crate) fn from_secret(secret: &[u8]) -> KeySet {
        let mut set = KeySet::default();
        set.push(
            Vec::new(),
            Key {
                alg: None,
                kind: KeyKind::Hmac,
                decoding: DecodingKey::from_secret(secret),
                thumbprint: String::new(),
            },
        );
        set.fingerprint = format!("hmac:{}", hex_digest(secret));
        set
    }

    /// Whether the set holds no key.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The number of keys.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// What the set is made of (digests only), for comparing sets and keying caches.
    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The keys to try for a token's `kid` and `alg`.
    ///
    /// `UnknownKey` when no key could verify it (a refresh may help);
    /// `AlgorithmNotAllowed` when the `kid` names keys of another family,
    /// curve or pinned `alg`.
    pub(crate) fn candidates(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<&Key>, Failure> {
        if let Some(found) = kid.and_then(|k| self.by_kid.get(k)) {
            let fit: Vec<&Key> = found
                .iter()
                .filter_map(|i| self.keys.get(*i))
                .filter(|k| k.accepts(alg))
                .collect();
            return if fit.is_empty() {
                Err(Failure::AlgorithmNotAllowed)
            } else {
                Ok(fit)
            };
        }
        // No `kid`, or one we do not know: kid-less keys may still verify it;
        // without a `kid` at all, any key compatible with the algorithm may.
        let fit: Vec<&Key> = if kid.is_some() {
            self.kidless
                .iter()
                .filter_map(|i| self.keys.get(*i))
                .filter(|k| k.accepts(alg))
                .take(MAX_KIDLESS_TRIES)
                .collect()
        } else {
            self.keys
                .iter()
                .filter(|k| k.accepts(alg))
                .take(MAX_KIDLESS_TRIES)
                .collect()
        };
        if fit.is_empty() {
            Err(Failure::UnknownKey)
        } else {
            Ok(fit)
        }
    }

    fn push(&mut self, kids: Vec<String>, key: Key) {
        let i = self.keys.len();
        self.keys.push(key);
        if kids.is_empty() {
            self.kidless.push(i);
        }
        for kid in kids {
            let slot = self.by_kid.entry(kid).or_default();
            if !slot.contains(&i) {
                slot.push(i);
            }
        }
    }

    /// Computes the fingerprint of a set of public keys.
    fn seal(&mut self) {
        let describe =
            |kid: &str, k: &Key| format!("{kid}={:?}/{:?}/{}", k.kind, k.alg, k.thumbprint);
        let mut parts: Vec<String> = Vec::new();
        for (kid, idx) in &self.by_kid {
            for k in idx.iter().filter_map(|i| self.keys.get(*i)) {
                parts.push(describe(kid, k));
            }
        }
        for k in self.kidless.iter().filter_map(|i| self.keys.get(*i)) {
            parts.push(describe("", k));
        }
        parts.sort();
        self.fingerprint = hex_digest(parts.join("\n").as_bytes());
    }
}

fn hex_digest(bytes: &[u8]) -> String {
    crate::hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

#[cfg(test)]
mod tests;
