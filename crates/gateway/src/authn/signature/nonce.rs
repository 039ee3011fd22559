//! The replay cache: `(keyid, nonce)` pairs seen within the acceptance window.
//!
//! Memory is bounded by `capacity`. When it is full, the entry with the oldest
//! `created` is evicted and a *floor* rises to that `created`: a signature created at
//! or before the floor is refused as expired from then on. So eviction never lets a
//! nonce be replayed; under a flood the acceptance window only shrinks.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use crate::authn::Failure;

/// Seen nonces, shared across config reloads (see `Shared::reuse`).
#[derive(Debug)]
pub(super) struct NonceCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashSet<Arc<str>>,
    /// The same entries, oldest `created` first.
    order: BinaryHeap<Reverse<(u64, Arc<str>)>>,
    /// Signatures created at or before this are refused (an evicted entry had it).
    floor: Option<u64>,
}

impl NonceCache {
    /// An empty cache holding at most `capacity` (≥ 1) entries.
    pub(super) fn new(capacity: usize) -> NonceCache {
        NonceCache {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    /// Records `nonce` for `keyid` (a signature created at `created`, acceptable for
    /// `window` seconds after it): `Replayed` if it was seen within the window,
    /// `Expired` if the cache can no longer vouch for signatures that old.
    pub(super) fn record(
        &self,
        keyid: &str,
        nonce: &str,
        created: u64,
        window: u64,
        now: u64,
    ) -> Result<(), Failure> {
        let key: Arc<str> = format!("{}:{keyid}{nonce}", keyid.len()).into();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget what has left the window.
        while let Some(Reverse((c, _))) = inner.order.peek()
            && c.saturating_add(window) < now
        {
            if let Some(Reverse((_, k))) = inner.order.pop() {
                inner.seen.remove(&k);
            }
        }
        if inner.floor.is_some_and(|f| created <= f) {
            return Err(Failure::Expired);
        }
        if inner.seen.contains(&key) {
            return Err(Failure::Replayed);
        }
        inner.seen.insert(key.clone());
        inner.order.push(Reverse((created, key.clone())));
        while inner.seen.len() > self.capacity {
            let Some(Reverse((c, k))) = inner.order.pop() else {
                break;
            };
            inner.seen.remove(&k);
            inner.floor = Some(inner.floor.map_or(c, |f| f.max(c)));
            if k == key {
                // The new entry is the oldest: it cannot be remembered, so refuse it.
                return Err(Failure::Expired);
            }
        }
        Ok(())
    }

    /// How many entries are held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_refused_once_seen_and_forgotten_after_the_window() {
        let c = NonceCache::new(10);
        assert_eq!(c.record("k", "n1", 100, 60, 100), Ok(()));
        assert_eq!(c.record("k", "n1", 100, 60, 120), Err(Failure::Replayed));
        assert_eq!(c.record("other", "n1", 100, 60, 120), Ok(()), "per key");
        assert_eq!(c.record("k", "n2", 100, 60, 120), Ok(()));
        // keyid/nonce boundaries cannot be shifted to collide
        assert_eq!(c.record("k", "1n2", 100, 60, 120), Ok(()));
        assert_eq!(c.record("kn", "2", 100, 60, 120), Ok(()));
        assert_eq!(c.len(), 5);
        assert_eq!(c.record("k", "n3", 200, 60, 200), Ok(()));
        assert_eq!(c.len(), 1, "entries past their window are dropped");
    }

    #[test]
    fn a_full_cache_evicts_the_oldest_and_refuses_signatures_that_old() {
        let c = NonceCache::new(2);
        assert_eq!(c.record("k", "a", 100, 300, 110), Ok(()));
        assert_eq!(c.record("k", "b", 105, 300, 110), Ok(()));
        assert_eq!(c.record("k", "c", 110, 300, 110), Ok(()));
        assert_eq!(c.len(), 2);
        // "a" was evicted, but replaying it is still refused.
        assert_eq!(c.record("k", "a", 100, 300, 111), Err(Failure::Expired));
        // A new signature older than everything held cannot be remembered either.
        assert_eq!(c.record("k", "z", 101, 300, 111), Err(Failure::Expired));
        assert_eq!(c.len(), 2);
        assert_eq!(c.record("k", "b", 105, 300, 111), Err(Failure::Replayed));
        assert_eq!(c.record("k", "d", 111, 300, 111), Ok(()));
    }
}
