//! Helpers shared by the integration tests: a fresh test-held runtime and the exact counts of
//! one phase, checked against the counting contract of DESIGN.md.

use analytics_runtime::{AnalyticsConfig, Report, Runtime};

/// A fresh runtime with the default config, held by one test (so tests run in parallel).
pub(crate) fn runtime() -> Runtime {
    Runtime::new(AnalyticsConfig::default())
}

/// `(executions, successes, failures, panics, cancelled)` of the phase `name`.
///
/// Panics if the phase never ran, and checks the contract on every call:
/// `successes + failures + cancelled == executions` and `panics <= failures`.
pub(crate) fn counts(report: &Report, name: &str) -> (u64, u64, u64, u64, u64) {
    let Some(p) = report.phase(name) else {
        let known: Vec<&str> = report.phases.iter().map(|p| p.name.as_str()).collect();
        panic!("no phase {name:?} in the report; phases: {known:?}");
    };
    assert_eq!(
        p.successes + p.failures + p.cancelled,
        p.executions,
        "phase {name:?}: successes + failures + cancelled != executions"
    );
    assert!(
        p.panics <= p.failures,
        "phase {name:?}: panics {} > failures {}",
        p.panics,
        p.failures
    );
    (p.executions, p.successes, p.failures, p.panics, p.cancelled)
}
