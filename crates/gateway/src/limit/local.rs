//! The in-process store: GCRA arrival times and counters in memory, bounded.
//!
//! Keys are spread over up to 64 shards, each a `Mutex` around a bounded map
//! (`local/shard.rs`); a key's shard comes from a hasher keyed at random per
//! process, so clients cannot aim their keys at one shard. A check locks every
//! shard its items fall in, in ascending shard order (so two checks never wait
//! for each other in a cycle), decides, writes and unlocks: admissions are
//! exactly those of some sequential order of the checks. No lock is held
//! across an `await`: the API is synchronous.
//!
//! Memory is bounded: at most `max_keys` keys, each shard holding its share.
//! A full shard makes room for a new key by dropping expired entries (a GCRA
//! key whose TAT has passed decides as an absent one), else by evicting, among
//! a few sampled entries, the one closest to its expiry: the entry nearest to
//! being absent anyway, so forgetting it grants the least extra. A client far
//! over its limit has the farthest expiry, so it is not freed by flooding the
//! store with fresh keys. Evictions are counted ([`LocalStore::evictions`]).

mod shard;
#[cfg(test)]
mod tests;

use std::fmt;
use std::hash::BuildHasher;
use std::hash::RandomState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use self::shard::{Entry, Shard};
use super::{Counter, Decision, Item, ItemState, Micros, Rule, gcra, gcra_delay};

/// Shards of a large store.
const SHARDS: usize = 64;

/// Keys a shard holds at least (when `max_keys` allows): a small store has
/// fewer shards rather than tiny ones, where two keys hashed alike would
/// evict each other.
const MIN_PER_SHARD: usize = 16;

/// Limits and counters held in this process's memory.
pub struct LocalStore {
    shards: Box<[Mutex<Shard>]>,
    /// `shards.len() - 1` (a power of two minus one).
    mask: usize,
    hasher: RandomState,
    max_keys: usize,
    evictions: AtomicU64,
}

impl LocalStore {
    /// A store that holds at most `max_keys` keys (at least 1).
    pub fn new(max_keys: usize) -> LocalStore {
        let max_keys = max_keys.max(1);
        // A power of two (so a hash is masked, not divided), at most SHARDS,
        // each shard holding `max_keys / n` keys: never more than `max_keys`
        // in all.
        let n = SHARDS.min(1 << (max_keys / MIN_PER_SHARD).max(1).ilog2());
        let seeds = RandomState::new();
        let shards = (0..n)
            .map(|i| Mutex::new(Shard::new(max_keys / n, seeds.hash_one(i))))
            .collect();
        LocalStore {
            shards,
            mask: n - 1,
            hasher: RandomState::new(),
            max_keys,
            evictions: AtomicU64::new(0),
        }
    }

    /// Checks every item at once: all admit (and all are charged) or none is
    /// charged.
    ///
    /// A rate item decides as [`gcra`]; a quota item admits when its counter
    /// (0 when absent or expired) is below its limit. When every item admits,
    /// each is written (a rate item's new TAT, expiring then; a quota's count
    /// plus one, its expiry set to `now + ttl_us` when the counter is created
    /// and kept otherwise) and the decision's delay is the largest of the rate
    /// items'. When any item refuses nothing is written and the delay is 0.
    /// Each item's state is reported either way; an item that would have
    /// admitted a refused request reports as `remaining` what it has now.
    ///
    /// When the same key appears in two items, both decide on its stored
    /// value and the later item's write wins.
    pub fn check(&self, now: Micros, items: &[Item]) -> Decision {
        if let [item] = items {
            return self.check_one(now, item);
        }
        let shard_of: Vec<usize> = items.iter().map(|i| self.shard_of(&i.key)).collect();
        let mut order = shard_of.clone();
        order.sort_unstable();
        order.dedup();
        let mut guards: Vec<MutexGuard<'_, Shard>> = order.iter().map(|&s| self.lock(s)).collect();
        let guard_of: Vec<usize> = shard_of
            .iter()
            .map(|s| order.binary_search(s).unwrap_or_default())
            .collect();

        let pending: Vec<Pending> = items
            .iter()
            .zip(&guard_of)
            .map(|(item, &g)| {
                let stored = guards.get(g).and_then(|s| s.live(now, &item.key));
                decide(now, stored, &item.rule)
            })
            .collect();
        let admitted = pending.iter().all(|p| p.state.admitted);
        if !admitted {
            let items = pending.iter().map(Pending::uncharged).collect();
            return Decision {
                admitted,
                delay_us: 0,
                items,
            };
        }

        let protect = |key: &str| items.iter().any(|i| *i.key == *key);
        let mut evicted = 0;
        for ((item, &g), p) in items.iter().zip(&guard_of).zip(&pending) {
            if let (Some(entry), Some(shard)) = (p.write, guards.get_mut(g))
                && shard.write(now, &item.key, entry, protect)
            {
                evicted += 1;
            }
        }
        drop(guards);
        self.count_evictions(evicted);
        Decision {
            admitted,
            delay_us: pending.iter().map(|p| p.delay_us).max().unwrap_or(0),
            items: pending.iter().map(|p| p.state).collect(),
        }
    }

