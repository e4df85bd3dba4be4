//! One stripe of a [`RunLog`](super::RunLog): a fixed-capacity, lock-free ring of packed
//! `(duration, outcome)` entries, each with the clock reading at which its run ended.
//!
//! # One writer at a time
//! A ring has one writer at a time: the thread that owns its stripe, or whichever thread holds
//! the ring's lock ([`Ring::push_taking_turns`], the shared stripe of a
//! [`RunLog`](super::RunLog)). So a push needs no atomic
//! read-modify-write: it loads the write counter `next` (its own), stores the slot's two words
//! and publishes `next + 1`. A writer never allocates and never waits.
//!
//! # Readers never see a torn run (issue 13)
//! `next` doubles as the "being written" mark of a seqlock: while it reads `k`, the slot of
//! index `k` (the one of index `k - capacity` before) may be half rewritten. A reader
//! 1. loads `next` (Acquire): every index below it was written whole before;
//! 2. copies the slots it wants (Relaxed loads);
//! 3. issues an Acquire fence and loads `next` again: an index `j` is whole only if the
//!    writer had not yet begun index `j + capacity`, i.e. `j + capacity > next`.
//!
//! The writer puts a Release fence between publishing `next == k` (at the end of the previous
//! push) and its stores to the slot of `k`; if the reader's copy read any of those stores, the
//! two fences synchronise and its second load of `next` sees `k` or later, so step 3 rejects
//! the slot. (On x86-64 both fences compile to nothing; on weak memory they are the barriers
//! a seqlock needs.) The old protocol published data, end time, then a per-slot sequence
//! number; a writer one lap ahead rewrote the data under a sequence number that still showed
//! the older run, and readers returned one run's duration with another's end time.
//!
//! # Readers get a full window
//! Readers copy newest first, a chunk at a time, and stop at the first chunk a writer lapped
//! (everything older is overwritten too), so a reader always keeps the newest runs. The ring
//! holds half as many slots again as it promises to keep ([`Ring::keep`]), so a writer must
//! record that many runs while a reader copies, which the hot path (two clock reads per run)
//! cannot do against a reader's plain copy; a reader that was descheduled retries.
//!
//! Capacity is a power of two, so the index is a mask, not a division.

// Under `--cfg loom` the ring's atomics are loom's, so `loom_tests` can check every
// interleaving of writers and readers (see the module docs of `loom_tests`).
#[cfg(loom)]
use loom::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering, fence},
};
use std::sync::PoisonError;
#[cfg(not(loom))]
use std::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering, fence},
};

use crossbeam_utils::CachePadded;

use crate::outcome::Outcome;

/// Durations are stored in the high 61 bits; longer runs saturate (73 years in nanoseconds,
/// decades in clock ticks).
const MAX_DURATION: u64 = (1 << 61) - 1;

/// The entry's duration is in raw clock ticks (the hot path), converted when read; otherwise it
/// is in nanoseconds (runs recorded through the manual API).
const TICKS: u64 = 0b100;

/// The entry of a run that lasted `nanos` nanoseconds.
#[inline]
pub(crate) fn nanos_entry(nanos: u64, outcome: Outcome) -> u64 {
    (nanos.min(MAX_DURATION) << 3) | outcome.code()
}

/// The entry of a run that lasted `ticks` raw clock ticks: the hot path stores these, so the
/// conversion to nanoseconds (a 128-bit multiply) happens when the engine reads the run.
#[inline(always)]
pub(crate) fn ticks_entry(ticks: u64, outcome: Outcome) -> u64 {
    (ticks.min(MAX_DURATION) << 3) | TICKS | outcome.code()
}

/// Slots copied between two checks of the write counter. A check may miss the cache (the
/// writer owns that line), so it is paid once per chunk; a chunk is small enough that a
/// lapped read wastes little.
const CHUNK: u64 = 64;

/// Times [`Ring::last`] starts over when a writer lapped it before it had a full window (two
/// under loom, whose model would otherwise explode with every retry's interleavings).
const ATTEMPTS: usize = if cfg!(loom) { 2 } else { 16 };

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

    fn unpack(entry: u64, at: u64) -> Run {
        let duration = entry >> 3;
        Run {
            nanos: if entry & TICKS == 0 {
                duration
            } else {
                crate::clock::ticks_to_nanos(duration)
            },
            outcome: Outcome::from_code(entry),
            at,
        }
    }
}

