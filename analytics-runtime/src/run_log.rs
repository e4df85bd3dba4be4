//! The per-phase log of recent runs: a fixed-capacity, lock-free ring of packed
//! `(duration, outcome)` entries.
//!
//! The hot path appends with one `fetch_add` and one store and never allocates; readers
//! (reports, and the engines that catch up every N runs) copy the last `window` entries.
//! Capacity is rounded up to a power of two so the index is a mask, not a division; only the
//! last `window` entries are ever read, so the rounding does not change any statistic.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::outcome::Outcome;

/// A slot never written (or being rewritten); readers skip it.
const EMPTY: u64 = u64::MAX;
/// Durations are stored in the high 62 bits; longer runs (146 years) saturate.
const MAX_NANOS: u64 = (1 << 62) - 1;

/// One run read back from the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Wall-clock duration in nanoseconds.
    pub(crate) nanos: u64,
    /// How the run ended.
    pub(crate) outcome: Outcome,
}

/// A lock-free ring of the most recent runs of one phase.
#[derive(Debug)]
pub(crate) struct RunLog {
    slots: Box<[AtomicU64]>,
    mask: u64,
    window: usize,
    next: AtomicU64,
}

impl RunLog {
    /// A log that keeps at least the last `window` runs (`window` is raised to 1).
    pub(crate) fn new(window: usize) -> RunLog {
        let window = window.max(1);
        let capacity = window.next_power_of_two();
        RunLog {
            slots: (0..capacity).map(|_| AtomicU64::new(EMPTY)).collect(),
            mask: capacity as u64 - 1,
            window,
            next: AtomicU64::new(0),
        }
    }

    /// Appends one run. Wait-free: one `fetch_add` and one store.
    #[inline]
    pub(crate) fn push(&self, nanos: u64, outcome: Outcome) {
        let packed = (nanos.min(MAX_NANOS) << 2) | outcome.code();
        let index = self.next.fetch_add(1, Relaxed);
        // `index & mask < slots.len()` always holds; `get` keeps the hot path panic-free anyway.
        if let Some(slot) = self.slots.get((index & self.mask) as usize) {
            slot.store(packed, Relaxed);
        }
    }

    /// Bytes held by the ring.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<AtomicU64>()
    }

    /// Copies the last `window` runs, oldest first, into `out` (cleared first).
    ///
    /// Under concurrent appends a slot may already hold a newer run or be half-way through a
    /// rewrite; such a slot is either a real recent run or skipped, never garbage.
    pub(crate) fn recent(&self, out: &mut Vec<Run>) {
        out.clear();
        let end = self.next.load(Relaxed);
        let len = end.min(self.window as u64);
        out.reserve(len as usize);
        for index in end - len..end {
            let Some(slot) = self.slots.get((index & self.mask) as usize) else {
                continue;
            };
            let packed = slot.load(Relaxed);
            if packed != EMPTY {
                out.push(Run {
                    nanos: packed >> 2,
                    outcome: Outcome::from_code(packed),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exactly_the_last_window_runs_in_order() {
        let log = RunLog::new(5);
        for i in 0..12u64 {
            log.push(i, Outcome::Success);
        }
        let mut out = Vec::new();
        log.recent(&mut out);
        let nanos: Vec<u64> = out.iter().map(|r| r.nanos).collect();
        assert_eq!(nanos, vec![7, 8, 9, 10, 11]);
    }

    #[test]
    fn partial_window_and_outcomes_round_trip() {
        let log = RunLog::new(100);
        log.push(10, Outcome::Failure);
        log.push(20, Outcome::Cancelled);
        let mut out = Vec::new();
        log.recent(&mut out);
        assert_eq!(
            out,
            vec![
                Run {
                    nanos: 10,
                    outcome: Outcome::Failure
                },
                Run {
                    nanos: 20,
                    outcome: Outcome::Cancelled
                }
            ]
        );
    }

    #[test]
    fn huge_durations_saturate_instead_of_corrupting_the_outcome() {
        let log = RunLog::new(2);
        log.push(u64::MAX, Outcome::Panic);
        let mut out = Vec::new();
        log.recent(&mut out);
        assert_eq!(out[0].outcome, Outcome::Panic);
        assert_eq!(out[0].nanos, MAX_NANOS);
    }

    #[test]
    fn zero_window_is_raised_to_one() {
        let log = RunLog::new(0);
        log.push(1, Outcome::Success);
        log.push(2, Outcome::Success);
        let mut out = Vec::new();
        log.recent(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].nanos, 2);
    }
}
