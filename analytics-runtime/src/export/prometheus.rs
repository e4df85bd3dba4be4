//! The Prometheus exposition: a [`Report`] as metric families through `prometheus-client`'s
//! [`Collector`], the two text encodings, and the `/metrics` endpoint on `tiny_http`.
//!
//! The metric list is in the parent module's docs.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use tiny_http::{Header, Method, Request, Response};

use crate::Runtime;
use crate::config::ExportConfig;
use crate::report::{PhaseReport, Report};
use crate::stats::DurationStats;

/// `Content-Type` of [`prometheus_text`]: the Prometheus text format, version 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// `Content-Type` of [`openmetrics_text`]: OpenMetrics 1.0 text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Milliseconds per second: the report's durations are in ms, Prometheus's in seconds.
const MS_PER_S: f64 = 1000.0;
/// Bytes per MB as the resource sampler counts them (MiB).
const BYTES_PER_MB: f64 = 1024.0 * 1024.0;
/// How long the server thread sleeps after a failed `accept` before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Renders `report` in the Prometheus text exposition format (version 0.0.4, content type
/// [`PROMETHEUS_CONTENT_TYPE`]); the metrics are listed in the [module docs](super).
///
/// ```
/// let text = analytics_runtime::export::prometheus_text(&analytics_runtime::Report::default());
/// assert!(text.contains("# TYPE analytics_runtime_enabled gauge\n"));
/// ```
#[must_use]
pub fn prometheus_text(report: &Report) -> String {
    let mut out = String::new();
    // Writing into a `String` cannot fail, and `encode_report` only fails when the writer does.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry(report));
    out
}

/// Renders `report` in the OpenMetrics 1.0 text format (content type
/// [`OPENMETRICS_CONTENT_TYPE`], ending in `# EOF`); the same metrics as [`prometheus_text`].
///
/// ```
/// let text = analytics_runtime::export::openmetrics_text(&analytics_runtime::Report::default());
/// assert!(text.ends_with("# EOF\n"));
/// ```
#[must_use]
pub fn openmetrics_text(report: &Report) -> String {
    let mut out = String::new();
    // As above: a `String` writer cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry(report));
    out
}

/// A registry holding one collector of a copy of `report`.
fn registry(report: &Report) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ReportCollector(report.clone())));
    registry
}

/// The metric families of one fixed report.
#[derive(Debug)]
struct ReportCollector(Report);

impl Collector for ReportCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        encode_report(&self.0, encoder)
    }
}

/// A `prometheus-client` [`Collector`] of a [`Runtime`]'s figures: each scrape encodes a fresh
/// [`Runtime::report`], with the metric names of the [module docs](super).
///
/// Register it into an application's own registry to serve the runtime's metrics beside the
/// application's (the names carry their `analytics_` prefix themselves):
///
/// ```
/// use analytics_runtime::{AnalyticsConfig, Runtime, export::RuntimeCollector};
/// use prometheus_client::registry::Registry;
///
/// let runtime = Runtime::new(AnalyticsConfig::default());
/// runtime.start_phase("load").success();
/// let mut registry = Registry::default();
/// registry.register_collector(Box::new(RuntimeCollector::new(runtime)));
/// let mut text = String::new();
/// prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
/// assert!(text.contains("analytics_phase_executions_total{phase=\"load\"} 1\n"));
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeCollector {
    runtime: Runtime,
}

impl RuntimeCollector {
    /// A collector of `runtime`'s figures.
    #[must_use]
    pub fn new(runtime: Runtime) -> RuntimeCollector {
        RuntimeCollector { runtime }
    }
}

impl Collector for RuntimeCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        encode_report(&self.runtime.report(), encoder)
    }
}

/// A label set: `(name, value)` pairs; the encoder escapes the values.
type Labels = Vec<(&'static str, String)>;

/// Writes metric families into a [`DescriptorEncoder`], leaving out empty families and
/// non-finite values.
struct Families<'a> {
    encoder: DescriptorEncoder<'a>,
}

