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
* It runs hyper on one thread of its own (a current-thread tokio runtime) and keeps every
  client within a fixed budget: at most 32 connections (at the cap, a new one evicts the
  oldest that has not sent its request yet), a request head of at most 8 KiB sent within 2 s,
  one request per connection, 10 s per connection in all. So no client, nor any number of
  them, costs the process more than one thread, 33 descriptors and a few hundred KiB, or
  holds up another scrape.
* It has no authentication: bind it to a loopback address (the suggested address is
  [`ExportConfig::DEFAULT_PROMETHEUS_ADDR`](crate::config::ExportConfig::DEFAULT_PROMETHEUS_ADDR),
  `127.0.0.1:9464`) unless the network it is reachable from is trusted; in the config, a
  non-loopback address is refused unless `export.prometheus_allow_remote` is `true`.
* With `"export": {"prometheus_addr": "127.0.0.1:9464"}` (or the port alone, `"9464"`,
  which binds 127.0.0.1) in the config,
  [`serve_from_config`] starts it; the default (`null`) starts nothing.
* With `"export": {"autometrics": true}`, the exposition also has the autometrics 1.0
  families (below), so the autometrics dashboards and alert rules work unchanged.
"##
)]
#![cfg_attr(
    any(feature = "prometheus", feature = "opentelemetry"),
    doc = r##"
# The metrics
Every figure is described once, in one catalogue that the Prometheus exposition, the
OpenTelemetry instruments and this table all read. Prometheus names start with `analytics_`
and carry their unit (`_seconds`, `_bytes`, `_ratio`: a fraction, 1 = 100 %); counters end
in `_total`. Durations are converted from the report's milliseconds to seconds, MB to whole
bytes, percentages to ratios. Counters and the runtime's error and component series exist
from the start, at 0. A figure the report does not have (no prediction yet, resources not
sampled, an accuracy still `null`) is left out, never written as `NaN`; a family without
samples is left out whole.

Each phase's duration is a real histogram (`analytics_phase_duration_seconds_bucket{phase,le}`,
`_sum`, `_count`; buckets `export.duration_buckets`, 10 µs to 10 min by default): the engine
buckets every run it reads, of every outcome, so `_count` equals the executions counter
(unless the engine lost runs: `analytics_runtime_runs_not_analysed_total`), and
`histogram_quantile(0.99, sum by (le, phase) (rate(analytics_phase_duration_seconds_bucket[5m])))`
is a fleet-wide p99. The quantiles over the recent window stay as gauges,
`analytics_phase_window_duration_seconds{phase,window_quantile}`. A phase's rate of failures
is `rate(analytics_phase_failures_total[5m]) / rate(analytics_phase_executions_total[5m])`.
"##
)]
#![cfg_attr(
    any(feature = "prometheus", feature = "opentelemetry"),
    doc = include_str!("metrics.md")
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
