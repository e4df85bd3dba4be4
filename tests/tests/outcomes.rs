//! How a run's outcome is decided: `Result::Err` is a failure through any alias
//! (`io::Result`, `fmt::Result`, a user alias, `Box<dyn Error>`, `String` errors); every other
//! value, `Option::None` included, is a success; a panic is a failure and a panic, its payload
//! is untouched and it keeps unwinding into the caller. Also pins down the edge cases of
//! classifying on the type (generic `T`, `impl Trait`, nested `Result`).

mod common;

use std::error::Error;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, panic_any};

use analytics_runtime::analyzed_phase;
use common::{counts, runtime};

#[analyzed_phase]
fn io_phase(fail: bool) -> std::io::Result<u8> {
    if fail {
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"))
    } else {
        Ok(1)
    }
}

#[test]
fn io_result_err_is_a_failure() {
    let rt = runtime();
    let (ok, err) = rt.in_scope(|| (io_phase(false), io_phase(true)));
    assert_eq!(ok.unwrap(), 1);
    assert_eq!(err.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    assert_eq!(counts(&rt.report(), "io_phase"), (2, 1, 1, 0, 0));
}

#[derive(Debug, PartialEq)]
struct MyError(u8);

type R<T> = Result<T, MyError>;

#[analyzed_phase]
fn user_alias(code: u8) -> R<u8> {
    if code == 0 { Ok(0) } else { Err(MyError(code)) }
}

#[analyzed_phase]
fn fmt_alias(fail: bool) -> fmt::Result {
    if fail { Err(fmt::Error) } else { Ok(()) }
}

#[test]
fn user_and_std_aliases_of_result() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(user_alias(0), Ok(0));
        assert_eq!(user_alias(3), Err(MyError(3)));
        assert_eq!(user_alias(4), Err(MyError(4)));
        assert_eq!(fmt_alias(true), Err(fmt::Error));
        assert_eq!(fmt_alias(false), Ok(()));
    });
    let report = rt.report();
    assert_eq!(counts(&report, "user_alias"), (3, 1, 2, 0, 0));
    assert_eq!(counts(&report, "fmt_alias"), (2, 1, 1, 0, 0));
}

#[analyzed_phase]
fn boxed_error(input: &str) -> Result<u16, Box<dyn Error + Send + Sync>> {
    let n: u16 = input.parse()?;
    if n == 0 {
        return Err("zero is not allowed".into());
    }
    Ok(n)
}

#[analyzed_phase]
fn string_error(fail: bool) -> Result<(), String> {
    if fail {
        Err("failed".to_owned())?;
    }
    Ok(())
}

#[test]
fn box_dyn_error_and_string_errors() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(boxed_error("7").unwrap(), 7);
        assert_eq!(
            boxed_error("x").unwrap_err().to_string(),
            "invalid digit found in string"
        );
        assert_eq!(
            boxed_error("0").unwrap_err().to_string(),
            "zero is not allowed"
        );
        assert_eq!(string_error(true), Err("failed".to_string()));
        assert_eq!(string_error(false), Ok(()));
    });
    let report = rt.report();
    assert_eq!(counts(&report, "boxed_error"), (3, 1, 2, 0, 0));
    assert_eq!(counts(&report, "string_error"), (2, 1, 1, 0, 0));
}

#[analyzed_phase]
fn find(haystack: &[u8], needle: u8) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

#[test]
fn option_none_is_a_success() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(find(b"abc", b'c'), Some(2));
        assert_eq!(find(b"abc", b'z'), None);
        assert_eq!(find(b"", b'a'), None);
    });
    assert_eq!(counts(&rt.report(), "find"), (3, 3, 0, 0, 0));
}

/// The classification is decided where the phase is defined: `T` is a type parameter, not a
/// `Result`, so every run is a success, even when `T` is instantiated with a `Result` that holds
/// an `Err`. Give the phase a `Result<T, E>` return type to have its errors counted.
#[analyzed_phase]
fn generic_value<T>(make: impl FnOnce() -> T) -> T {
    make()
}

#[analyzed_phase]
fn generic_result<T, E>(make: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    make()
}

#[test]
fn a_type_parameter_is_not_a_result_even_when_instantiated_with_one() {
    let rt = runtime();
    rt.in_scope(|| {
        let err: Result<u8, String> = generic_value(|| Err("hidden".to_string()));
        assert_eq!(err, Err("hidden".to_string()));
        assert_eq!(generic_value(|| 5), 5);
        let err: Result<u8, String> = generic_result(|| Err("seen".to_string()));
        assert_eq!(err, Err("seen".to_string()));
    });
    let report = rt.report();
    assert_eq!(counts(&report, "generic_value"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&report, "generic_result"), (1, 0, 1, 0, 0));
}

/// The declared type decides, and `impl Debug` is opaque, not a `Result`: a run is a success
/// even when the hidden value is an `Err` (as for a type parameter, above).
#[analyzed_phase]
fn opaque(fail: bool) -> impl fmt::Debug {
    if fail {
        Err::<u8, &str>("opaque")
    } else {
        Ok(1)
    }
}

/// The same rule for an `async fn`: its declared output `impl Debug` is not a `Result`.
#[analyzed_phase]
async fn opaque_async(fail: bool) -> impl fmt::Debug {
    if fail {
        Err::<u8, &str>("opaque")
    } else {
        Ok(1)
    }
}

/// Only the outer `Result` decides: `Ok(Err(..))` is a success.
#[analyzed_phase]
fn nested(outer: bool, inner: bool) -> Result<Result<u8, String>, String> {
    match (outer, inner) {
        (false, _) => Err("outer".into()),
        (true, false) => Ok(Err("inner".into())),
        (true, true) => Ok(Ok(1)),
    }
}

