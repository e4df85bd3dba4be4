//! The main job: a build-and-release coordinator whose phases are measured by
//! `#[analyzed_phase]`.
//!
//! Each run plans a change, fetches its dependencies concurrently (async, with a timeout that
//! sometimes cancels a slow fetch), builds it (async), tests it, deploys it and reviews it.
//! Phases take a few milliseconds with a log-normal spread and fail now and then through
//! `Result`; `review` panics rarely and the coordinator catches it and goes on. Halfway
//! through, `test` turns flaky and `deploy` starts to slow down, the kind of change the
//! runtime's engines exist to notice.
//!
//! ```text
//! cargo run --release --example coordinator -- [--config PATH] [--runs N] [--report-json PATH]
//!     [--prometheus 127.0.0.1:9464 [--linger SECS]]
//! ```
//! A config file that cannot be used ends the program with exit code 2 and an error that
//! names the field (or the line, for a JSON syntax error).

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use analytics_runtime::{AnalyticsConfig, analyzed_phase};
use clap::Parser;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(about = "A build-and-release coordinator measured by analytics-runtime")]
struct Cli {
    /// JSON config file (absent file: the embedded defaults).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// How many changes to take through the pipeline.
    #[arg(long, default_value_t = 300, value_name = "N")]
    runs: u32,
    /// Write the final report as JSON to this file.
    #[arg(long, value_name = "PATH")]
    report_json: Option<PathBuf>,
    /// Seed of the simulated workload (same seed, same failures).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Serve the figures for Prometheus at http://ADDR/metrics while running (e.g.
    /// 127.0.0.1:9464); `export.prometheus_addr` in the config does the same.
    #[arg(long, value_name = "ADDR")]
    prometheus: Option<std::net::SocketAddr>,
    /// Keep serving /metrics this many seconds after the last change (for a scrape).
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    linger: u64,
}

/// Why a phase of one run failed.
#[derive(Debug)]
enum PhaseError {
    PlanRejected(u32),
    FetchFailed(&'static str),
    CompileError { errors: u32 },
    TestsFailed { failed: u32, total: u32 },
    DeployRolledBack,
}

impl fmt::Display for PhaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhaseError::PlanRejected(id) => write!(f, "plan for change {id} rejected"),
            PhaseError::FetchFailed(dep) => write!(f, "could not fetch {dep}"),
            PhaseError::CompileError { errors } => write!(f, "{errors} compile errors"),
            PhaseError::TestsFailed { failed, total } => {
                write!(f, "{failed} of {total} tests failed")
            }
            PhaseError::DeployRolledBack => write!(f, "deploy rolled back"),
        }
    }
}

impl std::error::Error for PhaseError {}

/// How long the coordinator waits for one dependency before dropping the fetch.
const FETCH_BUDGET: Duration = Duration::from_micros(2500);

/// A change taken through the pipeline.
#[derive(Debug, Clone)]
struct Change {
    id: u32,
    files: u32,
}

/// The simulated world: service times and failure odds, drifting halfway through.
struct Workload {
    rng: fastrand::Rng,
    run: u32,
    runs: u32,
}

impl Workload {
    /// A log-normal duration with the given median (ms) and spread (sigma of ln).
    fn duration(&mut self, median_ms: f64, sigma: f64) -> Duration {
        // Box-Muller: one standard normal from two uniforms.
        let (u1, u2) = (self.rng.f64().max(f64::MIN_POSITIVE), self.rng.f64());
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        Duration::from_secs_f64(median_ms * (sigma * normal).exp() / 1000.0)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.f64() < p
    }

    /// 0 in the first half, rising to 1 at the end: how far the drift has gone.
    fn drift(&self) -> f64 {
        let half = self.runs / 2;
        if self.run < half {
            0.0
        } else {
            f64::from(self.run - half) / f64::from(self.runs - half).max(1.0)
        }
    }
}

/// The coordinator: owns the workload and drives one change at a time.
struct Coordinator {
    work: Workload,
    deployed: u32,
}

