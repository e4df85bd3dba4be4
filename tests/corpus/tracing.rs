// The signatures of tracing-attributes' test suite (tests/async_fn.rs, err.rs, ret.rs,
// instrument.rs, destructuring.rs, fields.rs, names.rs, ui/pass), bodies written anew.
// Included by `tests/tests/corpus.rs`, once with `#[analyzed_phase]` and once with a no-op
// attribute.

use std::future::Future;
use std::num::TryFromIntError;
use std::pin::Pin;
use std::sync::Arc;

use crate::support::{Calls, YieldOnce, block_on};

// tests/async_fn.rs

#[phase]
async fn async_fn_polls(polls: usize) -> Result<(), ()> {
    for _ in 0..polls {
        YieldOnce::default().await;
    }
    if polls > 3 { Err(()) } else { Ok(()) }
}

#[phase]
async fn ret_impl_trait(n: i32) -> Result<impl Iterator<Item = i32>, ()> {
    let n = n;
    Ok((0..10).filter(move |x| *x < n))
}

#[phase]
async fn ret_impl_trait_err(n: i32) -> Result<impl Iterator<Item = i32>, &'static str> {
    if n < 0 {
        return Err("negative");
    }
    Ok((0..10).filter(move |x| *x < n))
}

#[phase]
async fn async_fn_empty() {}

#[phase]
#[rustfmt::skip]
#[deny(clippy::suspicious_else_formatting)]
async fn repro_1613(var: bool) -> String {
    format!(
        "{}",
        if var { "true" } else { "false" }
    )
}

#[phase]
#[deny(clippy::suspicious_else_formatting)]
async fn repro_1613_2() {
    // hello world
    // else
}

#[phase]
async fn nested_outer() -> u8 {
    nested_inner().await + 1
}

#[phase]
async fn nested_inner() -> u8 {
    YieldOnce::default().await;
    1
}

#[async_trait::async_trait]
pub(crate) trait TestA {
    async fn foo(&mut self, v: usize);
}

#[async_trait::async_trait]
pub(crate) trait TestB {
    async fn bar(&self);
}

#[async_trait::async_trait]
pub(crate) trait TestC {
    async fn baz(&self);
}

#[derive(Debug)]
pub(crate) struct TestImpl(usize);

#[async_trait::async_trait]
impl TestA for TestImpl {
    #[phase]
    async fn foo(&mut self, v: usize) {
        self.baz().await;
        self.0 = v;
        self.bar().await
    }
}

#[async_trait::async_trait]
impl TestB for TestImpl {
    #[phase]
    async fn bar(&self) {
        let _ = self.0;
    }
}

#[async_trait::async_trait]
impl TestC for TestImpl {
    #[phase]
    async fn baz(&self) {
        YieldOnce::default().await;
    }
}

#[async_trait::async_trait]
pub(crate) trait WithFields {
    async fn call(&mut self, v: usize);
}

#[derive(Clone, Debug)]
pub(crate) struct FieldsImpl;

impl FieldsImpl {
    fn foo(&self) -> usize {
        42
    }

    // A sync fn returning a future built after a statement (tracing's #1296 shape).
    #[phase]
    fn sync_fun(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let val = self.clone();
        Box::pin(async move {
            let _ = val.foo();
        })
    }
}

#[async_trait::async_trait]
impl WithFields for FieldsImpl {
    #[phase]
    async fn call(&mut self, _v: usize) {}
}

#[async_trait::async_trait]
pub(crate) trait Generic {
    async fn call();
    async fn call_with_self(&self);
    async fn call_with_mut_self(&mut self);
}

#[async_trait::async_trait]
impl Generic for FieldsImpl {
    #[phase]
    async fn call() {}

    #[phase]
    async fn call_with_self(&self) {
        self.sync_fun().await;
    }

    #[phase]
    async fn call_with_mut_self(&mut self) {}
}

pub(crate) struct Thing {
    metrics: Arc<()>,
}

impl Thing {
    #[phase]
    fn out_of_scope(&mut self, _req: ()) -> Pin<Box<dyn Future<Output = Arc<()>> + Send + Sync>> {
        let metrics = self.metrics.clone();
        Box::pin(async move { metrics })
    }
}

#[phase]
fn manual_impl_future() -> impl Future<Output = ()> {
    async move {
        YieldOnce::default().await;
    }
}

#[phase]
fn manual_box_pin() -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        YieldOnce::default().await;
    })
}

// tests/err.rs

#[phase]
fn err() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

#[phase]
fn err_suspicious_else() -> Result<u8, TryFromIntError> {
    {}
    u8::try_from(1234)
}

#[phase]
fn err_early_return() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)?;
    Ok(5)
}

