//! The OpenTelemetry export: a [`Runtime`]'s figures as observable instruments on a
//! [`Meter`] of the application's `opentelemetry` provider, each collection observing a fresh
//! [`Runtime::report`].
//!
//! The instrument list is in the docs of [`register_otel_metrics`].

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use opentelemetry::metrics::{AsyncInstrument, Histogram, Meter};
use opentelemetry::{InstrumentationScope, KeyValue};

use super::catalogue::{Autometrics, Figure, Input, Kind, Labels, Num, Value, figures};
use crate::report::Report;
use crate::{DurationHistogram, Runtime};

/// The instrumentation scope name of [`otel_scope`]: the crate's name.
pub const OTEL_SCOPE_NAME: &str = "analytics-runtime";

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
/// an `ObservableGauge`, except the duration histograms. A figure the report does not have (no
/// prediction yet, resources not sampled, an accuracy still `null`, a `NaN`) is not observed,
/// never reported as `NaN`; an instrument with nothing observed is absent from the collection.
/// Every instrument is a figure of the [export's table](crate::export#the-metrics), read from
/// the same catalogue as the Prometheus exposition; the runtime's version is the scope's
/// version when the meter comes from [`otel_scope`].
///
/// `analytics.phase.duration` (and `function.calls.duration` in autometrics mode) is a
/// histogram instrument (`f64`, unit `s`) whose bucket boundaries advised to the SDK are
/// `export.duration_buckets`. The OpenTelemetry API has no observable histogram, so each
/// collection records the runs the engine bucketed since the previous one: with the advised
/// boundaries every bucket count is exact, and the recorded values are chosen inside their
/// buckets so that the sum is the runs' total time too.
///
/// With `"export": {"autometrics": true}` in the runtime's config, the autometrics 1.0
/// instruments are registered too: `function.calls` (attributes `function`, `module`,
/// `service.name`, `result`), `function.calls.duration` and `build_info`.
///
/// # Cost
/// A collection makes one report, not one per instrument: the first instrument observed in a
/// collection makes it and the others of that collection reuse it (never one older than a
/// second). The callbacks never panic: a report that cannot be made observes nothing.
pub fn register_otel_metrics(runtime: Runtime, meter: &Meter) -> OtelRegistration {
    register(Source::new(runtime, Box::new(Runtime::report)), meter)
}

/// [`register_otel_metrics`] over any source of reports.
fn register(source: Source, meter: &Meter) -> OtelRegistration {
    let source = Arc::new(source);
    let autometrics = source
        .runtime
        .config()
        .export
        .autometrics
        .then(Autometrics::from_env);
    let mut instruments = Instruments {
        meter,
        source: Arc::downgrade(&source),
        names: Vec::new(),
        handles: Vec::new(),
        histograms: Vec::new(),
    };
    for figure in figures(autometrics.is_some()) {
        instruments.register(figure);
    }
    *source
        .histograms
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Histograms {
        autometrics,
        sinks: instruments.histograms,
    };
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
    /// The histogram instruments, fed once per fresh report.
    histograms: Mutex<Histograms>,
}

impl Source {
    /// A source of `make_report`'s reports of `runtime`.
    fn new(runtime: Runtime, make_report: Box<dyn Fn(&Runtime) -> Report + Send + Sync>) -> Source {
        Source {
            runtime,
            make_report,
            cache: Mutex::new(Cache::default()),
            histograms: Mutex::new(Histograms::default()),
        }
    }
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
    /// after it in the collection reuse it. `None` if the report could not be made. A fresh
    /// report also feeds the histogram instruments (the SDK runs every callback before it
    /// aggregates, so the runs recorded here are in this collection).
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
            let report = Arc::new(report);
            cache.generation += 1;
            cache.report = Some((Instant::now(), Arc::clone(&report)));
            self.histograms
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .feed(&report);
        }
        seen.store(cache.generation, Ordering::Relaxed);
        cache.report.as_ref().map(|(_, report)| Arc::clone(report))
    }
}

/// The histogram instruments and what each series had at the last collection.
#[derive(Default)]
struct Histograms {
    autometrics: Option<Autometrics>,
    sinks: Vec<HistogramSink>,
}

/// One histogram instrument.
struct HistogramSink {
    figure: &'static Figure,
    histogram: Histogram<f64>,
    /// Per series (its attributes, as the catalogue's labels): the counts and sum recorded.
    recorded: HashMap<Labels, DurationHistogram>,
}

