//! The optimizer: turns a snapshot of per-phase statistics (and, when monitored, the process's
//! resources) into prioritised [`Recommendation`]s. Pure logic, no state, no I/O.
//!
//! Durations in [`PhaseReport`] are milliseconds over the last `window_runs` runs; "the window"
//! below means those runs, and every `estimated_gain_ms` is a saving over the window.
//!
//! | kind | fires when | priority | `estimated_gain_ms` |
//! |---|---|---|---|
//! | `slow_phase` | `window_runs >= 10` and p50 > `phase_slow_s` | p50/threshold ≥ 5 critical, ≥ 2 high, ≥ 1.25 medium, else low | (p50 − threshold) × `window_runs` |
//! | `dominant_phase` | ≥ 2 phases with runs, `window_runs >= 10`, share of Σ `total_ms` > 50 % | share ≥ 90 % high, ≥ 70 % medium, else low | 20 % of the phase's window time |
//! | `flaky_phase` | `executions >= 20` and failure rate ≥ 5 % | rate ≥ 50 % critical (> 95 %: broken), ≥ 20 % high, ≥ 10 % medium, else low | `failure_rate` × `window_runs` × mean |
//! | `high_variance` | `window_runs >= 20` and (cv > 1 or p99/p50 > 5) | cv > 2 or p99/p50 > 20 high, else medium | (p90 − p50) × `window_runs` × 0.1 |
//! | `memory_high` | rss > `memory_high_mb` | ≥ 2× critical, ≥ 1.25× high, else medium | 0 |
//! | `cpu_high` | cpu > `cpu_high_pct` | ≥ 1.25× high, else medium | 0 |
//!
//! Output is sorted by priority (critical first), then gain (largest first), then phase name,
//! then kind, so equal inputs always give the same list.

use crate::report::{PhaseReport, Priority, Recommendation, RecommendationKind as Kind};

/// What the optimizer reads about the process (None until resources are monitored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ResourceUsage {
    /// Resident set size, in MB.
    pub(crate) rss_mb: f64,
    /// CPU use of the process, in percent of one core (may exceed 100 on several cores).
    pub(crate) cpu_percent: f64,
}

/// Thresholds from the config: `phase_slow` in SECONDS, `memory_high` in MB, `cpu_high` in %.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OptimizerThresholds {
    /// `thresholds.phase_slow`: a phase whose median run is longer is slow, in seconds.
    pub(crate) phase_slow_s: f64,
    /// `thresholds.memory_high`: RSS above this is high, in MB.
    pub(crate) memory_high_mb: f64,
    /// `thresholds.cpu_high`: CPU above this is high, in percent.
    pub(crate) cpu_high_pct: f64,
}

/// Fewer window runs than this say too little about durations to act on.
const MIN_WINDOW_RUNS: usize = 10;
/// Spread needs more samples than a level: a p99 from fewer than 20 runs is just the max.
const VARIANCE_MIN_RUNS: usize = 20;
/// A failure rate from fewer executions is noise (one failure in 10 runs is already 10 %).
const FLAKY_MIN_EXECUTIONS: u64 = 20;
/// Failure rates from this one up are intermittent failures worth a look.
const FLAKY_MIN_RATE: f64 = 0.05;
/// Above this rate a phase is broken rather than flaky (it still gets reported, as critical).
const BROKEN_RATE: f64 = 0.95;
/// A phase above this share of all phases' window time dominates.
const DOMINANT_SHARE: f64 = 0.5;
/// The speed-up assumed for a dominant phase when estimating the gain.
const DOMINANT_SPEEDUP: f64 = 0.2;
/// Coefficient of variation (`std_dev` / mean) above which durations vary widely.
const CV_HIGH: f64 = 1.0;
/// p99 / p50 above which the tail is heavy.
const TAIL_RATIO_HIGH: f64 = 5.0;
/// Share of the p90 − p50 gap, per run, that taming the tail is assumed to save.
const TAIL_GAIN_FRACTION: f64 = 0.1;

