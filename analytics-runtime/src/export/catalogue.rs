//! One catalogue of every exported figure: its names, kind, unit, labels, help text and how it
//! is read from a [`Report`]. The Prometheus encoder, the OpenTelemetry instruments, the
//! autometrics mode and the docs' tables (`metrics.md`) all read from [`FIGURES`], so a new
//! figure is one entry here (issue 15.6: it used to be four edits with copied help strings).

use crate::DurationHistogram;
use crate::faults::Component;
use crate::report::{PhaseReport, Report};

/// Milliseconds per second: the report's durations are in ms, the exports' in seconds.
const MS_PER_S: f64 = 1000.0;
/// Bytes per MB as the resource sampler counts them (MiB).
pub(crate) const BYTES_PER_MB: f64 = 1024.0 * 1024.0;

/// What kind of instrument a figure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A monotonic total (Prometheus appends `_total`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A gauge whose values add up across series (OpenTelemetry: an up-down counter).
    UpDown,
    /// Runs in fixed duration buckets (`_bucket{le}`, `_sum`, `_count`).
    Histogram,
    /// Constant labels with the value 1 (Prometheus `_info`).
    Info,
}

impl Kind {
    /// The name in the docs' tables.
    #[cfg(test)]
    pub(crate) fn doc(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::UpDown => "gauge (OTel: up-down counter)",
            Kind::Histogram => "histogram",
            Kind::Info => "info",
        }
    }
}

/// The number type of a figure's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Num {
    /// Whole counts (and 0/1 flags).
    U64,
    /// Whole amounts that can be negative (bytes released).
    I64,
    /// Real values.
    F64,
}

/// A figure's unit: the suffix Prometheus puts in the name, and OpenTelemetry's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unit {
    /// Appended to the Prometheus name (`_seconds`), if any.
    pub(crate) prometheus: Option<&'static str>,
    /// The OpenTelemetry unit (UCUM: `s`, `By`, `1`, `{run}`); empty for none.
    pub(crate) otel: &'static str,
}

const SECONDS: Unit = Unit {
    prometheus: Some("seconds"),
    otel: "s",
};
const BYTES: Unit = Unit {
    prometheus: Some("bytes"),
    otel: "By",
};
/// A fraction (1 = 100 %), named `_ratio` in Prometheus.
const RATIO: Unit = Unit {
    prometheus: Some("ratio"),
    otel: "1",
};
/// A fraction without a suffix in the Prometheus name (a probability, a score).
const FRACTION: Unit = Unit {
    prometheus: None,
    otel: "1",
};
/// No unit at all.
const NONE: Unit = Unit {
    prometheus: None,
    otel: "",
};

/// A count of things, e.g. `count("{run}")`.
const fn count(what: &'static str) -> Unit {
    Unit {
        prometheus: None,
        otel: what,
    }
}

/// When a figure is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Always.
    Always,
    /// With `export.autometrics` only.
    Autometrics,
}

/// One value of a figure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    U64(u64),
    I64(i64),
    F64(f64),
    Histogram(DurationHistogram),
}

impl Value {
    /// As a real number (histograms: their sum).
    pub(crate) fn as_f64(&self) -> f64 {
        match self {
            Value::U64(v) => *v as f64,
            Value::I64(v) => *v as f64,
            Value::F64(v) => *v,
            Value::Histogram(h) => h.sum_s,
        }
    }

    /// As a whole count, saturating (negative and non-finite values are 0).
    pub(crate) fn as_u64(&self) -> u64 {
        match self {
            Value::U64(v) => *v,
            Value::I64(v) => u64::try_from(*v).unwrap_or(0),
            // `as` saturates and maps NaN to 0.
            Value::F64(v) => *v as u64,
            Value::Histogram(h) => h.count,
        }
    }

    /// As a signed whole amount, saturating.
    pub(crate) fn as_i64(&self) -> i64 {
        match self {
            Value::U64(v) => i64::try_from(*v).unwrap_or(i64::MAX),
            Value::I64(v) => *v,
            Value::F64(v) => *v as i64,
            Value::Histogram(h) => i64::try_from(h.count).unwrap_or(i64::MAX),
        }
    }
}

/// A label set: `(name, value)` pairs (Prometheus names; the encoders escape the values).
pub(crate) type Labels = Vec<(&'static str, String)>;

/// The points of one figure in one report.
pub(crate) type Points = Vec<(Labels, Value)>;

/// What the autometrics families label every series with (the spec's `service.name`, and
/// `build_info`'s labels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Autometrics {
    pub(crate) service_name: String,
    pub(crate) version: String,
    pub(crate) commit: String,
    pub(crate) branch: String,
}

impl Autometrics {
    /// The autometrics specification version the families follow.
    pub(crate) const SPEC_VERSION: &'static str = "1.0.0";