/// One run: 16 bytes, aligned so that a slot never straddles two cache lines.
#[derive(Debug)]
#[repr(align(16))]
struct Slot {
    entry: AtomicU64,
    at: AtomicU64,
}

/// What the writer touches on every push, alone on its cache line(s): 128 bytes on x86-64,
/// where the adjacent-line prefetcher pairs lines, as crossbeam pads. No other ring's counter,
/// nor anything else the engine reads, shares it.
#[derive(Debug)]
struct Head {
    /// Runs ever pushed: the index of the next one. While a push is under way, the slot of
    /// index `next` is being written (see the module docs).
    next: AtomicU64,
    slots: Box<[Slot]>,
    mask: u64,
    /// Runs a reader can always get (see [`Ring::keep`]).
    keep: usize,
    /// Writers that share the ring take turns here ([`Ring::push_taking_turns`]); on the
    /// ring's own line, so their locking bounces nothing an owner of another stripe reads.
    turn: Mutex<()>,
}

/// A lock-free ring of the most recent runs of one phase (one stripe of its log).
#[derive(Debug)]
pub(super) struct Ring {
    head: CachePadded<Head>,
}

impl Ring {
    /// A ring that keeps the last `keep` runs (raised to 1) for its readers: its capacity is the
    /// power of two at or above one and a half times that, the rest being slack that lets a
    /// reader copy `keep` runs while the writer goes on.
    pub(super) fn new(keep: usize) -> Ring {
        let keep = keep.max(1);
        let capacity = keep.saturating_add(keep.div_ceil(2)).next_power_of_two();
        Ring {
            head: CachePadded::new(Head {
                next: AtomicU64::new(0),
                slots: (0..capacity)
                    .map(|_| Slot {
                        entry: AtomicU64::new(0),
                        at: AtomicU64::new(0),
                    })
                    .collect(),
                mask: capacity as u64 - 1,
                keep,
                turn: Mutex::new(()),
            }),
        }
    }

