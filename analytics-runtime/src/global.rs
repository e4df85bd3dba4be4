//! The process-wide runtime: [`init`] installs it once, [`report`] reads it.

use std::sync::OnceLock;

use crate::config::AnalyticsConfig;
use crate::dispatch;
use crate::error::InitError;
use crate::report::Report;
use crate::runtime::Runtime;
use crate::scope;

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// Installs the global runtime. Call it once, at startup, before the phases run.
///
/// Before `init` (and when `config.enabled` is false) every annotated phase runs unmeasured at
/// the cost of one atomic load and a branch.
///
/// ```
/// use analytics_runtime::{AnalyticsConfig, InitError};
///
/// analytics_runtime::init(AnalyticsConfig::default()).unwrap();
/// // A second call is an error, never a panic; the first runtime stays installed.
/// assert!(matches!(
///     analytics_runtime::init(AnalyticsConfig::default()),
///     Err(InitError::AlreadyInitialized)
/// ));
/// ```
///
/// # Errors
/// [`InitError::Config`] if `config` fails [`AnalyticsConfig::validate`];
/// [`InitError::AlreadyInitialized`] if a runtime is already installed.
pub fn init(config: AnalyticsConfig) -> Result<(), InitError> {
    config.validate()?;
    let enabled = config.enabled;
    GLOBAL
        .set(Runtime::new(config))
        .map_err(|_| InitError::AlreadyInitialized)?;
    if enabled {
        dispatch::enable_global();
        // The resource sampler and the periodic reports run from the start, before any phase.
        if let Some(runtime) = GLOBAL.get() {
            runtime.start_engine();
        }
    }
    tracing::debug!(
        target: "analytics_runtime",
        enabled,
        "analytics runtime initialised"
    );
    Ok(())
}

/// The global runtime, once [`init`] has installed it.
#[must_use]
pub fn global() -> Option<&'static Runtime> {
    GLOBAL.get()
}

/// Runs `f` on the current runtime: the scoped one on this thread, else the global one;
/// `None` when there is neither.
pub(crate) fn with_current<R>(f: impl FnOnce(&Runtime) -> R) -> Option<R> {
    if let Some(runtime) = scope::current() {
        return Some(f(&runtime));
    }
    GLOBAL.get().map(f)
}

/// The prediction for the next run of `phase` on the global runtime (see [`Runtime::predict`]):
/// O(1), no allocation. `None` before [`init`], for an unknown phase, or before
/// `predictive.min_history` runs.
///
/// ```
/// if let Some(next) = analytics_runtime::predict("test") {
///     if next.failure_probability > 0.5 {
///         // e.g. run the slower, more careful variant of the phase
///     }
/// }
/// ```
#[must_use]
pub fn predict(phase: &str) -> Option<crate::report::Prediction> {
    global().and_then(|runtime| runtime.predict(phase))
}

/// Feeds one value of any metric stream to the current runtime's anomaly detector (see
/// [`Runtime::observe`]). Does nothing before [`init`].
pub fn observe(key: &str, value: f64) -> Option<crate::report::Anomaly> {
    with_current(|runtime| runtime.observe(key, value)).flatten()
}

/// Registers an anomaly handler on the current runtime (see [`Runtime::on_anomaly`]).
/// Does nothing before [`init`].
pub fn on_anomaly(
    min: crate::report::Severity,
    handler: impl Fn(&crate::report::Anomaly) + Send + Sync + 'static,
) {
    with_current(|runtime| runtime.on_anomaly(min, handler));
}

/// Counts one message on `topic` in the current runtime (see [`Runtime::record_message`]).
pub fn record_message(topic: &str) {
    with_current(|runtime| runtime.record_message(topic));
}

/// Counts one message of `bytes` bytes on `topic` (see [`Runtime::record_message_bytes`]).
pub fn record_message_bytes(topic: &str, bytes: u64) {
    with_current(|runtime| runtime.record_message_bytes(topic, bytes));
}

/// Records the health of an objective, in [0, 1] (see [`Runtime::record_objective`]).
pub fn record_objective(name: &str, health: f64) {
    with_current(|runtime| runtime.record_objective(name, health));
}

/// Records the health and progress of an objective (see
/// [`Runtime::record_objective_progress`]).
pub fn record_objective_progress(name: &str, health: f64, progress: f64) {
    with_current(|runtime| runtime.record_objective_progress(name, health, progress));
}

/// Records one completed task (see [`Runtime::record_task`]).
pub fn record_task(name: &str, duration: std::time::Duration, success: bool) {
    with_current(|runtime| runtime.record_task(name, duration, success));
}

/// Records one value of a quality metric (see [`Runtime::record_quality`]).
pub fn record_quality(metric: &str, value: f64) {
    with_current(|runtime| runtime.record_quality(metric, value));
}

/// Stops the global runtime's background worker cleanly and lets the engines catch up one
/// last time (see [`Runtime::shutdown`]). Call it before the process exits, after the last
/// phase; `report()` afterwards still covers every run.
pub fn shutdown() {
    if let Some(runtime) = GLOBAL.get() {
        runtime.shutdown();
    }
}

/// A report of the current runtime: the scoped one on this thread
/// ([`Runtime::in_scope`]), else the global one. Before [`init`] it is an empty report with
/// `enabled: false`.
#[must_use]
pub fn report() -> Report {
    if let Some(runtime) = scope::current() {
        return runtime.report();
    }
    match GLOBAL.get() {
        Some(runtime) => runtime.report(),
        None => Runtime::new(AnalyticsConfig {
            enabled: false,
            ..AnalyticsConfig::default()
        })
        .report(),
    }
}