impl Families<'_> {
    /// One family of `metrics`, each under its label set; nothing when there are none.
    fn family<M: EncodeMetric>(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<Unit>,
        metric_type: MetricType,
        metrics: Vec<(Labels, M)>,
    ) -> fmt::Result {
        if metrics.is_empty() {
            return Ok(());
        }
        let mut encoder = self
            .encoder
            .encode_descriptor(name, help, unit.as_ref(), metric_type)?;
        for (labels, metric) in &metrics {
            metric.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    /// A counter family of whole counts (`_total` is appended to `name`).
    fn counter(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<Unit>,
        samples: impl IntoIterator<Item = (Labels, u64)>,
    ) -> fmt::Result {
        let metrics = samples
            .into_iter()
            .map(|(labels, v)| (labels, ConstCounter::new(v)))
            .collect();
        self.family(name, help, unit, MetricType::Counter, metrics)
    }

    /// A counter family of fractional amounts (seconds); negative and non-finite values are
    /// left out.
    fn counter_f64(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<Unit>,
        samples: impl IntoIterator<Item = (Labels, f64)>,
    ) -> fmt::Result {
        let metrics = samples
            .into_iter()
            .filter(|(_, v)| v.is_finite() && *v >= 0.0)
            .map(|(labels, v)| (labels, ConstCounter::new(v)))
            .collect();
        self.family(name, help, unit, MetricType::Counter, metrics)
    }

    /// A gauge family of whole numbers (bytes, counts, 0/1 flags); values past `i64::MAX`
    /// are written as `i64::MAX`.
    fn gauge_int(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<Unit>,
        samples: impl IntoIterator<Item = (Labels, u64)>,
    ) -> fmt::Result {
        let metrics = samples
            .into_iter()
            .map(|(labels, v)| {
                (
                    labels,
                    ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX)),
                )
            })
            .collect();
        self.family(name, help, unit, MetricType::Gauge, metrics)
    }

    /// A gauge family; non-finite values are left out.
    fn gauge(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<Unit>,
        samples: impl IntoIterator<Item = (Labels, f64)>,
    ) -> fmt::Result {
        let metrics = samples
            .into_iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(labels, v)| (labels, ConstGauge::new(v)))
            .collect();
        self.family(name, help, unit, MetricType::Gauge, metrics)
    }
}

/// The unit `ratio` (a fraction, 1 = 100 %), as Prometheus names it (the crate's
/// [`Unit::Ratios`] would append `_ratios`).
fn ratio() -> Option<Unit> {
    Some(Unit::Other("ratio".to_owned()))
}

/// No labels.
fn none() -> Labels {
    Vec::new()
}

/// `{phase="name"}`.
fn phase(p: &PhaseReport) -> Labels {
    vec![("phase", p.name.clone())]
}

/// 1 for true, 0 for false.
fn flag(b: bool) -> u64 {
    u64::from(b)
}

/// `stats` as `quantile`-labelled seconds (min and max as quantiles 0 and 1), each with
/// `labels` first.
fn quantiles(labels: &Labels, stats: &DurationStats) -> Vec<(Labels, f64)> {
    super::quantiles(stats)
        .into_iter()
        .map(|(q, ms)| {
            let mut labels = labels.clone();
            labels.push(("quantile", q.to_owned()));
            (labels, ms / MS_PER_S)
        })
        .collect()
}

/// Every metric family of `report`, in the order of the module docs' table.
fn encode_report(report: &Report, encoder: DescriptorEncoder) -> fmt::Result {
    let mut f = Families { encoder };
    encode_phases(report, &mut f)?;
    encode_predictions(report, &mut f)?;
    encode_memory_and_resources(report, &mut f)?;
    encode_user_figures(report, &mut f)?;
    encode_runtime(report, &mut f)
}