    /// From the environment, as the spec asks: `AUTOMETRICS_SERVICE_NAME`, else
    /// `OTEL_SERVICE_NAME`, else the executable's name; `AUTOMETRICS_VERSION`,
    /// `AUTOMETRICS_COMMIT` and `AUTOMETRICS_BRANCH` (empty when unset).
    pub(crate) fn from_env() -> Autometrics {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let service_name = var("AUTOMETRICS_SERVICE_NAME")
            .or_else(|| var("OTEL_SERVICE_NAME"))
            .or_else(|| {
                std::env::current_exe()
                    .ok()?
                    .file_stem()?
                    .to_str()
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "unknown_service".to_owned());
        Autometrics {
            service_name,
            version: var("AUTOMETRICS_VERSION").unwrap_or_default(),
            commit: var("AUTOMETRICS_COMMIT").unwrap_or_default(),
            branch: var("AUTOMETRICS_BRANCH").unwrap_or_default(),
        }
    }
}

/// What a figure is read from: the report, and the autometrics labels when that mode is on.
pub(crate) struct Input<'a> {
    pub(crate) report: &'a Report,
    pub(crate) autometrics: Option<&'a Autometrics>,
}

/// One exported figure.
pub(crate) struct Figure {
    /// The Prometheus name before the unit and `_total` suffixes.
    pub(crate) prometheus: &'static str,
    /// The OpenTelemetry instrument name; `None`: not an instrument (the runtime's version is
    /// the instrumentation scope's).
    pub(crate) otel: Option<&'static str>,
    pub(crate) kind: Kind,
    pub(crate) num: Num,
    pub(crate) unit: Unit,
    /// The labels, as the docs list them (besides `le` of histograms).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) labels: &'static str,
    pub(crate) help: &'static str,
    /// Where in the report the figure comes from, for the docs.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) source: &'static str,
    pub(crate) mode: Mode,
    /// The figure's points in a report; non-finite values are dropped by the encoders.
    pub(crate) read: fn(&Input<'_>) -> Points,
}

impl Figure {
    /// The full Prometheus name of the samples (text format): with the unit and, for
    /// counters, `_total`.
    #[cfg(test)]
    pub(crate) fn prometheus_name(&self) -> String {
        let mut name = self.prometheus.to_owned();
        if let Some(unit) = self.unit.prometheus {
            name.push('_');
            name.push_str(unit);
        }
        match self.kind {
            Kind::Counter => name.push_str("_total"),
            Kind::Info => name.push_str("_info"),
            _ => {}
        }
        name
    }

    /// The figure's points in `input`, without non-finite values.
    pub(crate) fn points(&self, input: &Input<'_>) -> Points {
        let mut points = (self.read)(input);
        points.retain(|(_, v)| match v {
            Value::F64(v) => v.is_finite() && (self.kind != Kind::Counter || *v >= 0.0),
            Value::Histogram(h) => h.sum_s.is_finite() && h.counts.len() == h.bounds_s.len() + 1,
            _ => true,
        });
        points
    }
}

/// No labels.
fn none() -> Labels {
    Vec::new()
}

/// `{phase="name"}`.
fn phase(p: &PhaseReport) -> Labels {
    vec![("phase", p.name.clone())]
}

/// One point per phase.
fn per_phase(r: &Input<'_>, value: impl Fn(&PhaseReport) -> Value) -> Points {
    r.report
        .phases
        .iter()
        .map(|p| (phase(p), value(p)))
        .collect()
}

/// One point per phase that has a value.
fn per_phase_opt(r: &Input<'_>, value: impl Fn(&PhaseReport) -> Option<Value>) -> Points {
    r.report
        .phases
        .iter()
        .filter_map(|p| Some((phase(p), value(p)?)))
        .collect()
}

/// One point without labels.
fn one(value: Value) -> Points {
    vec![(none(), value)]
}

/// Phases whose duration figures mean something: at least one run completed (cancelled runs
/// have no duration).
fn timed(p: &PhaseReport) -> bool {
    p.window_runs > 0 || p.executions > p.cancelled
}

/// A duration summary as `window_quantile`-labelled seconds after `labels` (min and max as 0
/// and 1). Not `quantile`: that label belongs to summaries, and these are gauges over the
/// recent window (`promtool check metrics` refuses a `quantile` label on a gauge).
fn window_quantiles(labels: &Labels, stats: &crate::stats::DurationStats) -> Points {
    [
        ("0", stats.min),
        ("0.5", stats.p50),
        ("0.9", stats.p90),
        ("0.99", stats.p99),
        ("1", stats.max),
    ]
    .into_iter()
    .map(|(q, ms)| {
        let mut labels = labels.clone();
        labels.push(("window_quantile", q.to_owned()));
        (labels, Value::F64(ms / MS_PER_S))
    })
    .collect()
}

/// A MB figure in whole bytes.
fn bytes(mb: f64) -> Value {
    // `as` saturates (and a NaN is 0): a finite figure of the sampler is far inside i64.
    Value::I64((mb * BYTES_PER_MB).round() as i64)
}

/// The process's sampled resources, when the sampler has taken a sample.
fn sampled<'a>(r: &Input<'a>) -> Option<&'a crate::report::ResourcesReport> {
    let resources = &r.report.resources;
    (resources.monitored && resources.samples > 0).then_some(resources)
}

/// One point per component of the runtime, every one from the start: alert rules need the
/// series at 0 before the first error.
fn per_component(r: &Input<'_>, value: impl Fn(&str) -> u64) -> Points {
    let mut names: Vec<&str> = Component::ALL.iter().map(|c| c.name()).collect();
    let runtime = &r.report.runtime;
    for name in runtime
        .errors_by_component
        .keys()
        .chain(&runtime.components_disabled)
    {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|name| {
            (
                vec![("component", name.to_owned())],
                Value::U64(value(name)),
            )
        })
        .collect()
}

