//! The per-phase log of recent runs: a few lock-free rings ("stripes"), each written by one
//! thread at a time, read back merged in the order the runs ended.
//!
//! # Stripes
//! The first [`OWNED_STRIPES`] threads that record (at once) each own a stripe, the same one in
//! every phase, until they exit: a thread-local byte says which. An owner is its stripe's only
//! writer, so the hot path appends with one load and three plain stores, no atomic
//! read-modify-write and no lock (see [`ring`]). Further threads share one more stripe and
//! take turns on it under a lock; they are correct and a little slower. Two threads running the
//! same phase thus write to different cache lines, and a phase hit by one thread uses, and
//! allocates, one stripe.
//!
//! # Readers
//! Two readers copy runs out: the report and snapshots (the last runs, for statistics and for
//! the history saved), and the engine, which catches up on every run since it last looked
//! ([`RunLog::read_since`]). Each run carries the clock reading at which it ended, so runs read
//! from several stripes are put back in order before anyone sees them. A reader never sees a
//! run assembled from two runs, and the last runs of a full stripe are always all there,
//! whatever its writer does (see [`ring`]).
//!
//! Each stripe keeps at least `window` and at least [`ENGINE_BACKLOG`] runs for its readers
//! (and half as many again as slack), so the engine, which looks every few milliseconds,
//! misses runs only when one thread runs a phase faster than that many per engine tick.

mod ring;

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use self::ring::Ring;
pub(crate) use self::ring::Run;
use self::ring::{nanos_entry, ticks_entry};
use crate::outcome::Outcome;

/// Runs kept per stripe for the engine to catch up on (and for snapshots), whatever the
/// statistics window.
pub(crate) const ENGINE_BACKLOG: usize = 512;

/// Stripes owned by one thread each. Four keep up to four threads on one phase apart and a
/// phase to at most five rings' memory.
pub(crate) const OWNED_STRIPES: usize = 4;

/// The stripe that threads beyond the owners share, taking turns under its lock.
const SHARED_STRIPE: usize = OWNED_STRIPES;

/// Stripes per phase: the owned ones and the shared one.
pub(crate) const STRIPES: usize = OWNED_STRIPES + 1;

/// The log of one phase's recent runs.
#[derive(Debug)]
pub(crate) struct RunLog {
    /// Allocated on the first run a thread of that stripe records.
    stripes: [OnceLock<Box<Ring>>; STRIPES],
    /// Runs each stripe keeps for its readers.
    keep: usize,
    /// Runs the statistics window holds.
    window: usize,
}

/// How far a reader has read each stripe (see [`RunLog::read_since`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cursor([u64; STRIPES]);

/// A thread whose stripe is not assigned yet.
const UNASSIGNED: u8 = u8::MAX;

/// The calling thread's stripe; an owned one is given back when the thread exits.
struct StripeOfThread(Cell<u8>);

impl Drop for StripeOfThread {
    fn drop(&mut self) {
        let stripe = usize::from(self.0.get());
        if stripe < OWNED_STRIPES {
            // Release: the next owner's Acquire claim sees every run this thread pushed, so it
            // goes on from the right index.
            OWNERS.fetch_and(!(1 << stripe), Ordering::Release);
        }
    }
}

thread_local! {
    /// This thread's stripe, the same for every phase.
    static STRIPE: StripeOfThread = const { StripeOfThread(Cell::new(UNASSIGNED)) };
}

/// Which owned stripes a live thread holds, one bit each.
static OWNERS: AtomicUsize = AtomicUsize::new(0);

/// The calling thread's stripe (always `< STRIPES`).
#[inline(always)]
fn stripe() -> usize {
    // `try_with`: a phase run from a thread-local's destructor, after this one has given its
    // stripe back, takes turns on the shared stripe rather than panicking.
    STRIPE
        .try_with(|stripe| match stripe.0.get() {
            UNASSIGNED => claim_stripe(&stripe.0),
            assigned => usize::from(assigned),
        })
        .unwrap_or(SHARED_STRIPE)
        .min(SHARED_STRIPE)
}

/// Claims a free owned stripe for this thread, or the shared one when every owned stripe is
/// held by a live thread.
#[cold]
#[inline(never)]
fn claim_stripe(stripe: &Cell<u8>) -> usize {
    let mut owners = OWNERS.load(Ordering::Relaxed);
    let claimed = loop {
        let free = !owners & ((1 << OWNED_STRIPES) - 1);
        if free == 0 {
            break SHARED_STRIPE;
        }
        let bit = free.trailing_zeros() as usize;
        // Acquire: pairs with the Release of the stripe's previous owner (see `Drop` above).
        match OWNERS.compare_exchange_weak(
            owners,
            owners | 1 << bit,
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => break bit,
            Err(now) => owners = now,
        }
    };
    // STRIPES is far below 255, so this never becomes UNASSIGNED.
    stripe.set(claimed as u8);
    claimed
}