/// All recommendations for `phases` (and `resources`, when known), most urgent first.
///
/// Never panics and never emits a NaN or infinity: non-finite inputs are read as 0, and
/// ratios with a zero denominator are not computed.
/// `phases` has one entry per name (as in a `Report`), hence one recommendation per kind and phase.
pub(crate) fn recommend(
    phases: &[PhaseReport],
    thresholds: &OptimizerThresholds,
    resources: Option<&ResourceUsage>,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    // The dominance denominator counts every phase with runs, even those too young to be
    // flagged themselves: their time is still part of the total.
    // Shares come from each phase's total time over all its runs: the statistics windows
    // all hold the same number of runs, so window time would under-weight frequent phases.
    let total_ms = |p: &PhaseReport| fin(p.total_ms).max(0.0);
    let with_runs = phases.iter().filter(|p| p.window_runs > 0).count();
    let all_ms: f64 = phases.iter().map(total_ms).sum();
    for p in phases {
        out.extend(slow_phase(p, thresholds.phase_slow_s));
        if with_runs >= 2 && all_ms > 0.0 {
            out.extend(dominant_phase(p, total_ms(p), all_ms));
        }
        out.extend(flaky_phase(p));
        out.extend(high_variance(p));
    }
    if let Some(r) = resources {
        let t = thresholds;
        out.extend(resource_high(Kind::MemoryHigh, r.rss_mb, t.memory_high_mb));
        out.extend(resource_high(Kind::CpuHigh, r.cpu_percent, t.cpu_high_pct));
    }
    sort(&mut out);
    out
}

/// Sorts recommendations most urgent first: by priority, then estimated gain (largest first),
/// then phase name, then kind, so the order is deterministic.
pub(crate) fn sort(recommendations: &mut [Recommendation]) {
    recommendations.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.estimated_gain_ms.total_cmp(&a.estimated_gain_ms))
            .then_with(|| a.phase.cmp(&b.phase))
            // Declaration order of the kinds, the last tie-break (the enum has no `Ord`).
            .then((a.kind as u8).cmp(&(b.kind as u8)))
    });
}

/// `slow_phase`: the median run is over the threshold.
///
/// The median rather than the mean: one pathological run must not make a phase "slow" (the
/// tail is `high_variance`'s job), and the median is what a typical run costs.
fn slow_phase(p: &PhaseReport, threshold_s: f64) -> Option<Recommendation> {
    let (threshold_s, p50) = (fin(threshold_s), fin(p.duration_ms.p50));
    let threshold_ms = threshold_s * 1000.0;
    // A zero or negative threshold would flag every phase: treat it as "no threshold".
    if p.window_runs < MIN_WINDOW_RUNS || threshold_ms <= 0.0 || p50 <= threshold_ms {
        return None;
    }
    let ratio = p50 / threshold_ms;
    let priority = match ratio {
        r if r >= 5.0 => Priority::Critical,
        r if r >= 2.0 => Priority::High,
        r if r >= 1.25 => Priority::Medium,
        _ => Priority::Low,
    };
    let (name, secs, p90_s) = (&p.name, p50 / 1000.0, fin(p.duration_ms.p90) / 1000.0);
    let msg = format!(
        "Phase `{name}` takes {secs:.1} s at the median (p90 {p90_s:.1} s), {ratio:.1}x the \
         {threshold_s:.1} s threshold: profile it and cut or parallelise its slowest step."
    );
    let gain = (p50 - threshold_ms) * p.window_runs as f64;
    let ev = [("threshold_ms", threshold_ms)];
    Some(rec(Kind::SlowPhase, Some(p), priority, msg, &ev, gain))
}

