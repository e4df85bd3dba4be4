//! Per-phase state: outcome counters, failure streaks and the log of recent runs.
//!
//! Everything the hot path touches is an atomic, so recording a run takes no lock, cannot be
//! poisoned and never allocates; the report reads a consistent-enough copy at any time.

use std::sync::atomic::{
    AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release, fence,
};

use crate::outcome::Outcome;
use crate::report::{PhaseReport, Prediction, SiteReport};
use crate::run_log::{Run, RunLog};
use crate::stats::DurationStats;

/// Where a phase was first seen: the attribute's call site, or the caller of the manual API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Site {
    pub(crate) module_path: &'static str,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
}

/// The live state of one phase (one name).
#[derive(Debug)]
pub(crate) struct PhaseCell {
    /// Position in the runtime's registry (and in the engine's per-phase state).
    id: usize,
    name: Box<str>,
    site: Option<Site>,
    /// Includes panics, so that `successes + failures + cancelled == executions`. Successes are
    /// not counted on their own: every run is appended to the log, whose length is the number
    /// of executions, so a success costs one atomic increment less.
    failures: AtomicU64,
    panics: AtomicU64,
    cancelled: AtomicU64,
    failure_streak: AtomicU64,
    longest_failure_streak: AtomicU64,
    log: RunLog,
    /// The engine's latest prediction for the next run, for [`PhaseCell::prediction`].
    published: Published,
}

/// A prediction published by the engine (the only writer) for readers on any thread: a
/// sequence lock over plain atomics, so a reader never blocks the engine, never allocates and
/// never sees half of one prediction and half of another.
#[derive(Debug, Default)]
struct Published {
    /// Odd while the engine writes; bumped twice per write.
    seq: AtomicU64,
    /// `failure_probability`, `expected_ms`, `p90_ms`, `confidence` (as bits), `based_on`, and
    /// 1 if there is a prediction at all.
    values: [AtomicU64; 6],
}

impl Published {
    /// Publishes `prediction` (one writer at a time: the engine, under its lock).
    fn store(&self, prediction: Option<Prediction>) {
        let p = prediction.unwrap_or_default();
        let values = [
            p.failure_probability.to_bits(),
            p.expected_ms.to_bits(),
            p.p90_ms.to_bits(),
            p.confidence.to_bits(),
            p.based_on,
            u64::from(prediction.is_some()),
        ];
        let seq = self.seq.load(Relaxed);
        self.seq.store(seq.wrapping_add(1), Relaxed);
        // Orders the odd sequence number before the values (the seqlock's writer fence).
        fence(Release);
        for (slot, value) in self.values.iter().zip(values) {
            slot.store(value, Relaxed);
        }
        self.seq.store(seq.wrapping_add(2), Release);
    }

    /// The latest published prediction.
    fn load(&self) -> Option<Prediction> {
        loop {
            let before = self.seq.load(Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let v = self.values.each_ref().map(|slot| slot.load(Relaxed));
            // Orders the value reads before the second sequence read.
            fence(Acquire);
            if self.seq.load(Relaxed) == before {
                return (v[5] == 1).then(|| Prediction {
                    failure_probability: f64::from_bits(v[0]),
                    expected_ms: f64::from_bits(v[1]),
                    p90_ms: f64::from_bits(v[2]),
                    confidence: f64::from_bits(v[3]),
                    based_on: v[4],
                });
            }
        }
    }
}

impl PhaseCell {
    /// Phase number `id` with no runs, whose duration window holds `window` runs.
    pub(crate) fn new(id: usize, name: &str, site: Option<Site>, window: usize) -> PhaseCell {
        PhaseCell {
            id,
            name: name.into(),
            site,
            failures: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            failure_streak: AtomicU64::new(0),
            longest_failure_streak: AtomicU64::new(0),
            log: RunLog::new(window),
            published: Published::default(),
        }
    }

    /// The phase's position in its runtime's registry.
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// The phase's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The prediction the engine last published for the next run: O(1), lock-free, no
    /// allocation.
    pub(crate) fn prediction(&self) -> Option<Prediction> {
        self.published.load()
    }

    /// Publishes the engine's prediction for the next run (the engine is the only writer).
    pub(crate) fn publish(&self, prediction: Option<Prediction>) {
        self.published.store(prediction);
    }

    /// The log of recent runs (the engine catches up on it).
    pub(crate) fn log(&self) -> &RunLog {
        &self.log
    }

    /// A report of this phase (statistics only: the engine adds the prediction).
    pub(crate) fn report(&self) -> PhaseReport {
        self.report_with(&mut Vec::new(), &mut Vec::new())
    }

    /// Records one run that ended now.
    pub(crate) fn record(&self, nanos: u64, outcome: Outcome) {
        self.record_at(crate::clock::now(), nanos, outcome);
    }

    /// Records one run that ended at the raw clock reading `at`.
    pub(crate) fn record_at(&self, at: u64, nanos: u64, outcome: Outcome) {
        self.count(outcome);
        self.log.push(at, nanos, outcome);
    }