/// Per-phase counts, durations, predictions and resources.
fn encode_phases(report: &Report, f: &mut Families<'_>) -> fmt::Result {
    let phases = &report.phases;
    /// Reads one count of a phase.
    type Count = fn(&PhaseReport) -> u64;
    let counts: [(&str, &str, Count); 5] = [
        (
            "analytics_phase_executions",
            "Calls of the phase that ended: successes + failures + cancelled.",
            |p| p.executions,
        ),
        (
            "analytics_phase_successes",
            "Calls of the phase that returned anything but Err.",
            |p| p.successes,
        ),
        (
            "analytics_phase_failures",
            "Calls of the phase that returned Err or panicked.",
            |p| p.failures,
        ),
        (
            "analytics_phase_panics",
            "Calls of the phase that panicked (also counted in failures).",
            |p| p.panics,
        ),
        (
            "analytics_phase_cancelled",
            "Async calls of the phase dropped before they completed.",
            |p| p.cancelled,
        ),
    ];
    for (name, help, count) in counts {
        f.counter(
            name,
            help,
            None,
            phases.iter().map(|p| (phase(p), count(p))),
        )?;
    }
    f.counter_f64(
        "analytics_phase",
        "Time spent in the phase over all its executions.",
        Some(Unit::Seconds),
        phases.iter().map(|p| (phase(p), p.total_ms / MS_PER_S)),
    )?;

    // Duration figures exist once a run completed (cancelled runs have none).
    let timed: Vec<&PhaseReport> = phases
        .iter()
        .filter(|p| p.window_runs > 0 || p.executions > p.cancelled)
        .collect();
    f.gauge(
        "analytics_phase_duration",
        "Duration quantiles of the phase's recent runs (quantile 0 is the shortest, 1 the longest).",
        Some(Unit::Seconds),
        timed
            .iter()
            .flat_map(|p| quantiles(&phase(p), &p.duration_ms)),
    )?;
    f.gauge(
        "analytics_phase_duration_mean",
        "Mean duration of the phase's recent runs.",
        Some(Unit::Seconds),
        timed
            .iter()
            .map(|p| (phase(p), p.duration_ms.mean / MS_PER_S)),
    )?;
    f.gauge(
        "analytics_phase_duration_stddev",
        "Standard deviation of the durations of the phase's recent runs.",
        Some(Unit::Seconds),
        timed
            .iter()
            .map(|p| (phase(p), p.duration_ms.std_dev / MS_PER_S)),
    )?;
    f.gauge_int(
        "analytics_phase_duration_window_runs",
        "Recent runs of the phase that the duration figures summarise.",
        None,
        phases.iter().map(|p| (phase(p), p.window_runs as u64)),
    )?;
    f.gauge_int(
        "analytics_phase_failure_streak",
        "Consecutive failures of the phase up to now.",
        None,
        phases.iter().map(|p| (phase(p), p.failure_streak)),
    )?;

    let predicted: Vec<(&PhaseReport, crate::Prediction)> = phases
        .iter()
        .filter_map(|p| Some((p, p.prediction?)))
        .collect();
    f.gauge(
        "analytics_phase_failure_probability",
        "Predicted probability that the phase's next run fails.",
        None,
        predicted
            .iter()
            .map(|(p, pr)| (phase(p), pr.failure_probability)),
    )?;
    f.gauge(
        "analytics_phase_predicted_duration",
        "Expected duration of the phase's next run.",
        Some(Unit::Seconds),
        predicted
            .iter()
            .map(|(p, pr)| (phase(p), pr.expected_ms / MS_PER_S)),
    )?;
    f.gauge(
        "analytics_phase_predicted_duration_p90",
        "90th percentile of the expected duration of the phase's next run.",
        Some(Unit::Seconds),
        predicted
            .iter()
            .map(|(p, pr)| (phase(p), pr.p90_ms / MS_PER_S)),
    )?;
    f.gauge(
        "analytics_phase_prediction_confidence",
        "Confidence in the phase's prediction.",
        ratio(),
        predicted.iter().map(|(p, pr)| (phase(p), pr.confidence)),
    )?;

    let sampled: Vec<(&PhaseReport, crate::report::PhaseResources)> = phases
        .iter()
        .filter_map(|p| Some((p, p.resources?)))
        .collect();
    f.gauge(
        "analytics_phase_cpu",
        "Mean process CPU use while the phase ran (1 = one core busy).",
        ratio(),
        sampled
            .iter()
            .map(|(p, r)| (phase(p), r.cpu_percent / 100.0)),
    )?;
    f.gauge(
        "analytics_phase_resident_memory_delta",
        "Process resident memory change attributed to the phase (negative: released).",
        Some(Unit::Bytes),
        sampled
            .iter()
            .map(|(p, r)| (phase(p), r.rss_delta_mb * BYTES_PER_MB)),
    )
}