/// `dominant_phase`: this phase's total time is more than half of all phases' total time.
fn dominant_phase(p: &PhaseReport, phase_ms: f64, all_ms: f64) -> Option<Recommendation> {
    let share = phase_ms / all_ms;
    let window_ms = fin(p.duration_ms.mean).max(0.0) * p.window_runs as f64;
    if p.window_runs < MIN_WINDOW_RUNS || share <= DOMINANT_SHARE {
        return None;
    }
    // Dominance says where effort pays, not that something is wrong: never above high.
    let priority = match share {
        s if s >= 0.9 => Priority::High,
        s if s >= 0.7 => Priority::Medium,
        _ => Priority::Low,
    };
    let gain = window_ms * DOMINANT_SPEEDUP;
    let (name, pct, runs) = (&p.name, share * 100.0, p.window_runs);
    let msg = format!(
        "Phase `{name}` takes {pct:.1}% of all phase time: optimise it first, a 20% speed-up \
         would save {gain:.0} ms over its last {runs} runs."
    );
    let ev = [
        ("share_pct", pct),
        ("phase_total_ms", phase_ms),
        ("all_phases_total_ms", all_ms),
    ];
    Some(rec(Kind::DominantPhase, Some(p), priority, msg, &ev, gain))
}

/// `flaky_phase`: a failure rate of at least 5 % over at least 20 executions.
///
/// A phase failing more than 95 % of the time is broken rather than flaky; it is still
/// reported under this kind (the report has no "broken" kind) but as critical, with a message
/// that says so, because staying silent about the worst case would be wrong.
fn flaky_phase(p: &PhaseReport) -> Option<Recommendation> {
    let rate = fin(p.failure_rate).clamp(0.0, 1.0);
    if p.executions < FLAKY_MIN_EXECUTIONS || rate < FLAKY_MIN_RATE {
        return None;
    }
    let priority = match rate {
        r if r >= 0.5 => Priority::Critical,
        r if r >= 0.2 => Priority::High,
        r if r >= 0.1 => Priority::Medium,
        _ => Priority::Low,
    };
    let advice = if rate > BROKEN_RATE {
        "it is broken, not flaky; fix the failure before tuning anything else"
    } else {
        "find the intermittent cause (timeouts, races, external services), not more retries"
    };
    let (name, failed, runs, pct) = (&p.name, p.failures, p.executions, rate * 100.0);
    let msg = format!("Phase `{name}` failed {failed} of {runs} runs ({pct:.1}%): {advice}.");
    // The window keeps durations, not outcomes: estimate its failures from the overall rate.
    let in_window = rate * p.window_runs as f64;
    let gain = in_window * fin(p.duration_ms.mean).max(0.0);
    let ev = [
        ("failure_rate", rate),
        ("failures", failed as f64),
        ("executions", runs as f64),
        ("failures_in_window", in_window),
    ];
    Some(rec(Kind::FlakyPhase, Some(p), priority, msg, &ev, gain))
}

/// `high_variance`: cv above 1 or p99 above 5x p50, over at least 20 window runs.
fn high_variance(p: &PhaseReport) -> Option<Recommendation> {
    let d = &p.duration_ms;
    let (mean, p50, p90, p99) = (fin(d.mean), fin(d.p50), fin(d.p90), fin(d.p99));
    // Zero means and medians make the ratios meaningless (and NaN): no evidence, no claim.
    if p.window_runs < VARIANCE_MIN_RUNS || mean <= 0.0 || p50 <= 0.0 {
        return None;
    }
    let (cv, tail) = (fin(d.std_dev) / mean, p99 / p50);
    if cv <= CV_HIGH && tail <= TAIL_RATIO_HIGH {
        return None;
    }
    let priority = match (cv, tail) {
        (cv, tail) if cv > 2.0 || tail > 20.0 => Priority::High,
        _ => Priority::Medium,
    };
    let msg = format!(
        "Phase `{name}` varies widely (cv {cv:.2}, p99 {p99:.1} ms vs p50 {p50:.1} ms): look \
         for contention, cold caches or uneven inputs behind the slow runs.",
        name = p.name
    );
    let gain = (p90 - p50).max(0.0) * p.window_runs as f64 * TAIL_GAIN_FRACTION;
    let ev = [("cv", cv), ("p99_over_p50", tail), ("p99_ms", p99)];
    Some(rec(Kind::HighVariance, Some(p), priority, msg, &ev, gain))
}

