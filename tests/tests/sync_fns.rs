//! `#[analyzed_phase]` on free (non-method) sync functions: every signature form keeps its
//! meaning (returns, `?`, generics, const generics, lifetimes, `impl Trait`, patterns, `unsafe`,
//! visibility, kept attributes, inner attributes, shadowing `use`, recursion, raw identifiers,
//! `-> !`), and each call is recorded exactly once with the right outcome.

mod common;

use std::collections::BTreeMap;
use std::fmt::Display;
use std::num::ParseIntError;
use std::panic::{AssertUnwindSafe, catch_unwind};

use analytics_runtime::analyzed_phase;
use common::{counts, runtime};

#[analyzed_phase]
fn unit_return(log: &mut Vec<&'static str>) {
    log.push("ran");
}

#[test]
fn unit_return_is_a_success() {
    let rt = runtime();
    let mut log = Vec::new();
    rt.in_scope(|| {
        unit_return(&mut log);
        unit_return(&mut log);
    });
    assert_eq!(log, ["ran", "ran"]);
    assert_eq!(counts(&rt.report(), "unit_return"), (2, 2, 0, 0, 0));
}

#[analyzed_phase]
fn value_return(x: u64) -> u64 {
    x * 3
}

#[test]
fn value_return_is_passed_through() {
    let rt = runtime();
    let values: Vec<u64> = rt.in_scope(|| (0..5).map(value_return).collect());
    assert_eq!(values, [0, 3, 6, 9, 12]);
    assert_eq!(counts(&rt.report(), "value_return"), (5, 5, 0, 0, 0));
}

#[analyzed_phase]
fn early_return(x: i32) -> Result<&'static str, String> {
    if x < 0 {
        return Err(format!("{x} is negative"));
    }
    if x == 0 {
        return Ok("zero");
    }
    Ok("positive")
}

#[test]
fn early_return_leaves_the_body_and_is_classified() {
    let rt = runtime();
    let results = rt.in_scope(|| [early_return(-1), early_return(0), early_return(1)]);
    assert_eq!(
        results,
        [
            Err("-1 is negative".to_string()),
            Ok("zero"),
            Ok("positive")
        ]
    );
    assert_eq!(counts(&rt.report(), "early_return"), (3, 2, 1, 0, 0));
}

#[analyzed_phase]
fn question_mark(a: &str, b: &str) -> Result<i64, ParseIntError> {
    let a: i64 = a.parse()?;
    let b: i64 = b.parse()?;
    Ok(a + b)
}

#[test]
fn question_mark_returns_early_with_the_error() {
    let rt = runtime();
    let (ok, first_bad, second_bad) = rt.in_scope(|| {
        (
            question_mark("2", "40"),
            question_mark("x", "1"),
            question_mark("1", ""),
        )
    });
    assert_eq!(ok, Ok(42));
    assert_eq!(
        first_bad.unwrap_err().to_string(),
        "invalid digit found in string"
    );
    assert_eq!(
        second_bad.unwrap_err().to_string(),
        "cannot parse integer from empty string"
    );
    assert_eq!(counts(&rt.report(), "question_mark"), (3, 1, 2, 0, 0));
}

/// `return` inside a closure leaves the closure only, not the phase.
#[analyzed_phase]
fn return_in_closure(values: &[i32]) -> Result<i32, String> {
    let clamp = |x: i32| {
        if x < 0 {
            return 0;
        }
        x * 10
    };
    let total: i32 = values.iter().map(|&x| clamp(x)).sum();
    if total == 0 {
        return Err("nothing positive".into());
    }
    Ok(total)
}

#[test]
fn return_inside_a_closure_stays_in_the_closure() {
    let rt = runtime();
    let (a, b) = rt.in_scope(|| (return_in_closure(&[-5, 1, 2]), return_in_closure(&[-1])));
    assert_eq!(a, Ok(30));
    assert_eq!(b, Err("nothing positive".to_string()));
    assert_eq!(counts(&rt.report(), "return_in_closure"), (2, 1, 1, 0, 0));
}

#[analyzed_phase]
fn generic_where<K, V, I>(pairs: I) -> BTreeMap<K, V>
where
    K: Ord,
    V: Default + std::ops::AddAssign,
    I: IntoIterator<Item = (K, V)>,
{
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        *map.entry(k).or_default() += v;
    }
    map
}

