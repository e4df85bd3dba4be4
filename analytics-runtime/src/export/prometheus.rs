//! The Prometheus exposition: a [`Report`] as metric families through `prometheus-client`'s
//! [`Collector`], in the two text encodings, from the figures of the [catalogue](super::catalogue).
//!
//! The endpoint that serves them is the sibling module `server`; the metric list is in the
//! parent module's docs.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

pub(crate) use super::catalogue::Autometrics;
use super::catalogue::{Input, Kind, Value, figures};
use crate::DurationHistogram;
use crate::Runtime;
use crate::report::Report;

/// `Content-Type` of [`prometheus_text`]: the Prometheus text format, version 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// `Content-Type` of [`openmetrics_text`]: OpenMetrics 1.0 text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Renders `report` in the Prometheus text exposition format (version 0.0.4, content type
/// [`PROMETHEUS_CONTENT_TYPE`]); the metrics are listed in the [module docs](super).
///
/// ```
/// let text = analytics_runtime::export::prometheus_text(&analytics_runtime::Report::default());
/// assert!(text.contains("# TYPE analytics_runtime_enabled gauge\n"));
/// ```
#[must_use]
pub fn prometheus_text(report: &Report) -> String {
    prometheus_text_with(report, None)
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
    openmetrics_text_with(report, None)
}

/// [`prometheus_text`], with the autometrics families when `autometrics` is given.
pub(crate) fn prometheus_text_with(report: &Report, autometrics: Option<&Autometrics>) -> String {
    let mut out = String::new();
    // Writing into a `String` cannot fail, and `encode_report` only fails when the writer does.
    let _ = prometheus_client::encoding::prometheus_text::encode(
        &mut out,
        &registry(report, autometrics),
    );
    out
}

/// [`openmetrics_text`], with the autometrics families when `autometrics` is given.
pub(crate) fn openmetrics_text_with(report: &Report, autometrics: Option<&Autometrics>) -> String {
    let mut out = String::new();
    // As above: a `String` writer cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry(report, autometrics));
    out
}

/// A registry holding one collector of a copy of `report`.
fn registry(report: &Report, autometrics: Option<&Autometrics>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ReportCollector(
        report.clone(),
        autometrics.cloned(),
    )));
    registry
}

/// The metric families of one fixed report.
#[derive(Debug)]
struct ReportCollector(Report, Option<Autometrics>);

impl Collector for ReportCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        encode_report(&self.0, self.1.as_ref(), encoder)
    }
}

/// A `prometheus-client` [`Collector`] of a [`Runtime`]'s figures: each scrape encodes a fresh
/// [`Runtime::report`], with the metric names of the [module docs](super) (and the
/// autometrics families when the runtime's config sets `export.autometrics`).
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
    autometrics: Option<Autometrics>,
}

impl RuntimeCollector {
    /// A collector of `runtime`'s figures.
    #[must_use]
    pub fn new(runtime: Runtime) -> RuntimeCollector {
        let autometrics = runtime
            .config()
            .export
            .autometrics
            .then(Autometrics::from_env);
        RuntimeCollector {
            runtime,
            autometrics,
        }
    }
}

impl Collector for RuntimeCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        encode_report(&self.runtime.report(), self.autometrics.as_ref(), encoder)
    }
}

/// A histogram of fixed counts, for the encoder.
struct ConstHistogram<'a>(&'a DurationHistogram);

