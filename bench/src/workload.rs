//! The one trivial function every variant measures, once per instrumentation.
//!
//! Every copy has the same body, `black_box(x).wrapping_mul(31)`, and is `#[inline(never)]`
//! so each variant pays a real call: the difference between two variants is what the
//! instrumentation adds to a call, not what inlining happened to remove.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use analytics_runtime::analyzed_phase;

/// The body every variant shares.
#[inline(always)]
fn body(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

/// The plain call: the baseline every overhead is measured against.
#[inline(never)]
pub fn plain(x: u64) -> u64 {
    body(x)
}

/// Two clock reads around the body: what any duration measurement must pay (the floor).
#[inline(never)]
pub fn clock_pair(x: u64) -> u64 {
    let start = Instant::now();
    let out = body(x);
    black_box(start.elapsed());
    out
}

/// The clock [`tsc_pair`] reads: calibrated once, before anything is timed ([`calibrate_tsc`]).
static TSC: OnceLock<quanta::Clock> = OnceLock::new();

/// Calibrates the clock of [`tsc_pair`] (a few milliseconds): call it before timing.
pub fn calibrate_tsc() {
    TSC.get_or_init(quanta::Clock::new);
}

/// Two raw timestamp-counter reads (`quanta::Clock::raw`) around the body and their difference
/// kept: the physical limit of timing a call, the least any duration measurement can pay
/// (issue 14: the runtime's per-call cost is measured against it).
#[inline(never)]
pub fn tsc_pair(x: u64) -> u64 {
    let clock = TSC.get_or_init(quanta::Clock::new);
    let start = clock.raw();
    let out = body(x);
    black_box(clock.raw().wrapping_sub(start));
    out
}

/// The phase under test: `#[analyzed_phase]` on the plain body (phase `work`).
#[analyzed_phase(name = "work")]
#[inline(never)]
pub fn analyzed(x: u64) -> u64 {
    body(x)
}

/// A second phase (`work_b`) with the same body, for two threads on distinct phases.
#[analyzed_phase(name = "work_b")]
#[inline(never)]
pub fn analyzed_b(x: u64) -> u64 {
    body(x)
}

/// `tracing`'s `#[instrument]` as users write it (records `x` as a field, INFO level).
#[tracing::instrument]
#[inline(never)]
pub fn instrumented(x: u64) -> u64 {
    body(x)
}

/// `fastrace`'s `#[trace]`: a local span when a parent span is set on this thread.
#[fastrace::trace]
#[inline(never)]
pub fn traced(x: u64) -> u64 {
    body(x)
}

/// What a `metrics` user writes to time a call: a clock pair and a histogram record
/// (the `histogram!` macro resolves the key on every call, as in most code).
#[inline(never)]
pub fn metrics_histogram(x: u64) -> u64 {
    let start = Instant::now();
    let out = body(x);
    metrics::histogram!("work_seconds").record(start.elapsed().as_secs_f64());
    out
}

/// The async body without the attribute.
pub async fn plain_async(x: u64) -> u64 {
    body(x)
}

/// The async body as a phase (`work_async`): timed from first poll to completion.
#[analyzed_phase(name = "work_async")]
pub async fn analyzed_async(x: u64) -> u64 {
    body(x)
}

/// Polls `future` once with a no-op waker; every future here completes on its first poll.
#[inline(always)]
pub fn poll_to_completion<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the benchmark futures never wait"),
    }
}

/// [`plain_async`] built and polled to completion, as one call.
#[inline(never)]
pub fn run_plain_async(x: u64) -> u64 {
    poll_to_completion(plain_async(x))
}

/// [`analyzed_async`] built and polled to completion, as one call.
#[inline(never)]
pub fn run_analyzed_async(x: u64) -> u64 {
    poll_to_completion(analyzed_async(x))
}
