// The signatures of fastrace's macro test suite (fastrace-macro/tests/ui/ok: async-trait,
// async fn with `mut` arguments, names, enter-on-poll, async in traits) and of its README's
// examples, bodies written anew. Included by `tests/tests/corpus.rs`, once with
// `#[analyzed_phase]` and once with a no-op attribute.

use std::future::Future;
use std::pin::Pin;

use crate::support::{Calls, YieldOnce, block_on};

#[async_trait::async_trait]
pub(crate) trait MyTrait {
    async fn work(&self) -> usize;
    async fn work_todo(&self, go: bool) -> usize;
}

pub(crate) struct MyStruct;

#[async_trait::async_trait]
impl MyTrait for MyStruct {
    #[phase]
    async fn work(&self) -> usize {
        YieldOnce::default().await;
        1
    }

    // ok/async-trait.rs: a `todo!()` body with a concrete output.
    #[phase]
    async fn work_todo(&self, go: bool) -> usize {
        if go {
            return 2;
        }
        todo!()
    }
}

// ok/has-name-async-mut.rs
#[phase(name = "test-span")]
#[allow(unused_mut)]
async fn has_name_async_mut(mut a: u32) -> u32 {
    a
}

#[phase(name = "test-span-mutated")]
async fn async_mut_mutated(mut a: u32) -> u32 {
    YieldOnce::default().await;
    a += 1;
    a
}

// ok/has-name.rs
#[phase(name = "named")]
fn has_name(a: u32) -> u32 {
    a
}

// ok/has-short-name.rs and the sync shapes
#[phase]
fn has_short_name() {}

#[phase]
fn sync_result(fail: bool) -> Result<u32, std::io::Error> {
    if fail { Err(std::io::Error::other("sync")) } else { Ok(1) }
}

// ok/has-enter-on-poll.rs: an `async fn` and a future-returning fn.
#[phase]
async fn enter_on_poll(a: u32) -> u32 {
    YieldOnce::default().await;
    a
}

#[phase]
fn impl_future(a: u32) -> impl Future<Output = u32> {
    async move {
        YieldOnce::default().await;
        a
    }
}

// ok/async-in-trait.rs: `async fn` in a trait (no async-trait), impl and default method.
pub(crate) trait AsyncInTrait {
    async fn required(&self, x: u32) -> Result<u32, String>;

    #[phase]
    async fn provided(&self, x: u32) -> u32 {
        x + 1
    }
}

impl AsyncInTrait for MyStruct {
    #[phase]
    async fn required(&self, x: u32) -> Result<u32, String> {
        YieldOnce::default().await;
        if x == 0 { Err("zero".into()) } else { Ok(x) }
    }
}

// The README's shapes: a recursive async fn, a fn returning a boxed future, a generic one.
#[phase]
fn recursive(depth: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move { if depth == 0 { 0 } else { recursive(depth - 1).await + 1 } })
}

#[phase]
async fn generic_async<T: Into<u64> + Send>(value: T) -> u64 {
    YieldOnce::default().await;
    value.into()
}

#[phase]
async fn with_lifetime<'a>(s: &'a str, _t: &'a str) -> &'a str {
    YieldOnce::default().await;
    s
}

#[phase]
async fn option_output(x: Option<u8>) -> Option<u8> {
    x.map(|x| x + 1)
}

#[phase]
#[allow(clippy::unused_async)]
async fn unit_async_unused() {}

#[phase]
unsafe fn unsafe_fn(p: *const u8) -> u8 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *p }
}

#[phase]
pub(crate) extern "C" fn extern_c(x: u32) -> u32 {
    x * 2
}

pub(crate) fn exercise() -> Calls {
    let mut calls = Calls::new();
    assert_eq!(block_on(MyStruct.work()), 1);
    calls.ok("work");
    assert_eq!(block_on(MyStruct.work_todo(true)), 2);
    calls.ok("work_todo");
    assert_eq!(block_on(has_name_async_mut(1)), 1);
    calls.ok("test-span");
    assert_eq!(block_on(async_mut_mutated(1)), 2);
    calls.ok("test-span-mutated");
    assert_eq!(has_name(3), 3);
    calls.ok("named");
    has_short_name();
    calls.ok("has_short_name");
    calls.result("sync_result", &sync_result(true));
    calls.result("sync_result", &sync_result(false));
    assert_eq!(block_on(enter_on_poll(4)), 4);
    calls.ok("enter_on_poll");
    assert_eq!(block_on(impl_future(5)), 5);
    calls.ok("impl_future");
    assert_eq!(block_on(MyStruct.provided(1)), 2);
    calls.ok("provided");
    calls.result("required", &block_on(MyStruct.required(0)));
    calls.result("required", &block_on(MyStruct.required(1)));
    assert_eq!(block_on(recursive(2)), 2);
    for _ in 0..3 {
        calls.ok("recursive");
    }
    assert_eq!(block_on(generic_async(3u8)), 3);
    calls.ok("generic_async");
    assert_eq!(block_on(with_lifetime("a", "b")), "a");
    calls.ok("with_lifetime");
    assert_eq!(block_on(option_output(None)), None);
    calls.ok("option_output");
    block_on(unit_async_unused());
    calls.ok("unit_async_unused");
    // SAFETY: a valid pointer to a local.
    assert_eq!(unsafe { unsafe_fn(&7) }, 7);
    calls.ok("unsafe_fn");
    assert_eq!(extern_c(2), 4);
    calls.ok("extern_c");
    calls
}