/// The autometrics labels of a phase: `function`, `module`, `service_name`.
fn function(p: &PhaseReport, a: &Autometrics) -> Labels {
    vec![
        ("function", p.name.clone()),
        (
            "module",
            p.site
                .as_ref()
                .map(|s| s.module_path.clone())
                .unwrap_or_default(),
        ),
        ("service_name", a.service_name.clone()),
    ]
}

/// A counter of `{run}`s per phase.
macro_rules! phase_count {
    ($prom:literal, $otel:literal, $help:literal, $source:literal, $field:ident) => {
        Figure {
            prometheus: $prom,
            otel: Some($otel),
            kind: Kind::Counter,
            num: Num::U64,
            unit: count("{run}"),
            labels: "`phase`",
            help: $help,
            source: $source,
            mode: Mode::Always,
            read: |r| per_phase(r, |p| Value::U64(p.$field)),
        }
    };
}

/// A figure that is always exported.
#[allow(clippy::too_many_arguments)]
const fn figure(
    prometheus: &'static str,
    otel: &'static str,
    kind: Kind,
    num: Num,
    unit: Unit,
    labels: &'static str,
    help: &'static str,
    source: &'static str,
    read: fn(&Input<'_>) -> Points,
) -> Figure {
    Figure {
        prometheus,
        otel: Some(otel),
        kind,
        num,
        unit,
        labels,
        help,
        source,
        mode: Mode::Always,
        read,
    }
}

/// Every figure, in the order of the docs' tables.
pub(crate) static FIGURES: &[Figure] = &[
    // --- phases -------------------------------------------------------------------------
    phase_count!(
        "analytics_phase_executions",
        "analytics.phase.executions",
        "Calls of the phase that ended: successes + failures + cancelled.",
        "`phases[].executions`",
        executions
    ),
    phase_count!(
        "analytics_phase_successes",
        "analytics.phase.successes",
        "Calls of the phase that returned anything but Err.",
        "`phases[].successes`",
        successes
    ),
    phase_count!(
        "analytics_phase_failures",
        "analytics.phase.failures",
        "Calls of the phase that returned Err or panicked.",
        "`phases[].failures` (panics included)",
        failures
    ),
    phase_count!(
        "analytics_phase_panics",
        "analytics.phase.panics",
        "Calls of the phase that panicked (also counted in failures).",
        "`phases[].panics`",
        panics
    ),
    phase_count!(
        "analytics_phase_cancelled",
        "analytics.phase.cancelled",
        "Async calls of the phase dropped before they completed.",
        "`phases[].cancelled`",
        cancelled
    ),
    figure(
        "analytics_phase",
        "analytics.phase.time",
        Kind::Counter,
        Num::F64,
        SECONDS,
        "`phase`",
        "Time spent in the phase over all its executions.",
        "`phases[].total_ms`",
        |r| per_phase(r, |p| Value::F64(p.total_ms / MS_PER_S)),
    ),
    figure(
        "analytics_phase_duration",
        "analytics.phase.duration",
        Kind::Histogram,
        Num::F64,
        SECONDS,
        "`phase`",
        "Durations of every run of the phase (all outcomes), in fixed buckets (export.duration_buckets).",
        "`phases[].histogram`",
        |r| per_phase_opt(r, |p| Some(Value::Histogram(p.histogram.clone()?))),
    ),
    figure(
        "analytics_phase_window_duration",
        "analytics.phase.window_duration",
        Kind::Gauge,
        Num::F64,
        SECONDS,
        "`phase`, `window_quantile` (`0`, `0.5`, `0.9`, `0.99`, `1`)",
        "Duration quantiles of the phase's recent runs (window_quantile 0 is the shortest, 1 the longest).",
        "`phases[].duration_ms` min, p50, p90, p99, max over the recent window",
        |r| {
            r.report
                .phases
                .iter()
                .filter(|p| timed(p))
                .flat_map(|p| window_quantiles(&phase(p), &p.duration_ms))
                .collect()
        },
    ),
    figure(
        "analytics_phase_duration_mean",
        "analytics.phase.duration_mean",
        Kind::Gauge,
        Num::F64,
        SECONDS,
        "`phase`",
        "Mean duration of the phase's recent runs.",
        "`phases[].duration_ms.mean`",
        |r| {
            per_phase_opt(r, |p| {
                timed(p).then_some(Value::F64(p.duration_ms.mean / MS_PER_S))
            })
        },
    ),
    figure(
        "analytics_phase_duration_stddev",
        "analytics.phase.duration_stddev",
        Kind::Gauge,
        Num::F64,
        SECONDS,
        "`phase`",
        "Standard deviation of the durations of the phase's recent runs.",
        "`phases[].duration_ms.std_dev`",
        |r| {
            per_phase_opt(r, |p| {
                timed(p).then_some(Value::F64(p.duration_ms.std_dev / MS_PER_S))
            })
        },
    ),
    figure(
        "analytics_phase_duration_window_runs",
        "analytics.phase.window_runs",
        Kind::Gauge,
        Num::U64,
        count("{run}"),
        "`phase`",
        "Recent runs of the phase that the window figures summarise.",
        "`phases[].window_runs`",
        |r| per_phase(r, |p| Value::U64(p.window_runs as u64)),
    ),
    figure(
        "analytics_phase_failure_streak",
        "analytics.phase.failure_streak",
        Kind::Gauge,
        Num::U64,
        count("{run}"),
        "`phase`",
        "Consecutive failures of the phase up to now.",
        "`phases[].failure_streak`",
        |r| per_phase(r, |p| Value::U64(p.failure_streak)),
    ),
    figure(
        "analytics_phase_failure_probability",
        "analytics.phase.failure_probability",
        Kind::Gauge,
        Num::F64,
        FRACTION,
        "`phase`",
        "Predicted probability that the phase's next run fails.",
        "`phases[].prediction.failure_probability` (predicted phases only)",
        |r| per_phase_opt(r, |p| Some(Value::F64(p.prediction?.failure_probability))),
    ),
    figure(
        "analytics_phase_predicted_duration",
        "analytics.phase.predicted_duration",
        Kind::Gauge,
        Num::F64,
        SECONDS,
        "`phase`",
        "Expected duration of the phase's next run.",
        "`phases[].prediction.expected_ms`",
        |r| {
            per_phase_opt(r, |p| {
                Some(Value::F64(p.prediction?.expected_ms / MS_PER_S))
            })
        },
    ),
    figure(
        "analytics_phase_predicted_duration_p90",
        "analytics.phase.predicted_duration_p90",
        Kind::Gauge,
        Num::F64,
        SECONDS,
        "`phase`",
        "90th percentile of the expected duration of the phase's next run.",
        "`phases[].prediction.p90_ms`",
        |r| per_phase_opt(r, |p| Some(Value::F64(p.prediction?.p90_ms / MS_PER_S))),
    ),
    figure(
        "analytics_phase_prediction_confidence",
        "analytics.phase.prediction_confidence",
        Kind::Gauge,
        Num::F64,
        RATIO,
        "`phase`",
        "Confidence in the phase's prediction.",
        "`phases[].prediction.confidence`",
        |r| per_phase_opt(r, |p| Some(Value::F64(p.prediction?.confidence))),
    ),
    figure(
        "analytics_phase_cpu",
        "analytics.phase.cpu.utilization",
        Kind::Gauge,
        Num::F64,
        RATIO,
        "`phase`",
        "Mean process CPU use while the phase ran (1 = one core busy).",
        "`phases[].resources.cpu_percent` / 100",
        |r| per_phase_opt(r, |p| Some(Value::F64(p.resources?.cpu_percent / 100.0))),
    ),
    figure(
        "analytics_phase_resident_memory_delta",
        "analytics.phase.memory.delta",
        Kind::Gauge,
        Num::I64,
        BYTES,
        "`phase`",
        "Process resident memory change attributed to the phase (negative: released).",
        "`phases[].resources.rss_delta_mb`",
        |r| per_phase_opt(r, |p| Some(bytes(p.resources?.rss_delta_mb))),
    ),
    // --- predictions and anomalies ------------------------------------------------------
    figure(
        "analytics_predictions",
        "analytics.prediction.made",
        Kind::Counter,
        Num::U64,
        count("{prediction}"),
        "",
        "Runs that started with a prediction available.",
        "`predictions.made`",
        |r| one(Value::U64(r.report.predictions.made)),
    ),
    figure(
        "analytics_predictions_high_risk",
        "analytics.prediction.high_risk",
        Kind::Counter,
        Num::U64,
        count("{prediction}"),
        "",
        "Predicted runs whose failure probability reached predictive.confidence_threshold.",
        "`predictions.high_risk`",
        |r| one(Value::U64(r.report.predictions.high_risk)),
    ),
    figure(
        "analytics_predictions_scored",
        "analytics.prediction.scored",
        Kind::Counter,
        Num::U64,
        count("{prediction}"),
        "",
        "Predicted runs scored against their outcome.",
        "`predictions.accuracy.scored`",
        |r| one(Value::U64(r.report.predictions.accuracy.scored)),
    ),
    figure(
        "analytics_prediction_brier",
        "analytics.prediction.brier",
        Kind::Gauge,
        Num::F64,
        FRACTION,
        "",
        "Brier score of the failure predictions (mean squared error, 0 is perfect).",
        "`predictions.accuracy.brier`",
        |r| {
            r.report
                .predictions
                .accuracy
                .brier
                .map(Value::F64)
                .map_or_else(Vec::new, one)
        },
    ),
    figure(
        "analytics_prediction_brier_skill",
        "analytics.prediction.brier_skill",
        Kind::Gauge,
        Num::F64,
        FRACTION,
        "",
        "1 - brier / the brier score of always predicting each phase's base rate.",
        "`predictions.accuracy.brier_skill`",
        |r| {
            let skill = r.report.predictions.accuracy.brier_skill;
            skill.map(Value::F64).map_or_else(Vec::new, one)
        },
    ),
    figure(
        "analytics_prediction_duration_mape",
        "analytics.prediction.duration_mape",
        Kind::Gauge,
        Num::F64,
        RATIO,
        "",
        "Median absolute percentage error of the expected durations.",
        "`predictions.accuracy.duration_mape`",
        |r| {
            let mape = r.report.predictions.accuracy.duration_mape;
            mape.map(Value::F64).map_or_else(Vec::new, one)
        },
    ),
    figure(
        "analytics_prediction_p90_coverage",
        "analytics.prediction.p90_coverage",
        Kind::Gauge,
        Num::F64,
        RATIO,
        "",
        "Fraction of runs at or under their predicted p90 duration (ideal: 0.9).",
        "`predictions.accuracy.p90_coverage`",
        |r| {
            let coverage = r.report.predictions.accuracy.p90_coverage;
            coverage.map(Value::F64).map_or_else(Vec::new, one)
        },
    ),
    figure(
        "analytics_anomalies",
        "analytics.anomalies",
        Kind::Counter,
        Num::U64,
        count("{anomaly}"),
        "`severity` (`low`, `medium`, `high`, `critical`)",
        "Anomalies detected, by severity.",
        "`anomalies.by_severity`",
        |r| {
            let by = &r.report.anomalies.by_severity;
            [
                ("low", by.low),
                ("medium", by.medium),
                ("high", by.high),
                ("critical", by.critical),
            ]
            .into_iter()
            .map(|(severity, n)| (vec![("severity", severity.to_owned())], Value::U64(n)))
            .collect()
        },
    ),
    figure(
        "analytics_anomaly_patterns",
        "analytics.anomaly.patterns",
        Kind::Gauge,
        Num::U64,
        count("{pattern}"),
        "",
        "Keys with repeated anomalies (at least three within anomaly.window_size observations).",
        "`patterns.len()`",
        |r| one(Value::U64(r.report.patterns.len() as u64)),
    ),
    // --- memory and resources -----------------------------------------------------------
    figure(
        "analytics_memory",
        "analytics.memory.usage",
        Kind::UpDown,
        Num::I64,
        BYTES,
        "`component`",
        "Memory held by the analytics runtime, by component.",
        "`memory.components` (their sum is `memory.total_bytes`)",
        |r| {
            let components = &r.report.memory.components;
            components
                .iter()
                .map(|(c, n)| (vec![("component", c.clone())], Value::U64(*n)))
                .collect()
        },
    ),
    figure(
        "analytics_memory_cleanup_runs",
        "analytics.memory.cleanup.runs",
        Kind::Counter,
        Num::U64,
        count("{cleanup}"),
        "",
        "Passes of the memory manager's periodic cleanup.",
        "`memory.cleanup.runs`",
        |r| one(Value::U64(r.report.memory.cleanup.runs)),
    ),
    figure(
        "analytics_memory_cleanup_freed",
        "analytics.memory.cleanup.freed",
        Kind::Counter,
        Num::U64,
        BYTES,
        "",
        "Memory freed by the periodic cleanup.",
        "`memory.cleanup.bytes_freed`",
        |r| one(Value::U64(r.report.memory.cleanup.bytes_freed)),
    ),
    figure(
        "analytics_process_resident_memory",
        "analytics.process.memory.usage",
        Kind::UpDown,
        Num::I64,
        BYTES,
        "",
        "Resident set size of the process at the last sample.",
        "`resources.rss_mb` (when sampled)",
        |r| sampled(r).map(|s| one(bytes(s.rss_mb))).unwrap_or_default(),
    ),
    figure(
        "analytics_process_resident_memory_max",
        "analytics.process.memory.peak",
        Kind::Gauge,
        Num::I64,
        BYTES,
        "",
        "Largest resident set size of the process seen.",
        "`resources.peak_rss_mb`",
        |r| {
            sampled(r)
                .map(|s| one(bytes(s.peak_rss_mb)))
                .unwrap_or_default()
        },
    ),
    figure(
        "analytics_process_cpu",
        "analytics.process.cpu.time",
        Kind::Counter,
        Num::F64,
        SECONDS,
        "",
        "CPU time the process has used since it started, at the last sample (rate() is the CPU use; 1 = one core busy).",
        "`resources.cpu_seconds`",
        |r| {
            sampled(r)
                .map(|s| one(Value::F64(s.cpu_seconds)))
                .unwrap_or_default()
        },
    ),
    figure(
        "analytics_process_cpu",
        "analytics.process.cpu.utilization",
        Kind::Gauge,
        Num::F64,
        RATIO,
        "",
        "Process CPU use over the last sampling interval (1 = one core busy).",
        "`resources.cpu_percent` / 100",
        |r| {
            sampled(r)
                .map(|s| one(Value::F64(s.cpu_percent / 100.0)))
                .unwrap_or_default()
        },
    ),
    figure(
        "analytics_process_cpu_mean",
        "analytics.process.cpu.mean_utilization",
        Kind::Gauge,
        Num::F64,
        RATIO,
        "",
        "Mean process CPU use over all samples (1 = one core busy).",
        "`resources.mean_cpu_percent` / 100",
        |r| {
            sampled(r)
                .map(|s| one(Value::F64(s.mean_cpu_percent / 100.0)))
                .unwrap_or_default()
        },
    ),
    figure(
        "analytics_resource_samples",
        "analytics.process.samples",
        Kind::Counter,
        Num::U64,
        count("{sample}"),
        "",
        "Samples taken by the resource sampler.",
        "`resources.samples`",
        |r| one(Value::U64(r.report.resources.samples)),
    ),
    // --- what the application records ---------------------------------------------------
    figure(
        "analytics_messages",
        "analytics.messages",
        Kind::Counter,
        Num::U64,
        count("{message}"),
        "`topic`",
        "Messages recorded, by topic.",
        "`messages.topics[].count`",
        |r| {
            let topics = &r.report.messages.topics;
            topics
                .iter()
                .map(|t| (vec![("topic", t.topic.clone())], Value::U64(t.count)))
                .collect()
        },
    ),
    figure(
        "analytics_message",
        "analytics.message.volume",
        Kind::Counter,
        Num::U64,
        BYTES,
        "`topic`",
        "Bytes of the messages recorded with a size, by topic.",
        "`messages.topics[].bytes`",
        |r| {
            let topics = &r.report.messages.topics;
            topics
                .iter()
                .map(|t| (vec![("topic", t.topic.clone())], Value::U64(t.bytes)))
                .collect()
        },
    ),
    figure(
        "analytics_messages_overflowed",
        "analytics.message.overflowed",
        Kind::Counter,
        Num::U64,
        count("{message}"),
        "",
        "Messages of new topics counted under `other` (over memory.max_topics).",
        "`messages.overflowed`",
        |r| one(Value::U64(r.report.messages.overflowed)),
    ),
    figure(
        "analytics_objective_health",
        "analytics.objective.health",
        Kind::Gauge,
        Num::F64,
        RATIO,
        "`objective`",
        "Latest health of the objective (1 = healthy).",
        "`objectives.objectives[].health`",
        |r| {
            let objectives = &r.report.objectives.objectives;
            objectives
                .iter()
                .map(|o| (vec![("objective", o.name.clone())], Value::F64(o.health)))
                .collect()
        },
    ),
    figure(
        "analytics_objective_progress",
        "analytics.objective.progress",
        Kind::Gauge,
        Num::F64,
        RATIO,
        "`objective`",
        "Latest progress of the objective, where reported.",
        "`objectives.objectives[].progress`",
        |r| {
            let objectives = &r.report.objectives.objectives;
            objectives
                .iter()
                .filter_map(|o| {
                    Some((vec![("objective", o.name.clone())], Value::F64(o.progress?)))
                })
                .collect()
        },
    ),
    figure(
        "analytics_objective_updates",
        "analytics.objective.updates",
        Kind::Counter,
        Num::U64,
        count("{update}"),
        "`objective`",
        "Health updates of the objective.",
        "`objectives.objectives[].updates`",
        |r| {
            let objectives = &r.report.objectives.objectives;
            objectives
                .iter()
                .map(|o| (vec![("objective", o.name.clone())], Value::U64(o.updates)))
                .collect()
        },
    ),
    figure(
        "analytics_objective_unhealthy_streak",
        "analytics.objective.unhealthy_streak",
        Kind::Gauge,
        Num::U64,
        count("{update}"),
        "`objective`",
        "Consecutive latest health updates of the objective below 0.5.",
        "`objectives.objectives[].unhealthy_streak`",
        |r| {
            let objectives = &r.report.objectives.objectives;
            objectives
                .iter()
                .map(|o| {
                    (
                        vec![("objective", o.name.clone())],
                        Value::U64(o.unhealthy_streak),
                    )
                })
                .collect()
        },
    ),
    figure(
        "analytics_tasks",
        "analytics.tasks",
        Kind::Counter,
        Num::U64,
        count("{task}"),
        "`task`",
        "Tasks recorded, by name.",
        "`tasks.tasks[].count`",
        |r| {
            let tasks = &r.report.tasks.tasks;
            tasks
                .iter()
                .map(|t| (vec![("task", t.name.clone())], Value::U64(t.count)))
                .collect()
        },
    ),
    figure(
        "analytics_task_failures",
        "analytics.task.failures",
        Kind::Counter,
        Num::U64,
        count("{task}"),
        "`task`",
        "Tasks that failed, by name.",
        "`tasks.tasks[].failures`",
        |r| {
            let tasks = &r.report.tasks.tasks;
            tasks
                .iter()
                .map(|t| (vec![("task", t.name.clone())], Value::U64(t.failures)))
                .collect()
        },
    ),
    figure(
        "analytics_task_window_duration",
        "analytics.task.window_duration",
        Kind::Gauge,
        Num::F64,
        SECONDS,
        "`task`, `window_quantile`",
        "Completion time quantiles of the most recent tasks (window_quantile 0 is the shortest, 1 the longest).",
        "`tasks.tasks[].duration_ms`",
        |r| {
            let tasks = &r.report.tasks.tasks;
            tasks
                .iter()
                .filter(|t| t.count > 0)
                .flat_map(|t| window_quantiles(&vec![("task", t.name.clone())], &t.duration_ms))
                .collect()
        },
    ),
    figure(
        "analytics_quality_value",
        "analytics.quality",
        Kind::Gauge,
        Num::F64,
        NONE,
        "`metric`",
        "Latest value of the quality metric.",
        "`tasks.quality[].last`",
        |r| {
            let quality = &r.report.tasks.quality;
            quality
                .iter()
                .map(|q| (vec![("metric", q.metric.clone())], Value::F64(q.last)))
                .collect()
        },
    ),
    // --- the runtime's own health -------------------------------------------------------
    Figure {
        prometheus: "analytics_runtime",
        otel: None,
        kind: Kind::Info,
        num: Num::U64,
        unit: NONE,
        labels: "`version`",
        help: "The analytics-runtime version that wrote the figures.",
        source: "`runtime.version` (OTel: the instrumentation scope's version)",
        mode: Mode::Always,
        read: |r| {
            vec![(
                vec![("version", r.report.runtime.version.clone())],
                Value::U64(1),
            )]
        },
    },
    figure(
        "analytics_runtime_enabled",
        "analytics.runtime.enabled",
        Kind::Gauge,
        Num::U64,
        FRACTION,
        "",
        "Whether the runtime measures phases (1) or not (0).",
        "`enabled` (1 or 0)",
        |r| one(Value::U64(u64::from(r.report.enabled))),
    ),
    figure(
        "analytics_runtime_uptime",
        "analytics.runtime.uptime",
        Kind::Gauge,
        Num::F64,
        SECONDS,
        "",
        "Time since the runtime was created.",
        "`uptime_s`",
        |r| one(Value::F64(r.report.uptime_s)),
    ),
    figure(
        "analytics_runtime_worker_running",
        "analytics.runtime.worker_running",
        Kind::Gauge,
        Num::U64,
        FRACTION,
        "",
        "Whether the background engine worker is running (1) or not (0).",
        "`runtime.worker_running` (1 or 0)",
        |r| one(Value::U64(u64::from(r.report.runtime.worker_running))),
    ),
    figure(
        "analytics_runtime_errors",
        "analytics.runtime.errors",
        Kind::Counter,
        Num::U64,
        count("{error}"),
        "`component` (every component, from 0)",
        "Internal errors caught before they could reach user code, by component.",
        "`runtime.errors_by_component`",
        |r| {
            let errors = &r.report.runtime.errors_by_component;
            per_component(r, |c| errors.get(c).copied().unwrap_or(0))
        },
    ),
    figure(
        "analytics_runtime_component_disabled",
        "analytics.runtime.component_disabled",
        Kind::Gauge,
        Num::U64,
        FRACTION,
        "`component` (every component, 0 or 1)",
        "Whether the component was switched off after failing repeatedly (1) or runs (0).",
        "`runtime.components_disabled`",
        |r| {
            let disabled = &r.report.runtime.components_disabled;
            per_component(r, |c| u64::from(disabled.iter().any(|d| d == c)))
        },
    ),
    figure(
        "analytics_runtime_phases_overflowed",
        "analytics.runtime.phases_overflowed",
        Kind::Counter,
        Num::U64,
        count("{phase}"),
        "",
        "Phase names refused by memory.max_phases (their runs count under `other`).",
        "`runtime.phases_overflowed`",
        |r| one(Value::U64(r.report.runtime.phases_overflowed)),
    ),
    figure(
        "analytics_runtime_runs_analysed",
        "analytics.runtime.runs_analysed",
        Kind::Counter,
        Num::U64,
        count("{run}"),
        "",
        "Runs the engines analysed.",
        "`runtime.runs_analysed`",
        |r| one(Value::U64(r.report.runtime.runs_analysed)),
    ),
    figure(
        "analytics_runtime_runs_not_analysed",
        "analytics.runtime.runs_not_analysed",
        Kind::Counter,
        Num::U64,
        count("{run}"),
        "",
        "Runs the engines never saw (too many between two engine ticks); missing from the duration histograms too.",
        "`runtime.runs_not_analysed`",
        |r| one(Value::U64(r.report.runtime.runs_not_analysed)),
    ),
    figure(
        "analytics_runtime_values_ignored",
        "analytics.runtime.values_ignored",
        Kind::Counter,
        Num::U64,
        count("{value}"),
        "",
        "Values refused because they were not finite or out of range.",
        "`runtime.values_ignored`",
        |r| one(Value::U64(r.report.runtime.values_ignored)),
    ),
    figure(
        "analytics_runtime_handler_panics",
        "analytics.runtime.handler_panics",
        Kind::Counter,
        Num::U64,
        count("{panic}"),
        "",
        "Anomaly handlers that panicked (caught).",
        "`runtime.handler_panics`",
        |r| one(Value::U64(r.report.runtime.handler_panics)),
    ),
    figure(
        "analytics_runtime_snapshots_written",
        "analytics.runtime.snapshots_written",
        Kind::Counter,
        Num::U64,
        count("{snapshot}"),
        "",
        "Snapshots written.",
        "`runtime.snapshots_written`",
        |r| one(Value::U64(r.report.runtime.snapshots_written)),
    ),
    figure(
        "analytics_runtime_report_write_errors",
        "analytics.runtime.report_write_errors",
        Kind::Counter,
        Num::U64,
        count("{error}"),
        "",
        "Periodic report files that could not be written.",
        "`runtime.report_write_errors`",
        |r| one(Value::U64(r.report.runtime.report_write_errors)),
    ),
    // --- autometrics 1.0 (export.autometrics) -------------------------------------------
    Figure {
        prometheus: "function_calls",
        otel: Some("function.calls"),
        kind: Kind::Counter,
        num: Num::U64,
        unit: count("{call}"),
        labels: "`function` (the phase), `module`, `service_name`, `result` (`ok`, `error`)",
        help: "Autometrics counter for tracking function calls",
        source: "`phases[].successes` (`ok`), `phases[].failures` (`error`); cancelled calls are not calls that ended",
        mode: Mode::Autometrics,
        read: |r| {
            let Some(a) = r.autometrics else {
                return Vec::new();
            };
            let mut points = Vec::new();
            for p in &r.report.phases {
                for (result, n) in [("ok", p.successes), ("error", p.failures)] {
                    let mut labels = function(p, a);
                    labels.push(("result", result.to_owned()));
                    points.push((labels, Value::U64(n)));
                }
            }
            points
        },
    },
    Figure {
        prometheus: "function_calls_duration",
        otel: Some("function.calls.duration"),
        kind: Kind::Histogram,
        num: Num::F64,
        unit: SECONDS,
        labels: "`function`, `module`, `service_name`",
        help: "Autometrics histogram for tracking function call duration",
        source: "`phases[].histogram`",
        mode: Mode::Autometrics,
        read: |r| {
            let Some(a) = r.autometrics else {
                return Vec::new();
            };
            r.report
                .phases
                .iter()
                .filter_map(|p| Some((function(p, a), Value::Histogram(p.histogram.clone()?))))
                .collect()
        },
    },
    Figure {
        prometheus: "build_info",
        otel: Some("build_info"),
        kind: Kind::Gauge,
        num: Num::U64,
        unit: NONE,
        labels: "`service_name`, `version`, `commit`, `branch`, `autometrics_version` (`1.0.0`)",
        help: "Autometrics info metric for tracking software version and build details",
        source: "1; labels from AUTOMETRICS_SERVICE_NAME (or OTEL_SERVICE_NAME, or the executable's name), AUTOMETRICS_VERSION, AUTOMETRICS_COMMIT, AUTOMETRICS_BRANCH",
        mode: Mode::Autometrics,
        read: |r| {
            let Some(a) = r.autometrics else {
                return Vec::new();
            };
            vec![(
                vec![
                    ("service_name", a.service_name.clone()),
                    ("version", a.version.clone()),
                    ("commit", a.commit.clone()),
                    ("branch", a.branch.clone()),
                    ("autometrics_version", Autometrics::SPEC_VERSION.to_owned()),
                ],
                Value::U64(1),
            )]
        },
    },
];

/// The figures exported with `autometrics` on or off.
pub(crate) fn figures(autometrics: bool) -> impl Iterator<Item = &'static Figure> {
    FIGURES
        .iter()
        .filter(move |f| f.mode == Mode::Always || autometrics)
}