/// `memory_high` / `cpu_high`: a process figure `value` over its `limit`, never any time gain
/// (the cost is the risk, not phase time). Memory is critical from 2x, since the next step is
/// an OOM kill; CPU never is, since a busy CPU slows the process but does not end it.
fn resource_high(kind: Kind, value: f64, limit: f64) -> Option<Recommendation> {
    let (value, limit) = (fin(value), fin(limit));
    if limit <= 0.0 || value <= limit {
        return None;
    }
    let (ratio, memory) = (value / limit, kind == Kind::MemoryHigh);
    let priority = match ratio {
        r if r >= 2.0 && memory => Priority::Critical,
        r if r >= 1.25 => Priority::High,
        _ => Priority::Medium,
    };
    let (msg, keys) = if memory {
        let msg = format!(
            "Process memory is {value:.0} MB, above the {limit:.0} MB threshold: shrink caches \
             and history sizes, or raise `thresholds.memory_high` if this is expected."
        );
        (msg, ["rss_mb", "threshold_mb"])
    } else {
        let msg = format!(
            "Process CPU is {value:.0}%, above the {limit:.0}% threshold: look for busy loops or \
             move work off the hot path, or raise `thresholds.cpu_high` if this is expected."
        );
        (msg, ["cpu_pct", "threshold_pct"])
    };
    let ev = [(keys[0], value), (keys[1], limit), ("ratio", ratio)];
    Some(rec(kind, None, priority, msg, &ev, 0.0))
}

/// A recommendation. A phase's gets its duration picture (`mean_ms`, `p50_ms`, `p90_ms`,
/// `window_runs`) on top of `ev`; every figure goes through `fin` again so that no input,
/// however odd, puts a NaN into the JSON.
fn rec(
    kind: Kind,
    phase: Option<&PhaseReport>,
    priority: Priority,
    message: String,
    ev: &[(&str, f64)],
    gain_ms: f64,
) -> Recommendation {
    let context = phase.map_or(Vec::new(), |p| {
        let d = &p.duration_ms;
        vec![("mean_ms", d.mean), ("p50_ms", d.p50), ("p90_ms", d.p90)]
    });
    let runs = phase.map(|p| ("window_runs", p.window_runs as f64));
    let all = context.iter().chain(&runs).chain(ev);
    Recommendation {
        kind,
        phase: phase.map(|p| p.name.clone()),
        priority,
        message,
        evidence: all.map(|&(k, v)| (k.into(), fin(v))).collect(),
        estimated_gain_ms: fin(gain_ms).max(0.0),
    }
}

