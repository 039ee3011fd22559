//! Authentication state that outlives a config reload: revocations, and the live
//! objects (key sets, caches, nonce stores) of providers whose config did not change.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::authn::revoke::{MemoryRevocations, RevocationStore};
use crate::metrics::Metrics;

/// Process-wide authentication state, owned by the `Gateway`.
pub struct Shared {
    /// Revoked token ids and subjects.
    pub revocations: Arc<dyn RevocationStore>,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    live: Mutex<HashMap<String, Weak<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// Fresh state with an in-memory revocation store.
    pub fn new(metrics: Arc<Metrics>) -> Shared {
        Shared {
            revocations: Arc::new(MemoryRevocations::default()),
            metrics,
            live: Mutex::default(),
        }
    }

    /// Fresh state with the given revocation store (e.g. a
    /// [`crate::authn::revoke::RedisRevocations`] shared by every instance).
    pub fn with_revocations(
        metrics: Arc<Metrics>,
        revocations: Arc<dyn RevocationStore>,
    ) -> Shared {
        Shared {
            revocations,
            metrics,
            live: Mutex::default(),
        }
    }

    /// The live object registered under `key` if one still exists (a runtime
    /// still uses it), else a new one from `make`, registered for the next reload.
    ///
    /// `key` must capture everything the object was built from (e.g. the
    /// provider name and the `Debug` of its config), so a changed config gets a
    /// new object while an unchanged one keeps its key set, caches and nonces.
    pub fn reuse<T: Send + Sync + 'static>(
        &self,
        key: String,
        make: impl FnOnce() -> Result<Arc<T>, String>,
    ) -> Result<Arc<T>, String> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = live.get(&key).and_then(Weak::upgrade)
            && let Ok(t) = existing.downcast::<T>()
        {
            return Ok(t);
        }
        let made = make()?;
        let erased: Arc<dyn Any + Send + Sync> = made.clone();
        live.retain(|_, w| w.strong_count() > 0);
        live.insert(key, Arc::downgrade(&erased));
        Ok(made)
    }
}

/// Seconds since the Unix epoch (the unit of JWT time claims).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_objects_are_reused_while_in_use_and_rebuilt_after() {
        let shared = Shared::new(Arc::new(Metrics::new()));
        let a = shared.reuse("k".into(), || Ok(Arc::new(1u32))).unwrap();
        let b = shared.reuse("k".into(), || Ok(Arc::new(2u32))).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "an unchanged provider keeps its state");
        let other = shared.reuse("k2".into(), || Ok(Arc::new(3u32))).unwrap();
        assert_eq!(*other, 3);
        drop((a, b));
        let c = shared.reuse("k".into(), || Ok(Arc::new(4u32))).unwrap();
        assert_eq!(*c, 4, "nothing uses the old one any more: built anew");
    }
}