/// Prediction counts and accuracy, anomaly counts.
fn encode_predictions(report: &Report, f: &mut Families<'_>) -> fmt::Result {
    let predictions = &report.predictions;
    f.counter(
        "analytics_predictions",
        "Runs that started with a prediction available.",
        None,
        [(none(), predictions.made)],
    )?;
    f.counter(
        "analytics_predictions_high_risk",
        "Predicted runs whose failure probability reached predictive.confidence_threshold.",
        None,
        [(none(), predictions.high_risk)],
    )?;
    f.counter(
        "analytics_predictions_scored",
        "Predicted runs scored against their outcome.",
        None,
        [(none(), predictions.accuracy.scored)],
    )?;
    let accuracy = &predictions.accuracy;
    let figures = [
        (
            "analytics_prediction_brier",
            "Brier score of the failure predictions (mean squared error, 0 is perfect).",
            None,
            accuracy.brier,
        ),
        (
            "analytics_prediction_brier_skill",
            "1 - brier / the brier score of always predicting each phase's base rate.",
            None,
            accuracy.brier_skill,
        ),
        (
            "analytics_prediction_duration_mape",
            "Median absolute percentage error of the expected durations.",
            ratio(),
            accuracy.duration_mape,
        ),
        (
            "analytics_prediction_p90_coverage",
            "Fraction of runs at or under their predicted p90 duration (ideal: 0.9).",
            ratio(),
            accuracy.p90_coverage,
        ),
    ];
    for (name, help, unit, value) in figures {
        f.gauge(name, help, unit, value.map(|v| (none(), v)))?;
    }

    let by = &report.anomalies.by_severity;
    f.counter(
        "analytics_anomalies",
        "Anomalies detected, by severity.",
        None,
        [
            ("low", by.low),
            ("medium", by.medium),
            ("high", by.high),
            ("critical", by.critical),
        ]
        .map(|(severity, n)| (vec![("severity", severity.to_owned())], n)),
    )?;
    f.gauge_int(
        "analytics_anomaly_patterns",
        "Keys with repeated anomalies (at least three within anomaly.window_size observations).",
        None,
        [(none(), report.patterns.len() as u64)],
    )
}

/// The runtime's own memory and the process's resources.
fn encode_memory_and_resources(report: &Report, f: &mut Families<'_>) -> fmt::Result {
    let memory = &report.memory;
    f.gauge_int(
        "analytics_memory",
        "Memory held by the analytics runtime, by component.",
        Some(Unit::Bytes),
        memory
            .components
            .iter()
            .map(|(c, bytes)| (vec![("component", c.clone())], *bytes)),
    )?;
    f.counter(
        "analytics_memory_cleanup_runs",
        "Passes of the memory manager's periodic cleanup.",
        None,
        [(none(), memory.cleanup.runs)],
    )?;
    f.counter(
        "analytics_memory_cleanup_freed",
        "Memory freed by the periodic cleanup.",
        Some(Unit::Bytes),
        [(none(), memory.cleanup.bytes_freed)],
    )?;

    let resources = &report.resources;
    if !resources.monitored || resources.samples == 0 {
        return Ok(());
    }
    let figures = [
        (
            "analytics_process_resident_memory",
            "Resident set size of the process at the last sample.",
            Some(Unit::Bytes),
            resources.rss_mb * BYTES_PER_MB,
        ),
        (
            "analytics_process_resident_memory_max",
            "Largest resident set size of the process seen.",
            Some(Unit::Bytes),
            resources.peak_rss_mb * BYTES_PER_MB,
        ),
        (
            "analytics_process_cpu",
            "Process CPU use over the last sampling interval (1 = one core busy).",
            ratio(),
            resources.cpu_percent / 100.0,
        ),
        (
            "analytics_process_cpu_mean",
            "Mean process CPU use over all samples (1 = one core busy).",
            ratio(),
            resources.mean_cpu_percent / 100.0,
        ),
    ];
    for (name, help, unit, value) in figures {
        f.gauge(name, help, unit, [(none(), value)])?;
    }
    f.counter(
        "analytics_resource_samples",
        "Samples taken by the resource sampler.",
        None,
        [(none(), resources.samples)],
    )
}

