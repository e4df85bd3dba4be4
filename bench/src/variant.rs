//! The per-call variants: how each one sets its process up, and one timed batch of it.
//!
//! `analytics_runtime::init`, `tracing`'s global default, `fastrace`'s reporter and the
//! `metrics` recorder are all process-wide and can be installed once, and the global runtime's
//! fast path differs from the scoped one (`Runtime::in_scope`). So every variant runs in a
//! process of its own (see [`crate::jobs`]), installs what it needs once, and is measured on
//! the real global path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use analytics_runtime::AnalyticsConfig;

use crate::measure::{BATCH, time_calls};
use crate::workload;

/// What a variant instruments the trivial function with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No instrumentation.
    Plain,
    /// An `Instant::now()` pair: the floor of a measurement through the OS clock.
    ClockPair,
    /// Two raw timestamp-counter reads (`quanta::Clock::raw`): the physical floor.
    TscPair,
    /// `#[analyzed_phase]` with the global runtime never initialised.
    AnalyzedBeforeInit,
    /// `#[analyzed_phase]` after `init` with this config (JSON, the rest defaults).
    Analyzed(&'static str),
    /// `tracing`'s `#[instrument]`; `registry`: a `Registry` is the global default
    /// subscriber, else there is no subscriber at all.
    Tracing {
        /// Whether a `Registry` is installed.
        registry: bool,
    },
    /// `fastrace`'s `#[trace]`; `reporter`: a reporter is set and every batch runs under a
    /// root span (so the spans are really recorded and reported), else neither.
    Fastrace {
        /// Whether a reporter and a root span are set.
        reporter: bool,
    },
    /// A clock pair and a `metrics` histogram record, Prometheus recorder installed.
    Metrics,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// Stable name, used on the command line (`child call NAME`, `ANALYTICS_BENCH_VARIANT`).
    pub name: &'static str,
    /// What the table prints.
    pub label: &'static str,
    /// What it measures.
    pub kind: Kind,
}

const fn v(name: &'static str, label: &'static str, kind: Kind) -> Variant {
    Variant { name, label, kind }
}

