//! API keys: `pck_<prefix>_<secret>`, found by prefix and checked against a
//! stored hash (SHA-256, or HMAC-SHA-256 with a pepper) in constant time. The
//! keys themselves are never stored, logged or printed after creation.

mod format;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use serde::Deserialize;
use serde_saphyr::Spanned;
use subtle::ConstantTimeEq;

pub use format::{
    KEY_MARKER, KeyHash, NewKey, PREFIX_LEN, SECRET_BYTES, format_expiry, generate, hash_key,
    is_prefix, key_prefix, parse_expiry,
};

use crate::authn::{AuthMethod, Failure, Principal, Shared, now_secs};
use crate::config::{Checker, Secret};

/// `identity_providers.<name>.api_keys` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApiKeys {
    /// `env:NAME` or `file:PATH`: the HMAC key of `hmac-sha256:` hashes.
    #[serde(default)]
    pub(crate) pepper: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) keys: Vec<RawKey>,
}

/// One entry of `api_keys.keys` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKey {
    pub(crate) id: Spanned<String>,
    pub(crate) prefix: Spanned<String>,
    pub(crate) hash: Spanned<String>,
    #[serde(default)]
    pub(crate) consumer: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) roles: Vec<String>,
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
    #[serde(default)]
    pub(crate) tenant: Option<String>,
    #[serde(default)]
    pub(crate) expires: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) revoked: bool,
}

/// Validated API key config.
#[derive(Debug, Clone)]
pub struct ApiKeysConfig {
    /// The HMAC key of `hmac-sha256:` hashes.
    pub pepper: Option<Secret>,
    /// The keys.
    pub keys: Vec<KeyEntry>,
}

/// One API key, as stored: its hash, never the key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyEntry {
    /// The key's id: the principal's `credential_id`, for the audit log and revocation.
    pub id: String,
    /// The key's lookup prefix.
    pub prefix: String,
    /// The hash of the whole key.
    pub hash: KeyHash,
    /// Who the key belongs to: the principal's subject (default: the id).
    pub consumer: String,
    /// Roles granted.
    pub roles: Vec<String>,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// The consumer's tenant.
    pub tenant: Option<String>,
    /// When the key stops working, seconds since the epoch.
    pub expires: Option<u64>,
    /// Whether the key was revoked.
    pub revoked: bool,
}

impl KeyEntry {
    /// The entry as YAML, one item of `api_keys.keys`, for pasting into the config.
    pub fn to_yaml(&self) -> String {
        // JSON strings are YAML double-quoted scalars: every value comes out escaped.
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let list = |v: &[String]| {
            format!(
                "[{}]",
                v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
            )
        };
        let mut y = format!(
            "- id: {}\n  prefix: {}\n  hash: {}\n  consumer: {}\n  roles: {}\n  scopes: {}\n",
            q(&self.id),
            q(&self.prefix),
            q(&self.hash.to_string()),
            q(&self.consumer),
            list(&self.roles),
            list(&self.scopes),
        );
        if let Some(t) = &self.tenant {
            y.push_str(&format!("  tenant: {}\n", q(t)));
        }
        if let Some(e) = self.expires {
            y.push_str(&format!("  expires: {}\n", q(&format_expiry(e))));
        }
        if self.revoked {
            y.push_str("  revoked: true\n");
        }
        y
    }
}

/// Where config problems go: the config [`Checker`], or a list in tests.
trait Report {
    fn error(&mut self, at: Option<&Spanned<String>>, field: String, msg: String);
    fn warn(&mut self, at: Option<&Spanned<String>>, field: String, msg: String);
    fn secret(&mut self, at: &Spanned<String>, field: String) -> Option<Secret>;
}

impl Report for Checker<'_> {
    fn error(&mut self, at: Option<&Spanned<String>>, field: String, msg: String) {
        Checker::error(self, at, field, msg);
    }
    fn warn(&mut self, at: Option<&Spanned<String>>, field: String, msg: String) {
        Checker::warn(self, at, field, msg);
    }
    fn secret(&mut self, at: &Spanned<String>, field: String) -> Option<Secret> {
        Checker::secret(self, at, field)
    }
}

/// Checks `identity_providers.<name>.api_keys`.
pub(crate) fn check(c: &mut Checker<'_>, field: &str, raw: &RawApiKeys) -> Option<ApiKeysConfig> {
    check_with(c, field, raw)
}