/// Messages, objectives, tasks and quality metrics the application records.
fn encode_user_figures(report: &Report, f: &mut Families<'_>) -> fmt::Result {
    let topics = &report.messages.topics;
    let topic = |t: &crate::report::TopicReport| vec![("topic", t.topic.clone())];
    f.counter(
        "analytics_messages",
        "Messages recorded, by topic.",
        None,
        topics.iter().map(|t| (topic(t), t.count)),
    )?;
    f.counter(
        "analytics_message",
        "Bytes of the messages recorded with a size, by topic.",
        Some(Unit::Bytes),
        topics.iter().map(|t| (topic(t), t.bytes)),
    )?;
    f.counter(
        "analytics_messages_overflowed",
        "Messages of new topics counted under `other` (over memory.max_topics).",
        None,
        [(none(), report.messages.overflowed)],
    )?;

    let objectives = &report.objectives.objectives;
    let objective = |o: &crate::report::ObjectiveReport| vec![("objective", o.name.clone())];
    f.gauge(
        "analytics_objective_health",
        "Latest health of the objective (1 = healthy).",
        ratio(),
        objectives.iter().map(|o| (objective(o), o.health)),
    )?;
    f.gauge(
        "analytics_objective_progress",
        "Latest progress of the objective, where reported.",
        ratio(),
        objectives
            .iter()
            .filter_map(|o| Some((objective(o), o.progress?))),
    )?;
    f.counter(
        "analytics_objective_updates",
        "Health updates of the objective.",
        None,
        objectives.iter().map(|o| (objective(o), o.updates)),
    )?;
    f.gauge_int(
        "analytics_objective_unhealthy_streak",
        "Consecutive latest health updates of the objective below 0.5.",
        None,
        objectives
            .iter()
            .map(|o| (objective(o), o.unhealthy_streak)),
    )?;

    let tasks = &report.tasks.tasks;
    let task = |t: &crate::report::TaskReport| vec![("task", t.name.clone())];
    f.counter(
        "analytics_tasks",
        "Tasks recorded, by name.",
        None,
        tasks.iter().map(|t| (task(t), t.count)),
    )?;
    f.counter(
        "analytics_task_failures",
        "Tasks that failed, by name.",
        None,
        tasks.iter().map(|t| (task(t), t.failures)),
    )?;
    f.gauge(
        "analytics_task_duration",
        "Completion time quantiles of the most recent tasks (quantile 0 is the shortest, 1 the longest).",
        Some(Unit::Seconds),
        tasks
            .iter()
            .filter(|t| t.count > 0)
            .flat_map(|t| quantiles(&task(t), &t.duration_ms)),
    )?;
    f.gauge(
        "analytics_quality_value",
        "Latest value of the quality metric.",
        None,
        report
            .tasks
            .quality
            .iter()
            .map(|q| (vec![("metric", q.metric.clone())], q.last)),
    )
}