impl Coordinator {
    #[analyzed_phase]
    fn plan(&mut self, id: u32) -> Result<Change, PhaseError> {
        std::thread::sleep(self.work.duration(1.0, 0.3));
        if self.work.chance(0.02) {
            return Err(PhaseError::PlanRejected(id));
        }
        let files = 1 + self.work.rng.u32(0..40);
        Ok(Change { id, files })
    }

    #[analyzed_phase]
    async fn fetch(&mut self, change: &Change) -> Result<u32, PhaseError> {
        let deps = ["registry", "toolchain", "cache"];
        let delays: Vec<Duration> = deps.iter().map(|_| self.work.duration(0.8, 0.6)).collect();
        let broken = self
            .work
            .chance(0.01)
            .then_some(deps[change.id as usize % 3]);
        let mut fetched = 0;
        let tasks = deps.iter().zip(delays).map(|(dep, delay)| {
            tokio::time::timeout(
                FETCH_BUDGET,
                fetch_dependency(dep, delay, broken == Some(*dep)),
            )
        });
        for result in futures::future::join_all(tasks).await {
            match result {
                Ok(Ok(bytes)) => fetched += bytes,
                Ok(Err(e)) => return Err(e),
                // A dependency slower than the budget is dropped mid-flight: the runtime counts
                // that run of `fetch_dependency` as cancelled, not failed.
                Err(_elapsed) => {}
            }
        }
        Ok(fetched)
    }

    #[analyzed_phase(name = "build")]
    async fn compile(&mut self, change: &Change) -> Result<u32, PhaseError> {
        let per_file = 0.08 + 0.02 * f64::from(change.files % 5);
        tokio::time::sleep(self.work.duration(per_file * f64::from(change.files), 0.25)).await;
        if self.work.chance(0.04) {
            return Err(PhaseError::CompileError {
                errors: 1 + self.work.rng.u32(0..5),
            });
        }
        Ok(change.files * 3)
    }

    #[analyzed_phase]
    fn test(&mut self, artifacts: u32) -> Result<u32, PhaseError> {
        std::thread::sleep(self.work.duration(2.0, 0.35));
        // Halfway through, a flaky integration test starts failing one run in three.
        let p_fail = 0.03 + 0.30 * f64::from(u8::from(self.work.drift() > 0.0));
        if self.work.chance(p_fail) {
            let total = artifacts.max(1) * 4;
            return Err(PhaseError::TestsFailed {
                failed: 1 + self.work.rng.u32(0..3),
                total,
            });
        }
        Ok(artifacts * 4)
    }

    #[analyzed_phase]
    fn deploy(&mut self, change: &Change) -> Result<(), PhaseError> {
        // A slow leak on the target: deploys get steadily slower in the second half.
        let median = 1.5 * (1.0 + 2.0 * self.work.drift());
        std::thread::sleep(self.work.duration(median, 0.2));
        if self.work.chance(0.02) {
            return Err(PhaseError::DeployRolledBack);
        }
        self.deployed += u32::from(change.files > 0);
        Ok(())
    }

    #[analyzed_phase]
    fn review(&mut self, change: &Change) -> bool {
        std::thread::sleep(self.work.duration(0.5, 0.5));
        // A rare bug in the reviewer: it panics; the coordinator catches it and goes on.
        assert!(
            !self.work.chance(0.01),
            "reviewer crashed on change {}",
            change.id
        );
        change.files < 30
    }

    /// Takes one change through every phase; returns the phase that stopped it, if any.
    async fn run_once(&mut self, id: u32) -> Result<(), PhaseError> {
        self.work.run = id;
        let change = self.plan(id)?;
        // The coordinator's message bus: one event per file changed, with its size.
        for _ in 0..change.files {
            analytics_runtime::record_message_bytes("changes.files", 512 + u64::from(id % 7) * 64);
        }
        self.fetch(&change).await?;
        let artifacts = self.compile(&change).await?;
        analytics_runtime::record_message("builds.finished");
        analytics_runtime::record_quality("artifact_size_kb", f64::from(artifacts) * 12.5);
        let passed = self.test(artifacts)?;
        analytics_runtime::record_quality("tests_passed", f64::from(passed));
        self.deploy(&change)?;
        analytics_runtime::record_message("deploys.done");
        let reviewed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.review(&change)));
        if reviewed.is_err() {
            eprintln!("change {id}: review crashed; continuing with the next change");
        }
        Ok(())
    }
}