fn check_with(c: &mut impl Report, field: &str, raw: &RawApiKeys) -> Option<ApiKeysConfig> {
    let pepper = match &raw.pepper {
        Some(p) => Some(c.secret(p, format!("{field}.pepper"))?),
        None => None,
    };
    if raw.keys.is_empty() {
        c.warn(
            None,
            format!("{field}.keys"),
            "no keys: every API key is refused".into(),
        );
    }
    let mut ok = true;
    let mut keys: Vec<KeyEntry> = Vec::with_capacity(raw.keys.len());
    for (i, k) in raw.keys.iter().enumerate() {
        let f = format!("{field}.keys[{i}]");
        let mut err = |at: &Spanned<String>, name: &str, msg: String| {
            c.error(Some(at), format!("{f}.{name}"), msg);
            ok = false;
        };
        if k.id.value.trim().is_empty() {
            err(&k.id, "id", "the id must not be empty".into());
        } else if keys.iter().any(|o| o.id == k.id.value) {
            err(
                &k.id,
                "id",
                format!("two keys have the id `{}`", k.id.value),
            );
        }
        if !is_prefix(&k.prefix.value) {
            err(
                &k.prefix,
                "prefix",
                "a prefix is 8 lower-case letters or digits".into(),
            );
        } else if keys.iter().any(|o| o.prefix == k.prefix.value) {
            err(
                &k.prefix,
                "prefix",
                format!("two keys have the prefix `{}`", k.prefix.value),
            );
        }
        let hash = KeyHash::parse(&k.hash.value)
            .map_err(|e| err(&k.hash, "hash", e))
            .ok();
        if let Some(h) = &hash
            && h.is_hmac()
            && raw.pepper.is_none()
        {
            err(
                &k.hash,
                "hash",
                "an `hmac-sha256:` hash needs the provider's `pepper`".into(),
            );
        }
        let expires = match &k.expires {
            Some(e) => parse_expiry(&e.value)
                .map_err(|m| err(e, "expires", m))
                .ok(),
            None => None,
        };
        let consumer = k.consumer.as_ref().map_or(&k.id.value, |s| &s.value);
        if let Some(s) = &k.consumer
            && s.value.trim().is_empty()
        {
            err(s, "consumer", "the consumer must not be empty".into());
        }
        if let Some(h) = &hash
            && !h.is_hmac()
            && raw.pepper.is_some()
        {
            c.warn(
                Some(&k.hash),
                format!("{f}.hash"),
                "a pepper is set but this hash is plain `sha256:`; new keys should use \
                 `hmac-sha256:` (`portcullis keys new --pepper-env ...`)"
                    .into(),
            );
        }
        keys.push(KeyEntry {
            id: k.id.value.clone(),
            prefix: k.prefix.value.clone(),
            hash: hash.unwrap_or(KeyHash::Sha256([0; 32])),
            consumer: consumer.clone(),
            roles: k.roles.clone(),
            scopes: k.scopes.clone(),
            tenant: k.tenant.clone(),
            expires,
            revoked: k.revoked,
        });
    }
    ok.then_some(ApiKeysConfig { pepper, keys })
}

/// The key table.
pub struct ApiKeys {
    name: Arc<str>,
    pepper: Option<Secret>,
    by_prefix: HashMap<String, Key>,
    /// Compared against when the prefix is unknown, so that path costs the same.
    dummy: KeyHash,
}

/// A key with its principal built once.
struct Key {
    entry: KeyEntry,
    principal: Arc<Principal>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("name", &self.name)
            .field("keys", &self.by_prefix.len())
            .finish_non_exhaustive()
    }
}

impl ApiKeys {
    /// Builds the lookup table.
    pub fn new(name: &str, cfg: &ApiKeysConfig, _shared: &Shared) -> Result<ApiKeys, String> {
        let name: Arc<str> = name.into();
        let mut by_prefix = HashMap::with_capacity(cfg.keys.len());
        for e in &cfg.keys {
            if e.hash.is_hmac() && cfg.pepper.is_none() {
                return Err(format!(
                    "API key `{}`: an hmac-sha256 hash needs a pepper",
                    e.id
                ));
            }
            let mut p = Principal::new(e.consumer.as_str(), name.clone(), AuthMethod::ApiKey);
            p.roles = e.roles.iter().map(|r| r.as_str().into()).collect();
            p.scopes = e.scopes.iter().map(|s| s.as_str().into()).collect();
            p.tenant = e.tenant.as_deref().map(Into::into);
            p.credential_id = Some(e.id.as_str().into());
            p.expires_at = e.expires;
            let key = Key {
                entry: e.clone(),
                principal: Arc::new(p),
            };
            match by_prefix.entry(e.prefix.clone()) {
                Entry::Occupied(_) => {
                    return Err(format!("two API keys have the prefix `{}`", e.prefix));
                }
                Entry::Vacant(v) => {
                    v.insert(key);
                }
            }
        }
        let pepper = cfg.pepper.clone();
        let dummy = KeyHash::of("pck_unknown0_", pepper.as_ref().map(Secret::expose));
        Ok(ApiKeys {
            name,
            pepper,
            by_prefix,
            dummy,
        })
    }

    /// Checks a presented key.
    pub fn verify(&self, key: &str) -> Result<Arc<Principal>, Failure> {
        self.verify_at(key, now_secs())
    }

    /// Checks a presented key at `now` (seconds since the epoch).
    pub fn verify_at(&self, key: &str, now: u64) -> Result<Arc<Principal>, Failure> {
        let prefix = key_prefix(key).ok_or(Failure::Malformed)?;
        let found = self.by_prefix.get(prefix);
        // An unknown prefix takes the same path (hash, compare) as a known one,
        // so response times do not tell which prefixes exist.
        let expected = found.map_or(&self.dummy, |k| &k.entry.hash);
        let pepper = match expected {
            KeyHash::HmacSha256(_) => self.pepper.as_ref().map(Secret::expose),
            KeyHash::Sha256(_) => None,
        };
        let actual = KeyHash::of(key, pepper);
        let same: bool = actual.digest().ct_eq(expected.digest()).into();
        let key = match found {
            Some(k) if same => k,
            _ => return Err(Failure::Inactive),
        };
        // Revocation and expiry are told only to whoever holds the whole key.
        if key.entry.revoked {
            return Err(Failure::Revoked);
        }
        if key.entry.expires.is_some_and(|e| e <= now) {
            return Err(Failure::KeyExpired);
        }
        Ok(key.principal.clone())
    }
}

#[cfg(test)]
mod tests;
