//! The engines, driven through the runtime with synthetic phases of known behaviour:
//! predictions that follow a regime change and score themselves, anomalies on phase durations
//! and their handlers, the optimizer's recommendations, and each engine's on/off switch.
//!
//! Runs are fed with `Runtime::record_run` (durations drawn from known distributions, no
//! sleeping) and `flush()` lets the engines catch up exactly where the test needs them to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use analytics_runtime::report::{RecommendationKind, Severity};
use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};

/// splitmix64: a deterministic source for the synthetic phases.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A log-normal duration around `median_ms`.
    fn duration(&mut self, median_ms: f64, sigma: f64) -> Duration {
        let (u1, u2) = (self.uniform().max(1e-12), self.uniform());
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        Duration::from_secs_f64(median_ms * (sigma * normal).exp() / 1000.0)
    }
}

fn outcome(failed: bool) -> Outcome {
    if failed {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}

fn failure_probability(rt: &Runtime, name: &str) -> f64 {
    rt.report()
        .phase(name)
        .and_then(|p| p.prediction)
        .expect("a prediction")
        .failure_probability
}

#[test]
fn no_prediction_before_min_history_then_one_for_every_run() {
    let rt = Runtime::new(AnalyticsConfig::default());
    let mut rng = Rng(1);
    for _ in 0..9 {
        rt.record_run("plan", rng.duration(5.0, 0.3), Outcome::Success);
    }
    let report = rt.report();
    assert!(report.phase("plan").unwrap().prediction.is_none());
    assert_eq!(report.predictions.made, 0);
    rt.record_run("plan", rng.duration(5.0, 0.3), Outcome::Success);
    let prediction = rt.report().phase("plan").unwrap().prediction.unwrap();
    assert_eq!(prediction.based_on, 10);
    assert!((0.0..=1.0).contains(&prediction.confidence));
    assert!(prediction.expected_ms > 2.0 && prediction.expected_ms < 12.0);
    assert!(prediction.p90_ms >= prediction.expected_ms);
    for _ in 0..5 {
        rt.record_run("plan", rng.duration(5.0, 0.3), Outcome::Success);
    }
    let report = rt.report();
    assert_eq!(report.predictions.made, 5);
    assert_eq!(report.predictions.accuracy.scored, 5);
}

/// A phase fails 5% of the time, turns flaky (60%) at run 300 and recovers at run 600.
/// Stated bounds: the failure probability crosses 0.3 within 20 runs of each change.
#[test]
fn failure_probability_follows_a_regime_change_within_20_runs() {
    let rt = Runtime::new(AnalyticsConfig::default());
    let mut rng = Rng(7);
    let mut run = |rt: &Runtime, p: f64| {
        let failed = rng.uniform() < p;
        rt.record_run("deploy", rng.duration(20.0, 0.4), outcome(failed));
        rt.flush();
    };
    for _ in 0..300 {
        run(&rt, 0.05);
    }
    assert!(failure_probability(&rt, "deploy") < 0.2);
    let mut crossed_up = None;
    for i in 0..300 {
        run(&rt, 0.6);
        if crossed_up.is_none() && failure_probability(&rt, "deploy") > 0.3 {
            crossed_up = Some(i + 1);
        }
    }
    let up = crossed_up.expect("the prediction followed the phase turning flaky");
    assert!(up <= 20, "crossed 0.3 after {up} runs");
    let mut crossed_down = None;
    for i in 0..300 {
        run(&rt, 0.05);
        if crossed_down.is_none() && failure_probability(&rt, "deploy") < 0.3 {
            crossed_down = Some(i + 1);
        }
    }
    let down = crossed_down.expect("the prediction followed the recovery");
    assert!(down <= 20, "fell under 0.3 after {down} runs");

    let report = rt.report();
    let accuracy = &report.phase("deploy").unwrap().prediction_accuracy;
    let skill = accuracy.brier_skill.unwrap();
    assert!(skill > 0.0, "Brier skill {skill} against the base rate");
    assert_eq!(accuracy.scored, 890);
    assert_eq!(report.predictions.accuracy.scored, 890);
    assert_eq!(report.predictions.accuracy.brier_skill, Some(skill));
}

/// The report's trend: the failure rate and the prediction over the whole history, bounded.
#[test]
fn the_trend_shows_a_phase_turning_flaky_and_recovering() {
    let rt = Runtime::new(AnalyticsConfig::default());
    let mut rng = Rng(11);
    // 600 healthy runs, 600 at a 60 % failure rate, 600 healthy again, and a few cancelled
    // runs, which the trend does not count.
    for (p, runs) in [(0.02, 600), (0.6, 600), (0.02, 600)] {
        for i in 0..runs {
            let failed = rng.uniform() < p;
            rt.record_run("deploy", rng.duration(20.0, 0.4), outcome(failed));
            // The engine reads the log well before it laps (it holds 512 runs).
            if i % 100 == 99 {
                rt.flush();
            }
        }
        rt.record_run("deploy", Duration::from_millis(1), Outcome::Cancelled);
    }
    let report = rt.report();
    let phase = report.phase("deploy").unwrap();
    let trend = &phase.trend;
    assert!((16..=33).contains(&trend.len()), "{} points", trend.len());
    assert_eq!(trend.iter().map(|p| p.runs).sum::<u64>(), 1800);
    assert_eq!(
        trend.iter().map(|p| p.failures).sum::<u64>(),
        phase.failures
    );
    assert_eq!(trend.last().unwrap().until_run, 1800);
    assert!(trend.windows(2).all(|w| w[0].until_run < w[1].until_run));
    // Points wholly inside each regime show its failure rate and the prediction following it.
    let inside = |from: u64, to: u64| {
        trend
            .iter()
            .filter(move |p| p.until_run - p.runs >= from && p.until_run <= to)
            .collect::<Vec<_>>()
    };
    let (healthy, flaky, recovered) = (inside(0, 600), inside(700, 1200), inside(1300, 1800));
    assert!(!healthy.is_empty() && !flaky.is_empty() && !recovered.is_empty());
    let mean = |points: &[&analytics_runtime::report::TrendPoint],
                f: &dyn Fn(&analytics_runtime::report::TrendPoint) -> f64| {
        points.iter().map(|p| f(p)).sum::<f64>() / points.len() as f64
    };
    let rate = |p: &analytics_runtime::report::TrendPoint| p.failure_rate;
    let predicted = |p: &analytics_runtime::report::TrendPoint| p.failure_probability.unwrap();
    assert!(mean(&healthy, &rate) < 0.1 && mean(&recovered, &rate) < 0.1);
    assert!((0.45..0.75).contains(&mean(&flaky, &rate)));
    assert!(
        mean(&flaky, &predicted) > 0.4,
        "{}",
        mean(&flaky, &predicted)
    );
    assert!(mean(&recovered, &predicted) < 0.2);
}

#[test]
fn p90_coverage_and_duration_error_on_three_distributions() {
    let rt = Runtime::new(AnalyticsConfig::default());
    let mut rng = Rng(11);
    for i in 0..2000 {
        rt.record_run("lognormal", rng.duration(30.0, 0.5), Outcome::Success);
        // Bimodal: a cache hit (5 ms) or a miss (40 ms).
        let median = if rng.uniform() < 0.7 { 5.0 } else { 40.0 };
        rt.record_run("bimodal", rng.duration(median, 0.1), Outcome::Success);
        // A slowdown: the median triples halfway.
        let median = if i < 1000 { 10.0 } else { 30.0 };
        rt.record_run("slowdown", rng.duration(median, 0.3), Outcome::Success);
        if i % 50 == 0 {
            rt.flush();
        }
    }
    let report = rt.report();
    for name in ["lognormal", "bimodal", "slowdown"] {
        let accuracy = &report.phase(name).unwrap().prediction_accuracy;
        let coverage = accuracy.p90_coverage.unwrap();
        assert!(
            (0.8..=0.97).contains(&coverage),
            "{name}: p90 coverage {coverage}"
        );
        assert!(
            accuracy.duration_mape.unwrap() < 0.6,
            "{name}: {accuracy:?}"
        );
    }
    let slowdown = report.phase("slowdown").unwrap().prediction.unwrap();
    assert!(
        (22.0..40.0).contains(&slowdown.expected_ms),
        "after the slowdown, expected {} ms",
        slowdown.expected_ms
    );
}

#[test]
fn a_high_risk_phase_is_counted() {
    let rt = Runtime::new(AnalyticsConfig::default());
    let mut rng = Rng(3);
    for _ in 0..100 {
        let failed = rng.uniform() < 0.8;
        rt.record_run("migrate", rng.duration(8.0, 0.2), outcome(failed));
    }
    let report = rt.report();
    let p = report.phase("migrate").unwrap().prediction.unwrap();
    assert!(p.failure_probability >= 0.5, "{p:?}");
    assert!(
        report.predictions.high_risk > 50,
        "{:?}",
        report.predictions
    );
    assert!(report.predictions.high_risk <= report.predictions.made);
}

#[test]
fn duration_spikes_are_anomalies_and_handlers_run_by_severity() {
    let rt = Runtime::new(AnalyticsConfig::default());
    let high = Arc::new(AtomicU64::new(0));
    let all = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&high);
    rt.on_anomaly(Severity::High, move |anomaly| {
        assert!(anomaly.severity >= Severity::High);
        seen.fetch_add(1, Ordering::SeqCst);
    });
    let seen = Arc::clone(&all);
    rt.on_anomaly(Severity::Low, move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    rt.on_anomaly(Severity::Low, |_| panic!("a broken handler"));
    let mut rng = Rng(5);
    for _ in 0..400 {
        rt.record_run("fetch", rng.duration(10.0, 0.05), Outcome::Success);
    }
    rt.flush();
    let before = rt.report().anomalies.total;
    rt.record_run("fetch", Duration::from_millis(400), Outcome::Success);
    let report = rt.report();
    assert_eq!(report.anomalies.total, before + 1);
    let spike = report.anomalies.recent.last().unwrap();
    assert_eq!(spike.key, "fetch.duration_ms");
    assert_eq!(spike.value, 400.0);
    assert!(spike.z_score > 6.0 && spike.severity == Severity::Critical);
    let stored_high = report
        .anomalies
        .recent
        .iter()
        .filter(|a| a.severity >= Severity::High)
        .count() as u64;
    assert!(stored_high >= 1);
    assert_eq!(high.load(Ordering::SeqCst), stored_high);
    assert_eq!(all.load(Ordering::SeqCst), report.anomalies.total);
    assert_eq!(report.runtime.handler_panics, report.anomalies.total);
    assert_eq!(report.runtime.errors_caught, 0);
}

#[test]
fn repeated_spikes_on_one_phase_form_a_pattern() {
    let rt = Runtime::new(AnalyticsConfig::default());
    let mut rng = Rng(9);
    for _ in 0..400 {
        rt.record_run("review", rng.duration(10.0, 0.05), Outcome::Success);
    }
    // Each spike is worse than the last: an identical spike already in the history is no
    // longer novel to the detector (it rates values against the stream's recent extremes).
    for spike in [500, 1500, 4500, 13_500] {
        for _ in 0..10 {
            rt.record_run("review", rng.duration(10.0, 0.05), Outcome::Success);
        }
        rt.record_run("review", Duration::from_millis(spike), Outcome::Success);
    }
    let report = rt.report();
    let pattern = report
        .patterns
        .iter()
        .find(|p| p.key == "review.duration_ms")
        .expect("a pattern");
    assert!(pattern.count >= 4, "{pattern:?}");
    assert!(pattern.first <= pattern.last);
}

#[test]
fn the_optimizer_runs_every_interval_and_ranks_its_recommendations() {
    let mut config = AnalyticsConfig::default();
    config.optimizer.interval = 50;
    config.thresholds.phase_slow = 0.1; // seconds: `compile` (300 ms) is slow
    let rt = Runtime::new(config);
    let mut rng = Rng(13);
    for _ in 0..49 {
        rt.record_run("compile", rng.duration(300.0, 0.1), Outcome::Success);
    }
    let report = rt.report();
    assert_eq!(report.runtime.optimizer_runs, 0);
    assert!(report.recommendations.is_empty());
    for _ in 0..51 {
        rt.record_run("compile", rng.duration(300.0, 0.1), Outcome::Success);
        let failed = rng.uniform() < 0.3;
        rt.record_run("test", rng.duration(5.0, 0.1), outcome(failed));
    }
    let report = rt.report();
    // 151 runs analysed: a pass each time a catch-up crosses a multiple of 50 (the background
    // worker may have caught up in between, so one to three passes).
    assert!((1..=3).contains(&report.runtime.optimizer_runs));
    let kinds: Vec<_> = report
        .recommendations
        .iter()
        .map(|r| (r.kind, r.phase.as_deref()))
        .collect();
    assert!(
        kinds.contains(&(RecommendationKind::SlowPhase, Some("compile"))),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(RecommendationKind::FlakyPhase, Some("test"))),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(RecommendationKind::DominantPhase, Some("compile"))),
        "{kinds:?}"
    );
    let priorities: Vec<_> = report.recommendations.iter().map(|r| r.priority).collect();
    let mut sorted = priorities.clone();
    sorted.sort();
    assert_eq!(priorities, sorted);
    for r in &report.recommendations {
        assert!(
            r.estimated_gain_ms.is_finite() && !r.evidence.is_empty(),
            "{r:?}"
        );
    }
}

