//! Synthetic phase workloads, one generator per class of behaviour the predictor must handle.
//!
//! Every generator draws its own parameters from the seed (base rates, burst lengths, periods,
//! change points, slowdown factors), so two seeds of one class are two different phases of the
//! same kind: settings chosen on some seeds are judged on others.

/// A class of workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A constant failure rate and a constant duration distribution.
    Stationary,
    /// The failure rate jumps between levels at a few random runs.
    RegimeChange,
    /// Rare bursts of consecutive failures (a two-state Markov process).
    Bursts,
    /// Some runs are slow; the run after a slow one often fails.
    FailsAfterSlow,
    /// Every `k`-th run fails (with a little noise on both sides).
    Periodic,
    /// Durations slow down from a random run on, and failures (timeouts) rise with them.
    Slowdown,
}

impl Class {
    /// Every class, in the table's order.
    pub const ALL: [Class; 6] = [
        Class::Stationary,
        Class::RegimeChange,
        Class::Bursts,
        Class::FailsAfterSlow,
        Class::Periodic,
        Class::Slowdown,
    ];

    /// The class's name in the table.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Class::Stationary => "stationary",
            Class::RegimeChange => "regime change",
            Class::Bursts => "bursts",
            Class::FailsAfterSlow => "fails after slow",
            Class::Periodic => "periodic",
            Class::Slowdown => "slowdown",
        }
    }
}

/// One run of a workload: its duration and whether it failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    /// Duration in milliseconds.
    pub duration_ms: f64,
    /// Whether the run failed.
    pub failed: bool,
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u = rng.f64().max(f64::MIN_POSITIVE);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos()
}

/// A log-normal duration with median `median` and log-scale spread `sigma`.
fn lognormal(rng: &mut fastrand::Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A uniform draw in `[lo, hi)`.
fn between(rng: &mut fastrand::Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.f64()
}

/// `runs` runs of a workload of `class`, parameters and noise drawn from `seed`.
#[must_use]
pub fn generate(class: Class, seed: u64, runs: usize) -> Vec<Run> {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ class as u64);
    let median = between(&mut rng, 0.5, 50.0);
    let sigma = between(&mut rng, 0.1, 0.6);
    let mut out = Vec::with_capacity(runs);
    match class {
        Class::Stationary => {
            let p = between(&mut rng, 0.01, 0.35);
            for _ in 0..runs {
                let d = lognormal(&mut rng, median, sigma);
                out.push(Run {
                    duration_ms: d,
                    failed: rng.f64() < p,
                });
            }
        }
        Class::RegimeChange => {
            // Two to four regimes of random lengths, alternating calm and flaky.
            let calm = between(&mut rng, 0.0, 0.08);
            let flaky = between(&mut rng, 0.25, 0.8);
            let regimes = 2 + rng.usize(0..3);
            let mut changes: Vec<usize> =
                (1..regimes).map(|_| rng.usize(runs / 10..runs)).collect();
            changes.sort_unstable();
            let start_flaky = rng.bool();
            for i in 0..runs {
                let regime = changes.iter().filter(|&&c| i >= c).count();
                let p = if (regime % 2 == 1) ^ start_flaky {
                    flaky
                } else {
                    calm
                };
                out.push(Run {
                    duration_ms: lognormal(&mut rng, median, sigma),
                    failed: rng.f64() < p,
                });
            }
        }
        Class::Bursts => {
            let calm = between(&mut rng, 0.0, 0.05);
            let enter = between(&mut rng, 0.01, 0.05);
            let mean_length = between(&mut rng, 3.0, 12.0);
            let in_burst = between(&mut rng, 0.75, 1.0);
            let mut bursting = false;
            for _ in 0..runs {
                bursting = if bursting {
                    rng.f64() >= 1.0 / mean_length
                } else {
                    rng.f64() < enter
                };
                let p = if bursting { in_burst } else { calm };
                out.push(Run {
                    duration_ms: lognormal(&mut rng, median, sigma),
                    failed: rng.f64() < p,
                });
            }
        }
        Class::FailsAfterSlow => {
            let base = between(&mut rng, 0.01, 0.08);
            let slow_share = between(&mut rng, 0.05, 0.2);
            let slow_factor = between(&mut rng, 2.0, 5.0);
            let after_slow = between(&mut rng, 0.35, 0.9);
            let mut previous_slow = false;
            for _ in 0..runs {
                let slow = rng.f64() < slow_share;
                let factor = if slow { slow_factor } else { 1.0 };
                let p = if previous_slow { after_slow } else { base };
                out.push(Run {
                    duration_ms: lognormal(&mut rng, median * factor, sigma),
                    failed: rng.f64() < p,
                });
                previous_slow = slow;
            }
        }
        Class::Periodic => {
            let period = 3 + rng.usize(0..12);
            let offset = rng.usize(0..period);
            let on = between(&mut rng, 0.85, 1.0);
            let off = between(&mut rng, 0.0, 0.04);
            for i in 0..runs {
                let p = if i % period == offset { on } else { off };
                out.push(Run {
                    duration_ms: lognormal(&mut rng, median, sigma),
                    failed: rng.f64() < p,
                });
            }
        }
        Class::Slowdown => {
            let start = rng.usize(runs / 5..runs * 3 / 5);
            let ramp = 1 + rng.usize(0..runs / 4);
            let factor = between(&mut rng, 1.5, 4.0);
            let base = between(&mut rng, 0.0, 0.06);
            let timeouts = between(&mut rng, 0.1, 0.4);
            for i in 0..runs {
                let progress = ((i as f64 - start as f64) / ramp as f64).clamp(0.0, 1.0);
                let d = lognormal(&mut rng, median * (1.0 + (factor - 1.0) * progress), sigma);
                out.push(Run {
                    duration_ms: d,
                    failed: rng.f64() < base + timeouts * progress,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_deterministic_and_classes_differ() {
        for class in Class::ALL {
            let a = generate(class, 3, 500);
            assert_eq!(a, generate(class, 3, 500));
            assert_ne!(a, generate(class, 4, 500));
            assert!(
                a.iter()
                    .all(|r| r.duration_ms.is_finite() && r.duration_ms > 0.0)
            );
        }
        // Periodic: failures are concentrated on one residue of some period.
        let runs = generate(Class::Periodic, 5, 700);
        let failures = runs.iter().filter(|r| r.failed).count();
        assert!(failures > 700 / 15 && failures < 700 / 2, "{failures}");
    }
}
