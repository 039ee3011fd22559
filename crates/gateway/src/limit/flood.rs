//! The pre-authentication flood guard: requests per client IP (IPv6 by prefix)
//! counted in a fixed-size sketch, checked before any expensive work.
//!
//! # Why a sketch, and not a map of addresses
//!
//! The guard runs before authentication, so the keys are whatever source
//! addresses an attacker cares to use (one IPv6 /48 holds 65,536 /64s, each
//! counted apart; a botnet has as many IPv4 addresses as bots). A map of
//! addresses must therefore be bounded, and a bounded map (an LRU) can
//! be *flushed*: an attacker who rotates through more addresses than it holds
//! evicts every entry, including the heavy hitter's own, whose count then
//! starts again from zero. The guard would forget precisely the address it
//! should remember.
//!
//! A [count-min sketch] cannot be flushed. It is `DEPTH` = 4 rows of
//! `WIDTH` = 16,384 counters; an address is hashed to one counter per row,
//! counted in all four, and estimated as the smallest of the four. Its memory
//! is fixed when the guard is built — two sketches (the current and the
//! previous window) of 4 × 16,384 `AtomicU32`s, **512 KiB** in all, whatever
//! the traffic ([`FloodGuard::memory_bytes`]) — and a request allocates
//! nothing and takes no lock.
//!
//! A sketch never under-counts: every counter an address maps to has seen at
//! least that address's requests. Its error is over-counting by the other
//! addresses that share its counters: with `N` requests in a window, the
//! estimate exceeds the true count by at most `ε·N`, with `ε = e / WIDTH`
//! (1.66 × 10⁻⁴), except with probability `e^−DEPTH` (1.8 %). So a
//! legitimate address can only be refused when the *total* traffic of a
//! window is huge: to misjudge an address that sent nothing against a limit of
//! 1,000, the bound needs `N ≥ 1000 / ε ≈ 6 million` requests in one window,
//! and even then the expected overlap of one counter is only `N / WIDTH` (about
//! 370 at 6 million; all four rows must overlap that much at once). Traffic of
//! that size is itself a flood, which the upstream concurrency limits and the
//! network in front must absorb anyway. The hash is SipHash keyed with a
//! random key drawn when the guard is built ([`RandomState`]), so an attacker
//! cannot choose addresses that land on a victim's counters.
//!
//! **Conservative update** makes the over-count much smaller in practice: a
//! request raises only the counters that are at the address's current minimum
//! (each counter becomes `max(counter, estimate + 1)`), instead of adding one
//! to all four. The counters of an address still all reach its true count, so
//! the "never under-counts" guarantee holds, but heavy hitters no longer
//! inflate every counter they touch.
//!
//! # The sliding window
//!
//! A window of `window_us` is approximated by two sketches: the current
//! window's count plus the previous window's, weighted by how much of the
//! previous window still lies within the sliding window:
//! `estimate = cur + prev × (1 − elapsed / window)`. Each sketch carries the
//! number of the window it holds (its epoch); the first request of a new
//! window clears the sketch of the window before last (64 Ki stores, once per
//! window) and takes it over. The other requests wait the few microseconds
//! this takes.
//!
//! # Exact under concurrency
//!
//! An admission *claims* its count with a compare-and-swap of the address's
//! minimal counter from `m` to `m + 1`, after raising its other counters to at
//! least `m + 1`. Two requests of one address can then never be admitted on
//! the same `m` (each would have raised the counter the other claims), so
//! concurrent requests admit no more than `limit` — exactly as sequential ones
//! do. The only slack is a request whose clock reading is more than a whole
//! window old when its sketch is cleared under it: it is refused (retry in 1
//! s), and may leave one count in the new window.
//!
//! [count-min sketch]: https://en.wikipedia.org/wiki/Count%E2%80%93min_sketch

mod sketch;

use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::net::IpAddr;

use super::Micros;
use sketch::{Claim, Sketch};

/// Rows of the sketch: an address is counted in this many counters.
pub const DEPTH: usize = 4;

/// Counters per row by default (a power of two).
pub const WIDTH: usize = 16_384;

/// The flood guard's settings (`flood_guard` in config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodConfig {
    /// Requests one address may send per window.
    pub limit: u64,
    /// The window, in microseconds.
    pub window_us: u64,
    /// IPv6 addresses are counted by this prefix length (default 64).
    pub ipv6_prefix: u8,
}

/// Per-IP request counts in bounded memory.
pub struct FloodGuard {
    cfg: FloodConfig,
    /// `cfg.window_us`, at least 1.
    window_us: u64,
    /// The keyed hash of addresses (random keys, drawn at construction).
    hasher: RandomState,
    /// log2 of the width.
    width_bits: u32,
    /// Indexed by the parity of the window number.
    sketches: [Sketch; 2],
}

