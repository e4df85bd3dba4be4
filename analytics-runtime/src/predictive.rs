//! The predictive engine's per-phase model: what the next run of a phase will probably do.
//!
//! The engine feeds every completed run of a phase, in order, to that phase's
//! [`PhasePredictor`]. Each run is first used to *score* the prediction that was current before
//! it (so the report shows measured, not assumed, accuracy), then to update the models.
//!
//! **Failure probability.** A mix of online-weighted experts (rates with several memories,
//! persistence/Markov experts, period experts, the previous run's slowness as a covariate):
//! see [`failure`]. It must not lose, on any kind of workload, to the baselines a user could
//! compute by hand (running mean, EWMA, last outcome, Markov-1); `cargo run --release --bin
//! predeval` measures that on held-out seeds.
//!
//! **Duration.** Durations are right-skewed and scale-free, so we model `ln(duration)`. Its
//! level is a mix, weighted the same way (Gaussian likelihood), of a fast and a slow EW mean
//! ([`LEVEL_HALF_LIVES`]): a slowdown is followed within ~20 runs, yet a stationary phase gets
//! the slow mean. The spread is the EW variance ([`DURATION_HALF_LIFE`]) of the residual around
//! the predicted centre. Quantiles are `exp(centre + z·sd)` with `z` calibrated online as in
//! adaptive conformal inference: after each run `z += γ·(miss − α)`, so the long-run miss rate
//! tends to α whatever the true shape (heavy tails, several modes). `p90_ms` uses α = 0.1,
//! starting from the normal quantile; `expected_ms` is the median (α = 0.5, starting at 0),
//! which on a bimodal phase stays in the main mode instead of falling between the two.
//!
//! **Confidence** is `n_eff / (n_eff + 10) · exp(−spread / 0.1)`: `n_eff` is the
//! weight-averaged number of (discounted) runs behind the members, so it grows with history and
//! falls back when the fast member has taken over; `spread` is the weighted standard deviation
//! of the members' probabilities around the mix, so it drops while they disagree, e.g. right
//! after a regime change.
//!
//! Everything is fixed-size: a predictor allocates nothing after [`PhasePredictor::new`].

mod failure;

use self::failure::{FailureModel, decay};
use crate::report::{Prediction, PredictionAccuracy};

/// Half-lives (in runs) of the log-duration level members: a fast one that follows a slowdown
/// within a few runs and a slow one that is quiet on a stationary phase.
const LEVEL_HALF_LIVES: [f64; LEVELS] = [6.0, 40.0];
/// Number of log-duration level members.
const LEVELS: usize = 2;
/// Fixed share of the level members' weights: the fraction spread back evenly after each run.
const LEVEL_SHARE: f64 = 0.002;
/// Half-life (in runs) of the log-duration residual variance.
const DURATION_HALF_LIFE: f64 = 20.0;
/// Smallest log-scale variance used in the level likelihoods, so constant durations do not
/// make them infinitely sharp.
const MIN_LOG_VAR: f64 = 1e-4;
/// Step of the adaptive p90 multiplier.
const P90_STEP: f64 = 0.05;
/// Step of the adaptive median offset.
const P50_STEP: f64 = 0.01;
/// Normal 90 % quantile: the starting multiplier, right for log-normal durations.
const Z90: f64 = 1.281_551_565_545;
/// Durations are floored at 1 µs so that `ln` stays finite for instantaneous runs.
const MIN_MS: f64 = 1e-3;
/// Largest exponent we take, so `exp` never overflows to infinity.
const MAX_LN: f64 = 709.0;
/// How many recent absolute percentage errors each phase keeps for the median.
const APE_RING: usize = 256;

/// Settings (from the config's `predictive` section).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PredictorSettings {
    /// Runs needed before a prediction is made.
    pub(crate) min_history: usize,
    /// Failure probability at or above which a prediction counts as high-risk.
    pub(crate) confidence_threshold: f64,
}