    /// Records one run timed by the raw clock readings `start` and `end` (the hot path: the
    /// duration is converted to nanoseconds when it is read). Lock-free, allocation-free and,
    /// for a success, free of atomic read-modify-writes (after the calling thread's first run
    /// of this phase).
    #[inline(always)]
    pub(crate) fn record_ticks(&self, start: u64, end: u64, outcome: Outcome) {
        self.count(outcome);
        self.log.push_ticks(start, end, outcome);
    }

    /// Counts a run's outcome, before the run is appended (see `report_with`).
    #[inline(always)]
    fn count(&self, outcome: Outcome) {
        if outcome == Outcome::Success {
            // A plain store when a streak is running; skip the write when it is already 0
            // so concurrent successes do not bounce the cache line.
            if self.failure_streak.load(Relaxed) != 0 {
                self.failure_streak.store(0, Relaxed);
            }
        } else {
            self.count_unsuccessful(outcome);
        }
    }

    /// Out of line: a success, the common case, inlines to one load and a branch.
    #[inline(never)]
    fn count_unsuccessful(&self, outcome: Outcome) {
        match outcome {
            Outcome::Success => {}
            Outcome::Failure | Outcome::Panic => {
                self.failures.fetch_add(1, Relaxed);
                if outcome == Outcome::Panic {
                    self.panics.fetch_add(1, Relaxed);
                }
                let streak = self.failure_streak.fetch_add(1, Relaxed) + 1;
                self.longest_failure_streak.fetch_max(streak, Relaxed);
            }
            // A cancelled run neither breaks nor extends a failure streak.
            Outcome::Cancelled => {
                self.cancelled.fetch_add(1, Relaxed);
            }
        }
    }

    /// Heap bytes this phase holds (its name and its run log).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.name.len() + self.log.heap_bytes()
    }

    /// A report of this phase; `scratch` is reused between phases to avoid reallocations.
    pub(crate) fn report_with(&self, runs: &mut Vec<Run>, scratch: &mut Vec<f64>) -> PhaseReport {
        // Read panics before failures, failures before successes: a run recorded meanwhile can
        // only make a later counter larger, never leave `panics > failures`.
        let panics = self.panics.load(Relaxed);
        let cancelled = self.cancelled.load(Relaxed);
        let failures = self.failures.load(Relaxed);
        // Read last: a run recorded meanwhile was counted in `failures`/`cancelled` before it
        // was appended, so this never undercounts; the saturation covers the instants where a
        // failure is counted but not yet appended.
        let executions = self.log.appended().max(failures + cancelled);
        let successes = executions - failures - cancelled;

        self.log.recent(runs);
        scratch.clear();
        // Cancelled runs were cut short: their durations would drag the statistics down.
        scratch.extend(
            runs.iter()
                .filter(|r| r.outcome != Outcome::Cancelled)
                .map(|r| r.nanos as f64 / 1e6),
        );
        let window_runs = scratch.len();
        let duration_ms = DurationStats::from_unsorted(scratch);

        PhaseReport {
            name: self.name.to_string(),
            executions,
            successes,
            failures,
            panics,
            cancelled,
            failure_rate: if executions == 0 {
                0.0
            } else {
                failures as f64 / executions as f64
            },
            duration_ms,
            prediction: None,
            prediction_accuracy: crate::report::PredictionAccuracy::default(),
            // The engine adds the total time: it sums every run it reads from the log, so the
            // hot path does one atomic increment less.
            total_ms: 0.0,
            failure_streak: self.failure_streak.load(Relaxed),
            longest_failure_streak: self.longest_failure_streak.load(Relaxed),
            window_runs,
            site: self.site.map(|s| SiteReport {
                module_path: s.module_path.to_string(),
                file: s.file.to_string(),
                line: s.line,
            }),
            resources: None,
            trend: Vec::new(),
            histogram: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_streaks_and_window() {
        let phase = PhaseCell::new(0, "build", None, 3);
        phase.record(1_000_000, Outcome::Success);
        phase.record(2_000_000, Outcome::Failure);
        phase.record(3_000_000, Outcome::Panic);
        phase.record(9_000_000, Outcome::Cancelled);
        phase.record(4_000_000, Outcome::Failure);
        let r = phase.report();
        assert_eq!(
            (r.executions, r.successes, r.failures, r.panics, r.cancelled),
            (5, 1, 3, 1, 1)
        );
        assert_eq!(r.failure_streak, 3);
        assert_eq!(r.longest_failure_streak, 3);
        assert_eq!(r.failure_rate, 0.6);
        // window of 3 runs: panic(3ms), cancelled (excluded), failure(4ms)
        assert_eq!(r.window_runs, 2);
        assert_eq!(r.duration_ms.min, 3.0);
        assert_eq!(r.duration_ms.max, 4.0);
        phase.record(1_000_000, Outcome::Success);
        let r = phase.report();
        assert_eq!(r.failure_streak, 0);
        assert_eq!(r.longest_failure_streak, 3);
    }
}
