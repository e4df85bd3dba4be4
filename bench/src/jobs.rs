//! What one child process measures, and the result it hands back to the parent.
//!
//! The parent (`analytics-bench` without arguments) re-executes itself as
//! `analytics-bench child JOB [ARG]` once per job and reads one [`RESULT_PREFIX`] line of JSON
//! from the child's stdout. Each job installs what it needs once, in its own process.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use analytics_runtime::{AnalyticsConfig, Outcome};
use serde::{Deserialize, Serialize};

use crate::measure::{BATCH, Paired, paired, time_calls};
use crate::variant::{self, Variant, engine_thread_running};
use crate::workload;

/// The line prefix a child prints before its JSON result.
pub const RESULT_PREFIX: &str = "ANALYTICS-BENCH-RESULT ";

/// How long and how often to measure.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Budget {
    /// Time spent sampling one per-call variant in one process.
    pub per_variant: Duration,
    /// Repetitions of the throughput, report and NAB measurements.
    pub trials: usize,
}

/// What a child process measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum JobResult {
    /// One per-call variant against the plain call.
    Call {
        /// The variant's name.
        variant: String,
        /// The samples.
        samples: Paired,
        /// Whether the engine's background thread was running during the measurement.
        engine_thread: Option<bool>,
    },
    /// An async phase polled to completion against the same async fn without the attribute.
    Async {
        /// `variant`: the phase; `plain`: the bare async fn.
        samples: Paired,
        /// Whether the engine's background thread was running.
        engine_thread: Option<bool>,
    },
    /// Throughput of two threads against one, per trial.
    Threads {
        /// Two threads on distinct phases over one thread on one phase.
        distinct: Vec<f64>,
        /// Two threads on the same phase over one thread.
        same: Vec<f64>,
        /// Two threads over one for the plain call: what the machine allows.
        plain: Vec<f64>,
        /// One thread's calls per second on one phase.
        one_thread_calls_per_s: Vec<f64>,
        /// Calls per thread per trial.
        calls: u64,
    },
    /// `report()` with many phases registered.
    Report {
        /// Phases registered.
        phases: usize,
        /// Runs recorded per phase before the first report.
        runs_per_phase: usize,
        /// The first report (the engines catch up on everything first), ms.
        first_ms: f64,
        /// Back-to-back reports with nothing new, ms each.
        steady_ms: Vec<f64>,
        /// Reports after 10 new runs in every phase, ms each.
        after_runs_ms: Vec<f64>,
    },
    /// The NAB harness over the corpus.
    Nab {
        /// Points scored per run.
        points: usize,
        /// Data files per run.
        files: usize,
        /// Points per second of detector time (`CorpusRun::points_per_second`), per trial.
        detector_points_per_s: Vec<f64>,
        /// Points per second including reading the CSV files, per trial.
        wall_points_per_s: Vec<f64>,
    },
    /// The job could not run here.
    Skipped {
        /// The job.
        job: String,
        /// Why.
        reason: String,
    },
}

/// Runs job `job` (with `arg`) in this process and returns its result.
///
/// # Errors
/// An unknown job or variant, or a failed installation.
pub fn run(job: &str, arg: Option<&str>, budget: Budget) -> Result<JobResult, String> {
    match job {
        "call" => {
            let name = arg.ok_or("`child call` needs a variant name")?;
            let variant = variant::by_name(name).ok_or_else(|| format!("no variant {name}"))?;
            call(variant, budget)
        }
        "async" => async_phase(budget),
        "threads" => threads(budget),
        "report" => report(budget),
        "nab" => nab(budget, arg.map(PathBuf::from)),
        other => Err(format!("no job {other}")),
    }
}

