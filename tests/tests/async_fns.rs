//! Async phases: `async fn`, fns returning `impl Future` whose body is an `async` block, and
//! async-trait style `Pin<Box<dyn Future>>` bodies. A run starts at the first poll (not when
//! the future is created) and ends at completion: never polled is no execution, dropped while
//! pending is `cancelled` (not a failure), a panic while polled is a panic; the runtime is the
//! one in scope at the first poll; the future stays `Send`.

mod common;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use analytics_runtime::analyzed_phase;
use common::{counts, runtime};
use futures::executor::block_on;

/// A future that is pending on its first poll (waking itself) and ready on the second.
#[derive(Default)]
struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

#[analyzed_phase]
async fn fetch(key: u32) -> Result<u32, String> {
    YieldOnce::default().await;
    if key == 0 {
        return Err("key 0 is reserved".into());
    }
    Ok(key * 2)
}

#[analyzed_phase]
async fn fetch_sum(keys: &[u32]) -> Result<u32, String> {
    let mut sum = 0;
    for &key in keys {
        sum += fetch(key).await?;
    }
    Ok(sum)
}

#[analyzed_phase]
async fn unit_async(log: &mut Vec<u32>) {
    YieldOnce::default().await;
    log.push(1);
}

#[test]
fn async_fn_success_failure_and_question_mark() {
    let rt = runtime();
    let mut log = Vec::new();
    rt.in_scope(|| {
        block_on(async {
            assert_eq!(fetch(3).await, Ok(6));
            assert_eq!(fetch(0).await, Err("key 0 is reserved".to_string()));
            assert_eq!(fetch_sum(&[1, 2]).await, Ok(6));
            assert_eq!(
                fetch_sum(&[1, 0, 5]).await,
                Err("key 0 is reserved".to_string())
            );
            unit_async(&mut log).await;
        });
    });
    assert_eq!(log, [1]);
    let report = rt.report();
    // fetch: 3, 0 | 1, 2 | 1, 0 (then `?` stops fetch_sum before 5).
    assert_eq!(counts(&report, "fetch"), (6, 4, 2, 0, 0));
    assert_eq!(counts(&report, "fetch_sum"), (2, 1, 1, 0, 0));
    assert_eq!(counts(&report, "unit_async"), (1, 1, 0, 0, 0));
}

#[analyzed_phase]
async fn first_above<'a>(values: &'a [u32], min: u32) -> Option<&'a u32> {
    YieldOnce::default().await;
    values.iter().find(|&&v| v > min)
}

#[analyzed_phase]
async fn describe<T>(value: T, limit: usize) -> Result<impl std::fmt::Display, String>
where
    T: std::fmt::Debug + Send,
{
    YieldOnce::default().await;
    let text = format!("{value:?}");
    if text.len() > limit {
        return Err(format!("{} chars", text.len()));
    }
    Ok(text)
}

#[test]
fn generic_async_fn_with_impl_trait_in_its_result() {
    let rt = runtime();
    rt.in_scope(|| {
        block_on(async {
            assert_eq!(describe(42, 5).await.unwrap().to_string(), "42");
            assert_eq!(
                describe("long text", 5).await.err(),
                Some("11 chars".into())
            );
        });
    });
    assert_eq!(counts(&rt.report(), "describe"), (2, 1, 1, 0, 0));
}

#[test]
fn async_fn_returning_a_reference_into_an_argument() {
    let rt = runtime();
    let values = vec![1, 5, 9];
    let found = rt.in_scope(|| block_on(first_above(&values, 4)));
    assert!(std::ptr::eq(found.unwrap(), &values[1]));
    assert_eq!(rt.in_scope(|| block_on(first_above(&values, 9))), None);
    assert_eq!(counts(&rt.report(), "first_above"), (2, 2, 0, 0, 0));
}

