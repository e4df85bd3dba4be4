//! One stripe of a [`RunLog`](super::RunLog): a fixed-capacity, lock-free ring of packed
//! `(duration, outcome)` entries, each with the clock reading at which its run ended.
//!
//! A writer appends with one `fetch_add` and three stores and never allocates. Each slot
//! carries the sequence number of the run it holds, so a reader never mistakes a slot that is
//! still being written, or was already overwritten by a later lap, for the run it wants.
//!
//! Capacity is a power of two, so the index is a mask, not a division.

// Under `--cfg loom` the ring's atomics are loom's, so `loom_tests` can check every
// interleaving of writers and readers (see the module docs of `loom_tests`).
#[cfg(loom)]
use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU64, Ordering};

use crate::outcome::Outcome;

/// Durations are stored in the high 62 bits; longer runs (146 years) saturate.
const MAX_NANOS: u64 = (1 << 62) - 1;

/// One run read back from the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Wall-clock duration in nanoseconds.
    pub(crate) nanos: u64,
    /// How the run ended.
    pub(crate) outcome: Outcome,
    /// The raw clock reading at which the run ended: orders the runs of different stripes
    /// (0 for runs restored from a snapshot, which come before every live run).
    pub(crate) at: u64,
}

impl Run {
    /// A run with no end time (restored from a snapshot, or made up by a test).
    pub(crate) fn new(nanos: u64, outcome: Outcome) -> Run {
        Run {
            nanos,
            outcome,
            at: 0,
        }
    }
}

#[derive(Debug)]
struct Slot {
    /// `index + 1` of the run this slot holds once written (0: never written).
    seq: AtomicU64,
    packed: AtomicU64,
    at: AtomicU64,
}

/// What reading one index found.
enum Read {
    Run(Run),
    /// Claimed by a writer that has not stored it yet.
    Pending,
    /// Overwritten by a later lap of the ring.
    Lost,
}

/// A lock-free ring of the most recent runs of one phase (one stripe of its log).
#[derive(Debug)]
pub(super) struct Ring {
    /// The counter writers contend on, alone on its cache line so that reads of the slots'
    /// pointer do not bounce with it.
    next: CachePadded<AtomicU64>,
    slots: Box<[Slot]>,
    mask: u64,
}

