//! The per-phase log of recent runs: a few lock-free rings ("stripes"), each written by the
//! threads assigned to it, read back merged in the order the runs ended.
//!
//! The hot path picks its thread's stripe (a thread-local byte), appends with one `fetch_add`
//! and three stores and never allocates once the stripe exists. Threads are spread over the
//! stripes in the order they first record, so two threads running the same phase write to
//! different cache lines instead of taking turns on one counter (a phase hit by one thread
//! uses, and allocates, one stripe).
//!
//! Two readers copy runs out: the report (the last `window` runs, for statistics) and the
//! engine, which catches up on every run since it last looked ([`RunLog::read_since`]). Each
//! run carries the clock reading at which it ended, so runs read from several stripes are put
//! back in order before anyone sees them.
//!
//! Each stripe holds a power of two of at least `window` and at least [`ENGINE_BACKLOG`] runs,
//! so the engine, which looks every few milliseconds, misses runs only when one thread runs a
//! phase faster than that many per engine tick.

mod ring;

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use self::ring::Ring;
pub(crate) use self::ring::Run;
use crate::outcome::Outcome;

/// Runs kept per stripe for the engine to catch up on, whatever the statistics window.
pub(crate) const ENGINE_BACKLOG: usize = 512;

/// Stripes per phase (a power of two). Four keep two to four threads on one phase apart at
/// most four rings' memory per phase; more threads share stripes, which stays correct.
pub(crate) const STRIPES: usize = 4;

/// The log of one phase's recent runs.
#[derive(Debug)]
pub(crate) struct RunLog {
    /// Allocated on the first run a thread of that stripe records.
    stripes: [OnceLock<Box<Ring>>; STRIPES],
    /// Slots per stripe.
    capacity: usize,
    /// Runs the statistics window holds.
    window: usize,
}

/// How far a reader has read each stripe (see [`RunLog::read_since`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cursor([u64; STRIPES]);

/// A thread whose stripe is not assigned yet.
const UNASSIGNED: u8 = u8::MAX;

thread_local! {
    /// This thread's stripe, the same for every phase.
    static STRIPE: Cell<u8> = const { Cell::new(UNASSIGNED) };
}

/// The next stripe to give a thread.
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

/// The calling thread's stripe (always `< STRIPES`).
#[inline(always)]
fn stripe() -> usize {
    // `try_with`: a phase run from a thread-local's destructor, after this one is gone, uses
    // stripe 0 rather than panicking.
    STRIPE
        .try_with(|stripe| match stripe.get() {
            UNASSIGNED => assign_stripe(stripe),
            assigned => usize::from(assigned),
        })
        .unwrap_or(0)
        & (STRIPES - 1)
}

#[cold]
#[inline(never)]
fn assign_stripe(stripe: &Cell<u8>) -> usize {
    let assigned = NEXT_STRIPE.fetch_add(1, Relaxed) % STRIPES;
    // STRIPES is far below 255, so this never becomes UNASSIGNED.
    stripe.set(assigned as u8);
    assigned
}

impl RunLog {
    /// A log whose statistics window is the last `window` runs (`window` is raised to 1).
    pub(crate) fn new(window: usize) -> RunLog {
        let window = window.max(1);
        RunLog {
            stripes: Default::default(),
            capacity: window.max(ENGINE_BACKLOG).next_power_of_two(),
            window,
        }
    }

    fn rings(&self) -> impl Iterator<Item = (usize, &Ring)> {
        self.stripes
            .iter()
            .enumerate()
            .filter_map(|(i, stripe)| Some((i, &**stripe.get()?)))
    }

    /// Appends one run that ended at the raw clock reading `at`. Wait-free once the calling
    /// thread's stripe exists: one `fetch_add` and three stores.
    #[inline]
    pub(crate) fn push(&self, at: u64, nanos: u64, outcome: Outcome) {
        let stripe = stripe();
        match self.stripes[stripe].get() {
            Some(ring) => ring.push(at, nanos, outcome),
            None => self.push_to_new_stripe(stripe, at, nanos, outcome),
        }
    }

    /// Appends to stripe `stripe`, whichever thread calls (tests interleave stripes at will).
    #[cfg(test)]
    fn push_to(&self, stripe: usize, at: u64, nanos: u64, outcome: Outcome) {
        self.push_to_new_stripe(stripe & (STRIPES - 1), at, nanos, outcome);
    }

    #[cold]
    #[inline(never)]
    fn push_to_new_stripe(&self, stripe: usize, at: u64, nanos: u64, outcome: Outcome) {
        self.stripes[stripe]
            .get_or_init(|| Box::new(Ring::with_capacity(self.capacity)))
            .push(at, nanos, outcome);
    }

    /// How many runs were ever appended (the phase's executions).
    pub(crate) fn appended(&self) -> u64 {
        self.rings().map(|(_, ring)| ring.appended()).sum()
    }

    /// Bytes held by the stripes allocated so far.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rings()
            .map(|(_, ring)| std::mem::size_of::<Ring>() + ring.heap_bytes())
            .sum()
    }

    /// Copies the last `window` runs, oldest first, into `out` (cleared first). Runs still
    /// being written or already overwritten are left out.
    pub(crate) fn recent(&self, out: &mut Vec<Run>) {
        self.last(self.window, out);
    }

    /// Copies the last `n` runs (at most what the stripes hold), oldest first, into `out`
    /// (cleared first): the history a snapshot saves.
    pub(crate) fn last(&self, n: usize, out: &mut Vec<Run>) {
        out.clear();
        let mut stripes = 0;
        for (_, ring) in self.rings() {
            ring.last(n, out);
            stripes += 1;
        }
        if stripes > 1 {
            out.sort_by_key(|run| run.at);
            let excess = out.len().saturating_sub(n);
            out.drain(..excess);
        }
    }

    /// Copies every run appended since `cursor` into `out` (cleared first), in the order they
    /// ended, and advances `cursor` past them. Stops, in each stripe, before a run that is
    /// still being written (it is read next time). Returns how many runs were lost because a
    /// stripe lapped them.
    pub(crate) fn read_since(&self, cursor: &mut Cursor, out: &mut Vec<Run>) -> u64 {
        out.clear();
        let mut lost = 0;
        let mut stripes = 0;
        for (i, ring) in self.rings() {
            let before = out.len();
            lost += ring.read_since(&mut cursor.0[i], out);
            stripes += usize::from(out.len() > before);
        }
        // Each stripe's runs are in order already; a stable sort merges them.
        if stripes > 1 {
            out.sort_by_key(|run| run.at);
        }
        lost
    }
}

