// The signatures of autometrics' test suite (tests/integration_test.rs,
// result_labels/pass/{generics,async_trait_support}.rs, objectives_test.rs,
// exemplars_test.rs), bodies written anew. Included by `tests/tests/corpus.rs`, once with
// `#[analyzed_phase]` and once with a no-op attribute.

use std::io;

use async_trait::async_trait;

use crate::support::{Calls, YieldOnce, block_on};

#[phase]
fn hello_world() -> &'static str {
    "Hello world!"
}

pub(crate) struct Foo;

impl Foo {
    #[phase]
    fn test_fn() -> &'static str {
        "Hello world!"
    }

    #[phase]
    fn test_method(&self) -> &'static str {
        "Goodnight moon"
    }
}

#[phase]
fn result_fn(should_error: bool) -> Result<(), ()> {
    if should_error { Err(()) } else { Ok(()) }
}

#[phase]
fn ok_if_fn() -> Option<()> {
    None
}

#[phase]
fn function_1() {
    function_2();
}

#[phase]
fn function_2() {}

// result_labels/pass/generics.rs: `impl Trait` inside `Result` and its aliases.
#[phase]
fn issue_121_a() -> Result<impl ToString, io::Error> {
    Ok("a")
}

#[phase]
fn issue_121_b() -> io::Result<impl ToString> {
    Ok("b")
}

#[phase]
fn issue_121_c() -> ::std::fmt::Result {
    Ok(())
}

#[phase]
#[allow(clippy::needless_bool)]
fn issue_121_d(fail: bool) -> Result<impl ToString, impl std::error::Error> {
    if !fail { Ok("d") } else { Err(io::Error::other("issue 121d")) }
}

// result_labels/pass/async_trait_support.rs
#[async_trait]
pub(crate) trait TestTrait {
    async fn method() -> bool;
    async fn self_method(&self) -> bool;
}

#[derive(Default)]
pub(crate) struct TestStruct;

#[async_trait]
impl TestTrait for TestStruct {
    #[phase]
    async fn method() -> bool {
        true
    }

    #[phase]
    async fn self_method(&self) -> bool {
        YieldOnce::default().await;
        true
    }
}

// result_labels: an error enum returned in a `Result`, and a `Result` of a `Result`.
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) enum MyError {
    Empty,
    ServerError(u64),
}

#[phase]
fn labelled(code: u64) -> Result<u64, MyError> {
    match code {
        0 => Err(MyError::Empty),
        500.. => Err(MyError::ServerError(code)),
        _ => Ok(code),
    }
}

#[phase]
fn nested_result(outer: bool) -> Result<Result<u8, ()>, ()> {
    if outer { Err(()) } else { Ok(Err(())) }
}

// objectives_test.rs / exemplars_test.rs: async handlers returning `Result`s.
#[phase]
async fn handler(id: u32) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    YieldOnce::default().await;
    if id == 0 {
        return Err("no id".into());
    }
    Ok(format!("user {id}"))
}

#[phase]
async fn anyhow_like(id: u32) -> Result<u32, Box<dyn std::error::Error>> {
    let parsed: u32 = id.to_string().parse()?;
    Ok(parsed)
}

pub(crate) fn exercise() -> Calls {
    let mut calls = Calls::new();
    hello_world();
    hello_world();
    calls.ok("hello_world");
    calls.ok("hello_world");
    Foo::test_fn();
    calls.ok("test_fn");
    Foo.test_method();
    calls.ok("test_method");
    calls.result("result_fn", &result_fn(true));
    calls.result("result_fn", &result_fn(true));
    calls.result("result_fn", &result_fn(false));
    assert!(ok_if_fn().is_none());
    calls.ok("ok_if_fn");
    function_1();
    calls.ok("function_1");
    calls.ok("function_2");
    calls.result("issue_121_a", &issue_121_a().map(|v| v.to_string()));
    calls.result("issue_121_b", &issue_121_b().map(|v| v.to_string()));
    calls.result("issue_121_c", &issue_121_c());
    calls.result("issue_121_d", &issue_121_d(true).map(|v| v.to_string()));
    calls.result("issue_121_d", &issue_121_d(false).map(|v| v.to_string()));
    assert!(block_on(<TestStruct as TestTrait>::method()));
    calls.ok("method");
    assert!(block_on(TestStruct.self_method()));
    calls.ok("self_method");
    calls.result("labelled", &labelled(0));
    calls.result("labelled", &labelled(502));
    calls.result("labelled", &labelled(200));
    calls.result("nested_result", &nested_result(true));
    // `Ok(Err(..))` is a success: the outer `Result` decides.
    calls.result("nested_result", &nested_result(false));
    calls.result("handler", &block_on(handler(0)));
    calls.result("handler", &block_on(handler(1)));
    calls.result("anyhow_like", &block_on(anyhow_like(7)));
    calls
}
