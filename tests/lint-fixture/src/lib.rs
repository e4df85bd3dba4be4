//! Code whose lints must be the same with `#[analyzed_phase]` (feature `analyzed`) as without.
//! The runtime is a renamed dependency (`analytics`), so every phase also says `crate = analytics`.
#![warn(clippy::pedantic)]
#![deny(clippy::async_yields_async)]
#![allow(clippy::missing_errors_doc, clippy::missing_panics_doc)]

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

/// A sync unit fn that starts with an item (`items_after_statements` must not fire).
#[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
pub fn starts_with_item() {
    const LIMIT: u32 = 3;
    println!("{LIMIT}");
}

/// An item after a statement: `items_after_statements` fires in both builds.
#[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
pub fn item_after_statement() -> u32 {
    let x = 1;
    const LATE: u32 = 2;
    x + LATE
}

/// An `async fn` that never awaits: `unused_async` fires in both builds.
#[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
pub async fn never_awaits(x: u32) -> Result<u32, String> {
    if x == 0 { Err("zero".into()) } else { Ok(x) }
}

/// An `async fn` that awaits: no `unused_async`.
#[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
pub async fn awaits(x: u32) -> u32 {
    std::future::ready(x).await
}

/// An unused parameter in a sync `Result` fn with an early exit: `unused_variables`.
#[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
pub fn unused_parameter(s: &str, unused: u32) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    Ok(n)
}

/// A value that is a future, returned from an `async fn` (`async_yields_async` does not apply
/// to an `async fn`; it must not start firing).
#[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
pub async fn returns_a_future(x: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    std::future::ready(()).await;
    Box::pin(async move { x })
}

/// async-trait methods.
#[async_trait]
pub trait Service {
    /// Unit output.
    async fn call(&self);
    /// A `Result`.
    async fn fallible(&self, fail: bool) -> Result<(), String>;
    /// Diverges.
    async fn unfinished(&self) -> u32;
}

/// A service.
pub struct Impl;

#[async_trait]
impl Service for Impl {
    #[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
    async fn call(&self) {}

    #[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
    async fn fallible(&self, fail: bool) -> Result<(), String> {
        if fail { Err("failed".into()) } else { Ok(()) }
    }

    #[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
    async fn unfinished(&self) -> u32 {
        unimplemented!()
    }
}

/// A boxed future built after a statement.
#[cfg_attr(feature = "analyzed", analytics::analyzed_phase(crate = analytics))]
#[must_use]
pub fn boxed(x: u32) -> Pin<Box<dyn Future<Output = Result<u32, ()>> + Send>> {
    let y = x + 1;
    Box::pin(async move { if y == 0 { Err(()) } else { Ok(y) } })
}
