//! The OpenTelemetry export: a [`Runtime`]'s figures as observable instruments on a
//! [`Meter`] of the application's `opentelemetry` provider, each collection observing a fresh
//! [`Runtime::report`].
//!
//! The instrument list is in the docs of [`register_otel_metrics`].

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use opentelemetry::metrics::{AsyncInstrument, Meter};
use opentelemetry::{InstrumentationScope, KeyValue};

use crate::Runtime;
use crate::report::{ObjectiveReport, PhaseReport, Report, TaskReport, TopicReport};
use crate::stats::DurationStats;

/// The instrumentation scope name of [`otel_scope`]: the crate's name.
pub const OTEL_SCOPE_NAME: &str = "analytics-runtime";

/// Milliseconds per second: the report's durations are in ms, OpenTelemetry's in `s`.
const MS_PER_S: f64 = 1000.0;
/// Bytes per MB as the resource sampler counts them (MiB).
const BYTES_PER_MB: f64 = 1024.0 * 1024.0;
/// The oldest report an instrument observes: one report serves one collection (see
/// [`Source::report`]); this bounds its age should a collection skip instruments.
const MAX_REPORT_AGE: Duration = Duration::from_secs(1);

/// The instrumentation scope to get the meter for [`register_otel_metrics`] with: named
/// [`OTEL_SCOPE_NAME`], with this crate's version (the report's `runtime.version`), so
/// backends show which analytics-runtime wrote the figures.
///
/// ```
/// use analytics_runtime::export::opentelemetry::metrics::MeterProvider as _;
///
/// let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder().build();
/// let meter = provider.meter_with_scope(analytics_runtime::export::otel_scope());
/// # let _ = meter;
/// assert_eq!(analytics_runtime::export::otel_scope().name(), "analytics-runtime");
/// ```
#[must_use]
pub fn otel_scope() -> InstrumentationScope {
    InstrumentationScope::builder(OTEL_SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Registers observable instruments of `runtime`'s figures on `meter`; each collection of the
/// meter's provider (a periodic export, a pull) then observes a fresh [`Runtime::report`],
/// for as long as the returned [`OtelRegistration`] is kept.
///
/// The application brings the provider and its exporter (OTLP, Prometheus, stdout, ...):
///
/// ```
/// use std::time::Duration;
/// use analytics_runtime::export::opentelemetry::metrics::MeterProvider as _;
/// use analytics_runtime::export::{otel_scope, register_otel_metrics};
/// use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
///
/// let runtime = Runtime::new(AnalyticsConfig::default());
/// // In an application: `.with_periodic_exporter(exporter)` or `.with_reader(reader)`.
/// let provider = SdkMeterProvider::builder().build();
/// let metrics = register_otel_metrics(runtime.clone(), &provider.meter_with_scope(otel_scope()));
///
/// runtime.record_run("build", Duration::from_millis(40), Outcome::Success);
/// // ... every collection of `provider` now reports `analytics.phase.executions{phase=build}`.
///
/// drop(metrics); // From here on the instruments observe nothing.
/// runtime.shutdown();
/// ```
///
/// Register a runtime once per provider: the instrument names are fixed, so two
/// registrations on one provider would report under the same names and mix their figures.
/// The meter must come from the `opentelemetry` version this crate is built with (0.33),
/// re-exported as [`export::opentelemetry`](mod@crate::export::opentelemetry). For the global
/// runtime, pass [`global()`](crate::global)`.expect("initialised")`.
///
/// # Instruments
/// Names are dotted and lowercase under `analytics.`, following the OpenTelemetry semantic
/// conventions: the unit is the instrument's unit, never part of its name (`s`, `By`, `1`
/// for a fraction where 1 = 100 %, `{run}` and the like for counts), and counters have no
/// `_total` (an exporter to Prometheus adds the suffixes). The report's milliseconds are
/// converted to seconds, MB to bytes, percentages to fractions. Counters are monotonic
/// (`ObservableCounter`) and report the totals since the runtime started (cumulative);
/// memory figures whose sum means something are `ObservableUpDownCounter`s; everything else is
/// an `ObservableGauge`. A figure the report does not have (no prediction yet, resources not
/// sampled, an accuracy still `null`, a `NaN`) is not observed, never reported as `NaN`; an
/// instrument with nothing observed is absent from the collection.
///
/// | instrument | kind | unit | attributes | from the report |
/// | --- | --- | --- | --- | --- |
/// | `analytics.phase.executions` | counter | `{run}` | `phase` | `phases[].executions` |
/// | `analytics.phase.successes` | counter | `{run}` | `phase` | `phases[].successes` |
/// | `analytics.phase.failures` | counter | `{run}` | `phase` | `phases[].failures` (panics included) |
/// | `analytics.phase.panics` | counter | `{run}` | `phase` | `phases[].panics` |
/// | `analytics.phase.cancelled` | counter | `{run}` | `phase` | `phases[].cancelled` |
/// | `analytics.phase.time` | counter (f64) | `s` | `phase` | `phases[].total_ms`: time spent in the phase |
/// | `analytics.phase.duration` | gauge | `s` | `phase`, `quantile` (`0`, `0.5`, `0.9`, `0.99`, `1`) | `phases[].duration_ms` min, p50, p90, p99, max over the recent window |
/// | `analytics.phase.duration_mean` | gauge | `s` | `phase` | `phases[].duration_ms.mean` |
/// | `analytics.phase.duration_stddev` | gauge | `s` | `phase` | `phases[].duration_ms.std_dev` |
/// | `analytics.phase.window_runs` | gauge | `{run}` | `phase` | `phases[].window_runs`: runs the duration figures summarise |
/// | `analytics.phase.failure_streak` | gauge | `{run}` | `phase` | `phases[].failure_streak` |
/// | `analytics.phase.failure_probability` | gauge | `1` | `phase` | `phases[].prediction.failure_probability` (predicted phases only) |
/// | `analytics.phase.predicted_duration` | gauge | `s` | `phase` | `phases[].prediction.expected_ms` |
/// | `analytics.phase.predicted_duration_p90` | gauge | `s` | `phase` | `phases[].prediction.p90_ms` |
/// | `analytics.phase.prediction_confidence` | gauge | `1` | `phase` | `phases[].prediction.confidence` |
/// | `analytics.phase.cpu.utilization` | gauge | `1` | `phase` | `phases[].resources.cpu_percent` / 100 |
/// | `analytics.phase.memory.delta` | gauge | `By` | `phase` | `phases[].resources.rss_delta_mb` |
/// | `analytics.prediction.made` | counter | `{prediction}` | | `predictions.made` |
/// | `analytics.prediction.high_risk` | counter | `{prediction}` | | `predictions.high_risk` |
/// | `analytics.prediction.scored` | counter | `{prediction}` | | `predictions.accuracy.scored` |
/// | `analytics.prediction.brier` | gauge | `1` | | `predictions.accuracy.brier` |
/// | `analytics.prediction.brier_skill` | gauge | `1` | | `predictions.accuracy.brier_skill` |
/// | `analytics.prediction.duration_mape` | gauge | `1` | | `predictions.accuracy.duration_mape` |
/// | `analytics.prediction.p90_coverage` | gauge | `1` | | `predictions.accuracy.p90_coverage` |
/// | `analytics.anomalies` | counter | `{anomaly}` | `severity` (`low`, `medium`, `high`, `critical`) | `anomalies.by_severity` |
/// | `analytics.anomaly.patterns` | gauge | `{pattern}` | | `patterns.len()` |
/// | `analytics.memory.usage` | up-down counter | `By` | `component` | `memory.components` (their sum is `memory.total_bytes`) |
/// | `analytics.memory.cleanup.runs` | counter | `{cleanup}` | | `memory.cleanup.runs` |
/// | `analytics.memory.cleanup.freed` | counter | `By` | | `memory.cleanup.bytes_freed` |
/// | `analytics.process.memory.usage` | up-down counter | `By` | | `resources.rss_mb` (when sampled) |
/// | `analytics.process.memory.peak` | gauge | `By` | | `resources.peak_rss_mb` |
/// | `analytics.process.cpu.utilization` | gauge | `1` | | `resources.cpu_percent` / 100 (1 = one core busy) |
/// | `analytics.process.cpu.mean_utilization` | gauge | `1` | | `resources.mean_cpu_percent` / 100 |
/// | `analytics.process.samples` | counter | `{sample}` | | `resources.samples` |
/// | `analytics.messages` | counter | `{message}` | `topic` | `messages.topics[].count` |
/// | `analytics.message.volume` | counter | `By` | `topic` | `messages.topics[].bytes` |
/// | `analytics.message.overflowed` | counter | `{message}` | | `messages.overflowed` |
/// | `analytics.objective.health` | gauge | `1` | `objective` | `objectives.objectives[].health` |
/// | `analytics.objective.progress` | gauge | `1` | `objective` | `objectives.objectives[].progress` |
/// | `analytics.objective.updates` | counter | `{update}` | `objective` | `objectives.objectives[].updates` |
/// | `analytics.objective.unhealthy_streak` | gauge | `{update}` | `objective` | `objectives.objectives[].unhealthy_streak` |
/// | `analytics.tasks` | counter | `{task}` | `task` | `tasks.tasks[].count` |
/// | `analytics.task.failures` | counter | `{task}` | `task` | `tasks.tasks[].failures` |
/// | `analytics.task.duration` | gauge | `s` | `task`, `quantile` | `tasks.tasks[].duration_ms` |
/// | `analytics.quality` | gauge | | `metric` | `tasks.quality[].last` |
/// | `analytics.runtime.enabled` | gauge | `1` | | `enabled` (1 or 0) |
/// | `analytics.runtime.uptime` | gauge (f64) | `s` | | `uptime_s` |
/// | `analytics.runtime.worker_running` | gauge | `1` | | `runtime.worker_running` (1 or 0) |
/// | `analytics.runtime.errors` | counter | `{error}` | `component` | `runtime.errors_by_component` |
/// | `analytics.runtime.component_disabled` | gauge | `1` | `component` | `runtime.components_disabled` (1 each) |
/// | `analytics.runtime.phases_overflowed` | counter | `{phase}` | | `runtime.phases_overflowed` |
/// | `analytics.runtime.runs_analysed` | counter | `{run}` | | `runtime.runs_analysed` |
/// | `analytics.runtime.runs_not_analysed` | counter | `{run}` | | `runtime.runs_not_analysed` |
/// | `analytics.runtime.values_ignored` | counter | `{value}` | | `runtime.values_ignored` |
/// | `analytics.runtime.handler_panics` | counter | `{panic}` | | `runtime.handler_panics` |
/// | `analytics.runtime.snapshots_written` | counter | `{snapshot}` | | `runtime.snapshots_written` |
/// | `analytics.runtime.report_write_errors` | counter | `{error}` | | `runtime.report_write_errors` |
///
/// Counts are `u64`, byte counts of up-down counters `i64`, the rest `f64`. The duration
/// quantiles are gauges with a string `quantile` attribute, as in the Prometheus export (the
/// OpenTelemetry API has no instrument that reports a summary). The runtime's version is the
/// scope's version when the meter comes from [`otel_scope`].
///
/// # Cost
/// A collection makes one report, not one per instrument: the first instrument observed in a
/// collection makes it and the others of that collection reuse it (never one older than a
/// second). The callbacks never panic: a report that cannot be made observes nothing.
pub fn register_otel_metrics(runtime: Runtime, meter: &Meter) -> OtelRegistration {
    register(
        Source {
            runtime,
            make_report: Box::new(Runtime::report),
            cache: Mutex::new(Cache::default()),
        },
        meter,
    )
}

/// [`register_otel_metrics`] over any source of reports.
fn register(source: Source, meter: &Meter) -> OtelRegistration {
    let source = Arc::new(source);
    let mut instruments = Instruments {
        meter,
        source: Arc::downgrade(&source),
        names: Vec::new(),
        handles: Vec::new(),
    };
    phases(&mut instruments);
    predictions(&mut instruments);
    memory_and_resources(&mut instruments);
    user_figures(&mut instruments);
    runtime_health(&mut instruments);
    OtelRegistration {
        source,
        names: instruments.names,
        _instruments: instruments.handles,
    }
}

/// The instruments of [`register_otel_metrics`]: they observe the runtime while this is kept.
///
/// Dropping it (or calling [`OtelRegistration::unregister`]) releases the runtime and makes
/// every instrument observe nothing from then on, so they drop out of the following
/// collections. (The OpenTelemetry API has no way to remove an instrument from a meter: the
/// provider keeps the empty callbacks until it shuts down.)
#[must_use = "the instruments observe the runtime only while the registration is kept"]
pub struct OtelRegistration {
    /// The runtime and the report cache; the callbacks hold it weakly.
    source: Arc<Source>,
    /// The instruments' names, in registration order.
    names: Vec<&'static str>,
    /// The instrument handles, kept for API versions that unregister dropped instruments.
    _instruments: Vec<Box<dyn Any + Send + Sync>>,
}

impl OtelRegistration {
    /// The runtime whose figures the instruments observe.
    #[must_use]
    pub fn runtime(&self) -> &Runtime {
        &self.source.runtime
    }

    /// The names of the registered instruments, as in the table of [`register_otel_metrics`]
    /// (handy for views that rename or drop some of them).
    #[must_use]
    pub fn instrument_names(&self) -> &[&'static str] {
        &self.names
    }

    /// Stops observing the runtime; the same as dropping the registration.
    pub fn unregister(self) {}
}

impl fmt::Debug for OtelRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelRegistration")
            .field("runtime", &self.source.runtime)
            .field("instruments", &self.names.len())
            .finish()
    }
}

