//! `identity_providers.<name>.signatures`: keys and verification rules, checked once.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::input::component_supported;
use crate::config::units::Span;
use crate::config::{Checker, Secret};

/// `identity_providers.<name>.signatures` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSignatures {
    keys: Vec<RawKey>,
    #[serde(default)]
    max_age: Option<Span>,
    #[serde(default)]
    clock_skew: Option<Span>,
    #[serde(default)]
    require_nonce: Option<bool>,
    #[serde(default)]
    nonce_cache_size: Option<Spanned<usize>>,
    #[serde(default)]
    required_components: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    require_content_digest: Option<bool>,
    #[serde(default)]
    label: Option<Spanned<String>>,
}

/// One key as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    keyid: Spanned<String>,
    algorithm: Spanned<String>,
    #[serde(default)]
    secret: Option<Spanned<String>>,
    #[serde(default)]
    secret_encoding: Option<Spanned<String>>,
    #[serde(default)]
    public_key: Option<Spanned<String>>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    tenant: Option<String>,
}

/// Validated signature keys and rules.
#[derive(Debug, Clone)]
pub struct SignaturesConfig {
    /// The keys, by `keyid` (unique).
    pub keys: Vec<KeyConfig>,
    /// `created` older than this is `Expired` (default 300 s).
    pub max_age: Duration,
    /// `created` may be this far in the future, and `expires` this far in the past
    /// (default 30 s).
    pub clock_skew: Duration,
    /// A `nonce` is required (default true); a nonce is never accepted twice.
    pub require_nonce: bool,
    /// Most `(keyid, nonce)` pairs remembered (default 100 000).
    pub nonce_cache_size: usize,
    /// Components every signature must cover (default `@method`, `@path`, `@authority`).
    pub required_components: Vec<String>,
    /// `content-digest` must be covered when the request has a body or a
    /// `Content-Digest` field (default true).
    pub require_content_digest: bool,
    /// The signature label to check; default: the first whose `keyid` is known.
    pub label: Option<String>,
}

/// One verification key.
#[derive(Debug, Clone)]
pub struct KeyConfig {
    /// The `keyid` signers name.
    pub keyid: String,
    /// The key itself.
    pub material: KeyMaterial,
    /// The principal's subject (default: the keyid).
    pub subject: String,
    /// The principal's roles.
    pub roles: Vec<String>,
    /// The principal's tenant.
    pub tenant: Option<String>,
}

/// Key material, by algorithm.
#[derive(Debug, Clone)]
pub enum KeyMaterial {
    /// `hmac-sha256` with a shared secret (its bytes, decoded if it was base64).
    HmacSha256(Secret, SecretEncoding),
    /// `ed25519` with a raw 32-byte public key.
    Ed25519([u8; 32]),
}

/// How a shared secret's text is turned into key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretEncoding {
    /// The text's bytes as they are.
    Raw,
    /// Standard base64 (as in RFC 9421's test key).
    Base64,
}

impl KeyMaterial {
    /// The RFC 9421 algorithm name (what a signature's `alg` must say).
    pub fn algorithm(&self) -> &'static str {
        match self {
            KeyMaterial::HmacSha256(..) => "hmac-sha256",
            KeyMaterial::Ed25519(_) => "ed25519",
        }
    }

    /// The HMAC key bytes; `None` for other algorithms or undecodable text.
    pub(super) fn hmac_bytes(&self) -> Option<Vec<u8>> {
        match self {
            KeyMaterial::HmacSha256(s, SecretEncoding::Raw) => Some(s.expose().to_vec()),
            KeyMaterial::HmacSha256(s, SecretEncoding::Base64) => STANDARD.decode(s.expose()).ok(),
            KeyMaterial::Ed25519(_) => None,
        }
    }
}

/// Shortest HMAC secret accepted without a warning.
const MIN_SECRET: usize = 32;

/// Checks `identity_providers.<name>.signatures` (`field` is that dotted path).
pub(crate) fn check(
    c: &mut Checker<'_>,
    field: &str,
    raw: &RawSignatures,
) -> Option<SignaturesConfig> {
    let mut ok = true;
    if raw.keys.is_empty() {
        c.error::<()>(None, format!("{field}.keys"), "at least one key is needed");
        ok = false;
    }
    let mut keys: Vec<KeyConfig> = Vec::new();
    for (i, k) in raw.keys.iter().enumerate() {
        let kf = format!("{field}.keys[{i}]");
        if keys.iter().any(|o| o.keyid == k.keyid.value) {
            c.error(
                Some(&k.keyid),
                format!("{kf}.keyid"),
                "two keys have this keyid",
            );
            ok = false;
        }
        match key(c, &kf, k) {
            Some(key) => keys.push(key),
            None => ok = false,
        }
    }
    let required_components = match &raw.required_components {
        None => ["@method", "@path", "@authority"]
            .map(String::from)
            .to_vec(),
        Some(list) => {
            for (i, comp) in list.iter().enumerate() {
                if !component_supported(&comp.value) {
                    c.error(
                        Some(comp),
                        format!("{field}.required_components[{i}]"),
                        "not a supported component: a lowercase field name or one of \
                         @method, @target-uri, @authority, @scheme, @request-target, @path, @query",
                    );
                    ok = false;
                }
            }
            list.iter().map(|s| s.value.clone()).collect()
        }
    };
    if let Some(l) = &raw.label
        && sfv::KeyRef::from_str(&l.value).is_err()
    {
        c.error(
            Some(l),
            format!("{field}.label"),
            "not a valid signature label",
        );
        ok = false;
    }
    let max_age = raw.max_age.map_or(Duration::from_secs(300), |s| s.0);
    if max_age.as_secs() == 0 {
        c.error::<()>(None, format!("{field}.max_age"), "must be at least 1s");
        ok = false;
    }
    if let Some(n) = &raw.nonce_cache_size
        && n.value == 0
    {
        c.error(
            Some(n),
            format!("{field}.nonce_cache_size"),
            "must be at least 1",
        );
        ok = false;
    }
    ok.then(|| SignaturesConfig {
        keys,
        max_age,
        clock_skew: raw.clock_skew.map_or(Duration::from_secs(30), |s| s.0),
        require_nonce: raw.require_nonce.unwrap_or(true),
        nonce_cache_size: raw.nonce_cache_size.as_ref().map_or(100_000, |n| n.value),
        required_components,
        require_content_digest: raw.require_content_digest.unwrap_or(true),
        label: raw.label.as_ref().map(|l| l.value.clone()),
    })
}