/// The runtime's own health.
fn encode_runtime(report: &Report, f: &mut Families<'_>) -> fmt::Result {
    let runtime = &report.runtime;
    let info = Info::new(vec![("version", runtime.version.clone())]);
    let encoder = f.encoder.encode_descriptor(
        "analytics_runtime",
        "The analytics-runtime version that wrote the figures.",
        None,
        info.metric_type(),
    )?;
    info.encode(encoder)?;

    f.gauge_int(
        "analytics_runtime_enabled",
        "Whether the runtime measures phases (1) or not (0).",
        None,
        [(none(), flag(report.enabled))],
    )?;
    f.gauge(
        "analytics_runtime_uptime",
        "Time since the runtime was created.",
        Some(Unit::Seconds),
        [(none(), report.uptime_s)],
    )?;
    f.gauge_int(
        "analytics_runtime_worker_running",
        "Whether the background engine worker is running (1) or not (0).",
        None,
        [(none(), flag(runtime.worker_running))],
    )?;
    f.counter(
        "analytics_runtime_errors",
        "Internal errors caught before they could reach user code, by component.",
        None,
        runtime
            .errors_by_component
            .iter()
            .map(|(c, n)| (vec![("component", c.clone())], *n)),
    )?;
    f.gauge_int(
        "analytics_runtime_component_disabled",
        "Components switched off after failing repeatedly (1 each).",
        None,
        runtime
            .components_disabled
            .iter()
            .map(|c| (vec![("component", c.clone())], 1)),
    )?;
    let counts = [
        (
            "analytics_runtime_phases_overflowed",
            "Phase names refused by memory.max_phases (their runs count under `other`).",
            runtime.phases_overflowed,
        ),
        (
            "analytics_runtime_runs_analysed",
            "Runs the engines analysed.",
            runtime.runs_analysed,
        ),
        (
            "analytics_runtime_runs_not_analysed",
            "Runs the engines never saw (too many between two engine ticks).",
            runtime.runs_not_analysed,
        ),
        (
            "analytics_runtime_values_ignored",
            "Values refused because they were not finite or out of range.",
            runtime.values_ignored,
        ),
        (
            "analytics_runtime_handler_panics",
            "Anomaly handlers that panicked (caught).",
            runtime.handler_panics,
        ),
        (
            "analytics_runtime_snapshots_written",
            "Snapshots written.",
            runtime.snapshots_written,
        ),
        (
            "analytics_runtime_report_write_errors",
            "Periodic report files that could not be written.",
            runtime.report_write_errors,
        ),
    ];
    for (name, help, n) in counts {
        f.counter(name, help, None, [(none(), n)])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The endpoint
// ---------------------------------------------------------------------------

/// Serves `runtime`'s figures at `http://addr/metrics` on a background thread, until the
/// returned [`PrometheusServer`] is dropped.
///
/// Bind a loopback address (`127.0.0.1:9464`) unless the network is trusted: the endpoint has
/// no authentication. Port `0` picks a free port ([`PrometheusServer::local_addr`] tells
/// which). What the endpoint answers is in the [module docs](super).
///
/// # Errors
/// The error of binding `addr` (address in use, permission denied, ...).
pub fn serve(runtime: Runtime, addr: SocketAddr) -> io::Result<PrometheusServer> {
    let server = Arc::new(tiny_http::Server::http(addr).map_err(io::Error::other)?);
    let local_addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| io::Error::other("the server is not bound to an IP address"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let thread = std::thread::Builder::new()
        .name("analytics-prometheus".to_owned())
        .spawn({
            let server = Arc::clone(&server);
            let stop = Arc::clone(&stop);
            move || {
                while !stop.load(Ordering::Acquire) {
                    match server.recv() {
                        Ok(request) => answer(&runtime, request),
                        // `unblock` (from `Drop`) or a failed accept: look at `stop` again.
                        Err(_) if stop.load(Ordering::Acquire) => break,
                        Err(_) => std::thread::sleep(ACCEPT_RETRY),
                    }
                }
            }
        })?;
    Ok(PrometheusServer {
        server,
        local_addr,
        stop,
        thread: Some(thread),
    })
}

/// Starts the endpoint at the config's `export.prometheus_addr`, if it sets one (the default,
/// `null`, starts nothing).
///
/// ```
/// use analytics_runtime::{AnalyticsConfig, Runtime};
///
/// let runtime = Runtime::new(AnalyticsConfig::default());
/// assert!(analytics_runtime::export::serve_from_config(&runtime)?.is_none());
///
/// let config: AnalyticsConfig = r#"{"export": {"prometheus_addr": "127.0.0.1:0"}}"#.parse().unwrap();
/// let server = analytics_runtime::export::serve_from_config(&Runtime::new(config))?;
/// assert!(server.unwrap().local_addr().ip().is_loopback());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// [`io::ErrorKind::InvalidInput`] if the address does not parse (a validated config's
/// always does), else the error of [`serve`].
pub fn serve_from_config(runtime: &Runtime) -> io::Result<Option<PrometheusServer>> {
    let Some(addr) = runtime.config().export.prometheus_addr.as_deref() else {
        return Ok(None);
    };
    let addr: SocketAddr = ExportConfig::parse_prometheus_addr(addr).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("export.prometheus_addr: {addr:?} is not a socket address (IP:port) or a port"),
        )
    })?;
    serve(runtime.clone(), addr).map(Some)
}

