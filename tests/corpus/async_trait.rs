// The signatures of async-trait's test suite (tests/test.rs: receivers, lifetimes, generics,
// default methods, `?Send`, diverging bodies, patterns in arguments), under
// `#[async_trait]` as its users write them, bodies written anew. Included by
// `tests/tests/corpus.rs`, once with `#[analyzed_phase]` and once with a no-op attribute.

use std::sync::Arc;

use async_trait::async_trait;

use crate::support::{Calls, YieldOnce, block_on};

#[async_trait]
pub(crate) trait Trait {
    type Assoc;

    async fn selfvalue(self) -> u8
    where
        Self: Sized;
    async fn selfref(&self) -> u8;
    async fn selfmut(&mut self) -> u8;
    async fn required() -> Self::Assoc;
    async fn elided_lifetime(_x: &str) -> usize;
    async fn explicit_lifetime<'a>(_x: &'a str) -> &'a str;
    async fn generic_type_param<T: Send>(x: Box<T>) -> T;
    async fn calls(&self) -> u8;
    async fn calls_mut(&mut self) -> u8;

    #[phase]
    async fn default_method(&self) -> u8 {
        YieldOnce::default().await;
        3
    }

    #[phase]
    async fn default_result(&self, fail: bool) -> Result<u8, String> {
        if fail { Err("default".into()) } else { Ok(4) }
    }
}

pub(crate) struct Struct(u8);

#[async_trait]
impl Trait for Struct {
    type Assoc = ();

    #[phase]
    async fn selfvalue(self) -> u8 {
        self.0
    }

    #[phase]
    async fn selfref(&self) -> u8 {
        YieldOnce::default().await;
        self.0
    }

    #[phase]
    async fn selfmut(&mut self) -> u8 {
        self.0 += 1;
        self.0
    }

    #[phase]
    async fn required() -> Self::Assoc {}

    #[phase]
    async fn elided_lifetime(x: &str) -> usize {
        x.len()
    }

    #[phase]
    async fn explicit_lifetime<'a>(x: &'a str) -> &'a str {
        YieldOnce::default().await;
        x
    }

    #[phase]
    async fn generic_type_param<T: Send>(x: Box<T>) -> T {
        *x
    }

    #[phase]
    async fn calls(&self) -> u8 {
        self.selfref().await + Self::elided_lifetime("ab").await as u8
    }

    #[phase]
    async fn calls_mut(&mut self) -> u8 {
        self.selfmut().await
    }
}

#[async_trait]
pub(crate) trait Fallible {
    async fn unit_ok(&self);
    async fn unit_diverges(&self);
    async fn concrete_diverges(&self) -> u32;
    async fn loops(&self, stop: bool) -> String;
    async fn result(&self, fail: bool) -> Result<u32, String>;
    async fn result_question(&self, s: &str) -> Result<u32, std::num::ParseIntError>;
    async fn collect(&self, n: u32) -> Vec<u32>;
    async fn into_string(&self) -> String;
    async fn default_value(&self) -> Vec<String>;
}

pub(crate) struct Impl {
    finished: bool,
}

#[async_trait]
impl Fallible for Impl {
    #[phase]
    async fn unit_ok(&self) {}

    #[phase]
    async fn unit_diverges(&self) {
        if self.finished {
            return;
        }
        unimplemented!()
    }

    #[phase]
    async fn concrete_diverges(&self) -> u32 {
        if self.finished {
            return 1;
        }
        todo!()
    }

    #[phase]
    async fn loops(&self, stop: bool) -> String {
        #[allow(clippy::never_loop)]
        loop {
            if stop {
                return "stop".into();
            }
            YieldOnce::default().await;
        }
    }

    #[phase]
    async fn result(&self, fail: bool) -> Result<u32, String> {
        YieldOnce::default().await;
        if fail { Err("failed".into()) } else { Ok(1) }
    }

    #[phase]
    async fn result_question(&self, s: &str) -> Result<u32, std::num::ParseIntError> {
        let n: u32 = s.parse()?;
        Ok(n)
    }

    #[phase]
    async fn collect(&self, n: u32) -> Vec<u32> {
        (0..n).collect()
    }

    #[phase]
    async fn into_string(&self) -> String {
        "into".into()
    }

    #[phase]
    async fn default_value(&self) -> Vec<String> {
        Default::default()
    }
}

#[async_trait(?Send)]
pub(crate) trait Local {
    async fn local(&self, value: std::rc::Rc<u8>) -> u8;
    async fn local_result(&self, fail: bool) -> Result<(), std::rc::Rc<str>>;
}

#[async_trait(?Send)]
impl Local for Struct {
    #[phase]
    async fn local(&self, value: std::rc::Rc<u8>) -> u8 {
        YieldOnce::default().await;
        *value + self.0
    }

    #[phase]
    async fn local_result(&self, fail: bool) -> Result<(), std::rc::Rc<str>> {
        if fail { Err("local".into()) } else { Ok(()) }
    }
}

#[async_trait]
pub(crate) trait Receivers {
    async fn boxed(self: Box<Self>) -> u8;
    async fn arced(self: Arc<Self>) -> u8;
}

#[async_trait]
impl Receivers for Struct {
    #[phase]
    async fn boxed(self: Box<Self>) -> u8 {
        self.0
    }

    #[phase]
    async fn arced(self: Arc<Self>) -> u8 {
        YieldOnce::default().await;
        self.0
    }
}