#[test]
fn a_future_never_polled_is_not_an_execution() {
    let rt = runtime();
    rt.in_scope(|| {
        let fut = fetch(1);
        drop(fut);
        drop(boxed_parse("1"));
        drop(doubled(1));
    });
    let report = rt.report();
    assert!(report.phases.is_empty(), "{:?}", report.phases);
}

#[test]
fn a_future_dropped_while_pending_is_cancelled_not_failed() {
    let rt = runtime();
    rt.in_scope(|| {
        let mut fut = Box::pin(fetch(0));
        assert!(poll_once(fut.as_mut()).is_pending());
        drop(fut);

        let mut boxed = boxed_parse("7");
        assert!(poll_once(boxed.as_mut()).is_pending());
        drop(boxed);

        let mut doubled_fut = Box::pin(doubled(4));
        assert!(poll_once(doubled_fut.as_mut()).is_pending());
        drop(doubled_fut);
    });
    let report = rt.report();
    assert_eq!(counts(&report, "fetch"), (1, 0, 0, 0, 1));
    assert_eq!(counts(&report, "boxed_parse"), (1, 0, 0, 0, 1));
    assert_eq!(counts(&report, "doubled"), (1, 0, 0, 0, 1));
    let fetch = report.phase("fetch").unwrap();
    // A cancelled run is cut short: it is not in the duration statistics.
    assert_eq!(fetch.window_runs, 0);
    assert_eq!(fetch.failure_rate, 0.0);
}

#[test]
fn a_future_polled_to_completion_by_hand_is_one_execution() {
    let rt = runtime();
    rt.in_scope(|| {
        let mut fut = Box::pin(fetch(21));
        assert!(poll_once(fut.as_mut()).is_pending());
        assert_eq!(poll_once(fut.as_mut()), Poll::Ready(Ok(42)));
    });
    assert_eq!(counts(&rt.report(), "fetch"), (1, 1, 0, 0, 0));
}

#[analyzed_phase]
async fn sleeps_after_first_poll(ms: u64) -> u64 {
    YieldOnce::default().await;
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

#[test]
fn async_fn_is_timed_from_first_poll() {
    let rt = runtime();
    rt.in_scope(|| {
        let fut = sleeps_after_first_poll(5);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(block_on(fut), 5);
    });
    let report = rt.report();
    assert_eq!(counts(&report, "sleeps_after_first_poll"), (1, 1, 0, 0, 0));
    let d = report.phase("sleeps_after_first_poll").unwrap().duration_ms;
    // The 5 ms inside the body are measured; the 50 ms before the first poll are not.
    assert!(d.max >= 5.0, "{d:?}");
    assert!(d.max < 40.0, "timed from creation, not first poll: {d:?}");
}

#[analyzed_phase]
async fn panics_when_polled(at_second_poll: bool) -> Result<(), String> {
    if at_second_poll {
        YieldOnce::default().await;
    }
    panic!("async panic");
}

#[test]
fn a_panicking_async_fn_counts_a_panic() {
    let rt = runtime();
    let (first, second) = rt.in_scope(|| {
        (
            catch_unwind(|| block_on(panics_when_polled(false))),
            catch_unwind(|| block_on(panics_when_polled(true))),
        )
    });
    for caught in [first, second] {
        let payload = caught.expect_err("the panic reached the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"async panic"));
    }
    assert_eq!(counts(&rt.report(), "panics_when_polled"), (2, 0, 2, 2, 0));
}

#[derive(Debug, PartialEq)]
struct ParseError(String);

impl From<std::num::ParseIntError> for ParseError {
    fn from(e: std::num::ParseIntError) -> Self {
        ParseError(e.to_string())
    }
}

/// async-trait style: a boxed future whose body is `Box::pin(async move { .. })`.
#[analyzed_phase]
fn boxed_parse(input: &str) -> Pin<Box<dyn Future<Output = Result<u32, ParseError>> + Send + '_>> {
    Box::pin(async move {
        YieldOnce::default().await;
        std::thread::sleep(Duration::from_millis(2));
        let n: u32 = input.parse()?;
        Ok(n)
    })
}

#[test]
fn boxed_future_is_timed_from_first_poll_and_its_err_is_a_failure() {
    let rt = runtime();
    rt.in_scope(|| {
        let ok = boxed_parse("12");
        let bad = boxed_parse("twelve");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(block_on(ok), Ok(12));
        assert_eq!(
            block_on(bad),
            Err(ParseError("invalid digit found in string".into()))
        );
    });
    let report = rt.report();
    assert_eq!(counts(&report, "boxed_parse"), (2, 1, 1, 0, 0));
    let d = report.phase("boxed_parse").unwrap().duration_ms;
    assert!(d.min >= 2.0, "{d:?}");
    assert!(d.max < 40.0, "timed from creation, not first poll: {d:?}");
}

/// A sync fn returning `impl Future` whose whole body is an `async move` block.
#[analyzed_phase]
fn doubled(x: u32) -> impl Future<Output = u32> {
    async move {
        YieldOnce::default().await;
        x * 2
    }
}

/// The same without `move`: the block borrows the argument.
#[analyzed_phase]
fn borrowed_len(text: &str) -> impl Future<Output = usize> + '_ {
    async { text.len() }
}

