//! The API key format (`pck_<prefix>_<secret>`), key generation, and the stored
//! hash: one implementation for `portcullis keys new` and the verifier.

use std::fmt;

use aws_lc_rs::{digest, hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What every key starts with, so leaked keys are easy to recognise (and scan for).
pub const KEY_MARKER: &str = "pck_";
/// Characters in a key's prefix.
pub const PREFIX_LEN: usize = 8;
/// Random bytes in a generated key's secret part.
pub const SECRET_BYTES: usize = 32;
/// Base64url characters of [`SECRET_BYTES`] (no padding): the least a key's secret may have.
const MIN_SECRET_CHARS: usize = 43;
/// The most a key's secret may have: longer input is not a key.
const MAX_SECRET_CHARS: usize = 256;
/// The alphabet of generated prefixes: RFC 4648 base32, lower case.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A stored key hash: `sha256:<hex>` or `hmac-sha256:<hex>` (keyed with the pepper).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyHash {
    /// SHA-256 of the whole key.
    Sha256([u8; 32]),
    /// HMAC-SHA-256 of the whole key, keyed with the provider's pepper.
    HmacSha256([u8; 32]),
}

impl KeyHash {
    /// Parses `sha256:<64 hex>` or `hmac-sha256:<64 hex>`.
    pub fn parse(text: &str) -> Result<KeyHash, String> {
        let (hmac, hex) = if let Some(h) = text.strip_prefix("sha256:") {
            (false, h)
        } else if let Some(h) = text.strip_prefix("hmac-sha256:") {
            (true, h)
        } else {
            return Err("a key hash is `sha256:<hex>` or `hmac-sha256:<hex>`".into());
        };
        let digest = decode_hex(hex).ok_or("the hash is not 64 hexadecimal digits (SHA-256)")?;
        Ok(if hmac {
            KeyHash::HmacSha256(digest)
        } else {
            KeyHash::Sha256(digest)
        })
    }

    /// Hashes a whole key: HMAC-SHA-256 with the pepper when there is one, else SHA-256.
    pub fn of(key: &str, pepper: Option<&[u8]>) -> KeyHash {
        match pepper {
            Some(p) => {
                let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, p), key.as_bytes());
                KeyHash::HmacSha256(to_array(tag.as_ref()))
            }
            None => KeyHash::Sha256(to_array(
                digest::digest(&digest::SHA256, key.as_bytes()).as_ref(),
            )),
        }
    }

    /// Whether this hash needs the pepper.
    pub fn is_hmac(&self) -> bool {
        matches!(self, KeyHash::HmacSha256(_))
    }

    /// The digest bytes.
    pub fn digest(&self) -> &[u8; 32] {
        match self {
            KeyHash::Sha256(d) | KeyHash::HmacSha256(d) => d,
        }
    }
}

impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_hmac() {
            "hmac-sha256"
        } else {
            "sha256"
        };
        write!(f, "{kind}:{}", crate::hex(self.digest()))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Hashes a whole key (see [`KeyHash::of`]).
pub fn hash_key(key: &str, pepper: Option<&[u8]>) -> KeyHash {
    KeyHash::of(key, pepper)
}

/// A freshly generated key. `Debug` does not print the key.
pub struct NewKey {
    /// The whole key, `pck_<prefix>_<secret>`: shown once to its owner, never stored.
    pub key: String,
    /// Its lookup prefix (8 base32 characters).
    pub prefix: String,
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey")
            .field("key", &"[redacted]")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Generates a key: a random 8-character base32 prefix and 32 random bytes of secret.
pub fn generate() -> Result<NewKey, String> {
    let mut raw = [0u8; 5 + SECRET_BYTES];
    rand::fill(&mut raw).map_err(|_| "the system random number generator failed".to_owned())?;
    let (p, s) = raw.split_at(5);
    let bits = p.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let prefix: String = (0..PREFIX_LEN)
        .map(|i| char::from(BASE32[((bits >> (35 - 5 * i)) & 31) as usize]))
        .collect();
    let key = format!("{KEY_MARKER}{prefix}_{}", URL_SAFE_NO_PAD.encode(s));
    Ok(NewKey { key, prefix })
}

/// The prefix of a well-formed key, `None` if `key` is not one.
pub fn key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_MARKER)?;
    let prefix = rest.get(..PREFIX_LEN)?;
    let secret = rest.get(PREFIX_LEN..)?.strip_prefix('_')?;
    let secret_ok = (MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (is_prefix(prefix) && secret_ok).then_some(prefix)
}

/// Whether `prefix` is a valid key prefix: 8 lower-case letters or digits.
pub fn is_prefix(prefix: &str) -> bool {
    prefix.len() == PREFIX_LEN
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Parses an RFC 3339 time (`2026-12-31T23:59:59Z`) to seconds since the epoch.
pub fn parse_expiry(text: &str) -> Result<u64, String> {
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        format!("`{text}` is not an RFC 3339 time (e.g. 2026-12-31T23:59:59Z): {e}")
    })?;
    u64::try_from(t.unix_timestamp()).map_err(|_| format!("`{text}` is before 1970"))
}

/// Formats seconds since the epoch as RFC 3339 (UTC).
pub fn format_expiry(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let s = std::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// A SHA-256 digest or HMAC-SHA-256 tag (always 32 bytes) as an array.
fn to_array(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.iter_mut().zip(bytes).for_each(|(o, b)| *o = *b);
    out
}
