//! OAuth2 token introspection (RFC 7662): opaque bearer tokens checked by the
//! provider's introspection endpoint, with the answers cached (keyed by the
//! token's SHA-256, never the token) and one call in flight per token.
//!
//! An endpoint that is down, slow, oversized or answers nonsense makes the
//! request fail with [`Failure::ProviderUnavailable`] (503), never a 401, and
//! that outcome is not cached.

mod cache;
mod claims;
mod config;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::Full;

use self::cache::{Cache, Landing, Lookup, Outcome};
use self::claims::Answer;
pub use self::config::{ClientAuth, IntrospectionConfig, endpoint};
pub(crate) use self::config::{RawIntrospection, check};
use crate::authn::fetch::{FetchError, Fetcher};
use crate::authn::{Failure, Principal, Shared};
use crate::metrics::Metrics;

/// The longest token sent to the endpoint; longer ones are malformed.
const MAX_TOKEN_LEN: usize = 8192;

/// Milliseconds since the epoch; injected so cache tests need not sleep.
type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// An introspection client with its result cache.
pub struct Introspector {
    /// Boxed: the client and config are large, and providers live in one enum.
    inner: Box<Inner>,
}

struct Inner {
    name: Arc<str>,
    cfg: IntrospectionConfig,
    fetcher: Fetcher,
    /// `Authorization: Basic …` (marked sensitive), for `client_auth: basic`.
    authorization: Option<HeaderValue>,
    /// `&client_id=…&client_secret=…`, for `client_auth: post`.
    body_credentials: String,
    cache: Arc<Cache>,
    metrics: Arc<Metrics>,
    clock: Clock,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("name", &self.inner.name)
            .field("url", &self.inner.cfg.url)
            .finish_non_exhaustive()
    }
}

impl Introspector {
    /// Builds the client and cache. The cache survives reloads that leave this
    /// provider's config unchanged.
    pub fn new(
        name: &str,
        cfg: &IntrospectionConfig,
        shared: &Shared,
    ) -> Result<Introspector, String> {
        let fetcher = Fetcher::new(
            cfg.ca_bundle.as_deref(),
            cfg.timeout,
            cfg.max_response_bytes,
        )?;
        let cache = shared.reuse(format!("introspect:{name}:{cfg:?}"), || {
            Ok(Arc::new(Cache::new(cfg.cache_size)))
        })?;
        let id = form_encode(&cfg.client_id);
        let secret = form_encode(&String::from_utf8_lossy(cfg.client_secret.expose()));
        let (authorization, body_credentials) = match cfg.client_auth {
            ClientAuth::Basic => {
                let mut v = HeaderValue::try_from(format!(
                    "Basic {}",
                    STANDARD.encode(format!("{id}:{secret}"))
                ))
                .map_err(|_| "the client credentials do not fit a header".to_owned())?;
                v.set_sensitive(true);
                (Some(v), String::new())
            }
            ClientAuth::Post => (None, format!("&client_id={id}&client_secret={secret}")),
        };
        Ok(Introspector {
            inner: Box::new(Inner {
                name: name.into(),
                cfg: cfg.clone(),
                fetcher,
                authorization,
                body_credentials,
                cache,
                metrics: shared.metrics.clone(),
                clock: Arc::new(|| {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                }),
            }),
        })
    }

    /// Asks the endpoint (or the cache) whether the opaque token is active.
    pub async fn verify(&self, token: &str) -> Result<Arc<Principal>, Failure> {
        self.inner.verify(token).await
    }
}

impl Inner {
    async fn verify(&self, token: &str) -> Result<Arc<Principal>, Failure> {
        if !is_token(token) {
            return Err(Failure::Malformed);
        }
        let key = cache::key(token);
        let flight = match self.cache.lookup(&key, (self.clock)()) {
            Lookup::Hit(outcome) => return outcome,
            Lookup::Call(flight) => flight,
        };
        let landing = Landing {
            cache: &self.cache,
            key,
            flight,
        };
        landing
            .flight
            .get_or_init(|| self.ask(token, key))
            .await
            .clone()
    }

    /// One call to the endpoint; caches what it says (not its failures).
    async fn ask(&self, token: &str, key: cache::Key) -> Outcome {
        let fetched = match self.request(token) {
            Ok(req) => self.fetcher.send(req).await,
            Err(e) => Err(e),
        };
        let body = match fetched {
            Ok(f) => f.body,
            Err(e) => {
                let result = match e {
                    FetchError::Timeout(_) => "timeout",
                    FetchError::Transport(_) => "error",
                    FetchError::Status(_) => "status",
                    FetchError::TooLarge(_) => "too_large",
                };
                self.record(result);
                tracing::warn!(provider = %self.name, error = %e, "token introspection failed");
                return Err(Failure::ProviderUnavailable);
            }
        };
        let now = (self.clock)();
        let (outcome, until) = match claims::interpret(&self.cfg, &self.name, &body, now / 1000) {
            Answer::Active(p) => {
                let mut until = now.saturating_add(millis(self.cfg.cache_ttl_max));
                if let Some(exp) = p.expires_at {
                    until = until.min(exp.saturating_mul(1000));
                }
                self.record("success");
                (Ok(Arc::new(p)), until)
            }
            Answer::Refused(f) => {
                self.record(f.as_str());
                (Err(f), now.saturating_add(millis(self.cfg.negative_ttl)))
            }
            Answer::Invalid(why) => {
                self.record("invalid_response");
                tracing::warn!(provider = %self.name, error = why, "token introspection failed");
                return Err(Failure::ProviderUnavailable);
            }
        };
        self.cache.store(key, outcome.clone(), until, now);
        outcome
    }

    /// `POST token=…&token_type_hint=access_token`, with the client credentials.
    fn request(&self, token: &str) -> Result<Request<Full<Bytes>>, FetchError> {
        let body = format!(
            "token={}&token_type_hint=access_token{}",
            form_encode(token),
            self.body_credentials
        );
        let mut req = Request::post(self.cfg.url.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(auth) = &self.authorization {
            req = req.header(header::AUTHORIZATION, auth.clone());
        }
        req.body(Full::new(Bytes::from(body)))
            .map_err(|e| FetchError::Transport(e.to_string()))
    }

    fn record(&self, result: &str) {
        self.metrics
            .provider_call(&self.name, "introspection", result);
    }
}

/// Whether `token` is an RFC 6750 `b64token` of sensible length.
fn is_token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