/// What [`PhasePredictor::observe`] found when scoring the run it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Scored {
    /// A prediction was current before this run, and it was scored (counted in `made`).
    pub(crate) predicted: bool,
    /// That prediction was high-risk (counted in `high_risk`).
    pub(crate) high_risk: bool,
    /// The prediction for the *next* run is high-risk and the scored one was not: an edge,
    /// so the runtime can log once per episode instead of once per run.
    pub(crate) became_high_risk: bool,
}

/// One exponentially weighted level of `ln(duration_ms)`.
#[derive(Debug, Clone, Copy)]
struct Level {
    /// Per-run discount.
    decay: f64,
    /// EW mean of `ln(duration_ms)`.
    mean: f64,
    /// The member's weight in the mix (the weights sum to 1).
    weight: f64,
}

/// Per-phase predictor: failure-rate ensemble, log-duration model and self-scoring.
#[derive(Debug, Clone)]
pub(crate) struct PhasePredictor {
    /// Runs needed before a prediction is made.
    min_history: u64,
    /// High-risk threshold on the failure probability.
    threshold: f64,
    /// Runs observed (including those whose duration was ignored).
    runs: u64,
    /// Runs whose duration was non-finite or negative (their outcome still counts).
    ignored_durations: u64,
    /// The failure-probability model.
    failures: FailureModel,
    /// Failures among every run observed (the running-mean baseline).
    all_failures: u64,
    /// Discount of the residual variance.
    duration_decay: f64,
    /// Valid durations seen.
    durations: u64,
    /// The log-duration level members, fastest first.
    levels: [Level; LEVELS],
    /// EW variance of the residual of `ln(duration_ms)` around the predicted centre.
    log_var: f64,
    /// Adaptive median offset on the log-scale standard deviation.
    z50: f64,
    /// Adaptive p90 multiplier on the log-scale standard deviation.
    z90: f64,
    /// Scored runs.
    made: u64,
    /// Scored runs whose prediction was high-risk.
    high_risk: u64,
    /// Failures among the scored runs (for the base-rate reference).
    scored_failures: f64,
    /// Sum of squared errors of the scored failure probabilities.
    brier_sum: f64,
    /// Sum of squared errors, over the same runs, of the online running mean (the failure
    /// rate of every run before each one): the baseline a user could compute by hand.
    running_mean_sum: f64,
    /// Scored runs with a valid duration.
    duration_scored: u64,
    /// Of those, runs at or under the predicted p90.
    covered: u64,
    /// Ring of the latest absolute percentage errors (`f32` is ample and halves the size).
    ape: [f32; APE_RING],
    /// Filled entries of `ape`.
    ape_len: usize,
    /// Next slot of `ape` to overwrite.
    ape_next: usize,
}

impl PhasePredictor {
    /// A predictor with no history.
    pub(crate) fn new(settings: &PredictorSettings) -> Self {
        Self {
            // A prediction needs at least one run to rest on.
            min_history: settings.min_history.max(1) as u64,
            threshold: settings.confidence_threshold,
            runs: 0,
            ignored_durations: 0,
            failures: FailureModel::new(),
            all_failures: 0,
            duration_decay: decay(DURATION_HALF_LIFE),
            durations: 0,
            levels: LEVEL_HALF_LIVES.map(|half_life| Level {
                decay: decay(half_life),
                mean: 0.0,
                weight: 1.0 / LEVELS as f64,
            }),
            log_var: 0.0,
            z50: 0.0,
            z90: Z90,
            made: 0,
            high_risk: 0,
            scored_failures: 0.0,
            brier_sum: 0.0,
            running_mean_sum: 0.0,
            duration_scored: 0,
            covered: 0,
            ape: [0.0; APE_RING],
            ape_len: 0,
            ape_next: 0,
        }
    }

