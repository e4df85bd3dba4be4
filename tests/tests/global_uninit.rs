//! The global runtime never initialised (this process never calls `init`): annotated phases
//! run unmeasured and return their values, `global()` is `None`, `report()` is empty with
//! `enabled: false`, and a scoped runtime still works.

mod common;

use analytics_runtime::analyzed_phase;
use common::{counts, runtime};
use futures::executor::block_on;

#[analyzed_phase]
fn unmeasured(x: u32) -> Result<u32, String> {
    if x == 0 { Err("zero".into()) } else { Ok(x) }
}

#[analyzed_phase]
async fn unmeasured_async(x: u32) -> u32 {
    x + 1
}

#[test]
fn phases_run_unmeasured_before_init() {
    assert_eq!(unmeasured(3), Ok(3));
    assert_eq!(unmeasured(0), Err("zero".to_string()));
    assert_eq!(block_on(unmeasured_async(1)), 2);
    assert!(analytics_runtime::global().is_none());
    let report = analytics_runtime::report();
    assert!(!report.enabled);
    assert!(report.phases.is_empty(), "{:?}", report.phases);
    assert_eq!(report.total_executions(), 0);
    assert!(report.to_string().contains("disabled"), "{report}");
}

#[test]
fn a_scoped_runtime_works_without_a_global_one() {
    let rt = runtime();
    rt.in_scope(|| {
        unmeasured(1).unwrap();
        assert_eq!(block_on(unmeasured_async(1)), 2);
        assert!(analytics_runtime::report().enabled);
    });
    unmeasured(2).unwrap();
    let report = rt.report();
    assert_eq!(counts(&report, "unmeasured"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "unmeasured_async"), (1, 1, 0, 0, 0));
    assert!(analytics_runtime::report().phases.is_empty());
}