#[async_trait]
pub(crate) trait Patterns {
    async fn tuple(&self, pair: (u8, u8)) -> u8;
    async fn reference(&self, value: &(u8, u8)) -> u8;
    async fn mutable(&self, count: u8) -> u8;
    async fn wildcard(&self, ignored: u8) -> u8;
    async fn impl_trait_arg(&self, items: impl IntoIterator<Item = u8> + Send + 'async_trait)
        -> u8;
}

#[async_trait]
impl Patterns for Struct {
    #[phase]
    async fn tuple(&self, (a, b): (u8, u8)) -> u8 {
        a + b
    }

    #[phase]
    async fn reference(&self, &(a, b): &(u8, u8)) -> u8 {
        YieldOnce::default().await;
        a * b
    }

    #[phase]
    async fn mutable(&self, mut count: u8) -> u8 {
        count += 1;
        count
    }

    #[phase]
    async fn wildcard(&self, _: u8) -> u8 {
        self.0
    }

    #[phase]
    async fn impl_trait_arg(
        &self,
        items: impl IntoIterator<Item = u8> + Send + 'async_trait,
    ) -> u8 {
        items.into_iter().sum()
    }
}

#[async_trait]
pub(crate) trait Generic<T: Send + Sync + 'static> {
    async fn take(&self, value: T) -> Option<T>;
}

#[async_trait]
impl<T: Send + Sync + 'static> Generic<T> for Vec<T> {
    #[phase]
    async fn take(&self, value: T) -> Option<T> {
        if self.is_empty() { None } else { Some(value) }
    }
}

#[async_trait]
pub(crate) trait ConstGeneric {
    async fn sum<const N: usize>(&self, values: [u8; N]) -> u32;
}

#[async_trait]
impl ConstGeneric for Struct {
    #[phase]
    async fn sum<const N: usize>(&self, values: [u8; N]) -> u32 {
        values.iter().map(|v| u32::from(*v)).sum()
    }
}

pub(crate) fn exercise() -> Calls {
    let mut calls = Calls::new();
    assert_eq!(block_on(Struct(1).selfvalue()), 1);
    calls.ok("selfvalue");
    assert_eq!(block_on(Struct(1).selfref()), 1);
    calls.ok("selfref");
    assert_eq!(block_on(Struct(1).selfmut()), 2);
    calls.ok("selfmut");
    block_on(Struct::required());
    calls.ok("required");
    assert_eq!(block_on(Struct::elided_lifetime("abc")), 3);
    calls.ok("elided_lifetime");
    assert_eq!(block_on(Struct::explicit_lifetime("abc")), "abc");
    calls.ok("explicit_lifetime");
    assert_eq!(block_on(Struct::generic_type_param(Box::new(5))), 5);
    calls.ok("generic_type_param");
    assert_eq!(block_on(Struct(1).calls()), 3);
    calls.ok("calls");
    calls.ok("selfref");
    calls.ok("elided_lifetime");
    assert_eq!(block_on(Struct(1).calls_mut()), 2);
    calls.ok("calls_mut");
    calls.ok("selfmut");
    assert_eq!(block_on(Struct(1).default_method()), 3);
    calls.ok("default_method");
    calls.result("default_result", &block_on(Struct(1).default_result(true)));
    calls.result("default_result", &block_on(Struct(1).default_result(false)));
    let done = Impl { finished: true };
    block_on(done.unit_ok());
    calls.ok("unit_ok");
    block_on(done.unit_diverges());
    calls.ok("unit_diverges");
    assert_eq!(block_on(done.concrete_diverges()), 1);
    calls.ok("concrete_diverges");
    assert_eq!(block_on(done.loops(true)), "stop");
    calls.ok("loops");
    calls.result("result", &block_on(done.result(true)));
    calls.result("result", &block_on(done.result(false)));
    calls.result("result_question", &block_on(done.result_question("x")));
    calls.result("result_question", &block_on(done.result_question("2")));
    assert_eq!(block_on(done.collect(2)), vec![0, 1]);
    calls.ok("collect");
    assert_eq!(block_on(done.into_string()), "into");
    calls.ok("into_string");
    assert!(block_on(done.default_value()).is_empty());
    calls.ok("default_value");
    assert_eq!(block_on(Struct(1).local(std::rc::Rc::new(2))), 3);
    calls.ok("local");
    calls.result("local_result", &block_on(Struct(1).local_result(true)));
    assert_eq!(block_on(Box::new(Struct(4)).boxed()), 4);
    calls.ok("boxed");
    assert_eq!(block_on(Arc::new(Struct(5)).arced()), 5);
    calls.ok("arced");
    assert_eq!(block_on(Struct(0).tuple((1, 2))), 3);
    calls.ok("tuple");
    assert_eq!(block_on(Struct(0).reference(&(2, 3))), 6);
    calls.ok("reference");
    assert_eq!(block_on(Struct(0).mutable(1)), 2);
    calls.ok("mutable");
    assert_eq!(block_on(Struct(7).wildcard(1)), 7);
    calls.ok("wildcard");
    assert_eq!(block_on(Struct(0).impl_trait_arg(vec![1, 2])), 3);
    calls.ok("impl_trait_arg");
    assert_eq!(block_on(vec![1u8].take(2)), Some(2));
    calls.ok("take");
    assert_eq!(block_on(Struct(0).sum([1, 2, 3])), 6);
    calls.ok("sum");
    calls
}