    /// One completed run, in order: scores the prediction that was current before it (if any),
    /// then updates the models. A non-finite or negative duration is ignored (and counted),
    /// but the run's outcome is still real information and is used.
    pub(crate) fn observe(&mut self, duration_ms: f64, failed: bool) -> Scored {
        let before = self.prediction();
        let outcome = if failed { 1.0 } else { 0.0 };
        let duration =
            (duration_ms.is_finite() && duration_ms >= 0.0).then(|| duration_ms.max(MIN_MS));
        if duration.is_none() {
            self.ignored_durations += 1;
        }

        let mut scored = Scored::default();
        if let Some(p) = before {
            scored.predicted = true;
            scored.high_risk = p.failure_probability >= self.threshold;
            self.made += 1;
            self.high_risk += u64::from(scored.high_risk);
            self.scored_failures += outcome;
            self.brier_sum += (p.failure_probability - outcome).powi(2);
            let running_mean = self.all_failures as f64 / self.runs.max(1) as f64;
            self.running_mean_sum += (running_mean - outcome).powi(2);
            if let Some(d) = duration {
                self.duration_scored += 1;
                self.covered += u64::from(d <= p.p90_ms);
                self.ape[self.ape_next] = ((p.expected_ms - d).abs() / d) as f32;
                self.ape_next = (self.ape_next + 1) % APE_RING;
                self.ape_len = (self.ape_len + 1).min(APE_RING);
            }
        }

        // The covariate of the next run: how slow this one was against the prediction.
        let residual = duration.and_then(|d| {
            let sd = self.log_var.sqrt();
            (self.durations >= 2 && sd > 0.0).then(|| (d.ln() - self.centre()) / sd)
        });
        self.failures.observe(failed, residual);
        self.all_failures += u64::from(failed);
        if let Some(d) = duration {
            self.update_duration(d);
        }
        self.runs += 1;

        let now_high = self
            .prediction()
            .is_some_and(|p| p.failure_probability >= self.threshold);
        scored.became_high_risk = now_high && !scored.high_risk;
        scored
    }

    /// Updates the log-duration model and the quantile offsets with one valid duration.
    fn update_duration(&mut self, duration_ms: f64) {
        let x = duration_ms.ln();
        if self.durations >= 1 {
            let centre = self.centre();
            let sd = self.log_var.sqrt();
            // Calibrate the offsets on every run once a spread exists, not only on scored
            // ones, so they are warmed up when predictions start. Clamped so that one odd
            // stretch cannot leave them absurd for long.
            if self.durations >= 2 {
                let miss = if x > centre + self.z90 * sd { 1.0 } else { 0.0 };
                self.z90 = (self.z90 + P90_STEP * (miss - 0.1)).clamp(-2.0, 10.0);
                let above = if x > centre + self.z50 * sd { 1.0 } else { 0.0 };
                self.z50 = (self.z50 + P50_STEP * (above - 0.5)).clamp(-5.0, 5.0);
            }
            // Bayesian weights on the level members (Gaussian likelihood), shifted by the best
            // log-likelihood so an outlier cannot underflow them all to 0/0.
            let var = self.log_var.max(MIN_LOG_VAR);
            let ll = self.levels.map(|l| -(x - l.mean).powi(2) / (2.0 * var));
            let best = ll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut total = 0.0;
            for (l, ll) in self.levels.iter_mut().zip(ll) {
                l.weight *= (ll - best).exp();
                total += l.weight;
            }
            for l in &mut self.levels {
                l.weight = (1.0 - LEVEL_SHARE) * l.weight / total + LEVEL_SHARE / LEVELS as f64;
            }
            // The residual around the prediction actually made is what the p90 must cover.
            let alpha = (1.0 / self.durations as f64).max(1.0 - self.duration_decay);
            self.log_var += alpha * ((x - centre).powi(2) - self.log_var);
        }
        self.durations += 1;
        for l in &mut self.levels {
            // 1/n at first makes the early estimates exact sample means rather than biased
            // towards the zero initial state; the EW rate takes over after a few runs.
            let alpha = (1.0 / self.durations as f64).max(1.0 - l.decay);
            l.mean += alpha * (x - l.mean);
        }
    }