    /// [`LocalStore::check`] of one item: one shard, no bookkeeping.
    fn check_one(&self, now: Micros, item: &Item) -> Decision {
        let mut shard = self.lock(self.shard_of(&item.key));
        let p = decide(now, shard.live(now, &item.key), &item.rule);
        let Some(entry) = p.write else {
            drop(shard);
            return Decision {
                admitted: false,
                delay_us: 0,
                items: vec![p.uncharged()],
            };
        };
        let evicted = shard.write(now, &item.key, entry, |_| false);
        drop(shard);
        self.count_evictions(u64::from(evicted));
        Decision {
            admitted: true,
            delay_us: p.delay_us,
            items: vec![p.state],
        }
    }

    /// Counters' values (absent or expired: 0).
    pub fn get(&self, now: Micros, keys: &[&str]) -> Vec<Counter> {
        keys.iter()
            .map(|key| {
                self.lock(self.shard_of(key))
                    .live(now, key)
                    .map_or_else(Counter::default, |e| counter(now, e))
            })
            .collect()
    }

    /// Adds one to a counter; returns it after. An absent or expired counter
    /// starts at 1 and lives `ttl_us` (a fixed window from its first
    /// increment); a live one keeps its expiry.
    pub fn incr(&self, now: Micros, key: &str, ttl_us: u64) -> Counter {
        let mut shard = self.lock(self.shard_of(key));
        let entry = match shard.live(now, key) {
            Some(e) => Entry {
                value: e.value.saturating_add(1),
                expires: e.expires,
            },
            None => Entry {
                value: 1,
                expires: now.saturating_add(ttl_us),
            },
        };
        let evicted = shard.write(now, key, entry, |_| false);
        drop(shard);
        self.count_evictions(u64::from(evicted));
        counter(now, entry)
    }

    /// Sets a counter's value and lifetime.
    pub fn set(&self, now: Micros, key: &str, value: u64, ttl_us: u64) {
        let entry = Entry {
            value,
            expires: now.saturating_add(ttl_us),
        };
        let evicted = self
            .lock(self.shard_of(key))
            .write(now, key, entry, |_| false);
        self.count_evictions(u64::from(evicted));
    }

    /// Removes keys.
    pub fn remove(&self, keys: &[&str]) {
        for key in keys {
            self.lock(self.shard_of(key)).remove(key);
        }
    }

    /// Keys held (at most the `max_keys` given to [`LocalStore::new`]).
    pub fn len(&self) -> usize {
        (0..self.shards.len()).map(|s| self.lock(s).len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live keys forgotten so far to make room for new ones (a sign that
    /// `max_keys` is too small for the traffic, or of a key-churning client).
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    fn shard_of(&self, key: &str) -> usize {
        (self.hasher.hash_one(key) as usize) & self.mask
    }

    /// Locks shard `s`. A panic while a shard was locked cannot leave it
    /// inconsistent in a way that matters more than refusing service would,
    /// so a poisoned lock is taken over.
    fn lock(&self, s: usize) -> MutexGuard<'_, Shard> {
        // `s` comes from `shard_of` (masked) or `0..len`: always in range.
        self.shards[s]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn count_evictions(&self, n: u64) {
        if n > 0 {
            self.evictions.fetch_add(n, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for LocalStore {
    // Keys are not printed: there may be millions, derived from client input.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStore")
            .field("shards", &self.shards.len())
            .field("max_keys", &self.max_keys)
            .field("evictions", &self.evictions())
            .finish_non_exhaustive()
    }
}

/// One item's decision before the check as a whole is decided.
struct Pending {
    /// The state when the whole check admits.
    state: ItemState,
    /// `remaining` when the whole check refuses (this item uncharged).
    uncharged_remaining: u64,
    /// What to store when the whole check admits (`None` when this item
    /// refuses).
    write: Option<Entry>,
    /// How long this item holds the request.
    delay_us: u64,
}

impl Pending {
    /// This item's state when the check refuses (nothing charged).
    fn uncharged(&self) -> ItemState {
        ItemState {
            remaining: self.uncharged_remaining,
            ..self.state
        }
    }
}

/// One item's state and write, given what its key holds now.
fn decide(now: Micros, stored: Option<Entry>, rule: &Rule) -> Pending {
    match rule {
        Rule::Rate(rate) => {
            let (state, new_tat) = gcra(now, stored.map(|e| e.value), rate);
            let delay_us = new_tat.map_or(0, |t| gcra_delay(now, t, rate));
            // Not charged, an admitting item holds the one this request would
            // have taken, unless it would only have been held (then none is
            // available at once either way).
            let uncharged_remaining = if state.admitted && delay_us == 0 {
                state.remaining + 1
            } else {
                0
            };
            Pending {
                state,
                uncharged_remaining,
                write: new_tat.map(|t| Entry {
                    value: t,
                    expires: t,
                }),
                delay_us,
            }
        }
        Rule::Quota(quota) => {
            let count = stored.map_or(0, |e| e.value);
            let admitted = count < quota.limit;
            let left = quota.limit.saturating_sub(count);
            Pending {
                state: ItemState {
                    admitted,
                    remaining: left.saturating_sub(1),
                    reset_us: 0,
                    retry_us: 0,
                },
                uncharged_remaining: left,
                write: admitted.then(|| Entry {
                    value: count + 1,
                    expires: stored.map_or(now.saturating_add(quota.ttl_us), |e| e.expires),
                }),
                delay_us: 0,
            }
        }
    }
}

fn counter(now: Micros, e: Entry) -> Counter {
    Counter {
        value: e.value,
        ttl_us: e.expires.saturating_sub(now),
    }
}
