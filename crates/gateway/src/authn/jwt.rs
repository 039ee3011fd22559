//! JWT bearer tokens (RFC 7519, compact JWS) from one issuer, verified against
//! its pinned algorithms and its keys.
//!
//! Keys come from a static JWKS file, PEM files (each known by its RFC 7638
//! thumbprint and its file stem as `kid`), a shared secret (HS* only), a JWKS
//! URL, or OIDC discovery. Remote key sets are fetched off the request path
//! (see `authn::jwks::remote`); verified tokens are cached by their
//! SHA-256 so a reused token costs a hash and a lookup. Tokens are never logged.

mod cache;
mod check;
mod config;
mod verify;

use std::sync::Arc;

pub(crate) use check::check;
pub(crate) use config::RawJwt;
pub use config::{CaBundle, JwtConfig, KeySource};

use self::cache::{TokenCache, TokenId};
use self::verify::{Rules, Verified};
use crate::authn::fetch::Fetcher;
use crate::authn::jwks::KeySet;
use crate::authn::jwks::remote::{Endpoint, RemoteKeys, Timings};
use crate::authn::{Failure, Principal, Shared, now_secs};

/// Longer tokens are refused outright: nothing legitimate comes close, and
/// every byte is hashed and parsed.
const MAX_TOKEN_BYTES: usize = 64 << 10;

/// Longer tokens are verified but not cached, so the cache's memory stays
/// bounded by `token_cache_size` × this, whatever an issuer puts in its tokens.
const MAX_CACHED_TOKEN_BYTES: usize = 8 << 10;

/// A JWT issuer, ready to verify tokens.
#[derive(Debug)]
pub struct JwtProvider {
    name: String,
    rules: Rules,
    keys: Keys,
    cache: Option<Arc<TokenCache>>,
}

#[derive(Debug)]
enum Keys {
    Static(Arc<KeySet>),
    Remote(Arc<RemoteKeys>),
}

impl Keys {
    fn generation(&self) -> u64 {
        match self {
            Keys::Static(_) => 0,
            Keys::Remote(r) => r.generation(),
        }
    }
}