    /// The predicted centre of `ln(duration_ms)`: the weighted mix of the level members.
    fn centre(&self) -> f64 {
        let total: f64 = self.levels.iter().map(|l| l.weight).sum();
        self.levels.iter().map(|l| l.weight * l.mean).sum::<f64>() / total
    }

    /// O(1): the prediction for the next run; `None` before `min_history` runs.
    pub(crate) fn prediction(&self) -> Option<Prediction> {
        if self.runs < self.min_history || self.durations == 0 {
            return None;
        }
        let failure::FailureEstimate {
            probability: p,
            spread,
            n_eff,
        } = self.failures.estimate();
        let confidence = n_eff / (n_eff + 10.0) * (-spread / 0.1).exp();
        let (centre, sd) = (self.centre(), self.log_var.sqrt());
        Some(Prediction {
            failure_probability: p.clamp(0.0, 1.0),
            expected_ms: (centre + self.z50 * sd).min(MAX_LN).exp(),
            p90_ms: (centre + self.z90 * sd).min(MAX_LN).exp(),
            confidence: confidence.clamp(0.0, 1.0),
            based_on: self.runs,
        })
    }

    /// Runs that started with a prediction and were scored against it.
    pub(crate) fn made(&self) -> u64 {
        self.made
    }

    /// Scored runs whose failure probability reached the threshold.
    pub(crate) fn high_risk(&self) -> u64 {
        self.high_risk
    }

    /// Runs whose duration was ignored because it was non-finite or negative.
    pub(crate) fn ignored_durations(&self) -> u64 {
        self.ignored_durations
    }

    /// Forgets the self-scoring (counts, Brier sums, errors) but keeps the models: after a
    /// restored history was replayed, the scores describe only this process's predictions.
    pub(crate) fn reset_scores(&mut self) {
        self.made = 0;
        self.high_risk = 0;
        self.scored_failures = 0.0;
        self.brier_sum = 0.0;
        self.running_mean_sum = 0.0;
        self.duration_scored = 0;
        self.covered = 0;
        self.ape_len = 0;
        self.ape_next = 0;
    }

    /// This phase's accuracy as additive parts, so the runtime can sum them over phases.
    pub(crate) fn accuracy_parts(&self) -> AccuracyParts {
        let mut parts = AccuracyParts::default();
        self.add_accuracy_to(&mut parts);
        parts
    }

    /// Adds this phase's accuracy parts to `parts`: summed over phases, they give the
    /// runtime's accuracy.
    pub(crate) fn add_accuracy_to(&self, parts: &mut AccuracyParts) {
        let n = self.made as f64;
        let f = self.scored_failures;
        parts.scored += self.made;
        parts.brier_sum += self.brier_sum;
        parts.running_mean_sum += self.running_mean_sum;
        // Climatology: the Brier sum of predicting this phase's own base rate b over the same
        // runs, n·b·(1−b). Computed per phase so merged parts keep per-phase rates.
        parts.reference_sum += if self.made == 0 { 0.0 } else { f * (n - f) / n };
        parts.duration_scored += self.duration_scored;
        parts.covered += self.covered;
        parts.ape.extend_from_slice(&self.ape[..self.ape_len]);
    }
}

/// Additive pieces of a [`PredictionAccuracy`], summed over phases by [`PhasePredictor::add_accuracy_to`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AccuracyParts {
    /// Runs scored.
    scored: u64,
    /// Sum of squared errors of the failure probabilities.
    brier_sum: f64,
    /// Sum of squared errors of each phase's base rate over its scored runs.
    reference_sum: f64,
    /// Sum of squared errors of each phase's online running mean over its scored runs.
    running_mean_sum: f64,
    /// Scored runs with a valid duration.
    duration_scored: u64,
    /// Of those, runs at or under the predicted p90.
    covered: u64,
    /// Recent absolute percentage errors (the last 256 per phase).
    ape: Vec<f32>,
}

