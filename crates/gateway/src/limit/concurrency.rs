//! Concurrency limits with a bounded throttling queue: per upstream, and per
//! consumer (keyed, with the number of keys bounded).
//!
//! A [`Gate`] lets at most `max` requests in at once. When all its slots are
//! taken, up to `queue` more requests wait, first come first served (tokio's
//! semaphore is fair), each at most `max_wait`; past the queue a request is
//! refused at once ([`Full::Queue`]), and one that waited `max_wait` in vain
//! is refused then ([`Full::Timeout`]). Waiting is bounded so that a slow
//! upstream turns into fast refusals instead of an ever-growing pile of parked
//! requests.
//!
//! [`Keyed`] keeps one such limit per key (a consumer). Its memory is bounded
//! by what is in flight: a key's entry exists only while a request holds or
//! waits for one of its slots, and at most `max_keys` keys are tracked at once
//! ([`Full::TooManyKeys`] past that).
//!
//! A [`Permit`] is the held slot. It is released when dropped, wherever that
//! happens: it is `Send + 'static`, held until the response body has been
//! sent. A request cancelled while it waits (its future dropped) gives its
//! queue place, and any slot handed to it meanwhile, back at once.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a request could not enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Every slot is taken and the queue is full (or there is no queue).
    Queue,
    /// It waited in the queue for the longest wait and no slot freed.
    Timeout,
    /// Too many distinct keys are in flight to track another.
    TooManyKeys,
}

/// The settings of one concurrency limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateConfig {
    /// Requests in flight at once.
    pub max: usize,
    /// Requests that may wait for a slot (0: refused at once).
    pub queue: usize,
    /// Longest a request waits in the queue.
    pub max_wait: Duration,
}

/// A held slot; released when dropped.
pub struct Permit {
    // Dropped in this order: the slot first, then (for a keyed limit) the
    // key's hold, which may remove the key's entry.
    _slot: OwnedSemaphorePermit,
    _hold: Option<Hold>,
}

/// One concurrency limit.
#[derive(Debug)]
pub struct Gate {
    cfg: GateConfig,
    core: Core,
}

impl Gate {
    /// A limit with its settings.
    pub fn new(cfg: GateConfig) -> Gate {
        Gate {
            cfg,
            core: Core::new(cfg.max),
        }
    }

    /// Takes a slot, waiting in the queue when allowed.
    pub async fn enter(&self) -> Result<Permit, Full> {
        let slot = self.core.enter(&self.cfg).await?;
        Ok(Permit {
            _slot: slot,
            _hold: None,
        })
    }

    /// Requests in flight, and waiting.
    pub fn load(&self) -> (usize, usize) {
        self.core.load(self.cfg.max)
    }

    /// The settings.
    pub fn config(&self) -> GateConfig {
        self.cfg
    }
}

/// One concurrency limit per key (a consumer), with the number of keys bounded.
#[derive(Debug)]
pub struct Keyed {
    cfg: GateConfig,
    max_keys: usize,
    entries: Arc<Entries>,
}

impl Keyed {
    /// Per-key limits, tracking at most `max_keys` keys at once.
    pub fn new(cfg: GateConfig, max_keys: usize) -> Keyed {
        Keyed {
            cfg,
            max_keys,
            entries: Arc::new(Entries::default()),
        }
    }

    /// Takes a slot for `key`.
    pub async fn enter(&self, key: &str) -> Result<Permit, Full> {
        let hold = self.hold(key)?;
        // If this future is dropped from here on, `hold` is dropped with it
        // and the key's entry goes when nobody else holds it.
        let slot = hold.core.enter(&self.cfg).await?;
        Ok(Permit {
            _slot: slot,
            _hold: Some(hold),
        })
    }

    /// Keys tracked now: those with a request in flight or waiting.
    pub fn keys(&self) -> usize {
        self.entries.lock().len()
    }

    /// A key's requests in flight and waiting (`None`: none of either).
    pub fn load(&self, key: &str) -> Option<(usize, usize)> {
        let map = self.entries.lock();
        map.get(key).map(|e| e.core.load(self.cfg.max))
    }

    /// The settings of each key's limit.
    pub fn config(&self) -> GateConfig {
        self.cfg
    }

    /// Registers one more holder or waiter of `key`, creating its entry.
    fn hold(&self, key: &str) -> Result<Hold, Full> {
        let mut map = self.entries.lock();
        let core = match map.get_mut(key) {
            Some(entry) => {
                entry.refs += 1;
                Arc::clone(&entry.core)
            }
            None => {
                if map.len() >= self.max_keys {
                    return Err(Full::TooManyKeys);
                }
                let core = Arc::new(Core::new(self.cfg.max));
                let entry = Entry {
                    core: Arc::clone(&core),
                    refs: 1,
                };
                map.insert(key.to_owned(), entry);
                core
            }
        };
        Ok(Hold {
            entries: Arc::clone(&self.entries),
            key: key.to_owned(),
            core,
        })
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("keyed", &self._hold.is_some())
            .finish_non_exhaustive()
    }
}

/// The state of one limit: its slots and the number waiting for one.
#[derive(Debug)]
struct Core {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
}

impl Core {
    fn new(max: usize) -> Core {
        Core {
            slots: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            waiting: AtomicUsize::new(0),
        }
    }

    async fn enter(&self, cfg: &GateConfig) -> Result<OwnedSemaphorePermit, Full> {
        if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(slot);
        }
        let reserved = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (w < cfg.queue).then_some(w + 1)
            });
        if reserved.is_err() {
            return Err(Full::Queue);
        }
        // Gives the queue place back however this ends, cancellation included.
        let _place = Waiting(&self.waiting);
        let acquire = Arc::clone(&self.slots).acquire_owned();
        match tokio::time::timeout(cfg.max_wait, acquire).await {
            Ok(Ok(slot)) => Ok(slot),
            // The semaphore is never closed; fail closed if it were.
            Ok(Err(_closed)) => Err(Full::Queue),
            Err(_elapsed) => Err(Full::Timeout),
        }
    }

    fn load(&self, max: usize) -> (usize, usize) {
        let max = max.min(Semaphore::MAX_PERMITS);
        (
            max.saturating_sub(self.slots.available_permits()),
            self.waiting.load(Ordering::Acquire),
        )
    }
}

/// A place in a queue, given back when dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The keys of a [`Keyed`] limit in flight.
#[derive(Debug, Default)]
struct Entries(Mutex<HashMap<String, Entry>>);

impl Entries {
    /// The map (never held across an await; a panic while it was held left
    /// no invariant broken, so a poisoned lock is used as is).
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One key's limit and the number of requests holding or waiting for it.
#[derive(Debug)]
struct Entry {
    core: Arc<Core>,
    refs: usize,
}

/// One holder or waiter of a key; removes the key's entry when it is the last.
struct Hold {
    entries: Arc<Entries>,
    key: String,
    core: Arc<Core>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut map = self.entries.lock();
        if let Some(entry) = map.get_mut(&self.key)
            && Arc::ptr_eq(&entry.core, &self.core)
        {
            entry.refs -= 1;
            if entry.refs == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests;