#[test]
fn impl_trait_and_nested_results() {
    let rt = runtime();
    rt.in_scope(|| {
        assert_eq!(format!("{:?}", opaque(true)), "Err(\"opaque\")");
        assert_eq!(format!("{:?}", opaque(false)), "Ok(1)");
        assert_eq!(nested(false, true), Err("outer".to_string()));
        assert_eq!(nested(true, false), Ok(Err("inner".to_string())));
        assert_eq!(nested(true, true), Ok(Ok(1)));
    });
    let report = rt.report();
    assert_eq!(counts(&report, "opaque"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&report, "nested"), (3, 2, 1, 0, 0));
}

#[test]
fn impl_trait_output_of_an_async_fn_is_classified_like_a_sync_one() {
    let rt = runtime();
    let (err, ok) = rt.in_scope(|| {
        futures::executor::block_on(async { (opaque_async(true).await, opaque_async(false).await) })
    });
    assert_eq!(format!("{err:?} {ok:?}"), "Err(\"opaque\") Ok(1)");
    assert_eq!(counts(&rt.report(), "opaque_async"), (2, 2, 0, 0, 0));
}

#[analyzed_phase]
fn panics_with_message(n: u32) -> Result<u32, String> {
    if n == 0 {
        panic!("division by {n}");
    }
    Ok(100 / n)
}

#[derive(Debug, PartialEq)]
struct Payload {
    code: u32,
}

#[analyzed_phase]
fn panics_with_payload() {
    panic_any(Payload { code: 7 });
}

#[test]
fn a_panic_is_a_failure_and_a_panic_and_keeps_its_payload() {
    let rt = runtime();
    let (first, second) = rt.in_scope(|| {
        (
            catch_unwind(|| panics_with_message(0)),
            catch_unwind(panics_with_payload),
        )
    });
    let message = first.expect_err("the panic reached the caller");
    assert_eq!(
        message.downcast_ref::<String>().map(String::as_str),
        Some("division by 0")
    );
    let payload = second.expect_err("the panic reached the caller");
    assert_eq!(
        payload.downcast_ref::<Payload>(),
        Some(&Payload { code: 7 })
    );
    let report = rt.report();
    assert_eq!(counts(&report, "panics_with_message"), (1, 0, 1, 1, 0));
    assert_eq!(counts(&report, "panics_with_payload"), (1, 0, 1, 1, 0));
    assert_eq!(
        report.phase("panics_with_message").unwrap().failure_rate,
        1.0
    );
}

#[analyzed_phase]
fn outer_phase(n: u32) -> Result<u32, String> {
    let inner = panics_with_message(n)?;
    Ok(inner + 1)
}

#[test]
fn a_panic_unwinds_through_every_enclosing_phase() {
    let rt = runtime();
    let (ok, unwound) = rt.in_scope(|| (outer_phase(4), catch_unwind(|| outer_phase(0))));
    assert_eq!(ok, Ok(26));
    assert!(unwound.is_err());
    let report = rt.report();
    assert_eq!(counts(&report, "panics_with_message"), (2, 1, 1, 1, 0));
    assert_eq!(counts(&report, "outer_phase"), (2, 1, 1, 1, 0));
}

#[analyzed_phase]
fn catches_its_own_panic() -> Result<&'static str, String> {
    let caught = catch_unwind(|| -> u8 { panic!("handled inside") });
    match caught {
        Ok(_) => Err("no panic".into()),
        Err(_) => Ok("recovered"),
    }
}

#[test]
fn a_panic_caught_inside_the_phase_is_not_a_panic_of_the_phase() {
    let rt = runtime();
    assert_eq!(rt.in_scope(catches_its_own_panic), Ok("recovered"));
    assert_eq!(
        counts(&rt.report(), "catches_its_own_panic"),
        (1, 1, 0, 0, 0)
    );
}

#[analyzed_phase]
fn cleanup(log: &mut Vec<&'static str>) -> Result<(), String> {
    log.push("cleaned");
    Ok(())
}

struct CleansUpOnDrop<'a>(&'a mut Vec<&'static str>);

impl Drop for CleansUpOnDrop<'_> {
    fn drop(&mut self) {
        cleanup(self.0).expect("cleanup succeeds");
    }
}

#[test]
fn a_phase_that_completes_while_the_thread_unwinds_is_a_success() {
    let rt = runtime();
    let mut log = Vec::new();
    let result = rt.in_scope(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _cleanup = CleansUpOnDrop(&mut log);
            panic!("unrelated panic");
        }))
    });
    assert!(result.is_err());
    assert_eq!(log, ["cleaned"]);
    assert_eq!(counts(&rt.report(), "cleanup"), (1, 1, 0, 0, 0));
}

/// A unit-returning phase (its body runs in place, ended by a drop guard).
#[analyzed_phase]
fn unit_cleanup(log: &mut Vec<&'static str>) {
    log.push("unit cleaned");
}

struct UnitCleanupOnDrop<'a>(&'a mut Vec<&'static str>);

impl Drop for UnitCleanupOnDrop<'_> {
    fn drop(&mut self) {
        unit_cleanup(self.0);
    }
}

#[test]
fn a_unit_phase_that_completes_while_the_thread_unwinds_is_a_success() {
    let rt = runtime();
    let mut log = Vec::new();
    let result = rt.in_scope(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _cleanup = UnitCleanupOnDrop(&mut log);
            panic!("unrelated panic");
        }))
    });
    assert!(result.is_err());
    assert_eq!(log, ["unit cleaned"]);
    assert_eq!(counts(&rt.report(), "unit_cleanup"), (1, 1, 0, 0, 0));
}