/// Every variant the table knows, in table order. Variants whose config section the runtime
/// does not have yet are filtered out by [`Variant::available`].
pub const ALL: &[Variant] = &[
    v("plain", "plain call", Kind::Plain),
    v("clock-pair", "Instant::now() pair (floor)", Kind::ClockPair),
    v(
        "tsc-pair",
        "raw TSC pair, quanta::Clock::raw",
        Kind::TscPair,
    ),
    v(
        "analyzed-before-init",
        "#[analyzed_phase], before init",
        Kind::AnalyzedBeforeInit,
    ),
    v(
        "analyzed-disabled",
        "#[analyzed_phase], enabled: false",
        Kind::Analyzed(r#"{"enabled": false}"#),
    ),
    v(
        "analyzed-default",
        "#[analyzed_phase], default config",
        Kind::Analyzed("{}"),
    ),
    v(
        "analyzed-no-predictive",
        "#[analyzed_phase], predictive off",
        Kind::Analyzed(r#"{"predictive": {"enabled": false}}"#),
    ),
    v(
        "analyzed-no-anomaly",
        "#[analyzed_phase], anomaly off",
        Kind::Analyzed(r#"{"anomaly": {"enabled": false}}"#),
    ),
    v(
        "analyzed-no-optimizer",
        "#[analyzed_phase], optimizer off",
        Kind::Analyzed(r#"{"optimizer": {"enabled": false}}"#),
    ),
    v(
        "analyzed-no-resources",
        "#[analyzed_phase], resources off",
        Kind::Analyzed(r#"{"resources": {"enabled": false}}"#),
    ),
    v(
        "analyzed-no-reporting",
        "#[analyzed_phase], reporting off",
        Kind::Analyzed(r#"{"reporting": {"interval_executions": 0, "interval_secs": 0}}"#),
    ),
    v(
        "analyzed-engines-off",
        "#[analyzed_phase], all engines off",
        Kind::Analyzed(
            r#"{"predictive": {"enabled": false}, "anomaly": {"enabled": false}, "optimizer": {"enabled": false}}"#,
        ),
    ),
    v(
        "tracing-no-subscriber",
        "tracing #[instrument], no subscriber",
        Kind::Tracing { registry: false },
    ),
    v(
        "tracing-registry",
        "tracing #[instrument] + Registry",
        Kind::Tracing { registry: true },
    ),
    v(
        "fastrace-no-reporter",
        "fastrace #[trace], no reporter",
        Kind::Fastrace { reporter: false },
    ),
    v(
        "fastrace-reporter",
        "fastrace #[trace], reporter + root span",
        Kind::Fastrace { reporter: true },
    ),
    v(
        "metrics-prometheus",
        "clock pair + metrics histogram (Prometheus)",
        Kind::Metrics,
    ),
];

/// The variant called `name`.
#[must_use]
pub fn by_name(name: &str) -> Option<Variant> {
    ALL.iter().copied().find(|v| v.name == name)
}

/// Parses an `Analyzed` variant's config: its JSON over the defaults, validated.
///
/// # Errors
/// The runtime's message when the JSON names a section or field it does not know.
pub fn config(json: &str) -> Result<AnalyticsConfig, String> {
    let config = AnalyticsConfig::from_json_str(json).map_err(|e| e.to_string())?;
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

impl Variant {
    /// `Ok` when this runtime can run the variant; `Err(why)` when it names a config section
    /// the runtime does not have (e.g. `resources` before that section exists).
    ///
    /// # Errors
    /// Why the variant cannot run here.
    pub fn available(&self) -> Result<(), String> {
        match self.kind {
            // Keep the runtime's reason, without the list of fields it expected instead.
            Kind::Analyzed(json) => config(json).map(drop).map_err(|e| {
                let reason = e.split(", expected").next().unwrap_or(&e);
                format!("config rejects {json}: {reason}")
            }),
            _ => Ok(()),
        }
    }

    /// Whether the variant's phase records runs with at least one engine on, so the engine's
    /// background thread must be running while it is measured.
    #[must_use]
    pub fn expects_engine_thread(&self) -> bool {
        match self.kind {
            Kind::Analyzed(json) => config(json).is_ok_and(|c| {
                c.enabled && (c.predictive.enabled || c.anomaly.enabled || c.optimizer.enabled)
            }),
            _ => false,
        }
    }

    /// Installs what the variant needs in this process (the global runtime, a subscriber, a
    /// reporter, a recorder). Call it once per process, before [`Variant::batch`].
    ///
    /// # Errors
    /// When the config does not parse or something was already installed.
    pub fn install(&self) -> Result<Installed, String> {
        let mut installed = Installed::default();
        match self.kind {
            Kind::Plain | Kind::ClockPair | Kind::AnalyzedBeforeInit => {}
            Kind::TscPair => workload::calibrate_tsc(),
            Kind::Analyzed(json) => {
                analytics_runtime::init(config(json)?).map_err(|e| e.to_string())?;
            }
            Kind::Tracing { registry } => {
                if registry {
                    tracing::subscriber::set_global_default(tracing_subscriber::registry())
                        .map_err(|e| e.to_string())?;
                }
            }
            Kind::Fastrace { reporter } => {
                if reporter {
                    fastrace::set_reporter(NullReporter, fastrace::collector::Config::default());
                }
            }
            Kind::Metrics => {
                let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
                    .install_recorder()
                    .map_err(|e| e.to_string())?;
                // Without the HTTP listener nothing drains the histograms: do what the
                // exporter's upkeep task does, often enough that memory stays bounded.
                let stop = Arc::new(AtomicBool::new(false));
                let flag = Arc::clone(&stop);
                let upkeep = std::thread::Builder::new()
                    .name("prometheus-upkeep".into())
                    .spawn(move || {
                        while !flag.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(50));
                            handle.run_upkeep();
                        }
                    })
                    .map_err(|e| e.to_string())?;
                installed.upkeep = Some((stop, upkeep));
            }
        }
        Ok(installed)
    }

    /// One call of the variant's function (for warm-up and for `divan`).
    #[inline(always)]
    pub fn call(&self, x: u64) -> u64 {
        match self.kind {
            Kind::Plain => workload::plain(x),
            Kind::ClockPair => workload::clock_pair(x),
            Kind::TscPair => workload::tsc_pair(x),
            Kind::AnalyzedBeforeInit | Kind::Analyzed(_) => workload::analyzed(x),
            Kind::Tracing { .. } => workload::instrumented(x),
            Kind::Fastrace { .. } => workload::traced(x),
            Kind::Metrics => workload::metrics_histogram(x),
        }
    }

    /// Times one batch of [`BATCH`] calls. The match is outside the loop: each arm's loop
    /// calls its function directly.
    #[inline(never)]
    pub fn batch(&self) -> Duration {
        match self.kind {
            Kind::Plain => time_calls(BATCH, workload::plain),
            Kind::ClockPair => time_calls(BATCH, workload::clock_pair),
            Kind::TscPair => time_calls(BATCH, workload::tsc_pair),
            Kind::AnalyzedBeforeInit | Kind::Analyzed(_) => time_calls(BATCH, workload::analyzed),
            Kind::Tracing { .. } => time_calls(BATCH, workload::instrumented),
            Kind::Fastrace { reporter: false } => time_calls(BATCH, workload::traced),
            Kind::Fastrace { reporter: true } => {
                // The root span's creation and its hand-off to the collector (when it drops)
                // are part of the cost, shared by the batch's calls.
                let start = Instant::now();
                {
                    let root = fastrace::Span::root(
                        "bench-batch",
                        fastrace::collector::SpanContext::random(),
                    );
                    let _parent = root.set_local_parent();
                    time_calls(BATCH, workload::traced);
                }
                start.elapsed()
            }
            Kind::Metrics => time_calls(BATCH, workload::metrics_histogram),
        }
    }
}

/// Keeps what [`Variant::install`] started alive; stops the Prometheus upkeep thread on drop.
#[derive(Debug, Default)]
pub struct Installed {
    upkeep: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.upkeep.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = thread.join();
        }
    }
}

/// A `fastrace` reporter that drops what it gets: the cost measured is the recording.
struct NullReporter;

impl fastrace::collector::Reporter for NullReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        std::hint::black_box(spans);
    }
}

/// Whether a thread named `analytics-engine` (the runtime's background worker) is running in
/// this process; `None` where `/proc` cannot tell.
#[must_use]
pub fn engine_thread_running() -> Option<bool> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(tasks.flatten().any(|task| {
        std::fs::read_to_string(task.path().join("comm"))
            // Linux keeps 15 bytes of a thread's name: "analytics-engin".
            .is_ok_and(|name| matches!(name.trim(), "analytics-engin" | "analytics-engine"))
    }))
}
