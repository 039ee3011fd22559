//! One shard of the local store: a bounded map from key to a value with an
//! expiry, that makes room for a new key by dropping expired entries and, when
//! none is, by evicting the sampled entry closest to its expiry.
//!
//! Entries live in a dense `Vec` (so a random entry is one index away) and a
//! `HashMap` from key to position; both share the key through one `Arc<str>`,
//! so an insert copies the key's bytes once.

use std::collections::HashMap;
use std::sync::Arc;

use crate::limit::Micros;

/// How many entries are looked at to choose one to evict.
const SAMPLE: usize = 8;

/// A stored value and the instant it stops existing. For a GCRA key `value` is
/// the theoretical arrival time (TAT) and `expires` equals it: once the TAT is
/// past, the key decides exactly as an absent one. For a counter, its count and
/// the end of its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    /// The TAT or the count.
    pub(super) value: u64,
    /// When it expires (µs since the epoch); expired = absent.
    pub(super) expires: Micros,
}

impl Entry {
    fn is_live(&self, now: Micros) -> bool {
        self.expires > now
    }
}

#[derive(Debug)]
struct Slot {
    key: Arc<str>,
    entry: Entry,
}

/// A bounded map; the store locks one shard per mutex.
#[derive(Debug)]
pub(super) struct Shard {
    /// Key → position in `slots`.
    index: HashMap<Arc<str>, usize>,
    slots: Vec<Slot>,
    cap: usize,
    /// Keys inserted since expired entries were last swept out: a full sweep
    /// runs at most once per `cap / 4` inserts, so its cost is O(1) amortized.
    inserts_since_sweep: usize,
    /// xorshift64* state for sampling (seeded per process: an attacker cannot
    /// predict which entries are looked at).
    rng: u64,
}

impl Shard {
    /// An empty shard holding at most `cap` (at least 1) keys.
    pub(super) fn new(cap: usize, seed: u64) -> Shard {
        Shard {
            index: HashMap::new(),
            slots: Vec::new(),
            cap: cap.max(1),
            inserts_since_sweep: 0,
            rng: seed | 1,
        }
    }

    /// Keys held (expired ones not yet dropped included).
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The entry under `key`, unless absent or expired.
    pub(super) fn live(&self, now: Micros, key: &str) -> Option<Entry> {
        let &i = self.index.get(key)?;
        let entry = self.slots.get(i)?.entry;
        entry.is_live(now).then_some(entry)
    }

    /// Stores `entry` under `key`: in place when the key is held, else as a
    /// new key, making room first when the shard is full (never evicting a
    /// key for which `protect` answers true while another candidate exists).
    /// Returns whether a live entry was evicted to make room.
    pub(super) fn write(
        &mut self,
        now: Micros,
        key: &str,
        entry: Entry,
        protect: impl Fn(&str) -> bool,
    ) -> bool {
        if let Some(&i) = self.index.get(key)
            && let Some(slot) = self.slots.get_mut(i)
        {
            slot.entry = entry;
            return false;
        }
        let evicted = self.slots.len() >= self.cap && self.make_room(now, protect);
        let key: Arc<str> = Arc::from(key);
        self.index.insert(Arc::clone(&key), self.slots.len());
        self.slots.push(Slot { key, entry });
        self.inserts_since_sweep += 1;
        evicted
    }

    /// Forgets `key`.
    pub(super) fn remove(&mut self, key: &str) {
        if let Some(&i) = self.index.get(key) {
            self.remove_at(i);
        }
    }

    /// Frees one place (the shard is full). Returns whether a live entry had
    /// to go.
    fn make_room(&mut self, now: Micros, protect: impl Fn(&str) -> bool) -> bool {
        if self.inserts_since_sweep >= (self.cap / 4).max(1) {
            self.sweep(now);
            self.inserts_since_sweep = 0;
            if self.slots.len() < self.cap {
                return false;
            }
        }
        let Some(victim) = self.victim(&protect) else {
            return false;
        };
        let live = self.slots.get(victim).is_some_and(|s| s.entry.is_live(now));
        self.remove_at(victim);
        live
    }

    /// The sampled entry that expires first, preferring unprotected ones.
    /// An expired entry expires before any live one, so it is chosen first.
    ///
    /// Why the soonest-to-expire entry is the safe one to forget: forgetting
    /// an entry turns it into an absent key, which it would become anyway at
    /// its expiry. For a GCRA key the extra requests that grants are those the
    /// TAT still withheld, `(tat - now) / interval`: the least for the entry
    /// whose TAT is nearest. For a counter, the count is forgiven only for
    /// the time left in its window: the least for the window about to end. A
    /// client that is far over its limit has the farthest expiry, so churning
    /// many fresh keys (which expire soon) does not evict it.
    fn victim(&mut self, protect: &impl Fn(&str) -> bool) -> Option<usize> {
        let len = self.slots.len();
        let mut best: Option<(bool, Micros, usize)> = None;
        for n in 0..SAMPLE.min(len) {
            let i = if len <= SAMPLE {
                n
            } else {
                (self.next_random() % len as u64) as usize
            };
            let Some(slot) = self.slots.get(i) else {
                continue;
            };
            // Unprotected (false) sorts before protected, then soonest expiry.
            let rank = (protect(&slot.key), slot.entry.expires, i);
            if best.is_none_or(|b| rank < b) {
                best = Some(rank);
            }
        }
        best.map(|(_, _, i)| i)
    }

    /// Drops every expired entry.
    fn sweep(&mut self, now: Micros) {
        let mut i = 0;
        while let Some(slot) = self.slots.get(i) {
            if slot.entry.is_live(now) {
                i += 1;
            } else {
                self.remove_at(i);
            }
        }
    }

    /// Removes the entry at position `i`, moving the last one into its place.
    fn remove_at(&mut self, i: usize) {
        if i >= self.slots.len() {
            return;
        }
        let gone = self.slots.swap_remove(i);
        self.index.remove(&*gone.key);
        if let Some(moved) = self.slots.get(i)
            && let Some(pos) = self.index.get_mut(&*moved.key)
        {
            *pos = i;
        }
    }

    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