#[test]
fn impl_future_with_an_async_block_body() {
    let rt = runtime();
    rt.in_scope(|| {
        let fut = doubled(21);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(block_on(fut), 42);
        assert_eq!(block_on(borrowed_len("four")), 4);
    });
    let report = rt.report();
    assert_eq!(counts(&report, "doubled"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "borrowed_len"), (1, 1, 0, 0, 0));
    let d = report.phase("doubled").unwrap().duration_ms;
    assert!(d.max < 40.0, "timed from creation, not first poll: {d:?}");
}

#[test]
fn the_runtime_is_the_one_in_scope_at_first_poll() {
    let created_here = runtime();
    let polled_here = runtime();
    let fut = created_here.in_scope(|| fetch(5));
    assert_eq!(polled_here.in_scope(|| block_on(fut)), Ok(10));
    assert!(created_here.report().phases.is_empty());
    assert_eq!(counts(&polled_here.report(), "fetch"), (1, 1, 0, 0, 0));

    // Started in one scope, the run is recorded there even if it completes outside it.
    let mut fut = Box::pin(fetch(6));
    assert!(
        polled_here
            .in_scope(|| poll_once(fut.as_mut()))
            .is_pending()
    );
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(Ok(12)));
    assert_eq!(counts(&polled_here.report(), "fetch"), (2, 2, 0, 0, 0));
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn futures_stay_send() {
    let rt = runtime();
    rt.in_scope(|| {
        let fetch_fut = fetch(1);
        assert_send(&fetch_fut);
        let sum_fut = fetch_sum(&[1]);
        assert_send(&sum_fut);
        let doubled_fut = doubled(1);
        assert_send(&doubled_fut);
        let boxed = boxed_parse("1");
        assert_send(&boxed);
        block_on(async {
            assert_eq!(fetch_fut.await, Ok(2));
            assert_eq!(sum_fut.await, Ok(2));
            assert_eq!(doubled_fut.await, 2);
            assert_eq!(boxed.await, Ok(1));
        });
    });
    let report = rt.report();
    assert_eq!(counts(&report, "fetch"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&report, "fetch_sum"), (1, 1, 0, 0, 0));
}

#[test]
fn a_pending_future_dropped_by_an_unrelated_panic_is_cancelled() {
    let rt = runtime();
    let result = rt.in_scope(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let mut fut = Box::pin(fetch(1));
            assert!(poll_once(fut.as_mut()).is_pending());
            panic!("unrelated panic while `fetch` is pending");
        }))
    });
    assert!(result.is_err());
    assert_eq!(counts(&rt.report(), "fetch"), (1, 0, 0, 0, 1));
}