/// Answers one request: the metrics at `/metrics`, `404` or `405` otherwise.
fn answer(runtime: &Runtime, request: Request) {
    let path = request.url().split(['?', '#']).next().unwrap_or("");
    let response = if path != "/metrics" {
        text_response(404, "not found: the metrics are at /metrics\n")
    } else if !matches!(request.method(), Method::Get | Method::Head) {
        text_response(405, "method not allowed: use GET\n")
            .with_header(header("Allow", "GET, HEAD"))
    } else {
        let openmetrics = request.headers().iter().any(|h| {
            h.field.equiv("Accept") && h.value.as_str().contains("application/openmetrics-text")
        });
        // A report that cannot be made must not take the endpoint down with it.
        let body = catch_unwind(AssertUnwindSafe(|| {
            let report = runtime.report();
            if openmetrics {
                openmetrics_text(&report)
            } else {
                prometheus_text(&report)
            }
        }));
        match body {
            Ok(body) => {
                let content_type = if openmetrics {
                    OPENMETRICS_CONTENT_TYPE
                } else {
                    PROMETHEUS_CONTENT_TYPE
                };
                Response::from_string(body).with_header(header("Content-Type", content_type))
            }
            Err(_) => text_response(500, "the report could not be made\n"),
        }
    };
    // The client may have gone away; there is nobody to tell.
    let _ = request.respond(response);
}

/// A plain-text response with `status`.
fn text_response(status: u16, body: &str) -> Response<io::Cursor<Vec<u8>>> {
    Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
}

/// A header from constant, valid ASCII.
fn header(field: &'static str, value: &'static str) -> Header {
    Header {
        field: field
            .parse()
            .unwrap_or_else(|_| unreachable!("{field} is ASCII")),
        value: value
            .parse()
            .unwrap_or_else(|_| unreachable!("{value} is ASCII")),
    }
}

