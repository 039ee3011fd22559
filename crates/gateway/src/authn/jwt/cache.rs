//! Verified tokens, remembered so that a client reusing its token costs a hash
//! and a map lookup instead of a signature check.
//!
//! Keyed by the token's SHA-256 (the token itself is never stored); bounded by
//! entry count, in 16 independently locked shards so that workers rarely meet
//! on a lock. Only tokens that verified are inserted, so a client sending
//! garbage can neither fill nor probe it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::digest;

use crate::authn::Principal;

const SHARDS: usize = 16;

/// A token's identity in the cache: the SHA-256 of its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenId([u8; 32]);

impl TokenId {
    /// Hashes a token.
    pub(crate) fn of(token: &str) -> TokenId {
        let mut id = [0u8; 32];
        id.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        TokenId(id)
    }

    fn word(&self, at: usize) -> u64 {
        let mut w = [0u8; 8];
        if let Some(src) = self.0.get(at..at + 8) {
            w.copy_from_slice(src);
        }
        u64::from_le_bytes(w)
    }
}

impl Hash for TokenId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Already a uniform hash: one word is plenty for the table.
        state.write_u64(self.word(0));
    }
}

/// Passes the digest's word through, mixed with a per-process seed. Only
/// verified tokens are stored, so nobody can aim collisions at the table.
#[derive(Clone, Copy)]
struct Seeded(u64);

struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

impl BuildHasher for Seeded {
    type Hasher = WordHasher;
    fn build_hasher(&self) -> WordHasher {
        WordHasher(self.0)
    }
}

/// One remembered verdict.
struct Entry {
    principal: Arc<Principal>,
    /// Valid from (`max(nbf, iat) - leeway`) …
    from: u64,
    /// … until (`min(exp, verified + ttl_max)`), seconds since the epoch.
    until: u64,
    /// The key-set generation it was verified with.
    generation: u64,
}

struct Shard {
    map: HashMap<TokenId, Entry, Seeded>,
    /// When expired entries were last swept (at most once a second when full).
    swept: u64,
}

/// The bounded cache of verified tokens.
pub(crate) struct TokenCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    ttl_max: u64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("capacity", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache for about `capacity` tokens, each kept at most `ttl_max` seconds.
    pub(crate) fn new(capacity: usize, ttl_max: u64) -> TokenCache {
        let seed = Seeded(std::collections::hash_map::RandomState::new().hash_one(0u64));
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    map: HashMap::with_hasher(seed),
                    swept: 0,
                })
            })
            .collect();
        TokenCache {
            shards,
            per_shard,
            ttl_max,
        }
    }

    /// The principal for a token verified earlier, if still valid at `now`
    /// and verified with key-set `generation`.
    pub(crate) fn get(&self, id: &TokenId, generation: u64, now: u64) -> Option<Arc<Principal>> {
        let mut shard = self.shard(id);
        let entry = shard.map.get(id)?;
        if entry.generation == generation && entry.from <= now && now < entry.until {
            return Some(Arc::clone(&entry.principal));
        }
        shard.map.remove(id);
        None
    }

    /// Remembers a verified token (`from` and `exp` as in [`Entry`]).
    pub(crate) fn insert(
        &self,
        id: TokenId,
        principal: Arc<Principal>,
        (from, exp): (u64, u64),
        generation: u64,
        now: u64,
    ) {
        let until = exp.min(now.saturating_add(self.ttl_max));
        if until <= now {
            return;
        }
        let mut shard = self.shard(&id);
        if shard.map.len() >= self.per_shard && !shard.map.contains_key(&id) {
            if shard.swept != now {
                shard.swept = now;
                shard.map.retain(|_, e| e.until > now);
            }
            if shard.map.len() >= self.per_shard
                && let Some(victim) = shard.map.keys().next().copied()
            {
                shard.map.remove(&victim);
            }
        }
        shard.map.insert(
            id,
            Entry {
                principal,
                from,
                until,
                generation,
            },
        );
    }

    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).map.len())
            .sum()
    }

    fn shard(&self, id: &TokenId) -> std::sync::MutexGuard<'_, Shard> {
        // A different word than the table's hash, so shards don't skew buckets.
        let i = (id.word(8) as usize) % SHARDS;
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::AuthMethod;

    fn p(sub: &str) -> Arc<Principal> {
        Arc::new(Principal::new(sub, "iss", AuthMethod::Jwt))
    }

    #[test]
    fn hits_respect_validity_window_and_generation() {
        let c = TokenCache::new(100, 300);
        let id = TokenId::of("a.b.c");
        c.insert(id, p("alice"), (90, 200), 7, 100);
        let hit = c.get(&id, 7, 150).unwrap();
        assert_eq!(&*hit.subject, "alice");
        assert!(
            c.get(&id, 8, 150).is_none(),
            "a new key set voids old verdicts"
        );
        c.insert(id, p("alice"), (90, 200), 7, 100);
        assert!(c.get(&id, 7, 200).is_none(), "expired at exp");
        c.insert(id, p("alice"), (120, 200), 7, 100);
        assert!(c.get(&id, 7, 110).is_none(), "not yet valid");
        c.insert(id, p("alice"), (0, u64::MAX), 7, 100);
        assert!(c.get(&id, 7, 399).is_some());
        assert!(c.get(&id, 7, 400).is_none(), "ttl_max caps the stay");
    }

    #[test]
    fn memory_stays_bounded() {
        let c = TokenCache::new(64, 300);
        for i in 0..10_000 {
            c.insert(TokenId::of(&i.to_string()), p("x"), (0, 1_000), 0, 10);
        }
        assert!(c.len() <= 64, "{}", c.len());
        // Expired entries go first when a shard is full.
        c.insert(TokenId::of("late"), p("y"), (0, 2_000), 0, 1_500);
        assert!(c.get(&TokenId::of("late"), 0, 1_500).is_some());
    }
}
