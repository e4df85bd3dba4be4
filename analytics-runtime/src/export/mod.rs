//! Export of the runtime's figures to other metrics systems: Prometheus (cargo feature
//! `prometheus`) and OpenTelemetry (cargo feature `opentelemetry`).
//!
//! Each part is compiled, and documented here, with its feature only.
#![cfg_attr(
    feature = "prometheus",
    doc = r##"
# Prometheus

A team with many coordinators already runs Prometheus: [`prometheus_text`] renders a
[`Report`](crate::Report) in the Prometheus text exposition format, [`openmetrics_text`] in
OpenMetrics 1.0, and [`serve`] answers `GET /metrics` on a background thread, so Prometheus
scrapes each process and aggregates, stores and alerts across machines. Both formats are
encoded by the official `prometheus-client` crate (names, label escaping, float formatting)
from a [`RuntimeCollector`], which can also be registered into an application's own
`prometheus_client` registry.

```
use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};
use std::time::Duration;

let runtime = Runtime::new(AnalyticsConfig::default());
runtime.record_run("build", Duration::from_millis(40), Outcome::Success);
let text = analytics_runtime::export::prometheus_text(&runtime.report());
assert!(text.contains("analytics_phase_executions_total{phase=\"build\"} 1\n"));

// Served on a loopback port (`0`: any free one) until `server` is dropped.
let server = analytics_runtime::export::serve(runtime, "127.0.0.1:0".parse().unwrap())?;
println!("scrape http://{}/metrics", server.local_addr());
# Ok::<(), std::io::Error>(())
```

## The endpoint
* `GET /metrics` (or `HEAD`): `200` with a fresh [`Runtime::report`](crate::Runtime::report)
  in OpenMetrics when the `Accept` header asks for `application/openmetrics-text` (as
  Prometheus does), else in the classic text format (`text/plain; version=0.0.4`).
  Any other method on `/metrics`: `405`; any other path: `404`.
* It has no authentication: bind it to a loopback address (the suggested address is
  [`ExportConfig::DEFAULT_PROMETHEUS_ADDR`](crate::config::ExportConfig::DEFAULT_PROMETHEUS_ADDR),
  `127.0.0.1:9464`) unless the network it is reachable from is trusted.
* With `"export": {"prometheus_addr": "127.0.0.1:9464"}` (or the port alone, `"9464"`,
  which binds 127.0.0.1) in the config,
  [`serve_from_config`] starts it; the default (`null`) starts nothing.

## The metrics
Every name starts with `analytics_`; units are in the names (`_seconds`, `_bytes`,
`_ratio`: a fraction, 1 = 100 %), counters end in `_total`. Durations are converted from the
report's milliseconds to seconds, MB to bytes, percentages to ratios. A figure the report
does not have (no prediction yet, resources not sampled, an accuracy still `null`) is left
out, never written as `NaN`; a family without samples is left out whole.

