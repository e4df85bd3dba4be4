//! Phase analytics for long-lived coordinators.
//!
//! Annotate each phase function with [`#[analyzed_phase]`](analyzed_phase), call [`init`]
//! once at startup, and read per-phase statistics with [`report()`](fn@report):
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

pub mod anomaly;
mod atomic_file;
mod callsite;
mod clock;
pub mod config;
mod dispatch;
mod engine;
mod error;
#[cfg(any(feature = "prometheus", feature = "opentelemetry"))]
pub mod export;
pub mod faults;
mod global;
mod histogram;
mod memory;
mod monitors;
mod optimizer;
mod outcome;
mod phase;
mod predictive;
mod registry;
pub mod report;
mod reporting;
mod run_log;
mod runtime;
mod scope;
pub mod snapshot;
mod stats;

/// Measures every run of a phase function: its duration and its outcome.
///
/// ```
/// use analytics_runtime::analyzed_phase;
///
/// #[analyzed_phase]                      // the phase is named "plan"
/// fn plan(goal: &str) -> Result<Vec<String>, std::io::Error> {
///     Ok(goal.split(' ').map(str::to_owned).collect())
/// }
///
/// #[analyzed_phase(name = "build")]      // named explicitly
/// async fn compile(steps: Vec<String>) -> usize {
///     steps.len()
/// }
/// # let _ = plan("a b");
/// ```
///
/// # Arguments
/// * `name = "..."`: the phase name (default: the function's name, without `r#`). Functions
///   with the same name are one phase: their runs add up.
///
/// # What counts
/// * A return value of type `Result<T, E>` that is `Err` is a failure, whatever alias spells
///   the type (`io::Result<T>`, `anyhow::Result<T>`, a `type R<T> = Result<T, MyError>`);
///   every other value (including `Option::None`) is a success. The decision is made on the
///   type as the function declares it: a generic `T` is never a `Result`.
/// * A panic is a failure, also counted in `panics`, and keeps unwinding to the caller.
/// * An `async fn`, or a fn whose body is an `async` block or `Box::pin(async ..)`
///   (async-trait style), is timed from its first poll to its completion; dropped in between it
///   is `cancelled`; never polled, it is not an execution.
///
/// # Where it goes
/// Free functions and methods with any receiver (`&self`, `&mut self`, `self`,
/// `self: Box<Self>`, `self: Pin<&mut Self>`), trait impls and default methods (sync and
/// `async fn`), generics, const generics, lifetimes, `impl Trait`, `unsafe fn`, any
/// visibility. Signature, attributes and doc comments are kept as written. It is a compile
/// error on anything else (a struct, an impl block, a `const fn`, a method without a body),
/// with a message that says what to do.
///
/// # The expansion
/// ```ignore
/// fn plan(goal: &str) -> Result<Plan, PlanError> {
///     static __ANALYTICS_CALLSITE: Callsite = Callsite::new("plan", module_path!(), file!(), line!());
///     let __analytics_guard = __ANALYTICS_CALLSITE.enter();   // one atomic load when disabled
///     let __analytics_result: Result<Plan, PlanError> =
///         call_once(move || -> Result<Plan, PlanError> { /* the body, as written */ });
///     __analytics_guard.finish(/* Err => Failure, else Success */);
///     __analytics_result
/// }
/// ```
/// The body runs in an `FnOnce` closure so `return` and `?` keep their meaning and the result
/// can be classified; the guard records a panic if the body unwinds. An `async fn` body runs as
/// an inner `async move` block awaited between the guard and the classification.
///
/// Known limits:
/// * inside a `#[track_caller]` fn whose return type may be a `Result`, `Location::caller()`
///   in the body reports the attribute's closure, not the caller;
/// * an `async fn` returning `impl Fn(&str) -> usize` written as `|s| s.len()` needs the
///   closure's parameter types spelt out (`|s: &str| s.len()`): the body runs as an inner
///   future whose output type is inferred from the body, so the declared `impl Fn` no longer
///   tells the closure its parameter types (sync fns keep it).
pub use analytics_macros::analyzed_phase;
pub use callsite::PhaseGuard;
pub use config::{AnalyticsConfig, ConfigError};
pub use error::InitError;
pub use global::{
    global, init, observe, on_anomaly, record_message, record_message_bytes, record_objective,
    record_objective_progress, record_quality, record_task, report, shutdown,
};
pub use histogram::DurationHistogram;
pub use outcome::Outcome;
pub use registry::OVERFLOW_PHASE;
pub use report::{PhaseReport, Prediction, Report};
pub use runtime::Runtime;
pub use scope::ScopeGuard;
pub use snapshot::{SnapshotError, SnapshotStats};
pub use stats::DurationStats;

/// The README's code blocks, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The integration guide's code blocks (`docs/guide.md`), compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/guide.md")]
pub struct GuideDoctests;

/// The hook API the attribute's expansion calls. Not a public API: it changes with the
/// runtime's version, which the macro crate pins exactly.
#[doc(hidden)]
pub mod __private {
    pub use crate::callsite::{Callsite, PhaseGuard, Polled, ReturnGuard};
    pub use crate::outcome::{Classify, ClassifyOther, ClassifyResult, Outcome};

    /// Calls `f` once. Passing the body as an `FnOnce` (rather than calling a closure in
    /// place) makes rustc infer the closure as `FnOnce`, so a body may return references into
    /// its captured arguments (`&mut self.field`), which an inferred `FnMut` closure refuses.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn call_once<R, F: FnOnce() -> R>(f: F) -> R {
        f()
    }
}
