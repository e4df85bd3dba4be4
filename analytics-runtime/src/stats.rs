//! Statistics primitives: summaries of a window of durations.

use serde::{Deserialize, Serialize};

/// Summary of a window of durations, in milliseconds.
///
/// Quantiles use linear interpolation between closest ranks (numpy's default), so `p50` of
/// `[1, 2, 3, 4]` is `2.5`. An empty window gives all zeros.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DurationStats {
    /// Arithmetic mean.
    pub mean: f64,
    /// Smallest duration.
    pub min: f64,
    /// Largest duration.
    pub max: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Population standard deviation.
    #[serde(default)]
    pub std_dev: f64,
}

impl DurationStats {
    /// Summarises `values_ms`; sorts the slice in place (callers pass a scratch copy).
    ///
    /// Non-finite values are ignored.
    pub fn from_unsorted(values_ms: &mut Vec<f64>) -> DurationStats {
        values_ms.retain(|v| v.is_finite());
        if values_ms.is_empty() {
            return DurationStats::default();
        }
        values_ms.sort_unstable_by(f64::total_cmp);
        let n = values_ms.len() as f64;
        let mean = values_ms.iter().sum::<f64>() / n;
        let variance = values_ms.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        DurationStats {
            mean,
            min: values_ms[0],
            max: values_ms[values_ms.len() - 1],
            p50: quantile_sorted(values_ms, 0.50),
            p90: quantile_sorted(values_ms, 0.90),
            p99: quantile_sorted(values_ms, 0.99),
            std_dev: variance.sqrt(),
        }
    }
}

/// The `q` quantile (0..=1) of an ascending, non-empty slice, by linear interpolation.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        len => {
            let rank = q.clamp(0.0, 1.0) * (len - 1) as f64;
            let lower = rank.floor() as usize;
            let upper = (lower + 1).min(len - 1);
            let frac = rank - lower as f64;
            sorted[lower] + (sorted[upper] - sorted[lower]) * frac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        let s = DurationStats::from_unsorted(&mut v);
        assert_eq!(s.p50, 2.5);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 4.0);
        assert_eq!(s.mean, 2.5);
        assert!((s.p90 - 3.7).abs() < 1e-12);
        assert!((s.std_dev - 1.25f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn one_to_hundred() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = DurationStats::from_unsorted(&mut v);
        assert!((s.p99 - 99.01).abs() < 1e-9);
        assert!((s.p90 - 90.1).abs() < 1e-9);
    }

    #[test]
    fn empty_and_non_finite() {
        assert_eq!(
            DurationStats::from_unsorted(&mut Vec::new()),
            DurationStats::default()
        );
        let mut v = vec![f64::NAN, 5.0, f64::INFINITY];
        let s = DurationStats::from_unsorted(&mut v);
        assert_eq!((s.min, s.max, s.p50), (5.0, 5.0, 5.0));
    }
}