impl AccuracyParts {
    /// Empty parts with room for the errors of `phases` phases.
    pub(crate) fn with_capacity(phases: usize) -> AccuracyParts {
        AccuracyParts {
            ape: Vec::with_capacity(phases * APE_RING),
            ..AccuracyParts::default()
        }
    }

    /// The accuracy figures; each is `None` until it has something to rest on.
    pub(crate) fn finish(mut self) -> PredictionAccuracy {
        let scored = self.scored as f64;
        PredictionAccuracy {
            brier: (self.scored > 0).then(|| self.brier_sum / scored),
            brier_skill: (self.reference_sum > 0.0)
                .then(|| 1.0 - self.brier_sum / self.reference_sum),
            brier_running_mean: (self.scored > 0).then(|| self.running_mean_sum / scored),
            brier_skill_vs_running_mean: (self.running_mean_sum > 0.0)
                .then(|| 1.0 - self.brier_sum / self.running_mean_sum),
            duration_mape: median(&mut self.ape).map(f64::from),
            p90_coverage: (self.duration_scored > 0)
                .then(|| self.covered as f64 / self.duration_scored as f64),
            scored: self.scored,
        }
    }
}

/// The median of `values` (mean of the two middle ones for an even count), `None` if empty.
///
/// Selection in place, not a sort: O(n), which matters when a report merges every phase's
/// errors.
fn median(v: &mut [f32]) -> Option<f32> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let (below, &mut upper, _) = v.select_nth_unstable_by(n / 2, f32::total_cmp);
    Some(if n % 2 == 1 {
        upper
    } else {
        // The lower middle value is the largest of the lower half.
        let lower = below.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (lower + upper) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_rng::Rng;

    /// What the predictor's tests draw beyond the shared generator.
    trait Draws {
        fn chance(&mut self, p: f64) -> bool;
        fn lognormal(&mut self, median: f64, sigma: f64) -> f64;
    }

    impl Draws for Rng {
        fn chance(&mut self, p: f64) -> bool {
            self.uniform() < p
        }
        fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
            median * (sigma * self.normal()).exp()
        }
    }

    fn predictor() -> PhasePredictor {
        PhasePredictor::new(&PredictorSettings {
            min_history: 10,
            confidence_threshold: 0.5,
        })
    }

    /// Feeds `n` runs from `gen(rng, run index)`; returns the failure probability predicted
    /// before each run (NaN while there is none).
    fn feed(
        p: &mut PhasePredictor,
        rng: &mut Rng,
        n: usize,
        mut generate: impl FnMut(&mut Rng, usize) -> (f64, bool),
    ) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let before = p.prediction().map_or(f64::NAN, |q| q.failure_probability);
                let (d, failed) = generate(rng, i);
                p.observe(d, failed);
                before
            })
            .collect()
    }

    /// Index of the first prediction at or after `from` that satisfies `ok`, relative to `from`.
    fn first(probs: &[f64], from: usize, ok: impl Fn(f64) -> bool) -> usize {
        probs[from..]
            .iter()
            .position(|&q| ok(q))
            .unwrap_or(usize::MAX)
    }

    /// Runs `seeds` times: 300 runs at p = 0.05, 300 at 0.6, 300 at 0.05. Returns the worst
    /// number of runs to cross 0.3 upward and downward, and the lowest Brier skill.
    fn regime_change(seeds: u64) -> (usize, usize, f64) {
        let mut worst = (0, 0, f64::INFINITY);
        for seed in 1..=seeds {
            let mut rng = Rng(seed);
            let mut p = predictor();
            let probs = feed(&mut p, &mut rng, 900, |r, i| {
                let rate = if (300..600).contains(&i) { 0.6 } else { 0.05 };
                (r.lognormal(50.0, 0.4), r.chance(rate))
            });
            let skill = p.accuracy_parts().finish().brier_skill.unwrap();
            worst.0 = worst.0.max(first(&probs, 300, |q| q >= 0.3));
            worst.1 = worst.1.max(first(&probs, 600, |q| q < 0.3));
            worst.2 = worst.2.min(skill);
        }
        worst
    }

    #[test]
    fn stationary_phase_converges() {
        let mut rng = Rng(7);
        let mut p = predictor();
        feed(&mut p, &mut rng, 300, |r, _| {
            (r.lognormal(50.0, 0.5), r.chance(0.2))
        });
        let q = p.prediction().unwrap();
        assert!((q.failure_probability - 0.2).abs() < 0.08, "{q:?}");
        assert!((q.expected_ms / 50.0 - 1.0).abs() < 0.15, "{q:?}");
        assert!(q.p90_ms > q.expected_ms);
        assert_eq!(q.based_on, 300);
    }

    #[test]
    fn regime_change_is_followed_and_skill_is_positive() {
        // Measured over 20 seeds: worst 18 runs up, 15 down, lowest skill 0.25 (the experts
        // model follows a turn to flaky 3 runs later than the three-member one did).
        let (up, down, skill) = regime_change(20);
        assert!(up <= 20 && down <= 18 && skill > 0.2, "{up} {down} {skill}");
    }

    #[test]
    fn slowdown_is_followed() {
        let mut worst = 0;
        for seed in 1..=20 {
            let mut rng = Rng(seed);
            let mut p = predictor();
            feed(&mut p, &mut rng, 300, |r, _| {
                (r.lognormal(50.0, 0.4), false)
            });
            let mut runs = 0;
            // Median x3: count runs until the expected duration is within 25 % of 150 ms.
            while p.prediction().unwrap().expected_ms < 150.0 / 1.25 {
                p.observe(rng.lognormal(150.0, 0.4), false);
                runs += 1;
            }
            worst = worst.max(runs);
        }
        assert!(worst <= 30, "{worst}"); // measured: 18
    }

    #[test]
    fn p90_coverage_is_calibrated_whatever_the_shape() {
        type Generator = fn(&mut Rng) -> f64;
        let shapes: [Generator; 4] = [
            |r| r.lognormal(50.0, 0.5),
            |r| 10.0 / r.uniform().powf(1.0 / 1.5), // Pareto, alpha 1.5 (infinite variance)
            |r| {
                if r.chance(0.7) {
                    r.lognormal(10.0, 0.1)
                } else {
                    r.lognormal(100.0, 0.1)
                }
            },
            |r| -20.0 * r.uniform().ln(), // exponential
        ];
        for (i, shape) in shapes.into_iter().enumerate() {
            for seed in 1..=10 {
                let mut rng = Rng(seed);
                let mut p = predictor();
                feed(&mut p, &mut rng, 2000, |r, _| (shape(r), false));
                let coverage = p.accuracy_parts().finish().p90_coverage.unwrap();
                // Measured: 0.895..0.904 over all shapes and seeds.
                assert!(
                    (0.8..=0.97).contains(&coverage),
                    "shape {i} seed {seed}: {coverage}"
                );
            }
        }
    }

    #[test]
    fn stationary_skill_is_close_to_the_base_rate() {
        for (rate, seed) in [(0.1, 1), (0.1, 2), (0.1, 3), (0.01, 4), (0.01, 5)] {
            let mut rng = Rng(seed);
            let mut p = predictor();
            feed(&mut p, &mut rng, 3000, |r, _| {
                (r.lognormal(5.0, 0.3), r.chance(rate))
            });
            let skill = p.accuracy_parts().finish().brier_skill.unwrap();
            assert!(skill >= -0.02, "rate {rate}: {skill}"); // 20 seeds: worst -0.006 (0.1), -0.012 (0.01)
        }
    }

    #[test]
    fn no_prediction_before_min_history_and_confidence_grows() {
        let mut rng = Rng(3);
        let mut p = predictor();
        for _ in 0..10 {
            assert!(p.prediction().is_none());
            assert!(
                !p.observe(rng.lognormal(5.0, 0.3), rng.chance(0.1))
                    .predicted
            );
        }
        let early = p.prediction().unwrap().confidence;
        feed(&mut p, &mut rng, 300, |r, _| {
            (r.lognormal(5.0, 0.3), r.chance(0.1))
        });
        let late = p.prediction().unwrap().confidence;
        assert!((0.0..=1.0).contains(&early) && (0.0..=1.0).contains(&late));
        assert!(late > early + 0.2, "{early} -> {late}");
        assert_eq!(p.made(), 300);
    }

    #[test]
    fn bad_durations_do_not_poison_the_state() {
        let mut rng = Rng(5);
        let mut p = predictor();
        feed(&mut p, &mut rng, 50, |r, _| (r.lognormal(5.0, 0.3), false));
        for d in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0] {
            p.observe(d, true);
        }
        assert_eq!(p.ignored_durations(), 4);
        // Zero and huge durations are valid and must stay finite.
        p.observe(0.0, false);
        p.observe(1e300, false);
        p.observe(f64::MAX, false);
        let q = p.prediction().unwrap();
        let all = [q.failure_probability, q.expected_ms, q.p90_ms, q.confidence];
        assert!(all.iter().all(|v| v.is_finite()), "{q:?}");
        feed(&mut p, &mut rng, 200, |r, _| (r.lognormal(5.0, 0.3), false));
        let q = p.prediction().unwrap();
        assert!((q.expected_ms / 5.0 - 1.0).abs() < 0.3, "{q:?}");
        assert!(q.failure_probability < 0.05, "{q:?}");
    }

    #[test]
    fn memory_is_bounded() {
        assert!(std::mem::size_of::<PhasePredictor>() < 5120);
        let mut rng = Rng(9);
        let mut p = predictor();
        feed(&mut p, &mut rng, 5000, |r, _| {
            (r.lognormal(5.0, 0.3), false)
        });
        assert_eq!(p.accuracy_parts().ape.len(), APE_RING);
    }

    #[test]
    fn high_risk_is_counted_and_edge_triggered() {
        let mut p = predictor();
        let scored: Vec<Scored> = (0..40).map(|i| p.observe(1.0, i >= 20)).collect();
        assert_eq!(scored.iter().filter(|s| s.became_high_risk).count(), 1);
        assert_eq!(
            p.high_risk(),
            scored.iter().filter(|s| s.high_risk).count() as u64
        );
        assert!(p.high_risk() > 10 && p.made() == 30);
    }

    #[test]
    fn merged_parts_use_per_phase_base_rates() {
        // One phase always fails, one never does: each is perfectly predictable by its own
        // base rate, so the reference is 0 and there is no skill, although pooling the two
        // phases would give a base rate of 1/2.
        let mut failing = predictor();
        let mut fine = predictor();
        for _ in 0..100 {
            failing.observe(2.0, true);
            fine.observe(4.0, false);
        }
        let mut parts = failing.accuracy_parts();
        fine.add_accuracy_to(&mut parts);
        let a = parts.finish();
        assert_eq!(a.scored, 180);
        assert_eq!(a.brier_skill, None);
        assert!(a.brier.unwrap() < 0.01 && a.duration_mape.unwrap() < 1e-6);
        assert_eq!(a.p90_coverage, Some(1.0));
        assert_eq!(
            AccuracyParts::default().finish(),
            PredictionAccuracy::default()
        );
    }
}
