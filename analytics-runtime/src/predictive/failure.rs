//! The failure-probability model: online-weighted experts, each a discounted Beta-Bernoulli
//! counter per *context* (issue 12, point 4).
//!
//! A single recency-weighted rate is no better than the running mean on a stationary phase and
//! far worse than "the next run ends like the last one" when failures come in bursts. So the
//! model is a mix of experts that each see the history differently:
//!
//! * **rate** experts (no context) with half-lives of 5 and 40 runs and one that never forgets
//!   (the running mean, smoothed): they follow regime changes and are quiet when stationary;
//! * **persistence** experts: P(fail | previous outcome) (Markov-1, forever and with a 40-run
//!   half-life) and P(fail | previous two outcomes) (Markov-2): bursts of consecutive failures;
//! * **period** experts: P(fail | outcome `k` runs ago) for every lag `k` up to [`MAX_LAG`]: a
//!   phase that fails every 7th run is predicted exactly once a few periods were seen;
//! * a **covariate** expert: P(fail | how slow the previous run was), with the previous run's
//!   log-duration residual in three bands: failures that follow slow runs.
//!
//! Every context's counts are smoothed toward the all-time rate (one pseudo-run), so a context
//! seen rarely predicts the base rate rather than 1/2. The mix is Bayesian (each weight times
//! the likelihood the expert gave the outcome, i.e. exponential weights on log loss) with a
//! small fixed share ([`SHARE`]) spread back along the prior, so an expert that starts being
//! right can take over within a few runs. The prior puts half the mass on the rate experts: on a
//! stationary phase the many context experts cost little (their weight decays geometrically),
//! and the mix ends up within a hair of the running mean.
//!
//! Everything is fixed-size; nothing allocates.

/// The largest lag of the period experts: periods up to this many runs are detected.
pub(crate) const MAX_LAG: usize = 24;
/// Experts that are not period experts: 3 rate, 2 Markov-1, 1 Markov-2, 1 covariate.
const BASE_EXPERTS: usize = 7;
/// All experts: the base ones and one per lag from 2 to `MAX_LAG`.
pub(crate) const EXPERTS: usize = BASE_EXPERTS + MAX_LAG - 1;
/// Index of the all-time rate expert (the running mean).
const ALL_TIME: usize = 2;
/// Fixed share: the fraction of weight spread back along the prior after each run.
const SHARE: f64 = 0.0005;
/// Prior mass of the three rate experts together (the rest is shared by the others).
const RATE_PRIOR: f64 = 0.95;
/// Pseudo-count of the smoothing toward the all-time rate.
const PRIOR_COUNT: f64 = 1.0;
/// Learning rate of the top-level switch between the mix and the all-time rate, per unit of
/// cumulative Brier loss.
const SWITCH_RATE: f64 = 20.0;
/// Residual bands (in standard deviations of `ln(duration)`) of the covariate expert.
const SLOW_BANDS: [f64; 2] = [0.67, 1.64];

/// What an expert conditions on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Nothing: one rate.
    Rate,
    /// The outcome `k` runs ago (1 = the previous run).
    Lag(u8),
    /// The previous two outcomes.
    LastTwo,
    /// How slow the previous run was (its band of log-duration residual).
    Slow,
}

impl Context {
    /// The context index for the next run (`None` while the history is too short).
    fn index(self, history: u64, known: u32, slow: u8) -> Option<usize> {
        match self {
            Context::Rate => Some(0),
            Context::Lag(k) => (known >= u32::from(k)).then(|| (history >> (k - 1) & 1) as usize),
            Context::LastTwo => (known >= 2).then_some((history & 3) as usize),
            Context::Slow => (known >= 1).then_some(usize::from(slow)),
        }
    }
}

/// One expert: discounted counts per context, and its weight in the mix.
#[derive(Debug, Clone, Copy)]
struct Expert {
    context: Context,
    /// Discount applied to the counts before each run (1 = never forget).
    decay: f64,
    /// Discounted failures per context.
    failures: [f64; 4],
    /// Discounted runs per context.
    runs: [f64; 4],
    /// Prior weight (the fixed share goes back along it).
    prior: f64,
    /// Posterior weight (the weights sum to 1).
    weight: f64,
}

/// Per-run discount for a half-life in runs (1 for an infinite half-life).
pub(crate) fn decay(half_life: f64) -> f64 {
    (-std::f64::consts::LN_2 / half_life).exp()
}

/// The failure model of one phase.
#[derive(Debug, Clone)]
pub(crate) struct FailureModel {
    experts: [Expert; EXPERTS],
    /// Bit `i`: the outcome `i + 1` runs ago (1 = failed).
    history: u64,
    /// Outcomes in `history` (saturates at 64).
    known: u32,
    /// Band of the previous run's log-duration residual (0 fast .. 2 slow).
    slow: u8,
    /// Cumulative Brier loss of the experts' mix minus that of the all-time rate alone: the
    /// top-level switch between the two (see [`FailureModel::estimate`]).
    advantage: f64,
}

/// The mix's view of the next run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FailureEstimate {
    /// Failure probability.
    pub(crate) probability: f64,
    /// Weighted standard deviation of the experts' probabilities around it.
    pub(crate) spread: f64,
    /// Weighted mean of the (discounted) runs behind each expert's context.
    pub(crate) n_eff: f64,
}