/// The runtime the callbacks observe, with the report of the current collection.
struct Source {
    runtime: Runtime,
    /// Makes a report of `runtime`: [`Runtime::report`] (the unit tests make their own).
    make_report: Box<dyn Fn(&Runtime) -> Report + Send + Sync>,
    cache: Mutex<Cache>,
}

/// The last report made for a collection.
#[derive(Default)]
struct Cache {
    /// Counts the reports made; 0 before the first.
    generation: u64,
    /// The last report and when it was made; `None` before the first and after a failure.
    report: Option<(Instant, Arc<Report>)>,
}

impl Source {
    /// The report for the instrument whose last observed report was generation `seen`.
    ///
    /// The SDK calls each instrument's callback once per collection, so an instrument that
    /// already observed the cached report means a new collection began: a fresh report is made
    /// then (or when the cached one is older than [`MAX_REPORT_AGE`]), and the instruments
    /// after it in the collection reuse it. `None` if the report could not be made.
    fn report(&self, seen: &AtomicU64) -> Option<Arc<Report>> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = match &cache.report {
            Some((made, _)) => {
                seen.load(Ordering::Relaxed) != cache.generation && made.elapsed() <= MAX_REPORT_AGE
            }
            None => false,
        };
        if !fresh {
            // `Runtime::report` does not panic; should it all the same, observe nothing rather
            // than unwind into the SDK's collection.
            let Ok(report) = catch_unwind(AssertUnwindSafe(|| (self.make_report)(&self.runtime)))
            else {
                cache.report = None;
                return None;
            };
            cache.generation += 1;
            cache.report = Some((Instant::now(), Arc::new(report)));
        }
        seen.store(cache.generation, Ordering::Relaxed);
        cache.report.as_ref().map(|(_, report)| Arc::clone(report))
    }
}