#[test]
fn each_engine_is_switched_off_by_its_section() {
    let mut config = AnalyticsConfig::default();
    config.predictive.enabled = false;
    config.anomaly.enabled = false;
    config.optimizer.enabled = false;
    config.optimizer.interval = 10;
    let rt = Runtime::new(config);
    let mut rng = Rng(17);
    for _ in 0..300 {
        rt.record_run("p", rng.duration(10.0, 0.05), outcome(rng.uniform() < 0.5));
    }
    rt.record_run("p", Duration::from_secs(5), Outcome::Success);
    assert!(rt.observe("metric", 1.0).is_none());
    let report = rt.report();
    assert_eq!(report.phase("p").unwrap().executions, 301);
    assert!(report.phase("p").unwrap().prediction.is_none());
    assert_eq!(report.predictions.made, 0);
    assert_eq!(report.anomalies.total, 0);
    assert!(report.recommendations.is_empty());
    assert_eq!(report.runtime.optimizer_runs, 0);
    assert!(report.runtime.engines.values().all(|on| !on));
}

#[test]
fn non_finite_values_never_reach_the_statistics() {
    let rt = Runtime::new(AnalyticsConfig::default());
    for i in 0..200 {
        rt.observe("temperature", 20.0 + f64::from(i % 3));
    }
    assert!(rt.observe("temperature", f64::NAN).is_none());
    assert!(rt.observe("temperature", f64::INFINITY).is_none());
    assert!(rt.observe("temperature", 21.0).is_none());
    let report = rt.report();
    assert_eq!(report.runtime.values_ignored, 2);
    assert_eq!(report.anomalies.total, 0);
}