/// Calls `f` 200 000 times, then (`settle`) lets the engine's worker (25 ms tick) see the runs.
fn warm_up(mut f: impl FnMut(u64) -> u64, settle: bool) {
    for i in 0..200_000 {
        black_box(f(black_box(i)));
    }
    if settle {
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn call(variant: Variant, budget: Budget) -> Result<JobResult, String> {
    if let Err(why) = variant.available() {
        return Ok(JobResult::Skipped {
            job: variant.name.into(),
            reason: why,
        });
    }
    let _installed = variant.install()?;
    warm_up(|x| variant.call(x), true);
    warm_up(workload::plain, false);
    let samples = paired(
        budget.per_variant,
        200,
        || variant.batch(),
        || time_calls(BATCH, workload::plain),
    );
    Ok(JobResult::Call {
        variant: variant.name.into(),
        samples,
        engine_thread: engine_thread_running(),
    })
}

fn async_phase(budget: Budget) -> Result<JobResult, String> {
    analytics_runtime::init(AnalyticsConfig::default()).map_err(|e| e.to_string())?;
    warm_up(workload::run_analyzed_async, true);
    warm_up(workload::run_plain_async, false);
    let samples = paired(
        budget.per_variant,
        200,
        || time_calls(BATCH, workload::run_analyzed_async),
        || time_calls(BATCH, workload::run_plain_async),
    );
    Ok(JobResult::Async {
        samples,
        engine_thread: engine_thread_running(),
    })
}

/// Time for `fns.len()` threads, thread `i` making `calls` calls of `fns[i]`: from the first
/// thread's start to the last one's end, each taken by the threads themselves after a barrier
/// (so spawning and waking threads is not counted).
fn run_threads(fns: &[fn(u64) -> u64], calls: u64) -> Duration {
    let ready = Barrier::new(fns.len());
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = fns
            .iter()
            .map(|&f| {
                let ready = &ready;
                s.spawn(move || {
                    ready.wait();
                    let start = Instant::now();
                    time_calls(calls, f);
                    (start, Instant::now())
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let first = spans.iter().map(|s| s.0).min();
    let last = spans.iter().map(|s| s.1).max();
    match (first, last) {
        (Some(first), Some(last)) => last - first,
        _ => Duration::MAX,
    }
}

fn threads(budget: Budget) -> Result<JobResult, String> {
    analytics_runtime::init(AnalyticsConfig::default()).map_err(|e| e.to_string())?;
    warm_up(workload::analyzed, false);
    warm_up(workload::analyzed_b, true);
    // Each run lasts ~100 ms here, so scheduling noise stays small; the plain call is ~50x
    // cheaper than a measured one, so it gets 50x the calls.
    let calls = 1_500_000;
    let plain_calls = 50 * calls;
    let per_s = |threads: usize, calls: u64, fns: &[fn(u64) -> u64]| {
        (threads as u64 * calls) as f64 / run_threads(fns, calls).as_secs_f64()
    };
    let (mut distinct, mut same, mut plain, mut one_thread) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..budget.trials.max(3) {
        let one = per_s(1, calls, &[workload::analyzed]);
        let two_distinct = per_s(2, calls, &[workload::analyzed, workload::analyzed_b]);
        let two_same = per_s(2, calls, &[workload::analyzed, workload::analyzed]);
        let plain_one = per_s(1, plain_calls, &[workload::plain]);
        let plain_two = per_s(2, plain_calls, &[workload::plain, workload::plain]);
        one_thread.push(one);
        distinct.push(two_distinct / one);
        same.push(two_same / one);
        plain.push(plain_two / plain_one);
    }
    Ok(JobResult::Threads {
        distinct,
        same,
        plain,
        one_thread_calls_per_s: one_thread,
        calls,
    })
}

/// A deterministic, roughly log-normal duration and a 5% failure rate per phase, so the
/// engines have statistics, predictions and recommendations to report.
fn synthetic_run(phase: usize, i: usize) -> (Duration, Outcome) {
    let mut z = (phase as u64) << 32 | i as u64;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let u = (z >> 11) as f64 / (1u64 << 53) as f64;
    let base_ms = 1.0 + (phase % 20) as f64 * 5.0;
    let ms = base_ms * (1.5 * (u - 0.5)).exp();
    let outcome = if z % 20 == 0 {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    (Duration::from_secs_f64(ms / 1e3), outcome)
}

fn report(budget: Budget) -> Result<JobResult, String> {
    const PHASES: usize = 100;
    const RUNS: usize = 1_000;
    analytics_runtime::init(AnalyticsConfig::default()).map_err(|e| e.to_string())?;
    let runtime = analytics_runtime::global().ok_or("no global runtime after init")?;
    let names: Vec<String> = (0..PHASES).map(|p| format!("phase_{p:03}")).collect();
    for i in 0..RUNS {
        for (p, name) in names.iter().enumerate() {
            let (duration, outcome) = synthetic_run(p, i);
            runtime.record_run(name, duration, outcome);
        }
    }
    let time_report = || {
        let start = Instant::now();
        let report = analytics_runtime::report();
        let elapsed = start.elapsed();
        assert_eq!(report.phases.len(), PHASES, "every phase is in the report");
        black_box(report);
        elapsed.as_secs_f64() * 1e3
    };
    let first_ms = time_report();
    let reps = 20 * budget.trials.max(3);
    let steady_ms = (0..reps).map(|_| time_report()).collect();
    let mut next = RUNS;
    let after_runs_ms = (0..reps)
        .map(|_| {
            for i in next..next + 10 {
                for (p, name) in names.iter().enumerate() {
                    let (duration, outcome) = synthetic_run(p, i);
                    runtime.record_run(name, duration, outcome);
                }
            }
            next += 10;
            time_report()
        })
        .collect();
    Ok(JobResult::Report {
        phases: PHASES,
        runs_per_phase: RUNS,
        first_ms,
        steady_ms,
        after_runs_ms,
    })
}

/// Where the NAB corpus is by default: `../shared/data/nab/data` next to the workspace.
#[must_use]
pub fn default_nab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab/data")
}

fn nab(budget: Budget, dir: Option<PathBuf>) -> Result<JobResult, String> {
    let dir = dir.unwrap_or_else(default_nab_dir);
    if !dir.is_dir() {
        return Ok(JobResult::Skipped {
            job: "nab".into(),
            reason: format!("no NAB corpus at {}", dir.display()),
        });
    }
    let settings = analytics_runtime::anomaly::DetectorSettings::default();
    let (mut detector, mut wall) = (Vec::new(), Vec::new());
    let (mut points, mut files) = (0, 0);
    // A corpus run takes seconds: three are enough for a median.
    for _ in 0..budget.trials.clamp(1, 3) {
        let start = Instant::now();
        let run = analytics_nab::harness::run_corpus(&dir, &settings).map_err(|e| e.to_string())?;
        let elapsed = start.elapsed();
        points = run.points;
        files = run.files.len();
        detector.push(run.points_per_second());
        wall.push(run.points as f64 / elapsed.as_secs_f64());
    }
    Ok(JobResult::Nab {
        points,
        files,
        detector_points_per_s: detector,
        wall_points_per_s: wall,
    })
}