/// The docs' tables of every figure (`metrics.md`), rendered from [`FIGURES`].
#[cfg(test)]
pub(crate) fn markdown() -> String {
    let mut out = String::from(
        "<!-- Generated from analytics-runtime/src/export/catalogue.rs by its test \
         `the_docs_tables_are_the_catalogue` (UPDATE_METRICS_DOC=1 rewrites it). -->\n\n\
         | Prometheus | OpenTelemetry | kind | unit | labels | help | from the report |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut autometrics_header = false;
    for f in FIGURES {
        if f.mode == Mode::Autometrics && !autometrics_header {
            autometrics_header = true;
            out.push_str(
                "\nWith `\"export\": {\"autometrics\": true}` (autometrics 1.0):\n\n\
                 | Prometheus | OpenTelemetry | kind | unit | labels | help | from the report |\n\
                 | --- | --- | --- | --- | --- | --- | --- |\n",
            );
        }
        let prometheus = match f.kind {
            Kind::Histogram => format!(
                "`{}` (`_bucket{{le}}`, `_sum`, `_count`)",
                f.prometheus_name()
            ),
            _ => format!("`{}`", f.prometheus_name()),
        };
        let otel = f.otel.map_or_else(|| "-".to_owned(), |o| format!("`{o}`"));
        let unit = if f.unit.otel.is_empty() {
            String::new()
        } else {
            format!("`{}`", f.unit.otel)
        };
        out.push_str(&format!(
            "| {prometheus} | {otel} | {} | {unit} | {} | {} | {} |\n",
            f.kind.doc(),
            f.labels,
            f.help,
            f.source
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_tables_are_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/export/metrics.md");
        let rendered = markdown();
        if std::env::var_os("UPDATE_METRICS_DOC").is_some() {
            std::fs::write(path, &rendered).unwrap();
        }
        let written = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            written == rendered,
            "{path} is not the catalogue's rendering: run the test with UPDATE_METRICS_DOC=1"
        );
    }

    #[test]
    fn names_are_unique_and_follow_the_conventions() {
        let mut prometheus: Vec<String> = FIGURES.iter().map(Figure::prometheus_name).collect();
        let all = prometheus.len();
        prometheus.sort();
        prometheus.dedup();
        assert_eq!(prometheus.len(), all, "{prometheus:?}");
        for f in FIGURES {
            let name = f.prometheus_name();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert_eq!(name.ends_with("_total"), f.kind == Kind::Counter, "{name}");
            assert!(!f.help.is_empty() && !f.source.is_empty(), "{name}");
            assert!(
                !f.labels.contains("`quantile`"),
                "{name}: quantile is for summaries"
            );
            if f.unit == BYTES {
                assert_ne!(f.num, Num::F64, "{name}: bytes are whole numbers");
            }
        }
    }
}
