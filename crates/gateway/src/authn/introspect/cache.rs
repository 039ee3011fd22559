//! The introspection result cache: bounded, keyed by the SHA-256 of the token
//! (the token itself is never kept), with at most one call in flight per token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::digest;
use tokio::sync::OnceCell;

use crate::authn::{Failure, Principal};

/// What introspecting one token gave.
pub(super) type Outcome = Result<Arc<Principal>, Failure>;

/// The SHA-256 of a token.
pub(super) type Key = [u8; 32];

/// A call in flight, shared by every request for the same token.
pub(super) type Flight = Arc<OnceCell<Outcome>>;

/// The cache key of a token.
pub(super) fn key(token: &str) -> Key {
    let mut k = [0u8; 32];
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    k.iter_mut().zip(d.as_ref()).for_each(|(o, b)| *o = *b);
    k
}

/// A cache lookup's answer.
pub(super) enum Lookup {
    /// A live cached outcome.
    Hit(Outcome),
    /// Not cached: join (or lead) the call in flight.
    Call(Flight),
}

/// Cached outcomes with their expiry (milliseconds since the epoch), and the
/// calls in flight. Shared across reloads while the provider's config is unchanged.
#[derive(Debug)]
pub(super) struct Cache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Key, (Outcome, u64)>,
    flights: HashMap<Key, Flight>,
}

impl Cache {
    /// An empty cache holding at most `capacity` outcomes (0: nothing is cached).
    pub(super) fn new(capacity: usize) -> Cache {
        Cache {
            capacity,
            inner: Mutex::default(),
        }
    }

    /// The live outcome for `key`, else the call in flight for it (a new one
    /// when there is none).
    pub(super) fn lookup(&self, key: &Key, now: u64) -> Lookup {
        let mut inner = self.lock();
        match inner.entries.get(key) {
            Some((outcome, until)) if *until > now => return Lookup::Hit(outcome.clone()),
            Some(_) => {
                inner.entries.remove(key);
            }
            None => {}
        }
        Lookup::Call(inner.flights.entry(*key).or_default().clone())
    }

    /// Caches an outcome until `until`. When full, expired entries go first, then
    /// arbitrary ones (a sixteenth at a time, so a full cache is not swept per insert).
    pub(super) fn store(&self, key: Key, outcome: Outcome, until: u64, now: u64) {
        if self.capacity == 0 || until <= now {
            return;
        }
        let mut inner = self.lock();
        let entries = &mut inner.entries;
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, u)| *u > now);
            if entries.len() >= self.capacity {
                let n = (entries.len() + 1 - self.capacity).max(self.capacity / 16);
                let victims: Vec<Key> = entries.keys().take(n).copied().collect();
                for v in victims {
                    entries.remove(&v);
                }
            }
        }
        entries.insert(key, (outcome, until));
    }

    /// Forgets the flight for `key` once it has an outcome, or once nobody else
    /// waits on it (its requests were cancelled).
    pub(super) fn land(&self, key: &Key, flight: &Flight) {
        let mut inner = self.lock();
        if let Some(f) = inner.flights.get(key)
            && Arc::ptr_eq(f, flight)
            && (flight.initialized() || Arc::strong_count(flight) <= 2)
        {
            inner.flights.remove(key);
        }
    }

    /// How many outcomes are cached, and how many calls are in flight.
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.flights.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Lands a flight when dropped: after its outcome, or when its request is cancelled.
pub(super) struct Landing<'a> {
    pub(super) cache: &'a Cache,
    pub(super) key: Key,
    pub(super) flight: Flight,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.cache.land(&self.key, &self.flight);
    }
}