/// A value alone on its (64-byte) cache line.
#[derive(Debug)]
#[repr(align(64))]
struct CachePadded<T>(T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Ring {
    /// A ring of `capacity` slots (raised to a power of two).
    pub(super) fn with_capacity(capacity: usize) -> Ring {
        let capacity = capacity.max(1).next_power_of_two();
        Ring {
            slots: (0..capacity)
                .map(|_| Slot {
                    seq: AtomicU64::new(0),
                    packed: AtomicU64::new(0),
                    at: AtomicU64::new(0),
                })
                .collect(),
            mask: capacity as u64 - 1,
            next: CachePadded(AtomicU64::new(0)),
        }
    }

    /// The number of slots.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Appends one run that ended at the clock reading `at`. Wait-free: one `fetch_add` and
    /// three stores.
    #[inline]
    pub(super) fn push(&self, at: u64, nanos: u64, outcome: Outcome) {
        let packed = (nanos.min(MAX_NANOS) << 2) | outcome.code();
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        // `index & mask < slots.len()` always holds; `get` keeps the hot path panic-free anyway.
        if let Some(slot) = self.slots.get((index & self.mask) as usize) {
            slot.packed.store(packed, Ordering::Relaxed);
            slot.at.store(at, Ordering::Relaxed);
            // Release: a reader that sees this sequence number also sees the entry.
            slot.seq.store(index + 1, Ordering::Release);
        }
    }

    /// How many runs were ever appended.
    #[inline]
    pub(super) fn appended(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// Bytes held by the ring's slots.
    pub(super) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val::<[Slot]>(&self.slots)
    }

    fn read(&self, index: u64) -> Read {
        let Some(slot) = self.slots.get((index & self.mask) as usize) else {
            return Read::Lost;
        };
        let seq = slot.seq.load(Ordering::Acquire);
        if seq <= index {
            return Read::Pending;
        }
        let packed = slot.packed.load(Ordering::Relaxed);
        let at = slot.at.load(Ordering::Relaxed);
        // A writer of a later lap may have replaced the entry between the two loads.
        if seq != index + 1 || slot.seq.load(Ordering::Acquire) != seq {
            return Read::Lost;
        }
        Read::Run(Run {
            nanos: packed >> 2,
            outcome: Outcome::from_code(packed),
            at,
        })
    }

    /// Appends the last `n` runs (at most the ring's capacity), oldest first, to `out`. Runs
    /// still being written or already overwritten are left out.
    pub(super) fn last(&self, n: usize, out: &mut Vec<Run>) {
        let end = self.next.load(Ordering::Acquire);
        let n = n.min(self.slots.len()) as u64;
        for index in end.saturating_sub(n)..end {
            if let Read::Run(run) = self.read(index) {
                out.push(run);
            }
        }
    }

    /// Appends every run from `*consumed` on to `out`, oldest first, and advances `*consumed`
    /// past them. Stops before a run that is still being written (it is read next time).
    /// Returns how many runs were lost because the ring lapped them.
    pub(super) fn read_since(&self, consumed: &mut u64, out: &mut Vec<Run>) -> u64 {
        let end = self.next.load(Ordering::Acquire);
        let oldest = end.saturating_sub(self.slots.len() as u64);
        let mut lost = oldest.saturating_sub(*consumed);
        let mut index = (*consumed).max(oldest);
        while index < end {
            match self.read(index) {
                Read::Run(run) => out.push(run),
                Read::Pending => break,
                Read::Lost => lost += 1,
            }
            index += 1;
        }
        *consumed = index;
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::super::nanos;
    use super::*;

    #[test]
    fn runs_round_trip_with_their_end_time() {
        let ring = Ring::with_capacity(4);
        ring.push(7, 10, Outcome::Failure);
        ring.push(9, 20, Outcome::Cancelled);
        let mut out = Vec::new();
        ring.last(10, &mut out);
        assert_eq!(
            out,
            vec![
                Run {
                    nanos: 10,
                    outcome: Outcome::Failure,
                    at: 7
                },
                Run {
                    nanos: 20,
                    outcome: Outcome::Cancelled,
                    at: 9
                }
            ]
        );
    }

    #[test]
    fn huge_durations_saturate_instead_of_corrupting_the_outcome() {
        let ring = Ring::with_capacity(2);
        ring.push(1, u64::MAX, Outcome::Panic);
        let mut out = Vec::new();
        ring.last(1, &mut out);
        assert_eq!(out[0].outcome, Outcome::Panic);
        assert_eq!(out[0].nanos, MAX_NANOS);
    }

    #[test]
    fn last_is_capped_by_the_capacity() {
        let ring = Ring::with_capacity(5);
        assert_eq!(ring.capacity(), 8);
        for i in 0..20u64 {
            ring.push(i, i, Outcome::Success);
        }
        let mut out = Vec::new();
        ring.last(3, &mut out);
        assert_eq!(nanos(&out), vec![17, 18, 19]);
        out.clear();
        ring.last(100, &mut out);
        assert_eq!(nanos(&out), (12..20).collect::<Vec<_>>());
    }

    #[test]
    fn read_since_catches_up_and_counts_lapped_runs() {
        let ring = Ring::with_capacity(512);
        let capacity = ring.capacity() as u64;
        let mut consumed = 0;
        let mut out = Vec::new();
        for i in 0..3 {
            ring.push(i, i, Outcome::Success);
        }
        assert_eq!(ring.read_since(&mut consumed, &mut out), 0);
        assert_eq!(nanos(&out), vec![0, 1, 2]);
        assert_eq!(consumed, 3);
        // Nothing new: nothing read.
        out.clear();
        assert_eq!(ring.read_since(&mut consumed, &mut out), 0);
        assert!(out.is_empty());
        // Lap the ring: the oldest unread runs are lost and counted.
        for i in 3..(3 + capacity + 10) {
            ring.push(i, i, Outcome::Failure);
        }
        assert_eq!(ring.read_since(&mut consumed, &mut out), 10);
        assert_eq!(out.len() as u64, capacity);
        assert_eq!(out[0].nanos, 13);
        assert_eq!(consumed, 3 + capacity + 10);
    }

    #[test]
    fn a_claimed_but_unwritten_slot_stops_the_reader() {
        let ring = Ring::with_capacity(4);
        ring.push(1, 1, Outcome::Success);
        // Simulate a writer that claimed index 1 and has not stored yet.
        ring.next.fetch_add(1, Ordering::Relaxed);
        let mut consumed = 0;
        let mut out = Vec::new();
        assert_eq!(ring.read_since(&mut consumed, &mut out), 0);
        assert_eq!(nanos(&out), vec![1]);
        assert_eq!(consumed, 1);
        let mut recent = Vec::new();
        ring.last(4, &mut recent);
        assert_eq!(nanos(&recent), vec![1]);
    }

    #[test]
    fn concurrent_writers_lose_nothing_the_reader_can_see() {
        let ring = std::sync::Arc::new(Ring::with_capacity(128));
        let mut consumed = 0;
        let mut seen = 0u64;
        let mut out = Vec::new();
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let ring = std::sync::Arc::clone(&ring);
                std::thread::spawn(move || {
                    for i in 0..500 {
                        ring.push(i, i, Outcome::Success);
                    }
                })
            })
            .collect();
        let mut lost = 0;
        while writers.iter().any(|w| !w.is_finished()) {
            out.clear();
            lost += ring.read_since(&mut consumed, &mut out);
            seen += out.len() as u64;
        }
        for w in writers {
            w.join().unwrap();
        }
        out.clear();
        lost += ring.read_since(&mut consumed, &mut out);
        seen += out.len() as u64;
        assert_eq!(seen + lost, 1000);
    }
}