impl Histograms {
    /// Records into each histogram instrument the runs bucketed since the last report.
    fn feed(&mut self, report: &Report) {
        let input = Input {
            report,
            autometrics: self.autometrics.as_ref(),
        };
        for sink in &mut self.sinks {
            for (labels, value) in sink.figure.points(&input) {
                let Value::Histogram(now) = value else {
                    continue;
                };
                let before = sink.recorded.get(&labels);
                let attributes = attributes(&labels);
                for (v, n) in new_runs(before, &now) {
                    for _ in 0..n {
                        sink.histogram.record(v, &attributes);
                    }
                }
                sink.recorded.insert(labels, now);
            }
        }
    }
}

/// The runs in `now` that `before` did not have, as `(value, how many)`: each value inside
/// its bucket (`(lower, upper]`), and all of them adding up to the new runs' total time.
///
/// A counter that went down (another runtime, a restart) starts over from `now`.
fn new_runs(before: Option<&DurationHistogram>, now: &DurationHistogram) -> Vec<(f64, u64)> {
    let same_shape = |b: &&DurationHistogram| {
        b.bounds_s == now.bounds_s
            && b.counts.len() == now.counts.len()
            && b.counts.iter().zip(&now.counts).all(|(b, n)| b <= n)
    };
    let (counts, sum): (Vec<u64>, f64) = match before.filter(same_shape) {
        Some(b) => (
            now.counts
                .iter()
                .zip(&b.counts)
                .map(|(n, b)| n - b)
                .collect(),
            (now.sum_s - b.sum_s).max(0.0),
        ),
        None => (now.counts.clone(), now.sum_s),
    };
    // Start every run at its bucket's upper bound (the last bucket: just above the last
    // bound), then lower them, bucket by bucket, down towards their lower bounds until the
    // total is the new runs' time; what is still missing goes to the runs of the last bucket.
    let last = now.bounds_s.last().copied().unwrap_or(0.0);
    let values: Vec<(f64, f64, u64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| {
            let lower = if i == 0 { 0.0 } else { now.bounds_s[i - 1] };
            let upper = now.bounds_s.get(i).copied().unwrap_or(f64::INFINITY);
            (lower, upper, *n)
        })
        .collect();
    let start = |(lower, upper, _): &(f64, f64, u64)| {
        if upper.is_finite() {
            *upper
        } else {
            above(lower.max(last))
        }
    };
    let mut chosen: Vec<(f64, u64)> = values.iter().map(|v| (start(v), v.2)).collect();
    let mut excess = chosen.iter().map(|(v, n)| v * *n as f64).sum::<f64>() - sum;
    for ((lower, _, n), (v, _)) in values.iter().zip(chosen.iter_mut()).rev() {
        if excess <= 0.0 {
            break;
        }
        // Each run may come down to just above its lower bound (by a margin that survives
        // rounding: the bucket is `(lower, upper]`).
        let room = *v - above(*lower);
        let down = (excess / *n as f64).min(room.max(0.0));
        *v -= down;
        excess -= down * *n as f64;
    }
    if excess < 0.0 {
        if let (Some((_, upper, n)), Some((v, _))) = (values.last(), chosen.last_mut()) {
            if upper.is_infinite() {
                *v += -excess / *n as f64;
            }
        }
    }
    chosen
}

/// The smallest value [`new_runs`] records in a bucket whose lower bound is `lower`: above it
/// by a margin that rounding cannot undo.
fn above(lower: f64) -> f64 {
    lower * (1.0 + 1e-9) + 1e-12
}

/// The catalogue's labels as OpenTelemetry attributes (`service_name` is `service.name`, as
/// the autometrics spec names it for OpenTelemetry).
fn attributes(labels: &Labels) -> Vec<KeyValue> {
    labels
        .iter()
        .map(|(k, v)| {
            let key = match *k {
                "service_name" => "service.name",
                "autometrics_version" => "autometrics.version",
                other => other,
            };
            KeyValue::new(key, v.clone())
        })
        .collect()
}

/// Registers instruments on a meter, each with a callback over the shared [`Source`].
struct Instruments<'a> {
    meter: &'a Meter,
    source: Weak<Source>,
    names: Vec<&'static str>,
    handles: Vec<Box<dyn Any + Send + Sync>>,
    histograms: Vec<HistogramSink>,
}

