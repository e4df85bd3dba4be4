//! Phase analytics for long-lived coordinators.
//!
//! Annotate each phase function with [`#[analyzed_phase]`](analyzed_phase), call [`init`]
//! once at startup, and read per-phase statistics with [`report`]:
//!
//! ```
//! use analytics_runtime::{AnalyticsConfig, analyzed_phase};
//!
//! #[derive(Debug)]
//! struct PlanError;
//!
//! #[analyzed_phase]
//! fn plan(goal: u32) -> Result<u32, PlanError> {
//!     if goal == 0 { Err(PlanError) } else { Ok(goal * 2) }
//! }
//!
//! #[analyzed_phase(name = "build")]
//! async fn compile(steps: u32) -> u32 {
//!     steps + 1
//! }
//!
//! analytics_runtime::init(AnalyticsConfig::default()).expect("valid config");
//! for goal in 0..10 {
//!     let _ = plan(goal);
//! }
//! let report = analytics_runtime::report();
//! let plan = report.phase("plan").unwrap();
//! assert_eq!((plan.executions, plan.successes, plan.failures), (10, 9, 1));
//! println!("{report}");
//! ```
//!
//! * An `Err` return (through any alias of `Result`) is a failure; any other value is a
//!   success; a panic is a failure (also counted in `panics`) and keeps unwinding.
//! * An `async` phase is timed from its first poll to completion; dropped in between, it is
//!   `cancelled`; never polled, it is not an execution.
//! * Before [`init`], or with `"enabled": false`, a phase costs one atomic load and a branch.
//! * Tests and embedders can hold their own [`Runtime`] and route phases to it with
//!   [`Runtime::in_scope`].

mod callsite;
pub mod config;
mod dispatch;
mod error;
mod global;
mod outcome;
mod phase;
pub mod report;
mod run_log;
mod runtime;
mod scope;
mod stats;

pub use analytics_macros::analyzed_phase;
pub use callsite::PhaseGuard;
pub use config::{AnalyticsConfig, ConfigError};
pub use error::InitError;
pub use global::{global, init, report};
pub use outcome::Outcome;
pub use report::{PhaseReport, Prediction, Report};
pub use runtime::Runtime;
pub use scope::ScopeGuard;
pub use stats::DurationStats;

/// The hook API the attribute's expansion calls. Not a public API: it changes with the
/// runtime's version, which the macro crate pins exactly.
#[doc(hidden)]
pub mod __private {
    pub use crate::callsite::{Callsite, PhaseGuard};
    pub use crate::outcome::{Classify, ClassifyOther, ClassifyResult, Outcome};

    /// Calls `f` once. Passing the body as an `FnOnce` (rather than calling a closure in
    /// place) makes rustc infer the closure as `FnOnce`, so a body may return references into
    /// its captured arguments (`&mut self.field`), which an inferred `FnMut` closure refuses.
    #[inline(always)]
    pub fn call_once<R, F: FnOnce() -> R>(f: F) -> R {
        f()
    }
}