| metric | type | labels | from the report |
| --- | --- | --- | --- |
| `analytics_phase_executions_total` | counter | `phase` | `phases[].executions` |
| `analytics_phase_successes_total` | counter | `phase` | `phases[].successes` |
| `analytics_phase_failures_total` | counter | `phase` | `phases[].failures` (panics included) |
| `analytics_phase_panics_total` | counter | `phase` | `phases[].panics` |
| `analytics_phase_cancelled_total` | counter | `phase` | `phases[].cancelled` |
| `analytics_phase_seconds_total` | counter | `phase` | `phases[].total_ms`: time spent in the phase |
| `analytics_phase_duration_seconds` | gauge | `phase`, `quantile` (`0`, `0.5`, `0.9`, `0.99`, `1`) | `phases[].duration_ms` min, p50, p90, p99, max over the recent window |
| `analytics_phase_duration_mean_seconds` | gauge | `phase` | `phases[].duration_ms.mean` |
| `analytics_phase_duration_stddev_seconds` | gauge | `phase` | `phases[].duration_ms.std_dev` |
| `analytics_phase_duration_window_runs` | gauge | `phase` | `phases[].window_runs`: runs the duration figures summarise |
| `analytics_phase_failure_streak` | gauge | `phase` | `phases[].failure_streak` |
| `analytics_phase_failure_probability` | gauge | `phase` | `phases[].prediction.failure_probability` (predicted phases only) |
| `analytics_phase_predicted_duration_seconds` | gauge | `phase` | `phases[].prediction.expected_ms` |
| `analytics_phase_predicted_duration_p90_seconds` | gauge | `phase` | `phases[].prediction.p90_ms` |
| `analytics_phase_prediction_confidence_ratio` | gauge | `phase` | `phases[].prediction.confidence` |
| `analytics_phase_cpu_ratio` | gauge | `phase` | `phases[].resources.cpu_percent` / 100 |
| `analytics_phase_resident_memory_delta_bytes` | gauge | `phase` | `phases[].resources.rss_delta_mb` |
| `analytics_predictions_total` | counter | | `predictions.made` |
| `analytics_predictions_high_risk_total` | counter | | `predictions.high_risk` |
| `analytics_predictions_scored_total` | counter | | `predictions.accuracy.scored` |
| `analytics_prediction_brier` | gauge | | `predictions.accuracy.brier` |
| `analytics_prediction_brier_skill` | gauge | | `predictions.accuracy.brier_skill` |
| `analytics_prediction_duration_mape_ratio` | gauge | | `predictions.accuracy.duration_mape` |
| `analytics_prediction_p90_coverage_ratio` | gauge | | `predictions.accuracy.p90_coverage` |
| `analytics_anomalies_total` | counter | `severity` (`low`, `medium`, `high`, `critical`) | `anomalies.by_severity` |
| `analytics_anomaly_patterns` | gauge | | `patterns.len()` |
| `analytics_memory_bytes` | gauge | `component` | `memory.components` (their sum is `memory.total_bytes`) |
| `analytics_memory_cleanup_runs_total` | counter | | `memory.cleanup.runs` |
| `analytics_memory_cleanup_freed_bytes_total` | counter | | `memory.cleanup.bytes_freed` |
| `analytics_process_resident_memory_bytes` | gauge | | `resources.rss_mb` (when sampled) |
| `analytics_process_resident_memory_max_bytes` | gauge | | `resources.peak_rss_mb` |
| `analytics_process_cpu_ratio` | gauge | | `resources.cpu_percent` / 100 (1 = one core busy) |
| `analytics_process_cpu_mean_ratio` | gauge | | `resources.mean_cpu_percent` / 100 |
| `analytics_resource_samples_total` | counter | | `resources.samples` |
| `analytics_messages_total` | counter | `topic` | `messages.topics[].count` |
| `analytics_message_bytes_total` | counter | `topic` | `messages.topics[].bytes` |
| `analytics_messages_overflowed_total` | counter | | `messages.overflowed` |
| `analytics_objective_health_ratio` | gauge | `objective` | `objectives.objectives[].health` |
| `analytics_objective_progress_ratio` | gauge | `objective` | `objectives.objectives[].progress` |
| `analytics_objective_updates_total` | counter | `objective` | `objectives.objectives[].updates` |
| `analytics_objective_unhealthy_streak` | gauge | `objective` | `objectives.objectives[].unhealthy_streak` |
| `analytics_tasks_total` | counter | `task` | `tasks.tasks[].count` |
| `analytics_task_failures_total` | counter | `task` | `tasks.tasks[].failures` |
| `analytics_task_duration_seconds` | gauge | `task`, `quantile` | `tasks.tasks[].duration_ms` |
| `analytics_quality_value` | gauge | `metric` | `tasks.quality[].last` |
| `analytics_runtime_info` | info | `version` | `runtime.version` |
| `analytics_runtime_enabled` | gauge | | `enabled` (1 or 0) |
| `analytics_runtime_uptime_seconds` | gauge | | `uptime_s` |
| `analytics_runtime_worker_running` | gauge | | `runtime.worker_running` (1 or 0) |
| `analytics_runtime_errors_total` | counter | `component` | `runtime.errors_by_component` |
| `analytics_runtime_component_disabled` | gauge | `component` | `runtime.components_disabled` (1 each) |
| `analytics_runtime_phases_overflowed_total` | counter | | `runtime.phases_overflowed` |
| `analytics_runtime_runs_analysed_total` | counter | | `runtime.runs_analysed` |
| `analytics_runtime_runs_not_analysed_total` | counter | | `runtime.runs_not_analysed` |
| `analytics_runtime_values_ignored_total` | counter | | `runtime.values_ignored` |
| `analytics_runtime_handler_panics_total` | counter | | `runtime.handler_panics` |
| `analytics_runtime_snapshots_written_total` | counter | | `runtime.snapshots_written` |
| `analytics_runtime_report_write_errors_total` | counter | | `runtime.report_write_errors` |

The duration quantiles are gauges with a `quantile` label rather than a summary
(`prometheus-client` has no summary type); the total time is `analytics_phase_seconds_total`
rather than `analytics_phase_duration_seconds_total`, whose OpenMetrics family name would
clash with the quantile gauges'. A phase's rate of failures is
`rate(analytics_phase_failures_total[5m]) / rate(analytics_phase_executions_total[5m])`.
"##
)]
#![cfg_attr(
    feature = "opentelemetry",
    doc = r##"
# OpenTelemetry

[`register_otel_metrics`] registers observable instruments of a [`Runtime`](crate::Runtime)'s
figures on a [`Meter`](opentelemetry::metrics::Meter) of the application's own
`opentelemetry` provider, which exports them with its readers (OTLP, stdout, Prometheus, ...);
each collection observes a fresh report. The names follow OpenTelemetry's conventions
(`analytics.phase.executions`, unit `{run}`; `analytics.phase.duration`, unit `s`); the list
is in the docs of [`register_otel_metrics`]. This crate depends on the OpenTelemetry API
only, re-exported as [`opentelemetry`](mod@opentelemetry).
"##
)]

#[cfg(any(feature = "prometheus", feature = "opentelemetry", test))]
#[cfg_attr(
    not(all(feature = "prometheus", feature = "opentelemetry")),
    allow(dead_code)
)]
mod catalogue;
#[cfg(feature = "opentelemetry")]
mod otel;
#[cfg(feature = "prometheus")]
mod prometheus;
#[cfg(test)]
mod sample;
#[cfg(feature = "prometheus")]
mod server;

/// The `opentelemetry` API version the instruments are registered with, for getting the
/// [`Meter`](opentelemetry::metrics::Meter) without a second copy of the crate.
#[cfg(feature = "opentelemetry")]
pub use opentelemetry;
/// The `prometheus-client` version this crate encodes with, for registering a
/// [`RuntimeCollector`] into an application's registry without a second copy of the crate.
#[cfg(feature = "prometheus")]
pub use prometheus_client;

#[cfg(feature = "opentelemetry")]
pub use self::otel::{OTEL_SCOPE_NAME, OtelRegistration, otel_scope, register_otel_metrics};
#[cfg(feature = "prometheus")]
pub use self::prometheus::{
    OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, RuntimeCollector, openmetrics_text,
    prometheus_text,
};
#[cfg(feature = "prometheus")]
pub use self::server::{PrometheusServer, serve, serve_from_config};