/// The data points of one instrument in a report: values with their attributes.
type Points<T> = Vec<(T, Vec<KeyValue>)>;

/// Reads one instrument's data points from a report.
type Read<T> = fn(&Report) -> Points<T>;

/// Registers instruments on a meter, each with a callback over the shared [`Source`].
struct Instruments<'a> {
    meter: &'a Meter,
    source: Weak<Source>,
    names: Vec<&'static str>,
    handles: Vec<Box<dyn Any + Send + Sync>>,
}

impl Instruments<'_> {
    /// A callback observing what `read` finds in the collection's report; nothing once the
    /// registration is dropped.
    fn callback<T: Copy + 'static>(
        &self,
        read: impl Fn(&Report) -> Points<T> + Send + Sync + 'static,
    ) -> impl Fn(&dyn AsyncInstrument<T>) + Send + Sync + 'static {
        let source = Weak::clone(&self.source);
        let seen = AtomicU64::new(0);
        move |observer| {
            let Some(source) = source.upgrade() else {
                return;
            };
            let Some(report) = source.report(&seen) else {
                return;
            };
            for (value, attributes) in read(&report) {
                observer.observe(value, &attributes);
            }
        }
    }

    /// Keeps an instrument's handle and name.
    fn keep(&mut self, name: &'static str, handle: impl Any + Send + Sync) {
        self.names.push(name);
        self.handles.push(Box::new(handle));
    }

    /// A monotonic counter of whole counts.
    fn counter(
        &mut self,
        name: &'static str,
        unit: &'static str,
        help: &'static str,
        read: Read<u64>,
    ) {
        let handle = self
            .meter
            .u64_observable_counter(name)
            .with_unit(unit)
            .with_description(help)
            .with_callback(self.callback(read))
            .build();
        self.keep(name, handle);
    }

    /// A monotonic counter of a real quantity; non-finite values are not observed.
    fn counter_f64(
        &mut self,
        name: &'static str,
        unit: &'static str,
        help: &'static str,
        read: Read<f64>,
    ) {
        let handle = self
            .meter
            .f64_observable_counter(name)
            .with_unit(unit)
            .with_description(help)
            .with_callback(self.callback(move |r| finite(read(r))))
            .build();
        self.keep(name, handle);
    }

    /// An up-down counter: an additive amount that can go down.
    fn up_down(
        &mut self,
        name: &'static str,
        unit: &'static str,
        help: &'static str,
        read: Read<i64>,
    ) {
        let handle = self
            .meter
            .i64_observable_up_down_counter(name)
            .with_unit(unit)
            .with_description(help)
            .with_callback(self.callback(read))
            .build();
        self.keep(name, handle);
    }

    /// A gauge of whole counts or flags.
    fn gauge_u64(
        &mut self,
        name: &'static str,
        unit: &'static str,
        help: &'static str,
        read: Read<u64>,
    ) {
        let handle = self
            .meter
            .u64_observable_gauge(name)
            .with_unit(unit)
            .with_description(help)
            .with_callback(self.callback(read))
            .build();
        self.keep(name, handle);
    }

    /// A gauge of real values; non-finite values are not observed. An empty `unit` sets none.
    fn gauge(
        &mut self,
        name: &'static str,
        unit: &'static str,
        help: &'static str,
        read: Read<f64>,
    ) {
        let mut builder = self
            .meter
            .f64_observable_gauge(name)
            .with_description(help)
            .with_callback(self.callback(move |r| finite(read(r))));
        if !unit.is_empty() {
            builder = builder.with_unit(unit);
        }
        let handle = builder.build();
        self.keep(name, handle);
    }
}

