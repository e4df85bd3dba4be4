//! Compile-time behaviour of `#[analyzed_phase]` (trybuild): each misuse in `ui/fail/` is one
//! precise error, pinned in its `.stderr`; the forms in `ui/pass/` compile with
//! `#![deny(warnings)]`. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p analytics-tests --test ui` and review them by eye.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