impl EncodeMetric for ConstHistogram<'_> {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        let h = self.0;
        encoder.encode_histogram::<NoLabelSet>(h.sum_s, h.count, &h.buckets(), None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Every family of the catalogue with points in `report`, in the catalogue's order; a family
/// without points is left out whole.
fn encode_report(
    report: &Report,
    autometrics: Option<&Autometrics>,
    mut encoder: DescriptorEncoder,
) -> fmt::Result {
    let input = Input {
        report,
        autometrics,
    };
    for figure in figures(autometrics.is_some()) {
        let points = figure.points(&input);
        if points.is_empty() {
            continue;
        }
        let unit = figure.unit.prometheus.map(|u| match u {
            "seconds" => Unit::Seconds,
            "bytes" => Unit::Bytes,
            // `Unit::Ratios` would append `_ratios`.
            other => Unit::Other(other.to_owned()),
        });
        let metric_type = match figure.kind {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge | Kind::UpDown => MetricType::Gauge,
            Kind::Histogram => MetricType::Histogram,
            Kind::Info => MetricType::Info,
        };
        let mut family = encoder.encode_descriptor(
            figure.prometheus,
            figure.help,
            unit.as_ref(),
            metric_type,
        )?;
        if figure.kind == Kind::Info {
            // An info metric's labels are its value: one sample, no family labels.
            if let Some((labels, _)) = points.into_iter().next() {
                Info::new(labels).encode(family)?;
            }
            continue;
        }
        for (labels, value) in &points {
            let metric = family.encode_family(labels)?;
            match (figure.kind, value) {
                (_, Value::Histogram(h)) => ConstHistogram(h).encode(metric)?,
                (Kind::Counter, Value::F64(v)) => ConstCounter::new(*v).encode(metric)?,
                (Kind::Counter, v) => ConstCounter::new(v.as_u64()).encode(metric)?,
                (_, Value::F64(v)) => ConstGauge::new(*v).encode(metric)?,
                (_, v) => ConstGauge::new(v.as_i64()).encode(metric)?,
            }
        }
    }
    Ok(())
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
    fn phases_are_counters_histograms_and_window_gauges() {
        let text = prometheus_text(&crate::export::sample::sample());
        for line in [
            "# TYPE analytics_phase_executions_total counter",
            "analytics_phase_executions_total{phase=\"build\"} 3",
            "analytics_phase_successes_total{phase=\"build\"} 2",
            "analytics_phase_failures_total{phase=\"build\"} 1",
            "analytics_phase_panics_total{phase=\"build\"} 1",
            "analytics_phase_cancelled_total{phase=\"build\"} 0",
            "analytics_phase_seconds_total{phase=\"build\"} 0.06",
            "# TYPE analytics_phase_duration_seconds histogram",
            "analytics_phase_duration_seconds_sum{phase=\"build\"} 0.06",
            "analytics_phase_duration_seconds_count{phase=\"build\"} 3",
            "analytics_phase_duration_seconds_bucket{phase=\"build\",le=\"0.01\"} 1",
            "analytics_phase_duration_seconds_bucket{phase=\"build\",le=\"0.025\"} 2",
            "analytics_phase_duration_seconds_bucket{phase=\"build\",le=\"+Inf\"} 3",
            "# TYPE analytics_phase_window_duration_seconds gauge",
            "analytics_phase_window_duration_seconds{phase=\"build\",window_quantile=\"0\"} 0.01",
            "analytics_phase_window_duration_seconds{phase=\"build\",window_quantile=\"0.5\"} 0.02",
            "analytics_phase_window_duration_seconds{phase=\"build\",window_quantile=\"0.9\"} 0.028",
            "analytics_phase_window_duration_seconds{phase=\"build\",window_quantile=\"0.99\"} 0.0298",
            "analytics_phase_window_duration_seconds{phase=\"build\",window_quantile=\"1\"} 0.03",
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
            "analytics_process_resident_memory_bytes 2097152",
            "analytics_process_resident_memory_max_bytes 3145728",
            "analytics_process_cpu_seconds_total 1.5",
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
            "analytics_phase_window_duration_seconds{phase=\"build\",window_quantile=\"0.5\"} 0.02",
            "# TYPE analytics_phase_duration_seconds histogram",
            "analytics_phase_duration_seconds_bucket{le=\"+Inf\",phase=\"build\"} 3",
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

    /// Issue 15.3: alert rules over errors and switched-off components need their series
    /// before anything goes wrong.
    #[test]
    fn error_series_exist_from_the_start_at_zero() {
        let text = prometheus_text(&Report::default());
        for component in crate::faults::Component::ALL {
            let name = component.name();
            assert_line(
                &text,
                &format!("analytics_runtime_errors_total{{component=\"{name}\"}} 0"),
            );
            assert_line(
                &text,
                &format!("analytics_runtime_component_disabled{{component=\"{name}\"}} 0"),
            );
        }
        let text = prometheus_text(&crate::export::sample::sample());
        assert_line(
            &text,
            "analytics_runtime_errors_total{component=\"anomaly\"} 2",
        );
    }

    #[test]
    fn no_quantile_label_outside_summaries_and_bytes_are_whole() {
        let text = prometheus_text(&crate::export::sample::sample());
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(
                !line.contains("{quantile=") && !line.contains(",quantile="),
                "{line}"
            );
            if line.contains("_bytes") {
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<i64>().is_ok(), "{line}");
            }
        }
    }

    #[test]
    fn autometrics_families_follow_the_spec() {
        let autometrics = Autometrics {
            service_name: "coordinator".into(),
            version: "1.2.3".into(),
            commit: "abc".into(),
            branch: String::new(),
        };
        let report = crate::export::sample::sample();
        assert!(!prometheus_text(&report).contains("function_calls"));
        let text = prometheus_text_with(&report, Some(&autometrics));
        let function = r#"function="build",module="app::pipeline",service_name="coordinator""#;
        for line in [
            "# TYPE function_calls_total counter".to_owned(),
            format!("function_calls_total{{{function},result=\"ok\"}} 2"),
            format!("function_calls_total{{{function},result=\"error\"}} 1"),
            "# TYPE function_calls_duration_seconds histogram".to_owned(),
            format!("function_calls_duration_seconds_bucket{{{function},le=\"0.01\"}} 1"),
            format!("function_calls_duration_seconds_count{{{function}}} 3"),
            "# TYPE build_info gauge".to_owned(),
            r#"build_info{service_name="coordinator",version="1.2.3",commit="abc",branch="",autometrics_version="1.0.0"} 1"#.to_owned(),
        ] {
            assert_line(&text, &line);
        }
        // A phase recorded through the manual API has no module: the label is there, empty.
        assert!(text.contains(r#"function_calls_total{function="say \"hi\"\\n\nnow",module="",service_name="coordinator",result="ok"} 1"#), "{text}");
    }
}