/// The durations of `runs`, for the tests' comparisons.
#[cfg(test)]
fn nanos(runs: &[Run]) -> Vec<u64> {
    runs.iter().map(|r| r.nanos).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exactly_the_last_window_runs_in_order() {
        let log = RunLog::new(5);
        for i in 0..12u64 {
            log.push(i, i, Outcome::Success);
        }
        let mut out = Vec::new();
        log.recent(&mut out);
        assert_eq!(nanos(&out), vec![7, 8, 9, 10, 11]);
        assert_eq!(log.appended(), 12);
    }

    #[test]
    fn zero_window_is_raised_to_one() {
        let log = RunLog::new(0);
        log.push(1, 1, Outcome::Success);
        log.push(2, 2, Outcome::Success);
        let mut out = Vec::new();
        log.recent(&mut out);
        assert_eq!(nanos(&out), vec![2]);
    }

    #[test]
    fn one_thread_allocates_one_stripe() {
        let log = RunLog::new(10);
        assert_eq!(log.heap_bytes(), 0);
        log.push(1, 1, Outcome::Success);
        let one = log.heap_bytes();
        assert!(one >= ENGINE_BACKLOG * 24, "{one}");
        log.push(2, 2, Outcome::Success);
        assert_eq!(log.heap_bytes(), one);
    }

    /// Runs pushed from `threads` threads, run `i` of thread `t` ending at `i * threads + t`
    /// and lasting as long: a global order the reader must give back.
    fn interleaved(log: &RunLog, threads: u64, per_thread: u64) {
        std::thread::scope(|s| {
            for t in 0..threads {
                s.spawn(move || {
                    for i in 0..per_thread {
                        let at = i * threads + t;
                        log.push(at, at, Outcome::Success);
                    }
                });
            }
        });
    }

    #[test]
    fn stripes_are_merged_in_the_order_runs_ended() {
        let log = RunLog::new(100);
        interleaved(&log, 3, 40);
        assert_eq!(log.appended(), 120);
        let mut out = Vec::new();
        log.recent(&mut out);
        assert_eq!(nanos(&out), (20..120).collect::<Vec<_>>());
        log.last(1000, &mut out);
        assert_eq!(nanos(&out), (0..120).collect::<Vec<_>>());

        let mut cursor = Cursor::default();
        assert_eq!(log.read_since(&mut cursor, &mut out), 0);
        assert_eq!(nanos(&out), (0..120).collect::<Vec<_>>());
        assert_eq!(log.read_since(&mut cursor, &mut out), 0);
        assert!(out.is_empty());
        interleaved(&log, 3, 10);
        assert_eq!(log.read_since(&mut cursor, &mut out), 0);
        assert_eq!(out.len(), 30);
        assert!(out.windows(2).all(|w| w[0].at <= w[1].at));
    }

    proptest::proptest! {
        /// Whatever the interleaving of stripes and the points where the engine reads,
        /// readers see every run once, in the order runs ended.
        #[test]
        fn merged_reads_are_complete_and_in_end_order(
            stripes in proptest::collection::vec(0..STRIPES, 1..400),
            reads in proptest::collection::vec(0usize..400, 0..6),
            window in 1usize..64,
        ) {
            let log = RunLog::new(window);
            let mut cursor = Cursor::default();
            let (mut seen, mut out) = (Vec::new(), Vec::new());
            for (at, &stripe) in stripes.iter().enumerate() {
                // Run `at` ends at clock reading `at`: the order to give back.
                log.push_to(stripe, at as u64, at as u64, Outcome::Success);
                if reads.contains(&at) {
                    proptest::prop_assert_eq!(log.read_since(&mut cursor, &mut out), 0);
                    seen.extend(out.iter().map(|r| r.at));
                }
            }
            log.read_since(&mut cursor, &mut out);
            seen.extend(out.iter().map(|r| r.at));
            let n = stripes.len() as u64;
            // Each read returns every run pushed since the last one, merged in end order, so
            // all reads together are every run, once, in order.
            let expected: Vec<u64> = (0..n).collect();
            proptest::prop_assert_eq!(&seen, &expected);
            let mut recent = Vec::new();
            log.recent(&mut recent);
            let tail: Vec<u64> = (n.saturating_sub(window as u64)..n).collect();
            proptest::prop_assert_eq!(recent.iter().map(|r| r.at).collect::<Vec<_>>(), tail);
            proptest::prop_assert_eq!(log.appended(), n);
        }
    }

    #[test]
    fn concurrent_threads_are_counted_exactly() {
        let log = RunLog::new(10);
        let threads = 2 * STRIPES as u64 + 1;
        interleaved(&log, threads, 1000);
        assert_eq!(log.appended(), threads * 1000);
        // Never more stripes than STRIPES, whatever the number of threads.
        assert!(log.heap_bytes() <= STRIPES * (std::mem::size_of::<Ring>() + 512 * 24));
    }
}
