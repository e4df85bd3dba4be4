//! Sync forms compile without a single warning, and the attributes and docs on them are kept
//! (`missing_docs` would fire on `pub fn`s whose docs were dropped, `unused_variables` on a fn
//! whose `#[allow]` was dropped).
#![deny(warnings, missing_docs, unused_must_use)]

use analytics_runtime::analyzed_phase;

/// A unit-returning phase.
#[analyzed_phase]
pub fn unit() {}

/// A unit-returning phase with statements.
#[analyzed_phase]
pub fn unit_with_body(log: &mut Vec<u32>) {
    log.push(1);
}

/// A value.
#[analyzed_phase]
#[must_use]
pub fn value(x: u32) -> u32 {
    x + 1
}

/// A `Result` with `?` and an early `return`.
#[analyzed_phase(name = "parse")]
pub fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    if input.is_empty() {
        return Ok(0);
    }
    let n: u32 = input.parse()?;
    Ok(n)
}

/// An `#[allow]` on the fn is kept.
#[analyzed_phase]
#[allow(unused_variables)]
pub fn allowed(x: u32) {
    let unused = x;
}

/// An inner attribute is kept.
#[analyzed_phase]
pub fn inner_allowed() -> u8 {
    #![allow(unused_variables)]
    let unused = 1;
    2
}

/// `mut` and destructured arguments.
#[analyzed_phase]
pub fn patterns(mut acc: Vec<u32>, (a, b): (u32, u32)) -> Vec<u32> {
    acc.push(a + b);
    acc
}

/// A reference into an argument.
#[analyzed_phase]
pub fn first(values: &[u32]) -> Option<&u32> {
    values.first()
}

/// A returned closure whose parameter type comes from the declared `impl Fn`.
#[analyzed_phase]
pub fn len_fn() -> impl Fn(&str) -> usize {
    |s| s.len()
}

/// Diverges.
#[analyzed_phase]
pub fn diverge() -> ! {
    panic!("never returns")
}

/// Generic, with a where clause and a const generic.
#[analyzed_phase]
pub fn generic<T, const N: usize>(value: T) -> [T; N]
where
    T: Copy,
{
    [value; N]
}

fn main() {
    unit();
    let mut log = Vec::new();
    unit_with_body(&mut log);
    let _ = value(1);
    let _ = parse("1");
    allowed(1);
    let _ = inner_allowed();
    let _ = patterns(log, (1, 2));
    let _ = first(&[1]);
    let _ = len_fn()("abc");
    let _: [u8; 2] = generic(1);
    if log_is_never_true() {
        diverge();
    }
}

fn log_is_never_true() -> bool {
    std::env::args().count() > 100
}