    /// The number of slots.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.head.slots.len()
    }

    /// How many runs [`Ring::last`] always returns once the ring has that many.
    #[cfg(test)]
    pub(super) fn keep(&self) -> usize {
        self.head.keep
    }

    /// Appends one run that ended at the clock reading `at` (`entry`: [`nanos_entry`] or
    /// [`ticks_entry`]). One load and three plain stores; the caller guarantees that no other
    /// thread pushes to this ring meanwhile (see the module docs).
    #[inline(always)]
    pub(super) fn push(&self, at: u64, entry: u64) {
        let head = &*self.head;
        let index = head.next.load(Ordering::Relaxed);
        // `index & mask < slots.len()` always holds; `get` keeps the hot path panic-free anyway.
        if let Some(slot) = head.slots.get((index & head.mask) as usize) {
            // Orders the publication of `next == index` (the previous push's, or the previous
            // writer's) before the stores that overwrite run `index - capacity`: a reader whose
            // copy sees one of them then sees `next >= index` and drops that run.
            fence(Ordering::Release);
            slot.entry.store(entry, Ordering::Relaxed);
            slot.at.store(at, Ordering::Relaxed);
        }
        // Release: a reader that sees `index + 1` sees the run whole.
        head.next.store(index + 1, Ordering::Release);
    }

    /// Appends one run, taking turns with the other threads that write this ring.
    pub(super) fn push_taking_turns(&self, at: u64, entry: u64) {
        // Nothing panics while it is held, so a poisoned lock is only a formality.
        let _turn = self
            .head
            .turn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.push(at, entry);
    }

    /// How many runs were ever appended.
    #[inline]
    pub(super) fn appended(&self) -> u64 {
        self.head.next.load(Ordering::Acquire)
    }

    /// Bytes held by the ring's slots.
    pub(super) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val::<[Slot]>(&self.head.slots)
    }

    /// Appends the runs of indices `from..to` (all below `next` when it was last loaded with
    /// Acquire) to `out`, newest first, and returns the oldest index copied whole: `from`
    /// unless a writer lapped the read, which then stops (older runs are overwritten too).
    fn read_newest(&self, from: u64, to: u64, out: &mut Vec<Run>) -> u64 {
        let head = &*self.head;
        let capacity = head.slots.len() as u64;
        let mut low = to;
        while low > from {
            let chunk = low.saturating_sub(CHUNK).max(from);
            let start = out.len();
            for index in (chunk..low).rev() {
                if let Some(slot) = head.slots.get((index & head.mask) as usize) {
                    let entry = slot.entry.load(Ordering::Relaxed);
                    let at = slot.at.load(Ordering::Relaxed);
                    out.push(Run::unpack(entry, at));
                }
            }
            // Pairs with the writer's Release fence: if a copy above read a store of a later
            // lap, this load sees that lap's index under way.
            fence(Ordering::Acquire);
            let next = head.next.load(Ordering::Relaxed);
            // Index `j` is whole iff the writer had not begun `j + capacity`: `j + capacity > next`.
            let whole_from = (next + 1).saturating_sub(capacity);
            if whole_from > chunk {
                let whole = low.saturating_sub(whole_from);
                out.truncate(start + whole as usize);
                return low - whole;
            }
            low = chunk;
        }
        low
    }

    /// Appends the last `n` runs (at most [`Ring::keep`]), oldest first, to `out`. A read that
    /// a writer lapped starts over from the newest run, so a full ring gives a full window.
    pub(super) fn last(&self, n: usize, out: &mut Vec<Run>) {
        let n = n.min(self.head.keep) as u64;
        let start = out.len();
        for _ in 0..ATTEMPTS {
            out.truncate(start);
            let end = self.appended();
            let from = end.saturating_sub(n);
            if self.read_newest(from, end, out) == from {
                break;
            }
            // Lapped (the reader was descheduled mid-copy): what is left is the newest runs
            // the attempt got whole, kept should every attempt be lapped.
        }
        out[start..].reverse();
    }

    /// Appends every run from `*consumed` on to `out`, oldest first, and advances `*consumed`
    /// past them. Returns how many runs were lost because the ring lapped them.
    pub(super) fn read_since(&self, consumed: &mut u64, out: &mut Vec<Run>) -> u64 {
        let end = self.appended();
        // The oldest slot is the one the writer's next push rewrites: a reader cannot tell an
        // idle writer from a busy one, so it never counts on that slot.
        let readable = self.head.slots.len() as u64 - 1;
        let from = (*consumed).max(end.saturating_sub(readable)).min(end);
        let start = out.len();
        let oldest = self.read_newest(from, end, out);
        out[start..].reverse();
        let lost = oldest.saturating_sub(*consumed);
        *consumed = end.max(*consumed);
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::super::nanos;
    use super::*;

    fn push(ring: &Ring, at: u64, nanos: u64, outcome: Outcome) {
        ring.push(at, nanos_entry(nanos, outcome));
    }

    #[test]
    fn runs_round_trip_with_their_end_time() {
        let ring = Ring::new(4);
        push(&ring, 7, 10, Outcome::Failure);
        push(&ring, 9, 20, Outcome::Cancelled);
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
        let ring = Ring::new(2);
        push(&ring, 1, u64::MAX, Outcome::Panic);
        ring.push(2, ticks_entry(u64::MAX, Outcome::Cancelled));
        let mut out = Vec::new();
        ring.last(2, &mut out);
        assert_eq!(out[0].outcome, Outcome::Panic);
        assert_eq!(out[0].nanos, MAX_DURATION);
        assert_eq!(out[1].outcome, Outcome::Cancelled);
        assert_eq!(out[1].at, 2);
    }

    #[test]
    fn durations_in_ticks_are_converted_when_read() {
        let ring = Ring::new(2);
        let start = crate::clock::now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let end = crate::clock::now();
        ring.push(end, ticks_entry(end - start, Outcome::Success));
        let mut out = Vec::new();
        ring.last(1, &mut out);
        assert_eq!(out[0].nanos, crate::clock::ticks_to_nanos(end - start));
        assert!(
            (4_000_000..1_000_000_000).contains(&out[0].nanos),
            "{out:?}"
        );
    }

    #[test]
    fn capacity_is_half_as_many_again_as_it_keeps() {
        let ring = Ring::new(5);
        assert_eq!((ring.keep(), ring.capacity()), (5, 8));
        assert_eq!(Ring::new(512).capacity(), 1024);
        assert_eq!(Ring::new(100).capacity(), 256);
        assert_eq!(Ring::new(0).keep(), 1);
    }

    #[test]
    fn last_is_capped_by_what_the_ring_keeps() {
        let ring = Ring::new(5);
        for i in 0..20u64 {
            push(&ring, i, i, Outcome::Success);
        }
        let mut out = Vec::new();
        ring.last(3, &mut out);
        assert_eq!(nanos(&out), vec![17, 18, 19]);
        out.clear();
        ring.last(100, &mut out);
        assert_eq!(nanos(&out), (15..20).collect::<Vec<_>>());
    }

    #[test]
    fn read_since_catches_up_and_counts_lapped_runs() {
        let ring = Ring::new(512);
        let capacity = ring.capacity() as u64;
        let mut consumed = 0;
        let mut out = Vec::new();
        for i in 0..3 {
            push(&ring, i, i, Outcome::Success);
        }
        assert_eq!(ring.read_since(&mut consumed, &mut out), 0);
        assert_eq!(nanos(&out), vec![0, 1, 2]);
        assert_eq!(consumed, 3);
        // Nothing new: nothing read.
        out.clear();
        assert_eq!(ring.read_since(&mut consumed, &mut out), 0);
        assert!(out.is_empty());
        // Lap the ring: the oldest unread runs are lost and counted (and the slot the next push
        // rewrites is not read).
        for i in 3..(3 + capacity + 10) {
            push(&ring, i, i, Outcome::Failure);
        }
        assert_eq!(ring.read_since(&mut consumed, &mut out), 11);
        assert_eq!(out.len() as u64, capacity - 1);
        assert_eq!(out[0].nanos, 14);
        assert_eq!(consumed, 3 + capacity + 10);
    }

    /// A writer stopped in the middle of a push that laps the ring: the slot it is rewriting
    /// holds half of a later run, and no reader may return it.
    #[test]
    fn a_slot_being_rewritten_is_never_read() {
        let ring = Ring::new(2);
        let capacity = ring.capacity() as u64;
        for i in 0..capacity {
            push(&ring, i, i, Outcome::Success);
        }
        // The push of index `capacity` has stored its duration into slot 0, not yet its end
        // time nor `next`.
        ring.head.slots[0]
            .entry
            .store(nanos_entry(99, Outcome::Failure), Ordering::Relaxed);
        let mut out = Vec::new();
        ring.last(capacity as usize, &mut out);
        assert_eq!(nanos(&out), vec![2, 3], "the two runs it keeps, whole");
        // The engine reads all but the slot being rewritten.
        let mut consumed = 0;
        out.clear();
        assert_eq!(ring.read_since(&mut consumed, &mut out), 1);
        assert_eq!(nanos(&out), (1..capacity).collect::<Vec<_>>());
        assert!(out.iter().all(|r| r.at == r.nanos));
    }

    #[test]
    fn a_lapped_read_keeps_the_newest_whole_runs() {
        let ring = Ring::new(64);
        let capacity = ring.capacity() as u64;
        for i in 0..capacity {
            push(&ring, i, i, Outcome::Success);
        }
        // As if the writer had gone on for 40 runs while this reader copied.
        ring.head.next.store(capacity + 40, Ordering::Relaxed);
        let mut out = Vec::new();
        let oldest = ring.read_newest(0, capacity, &mut out);
        assert_eq!(oldest, 41);
        assert_eq!(out.len() as u64, capacity - 41);
        assert_eq!(out[0].nanos, capacity - 1);
    }
}

