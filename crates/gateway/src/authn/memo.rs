//! A connection's last verified bearer token.
//!
//! Clients keep a connection open and send the same token on it, request after
//! request. Remembering that token's principal on the connection spares the
//! SHA-256 of the token and the shared cache's lock, the largest part of a cached
//! verification. The memo holds one token per connection (zeroed when replaced
//! or dropped), is compared in constant time, and is reused only while the same
//! provider (not a rebuilt one) has the same key-set generation, for at most
//! [`MEMO_TTL`] and never past the token's expiry. Revocation is still checked
//! on every request, after this.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::authn::{Principal, Provider};

/// How long a connection reuses a verdict without asking the provider again.
pub const MEMO_TTL: u64 = 30;

/// Tokens longer than this are not remembered.
const MAX_MEMO_BYTES: usize = 8 * 1024;

/// One connection's memo.
#[derive(Debug, Default)]
pub struct TokenMemo(Mutex<Option<Entry>>);

#[derive(Debug)]
struct Entry {
    /// Held weakly: the allocation stays, so a rebuilt provider can never share
    /// its address.
    provider: Weak<Provider>,
    generation: u64,
    token: Box<[u8]>,
    principal: Arc<Principal>,
    until: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.token.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&self.token);
    }
}

impl Clone for TokenMemo {
    /// A copy starts empty: a memo belongs to one connection.
    fn clone(&self) -> TokenMemo {
        TokenMemo::default()
    }
}

impl TokenMemo {
    /// The principal remembered for exactly this token from this provider.
    pub fn get(
        &self,
        provider: &Arc<Provider>,
        generation: u64,
        token: &str,
        now: u64,
    ) -> Option<Arc<Principal>> {
        let memo = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let e = memo.as_ref()?;
        let valid = now < e.until
            && e.generation == generation
            && Weak::as_ptr(&e.provider) == Arc::as_ptr(provider);
        (valid && crate::same_bytes(&e.token, token.as_bytes())).then(|| Arc::clone(&e.principal))
    }

    /// Remembers a principal just verified from `token` (verified with the key
    /// set of `generation`, read before verifying).
    pub fn put(
        &self,
        provider: &Arc<Provider>,
        generation: u64,
        token: &str,
        principal: &Arc<Principal>,
        now: u64,
    ) {
        let Some(exp) = principal.expires_at else {
            return;
        };
        if token.len() > MAX_MEMO_BYTES {
            return;
        }
        let entry = Entry {
            provider: Arc::downgrade(provider),
            generation,
            token: token.as_bytes().into(),
            principal: Arc::clone(principal),
            until: exp.min(now + MEMO_TTL),
        };
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::AuthMethod;
    use crate::authn::apikey::{ApiKeys, ApiKeysConfig};

    fn provider() -> Arc<Provider> {
        let shared = crate::authn::Shared::new(Arc::new(crate::metrics::Metrics::new()));
        let cfg = ApiKeysConfig {
            pepper: None,
            keys: Vec::new(),
        };
        Arc::new(Provider::ApiKeys(
            ApiKeys::new("p", &cfg, &shared).expect("provider"),
        ))
    }

    fn principal(exp: u64) -> Arc<Principal> {
        let mut p = Principal::new("alice", "https://idp", AuthMethod::Jwt);
        p.expires_at = Some(exp);
        Arc::new(p)
    }

    #[test]
    fn only_the_same_token_provider_and_generation_hit_while_fresh() {
        let (a, b) = (provider(), provider());
        let memo = TokenMemo::default();
        let p = principal(1_000);
        memo.put(&a, 7, "tok-1", &p, 100);
        assert!(
            memo.get(&a, 7, "tok-1", 100)
                .is_some_and(|q| Arc::ptr_eq(&q, &p))
        );
        assert!(memo.get(&a, 7, "tok-2", 100).is_none(), "another token");
        assert!(memo.get(&a, 7, "tok-10", 100).is_none(), "a longer token");
        assert!(memo.get(&b, 7, "tok-1", 100).is_none(), "another provider");
        assert!(memo.get(&a, 8, "tok-1", 100).is_none(), "the keys changed");
        assert!(memo.get(&a, 7, "tok-1", 100 + MEMO_TTL).is_none(), "stale");
        memo.put(&a, 7, "tok-1", &principal(105), 100);
        assert!(memo.get(&a, 7, "tok-1", 104).is_some());
        assert!(memo.get(&a, 7, "tok-1", 105).is_none(), "never past exp");
        assert!(
            memo.clone().get(&a, 7, "tok-1", 104).is_none(),
            "a copy is empty"
        );
    }
}