/// Checks one key and loads its material.
fn key(c: &mut Checker<'_>, kf: &str, k: &RawKey) -> Option<KeyConfig> {
    let material = match (k.algorithm.value.as_str(), &k.secret, &k.public_key) {
        ("hmac-sha256", Some(secret), None) => {
            let encoding = match k.secret_encoding.as_ref().map(|s| s.value.as_str()) {
                None | Some("raw") => SecretEncoding::Raw,
                Some("base64") => SecretEncoding::Base64,
                Some(_) => {
                    c.error(
                        k.secret_encoding.as_ref(),
                        format!("{kf}.secret_encoding"),
                        "must be `raw` or `base64`",
                    );
                    return None;
                }
            };
            let m = KeyMaterial::HmacSha256(c.secret(secret, format!("{kf}.secret"))?, encoding);
            match m.hmac_bytes() {
                None => {
                    c.error(
                        Some(secret),
                        format!("{kf}.secret"),
                        "the secret is not valid base64",
                    );
                    return None;
                }
                Some(b) if b.len() < MIN_SECRET => c.warn(
                    Some(secret),
                    format!("{kf}.secret"),
                    format!(
                        "an HMAC secret should be at least {MIN_SECRET} random bytes (this one has {})",
                        b.len()
                    ),
                ),
                Some(_) => {}
            }
            m
        }
        ("ed25519", None, Some(path)) => {
            let file = c.path(&path.value);
            match load_ed25519(&file) {
                Ok(raw) => KeyMaterial::Ed25519(raw),
                Err(e) => {
                    c.error(Some(path), format!("{kf}.public_key"), e);
                    return None;
                }
            }
        }
        ("hmac-sha256", _, _) => {
            c.error(
                Some(&k.algorithm),
                kf,
                "an hmac-sha256 key needs `secret` (env: or file:) and no `public_key`",
            );
            return None;
        }
        ("ed25519", _, _) => {
            c.error(
                Some(&k.algorithm),
                kf,
                "an ed25519 key needs `public_key` (a file) and no `secret`",
            );
            return None;
        }
        (other, _, _) => {
            c.error(
                Some(&k.algorithm),
                format!("{kf}.algorithm"),
                format!("`{other}` is not one of hmac-sha256, ed25519"),
            );
            return None;
        }
    };
    if k.keyid.value.is_empty() {
        c.error(Some(&k.keyid), format!("{kf}.keyid"), "must not be empty");
        return None;
    }
    Some(KeyConfig {
        keyid: k.keyid.value.clone(),
        material,
        subject: k.subject.clone().unwrap_or_else(|| k.keyid.value.clone()),
        roles: k.roles.clone(),
        tenant: k.tenant.clone(),
    })
}

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Reads an Ed25519 public key: a PEM `PUBLIC KEY` (SPKI), or base64 of the raw 32 bytes.
pub(super) fn load_ed25519(path: &Path) -> Result<[u8; 32], String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    parse_ed25519(&text)
}

/// Parses what [`load_ed25519`] reads.
pub(super) fn parse_ed25519(text: &[u8]) -> Result<[u8; 32], String> {
    let raw: Vec<u8> = if text.windows(10).any(|w| w == b"-----BEGIN") {
        let spki = SubjectPublicKeyInfoDer::from_pem_slice(text)
            .map_err(|e| format!("no PEM `PUBLIC KEY` found: {e}"))?;
        spki.as_ref()
            .strip_prefix(ED25519_SPKI_PREFIX.as_slice())
            .ok_or("the PEM key is not an Ed25519 public key")?
            .to_vec()
    } else {
        STANDARD
            .decode(text.trim_ascii())
            .map_err(|_| "neither a PEM public key nor base64 of 32 raw bytes")?
    };
    raw.try_into()
        .map_err(|_| "an Ed25519 public key is 32 bytes".to_owned())
}
