//! The duration histogram of a phase: every run the engine reads lands in one bucket of fixed
//! bounds (`export.duration_buckets`), so counts add up across runs, processes and machines,
//! which the window's quantiles cannot.
//!
//! The engine buckets runs as it catches up on the run log: the hot path does no new work.

use serde::{Deserialize, Serialize};

/// A phase's durations as a cumulative-by-export histogram: counts per bucket since the
/// runtime started (the report's `phases[].histogram`).
///
/// Bucket `i` counts the runs that lasted more than `bounds_s[i - 1]` and at most
/// `bounds_s[i]` seconds; the last bucket (`counts[bounds_s.len()]`) counts the longer ones,
/// Prometheus's `le="+Inf"` (which exporters write cumulatively).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DurationHistogram {
    /// Upper bounds of the buckets, in seconds, increasing (`+Inf` is implied).
    pub bounds_s: Vec<f64>,
    /// Runs per bucket (not cumulative): one more entry than `bounds_s`.
    pub counts: Vec<u64>,
    /// Total duration of the runs counted, in seconds.
    pub sum_s: f64,
    /// Runs counted: the sum of `counts`. Every run of every outcome (cancelled runs with the
    /// time they ran), so it equals the phase's `executions` unless the engine lost runs
    /// (`runtime.runs_not_analysed`).
    pub count: u64,
}

/// The engine's accumulator behind a [`DurationHistogram`]: bounds in whole nanoseconds, so a
/// run lands in its bucket exactly, and an exact sum.
#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    /// Upper bounds in nanoseconds, increasing.
    bounds_ns: Box<[u64]>,
    /// One more than `bounds_ns`: the last is `+Inf`.
    counts: Box<[u64]>,
    sum_ns: u128,
    count: u64,
}

impl Buckets {
    /// Empty buckets with upper bounds `bounds_s` (seconds; validated increasing and positive
    /// by the config; bounds that round to the same nanosecond are merged).
    pub(crate) fn new(bounds_s: &[f64]) -> Buckets {
        let mut bounds_ns: Vec<u64> = bounds_s
            .iter()
            .filter(|b| b.is_finite() && **b > 0.0)
            // `as` saturates: a bound past u64 nanoseconds (584 years) is the largest one.
            .map(|b| (b * 1e9).round() as u64)
            .collect();
        bounds_ns.sort_unstable();
        bounds_ns.dedup();
        let counts = vec![0; bounds_ns.len() + 1].into_boxed_slice();
        Buckets {
            bounds_ns: bounds_ns.into_boxed_slice(),
            counts,
            sum_ns: 0,
            count: 0,
        }
    }

    /// Counts one run of `nanos`.
    #[inline]
    pub(crate) fn record(&mut self, nanos: u64) {
        // The first bound at or above the duration: Prometheus's `le` is inclusive.
        let bucket = self.bounds_ns.partition_point(|&bound| bound < nanos);
        if let Some(count) = self.counts.get_mut(bucket) {
            *count += 1;
        }
        self.sum_ns += u128::from(nanos);
        self.count += 1;
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.bounds_ns.len() + self.counts.len()) * std::mem::size_of::<u64>()
    }

    /// The report's view.
    pub(crate) fn report(&self) -> DurationHistogram {
        DurationHistogram {
            bounds_s: self.bounds_ns.iter().map(|&b| b as f64 / 1e9).collect(),
            counts: self.counts.to_vec(),
            sum_s: self.sum_ns as f64 / 1e9,
            count: self.count,
        }
    }
}

impl DurationHistogram {
    /// `(upper bound in seconds, runs in that bucket)` pairs, the last bound `+Inf`: the
    /// non-cumulative form exporters encode.
    #[must_use]
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        self.bounds_s
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.counts.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_lands_in_the_first_bucket_at_or_above_it() {
        let mut b = Buckets::new(&[0.001, 0.01, 1.0]);
        for nanos in [
            0,
            1_000_000,
            1_000_001,
            10_000_000,
            999_999_999,
            1_000_000_000,
            5_000_000_000,
        ] {
            b.record(nanos);
        }
        let h = b.report();
        assert_eq!(h.bounds_s, [0.001, 0.01, 1.0]);
        // le=1ms: 0 and 1 ms exactly; le=10ms: just over 1 ms and 10 ms exactly; le=1s: two;
        // +Inf: one.
        assert_eq!(h.counts, [2, 2, 2, 1]);
        assert_eq!(h.count, 7);
        assert_eq!(h.counts.iter().sum::<u64>(), h.count);
        assert!((h.sum_s - 7.012).abs() < 1e-9, "{}", h.sum_s);
        assert_eq!(
            h.buckets(),
            [(0.001, 2), (0.01, 2), (1.0, 2), (f64::INFINITY, 1)]
        );
    }

    #[test]
    fn the_default_bounds_are_exact_in_nanoseconds() {
        let b = Buckets::new(&crate::config::ExportConfig::DEFAULT_DURATION_BUCKETS);
        let h = b.report();
        assert_eq!(
            h.bounds_s,
            crate::config::ExportConfig::DEFAULT_DURATION_BUCKETS
        );
        assert_eq!(h.counts.len(), h.bounds_s.len() + 1);
    }
}