/// `points` without the non-finite values.
fn finite(mut points: Points<f64>) -> Points<f64> {
    points.retain(|(value, _)| value.is_finite());
    points
}

/// One point without attributes.
fn one<T>(value: T) -> Points<T> {
    vec![(value, Vec::new())]
}

/// One point without attributes when there is a value.
fn maybe<T>(value: Option<T>) -> Points<T> {
    value.map_or_else(Vec::new, one)
}

/// `phase=<name>`.
fn phase(p: &PhaseReport) -> Vec<KeyValue> {
    vec![KeyValue::new("phase", p.name.clone())]
}

/// One point per phase.
fn per_phase<T>(report: &Report, value: impl Fn(&PhaseReport) -> T) -> Points<T> {
    report.phases.iter().map(|p| (value(p), phase(p))).collect()
}

/// One point per phase that has a value.
fn per_phase_opt<T>(report: &Report, value: impl Fn(&PhaseReport) -> Option<T>) -> Points<T> {
    report
        .phases
        .iter()
        .filter_map(|p| Some((value(p)?, phase(p))))
        .collect()
}

/// Phases whose duration figures mean something: at least one run completed (cancelled runs
/// have no duration).
fn timed(p: &PhaseReport) -> bool {
    p.window_runs > 0 || p.executions > p.cancelled
}

/// `stats` as `quantile`-attributed seconds (min and max as quantiles 0 and 1), each after
/// `attributes`.
fn quantiles(attributes: &[KeyValue], stats: &DurationStats) -> Points<f64> {
    super::quantiles(stats)
        .into_iter()
        .map(|(q, ms)| {
            let mut attributes = attributes.to_vec();
            attributes.push(KeyValue::new("quantile", q));
            (ms / MS_PER_S, attributes)
        })
        .collect()
}

/// A MB figure in whole bytes, when finite.
fn bytes(mb: f64) -> Option<i64> {
    let bytes = (mb * BYTES_PER_MB).round();
    // `as` saturates; a finite figure of the sampler is far inside i64.
    bytes.is_finite().then_some(bytes as i64)
}

/// A count as an `i64`, saturating.
fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The process's sampled resources, when the sampler has taken a sample.
fn sampled(report: &Report) -> Option<&crate::report::ResourcesReport> {
    let resources = &report.resources;
    (resources.monitored && resources.samples > 0).then_some(resources)
}

/// Per-phase counts, durations, predictions and resources.
fn phases(i: &mut Instruments<'_>) {
    i.counter(
        "analytics.phase.executions",
        "{run}",
        "Calls of the phase that ended: successes + failures + cancelled.",
        |r| per_phase(r, |p| p.executions),
    );
    i.counter(
        "analytics.phase.successes",
        "{run}",
        "Calls of the phase that returned anything but Err.",
        |r| per_phase(r, |p| p.successes),
    );
    i.counter(
        "analytics.phase.failures",
        "{run}",
        "Calls of the phase that returned Err or panicked.",
        |r| per_phase(r, |p| p.failures),
    );
    i.counter(
        "analytics.phase.panics",
        "{run}",
        "Calls of the phase that panicked (also counted in failures).",
        |r| per_phase(r, |p| p.panics),
    );
    i.counter(
        "analytics.phase.cancelled",
        "{run}",
        "Async calls of the phase dropped before they completed.",
        |r| per_phase(r, |p| p.cancelled),
    );
    i.counter_f64(
        "analytics.phase.time",
        "s",
        "Time spent in the phase over all its executions.",
        |r| per_phase(r, |p| p.total_ms / MS_PER_S),
    );
    i.gauge(
        "analytics.phase.duration",
        "s",
        "Duration quantiles of the phase's recent runs (quantile 0 is the shortest, 1 the longest).",
        |r| {
            r.phases
                .iter()
                .filter(|p| timed(p))
                .flat_map(|p| quantiles(&phase(p), &p.duration_ms))
                .collect()
        },
    );
    i.gauge(
        "analytics.phase.duration_mean",
        "s",
        "Mean duration of the phase's recent runs.",
        |r| per_phase_opt(r, |p| timed(p).then_some(p.duration_ms.mean / MS_PER_S)),
    );
    i.gauge(
        "analytics.phase.duration_stddev",
        "s",
        "Standard deviation of the durations of the phase's recent runs.",
        |r| per_phase_opt(r, |p| timed(p).then_some(p.duration_ms.std_dev / MS_PER_S)),
    );
    i.gauge_u64(
        "analytics.phase.window_runs",
        "{run}",
        "Recent runs of the phase that the duration figures summarise.",
        |r| per_phase(r, |p| p.window_runs as u64),
    );
    i.gauge_u64(
        "analytics.phase.failure_streak",
        "{run}",
        "Consecutive failures of the phase up to now.",
        |r| per_phase(r, |p| p.failure_streak),
    );
    i.gauge(
        "analytics.phase.failure_probability",
        "1",
        "Predicted probability that the phase's next run fails.",
        |r| per_phase_opt(r, |p| Some(p.prediction?.failure_probability)),
    );
    i.gauge(
        "analytics.phase.predicted_duration",
        "s",
        "Expected duration of the phase's next run.",
        |r| per_phase_opt(r, |p| Some(p.prediction?.expected_ms / MS_PER_S)),
    );
    i.gauge(
        "analytics.phase.predicted_duration_p90",
        "s",
        "90th percentile of the expected duration of the phase's next run.",
        |r| per_phase_opt(r, |p| Some(p.prediction?.p90_ms / MS_PER_S)),
    );
    i.gauge(
        "analytics.phase.prediction_confidence",
        "1",
        "Confidence in the phase's prediction.",
        |r| per_phase_opt(r, |p| Some(p.prediction?.confidence)),
    );
    i.gauge(
        "analytics.phase.cpu.utilization",
        "1",
        "Mean process CPU use while the phase ran (1 = one core busy).",
        |r| per_phase_opt(r, |p| Some(p.resources?.cpu_percent / 100.0)),
    );
    i.gauge(
        "analytics.phase.memory.delta",
        "By",
        "Process resident memory change attributed to the phase (negative: released).",
        |r| per_phase_opt(r, |p| Some(p.resources?.rss_delta_mb * BYTES_PER_MB)),
    );
}