/// The running `/metrics` endpoint of [`serve`]: dropping it stops the server and joins its
/// thread.
pub struct PrometheusServer {
    server: Arc<tiny_http::Server>,
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PrometheusServer {
    /// The address the endpoint listens on (with the port chosen when `serve` was given 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the server and waits for its thread; the same as dropping it.
    pub fn stop(self) {}
}

impl fmt::Debug for PrometheusServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            // The thread catches the report's panics; a join error has nothing left to undo.
            let _ = thread.join();
        }
        // The last `Arc` of the server drops here: tiny_http closes the listening socket.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `text` has `line` as a whole line.
    fn assert_line(text: &str, line: &str) {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }

    #[test]
    fn phases_are_counters_and_quantile_gauges() {
        let text = prometheus_text(&crate::export::sample::sample());
        for line in [
            "# TYPE analytics_phase_executions_total counter",
            "analytics_phase_executions_total{phase=\"build\"} 3",
            "analytics_phase_successes_total{phase=\"build\"} 2",
            "analytics_phase_failures_total{phase=\"build\"} 1",
            "analytics_phase_panics_total{phase=\"build\"} 1",
            "analytics_phase_cancelled_total{phase=\"build\"} 0",
            "analytics_phase_seconds_total{phase=\"build\"} 0.06",
            "# TYPE analytics_phase_duration_seconds gauge",
            "analytics_phase_duration_seconds{phase=\"build\",quantile=\"0\"} 0.01",
            "analytics_phase_duration_seconds{phase=\"build\",quantile=\"0.5\"} 0.02",
            "analytics_phase_duration_seconds{phase=\"build\",quantile=\"0.9\"} 0.028",
            "analytics_phase_duration_seconds{phase=\"build\",quantile=\"0.99\"} 0.0298",
            "analytics_phase_duration_seconds{phase=\"build\",quantile=\"1\"} 0.03",
            "analytics_phase_duration_mean_seconds{phase=\"build\"} 0.02",
            "analytics_phase_failure_probability{phase=\"build\"} 0.25",
            "analytics_phase_predicted_duration_seconds{phase=\"build\"} 0.021",
            "analytics_phase_prediction_confidence_ratio{phase=\"build\"} 0.5",
        ] {
            assert_line(&text, line);
        }
    }

    #[test]
    fn only_predicted_phases_have_a_failure_probability() {
        let text = prometheus_text(&crate::export::sample::sample());
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("analytics_phase_failure_probability{"))
            .collect();
        assert_eq!(
            lines,
            ["analytics_phase_failure_probability{phase=\"build\"} 0.25"]
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let text = prometheus_text(&crate::export::sample::sample());
        assert_line(
            &text,
            r#"analytics_phase_executions_total{phase="say \"hi\"\\n\nnow"} 1"#,
        );
        // The newline in the name did not break a sample over two lines.
        assert!(text.lines().all(|l| !l.starts_with("now")), "{text}");
    }

    #[test]
    fn the_other_figures() {
        let text = prometheus_text(&crate::export::sample::sample());
        for line in [
            "analytics_predictions_total 4",
            "analytics_predictions_high_risk_total 1",
            "analytics_predictions_scored_total 4",
            "analytics_prediction_brier 0.125",
            "analytics_anomalies_total{severity=\"low\"} 2",
            "analytics_anomalies_total{severity=\"medium\"} 0",
            "analytics_anomalies_total{severity=\"high\"} 1",
            "analytics_anomalies_total{severity=\"critical\"} 0",
            "analytics_memory_bytes{component=\"engine\"} 512",
            "analytics_memory_bytes{component=\"registry\"} 1024",
            "analytics_process_resident_memory_bytes 2097152.0",
            "analytics_process_resident_memory_max_bytes 3145728.0",
            "analytics_process_cpu_ratio 0.5",
            "analytics_objective_health_ratio{objective=\"latency\"} 0.75",
            "analytics_objective_updates_total{objective=\"latency\"} 2",
            "analytics_runtime_errors_total{component=\"anomaly\"} 2",
            "analytics_runtime_info{version=\"0.1.0\"} 1",
            "analytics_runtime_enabled 1",
            "analytics_runtime_uptime_seconds 2.5",
        ] {
            assert_line(&text, line);
        }
    }

    #[test]
    fn missing_figures_are_left_out_never_nan() {
        let text = prometheus_text(&crate::export::sample::sample());
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(
                value.parse::<f64>().is_ok_and(f64::is_finite),
                "{line:?} in:\n{text}"
            );
        }
        // `mean_cpu_percent` is NaN in the sample: left out, not written.
        assert!(
            !text.contains("analytics_process_cpu_mean_ratio "),
            "{text}"
        );
        // `brier_skill` is `None`.
        assert!(!text.contains("analytics_prediction_brier_skill"), "{text}");
        // No messages: no family at all (not even its HELP line).
        assert!(!text.contains("analytics_messages_total"), "{text}");
    }

    #[test]
    fn an_empty_report_has_no_phase_families() {
        let text = prometheus_text(&Report::default());
        assert!(!text.contains("analytics_phase_"), "{text}");
        assert!(!text.contains("analytics_process_"), "{text}");
        assert_line(&text, "analytics_runtime_enabled 0");
        assert_line(&text, "analytics_predictions_total 0");
    }

    #[test]
    fn openmetrics_has_units_and_eof() {
        let text = openmetrics_text(&crate::export::sample::sample());
        assert!(text.ends_with("# EOF\n"), "{text}");
        for line in [
            "# TYPE analytics_phase_executions counter",
            "analytics_phase_executions_total{phase=\"build\"} 3",
            "# UNIT analytics_phase_duration_seconds seconds",
            "analytics_phase_duration_seconds{phase=\"build\",quantile=\"0.5\"} 0.02",
            "# TYPE analytics_phase_seconds counter",
            "# UNIT analytics_process_cpu_ratio ratio",
            "analytics_runtime_info{version=\"0.1.0\"} 1",
        ] {
            assert_line(&text, line);
        }
        // Every family is described once: no name clashes between families.
        let mut types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        let all = types.len();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), all, "{text}");
    }

    #[test]
    fn a_runtime_collector_reads_a_fresh_report() {
        let runtime = Runtime::new(crate::AnalyticsConfig::default());
        let mut registry = Registry::default();
        registry.register_collector(Box::new(RuntimeCollector::new(runtime.clone())));
        runtime.start_phase("load").success();
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        assert_line(&text, "analytics_phase_executions_total{phase=\"load\"} 1");
        runtime.shutdown();
    }
}