#[test]
fn generic_fn_with_where_clause() {
    let rt = runtime();
    let (words, numbers) = rt.in_scope(|| {
        (
            generic_where([("a", 1), ("b", 2), ("a", 3)]),
            generic_where(vec![(1u8, 0.5f64), (1, 0.25)]),
        )
    });
    assert_eq!(words, BTreeMap::from([("a", 4), ("b", 2)]));
    assert_eq!(numbers, BTreeMap::from([(1, 0.75)]));
    // Every instantiation is the same call site, hence the same phase.
    assert_eq!(counts(&rt.report(), "generic_where"), (2, 2, 0, 0, 0));
}

#[analyzed_phase]
fn const_generic<const N: usize>(fill: u8) -> [u8; N] {
    [fill; N]
}

#[test]
fn const_generic_fn() {
    let rt = runtime();
    let (a, b) = rt.in_scope(|| (const_generic::<3>(7), const_generic::<0>(1)));
    assert_eq!(a, [7, 7, 7]);
    assert_eq!(b, [0u8; 0]);
    assert_eq!(counts(&rt.report(), "const_generic"), (2, 2, 0, 0, 0));
}

#[analyzed_phase]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if b.len() > a.len() { b } else { a }
}

#[analyzed_phase]
fn first_word(text: &str) -> &str {
    text.split(' ').next().unwrap_or_default()
}

#[test]
fn lifetimes_return_references_into_arguments() {
    let rt = runtime();
    let owned = String::from("hello world");
    let (l, w) = rt.in_scope(|| (longest("ab", &owned), first_word(&owned)));
    assert_eq!(l, "hello world");
    assert_eq!(w, "hello");
    // The returned references point into `owned`, not at a copy.
    assert_eq!(w.as_ptr(), owned.as_ptr());
    let report = rt.report();
    assert_eq!(counts(&report, "longest"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "first_word"), (1, 1, 0, 0, 0));
}

#[analyzed_phase]
fn impl_arg(items: impl IntoIterator<Item = impl Into<u64>>) -> u64 {
    items.into_iter().map(Into::into).sum()
}

#[analyzed_phase]
fn impl_iter_ref<'a, T: PartialOrd>(
    items: &'a [T],
    min: &'a T,
) -> impl Iterator<Item = &'a T> + 'a {
    items.iter().filter(move |x| *x >= min)
}

#[analyzed_phase]
fn impl_in_result(input: &str) -> Result<impl Display, ParseIntError> {
    let n: u32 = input.trim().parse()?;
    Ok(format!("#{n}"))
}

#[analyzed_phase]
fn impl_closure_return(offset: u32) -> impl Fn(u32) -> u32 {
    move |x: u32| x + offset
}

#[test]
fn impl_trait_in_argument_and_return_position() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(impl_arg([1u8, 2, 3]), 6);
        assert_eq!(impl_arg(vec![10u32]), 10);
        let data = [5, 1, 7, 3];
        let big: Vec<&i32> = impl_iter_ref(&data, &4).collect();
        assert_eq!(big, [&5, &7]);
        assert_eq!(impl_in_result(" 42 ").unwrap().to_string(), "#42");
        assert_eq!(
            impl_in_result("4x").err().unwrap().to_string(),
            "invalid digit found in string"
        );
        assert_eq!(impl_closure_return(2)(40), 42);
    });
    let report = rt.report();
    assert_eq!(counts(&report, "impl_arg"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&report, "impl_iter_ref"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "impl_in_result"), (2, 1, 1, 0, 0));
    assert_eq!(counts(&report, "impl_closure_return"), (1, 1, 0, 0, 0));
}

#[analyzed_phase]
fn boxed_closure(offset: usize) -> Box<dyn Fn(&str) -> usize> {
    Box::new(move |s| s.len() + offset)
}

#[test]
fn returned_closures_keep_their_expected_signature() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(boxed_closure(1)("abc"), 4);
        assert_eq!(boxed_closure(0)(""), 0);
    });
    assert_eq!(counts(&rt.report(), "boxed_closure"), (2, 2, 0, 0, 0));
}