#[test]
fn absurd_durations_are_saturated_and_never_poison_the_statistics() {
    let rt = Runtime::new(AnalyticsConfig::default());
    let mut rng = Rng(21);
    for _ in 0..200 {
        rt.record_run("sync", rng.duration(10.0, 0.2), Outcome::Success);
    }
    rt.record_run("sync", Duration::MAX, Outcome::Success);
    rt.record_run("sync", Duration::ZERO, Outcome::Success);
    for _ in 0..50 {
        rt.record_run("sync", rng.duration(10.0, 0.2), Outcome::Success);
    }
    let report = rt.report();
    let sync = report.phase("sync").unwrap();
    assert_eq!(sync.executions, 252);
    let d = &sync.duration_ms;
    for value in [
        d.mean,
        d.min,
        d.max,
        d.p50,
        d.p90,
        d.p99,
        d.std_dev,
        sync.total_ms,
    ] {
        assert!(value.is_finite() && value >= 0.0, "{d:?}");
    }
    let prediction = sync.prediction.unwrap();
    assert!(prediction.expected_ms.is_finite() && prediction.expected_ms < 100.0);
    assert!(prediction.p90_ms.is_finite());
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("NaN") && !json.contains("inf"));
    assert_eq!(report.runtime.errors_caught, 0);
}