/// Fetches one dependency; slow fetches are dropped by the caller's time budget.
#[analyzed_phase]
async fn fetch_dependency(
    name: &'static str,
    delay: Duration,
    broken: bool,
) -> Result<u32, PhaseError> {
    tokio::time::sleep(delay).await;
    if broken {
        return Err(PhaseError::FetchFailed(name));
    }
    Ok(u32::try_from(delay.as_micros()).unwrap_or(u32::MAX))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match &cli.config {
        Some(path) => AnalyticsConfig::load(path),
        None => Ok(AnalyticsConfig::default()),
    };
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = analytics_runtime::init(config) {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    // The Prometheus endpoint, from the flag or the config; it stops when `_metrics` drops.
    let served = match (cli.prometheus, analytics_runtime::global()) {
        (Some(addr), Some(runtime)) => {
            analytics_runtime::export::serve(runtime.clone(), addr).map(Some)
        }
        (None, Some(runtime)) => analytics_runtime::export::serve_from_config(runtime),
        (_, None) => Ok(None),
    };
    let _metrics = match served {
        Ok(server) => {
            if let Some(server) = &server {
                println!(
                    "serving Prometheus metrics at http://{}/metrics",
                    server.local_addr()
                );
            }
            server
        }
        Err(error) => {
            eprintln!("error: cannot serve Prometheus metrics: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Keep the rare reviewer panic to one line instead of a backtrace banner.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(non-string payload)");
        eprintln!("panic: {message}");
    }));

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut coordinator = Coordinator {
        work: Workload {
            rng: fastrand::Rng::with_seed(cli.seed),
            run: 0,
            runs: cli.runs,
        },
        deployed: 0,
    };
    let mut stopped = 0;
    runtime.block_on(async {
        // Recent outcomes: the release train's health is the share of the last 20 changes
        // that went through.
        let mut recent = std::collections::VecDeque::with_capacity(20);
        for id in 0..cli.runs {
            let started = std::time::Instant::now();
            let result = coordinator.run_once(id).await;
            analytics_runtime::record_task("change", started.elapsed(), result.is_ok());
            if recent.len() == 20 {
                recent.pop_front();
            }
            recent.push_back(result.is_ok());
            let health = recent.iter().filter(|ok| **ok).count() as f64 / recent.len() as f64;
            let progress = f64::from(id + 1) / f64::from(cli.runs.max(1));
            analytics_runtime::record_objective_progress("release_train", health, progress);
            if let Err(error) = result {
                stopped += 1;
                if stopped <= 5 {
                    eprintln!("change {id} stopped: {error}");
                }
            }
        }
    });
    // Stop the engine's worker cleanly; the report still covers every run.
    analytics_runtime::shutdown();
    println!(
        "{} changes, {} deployed, {} stopped by a failing phase\n",
        cli.runs, coordinator.deployed, stopped
    );

    let report = analytics_runtime::report();
    println!("{report}");
    if let Some(path) = &cli.report_json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json));
        if let Err(error) = written {
            eprintln!(
                "error: cannot write the report to {}: {error}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
        println!("report written to {}", path.display());
    }
    // Linger after the report is written, so a scrape can be compared with it (the fleet
    // test does), and the figures stay final.
    if _metrics.is_some() && cli.linger > 0 {
        println!("serving /metrics for {} more seconds", cli.linger);
        std::thread::sleep(Duration::from_secs(cli.linger));
    }
    ExitCode::SUCCESS
}