struct Point {
    x: i32,
    y: i32,
}

#[analyzed_phase]
fn tuple_pattern((a, b): (i32, i32), [first, .., last]: [u8; 4]) -> i32 {
    a * b + i32::from(first) + i32::from(last)
}

#[analyzed_phase]
fn struct_pattern(Point { x, y: vertical }: Point, &Point { x: x2, .. }: &Point) -> i32 {
    x + vertical + x2
}

#[analyzed_phase]
fn mut_args(mut acc: Vec<u32>, mut n: u32) -> Vec<u32> {
    while n > 0 {
        acc.push(n);
        n -= 1;
    }
    acc
}

#[test]
fn destructured_and_mut_arguments() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(tuple_pattern((6, 7), [1, 2, 3, 4]), 47);
        assert_eq!(
            struct_pattern(Point { x: 1, y: 2 }, &Point { x: 30, y: 0 }),
            33
        );
        assert_eq!(mut_args(vec![9], 3), [9, 3, 2, 1]);
    });
    let report = rt.report();
    assert_eq!(counts(&report, "tuple_pattern"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "struct_pattern"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "mut_args"), (1, 1, 0, 0, 0));
}

/// # Safety
/// `ptr` must be valid for reads.
#[analyzed_phase]
unsafe fn read_raw(ptr: *const u32) -> u32 {
    // SAFETY: the caller guarantees `ptr` is valid for reads.
    unsafe { *ptr }
}

#[test]
fn unsafe_fn() {
    let rt = runtime();
    let value = 41u32;
    // SAFETY: `&value` is valid for reads.
    let read = rt.in_scope(|| unsafe { read_raw(&value) });
    assert_eq!(read, 41);
    assert_eq!(counts(&rt.report(), "read_raw"), (1, 1, 0, 0, 0));
}

mod visibility {
    use analytics_runtime::analyzed_phase;

    #[analyzed_phase]
    pub(crate) fn crate_visible() -> &'static str {
        "visible"
    }

    #[analyzed_phase]
    pub(super) fn parent_visible() -> &'static str {
        "parent"
    }
}

#[test]
fn restricted_visibility_is_kept() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(visibility::crate_visible(), "visible");
        assert_eq!(visibility::parent_visible(), "parent");
    });
    let report = rt.report();
    assert_eq!(counts(&report, "crate_visible"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "parent_visible"), (1, 1, 0, 0, 0));
}

/// Doubles its input.
///
/// The other attributes stay on the function, before or after `#[analyzed_phase]`.
#[inline]
#[analyzed_phase]
#[must_use]
#[allow(clippy::unnecessary_wraps)]
#[cfg_attr(all(), allow(unused_variables))]
fn kept_attributes(x: u32) -> Option<u32> {
    let unused = x;
    Some(x * 2)
}

#[analyzed_phase]
fn inner_attributes() -> u32 {
    #![allow(unused)]
    let never_read = 5;
    fn never_called() {}
    7
}

#[test]
fn other_attributes_and_inner_attributes_are_kept() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(kept_attributes(21), Some(42));
        assert_eq!(inner_attributes(), 7);
    });
    let report = rt.report();
    assert_eq!(counts(&report, "kept_attributes"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "inner_attributes"), (1, 1, 0, 0, 0));
}

/// The body shadows `Result`, `core`, `Option` and `Box` (names the expansion could be tempted
/// to use): the return type is still read at the signature and the classification still sees a
/// `Result::Err`.
#[analyzed_phase]
fn shadowing_use(fail: bool) -> Result<u8, String> {
    #[allow(unused_imports)]
    use std::fmt::Result;
    #[allow(unused_imports, clippy::single_component_path_imports)]
    use std::{self as core};
    #[allow(dead_code)]
    struct Option;
    #[allow(dead_code)]
    struct Box;
    #[allow(dead_code)]
    fn call_once() {}
    let formatted: Result = Ok(());
    assert!(formatted.is_ok());
    if fail {
        return std::result::Result::Err("shadowed".into());
    }
    std::result::Result::Ok(1)
}

