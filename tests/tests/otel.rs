//! The OpenTelemetry export end to end (feature `opentelemetry`): a runtime's instruments are
//! registered on a meter of the SDK's `SdkMeterProvider`, whose `PeriodicReader` pushes each
//! collection (on `force_flush`) into the SDK's `InMemoryMetricExporter`; the exported
//! `ResourceMetrics` carry the report's figures, with OpenTelemetry names, kinds and units.

mod common;
#[path = "common/exporters.rs"]
mod exporters;

use std::collections::BTreeMap;
use std::time::Duration;

use analytics_runtime::export::opentelemetry::metrics::MeterProvider as _;
use analytics_runtime::export::{self, OtelRegistration};
use analytics_runtime::{Outcome, Report, Runtime};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, PeriodicReader, SdkMeterProvider, Temporality,
};

/// Runs `build` 5 times (one failure, one panic), `test` 4 times (one cancelled) and `once`
/// once; records messages and objectives; then waits for the engines.
fn record(rt: &Runtime) {
    exporters::record_phases(rt, "once");
    rt.record_message_bytes("jobs", 100);
    rt.record_message_bytes("jobs", 50);
    rt.record_message("events");
    rt.record_objective("latency", 0.75);
    rt.record_objective_progress("coverage", 0.5, 0.4);
    rt.flush();
}

/// A provider whose reader exports into the returned in-memory exporter on `force_flush`, and
/// the runtime's instruments on its meter.
fn setup(rt: &Runtime) -> (SdkMeterProvider, InMemoryMetricExporter, OtelRegistration) {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let registration =
        export::register_otel_metrics(rt.clone(), &provider.meter_with_scope(export::otel_scope()));
    (provider, exporter, registration)
}

/// Collects once and returns what the exporter received last.
fn collect(provider: &SdkMeterProvider, exporter: &InMemoryMetricExporter) -> ResourceMetrics {
    provider.force_flush().unwrap();
    exporter
        .get_finished_metrics()
        .unwrap()
        .pop()
        .expect("a collection was exported")
}

/// The metric `name` of the runtime's scope, if exported.
fn metric<'a>(rm: &'a ResourceMetrics, name: &str) -> Option<&'a Metric> {
    let scope = rm
        .scope_metrics()
        .find(|s| s.scope().name() == export::OTEL_SCOPE_NAME)?;
    scope.metrics().find(|m| m.name() == name)
}

/// How a metric was aggregated: an instrument kind and the value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Monotonic sum: an observable counter.
    Counter,
    /// Non-monotonic sum: an observable up-down counter.
    UpDownCounter,
    /// Last value: an observable gauge.
    Gauge,
    /// Explicit buckets: a histogram (points are the counts of runs).
    Histogram,
}

/// Attributes as `key -> value` strings.
type Attributes = BTreeMap<String, String>;

/// A metric's kind, value type (`u64`, `i64`, `f64`) and points (values as `f64`).
fn points(m: &Metric) -> (Kind, &'static str, Vec<(Attributes, f64)>) {
    fn of<T: Copy>(data: &MetricData<T>, f: fn(T) -> f64) -> (Kind, Vec<(Attributes, f64)>) {
        fn attributes<'a>(
            kvs: impl Iterator<Item = &'a export::opentelemetry::KeyValue>,
        ) -> Attributes {
            kvs.map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
                .collect()
        }
        match data {
            MetricData::Sum(sum) => {
                assert_eq!(sum.temporality(), Temporality::Cumulative);
                let kind = if sum.is_monotonic() {
                    Kind::Counter
                } else {
                    Kind::UpDownCounter
                };
                let points = sum.data_points();
                (
                    kind,
                    points
                        .map(|p| (attributes(p.attributes()), f(p.value())))
                        .collect(),
                )
            }
            MetricData::Gauge(gauge) => {
                let points = gauge.data_points();
                (
                    Kind::Gauge,
                    points
                        .map(|p| (attributes(p.attributes()), f(p.value())))
                        .collect(),
                )
            }
            MetricData::Histogram(h) => {
                assert_eq!(h.temporality(), Temporality::Cumulative);
                let points = h.data_points();
                (
                    Kind::Histogram,
                    points
                        .map(|p| (attributes(p.attributes()), p.count() as f64))
                        .collect(),
                )
            }
            MetricData::ExponentialHistogram(_) => {
                panic!("an exponential histogram: no instrument of the export is one")
            }
        }
    }
    match m.data() {
        AggregatedMetrics::U64(data) => {
            let (kind, points) = of(data, |v| v as f64);
            (kind, "u64", points)
        }
        AggregatedMetrics::I64(data) => {
            let (kind, points) = of(data, |v| v as f64);
            (kind, "i64", points)
        }
        AggregatedMetrics::F64(data) => {
            let (kind, points) = of(data, |v| v);
            (kind, "f64", points)
        }
    }
}