/// Prediction counts and accuracy, anomaly counts.
fn predictions(i: &mut Instruments<'_>) {
    i.counter(
        "analytics.prediction.made",
        "{prediction}",
        "Runs that started with a prediction available.",
        |r| one(r.predictions.made),
    );
    i.counter(
        "analytics.prediction.high_risk",
        "{prediction}",
        "Predicted runs whose failure probability reached predictive.confidence_threshold.",
        |r| one(r.predictions.high_risk),
    );
    i.counter(
        "analytics.prediction.scored",
        "{prediction}",
        "Predicted runs scored against their outcome.",
        |r| one(r.predictions.accuracy.scored),
    );
    i.gauge(
        "analytics.prediction.brier",
        "1",
        "Brier score of the failure predictions (mean squared error, 0 is perfect).",
        |r| maybe(r.predictions.accuracy.brier),
    );
    i.gauge(
        "analytics.prediction.brier_skill",
        "1",
        "1 - brier / the brier score of always predicting each phase's base rate.",
        |r| maybe(r.predictions.accuracy.brier_skill),
    );
    i.gauge(
        "analytics.prediction.duration_mape",
        "1",
        "Median absolute percentage error of the expected durations.",
        |r| maybe(r.predictions.accuracy.duration_mape),
    );
    i.gauge(
        "analytics.prediction.p90_coverage",
        "1",
        "Fraction of runs at or under their predicted p90 duration (ideal: 0.9).",
        |r| maybe(r.predictions.accuracy.p90_coverage),
    );
    i.counter(
        "analytics.anomalies",
        "{anomaly}",
        "Anomalies detected, by severity.",
        |r| {
            let by = &r.anomalies.by_severity;
            [
                ("low", by.low),
                ("medium", by.medium),
                ("high", by.high),
                ("critical", by.critical),
            ]
            .into_iter()
            .map(|(severity, n)| (n, vec![KeyValue::new("severity", severity)]))
            .collect()
        },
    );
    i.gauge_u64(
        "analytics.anomaly.patterns",
        "{pattern}",
        "Keys with repeated anomalies (at least three within anomaly.window_size observations).",
        |r| one(r.patterns.len() as u64),
    );
}

/// The runtime's own memory and the process's resources.
fn memory_and_resources(i: &mut Instruments<'_>) {
    i.up_down(
        "analytics.memory.usage",
        "By",
        "Memory held by the analytics runtime, by component.",
        |r| {
            r.memory
                .components
                .iter()
                .map(|(c, n)| (signed(*n), vec![KeyValue::new("component", c.clone())]))
                .collect()
        },
    );
    i.counter(
        "analytics.memory.cleanup.runs",
        "{cleanup}",
        "Passes of the memory manager's periodic cleanup.",
        |r| one(r.memory.cleanup.runs),
    );
    i.counter(
        "analytics.memory.cleanup.freed",
        "By",
        "Memory freed by the periodic cleanup.",
        |r| one(r.memory.cleanup.bytes_freed),
    );
    i.up_down(
        "analytics.process.memory.usage",
        "By",
        "Resident set size of the process at the last sample.",
        |r| maybe(sampled(r).and_then(|s| bytes(s.rss_mb))),
    );
    i.gauge(
        "analytics.process.memory.peak",
        "By",
        "Largest resident set size of the process seen.",
        |r| maybe(sampled(r).map(|s| s.peak_rss_mb * BYTES_PER_MB)),
    );
    i.gauge(
        "analytics.process.cpu.utilization",
        "1",
        "Process CPU use over the last sampling interval (1 = one core busy).",
        |r| maybe(sampled(r).map(|s| s.cpu_percent / 100.0)),
    );
    i.gauge(
        "analytics.process.cpu.mean_utilization",
        "1",
        "Mean process CPU use over all samples (1 = one core busy).",
        |r| maybe(sampled(r).map(|s| s.mean_cpu_percent / 100.0)),
    );
    i.counter(
        "analytics.process.samples",
        "{sample}",
        "Samples taken by the resource sampler.",
        |r| maybe(sampled(r).map(|s| s.samples)),
    );
}

/// Messages, objectives, tasks and quality metrics the application records.
fn user_figures(i: &mut Instruments<'_>) {
    /// `topic=<topic>`.
    fn topic(t: &TopicReport) -> Vec<KeyValue> {
        vec![KeyValue::new("topic", t.topic.clone())]
    }
    /// `objective=<name>`.
    fn objective(o: &ObjectiveReport) -> Vec<KeyValue> {
        vec![KeyValue::new("objective", o.name.clone())]
    }
    /// `task=<name>`.
    fn task(t: &TaskReport) -> Vec<KeyValue> {
        vec![KeyValue::new("task", t.name.clone())]
    }

    i.counter(
        "analytics.messages",
        "{message}",
        "Messages recorded, by topic.",
        |r| {
            r.messages
                .topics
                .iter()
                .map(|t| (t.count, topic(t)))
                .collect()
        },
    );
    i.counter(
        "analytics.message.volume",
        "By",
        "Bytes of the messages recorded with a size, by topic.",
        |r| {
            r.messages
                .topics
                .iter()
                .map(|t| (t.bytes, topic(t)))
                .collect()
        },
    );
    i.counter(
        "analytics.message.overflowed",
        "{message}",
        "Messages of new topics counted under `other` (over memory.max_topics).",
        |r| one(r.messages.overflowed),
    );

    i.gauge(
        "analytics.objective.health",
        "1",
        "Latest health of the objective (1 = healthy).",
        |r| {
            let objectives = &r.objectives.objectives;
            objectives
                .iter()
                .map(|o| (o.health, objective(o)))
                .collect()
        },
    );
    i.gauge(
        "analytics.objective.progress",
        "1",
        "Latest progress of the objective, where reported.",
        |r| {
            let objectives = &r.objectives.objectives;
            objectives
                .iter()
                .filter_map(|o| Some((o.progress?, objective(o))))
                .collect()
        },
    );
    i.counter(
        "analytics.objective.updates",
        "{update}",
        "Health updates of the objective.",
        |r| {
            let objectives = &r.objectives.objectives;
            objectives
                .iter()
                .map(|o| (o.updates, objective(o)))
                .collect()
        },
    );
    i.gauge_u64(
        "analytics.objective.unhealthy_streak",
        "{update}",
        "Consecutive latest health updates of the objective below 0.5.",
        |r| {
            let objectives = &r.objectives.objectives;
            objectives
                .iter()
                .map(|o| (o.unhealthy_streak, objective(o)))
                .collect()
        },
    );

    i.counter(
        "analytics.tasks",
        "{task}",
        "Tasks recorded, by name.",
        |r| r.tasks.tasks.iter().map(|t| (t.count, task(t))).collect(),
    );
    i.counter(
        "analytics.task.failures",
        "{task}",
        "Tasks that failed, by name.",
        |r| {
            r.tasks
                .tasks
                .iter()
                .map(|t| (t.failures, task(t)))
                .collect()
        },
    );
    i.gauge(
        "analytics.task.duration",
        "s",
        "Completion time quantiles of the most recent tasks (quantile 0 is the shortest, 1 the longest).",
        |r| {
            r.tasks
                .tasks
                .iter()
                .filter(|t| t.count > 0)
                .flat_map(|t| quantiles(&task(t), &t.duration_ms))
                .collect()
        },
    );
    i.gauge(
        "analytics.quality",
        "",
        "Latest value of the quality metric (in the metric's own unit).",
        |r| {
            let quality = &r.tasks.quality;
            quality
                .iter()
                .map(|q| (q.last, vec![KeyValue::new("metric", q.metric.clone())]))
                .collect()
        },
    );
}

