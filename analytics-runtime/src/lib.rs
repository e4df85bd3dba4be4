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
mod locks;
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
#[cfg(test)]
mod test_rng;

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
/// | argument | what it does | example |
/// | --- | --- | --- |
/// | `name = "..."` | the phase name (default: the function's name, without `r#`); functions with the same name are one phase: their runs add up | `#[analyzed_phase(name = "build")]` |
/// | `crate = path` | where the runtime is when your Cargo.toml renames it (default `::analytics_runtime`) | `#[analytics::analyzed_phase(crate = analytics)]` for `analytics = { package = "analytics-runtime", .. }` |
/// | `result` | classify the return value through [`PhaseResult`], for a type the attribute cannot see (a trait's default method returning `Self::Out`), or your own outcome type | `#[analyzed_phase(result)]` |
///
/// # What counts
/// * A return value of type `Result<T, E>` that is `Err` is a failure, whatever alias spells
///   the type (`io::Result<T>`, `anyhow::Result<T>`, a `type R<T> = Result<T, MyError>`);
///   every other value (including `Option::None`) is a success. The decision is made on the
///   type as the function declares it: a generic `T` is never a `Result`, and neither is an
///   associated type such as `Self::Out` in a trait's default method, which is only known in
///   each impl: there, write `#[analyzed_phase(result)]` and bound the type with
///   [`PhaseResult`] (`type Out: PhaseResult;`), or put the attribute on each impl's method.
/// * A panic is a failure, also counted in `panics`, and keeps unwinding to the caller.
/// * An `async fn` is timed from its first poll to its completion; dropped in between it is
///   `cancelled`; never polled, it is not an execution.
/// * A fn returning a future is timed from the future's first poll when its body *ends* with
///   the future: `async { .. }`, `Box::pin(async { .. })` (what async-trait generates) or
///   `async { .. }.boxed()` / `.boxed_local()`, after any statements (`let m = ..;
///   Box::pin(async move { .. })`); the statements before run unmeasured when the future is
///   built. Its value is classified by the future's declared `Output`. A future built any
///   other way (`let f = ..; f`, `Box::pin(fut)`, a combinator) is not seen: the run is the
///   construction of the future, a success; annotate the `async fn` or block it comes from.
///
/// # Where it goes
/// Free functions and methods with any receiver (`&self`, `&mut self`, `self`,
/// `self: Box<Self>`, `self: Pin<&mut Self>`), trait impls and default methods (sync and
/// `async fn`), async-trait methods, generics, const generics, lifetimes, `impl Trait`,
/// patterns in parameters, `unsafe fn`, `extern "C" fn`, `async fn .. -> !`, any visibility.
/// Signature, attributes and doc comments are kept as written. It is a compile error on
/// anything else (a struct, an impl block, a `const fn`, a method without a body), with a
/// message that says what to do.
///
/// # The expansion
/// The body keeps its meaning and the compiler's messages about it: the attribute picks the
/// cheapest of these shapes that does.
/// ```ignore
/// fn plan(goal: &str) -> Result<Plan, PlanError> {
///     static __ANALYTICS_CALLSITE: Callsite = Callsite::new("plan", module_path!(), file!(), line!());
///     let __analytics_guard = __ANALYTICS_CALLSITE.enter();   // one atomic load when disabled
///     // no `return`, `?` or unknown macro in the body: it runs in place
///     let __analytics_result: Result<Plan, PlanError> = { /* the body, as written */ };
///     // otherwise: call_once(|| -> Result<Plan, PlanError> { /* the body */ })
///     __analytics_guard.finish(/* Err => Failure, else Success */);
///     __analytics_result
/// }
/// ```
/// * A return type that cannot be a `Result` (`u64`, `()`, `String`, `Vec<T>`, `impl Trait`,
///   a generic `T`): the body runs in place and the guard's drop ends the run.
/// * An `async fn` that can suspend (an `.await`, or a macro that could hide one) runs its
///   body as an inner future that tells a panic of the body from the cancellation of a
///   suspended one; one that cannot suspend runs whole in its first poll, like a sync body.
/// * Parameters drop in the same order as without the attribute; `return` and `?` keep their
///   meaning; inference (`.collect()`, `.into()`, `?`) and lints are as without it.
///
/// Known limits:
/// * inside a `#[track_caller]` fn whose body returns early (`return`, `?`) and whose return
///   type may be a `Result`, `Location::caller()` in the body reports the attribute's closure;
/// * an `async fn` that awaits and returns `impl Fn(&str) -> usize` written as `|s| s.len()`
///   needs the closure's parameter types spelt out (`|s: &str| s.len()`);
/// * in an `async fn` that awaits, a parameter that is `mut`, a pattern or followed by one
///   is moved into the inner future by a mention (to keep the drop order): unused, it no
///   longer warns `unused_variables`, and a borrow-after-move error on it loses the `.clone()`
///   suggestion (plain `name: Type` parameters keep both).
pub use analytics_macros::analyzed_phase;
pub use callsite::PhaseGuard;
pub use config::{AnalyticsConfig, ConfigError};
pub use error::InitError;
pub use global::{
    global, init, observe, on_anomaly, predict, record_message, record_message_bytes,
    record_objective, record_objective_progress, record_quality, record_task, report, shutdown,
};
pub use histogram::DurationHistogram;
pub use outcome::{Outcome, PhaseResult};
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
    pub use crate::outcome::{Classify, ClassifyOther, ClassifyResult, Outcome, declared_outcome};

    /// Names `!` on stable Rust, where `let x: ! = ..` is unstable (an `async fn .. -> !`).
    pub type Never = <fn() -> ! as FnOutput>::Output;

    /// The output type of a function pointer (for [`Never`]).
    pub trait FnOutput {
        /// The function's return type.
        type Output;
    }

    impl<T> FnOutput for fn() -> T {
        type Output = T;
    }

    /// Calls `f` once. Passing the body as an `FnOnce` (rather than calling a closure in
    /// place) makes rustc infer the closure as `FnOnce`, so a body may return references into
    /// its captured arguments (`&mut self.field`), which an inferred `FnMut` closure refuses.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn call_once<R, F: FnOnce() -> R>(f: F) -> R {
        f()
    }
}