impl FailureModel {
    /// A model with no history.
    pub(crate) fn new() -> FailureModel {
        let mut specs = [(Context::Rate, f64::INFINITY); EXPERTS];
        specs[0] = (Context::Rate, 5.0);
        specs[1] = (Context::Rate, 40.0);
        specs[ALL_TIME] = (Context::Rate, f64::INFINITY);
        specs[3] = (Context::Lag(1), f64::INFINITY);
        specs[4] = (Context::Lag(1), 40.0);
        specs[5] = (Context::LastTwo, f64::INFINITY);
        specs[6] = (Context::Slow, f64::INFINITY);
        for (i, spec) in specs[BASE_EXPERTS..].iter_mut().enumerate() {
            *spec = (Context::Lag(i as u8 + 2), f64::INFINITY);
        }
        let experts = specs.map(|(context, half_life)| {
            let prior = if context == Context::Rate {
                RATE_PRIOR / 3.0
            } else {
                (1.0 - RATE_PRIOR) / (EXPERTS - 3) as f64
            };
            Expert {
                context,
                decay: decay(half_life),
                failures: [0.0; 4],
                runs: [0.0; 4],
                prior,
                weight: prior,
            }
        });
        FailureModel {
            experts,
            history: 0,
            known: 0,
            slow: 0,
            advantage: 0.0,
        }
    }

    /// The all-time rate, smoothed toward 1/2.
    fn all_time(&self) -> f64 {
        let e = &self.experts[ALL_TIME];
        (e.failures[0] + PRIOR_COUNT * 0.5) / (e.runs[0] + PRIOR_COUNT)
    }

    /// Each expert's probability for the next run and the runs behind it.
    fn probabilities(&self) -> [(f64, f64); EXPERTS] {
        let base = self.all_time();
        self.experts.map(|e| {
            match e.context.index(self.history, self.known, self.slow) {
                // The all-time expert is smoothed toward 1/2, the others toward its rate, so
                // a short memory or a rare context is not pulled toward an arbitrary 1/2.
                Some(c) if e.context == Context::Rate && e.decay == 1.0 => (base, e.runs[c]),
                Some(c) => (
                    (e.failures[c] + PRIOR_COUNT * base) / (e.runs[c] + PRIOR_COUNT),
                    e.runs[c],
                ),
                None => (base, 0.0),
            }
        })
    }

    /// The mix for the next run: the experts' mix, switched (exponential weights on the
    /// cumulative Brier loss, learning rate [`SWITCH_RATE`]) with the all-time rate alone.
    /// On a stationary phase the mix is only ever the all-time rate plus the noise of the
    /// experts still being weighed; the switch then leans to the rate itself, so the engine
    /// does not pay, in Brier, for the experts it needs on other workloads.
    pub(crate) fn estimate(&self) -> FailureEstimate {
        let mix = self.mix();
        let lean = 1.0 / (1.0 + (SWITCH_RATE * self.advantage).clamp(-700.0, 700.0).exp());
        FailureEstimate {
            probability: (lean * mix.probability + (1.0 - lean) * self.all_time()).clamp(0.0, 1.0),
            ..mix
        }
    }

    /// The experts' mix alone.
    fn mix(&self) -> FailureEstimate {
        let probs = self.probabilities();
        let total: f64 = self.experts.iter().map(|e| e.weight).sum();
        let mut p = 0.0;
        let mut n_eff = 0.0;
        for (e, (q, n)) in self.experts.iter().zip(probs) {
            p += e.weight * q;
            n_eff += e.weight * n;
        }
        p /= total;
        n_eff /= total;
        let spread = (self
            .experts
            .iter()
            .zip(probs)
            .map(|(e, (q, _))| e.weight * (q - p).powi(2))
            .sum::<f64>()
            / total)
            .sqrt();
        FailureEstimate {
            probability: p.clamp(0.0, 1.0),
            spread,
            n_eff,
        }
    }

    /// One outcome: reweights the experts by the likelihood they gave it, then counts it in
    /// each expert's context. `residual_sd`: the run's log-duration residual in standard
    /// deviations (`None` if its duration was unusable), the covariate of the next run.
    pub(crate) fn observe(&mut self, failed: bool, residual_sd: Option<f64>) {
        let outcome = f64::from(u8::from(failed));
        self.advantage +=
            (self.mix().probability - outcome).powi(2) - (self.all_time() - outcome).powi(2);
        let probs = self.probabilities();
        let mut total = 0.0;
        for (e, (q, _)) in self.experts.iter_mut().zip(probs) {
            // Never 0: every probability is smoothed strictly inside (0, 1).
            e.weight *= if failed { q } else { 1.0 - q };
            total += e.weight;
        }
        // Renormalising every run keeps the weights far from underflow.
        for e in &mut self.experts {
            e.weight = (1.0 - SHARE) * e.weight / total + SHARE * e.prior;
        }
        let (history, known, slow) = (self.history, self.known, self.slow);
        for e in &mut self.experts {
            for c in 0..4 {
                e.failures[c] *= e.decay;
                e.runs[c] *= e.decay;
            }
            if let Some(c) = e.context.index(history, known, slow) {
                e.failures[c] += outcome;
                e.runs[c] += 1.0;
            }
        }
        self.history = self.history << 1 | u64::from(failed);
        self.known = (self.known + 1).min(64);
        self.slow = residual_sd.map_or(0, |z| {
            SLOW_BANDS.iter().filter(|&&band| z >= band).count() as u8
        });
    }
}