impl FloodGuard {
    /// A guard with its fixed-size tables allocated.
    pub fn new(cfg: FloodConfig) -> FloodGuard {
        FloodGuard::with_width(cfg, WIDTH)
    }

    /// A guard with `width` counters per row (rounded up to a power of two,
    /// between 16 and 65,536): more counters, less over-counting.
    pub fn with_width(cfg: FloodConfig, width: usize) -> FloodGuard {
        let width = width.clamp(16, 1 << 16).next_power_of_two();
        FloodGuard {
            cfg,
            window_us: cfg.window_us.max(1),
            hasher: RandomState::new(),
            width_bits: width.trailing_zeros(),
            sketches: [Sketch::new(DEPTH, width), Sketch::new(DEPTH, width)],
        }
    }

    /// Counts a request from `ip`; `Err(retry_after_seconds)` when the address
    /// is over its limit (a refused request is not counted).
    ///
    /// The retry delay is the time until the sliding estimate falls below the
    /// limit if nothing else is counted, at most the end of the current window,
    /// rounded up to whole seconds, at least 1.
    pub fn admit(&self, ip: IpAddr, now: Micros) -> Result<(), u64> {
        let cells = self.cells(ip);
        let mut window = (now / self.window_us).min(sketch::MAX_WINDOW);
        let mut elapsed = now % self.window_us;
        let cur = &self.sketches[(window & 1) as usize];
        let opened = cur.open(window);
        if opened != window {
            // This clock reading is from a window that ended while the request
            // was on its way: judge it as the first request of the newest one.
            window = opened;
            elapsed = 0;
        }
        let prev = match window.checked_sub(1) {
            Some(before) => self.sketches[(before & 1) as usize].estimate(before, &cells),
            None => 0,
        };
        let (claim, count) = cur.claim(window, &cells, |count| self.under(count, prev, elapsed));
        match claim {
            Claim::Counted => Ok(()),
            Claim::Refused => Err(self.retry_after(u64::from(count), u64::from(prev), elapsed)),
            Claim::Rotated => Err(1),
        }
    }

    /// The settings.
    pub fn config(&self) -> FloodConfig {
        self.cfg
    }

    /// The memory the guard holds: fixed when it is built (512 KiB with the
    /// default width), whatever the number of addresses seen.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<FloodGuard>()
            + self
                .sketches
                .iter()
                .map(Sketch::memory_bytes)
                .sum::<usize>()
    }

    /// Whether an address whose current-window count is `cur` and previous-window
    /// count is `prev` is still under the limit, `elapsed` into the window.
    fn under(&self, cur: u32, prev: u32, elapsed: u64) -> bool {
        let w = u128::from(self.window_us);
        let weighted = u128::from(cur) * w + u128::from(prev) * (w - u128::from(elapsed));
        weighted < u128::from(self.cfg.limit) * w
    }

    /// Seconds until a refused address would be admitted again.
    fn retry_after(&self, cur: u64, prev: u64, elapsed: u64) -> u64 {
        let w = self.window_us;
        let until_end = w - elapsed;
        let limit = self.cfg.limit;
        let wait_us = if cur < limit && prev > 0 {
            // Admitted once cur·w + prev·(w − t) < limit·w, i.e. at the first
            // t > w·(prev + cur − limit) / prev (which is below w as cur < limit).
            let excess = u128::from((prev + cur).saturating_sub(limit));
            let t = u128::from(w) * excess / u128::from(prev) + 1;
            let t = u64::try_from(t).unwrap_or(u64::MAX);
            t.saturating_sub(elapsed).min(until_end)
        } else {
            until_end
        };
        wait_us.div_ceil(1_000_000).max(1)
    }

    /// The address's counter in each row.
    fn cells(&self, ip: IpAddr) -> [usize; DEPTH] {
        let mut h = self.hasher.build_hasher();
        match ip {
            IpAddr::V4(v4) => {
                h.write_u8(4);
                h.write_u32(u32::from(v4));
            }
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => {
                    h.write_u8(4);
                    h.write_u32(u32::from(v4));
                }
                None => {
                    let prefix = u32::from(self.cfg.ipv6_prefix.min(128));
                    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                    h.write_u8(6);
                    h.write_u128(u128::from(v6) & mask);
                }
            },
        }
        let hash = h.finish();
        // Four independent row hashes: disjoint 16-bit slices of one keyed
        // 64-bit hash (a PRF output, so the slices are independent).
        let width = 1usize << self.width_bits;
        std::array::from_fn(|row| row * width + ((hash >> (16 * row)) as usize & (width - 1)))
    }
}

impl fmt::Debug for FloodGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FloodGuard")
            .field("cfg", &self.cfg)
            .field("depth", &DEPTH)
            .field("width", &(1usize << self.width_bits))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
