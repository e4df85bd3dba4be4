//! The runs the exporter tests (Prometheus, OpenTelemetry) encode and check, in one place.

use std::time::Duration;

use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};

/// A runtime whose phases predict after three runs, without the resource sampler.
pub(crate) fn runtime() -> Runtime {
    let mut config = AnalyticsConfig::default();
    config.predictive.min_history = 3;
    config.resources.enabled = false;
    Runtime::new(config)
}

/// Runs `build` 5 times (one failure, one panic, 10 to 30 ms), `test` 4 times (one cancelled)
/// and `other` once (2 ms, a success).
pub(crate) fn record_phases(rt: &Runtime, other: &str) {
    for (i, outcome) in [
        Outcome::Success,
        Outcome::Failure,
        Outcome::Success,
        Outcome::Panic,
        Outcome::Success,
    ]
    .into_iter()
    .enumerate()
    {
        rt.record_run("build", Duration::from_millis(10 + 5 * i as u64), outcome);
    }
    for ms in [3, 4, 5] {
        rt.record_run("test", Duration::from_millis(ms), Outcome::Success);
    }
    rt.record_run("test", Duration::from_millis(1), Outcome::Cancelled);
    rt.record_run(other, Duration::from_millis(2), Outcome::Success);
}