#[phase]
async fn err_async(polls: usize) -> Result<u8, TryFromIntError> {
    for _ in 0..polls {
        YieldOnce::default().await;
    }
    u8::try_from(1234)
}

#[phase]
fn err_mut(out: &mut u8) -> Result<(), TryFromIntError> {
    *out = u8::try_from(1234)?;
    Ok(())
}

#[phase]
async fn err_mut_async(polls: usize, out: &mut u8) -> Result<(), TryFromIntError> {
    for _ in 0..polls {
        YieldOnce::default().await;
    }
    *out = u8::try_from(1234)?;
    Ok(())
}

#[phase]
fn returns_impl_trait_err(x: usize) -> Result<impl Iterator<Item = usize>, String> {
    Ok(0..x)
}

#[phase(name = "err_dbg")]
fn err_dbg() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

// tests/ret.rs

#[phase]
fn ret() -> i32 {
    42
}

#[phase]
fn ret_mut(a: &mut i32) -> i32 {
    *a *= 2;
    *a
}

#[phase]
async fn ret_async() -> i32 {
    42
}

#[phase]
fn ret_impl_type() -> impl Copy {
    42
}

#[phase]
fn ret_and_err() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

#[phase]
fn ret_and_ok() -> Result<u8, TryFromIntError> {
    u8::try_from(123)
}

// tests/instrument.rs

#[deny(unused_variables)]
#[phase]
fn repro_2294() {
    #![allow(unused_variables)]
    let i = 42;
}

#[phase]
fn my_fn_fields(arg1: usize, arg2: bool, arg3: String) -> usize {
    arg1 + usize::from(arg2) + arg3.len()
}

pub(crate) struct UnDebug();

#[phase]
fn my_fn_skip(arg1: usize, _arg2: UnDebug, _arg3: UnDebug) -> usize {
    arg1
}

#[phase]
fn my_fn_generics<S, T: std::fmt::Debug>(arg1: S, arg2: T) -> String
where
    S: std::fmt::Debug,
{
    format!("{arg1:?} {arg2:?}")
}

#[derive(Debug)]
pub(crate) struct Foo;

impl Foo {
    #[phase]
    fn my_method(&self, arg1: usize) -> usize {
        arg1
    }
}

#[phase]
fn returns_impl_trait(x: usize) -> impl Iterator<Item = usize> {
    0..x
}

#[phase]
fn user_tracing_module() -> &'static str {
    tracing::my_other_fn()
}

mod tracing {
    pub(crate) fn my_other_fn() -> &'static str {
        "test"
    }
}

// tests/destructuring.rs

#[phase]
fn destructure_tuples((arg1, arg2): (usize, usize)) -> usize {
    arg1 + arg2
}

#[phase]
fn destructure_nested_tuples(((arg1, arg2), (arg3, arg4)): ((usize, usize), (usize, usize))) -> usize {
    arg1 + arg2 + arg3 + arg4
}

#[phase]
fn destructure_refs(&arg1: &usize) -> usize {
    arg1
}

pub(crate) struct Pair(usize, usize);

#[phase]
fn destructure_tuple_structs(Pair(arg1, arg2): Pair) -> usize {
    arg1 * arg2
}

pub(crate) struct Fields {
    bar: usize,
    baz: usize,
}

#[phase]
fn destructure_structs(Fields { bar: arg1, baz: arg2 }: Fields) -> Result<usize, usize> {
    if arg1 > arg2 { Err(arg1) } else { Ok(arg2) }
}

pub(crate) struct Everything {
    bar: Bar,
    baz: (usize, usize),
}

pub(crate) struct Bar((usize, usize));

#[phase]
fn destructure_everything(
    &Everything {
        bar: Bar((arg1, arg2)),
        baz: (arg3, arg4),
    }: &Everything,
) -> usize {
    arg1 + arg2 + arg3 + arg4
}

#[phase]
async fn destructure_async((a, b): (u8, u8), Pair(c, _): Pair) -> Result<u8, ()> {
    YieldOnce::default().await;
    a.checked_add(b).map(|s| s + c as u8).ok_or(())
}

// ui/pass/type_shadowing.rs

type Shadowed = ();

#[allow(dead_code)]
enum Shadows {
    Shadowed,
}

#[phase]
#[allow(unused_imports, clippy::enum_glob_use)]
fn this_is_fine() -> Shadowed {
    // The glob import brings `Shadows::Shadowed` in, shadowing the alias in the body.
    use Shadows::*;
}

#[phase]
#[allow(unused_imports, clippy::enum_glob_use)]
fn this_is_fine_result() -> Result<Shadowed, ()> {
    use Shadows::*;
    Ok(())
}

// tests/names.rs

#[phase]
fn default_name() {}

#[phase(name = "my_name")]
fn custom_name() {}

