// Probe shapes: one function per way the expansion can go wrong (issue 14, points 1 to 6),
// and the shapes next to them. Included by `tests/tests/corpus.rs` once with
// `#[analyzed_phase]` and once with a no-op attribute; `exercise` calls each function and says
// whether its value was an `Err`.

use std::future::Future;
use std::pin::Pin;

use crate::support::{BoxFuture, Calls, FutureExt, YieldOnce, block_on};

// 1. Diverging bodies with a unit or concrete output.

#[phase]
pub(crate) fn pin_unit_diverges(skip: bool) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if skip {
            return;
        }
        unimplemented!()
    })
}

#[phase]
pub(crate) fn impl_future_u32_todo(go: bool) -> impl Future<Output = u32> {
    async move {
        if go {
            return 7;
        }
        todo!()
    }
}

#[phase]
pub(crate) fn pin_string_loops(stop: bool) -> Pin<Box<dyn Future<Output = String>>> {
    Box::pin(async move {
        #[allow(clippy::never_loop)]
        loop {
            if stop {
                return String::from("stopped");
            }
        }
    })
}

// 2. A value that takes its type from the declared `Output`.

#[phase]
pub(crate) fn collect_into_declared(n: u32) -> impl Future<Output = Vec<u32>> {
    async move { (0..n).collect() }
}

#[phase]
pub(crate) fn into_declared(s: &'static str) -> Pin<Box<dyn Future<Output = String> + Send>> {
    Box::pin(async move { s.into() })
}

#[phase]
pub(crate) fn default_declared() -> impl Future<Output = Vec<String>> {
    async { Default::default() }
}

#[phase]
pub(crate) fn result_collect_declared(
    items: Vec<&'static str>,
) -> impl Future<Output = Result<Vec<u8>, std::num::ParseIntError>> {
    async move { items.iter().map(|s| s.parse()).collect() }
}

#[phase]
pub(crate) fn boxfuture_alias(fail: bool) -> BoxFuture<'static, Result<u8, String>> {
    Box::pin(async move { if fail { Err("no".into()) } else { Ok(1) } })
}

// 3. `async fn .. -> !` (only called in a test that drops it).

#[phase]
pub(crate) async fn forever(tick: u32) -> ! {
    loop {
        YieldOnce::default().await;
        let _ = tick;
    }
}

#[phase]
pub(crate) async fn forever_sync_body() -> ! {
    panic!("never returns")
}

// 5. Futures built after statements, or with `.boxed()`.

#[phase]
pub(crate) fn after_statement(fail: bool) -> Pin<Box<dyn Future<Output = Result<u8, String>> + Send>> {
    let message = String::from("failed");
    let code = u8::from(fail);
    Box::pin(async move {
        YieldOnce::default().await;
        if code == 1 { Err(message) } else { Ok(code) }
    })
}

#[phase]
pub(crate) fn boxed_method(fail: bool) -> BoxFuture<'static, Result<u8, String>> {
    async move {
        YieldOnce::default().await;
        if fail { Err("boxed".to_owned()) } else { Ok(2) }
    }
    .boxed()
}

#[phase]
pub(crate) fn boxed_after_statement(fail: bool) -> BoxFuture<'static, Result<(), ()>> {
    let outcome = if fail { Err(()) } else { Ok(()) };
    async move { outcome }.boxed()
}

// 6. A trait's default method returning an associated type.

pub(crate) trait Step {
    type Out: analytics_runtime::PhaseResult;
    fn run(&self) -> Self::Out;

    #[phase(result)]
    fn step(&self) -> Self::Out {
        self.run()
    }
}

pub(crate) struct Failing;

impl Step for Failing {
    type Out = Result<(), String>;
    fn run(&self) -> Result<(), String> {
        Err("failing".into())
    }
}

pub(crate) trait AsyncStep {
    type Fut: Future<Output = Result<u8, ()>>;
    fn start(&self) -> Self::Fut;

    #[phase(result)]
    async fn finish(&self) -> <Self::Fut as Future>::Output {
        self.start().await
    }
}

impl AsyncStep for Failing {
    type Fut = std::future::Ready<Result<u8, ()>>;
    fn start(&self) -> Self::Fut {
        std::future::ready(Err(()))
    }
}

