//! A phase's failure rate and failure prediction over its whole history, in a bounded number
//! of points: what the report's `phases[].trend` holds and the HTML page draws over time.
//!
//! Runs are counted in spans of `stride` runs. When [`TREND_POINTS`] spans are closed, each
//! pair of neighbours is merged into one and the stride doubles, so the trend always covers
//! every run since the start with between half and all of its points, in constant memory
//! (the decimation of a time series that is too long to keep whole).

use crate::report::{Prediction, TrendPoint};

/// Closed spans kept per phase at most.
pub(crate) const TREND_POINTS: usize = 32;

/// Runs in a span at first: fewer would make each point's failure rate 0 % or 100 %.
const FIRST_STRIDE: u64 = 8;

/// Runs counted together: how many failed, and the prediction for the run after the span.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Span {
    runs: u64,
    failures: u64,
    /// Runs counted since the start, up to the end of this span.
    until_run: u64,
    /// The failure probability predicted at the end of the span (for the next run).
    failure_probability: Option<f64>,
    /// The duration predicted at the end of the span.
    expected_ms: Option<f64>,
}

impl Span {
    fn point(&self) -> TrendPoint {
        TrendPoint {
            until_run: self.until_run,
            runs: self.runs,
            failures: self.failures,
            failure_rate: if self.runs == 0 {
                0.0
            } else {
                self.failures as f64 / self.runs as f64
            },
            failure_probability: self.failure_probability,
            expected_ms: self.expected_ms,
        }
    }

    fn predicted(&mut self, prediction: Option<Prediction>) {
        self.failure_probability = prediction.map(|p| p.failure_probability);
        self.expected_ms = prediction.map(|p| p.expected_ms);
    }
}

/// The trend of one phase.
#[derive(Debug, Clone)]
pub(crate) struct Trend {
    closed: Vec<Span>,
    open: Span,
    stride: u64,
}

impl Default for Trend {
    fn default() -> Self {
        Trend {
            closed: Vec::new(),
            open: Span::default(),
            stride: FIRST_STRIDE,
        }
    }
}

impl Trend {
    /// Counts one finished run; `prediction` is asked for (once per span) when the run closes
    /// a span.
    pub(crate) fn record(&mut self, failed: bool, prediction: impl FnOnce() -> Option<Prediction>) {
        self.open.runs += 1;
        self.open.failures += u64::from(failed);
        self.open.until_run += 1;
        if self.open.runs < self.stride {
            return;
        }
        self.open.predicted(prediction());
        let until_run = self.open.until_run;
        self.closed.push(std::mem::take(&mut self.open));
        self.open.until_run = until_run;
        if self.closed.len() >= TREND_POINTS {
            self.halve();
        }
    }

    /// Merges each pair of neighbouring spans: half the points, twice the stride.
    fn halve(&mut self) {
        let merged: Vec<Span> = self
            .closed
            .chunks(2)
            .map(|pair| {
                let last = pair[pair.len() - 1];
                Span {
                    runs: pair.iter().map(|s| s.runs).sum(),
                    failures: pair.iter().map(|s| s.failures).sum(),
                    ..last
                }
            })
            .collect();
        self.closed.clear();
        self.closed.extend(merged);
        self.stride = self.stride.saturating_mul(2);
    }

    /// The trend's points, oldest first: the closed spans, then the runs since the last one
    /// (if any) with `now` as their prediction.
    pub(crate) fn points(&self, now: Option<Prediction>) -> Vec<TrendPoint> {
        let mut points = Vec::with_capacity(self.closed.len() + 1);
        points.extend(self.closed.iter().map(Span::point));
        if self.open.runs > 0 {
            let mut open = self.open;
            open.predicted(now);
            points.push(open.point());
        }
        points
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.closed.capacity() * std::mem::size_of::<Span>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(p: f64) -> Option<Prediction> {
        Some(Prediction {
            failure_probability: p,
            expected_ms: 10.0,
            p90_ms: 12.0,
            confidence: 0.5,
            based_on: 10,
        })
    }

    #[test]
    fn spans_of_the_first_stride_then_the_open_rest() {
        let mut trend = Trend::default();
        for i in 0..20u64 {
            trend.record(i % 4 == 0, || prediction(0.25));
        }
        let points = trend.points(None);
        assert_eq!(points.len(), 3);
        assert_eq!(
            (points[0].until_run, points[0].runs, points[0].failures),
            (8, 8, 2)
        );
        assert_eq!(points[0].failure_rate, 0.25);
        assert_eq!(points[0].failure_probability, Some(0.25));
        assert_eq!(points[1].until_run, 16);
        // The 4 runs since: the open span, with the prediction given now.
        assert_eq!((points[2].until_run, points[2].runs), (20, 4));
        assert_eq!(points[2].failure_probability, None);
    }

    #[test]
    fn stays_bounded_and_covers_every_run() {
        let mut trend = Trend::default();
        let runs = 100_000u64;
        let mut failures = 0;
        for i in 0..runs {
            let failed = i % 10 == 0;
            failures += u64::from(failed);
            trend.record(failed, || None);
        }
        let points = trend.points(None);
        assert!(points.len() <= TREND_POINTS + 1, "{}", points.len());
        assert!(points.len() >= TREND_POINTS / 2);
        assert_eq!(points.iter().map(|p| p.runs).sum::<u64>(), runs);
        assert_eq!(points.iter().map(|p| p.failures).sum::<u64>(), failures);
        assert_eq!(points.last().map(|p| p.until_run), Some(runs));
        assert!(points.windows(2).all(|w| w[0].until_run < w[1].until_run));
        assert!(trend.heap_bytes() <= 2 * TREND_POINTS * std::mem::size_of::<Span>());
    }

    #[test]
    fn a_change_in_failure_rate_shows_in_the_points() {
        let mut trend = Trend::default();
        for i in 0..2000u64 {
            // Healthy for 1000 runs, then every other run fails.
            trend.record(i >= 1000 && i % 2 == 0, || prediction(0.1));
        }
        let points = trend.points(None);
        let before: Vec<_> = points.iter().filter(|p| p.until_run <= 1000).collect();
        let after: Vec<_> = points.iter().filter(|p| p.until_run > 1024).collect();
        assert!(before.iter().all(|p| p.failure_rate == 0.0));
        assert!(after.iter().all(|p| (p.failure_rate - 0.5).abs() < 0.01));
    }
}