#[test]
fn use_in_the_body_does_not_change_the_expansion() {
    let rt = runtime();
    let (ok, err) = rt.in_scope(|| (shadowing_use(false), shadowing_use(true)));
    assert_eq!(ok, Ok(1));
    assert_eq!(err, Err("shadowed".to_string()));
    assert_eq!(counts(&rt.report(), "shadowing_use"), (2, 1, 1, 0, 0));
}

/// An FFI-style callback, called through a function pointer.
#[analyzed_phase]
extern "C" fn on_event(code: i32) -> i32 {
    code * 2
}

fn with_local_item_fn(x: u32) -> u32 {
    #[analyzed_phase]
    fn local_phase(x: u32) -> Result<u32, String> {
        x.checked_sub(1).ok_or_else(|| "underflow".to_string())
    }
    local_phase(x).unwrap_or(0) + local_phase(x + 1).unwrap_or(0)
}

#[test]
fn extern_c_fns_and_fns_declared_inside_a_fn() {
    let rt = runtime();
    let callback: extern "C" fn(i32) -> i32 = on_event;
    rt.in_scope(|| {
        assert_eq!(callback(21), 42);
        assert_eq!(with_local_item_fn(0), 0);
    });
    let report = rt.report();
    assert_eq!(counts(&report, "on_event"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "local_phase"), (2, 1, 1, 0, 0));
    let site = report.phase("local_phase").unwrap().site.clone().unwrap();
    assert_eq!(site.module_path, "sync_fns");
}

#[analyzed_phase]
fn factorial(n: u64) -> u64 {
    if n <= 1 { 1 } else { n * factorial(n - 1) }
}

#[analyzed_phase]
fn countdown(n: u32) -> Result<u32, String> {
    if n == 0 {
        return Err("reached zero".into());
    }
    countdown(n - 1).or(Ok(n))
}

#[test]
fn recursion_counts_every_call() {
    let rt = runtime();
    let (f, c) = rt.in_scope(|| (factorial(5), countdown(3)));
    assert_eq!(f, 120);
    assert_eq!(c, Ok(1));
    let report = rt.report();
    // factorial(5), (4), (3), (2), (1).
    assert_eq!(counts(&report, "factorial"), (5, 5, 0, 0, 0));
    // countdown(3), (2), (1) succeed; countdown(0) fails.
    assert_eq!(counts(&report, "countdown"), (4, 3, 1, 0, 0));
}

#[analyzed_phase]
fn r#match(pattern: &str) -> bool {
    pattern == "match"
}

#[analyzed_phase]
fn r#plain_raw() -> u8 {
    1
}

#[test]
fn raw_identifiers_are_unraw_in_the_phase_name() {
    let rt = runtime();
    rt.in_scope(|| {
        assert!(r#match("match"));
        assert!(!r#match("other"));
        assert_eq!(plain_raw(), 1);
    });
    let report = rt.report();
    assert_eq!(counts(&report, "match"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&report, "plain_raw"), (1, 1, 0, 0, 0));
    assert!(report.phase("r#match").is_none());
}

#[analyzed_phase]
fn diverges(reason: &str) -> ! {
    panic!("gave up: {reason}")
}

#[test]
fn diverging_fn_that_panics_is_a_panic() {
    let rt = runtime();
    let caught = rt.in_scope(|| catch_unwind(|| diverges("no plan")));
    let payload = caught.expect_err("a `-> !` fn never returns");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("gave up: no plan")
    );
    assert_eq!(counts(&rt.report(), "diverges"), (1, 0, 1, 1, 0));
}

#[analyzed_phase]
fn panics_mid_body(steps: &mut Vec<u8>) -> u8 {
    steps.push(1);
    if steps.len() == 1 {
        panic!("first call panics");
    }
    steps.push(2);
    2
}

#[test]
fn a_panic_in_a_value_returning_fn_is_a_failure_and_a_panic() {
    let rt = runtime();
    let mut steps = Vec::new();
    let first = rt.in_scope(|| catch_unwind(AssertUnwindSafe(|| panics_mid_body(&mut steps))));
    assert!(first.is_err());
    let second = rt.in_scope(|| panics_mid_body(&mut steps));
    assert_eq!(second, 2);
    assert_eq!(steps, [1, 1, 2]);
    assert_eq!(counts(&rt.report(), "panics_mid_body"), (2, 1, 1, 1, 0));
}