// Neighbours: early exits, `?`, macros, references into arguments.

#[phase]
pub(crate) fn question_mark(s: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    Ok(n + 1)
}

#[phase]
pub(crate) fn early_return(n: u32) -> Result<u32, String> {
    if n == 0 {
        return Err("zero".into());
    }
    Ok(n)
}

#[phase]
pub(crate) fn ref_into_arg(v: &mut Vec<u32>) -> Result<&mut u32, String> {
    v.first_mut().ok_or_else(|| "empty".to_owned())
}

#[phase]
pub(crate) fn ref_into_arg_early(v: &mut Vec<u32>) -> Result<&mut u32, String> {
    let first = v.first_mut().ok_or("empty")?;
    Ok(first)
}

#[phase]
pub(crate) async fn async_no_await_result(fail: bool) -> Result<(), String> {
    if fail { Err("no await".into()) } else { Ok(()) }
}

#[phase]
pub(crate) async fn async_question(s: String) -> Result<u8, std::num::ParseIntError> {
    YieldOnce::default().await;
    let n: u8 = s.parse()?;
    Ok(n)
}

#[phase]
pub(crate) async fn async_collect(n: u8) -> Vec<u8> {
    YieldOnce::default().await;
    (0..n).collect()
}

#[phase]
pub(crate) fn sync_unit_starting_with_item() {
    const LIMIT: u32 = 3;
    let _ = LIMIT;
}

pub(crate) fn exercise() -> Calls {
    let mut calls = Calls::new();
    block_on(pin_unit_diverges(true));
    calls.ok("pin_unit_diverges");
    assert_eq!(block_on(impl_future_u32_todo(true)), 7);
    calls.ok("impl_future_u32_todo");
    assert_eq!(block_on(pin_string_loops(true)), "stopped");
    calls.ok("pin_string_loops");
    assert_eq!(block_on(collect_into_declared(3)), vec![0, 1, 2]);
    calls.ok("collect_into_declared");
    assert_eq!(block_on(into_declared("x")), "x");
    calls.ok("into_declared");
    assert!(block_on(default_declared()).is_empty());
    calls.ok("default_declared");
    calls.result("result_collect_declared", &block_on(result_collect_declared(vec!["1", "x"])));
    calls.result("result_collect_declared", &block_on(result_collect_declared(vec!["1"])));
    calls.result("boxfuture_alias", &block_on(boxfuture_alias(true)));
    calls.result("boxfuture_alias", &block_on(boxfuture_alias(false)));
    // Built and never polled: not a run.
    drop(after_statement(true));
    calls.result("after_statement", &block_on(after_statement(true)));
    calls.result("after_statement", &block_on(after_statement(false)));
    drop(boxed_method(true));
    calls.result("boxed_method", &block_on(boxed_method(true)));
    calls.result("boxed_after_statement", &block_on(boxed_after_statement(true)));
    calls.result("boxed_after_statement", &block_on(boxed_after_statement(false)));
    calls.result("step", &Failing.step());
    calls.result("finish", &block_on(Failing.finish()));
    calls.result("question_mark", &question_mark("x"));
    calls.result("question_mark", &question_mark("1"));
    calls.result("early_return", &early_return(0));
    calls.result("early_return", &early_return(1));
    let mut v = vec![1];
    *ref_into_arg(&mut v).unwrap() += 1;
    calls.ok("ref_into_arg");
    calls.result("ref_into_arg", &ref_into_arg(&mut Vec::new()));
    calls.result("ref_into_arg_early", &ref_into_arg_early(&mut Vec::new()));
    calls.result("async_no_await_result", &block_on(async_no_await_result(true)));
    calls.result("async_question", &block_on(async_question("300".into())));
    calls.result("async_question", &block_on(async_question("3".into())));
    assert_eq!(block_on(async_collect(2)), vec![0, 1]);
    calls.ok("async_collect");
    sync_unit_starting_with_item();
    calls.ok("sync_unit_starting_with_item");
    // Never completes: dropped unpolled it is not a run.
    drop(forever(1));
    drop(forever_sync_body());
    calls
}