/// Model checks of the ring's protocol with loom: every interleaving of a writer that laps a
/// tiny ring (two slots) while a reader copies it, and of two writers taking turns under a
/// lock (the shared stripe). Run with
/// `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p analytics-runtime --release --lib
/// run_log::ring::loom_tests` (as `.ci/run` does).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// Run `i` of writer `w` lasts `10 * (w + 1) + i` ns and ends at clock reading as much, so
    /// a run assembled from two runs has `at != nanos`.
    fn run_of(w: u64, i: u64) -> u64 {
        10 * (w + 1) + i
    }

    fn whole(runs: &[Run]) -> bool {
        runs.iter()
            .all(|r| r.at == r.nanos && r.outcome == Outcome::Success)
    }

    /// Reads what `log` holds now through both readers and checks what each promises.
    fn read(log: &Ring, consumed: &mut u64, seen: &mut Vec<u64>) -> u64 {
        let mut out = Vec::new();
        log.last(log.keep(), &mut out);
        assert!(whole(&out), "torn: {out:?}");
        assert!(out.len() <= log.keep());
        out.clear();
        let lost = log.read_since(consumed, &mut out);
        assert!(whole(&out), "torn: {out:?}");
        seen.extend(out.iter().map(|r| r.nanos));
        lost
    }

    /// A reader thread: reads twice while the writers write, returns what it saw and lost.
    fn spawn_reader(log: &Arc<Ring>) -> thread::JoinHandle<(u64, Vec<u64>, u64)> {
        let log = Arc::clone(log);
        thread::spawn(move || {
            let (mut consumed, mut seen) = (0, Vec::new());
            let mut lost = read(&log, &mut consumed, &mut seen);
            lost += read(&log, &mut consumed, &mut seen);
            (consumed, seen, lost)
        })
    }

    // The writer runs on the model's own thread and the reader is spawned: loom switches
    // threads where pending operations conflict, and a writer spawned second would sit on its
    // first operation (a load of its own counter, which conflicts with no read) while the
    // reader ran to the end (checked: with the reader's validation removed, this model fails;
    // with the threads the other way round it did not).
    #[test]
    fn a_writer_lapping_the_ring_never_shows_a_reader_a_torn_run() {
        loom::model(|| {
            // Keeps 1 run in 2 slots; 3 runs lap it.
            let log = Arc::new(Ring::new(1));
            let reader = spawn_reader(&log);
            for i in 0..3 {
                log.push(run_of(0, i), nanos_entry(run_of(0, i), Outcome::Success));
            }
            let (mut consumed, mut seen, mut lost) = reader.join().unwrap();
            lost += read(&log, &mut consumed, &mut seen);
            assert_eq!(seen.len() as u64 + lost, 3, "seen {seen:?}, lost {lost}");
            assert!(
                seen.windows(2).all(|w| w[0] < w[1]),
                "out of order: {seen:?}"
            );
            // Once the writer is done, a reader gets the full window.
            let mut out = Vec::new();
            log.last(1, &mut out);
            assert_eq!(nanos_of(&out), vec![run_of(0, 2)]);
        });
    }

    #[test]
    fn writers_taking_turns_lap_the_ring_and_no_reader_sees_a_torn_run() {
        loom::model(|| {
            let log = Arc::new(Ring::new(1));
            let reader = spawn_reader(&log);
            let push = |log: &Ring, w: u64, i: u64| {
                log.push_taking_turns(run_of(w, i), nanos_entry(run_of(w, i), Outcome::Success));
            };
            let other = {
                let log = Arc::clone(&log);
                thread::spawn(move || (0..2).for_each(|i| push(&log, 1, i)))
            };
            (0..2).for_each(|i| push(&log, 0, i));
            other.join().unwrap();
            let (mut consumed, mut seen, mut lost) = reader.join().unwrap();
            lost += read(&log, &mut consumed, &mut seen);
            assert_eq!(seen.len() as u64 + lost, 4, "seen {seen:?}, lost {lost}");
            let mut unique = seen.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "a run read twice: {seen:?}");
            // Each writer's runs are read in its own order.
            for first in [run_of(0, 0), run_of(1, 0)] {
                let a = seen.iter().position(|n| *n == first);
                let b = seen.iter().position(|n| *n == first + 1);
                if let (Some(a), Some(b)) = (a, b) {
                    assert!(a < b, "out of order: {seen:?}");
                }
            }
        });
    }

    fn nanos_of(runs: &[Run]) -> Vec<u64> {
        runs.iter().map(|r| r.nanos).collect()
    }
}