/// The runtime's own health.
fn runtime_health(i: &mut Instruments<'_>) {
    i.gauge_u64(
        "analytics.runtime.enabled",
        "1",
        "Whether the runtime measures phases (1) or not (0).",
        |r| one(u64::from(r.enabled)),
    );
    i.gauge(
        "analytics.runtime.uptime",
        "s",
        "Time since the runtime was created.",
        |r| one(r.uptime_s),
    );
    i.gauge_u64(
        "analytics.runtime.worker_running",
        "1",
        "Whether the background engine worker is running (1) or not (0).",
        |r| one(u64::from(r.runtime.worker_running)),
    );
    i.counter(
        "analytics.runtime.errors",
        "{error}",
        "Internal errors caught before they could reach user code, by component.",
        |r| {
            let errors = &r.runtime.errors_by_component;
            errors
                .iter()
                .map(|(c, n)| (*n, vec![KeyValue::new("component", c.clone())]))
                .collect()
        },
    );
    i.gauge_u64(
        "analytics.runtime.component_disabled",
        "1",
        "Components switched off after failing repeatedly (1 each).",
        |r| {
            let disabled = &r.runtime.components_disabled;
            disabled
                .iter()
                .map(|c| (1, vec![KeyValue::new("component", c.clone())]))
                .collect()
        },
    );
    i.counter(
        "analytics.runtime.phases_overflowed",
        "{phase}",
        "Phase names refused by memory.max_phases (their runs count under `other`).",
        |r| one(r.runtime.phases_overflowed),
    );
    i.counter(
        "analytics.runtime.runs_analysed",
        "{run}",
        "Runs the engines analysed.",
        |r| one(r.runtime.runs_analysed),
    );
    i.counter(
        "analytics.runtime.runs_not_analysed",
        "{run}",
        "Runs the engines never saw (too many between two engine ticks).",
        |r| one(r.runtime.runs_not_analysed),
    );
    i.counter(
        "analytics.runtime.values_ignored",
        "{value}",
        "Values refused because they were not finite or out of range.",
        |r| one(r.runtime.values_ignored),
    );
    i.counter(
        "analytics.runtime.handler_panics",
        "{panic}",
        "Anomaly handlers that panicked (caught).",
        |r| one(r.runtime.handler_panics),
    );
    i.counter(
        "analytics.runtime.snapshots_written",
        "{snapshot}",
        "Snapshots written.",
        |r| one(r.runtime.snapshots_written),
    );
    i.counter(
        "analytics.runtime.report_write_errors",
        "{error}",
        "Periodic report files that could not be written.",
        |r| one(r.runtime.report_write_errors),
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicUsize;

    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
    use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

    use super::*;

    /// How an instrument was exported.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Counter,
        UpDownCounter,
        Gauge,
    }

    /// One exported metric: its unit, kind, and values by attributes (`key=value,...`).
    #[derive(Debug, Clone)]
    struct Exported {
        unit: String,
        kind: Kind,
        points: BTreeMap<String, f64>,
    }

    /// One collection: the metrics by name.
    type Collection = BTreeMap<String, Exported>;

    /// A push exporter keeping every collection it is given (the SDK's in-memory exporter
    /// needs its `testing` feature; the integration test uses that one).
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<Collection>>>);

    impl Capture {
        /// The collection exported last.
        fn last(&self) -> Collection {
            self.0.lock().unwrap().last().cloned().unwrap_or_default()
        }
    }

    /// `data`'s kind and points, values as `f64`.
    fn points<T: Copy>(data: &MetricData<T>, f: fn(T) -> f64) -> (Kind, BTreeMap<String, f64>) {
        fn key<'a>(attributes: impl Iterator<Item = &'a KeyValue>) -> String {
            let mut pairs: Vec<String> = attributes
                .map(|kv| format!("{}={}", kv.key, kv.value))
                .collect();
            pairs.sort();
            pairs.join(",")
        }
        match data {
            MetricData::Gauge(g) => (
                Kind::Gauge,
                g.data_points()
                    .map(|p| (key(p.attributes()), f(p.value())))
                    .collect(),
            ),
            MetricData::Sum(s) => (
                if s.is_monotonic() {
                    Kind::Counter
                } else {
                    Kind::UpDownCounter
                },
                s.data_points()
                    .map(|p| (key(p.attributes()), f(p.value())))
                    .collect(),
            ),
            _ => panic!("a histogram: no instrument of the export is one"),
        }
    }

    impl PushMetricExporter for Capture {
        fn export(
            &self,
            metrics: &ResourceMetrics,
        ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
            let mut collection = Collection::new();
            for metric in metrics.scope_metrics().flat_map(|s| s.metrics()) {
                let (kind, points) = match metric.data() {
                    AggregatedMetrics::U64(d) => points(d, |v| v as f64),
                    AggregatedMetrics::I64(d) => points(d, |v| v as f64),
                    AggregatedMetrics::F64(d) => points(d, |v| v),
                };
                let exported = Exported {
                    unit: metric.unit().to_owned(),
                    kind,
                    points,
                };
                let previous = collection.insert(metric.name().to_owned(), exported);
                assert!(previous.is_none(), "{} exported twice", metric.name());
            }
            self.0.lock().unwrap().push(collection);
            std::future::ready(Ok(()))
        }

        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }

        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }

        fn temporality(&self) -> Temporality {
            Temporality::Cumulative
        }
    }

    /// A provider exporting into a [`Capture`] on `force_flush`.
    fn provider() -> (SdkMeterProvider, Capture) {
        let capture = Capture::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(capture.clone()).build())
            .build();
        (provider, capture)
    }

    /// Registers instruments over `make_report` (the runtime is only held) and collects once.
    fn collect(make_report: fn() -> Report) -> Collection {
        let (provider, capture) = provider();
        let runtime = Runtime::new(crate::AnalyticsConfig::default());
        let registration = register(
            Source {
                runtime: runtime.clone(),
                make_report: Box::new(move |_| make_report()),
                cache: Mutex::new(Cache::default()),
            },
            &provider.meter_with_scope(otel_scope()),
        );
        provider.force_flush().unwrap();
        let collection = capture.last();
        drop(registration);
        provider.shutdown().unwrap();
        runtime.shutdown();
        collection
    }

    /// The value of `name` at `attributes` (`key=value,...`, sorted) in `collection`.
    fn value(collection: &Collection, name: &str, attributes: &str) -> Option<f64> {
        collection.get(name)?.points.get(attributes).copied()
    }

    /// Asserts `name`'s kind, unit and value at `attributes`.
    #[track_caller]
    fn assert_point(
        collection: &Collection,
        name: &str,
        kind: Kind,
        unit: &str,
        attributes: &str,
        expected: f64,
    ) {
        let metric = collection
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {collection:#?}"));
        assert_eq!((metric.kind, metric.unit.as_str()), (kind, unit), "{name}");
        let got = metric.points.get(attributes).copied();
        assert!(
            got.is_some_and(|v| (v - expected).abs() <= 1e-12 * expected.abs().max(1.0)),
            "{name}{{{attributes}}}: {got:?}, want {expected}; points: {:?}",
            metric.points
        );
    }

    #[test]
    fn phases_are_counters_and_quantile_gauges() {
        let c = collect(crate::export::sample::sample);
        let b = "phase=build";
        for (name, expected) in [
            ("analytics.phase.executions", 3.0),
            ("analytics.phase.successes", 2.0),
            ("analytics.phase.failures", 1.0),
            ("analytics.phase.panics", 1.0),
            ("analytics.phase.cancelled", 0.0),
        ] {
            assert_point(&c, name, Kind::Counter, "{run}", b, expected);
        }
        assert_point(
            &c,
            "analytics.phase.executions",
            Kind::Counter,
            "{run}",
            "phase=say \"hi\"\\n\nnow",
            1.0,
        );
        assert_point(&c, "analytics.phase.time", Kind::Counter, "s", b, 0.06);
        for (q, seconds) in [
            ("0", 0.01),
            ("0.5", 0.02),
            ("0.9", 0.028),
            ("0.99", 0.0298),
            ("1", 0.03),
        ] {
            let attributes = format!("phase=build,quantile={q}");
            assert_point(
                &c,
                "analytics.phase.duration",
                Kind::Gauge,
                "s",
                &attributes,
                seconds,
            );
        }
        assert_eq!(
            c["analytics.phase.duration"].points.len(),
            10,
            "5 quantiles of 2 phases"
        );
        assert_point(
            &c,
            "analytics.phase.duration_mean",
            Kind::Gauge,
            "s",
            b,
            0.02,
        );
        assert_point(
            &c,
            "analytics.phase.duration_stddev",
            Kind::Gauge,
            "s",
            b,
            0.008,
        );
        assert_point(
            &c,
            "analytics.phase.window_runs",
            Kind::Gauge,
            "{run}",
            b,
            3.0,
        );
        assert_point(
            &c,
            "analytics.phase.failure_probability",
            Kind::Gauge,
            "1",
            b,
            0.25,
        );
        assert_point(
            &c,
            "analytics.phase.predicted_duration",
            Kind::Gauge,
            "s",
            b,
            0.021,
        );
        assert_point(
            &c,
            "analytics.phase.predicted_duration_p90",
            Kind::Gauge,
            "s",
            b,
            0.029,
        );
        assert_point(
            &c,
            "analytics.phase.prediction_confidence",
            Kind::Gauge,
            "1",
            b,
            0.5,
        );
    }

    #[test]
    fn the_other_figures() {
        let c = collect(crate::export::sample::sample);
        assert_point(
            &c,
            "analytics.prediction.made",
            Kind::Counter,
            "{prediction}",
            "",
            4.0,
        );
        assert_point(
            &c,
            "analytics.prediction.high_risk",
            Kind::Counter,
            "{prediction}",
            "",
            1.0,
        );
        assert_point(
            &c,
            "analytics.prediction.brier",
            Kind::Gauge,
            "1",
            "",
            0.125,
        );
        for (severity, n) in [
            ("low", 2.0),
            ("medium", 0.0),
            ("high", 1.0),
            ("critical", 0.0),
        ] {
            let attributes = format!("severity={severity}");
            assert_point(
                &c,
                "analytics.anomalies",
                Kind::Counter,
                "{anomaly}",
                &attributes,
                n,
            );
        }
        let usage = "analytics.memory.usage";
        assert_point(
            &c,
            usage,
            Kind::UpDownCounter,
            "By",
            "component=registry",
            1024.0,
        );
        assert_point(
            &c,
            usage,
            Kind::UpDownCounter,
            "By",
            "component=engine",
            512.0,
        );
        let rss = "analytics.process.memory.usage";
        assert_point(&c, rss, Kind::UpDownCounter, "By", "", 2.0 * BYTES_PER_MB);
        assert_point(
            &c,
            "analytics.process.memory.peak",
            Kind::Gauge,
            "By",
            "",
            3.0 * BYTES_PER_MB,
        );
        assert_point(
            &c,
            "analytics.process.cpu.utilization",
            Kind::Gauge,
            "1",
            "",
            0.5,
        );
        assert_point(
            &c,
            "analytics.process.samples",
            Kind::Counter,
            "{sample}",
            "",
            5.0,
        );
        let health = "analytics.objective.health";
        assert_point(&c, health, Kind::Gauge, "1", "objective=latency", 0.75);
        let updates = "analytics.objective.updates";
        assert_point(
            &c,
            updates,
            Kind::Counter,
            "{update}",
            "objective=latency",
            2.0,
        );
        let errors = "analytics.runtime.errors";
        assert_point(
            &c,
            errors,
            Kind::Counter,
            "{error}",
            "component=anomaly",
            2.0,
        );
        assert_point(&c, "analytics.runtime.enabled", Kind::Gauge, "1", "", 1.0);
        assert_point(&c, "analytics.runtime.uptime", Kind::Gauge, "s", "", 2.5);
    }

    #[test]
    fn missing_figures_are_not_observed_never_nan() {
        let c = collect(crate::export::sample::sample);
        for (name, metric) in &c {
            for (attributes, v) in &metric.points {
                assert!(v.is_finite(), "{name}{{{attributes}}} = {v}");
            }
        }
        // Only `build` is predicted.
        let probability = &c["analytics.phase.failure_probability"].points;
        assert_eq!(probability.keys().collect::<Vec<_>>(), ["phase=build"]);
        // `mean_cpu_percent` is NaN, `brier_skill` and the objective's progress are `None`,
        // there are no messages, tasks or phase resources: no instrument has a point.
        for absent in [
            "analytics.process.cpu.mean_utilization",
            "analytics.prediction.brier_skill",
            "analytics.prediction.duration_mape",
            "analytics.objective.progress",
            "analytics.messages",
            "analytics.message.volume",
            "analytics.tasks",
            "analytics.task.duration",
            "analytics.phase.cpu.utilization",
            "analytics.runtime.component_disabled",
        ] {
            assert!(!c.contains_key(absent), "{absent}: {:?}", c.get(absent));
        }
    }

    #[test]
    fn an_empty_report_has_no_phase_or_process_instruments() {
        let c = collect(Report::default);
        assert!(
            !c.keys().any(|n| n.starts_with("analytics.phase.")),
            "{c:#?}"
        );
        assert!(
            !c.keys().any(|n| n.starts_with("analytics.process.")),
            "{c:#?}"
        );
        assert_point(&c, "analytics.runtime.enabled", Kind::Gauge, "1", "", 0.0);
        assert_point(
            &c,
            "analytics.prediction.made",
            Kind::Counter,
            "{prediction}",
            "",
            0.0,
        );
    }

    #[test]
    fn one_report_per_collection() {
        static REPORTS: AtomicUsize = AtomicUsize::new(0);
        let (provider, capture) = provider();
        let runtime = Runtime::new(crate::AnalyticsConfig::default());
        let registration = register(
            Source {
                runtime: runtime.clone(),
                make_report: Box::new(|_| {
                    REPORTS.fetch_add(1, Ordering::Relaxed);
                    crate::export::sample::sample()
                }),
                cache: Mutex::new(Cache::default()),
            },
            &provider.meter(OTEL_SCOPE_NAME),
        );
        provider.force_flush().unwrap();
        assert_eq!(REPORTS.load(Ordering::Relaxed), 1);
        provider.force_flush().unwrap();
        assert_eq!(REPORTS.load(Ordering::Relaxed), 2);
        assert!(capture.last().len() > 40, "{:#?}", capture.last());
        drop(registration);
        provider.shutdown().unwrap();
        runtime.shutdown();
    }

    #[test]
    fn a_runtime_is_observed_fresh_each_collection_until_unregistered() {
        let (provider, capture) = provider();
        let runtime = Runtime::new(crate::AnalyticsConfig::default());
        let meter = provider.meter_with_scope(otel_scope());
        let registration = register_otel_metrics(runtime.clone(), &meter);
        // An instrument of the application's: a collection without any data is not exported.
        meter.u64_counter("app.probe").build().add(1, &[]);
        let executions = |c: &Collection| value(c, "analytics.phase.executions", "phase=load");

        runtime.start_phase("load").success();
        provider.force_flush().unwrap();
        assert_eq!(executions(&capture.last()), Some(1.0));
        runtime.start_phase("load").success();
        provider.force_flush().unwrap();
        assert_eq!(executions(&capture.last()), Some(2.0));

        // Unregistered: the runtime is released, and nothing is observed any more.
        let weak = Arc::downgrade(&registration.source);
        registration.unregister();
        assert!(weak.upgrade().is_none());
        runtime.start_phase("load").success();
        provider.force_flush().unwrap();
        let last = capture.last();
        assert_eq!(last.keys().collect::<Vec<_>>(), ["app.probe"], "{last:#?}");
        provider.shutdown().unwrap();
        runtime.shutdown();
    }

    #[test]
    fn names_follow_the_conventions_and_the_docs_list_them_all() {
        let (provider, _capture) = provider();
        let runtime = Runtime::new(crate::AnalyticsConfig::default());
        let registration = register_otel_metrics(runtime.clone(), &provider.meter(OTEL_SCOPE_NAME));
        let names = registration.instrument_names();
        let docs = include_str!("otel.rs");
        let mut unique = names.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for name in names {
            assert!(name.starts_with("analytics."), "{name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'.'
                    || b == b'_'),
                "{name}"
            );
            assert!(
                !name.ends_with("_total") && !name.contains("seconds") && !name.contains("bytes"),
                "{name}"
            );
            // No name is also the namespace of another.
            assert!(
                !names
                    .iter()
                    .any(|other| other.starts_with(&format!("{name}."))),
                "{name}"
            );
            assert!(
                docs.contains(&format!("/// | `{name}` |")),
                "{name} is not in the docs' table"
            );
        }
        let rows = docs
            .lines()
            .filter(|l| l.starts_with("/// | `analytics."))
            .count();
        assert_eq!(rows, names.len());
        drop(registration);
        provider.shutdown().unwrap();
        runtime.shutdown();
    }
}
