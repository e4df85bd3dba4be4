//! Batched timing and the robust statistics the table reports.
//!
//! A single call of a few nanoseconds is below what one pair of clock reads can resolve, so
//! calls are timed in batches ([`BATCH`] calls each) and a sample is the batch's time divided
//! by its size. The variant's batches alternate with batches of the plain call (ABBA order, so
//! neither always runs first) and the overhead of a sample is the difference of the two
//! neighbours: frequency changes and noise from the other core hit both sides of a pair alike.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Calls per timed batch. Small enough that `fastrace` keeps every span of a batch under one
/// root span (its queue holds 10 240), large enough that the two clock reads around a batch
/// are noise (under 0.05 ns per call).
pub const BATCH: u64 = 2_000;

/// Times `n` calls of `f` and returns the total.
#[inline(always)]
pub fn time_calls(n: u64, mut f: impl FnMut(u64) -> u64) -> Duration {
    let mut acc = 0u64;
    let start = Instant::now();
    for i in 0..n {
        acc = acc.wrapping_add(f(black_box(i)));
    }
    let elapsed = start.elapsed();
    black_box(acc);
    elapsed
}

/// Per-call samples of one variant next to the plain call, in ns.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Paired {
    /// ns per call of the variant, one per batch.
    pub variant: Vec<f64>,
    /// ns per call of the plain call, one per batch, interleaved with `variant`.
    pub plain: Vec<f64>,
    /// `variant - plain` of neighbouring batches.
    pub overhead: Vec<f64>,
}

impl Paired {
    /// Appends another run's samples (another process of the same variant).
    pub fn extend(&mut self, other: &Paired) {
        self.variant.extend_from_slice(&other.variant);
        self.plain.extend_from_slice(&other.plain);
        self.overhead.extend_from_slice(&other.overhead);
    }
}

/// Runs `variant_batch` and `plain_batch` (each timing [`BATCH`] calls) in ABBA order for
/// about `budget`, at least `min_pairs` times.
pub fn paired(
    budget: Duration,
    min_pairs: usize,
    mut variant_batch: impl FnMut() -> Duration,
    mut plain_batch: impl FnMut() -> Duration,
) -> Paired {
    let per_call = |d: Duration| d.as_nanos() as f64 / BATCH as f64;
    let mut out = Paired::default();
    let start = Instant::now();
    let mut i = 0usize;
    while i < min_pairs || start.elapsed() < budget {
        let (v, p) = if i % 2 == 0 {
            let v = variant_batch();
            (v, plain_batch())
        } else {
            let p = plain_batch();
            (variant_batch(), p)
        };
        let (v, p) = (per_call(v), per_call(p));
        out.variant.push(v);
        out.plain.push(p);
        out.overhead.push(v - p);
        i += 1;
    }
    out
}

/// The `q`-quantile (0..=1) of `values` by linear interpolation; NaN when empty.
#[must_use]
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The median of `values`.
#[must_use]
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// Median and interquartile range of a set of samples.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    /// The median.
    pub median: f64,
    /// The 25th percentile.
    pub p25: f64,
    /// The 75th percentile.
    pub p75: f64,
}

impl Spread {
    /// The median and quartiles of `values`.
    #[must_use]
    pub fn of(values: &[f64]) -> Spread {
        Spread {
            median: median(values),
            p25: quantile(values, 0.25),
            p75: quantile(values, 0.75),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(median(&v), 2.5);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!(median(&[]).is_nan());
    }
}
