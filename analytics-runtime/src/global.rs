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