/// The value of `name` at exactly `attributes`, asserting the metric's kind and unit.
#[track_caller]
fn value(
    rm: &ResourceMetrics,
    name: &str,
    kind: Kind,
    unit: &str,
    attributes: &[(&str, &str)],
) -> Option<f64> {
    let m = metric(rm, name).unwrap_or_else(|| panic!("{name} was not exported"));
    assert_eq!(m.unit(), unit, "{name}: unit");
    let (got_kind, _, points) = points(m);
    assert_eq!(got_kind, kind, "{name}: kind");
    let want: Attributes = attributes
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let found: Vec<f64> = points
        .iter()
        .filter(|(a, _)| *a == want)
        .map(|(_, v)| *v)
        .collect();
    assert!(found.len() <= 1, "{name}{want:?}: {found:?}");
    found.first().copied()
}

/// The attribute sets of `name`'s points.
fn attribute_sets(rm: &ResourceMetrics, name: &str) -> Vec<Attributes> {
    metric(rm, name).map_or_else(Vec::new, |m| {
        points(m).2.into_iter().map(|(a, _)| a).collect()
    })
}

/// Asserts that the exported phase figures equal `report`'s.
fn assert_phases_match(rm: &ResourceMetrics, report: &Report) {
    for p in &report.phases {
        let phase = [("phase", p.name.as_str())];
        for (name, expected) in [
            ("analytics.phase.executions", p.executions),
            ("analytics.phase.successes", p.successes),
            ("analytics.phase.failures", p.failures),
            ("analytics.phase.panics", p.panics),
            ("analytics.phase.cancelled", p.cancelled),
        ] {
            let got = value(rm, name, Kind::Counter, "{run}", &phase);
            assert_eq!(got, Some(expected as f64), "{name} of {}", p.name);
        }
        let time = value(rm, "analytics.phase.time", Kind::Counter, "s", &phase);
        assert_eq!(time, Some(p.total_ms / 1000.0), "{}", p.name);
        let d = &p.duration_ms;
        for (q, ms) in [
            ("0", d.min),
            ("0.5", d.p50),
            ("0.9", d.p90),
            ("0.99", d.p99),
            ("1", d.max),
        ] {
            let attributes = [("phase", p.name.as_str()), ("window_quantile", q)];
            let got = value(
                rm,
                "analytics.phase.window_duration",
                Kind::Gauge,
                "s",
                &attributes,
            );
            assert_eq!(got, Some(ms / 1000.0), "{} quantile {q}", p.name);
        }
        // The histogram counts every run, of every outcome.
        let runs = value(rm, "analytics.phase.duration", Kind::Histogram, "s", &phase);
        assert_eq!(runs, Some(p.executions as f64), "{}", p.name);
        let probability = value(
            rm,
            "analytics.phase.failure_probability",
            Kind::Gauge,
            "1",
            &phase,
        );
        assert_eq!(
            probability,
            p.prediction.map(|pr| pr.failure_probability),
            "{}",
            p.name
        );
    }
}