/// `x` if finite, else 0: a corrupt figure must not poison the totals or the output.
fn fin(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Priority::{Critical, High, Low, Medium};

    /// Slow over 1 s; the config's defaults for memory and CPU.
    const TH: OptimizerThresholds = th(1.0, 2048.0, 80.0);

    /// Thresholds, shortly.
    const fn th(phase_slow_s: f64, memory_high_mb: f64, cpu_high_pct: f64) -> OptimizerThresholds {
        OptimizerThresholds {
            phase_slow_s,
            memory_high_mb,
            cpu_high_pct,
        }
    }

    /// Resource usage, shortly.
    fn usage(rss_mb: f64, cpu_percent: f64) -> Option<ResourceUsage> {
        Some(ResourceUsage {
            rss_mb,
            cpu_percent,
        })
    }

    /// A phase with `runs` successful runs all lasting `ms` (no spread, no failures).
    fn phase(name: &str, runs: usize, ms: f64) -> PhaseReport {
        let mut p = PhaseReport::default();
        (p.name, p.executions, p.window_runs) = (name.into(), runs as u64, runs);
        let d = &mut p.duration_ms;
        (d.mean, d.p50, d.p90, d.p99) = (ms, ms, ms, ms);
        p.total_ms = runs as f64 * ms;
        p
    }

    /// What a recommendation is about.
    fn id(r: &Recommendation) -> (Kind, Option<&str>, Priority) {
        (r.kind, r.phase.as_deref(), r.priority)
    }

    /// The only recommendation for `phases` under `TH` (panics unless there is exactly one).
    fn only(phases: &[PhaseReport]) -> Recommendation {
        let recs = recommend(phases, &TH, None);
        assert_eq!(recs.len(), 1, "{recs:#?}");
        recs[0].clone()
    }

    /// Whether `phases` under `TH` give nothing at all.
    fn silent(phases: &[PhaseReport]) -> bool {
        recommend(phases, &TH, None).is_empty()
    }

    #[test]
    fn slow_phase_fires_above_the_threshold_in_seconds() {
        let r = only(&[phase("build", 10, 2500.0)]);
        assert_eq!(id(&r), (Kind::SlowPhase, Some("build"), High));
        assert_eq!(r.evidence["p50_ms"], 2500.0);
        assert_eq!(r.evidence["threshold_ms"], 1000.0);
        assert_eq!(r.estimated_gain_ms, 15_000.0); // (2500 - 1000) x 10 runs
        assert!(r.message.contains("2.5 s at the median") && r.message.contains("1.0 s threshold"));
        for (ms, priority) in [(5000.0, Critical), (1250.0, Medium), (1000.1, Low)] {
            assert_eq!(only(&[phase("b", 10, ms)]).priority, priority, "{ms}");
        }
        assert!(silent(&[phase("build", 10, 1000.0)]));
    }

    #[test]
    fn dominant_phase_fires_above_half_of_the_time() {
        let pair = |a, b| [phase("a", 10, a), phase("b", 10, b)];
        let r = only(&pair(60.0, 40.0));
        assert_eq!(id(&r), (Kind::DominantPhase, Some("a"), Low));
        assert_eq!(r.evidence["share_pct"], 60.0);
        assert_eq!(r.estimated_gain_ms, 120.0); // 20 % of 10 runs x 60 ms
        assert_eq!(only(&pair(90.0, 10.0)).priority, High);
        assert!(silent(&pair(50.0, 50.0)));
        // Alone, a phase takes all the time by definition: that says nothing.
        assert!(silent(&[phase("a", 10, 60.0)]));
    }

    #[test]
    fn flaky_phase_fires_on_intermittent_failures() {
        let flaky = |executions, rate| PhaseReport {
            executions,
            failures: (executions as f64 * rate) as u64,
            failure_rate: rate,
            ..phase("net", 50, 20.0)
        };
        let r = only(&[flaky(100, 0.10)]);
        assert_eq!(id(&r), (Kind::FlakyPhase, Some("net"), Medium));
        assert_eq!(r.evidence["failure_rate"], 0.10);
        assert_eq!(r.estimated_gain_ms, 100.0); // 10 % of 50 window runs x 20 ms
        assert!(r.message.contains("10 of 100 runs (10.0%)"));
        for (rate, priority) in [(0.05, Low), (0.2, High), (0.5, Critical)] {
            assert_eq!(only(&[flaky(100, rate)]).priority, priority, "{rate}");
        }
        let broken = only(&[flaky(100, 1.0)]);
        assert!(broken.priority == Critical && broken.message.contains("broken"));
        assert!(silent(&[flaky(100, 0.049)]) && silent(&[flaky(19, 0.5)]));
    }

    #[test]
    fn high_variance_fires_on_a_wide_spread_or_a_heavy_tail() {
        let spread = |runs, std_dev, p99| {
            let mut p = phase("io", runs, 5.0);
            (p.duration_ms.mean, p.duration_ms.std_dev) = (10.0, std_dev);
            (p.duration_ms.p90, p.duration_ms.p99) = (20.0, p99);
            p
        };
        let r = only(&[spread(20, 15.0, 24.0)]);
        assert_eq!(id(&r), (Kind::HighVariance, Some("io"), Medium));
        assert_eq!((r.evidence["cv"], r.evidence["p90_ms"]), (1.5, 20.0));
        assert_eq!(r.estimated_gain_ms, 30.0); // (20 - 5) x 20 runs x 0.1
        assert_eq!(only(&[spread(20, 0.0, 26.0)]).evidence["p99_over_p50"], 5.2);
        assert_eq!(only(&[spread(20, 25.0, 24.0)]).priority, High);
        assert!(silent(&[spread(20, 10.0, 25.0)]) && silent(&[spread(19, 15.0, 24.0)]));
    }

    #[test]
    fn resources_fire_above_their_thresholds_only_when_known() {
        let recs = recommend(&[], &TH, usage(3000.0, 85.0).as_ref());
        assert_eq!(recs.len(), 2);
        assert_eq!(id(&recs[0]), (Kind::MemoryHigh, None, High));
        assert_eq!(id(&recs[1]), (Kind::CpuHigh, None, Medium));
        assert_eq!(recs[0].evidence["rss_mb"], 3000.0);
        let recs = recommend(&[], &TH, usage(4096.0, 0.0).as_ref());
        assert_eq!(id(&recs[0]), (Kind::MemoryHigh, None, Critical));
        assert!(recommend(&[], &TH, usage(2048.0, 80.0).as_ref()).is_empty());
        assert!(recommend(&[], &th(1.0, 0.1, 0.1), None).is_empty());
    }

    #[test]
    fn output_is_sorted_by_priority_then_gain_then_name() {
        let slow = |name| phase(name, 10, 1500.0);
        let phases = [slow("z"), slow("a"), phase("big", 40, 3000.0)];
        let recs = recommend(&phases, &TH, usage(5000.0, 0.0).as_ref());
        let expected = [
            (Kind::MemoryHigh, None, Critical),
            (Kind::SlowPhase, Some("big"), High), // gain 80 000 ms
            (Kind::DominantPhase, Some("big"), Medium), // 80 % share, gain 24 000 ms
            (Kind::SlowPhase, Some("a"), Medium), // gain 5 000 ms, tie broken by name
            (Kind::SlowPhase, Some("z"), Medium),
        ];
        assert_eq!(recs.iter().map(id).collect::<Vec<_>>(), expected);
    }

    #[test]
    fn phases_with_few_runs_are_skipped_for_duration_kinds() {
        let mut young = phase("young", 9, 1e6);
        (young.duration_ms.std_dev, young.duration_ms.p99) = (1e7, 1e8);
        assert!(silent(&[young, phase("old", 10, 1.0)]));
    }

    #[test]
    fn zero_empty_and_corrupt_stats_give_no_nan_and_no_panic() {
        assert!(silent(&[]));
        let mut nan = phase("nan", 50, f64::NAN);
        (nan.failure_rate, nan.duration_ms.std_dev) = (f64::NAN, f64::INFINITY);
        let mut broken = phase("broken", 0, 0.0); // always fails, no duration window
        (broken.executions, broken.failures, broken.failure_rate) = (30, 30, 1.0);
        let phases = [PhaseReport::default(), phase("zero", 50, 0.0), nan, broken];
        for th in [TH, th(0.0, 0.0, 0.0), th(f64::NAN, f64::NAN, -1.0)] {
            let recs = recommend(&phases, &th, usage(f64::NAN, f64::INFINITY).as_ref());
            // Only the phase that always fails has something to say (with no time to save).
            assert_eq!(recs.len(), 1);
            assert_eq!(id(&recs[0]), (Kind::FlakyPhase, Some("broken"), Critical));
            assert_eq!(recs[0].estimated_gain_ms, 0.0);
            assert!(recs[0].evidence.values().all(|v| v.is_finite()));
        }
    }
}