impl JwtProvider {
    /// Builds the provider (key sets, caches); called when a runtime is built.
    ///
    /// A remote key set and the token cache are kept across reloads while the
    /// config is unchanged (`Shared::reuse`): a reload neither refetches keys
    /// nor forgets verified tokens. In a tokio runtime the first key fetch
    /// starts now, in the background.
    pub fn new(name: &str, cfg: &JwtConfig, shared: &Shared) -> Result<JwtProvider, String> {
        let keys = match &cfg.keys {
            KeySource::Static(set) => Keys::Static(Arc::clone(set)),
            KeySource::Url(uri) => {
                Keys::Remote(remote(name, cfg, shared, Endpoint::Jwks(uri.clone()))?)
            }
            KeySource::Discovery => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    cfg.issuer.trim_end_matches('/')
                );
                let url = url
                    .parse()
                    .map_err(|_| format!("identity provider `{name}`: the issuer is not a URL"))?;
                let endpoint = Endpoint::Discovery {
                    issuer: cfg.issuer.clone(),
                    url,
                };
                Keys::Remote(remote(name, cfg, shared, endpoint)?)
            }
        };
        if let Keys::Remote(r) = &keys {
            r.start();
        }
        let cache = if cfg.token_cache_size == 0 {
            None
        } else {
            // The key set's fingerprint (a digest, for a secret) is part of the
            // key: a changed secret or key file must not keep old verdicts.
            let keys_id = match &keys {
                Keys::Static(set) => set.fingerprint().to_owned(),
                Keys::Remote(_) => String::new(),
            };
            let (size, ttl) = (cfg.token_cache_size, cfg.token_cache_ttl_max.as_secs());
            Some(
                shared.reuse(format!("jwt-cache:{name}:{cfg:?}:{keys_id}"), || {
                    Ok(Arc::new(TokenCache::new(size, ttl)))
                })?,
            )
        };
        Ok(JwtProvider {
            name: name.to_owned(),
            rules: Rules::new(cfg),
            keys,
            cache,
        })
    }

    /// Whether a key set is at hand (static keys, or a remote set fetched at
    /// least once): a readiness check.
    pub fn has_keys(&self) -> bool {
        match &self.keys {
            Keys::Static(set) => !set.is_empty(),
            Keys::Remote(r) => r.has_keys(),
        }
    }

    /// The key-set generation: it changes whenever the keys do, so a verdict
    /// remembered elsewhere (a connection's memo) is reused only while it holds.
    pub fn generation(&self) -> u64 {
        self.keys.generation()
    }

    /// Verifies a compact JWS token.
    ///
    /// `KeysUnavailable` (a 503, not a 401) when no key set was ever obtained,
    /// even after waiting for a fetch.
    pub async fn verify(&self, token: &str) -> Result<Arc<Principal>, Failure> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(Failure::Malformed);
        }
        // Read before verifying: if the keys change meanwhile, the verdict is
        // stamped with the older generation and simply not reused.
        let generation = self.keys.generation();
        let cached = self
            .cache
            .as_deref()
            .filter(|_| token.len() <= MAX_CACHED_TOKEN_BYTES)
            .map(|c| (c, TokenId::of(token)));
        if let Some((cache, id)) = &cached
            && let Some(principal) = cache.get(id, generation, now_secs())
        {
            return Ok(principal);
        }
        let verified = self.verify_uncached(token).await;
        if let Err(f) = &verified {
            tracing::debug!(provider = %self.name, reason = %f, "JWT refused");
        }
        let Verified {
            principal,
            from,
            exp,
        } = verified?;
        if let Some((cache, id)) = cached {
            cache.insert(
                id,
                Arc::clone(&principal),
                (from, exp),
                generation,
                now_secs(),
            );
        }
        Ok(principal)
    }

    async fn verify_uncached(&self, token: &str) -> Result<Verified, Failure> {
        let header = self.rules.header(token)?;
        let remote = match &self.keys {
            Keys::Static(set) => return self.rules.verify(set, &header, token),
            Keys::Remote(r) => r,
        };
        let set = match remote.current() {
            Some(set) => set,
            None => {
                // Never a key set yet: wait for the fetch (bounded), then 503.
                remote.refresh().await;
                remote.current().ok_or(Failure::KeysUnavailable)?
            }
        };
        match self.rules.verify(&set, &header, token) {
            Err(Failure::UnknownKey) => {
                // Maybe a rotation: one shared, rate-limited refresh, then once more.
                remote.refresh().await;
                match remote.current() {
                    Some(newer) if !Arc::ptr_eq(&newer, &set) => {
                        self.rules.verify(&newer, &header, token)
                    }
                    _ => Err(Failure::UnknownKey),
                }
            }
            other => other,
        }
    }
}

/// The remote key set for this provider, shared with the previous runtime's
/// provider when the config is unchanged.
fn remote(
    name: &str,
    cfg: &JwtConfig,
    shared: &Shared,
    endpoint: Endpoint,
) -> Result<Arc<RemoteKeys>, String> {
    // Only what the key set is built from: editing audiences or the claim
    // mapping must not refetch keys.
    let key = format!(
        "jwt-keys:{name}:{:?}:{:?}:{:?}:{:?}:{:?}:{:?}:{:?}:{:?}:{:?}",
        cfg.issuer,
        cfg.keys,
        cfg.algorithms,
        cfg.refresh_min,
        cfg.refresh_max,
        cfg.unknown_kid_cooldown,
        cfg.fetch_timeout,
        cfg.max_jwks_bytes,
        cfg.ca_bundle,
    );
    shared.reuse(key, || {
        let fetcher = Fetcher::new(
            cfg.ca_bundle.as_ref().map(CaBundle::certs),
            cfg.fetch_timeout,
            cfg.max_jwks_bytes,
        )
        .map_err(|e| format!("identity provider `{name}`: {e}"))?;
        let timings = Timings {
            refresh_min: cfg.refresh_min,
            refresh_max: cfg.refresh_max.max(cfg.refresh_min),
            unknown_kid_cooldown: cfg.unknown_kid_cooldown,
            fetch_timeout: cfg.fetch_timeout,
        };
        Ok(Arc::new(RemoteKeys::new(
            name,
            endpoint,
            cfg.algorithms.clone(),
            timings,
            fetcher,
            Arc::clone(&shared.metrics),
        )))
    })
}

#[cfg(test)]
pub(crate) mod tests;