/// Model checks of the ring's protocol with loom: every interleaving of two writers and a
/// reader. Run with
/// `RUSTFLAGS="--cfg loom" cargo test -p analytics-runtime --release --lib run_log::ring::loom_tests`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// A tiny ring (4 slots), small enough for loom to explore every interleaving.
    fn small_ring() -> Ring {
        Ring::with_capacity(4)
    }

    #[test]
    fn readers_see_each_run_once_or_count_it_lost_never_a_torn_or_stale_one() {
        loom::model(|| {
            let log = Arc::new(small_ring());
            let writers: Vec<_> = (0..2u64)
                .map(|w| {
                    let log = Arc::clone(&log);
                    thread::spawn(move || {
                        for i in 0..2u64 {
                            // Durations name their writer and order: 10, 11, 20, 21.
                            log.push(i, (w + 1) * 10 + i, Outcome::Success);
                        }
                    })
                })
                .collect();
            let mut consumed = 0;
            let mut seen = Vec::new();
            let mut out = Vec::new();
            let mut lost = log.read_since(&mut consumed, &mut out);
            // A run's end time was written with it: never one from another run.
            assert!(out.iter().all(|r| r.at == r.nanos % 10), "torn: {out:?}");
            seen.extend(out.iter().map(|r| r.nanos));
            for writer in writers {
                writer.join().unwrap();
            }
            out.clear();
            lost += log.read_since(&mut consumed, &mut out);
            // A run's end time was written with it: never one from another run.
            assert!(out.iter().all(|r| r.at == r.nanos % 10), "torn: {out:?}");
            seen.extend(out.iter().map(|r| r.nanos));
            assert_eq!(seen.len() as u64 + lost, 4, "seen {seen:?}, lost {lost}");
            for nanos in &seen {
                assert!([10, 11, 20, 21].contains(nanos), "a torn run: {nanos}");
            }
            let mut unique = seen.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "a run read twice: {seen:?}");
            // Each writer's runs are read in its own order.
            for first in [10, 20] {
                let a = seen.iter().position(|n| *n == first);
                let b = seen.iter().position(|n| *n == first + 1);
                if let (Some(a), Some(b)) = (a, b) {
                    assert!(a < b, "out of order: {seen:?}");
                }
            }
        });
    }
}
