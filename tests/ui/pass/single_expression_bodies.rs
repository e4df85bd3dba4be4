//! One-expression bodies of every shape the attribute expands differently compile without a
//! warning (the attribute must not make the user's braces look unnecessary).
#![deny(warnings)]

use analytics_runtime::analyzed_phase;

/// A value.
#[analyzed_phase]
pub fn value(x: u64) -> u64 { x * 2 }

/// A `Result`.
#[analyzed_phase]
pub fn result(x: u64) -> Result<u64, String> { Ok(x) }

/// Unit.
#[analyzed_phase]
pub fn unit() { println!("unit") }

/// `impl Trait`.
#[analyzed_phase]
pub fn closure() -> impl Fn(&str) -> usize { |s| s.len() }

/// Async value.
#[analyzed_phase]
pub async fn async_value(x: u64) -> u64 { x + 1 }

/// Async `Result`.
#[analyzed_phase]
pub async fn async_result(x: u64) -> Result<u64, String> { Ok(x) }

/// A future body.
#[analyzed_phase]
pub fn future(x: u64) -> impl std::future::Future<Output = u64> { async move { x } }

fn main() {
    let _ = (value(1), result(2), closure()("abc"));
    unit();
    let _ = (async_value(1), async_result(2), future(3));
}
