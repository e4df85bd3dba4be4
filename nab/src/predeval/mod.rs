//! The prediction evaluation harness (issue 12, point 7): synthetic workloads of every class the
//! predictor must handle ([`workloads`]), run through the public [`Runtime`] API, with the
//! engine's failure probability scored (Brier) beside the baselines a user could compute by
//! hand ([`Baselines`]), plus the p90 coverage and the duration error.
//!
//! Only runs that started with an engine prediction are scored, for the engine and every
//! baseline alike. `cargo run --release --bin predeval` prints the table.

pub mod workloads;

use std::time::Duration;

use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};

pub use self::workloads::{Class, Run, generate};

/// The baselines' names, in the order of [`Baselines::predict`].
pub const BASELINES: [&str; 4] = ["running mean", "EWMA(0.1)", "last outcome", "Markov-1"];

/// The simple failure predictors a user could compute by hand, online.
#[derive(Debug, Clone, Default)]
pub struct Baselines {
    runs: u64,
    failures: u64,
    ewma: Option<f64>,
    last: Option<bool>,
    /// Per previous outcome (0 ok, 1 failed): runs that followed it, and failures among them.
    markov: [(u64, u64); 2],
}

impl Baselines {
    /// Each baseline's failure probability for the next run (0 before any run).
    #[must_use]
    pub fn predict(&self) -> [f64; 4] {
        let mean = if self.runs == 0 {
            0.0
        } else {
            self.failures as f64 / self.runs as f64
        };
        let last = self.last.map_or(0.0, |l| f64::from(u8::from(l)));
        let markov = match self.last {
            Some(previous) => {
                let (runs, failures) = self.markov[usize::from(previous)];
                if runs == 0 {
                    mean
                } else {
                    failures as f64 / runs as f64
                }
            }
            None => mean,
        };
        [mean, self.ewma.unwrap_or(mean), last, markov]
    }

    /// Adds one outcome.
    pub fn observe(&mut self, failed: bool) {
        let x = f64::from(u8::from(failed));
        self.runs += 1;
        self.failures += u64::from(failed);
        self.ewma = Some(self.ewma.map_or(x, |e| e + 0.1 * (x - e)));
        if let Some(previous) = self.last {
            let slot = &mut self.markov[usize::from(previous)];
            slot.0 += 1;
            slot.1 += u64::from(failed);
        }
        self.last = Some(failed);
    }
}

/// Scores of one workload (or sums over several).
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Runs scored (those that started with an engine prediction).
    pub scored: u64,
    /// Sum of the engine's squared errors.
    pub engine: f64,
    /// Sum of each baseline's squared errors, in [`BASELINES`] order.
    pub baselines: [f64; 4],
    /// Runs at or under the predicted p90.
    pub covered: u64,
    /// Absolute percentage errors of the expected duration.
    pub ape: Vec<f64>,
    /// Absolute percentage errors of "the next run lasts as long as the last one".
    pub ape_last: Vec<f64>,
}

impl Scores {
    /// Adds `other`'s sums to these.
    pub fn add(&mut self, other: &Scores) {
        self.scored += other.scored;
        self.engine += other.engine;
        for (a, b) in self.baselines.iter_mut().zip(other.baselines) {
            *a += b;
        }
        self.covered += other.covered;
        self.ape.extend_from_slice(&other.ape);
        self.ape_last.extend_from_slice(&other.ape_last);
    }

    /// The engine's Brier score.
    #[must_use]
    pub fn brier(&self) -> f64 {
        self.engine / self.scored.max(1) as f64
    }

    /// Each baseline's Brier score.
    #[must_use]
    pub fn baseline_briers(&self) -> [f64; 4] {
        self.baselines.map(|b| b / self.scored.max(1) as f64)
    }

    /// The fraction of runs at or under the predicted p90.
    #[must_use]
    pub fn coverage(&self) -> f64 {
        self.covered as f64 / self.scored.max(1) as f64
    }

    /// Median absolute percentage error of the engine's expected duration.
    #[must_use]
    pub fn mape(&self) -> f64 {
        median(&self.ape)
    }

    /// Median absolute percentage error of the last duration as the forecast.
    #[must_use]
    pub fn mape_last(&self) -> f64 {
        median(&self.ape_last)
    }
}

/// The median of `values` (0 if empty).
fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A runtime with only the predictive engine on (the others do not change predictions and
/// would only slow the harness down).
#[must_use]
pub fn runtime() -> Runtime {
    let mut config = AnalyticsConfig::default();
    config.anomaly.enabled = false;
    config.optimizer.enabled = false;
    config.resources.enabled = false;
    Runtime::new(config)
}

/// Feeds `runs` to a fresh runtime, one at a time, reading [`Runtime::predict`] before each
/// (after [`Runtime::flush`], so it covers every earlier run) and scoring it with the baselines.
#[must_use]
pub fn evaluate(runs: &[Run]) -> Scores {
    const PHASE: &str = "phase";
    let runtime = runtime();
    let mut baselines = Baselines::default();
    let mut scores = Scores::default();
    let mut last_ms = None;
    for run in runs {
        runtime.flush();
        if let Some(p) = runtime.predict(PHASE) {
            let y = f64::from(u8::from(run.failed));
            scores.scored += 1;
            scores.engine += (p.failure_probability - y).powi(2);
            for (sum, q) in scores.baselines.iter_mut().zip(baselines.predict()) {
                *sum += (q - y).powi(2);
            }
            scores.covered += u64::from(run.duration_ms <= p.p90_ms);
            scores
                .ape
                .push((p.expected_ms - run.duration_ms).abs() / run.duration_ms);
            if let Some(last) = last_ms {
                let last: f64 = last;
                scores
                    .ape_last
                    .push((last - run.duration_ms).abs() / run.duration_ms);
            }
        }
        let outcome = if run.failed {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        runtime.record_run(
            PHASE,
            Duration::from_secs_f64(run.duration_ms / 1e3),
            outcome,
        );
        baselines.observe(run.failed);
        last_ms = Some(run.duration_ms);
    }
    scores
}

/// One class over `seeds`: the summed scores, and the number of seeds on which the engine's
/// Brier was above a baseline's (by more than `1e-9`).
#[must_use]
pub fn evaluate_class(class: Class, seeds: &[u64], runs: usize) -> (Scores, usize) {
    let mut total = Scores::default();
    let mut lost = 0;
    for &seed in seeds {
        let s = evaluate(&generate(class, seed, runs));
        let best = s
            .baseline_briers()
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        lost += usize::from(s.brier() > best + 1e-9);
        total.add(&s);
    }
    (total, lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_follow_their_definitions() {
        let mut b = Baselines::default();
        assert_eq!(b.predict(), [0.0; 4]);
        for failed in [true, false, false, true, true] {
            b.observe(failed);
        }
        let [mean, ewma, last, markov] = b.predict();
        assert!((mean - 0.6).abs() < 1e-12);
        // EWMA from the first outcome: 1, 0.9, 0.81, 0.829, 0.8461.
        assert!((ewma - 0.8461).abs() < 1e-9, "{ewma}");
        assert_eq!(last, 1.0);
        // Transitions after a failure: 1->2 ok, 4->5 failed: 1 of 2.
        assert!((markov - 0.5).abs() < 1e-12);
    }
}