impl Instruments<'_> {
    /// A callback observing `figure`'s points in the collection's report, as `T`; nothing
    /// once the registration is dropped.
    fn callback<T: Copy + 'static>(
        &self,
        figure: &'static Figure,
        convert: fn(&Value) -> T,
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
            let autometrics = source
                .histograms
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .autometrics
                .clone();
            let input = Input {
                report: &report,
                autometrics: autometrics.as_ref(),
            };
            for (labels, value) in figure.points(&input) {
                observer.observe(convert(&value), &attributes(&labels));
            }
        }
    }

    /// Registers the instrument of `figure` (none for figures without an OpenTelemetry name).
    fn register(&mut self, figure: &'static Figure) {
        let Some(name) = figure.otel else {
            return;
        };
        let unit = figure.unit.otel;
        let help = figure.help;
        let handle: Box<dyn Any + Send + Sync> = match (figure.kind, figure.num) {
            (Kind::Histogram, _) => {
                let mut builder = self.meter.f64_histogram(name).with_description(help);
                if !unit.is_empty() {
                    builder = builder.with_unit(unit);
                }
                let bounds = self
                    .source
                    .upgrade()
                    .map(|s| s.runtime.config().export.duration_buckets.clone())
                    .unwrap_or_default();
                let histogram = builder.with_boundaries(bounds).build();
                self.histograms.push(HistogramSink {
                    figure,
                    histogram: histogram.clone(),
                    recorded: HashMap::new(),
                });
                Box::new(histogram)
            }
            (Kind::Counter, Num::F64) => Box::new(
                self.meter
                    .f64_observable_counter(name)
                    .with_unit(unit)
                    .with_description(help)
                    .with_callback(self.callback(figure, Value::as_f64))
                    .build(),
            ),
            (Kind::Counter, _) => Box::new(
                self.meter
                    .u64_observable_counter(name)
                    .with_unit(unit)
                    .with_description(help)
                    .with_callback(self.callback(figure, Value::as_u64))
                    .build(),
            ),
            (Kind::UpDown, _) => Box::new(
                self.meter
                    .i64_observable_up_down_counter(name)
                    .with_unit(unit)
                    .with_description(help)
                    .with_callback(self.callback(figure, Value::as_i64))
                    .build(),
            ),
            (_, Num::U64) => Box::new(
                self.meter
                    .u64_observable_gauge(name)
                    .with_unit(unit)
                    .with_description(help)
                    .with_callback(self.callback(figure, Value::as_u64))
                    .build(),
            ),
            (_, Num::I64) => Box::new(
                self.meter
                    .i64_observable_gauge(name)
                    .with_unit(unit)
                    .with_description(help)
                    .with_callback(self.callback(figure, Value::as_i64))
                    .build(),
            ),
            (_, Num::F64) => {
                let mut builder = self
                    .meter
                    .f64_observable_gauge(name)
                    .with_description(help)
                    .with_callback(self.callback(figure, Value::as_f64));
                if !unit.is_empty() {
                    builder = builder.with_unit(unit);
                }
                Box::new(builder.build())
            }
        };
        self.names.push(name);
        self.handles.push(handle);
    }
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
    use crate::export::catalogue::BYTES_PER_MB;

    /// How an instrument was exported.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Counter,
        UpDownCounter,
        Gauge,
        Histogram,
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
            // A histogram's points: `count`, `sum` and each bucket's count (`le=<bound>`),
            // by attributes.
            MetricData::Histogram(h) => (
                Kind::Histogram,
                h.data_points()
                    .flat_map(|p| {
                        let attributes = key(p.attributes());
                        let mut out = vec![
                            (format!("{attributes}#count"), p.count() as f64),
                            (format!("{attributes}#sum"), f(p.sum())),
                        ];
                        let bounds = p.bounds().map(|b| b.to_string()).chain(["+Inf".into()]);
                        for (le, n) in bounds.zip(p.bucket_counts()) {
                            out.push((format!("{attributes}#le={le}"), n as f64));
                        }
                        out
                    })
                    .collect(),
            ),
            _ => panic!("an exponential histogram: no instrument of the export is one"),
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
            Source::new(runtime.clone(), Box::new(move |_| make_report())),
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
            let attributes = format!("phase=build,window_quantile={q}");
            assert_point(
                &c,
                "analytics.phase.window_duration",
                Kind::Gauge,
                "s",
                &attributes,
                seconds,
            );
        }
        assert_eq!(
            c["analytics.phase.window_duration"].points.len(),
            10,
            "5 quantiles of 2 phases"
        );
        // The histogram: exact bucket counts and sum, on the runtime's configured bounds
        // (the sample's own bounds are a subset of none of them: the counts land by value).
        let h = "analytics.phase.duration";
        assert_point(&c, h, Kind::Histogram, "s", "phase=build#count", 3.0);
        assert_point(&c, h, Kind::Histogram, "s", "phase=build#sum", 0.06);
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
        // Every component's error and switch-off series exist from the start, at 0.
        assert_point(
            &c,
            errors,
            Kind::Counter,
            "{error}",
            "component=engine",
            0.0,
        );
        let disabled = "analytics.runtime.component_disabled";
        assert_point(&c, disabled, Kind::Gauge, "1", "component=engine", 0.0);
        assert_eq!(
            c[disabled].points.len(),
            crate::faults::Component::ALL.len()
        );
        assert_point(
            &c,
            "analytics.process.cpu.time",
            Kind::Counter,
            "s",
            "",
            1.5,
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
            "analytics.task.window_duration",
            "analytics.phase.cpu.utilization",
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
        // The sample counter exists from the start, at 0, like every counter.
        assert!(
            !c.keys()
                .any(|n| n.starts_with("analytics.process.") && n != "analytics.process.samples"),
            "{c:#?}"
        );
        assert_point(
            &c,
            "analytics.process.samples",
            Kind::Counter,
            "{sample}",
            "",
            0.0,
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
            Source::new(
                runtime.clone(),
                Box::new(|_| {
                    REPORTS.fetch_add(1, Ordering::Relaxed);
                    crate::export::sample::sample()
                }),
            ),
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

        // The histogram got both runs, in the collections that followed them.
        let histogram = &capture.last()["analytics.phase.duration"];
        assert_eq!(histogram.points.get("phase=load#count"), Some(&2.0));

        // Unregistered: the runtime is released, and nothing is observed any more (the
        // histogram, a synchronous instrument, keeps the counts it had).
        let weak = Arc::downgrade(&registration.source);
        registration.unregister();
        assert!(weak.upgrade().is_none());
        runtime.start_phase("load").success();
        provider.force_flush().unwrap();
        let last = capture.last();
        assert_eq!(
            last.keys().collect::<Vec<_>>(),
            ["analytics.phase.duration", "app.probe"],
            "{last:#?}"
        );
        assert_eq!(
            last["analytics.phase.duration"]
                .points
                .get("phase=load#count"),
            Some(&2.0)
        );
        provider.shutdown().unwrap();
        runtime.shutdown();
    }

    #[test]
    fn names_follow_the_conventions_and_the_docs_list_them_all() {
        let (provider, _capture) = provider();
        let runtime = Runtime::new(crate::AnalyticsConfig::default());
        let registration = register_otel_metrics(runtime.clone(), &provider.meter(OTEL_SCOPE_NAME));
        let names = registration.instrument_names();
        let docs = include_str!("metrics.md");
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
                docs.contains(&format!("| `{name}` |")),
                "{name} is not in the docs' table"
            );
        }
        // Every figure but the runtime's version (the scope's version) is an instrument.
        let otel_figures = super::super::catalogue::figures(false)
            .filter(|f| f.otel.is_some())
            .count();
        assert_eq!(otel_figures, names.len());
        drop(registration);
        provider.shutdown().unwrap();
        runtime.shutdown();
    }

    /// The values recorded into the histogram instruments: every one inside its bucket, and
    /// together the new runs' exact total time.
    #[test]
    fn new_runs_are_recorded_in_their_buckets_with_the_exact_sum() {
        let bounds = vec![0.001, 0.01, 0.1];
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut before: Option<DurationHistogram> = None;
        let mut runs: Vec<u64> = Vec::new();
        for round in 0..50 {
            for _ in 0..(next() % 20) {
                // Durations from 0 to ~1 s, some right on a bound.
                let nanos = match next() % 5 {
                    0 => 10_000_000,
                    _ => (next() % 1_000_000_000) >> (next() % 12),
                };
                runs.push(nanos);
            }
            let mut buckets = crate::histogram::Buckets::new(&bounds);
            for &r in &runs {
                buckets.record(r);
            }
            let now = buckets.report();
            let recorded = new_runs(before.as_ref(), &now);
            let mut counts = vec![0u64; bounds.len() + 1];
            let mut sum = 0.0;
            for &(v, n) in &recorded {
                let bucket = bounds.partition_point(|&b| b < v);
                counts[bucket] += n;
                sum += v * n as f64;
            }
            let expected: Vec<u64> = match &before {
                Some(b) => now
                    .counts
                    .iter()
                    .zip(&b.counts)
                    .map(|(n, b)| n - b)
                    .collect(),
                None => now.counts.clone(),
            };
            assert_eq!(counts, expected, "round {round}: {recorded:?}");
            let want = now.sum_s - before.as_ref().map_or(0.0, |b| b.sum_s);
            assert!(
                (sum - want).abs() <= 1e-9 * want.max(1.0),
                "round {round}: {sum} != {want}: {recorded:?}"
            );
            before = Some(now);
        }
    }
}
