//! One count-min sketch of the flood guard: `depth × width` atomic counters and
//! the number of the window they count.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

use super::DEPTH;

/// The epoch of a sketch being cleared.
const CLEARING: u64 = u64::MAX;

/// The largest window number a sketch can hold (its epoch is the window + 1,
/// 0 meaning "never used", and `CLEARING` is reserved).
pub(super) const MAX_WINDOW: u64 = u64::MAX - 2;

/// What became of a request offered to [`Sketch::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Claim {
    /// It was under the limit and is counted.
    Counted,
    /// It was over the limit; nothing was counted.
    Refused,
    /// The sketch was cleared for a newer window while the request was being
    /// counted (its clock reading is more than a window old).
    Rotated,
}

/// `depth` rows of `width` counters, row after row, and the window they count.
pub(super) struct Sketch {
    /// The window counted, plus one; 0 when never used; `CLEARING` while it is
    /// being cleared for a new window.
    epoch: AtomicU64,
    counters: Box<[AtomicU32]>,
}

impl Sketch {
    /// A zeroed sketch.
    pub(super) fn new(depth: usize, width: usize) -> Sketch {
        Sketch {
            epoch: AtomicU64::new(0),
            counters: (0..depth * width).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// The heap memory of the counters.
    pub(super) fn memory_bytes(&self) -> usize {
        std::mem::size_of_val::<[AtomicU32]>(&self.counters)
    }

    /// Makes this sketch count `window` (clearing it if it held an older one)
    /// and returns the window it now counts: `window`, or a newer one when the
    /// caller's clock reading is stale.
    pub(super) fn open(&self, window: u64) -> u64 {
        let want = window.min(MAX_WINDOW) + 1;
        let mut spins = 0u32;
        loop {
            let e = self.epoch.load(Ordering::Acquire);
            if e == CLEARING {
                // Another request is clearing it: 64 Ki stores, a few µs.
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
            if e >= want {
                return e - 1;
            }
            if e == 0 {
                // Never used: already zero.
                if self
                    .epoch
                    .compare_exchange(0, want, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return want - 1;
                }
                continue;
            }
            if self
                .epoch
                .compare_exchange(e, CLEARING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // The seqlock writer's pattern: a request that reads one of
                // these zeroes synchronizes with this fence, so it then sees
                // the epoch change and does not trust what it read.
                fence(Ordering::Release);
                for c in self.counters.iter() {
                    c.store(0, Ordering::Relaxed);
                }
                self.epoch.store(want, Ordering::Release);
                return want - 1;
            }
        }
    }

    /// The estimate of the address at `cells` if this sketch counts `window`,
    /// else 0.
    pub(super) fn estimate(&self, window: u64, cells: &[usize; DEPTH]) -> u32 {
        if self.epoch.load(Ordering::Acquire) != window.min(MAX_WINDOW) + 1 {
            return 0;
        }
        cells
            .iter()
            .map(|&c| self.counters[c].load(Ordering::Relaxed))
            .min()
            .unwrap_or(0)
    }

    /// Counts one request of the address at `cells` in `window` (which this
    /// sketch was opened for) if `under(estimate)` holds, with conservative
    /// update. Returns what happened and the estimate after it.
    ///
    /// The request claims its count with a compare-and-swap of its minimal
    /// counter from `m` to `m + 1`, after raising all its other counters to at
    /// least `m + 1`. Two requests of one address cannot both claim on the same
    /// `m`: on different counters, each raised the counter the other claims
    /// before claiming its own, which the total order of these `SeqCst`
    /// operations forbids; on the same counter, only one swap from `m` wins.
    /// So the number admitted never exceeds what `under` allows, even
    /// concurrently, and every counter of the address ends at least at its
    /// number of admitted requests (no under-count).
    pub(super) fn claim(
        &self,
        window: u64,
        cells: &[usize; DEPTH],
        under: impl Fn(u32) -> bool,
    ) -> (Claim, u32) {
        let want = window.min(MAX_WINDOW) + 1;
        loop {
            let values = cells.map(|c| self.counters[c].load(Ordering::Relaxed));
            let mut min_row = 0;
            for (row, &v) in values.iter().enumerate() {
                if v < values[min_row] {
                    min_row = row;
                }
            }
            let m = values[min_row];
            if m == u32::MAX || !under(m) {
                return (Claim::Refused, m);
            }
            for (row, &c) in cells.iter().enumerate() {
                if row != min_row {
                    self.counters[c].fetch_max(m + 1, Ordering::SeqCst);
                }
            }
            if self.counters[cells[min_row]]
                .compare_exchange(m, m + 1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                // The swap is an acquire: had it (or a raise) read a zero of a
                // clearing, the new epoch is visible here.
                if self.epoch.load(Ordering::Acquire) != want {
                    return (Claim::Rotated, m + 1);
                }
                return (Claim::Counted, m + 1);
            }
        }
    }
}