impl RunLog {
    /// A log whose statistics window is the last `window` runs (`window` is raised to 1).
    pub(crate) fn new(window: usize) -> RunLog {
        let window = window.max(1);
        RunLog {
            stripes: Default::default(),
            keep: window.max(ENGINE_BACKLOG),
            window,
        }
    }

    fn rings(&self) -> impl Iterator<Item = (usize, &Ring)> {
        self.stripes
            .iter()
            .enumerate()
            .filter_map(|(i, stripe)| Some((i, &**stripe.get()?)))
    }

    /// Appends one run of `nanos` nanoseconds that ended at the raw clock reading `at`.
    pub(crate) fn push(&self, at: u64, nanos: u64, outcome: Outcome) {
        self.append(at, nanos_entry(nanos, outcome));
    }

    /// Appends one run timed by the raw clock readings `start` and `end` (the hot path: the
    /// conversion to nanoseconds is left to the readers).
    #[inline(always)]
    pub(crate) fn push_ticks(&self, start: u64, end: u64, outcome: Outcome) {
        self.append(end, ticks_entry(end.saturating_sub(start), outcome));
    }

    /// Wait-free for a stripe's owner once its ring exists: one load and three stores.
    #[inline(always)]
    fn append(&self, at: u64, entry: u64) {
        let stripe = stripe();
        match self.stripes[stripe].get() {
            Some(ring) if stripe != SHARED_STRIPE => ring.push(at, entry),
            _ => self.append_slow(stripe, at, entry),
        }
    }

    /// Appends to stripe `stripe` as its writer (tests interleave stripes from one thread).
    #[cfg(test)]
    fn push_to(&self, stripe: usize, at: u64, nanos: u64, outcome: Outcome) {
        self.append_slow(stripe % STRIPES, at, nanos_entry(nanos, outcome));
    }