#[phase(name = "my_other_name")]
fn custom_name_no_equals() -> Result<(), ()> {
    Err(())
}

pub(crate) fn exercise() -> Calls {
    let mut calls = Calls::new();
    calls.result("async_fn_polls", &block_on(async_fn_polls(2)));
    calls.result("async_fn_polls", &block_on(async_fn_polls(4)));
    let ok = block_on(ret_impl_trait(3)).map(Iterator::count);
    calls.result("ret_impl_trait", &ok);
    calls.result("ret_impl_trait_err", &block_on(ret_impl_trait_err(-1)).map(|_| ()));
    block_on(async_fn_empty());
    calls.ok("async_fn_empty");
    assert_eq!(block_on(repro_1613(true)), "true");
    calls.ok("repro_1613");
    block_on(repro_1613_2());
    calls.ok("repro_1613_2");
    assert_eq!(block_on(nested_outer()), 2);
    calls.ok("nested_outer");
    calls.ok("nested_inner");
    let mut test = TestImpl(2);
    block_on(test.foo(5));
    calls.ok("foo");
    calls.ok("baz");
    calls.ok("bar");
    block_on(FieldsImpl.call(5));
    calls.ok("call");
    block_on(<FieldsImpl as Generic>::call());
    calls.ok("call");
    block_on(FieldsImpl.call_with_self());
    calls.ok("call_with_self");
    calls.ok("sync_fun");
    block_on(FieldsImpl.call_with_mut_self());
    calls.ok("call_with_mut_self");
    let mut thing = Thing { metrics: Arc::new(()) };
    let _ = block_on(thing.out_of_scope(()));
    calls.ok("out_of_scope");
    block_on(manual_impl_future());
    calls.ok("manual_impl_future");
    block_on(manual_box_pin());
    calls.ok("manual_box_pin");
    calls.result("err", &err());
    calls.result("err_suspicious_else", &err_suspicious_else());
    calls.result("err_early_return", &err_early_return());
    calls.result("err_async", &block_on(err_async(2)));
    calls.result("err_mut", &err_mut(&mut 0));
    calls.result("err_mut_async", &block_on(err_mut_async(2, &mut 0)));
    calls.result("returns_impl_trait_err", &returns_impl_trait_err(3).map(Iterator::count));
    calls.result("err_dbg", &err_dbg());
    assert_eq!(ret(), 42);
    calls.ok("ret");
    assert_eq!(ret_mut(&mut 2), 4);
    calls.ok("ret_mut");
    assert_eq!(block_on(ret_async()), 42);
    calls.ok("ret_async");
    let _ = ret_impl_type();
    calls.ok("ret_impl_type");
    calls.result("ret_and_err", &ret_and_err());
    calls.result("ret_and_ok", &ret_and_ok());
    repro_2294();
    calls.ok("repro_2294");
    assert_eq!(my_fn_fields(2, false, "Cool".into()), 6);
    calls.ok("my_fn_fields");
    assert_eq!(my_fn_skip(3, UnDebug(), UnDebug()), 3);
    calls.ok("my_fn_skip");
    assert_eq!(my_fn_generics(Foo, false), "Foo false");
    calls.ok("my_fn_generics");
    assert_eq!(Foo.my_method(42), 42);
    calls.ok("my_method");
    assert_eq!(returns_impl_trait(10).count(), 10);
    calls.ok("returns_impl_trait");
    assert_eq!(user_tracing_module(), "test");
    calls.ok("user_tracing_module");
    assert_eq!(destructure_tuples((1, 2)), 3);
    calls.ok("destructure_tuples");
    assert_eq!(destructure_nested_tuples(((1, 2), (3, 4))), 10);
    calls.ok("destructure_nested_tuples");
    assert_eq!(destructure_refs(&1), 1);
    calls.ok("destructure_refs");
    assert_eq!(destructure_tuple_structs(Pair(2, 3)), 6);
    calls.ok("destructure_tuple_structs");
    calls.result("destructure_structs", &destructure_structs(Fields { bar: 2, baz: 1 }));
    calls.result("destructure_structs", &destructure_structs(Fields { bar: 1, baz: 2 }));
    let everything = Everything { bar: Bar((1, 2)), baz: (3, 4) };
    assert_eq!(destructure_everything(&everything), 10);
    calls.ok("destructure_everything");
    calls.result("destructure_async", &block_on(destructure_async((200, 100), Pair(1, 0))));
    calls.result("destructure_async", &block_on(destructure_async((1, 1), Pair(1, 0))));
    this_is_fine();
    calls.ok("this_is_fine");
    calls.result("this_is_fine_result", &this_is_fine_result());
    default_name();
    calls.ok("default_name");
    custom_name();
    calls.ok("my_name");
    calls.result("my_other_name", &custom_name_no_equals());
    calls
}