#[test]
fn the_in_memory_exporter_reads_the_report() {
    let rt = exporters::runtime();
    record(&rt);
    let (provider, exporter, registration) = setup(&rt);
    let rm = collect(&provider, &exporter);
    let report = rt.report();

    // The scope names the crate and its version.
    let scope = rm
        .scope_metrics()
        .map(|s| s.scope())
        .find(|s| s.name() == "analytics-runtime")
        .expect("the runtime's scope");
    assert_eq!(scope.version(), Some(report.runtime.version.as_str()));

    // The counts recorded, exactly.
    assert_eq!(common::counts(&report, "build"), (5, 3, 2, 1, 0));
    assert_eq!(common::counts(&report, "test"), (4, 3, 0, 0, 1));
    assert_eq!(common::counts(&report, "once"), (1, 1, 0, 0, 0));
    let executions = |phase| {
        value(
            &rm,
            "analytics.phase.executions",
            Kind::Counter,
            "{run}",
            &[("phase", phase)],
        )
    };
    assert_eq!(
        (executions("build"), executions("test"), executions("once")),
        (Some(5.0), Some(4.0), Some(1.0))
    );
    let build = [("phase", "build")];
    assert_eq!(
        value(
            &rm,
            "analytics.phase.failures",
            Kind::Counter,
            "{run}",
            &build
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &rm,
            "analytics.phase.panics",
            Kind::Counter,
            "{run}",
            &build
        ),
        Some(1.0)
    );
    let test = [("phase", "test")];
    assert_eq!(
        value(
            &rm,
            "analytics.phase.cancelled",
            Kind::Counter,
            "{run}",
            &test
        ),
        Some(1.0)
    );
    // Counts are u64 counters; times, durations and fractions f64.
    let types = |name| points(metric(&rm, name).unwrap()).1;
    assert_eq!(types("analytics.phase.executions"), "u64");
    assert_eq!(types("analytics.phase.duration"), "f64");
    assert_eq!(types("analytics.memory.usage"), "i64");

    // The duration quantiles: five per timed phase, as attributes.
    let quantiles: Vec<String> = attribute_sets(&rm, "analytics.phase.window_duration")
        .into_iter()
        .filter(|a| a.get("phase").map(String::as_str) == Some("build"))
        .map(|a| {
            assert_eq!(a.len(), 2, "{a:?}");
            a["window_quantile"].clone()
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(quantiles, ["0", "0.5", "0.9", "0.99", "1"]);
    let p50 = [("phase", "build"), ("window_quantile", "0.5")];
    let window = "analytics.phase.window_duration";
    assert_eq!(value(&rm, window, Kind::Gauge, "s", &p50), Some(0.02));
    let max = [("phase", "build"), ("window_quantile", "1")];
    assert_eq!(value(&rm, window, Kind::Gauge, "s", &max), Some(0.03));
    assert_eq!(
        value(
            &rm,
            "analytics.phase.duration",
            Kind::Histogram,
            "s",
            &build
        ),
        Some(5.0)
    );
    assert_eq!(
        value(&rm, "analytics.phase.time", Kind::Counter, "s", &build),
        Some(0.1)
    );

    // Predicted: `build` (5 runs, min_history 3); not `once` (1 run).
    assert!(
        report.phase("build").unwrap().prediction.is_some(),
        "{report}"
    );
    assert!(
        report.phase("once").unwrap().prediction.is_none(),
        "{report}"
    );
    let predicted: Vec<String> = attribute_sets(&rm, "analytics.phase.failure_probability")
        .into_iter()
        .map(|a| a["phase"].clone())
        .collect();
    assert!(predicted.contains(&"build".to_owned()), "{predicted:?}");
    assert!(!predicted.contains(&"once".to_owned()), "{predicted:?}");
    assert_phases_match(&rm, &report);

    // Messages by topic, in messages and bytes.
    let jobs = [("topic", "jobs")];
    assert_eq!(
        value(&rm, "analytics.messages", Kind::Counter, "{message}", &jobs),
        Some(2.0)
    );
    assert_eq!(
        value(&rm, "analytics.message.volume", Kind::Counter, "By", &jobs),
        Some(150.0)
    );
    let events = [("topic", "events")];
    assert_eq!(
        value(
            &rm,
            "analytics.messages",
            Kind::Counter,
            "{message}",
            &events
        ),
        Some(1.0)
    );

    // Objectives: a progress only where one was recorded.
    let latency = [("objective", "latency")];
    let coverage = [("objective", "coverage")];
    assert_eq!(
        value(
            &rm,
            "analytics.objective.health",
            Kind::Gauge,
            "1",
            &latency
        ),
        Some(0.75)
    );
    assert_eq!(
        value(
            &rm,
            "analytics.objective.progress",
            Kind::Gauge,
            "1",
            &coverage
        ),
        Some(0.4)
    );
    assert_eq!(
        value(
            &rm,
            "analytics.objective.progress",
            Kind::Gauge,
            "1",
            &latency
        ),
        None
    );
    assert_eq!(
        value(
            &rm,
            "analytics.objective.updates",
            Kind::Counter,
            "{update}",
            &latency
        ),
        Some(1.0)
    );

    // Memory by component, as an up-down counter in bytes adding up to the total.
    let memory = metric(&rm, "analytics.memory.usage").unwrap();
    assert_eq!(memory.unit(), "By");
    let (kind, _, by_component) = points(memory);
    assert_eq!(kind, Kind::UpDownCounter);
    assert_eq!(by_component.len(), report.memory.components.len());
    for (attributes, bytes) in &by_component {
        let component = &attributes["component"];
        assert_eq!(
            *bytes, report.memory.components[component] as f64,
            "{component}"
        );
    }

    // Severities always; the rest of the runtime's health.
    let severities: Vec<String> = attribute_sets(&rm, "analytics.anomalies")
        .into_iter()
        .map(|a| a["severity"].clone())
        .collect();
    assert_eq!(severities.len(), 4, "{severities:?}");
    assert_eq!(
        value(&rm, "analytics.runtime.enabled", Kind::Gauge, "1", &[]),
        Some(1.0)
    );
    let uptime = value(&rm, "analytics.runtime.uptime", Kind::Gauge, "s", &[]).unwrap();
    assert!(uptime > 0.0 && uptime <= report.uptime_s, "{uptime}");

    // Figures the report does not have are not exported: no resources were sampled, no task
    // or quality metric recorded. Counters are, at 0: errors of every component.
    for absent in [
        "analytics.process.memory.usage",
        "analytics.process.cpu.utilization",
        "analytics.process.cpu.time",
        "analytics.tasks",
        "analytics.task.window_duration",
        "analytics.quality",
    ] {
        assert!(metric(&rm, absent).is_none(), "{absent} was exported");
    }
    // Nothing is NaN or infinite.
    for m in rm.scope_metrics().flat_map(|s| s.metrics()) {
        for (attributes, v) in points(m).2 {
            assert!(v.is_finite(), "{}{attributes:?} = {v}", m.name());
        }
    }

    drop(registration);
    provider.shutdown().unwrap();
    rt.shutdown();
}

#[test]
fn counters_are_monotonic_across_collections() {
    let rt = exporters::runtime();
    record(&rt);
    let (provider, exporter, registration) = setup(&rt);
    let first = collect(&provider, &exporter);

    for _ in 0..3 {
        rt.record_run("build", Duration::from_millis(12), Outcome::Failure);
    }
    rt.record_message_bytes("jobs", 10);
    rt.flush();
    let second = collect(&provider, &exporter);

    let build = [("phase", "build")];
    let executions = |rm| {
        value(
            rm,
            "analytics.phase.executions",
            Kind::Counter,
            "{run}",
            &build,
        )
    };
    let failures = |rm| {
        value(
            rm,
            "analytics.phase.failures",
            Kind::Counter,
            "{run}",
            &build,
        )
    };
    assert_eq!(
        (executions(&first), executions(&second)),
        (Some(5.0), Some(8.0))
    );
    assert_eq!(
        (failures(&first), failures(&second)),
        (Some(2.0), Some(5.0))
    );
    let volume = |rm| {
        value(
            rm,
            "analytics.message.volume",
            Kind::Counter,
            "By",
            &[("topic", "jobs")],
        )
    };
    assert_eq!(
        (volume(&first), volume(&second)),
        (Some(150.0), Some(160.0))
    );

    // Every counter point of the first collection is there in the second, no lower.
    let mut compared = 0;
    for m in first.scope_metrics().flat_map(|s| s.metrics()) {
        let (kind, _, before) = points(m);
        if kind != Kind::Counter {
            continue;
        }
        let after = points(metric(&second, m.name()).unwrap()).2;
        for (attributes, v) in before {
            let later = after
                .iter()
                .find(|(a, _)| *a == attributes)
                .map(|(_, v)| *v);
            assert!(
                later.is_some_and(|later| later >= v),
                "{}{attributes:?}: {v} then {later:?}",
                m.name()
            );
            compared += 1;
        }
    }
    assert!(compared > 20, "{compared} counter points");

    drop(registration);
    provider.shutdown().unwrap();
    rt.shutdown();
}

#[test]
fn dropping_the_registration_stops_the_observations() {
    let rt = common::runtime();
    let (provider, exporter, registration) = setup(&rt);
    // An application instrument beside the runtime's, so every collection exports something.
    let app = provider.meter("app");
    let requests = app
        .u64_counter("app.requests")
        .with_unit("{request}")
        .build();
    requests.add(1, &[]);
    rt.record_run("load", Duration::from_millis(5), Outcome::Success);

    let before = collect(&provider, &exporter);
    let load = [("phase", "load")];
    let executions = value(
        &before,
        "analytics.phase.executions",
        Kind::Counter,
        "{run}",
        &load,
    );
    assert_eq!(executions, Some(1.0));
    assert_eq!(registration.runtime().report().total_executions(), 1);
    // Every metric of the runtime's scope is one of the registration's instruments.
    let names = registration.instrument_names();
    let scope = before
        .scope_metrics()
        .find(|s| s.scope().name() == export::OTEL_SCOPE_NAME)
        .unwrap();
    for m in scope.metrics() {
        assert!(
            names.contains(&m.name()),
            "{} is not in {names:?}",
            m.name()
        );
    }

    registration.unregister();
    rt.record_run("load", Duration::from_millis(5), Outcome::Success);
    requests.add(1, &[]);
    let after = collect(&provider, &exporter);
    // Only the histogram, a synchronous instrument, is left, with the counts it had.
    let left: Vec<&str> = after
        .scope_metrics()
        .filter(|s| s.scope().name() == export::OTEL_SCOPE_NAME)
        .flat_map(|s| s.metrics().map(|m| m.name()))
        .collect();
    assert_eq!(left, ["analytics.phase.duration"]);
    let runs = value(
        &after,
        "analytics.phase.duration",
        Kind::Histogram,
        "s",
        &load,
    );
    assert_eq!(runs, Some(1.0));

    provider.shutdown().unwrap();
    rt.shutdown();
}