    /// The first run of a stripe (allocates its ring), or a run of the shared stripe.
    #[cold]
    #[inline(never)]
    fn append_slow(&self, stripe: usize, at: u64, entry: u64) {
        let ring = self.stripes[stripe].get_or_init(|| Box::new(Ring::new(self.keep)));
        if stripe == SHARED_STRIPE {
            ring.push_taking_turns(at, entry);
        } else {
            ring.push(at, entry);
        }
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

    /// Copies the last `window` runs, oldest first, into `out` (cleared first): a full window
    /// once the phase has run that often, whatever the writers do.
    pub(crate) fn recent(&self, out: &mut Vec<Run>) {
        self.last(self.window, out);
    }

    /// Copies the last `n` runs (at most what each stripe keeps: `window`, at least
    /// [`ENGINE_BACKLOG`]), oldest first, into `out` (cleared first): the history a snapshot
    /// saves.
    pub(crate) fn last(&self, n: usize, out: &mut Vec<Run>) {
        out.clear();
        for (_, ring) in self.rings() {
            ring.last(n, out);
        }
        // Merges the stripes (and orders the shared stripe, whose writers may push in another
        // order than their runs ended): stable, and linear on runs already in order.
        out.sort_by_key(|run| run.at);
        let excess = out.len().saturating_sub(n);
        out.drain(..excess);
    }

    /// Copies every run appended since `cursor` into `out` (cleared first), in the order they
    /// ended, and advances `cursor` past them. Returns how many runs were lost because a
    /// stripe lapped them.
    pub(crate) fn read_since(&self, cursor: &mut Cursor, out: &mut Vec<Run>) -> u64 {
        out.clear();
        let mut lost = 0;
        for (i, ring) in self.rings() {
            lost += ring.read_since(&mut cursor.0[i], out);
        }
        // Merges the stripes, as in `last`.
        out.sort_by_key(|run| run.at);
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
        assert!(one >= ENGINE_BACKLOG * 16, "{one}");
        log.push(2, 2, Outcome::Success);
        assert_eq!(log.heap_bytes(), one);
    }

    /// Runs pushed from `threads` threads, run `i` of thread `t` ending at `i * threads + t`
    /// and lasting as long: a global order the reader must give back. Thread `t` writes stripe
    /// `t` (which stripe a thread owns depends on the other tests' threads).
    fn interleaved(log: &RunLog, threads: u64, per_thread: u64) {
        std::thread::scope(|s| {
            for t in 0..threads {
                s.spawn(move || {
                    for i in 0..per_thread {
                        let at = i * threads + t;
                        log.push_to(t as usize, at, at, Outcome::Success);
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
        // More threads than stripes: some take turns on the shared stripe.
        let threads = 2 * STRIPES as u64 + 1;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for i in 0..1000 {
                        log.push(i, i, Outcome::Success);
                    }
                });
            }
        });
        assert_eq!(log.appended(), threads * 1000);
        // Never more stripes than STRIPES, whatever the number of threads.
        let ring = Ring::new(ENGINE_BACKLOG);
        assert!(log.heap_bytes() <= STRIPES * (std::mem::size_of::<Ring>() + ring.heap_bytes()));
    }
}

/// Stress of the log at its real size (issue 13, points 1 and 2): one thread records as fast
/// as the hot path can (two clock reads per run) while this one reads through every reader
/// the runtime has: the engine's [`RunLog::read_since`], the report window
/// ([`RunLog::recent`]) and a snapshot's [`RunLog::last`].
///
/// Run `i` lasts `i` ns and ends at clock reading `i`, with an outcome that depends on `i`,
/// so a run assembled from two runs, or a run put in another's place, shows.
#[cfg(test)]
mod stress {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

    /// What one stress run saw.
    #[derive(Debug, Default)]
    struct Figures {
        /// Read calls made.
        reads: u64,
        /// Runs those calls returned.
        runs_read: u64,
        /// Runs that were not what the log held: assembled from two runs, or out of place.
        torn: u64,
        /// Reads of a full log that held fewer than the runs asked for.
        short: u64,
    }

    fn outcome_of(i: u64) -> Outcome {
        [
            Outcome::Success,
            Outcome::Failure,
            Outcome::Cancelled,
            Outcome::Panic,
        ][(i % 4) as usize]
    }

    /// Whether `run` is a run the writer recorded, whole.
    fn whole(run: &Run) -> bool {
        run.at == run.nanos && run.outcome == outcome_of(run.nanos)
    }

    /// Runs in `out` that are torn or not one after the other.
    fn torn_or_misplaced(out: &[Run]) -> u64 {
        let torn = out.iter().filter(|r| !whole(r)).count();
        let misplaced = out.windows(2).filter(|w| w[1].at != w[0].at + 1).count();
        (torn + misplaced) as u64
    }

    /// `reads` read calls against a log of statistics window `window` while one thread records.
    fn stress(window: usize, reads: u64) -> Figures {
        let log = RunLog::new(window);
        // What a stripe promises to hold: the window, and at least the engine's backlog.
        let keep = window.max(ENGINE_BACKLOG);
        let stop = AtomicBool::new(false);
        let mut figures = Figures::default();
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut i = 0u64;
                while !stop.load(Relaxed) {
                    // The hot path's two clock reads pace the writer as in real use.
                    let start = crate::clock::now();
                    std::hint::black_box(crate::clock::now().wrapping_sub(start));
                    log.push(i, i, outcome_of(i));
                    i += 1;
                }
            });
            while log.appended() < 2 * keep as u64 {
                std::thread::yield_now();
            }
            let mut cursor = Cursor::default();
            let mut out = Vec::new();
            let mut engine_last = None;
            for read in 0..reads {
                match read % 3 {
                    0 => {
                        log.read_since(&mut cursor, &mut out);
                        figures.torn += torn_or_misplaced_since(&out, &mut engine_last);
                    }
                    1 => {
                        log.recent(&mut out);
                        figures.torn += torn_or_misplaced(&out);
                        figures.short += u64::from(out.len() < window);
                    }
                    _ => {
                        log.last(keep, &mut out);
                        figures.torn += torn_or_misplaced(&out);
                        figures.short += u64::from(out.len() < keep);
                    }
                }
                figures.reads += 1;
                figures.runs_read += out.len() as u64;
            }
            stop.store(true, Relaxed);
        });
        figures
    }

    /// The engine may skip runs a lap overwrote, but every run it reads is whole and later
    /// than the one before.
    fn torn_or_misplaced_since(out: &[Run], last: &mut Option<u64>) -> u64 {
        let mut bad = 0;
        for run in out {
            if !whole(run) || last.is_some_and(|last| run.at <= last) {
                bad += 1;
            }
            *last = Some(run.at);
        }
        bad
    }

    #[test]
    fn readers_of_a_hot_log_get_whole_runs_and_full_windows() {
        let figures = stress(100, 30_000);
        assert_eq!((figures.torn, figures.short), (0, 0), "{figures:?}");
        // A window as large as the engine's backlog leaves a reader the least room.
        let figures = stress(ENGINE_BACKLOG, 30_000);
        assert_eq!((figures.torn, figures.short), (0, 0), "{figures:?}");
    }

    /// The figure of issue 13: torn runs per million reads over at least 10 M read calls at the
    /// real ring size. Long: `cargo test -p analytics-runtime --release --lib
    /// run_log::stress -- --ignored --nocapture`.
    #[test]
    #[ignore = "long stress (10 M reads): run on demand, in release mode"]
    fn torn_runs_per_million_reads_over_ten_million_reads() {
        let figures = stress(100, 10_000_000);
        let per_million = figures.torn as f64 * 1e6 / figures.reads as f64;
        println!(
            "{} read calls ({} runs read): {} torn or misplaced runs ({per_million} per million \
             reads), {} short windows",
            figures.reads, figures.runs_read, figures.torn, figures.short
        );
        assert_eq!((figures.torn, figures.short), (0, 0), "{figures:?}");
    }
}
