//! The value-level `Runtime`: a disabled config records nothing, scoped runtimes nest and are
//! restored (also after a panic), `set_default` is the guard form of `in_scope`, clones share
//! state, the duration window follows the config, and the manual `Runtime::start_phase` API
//! records every outcome. The global runtime is never initialised in this process.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use analytics_runtime::{AnalyticsConfig, Outcome, Runtime, analyzed_phase};
use common::{counts, runtime};

#[analyzed_phase]
fn work(x: u32) -> Result<u32, String> {
    if x == 0 { Err("zero".into()) } else { Ok(x) }
}

#[analyzed_phase]
fn other_work() {}

fn disabled_config() -> AnalyticsConfig {
    AnalyticsConfig {
        enabled: false,
        ..AnalyticsConfig::default()
    }
}

#[test]
fn a_disabled_runtime_records_nothing() {
    let rt = Runtime::new(disabled_config());
    assert!(!rt.is_enabled());
    let results = rt.in_scope(|| (work(1), work(0)));
    assert_eq!(results, (Ok(1), Err("zero".to_string())));
    let manual = rt.start_phase("manual");
    assert!(!manual.is_active());
    manual.success();
    let report = rt.report();
    assert!(!report.enabled);
    assert!(report.phases.is_empty(), "{:?}", report.phases);
    assert_eq!(report.total_executions(), 0);
    assert_eq!(report.runtime.phases_registered, 0);
}

#[test]
fn a_disabled_inner_scope_hides_phases_from_the_outer_one() {
    let outer = runtime();
    let disabled = Runtime::new(disabled_config());
    outer.in_scope(|| {
        work(1).unwrap();
        disabled.in_scope(|| work(2).unwrap());
        work(3).unwrap();
    });
    assert_eq!(counts(&outer.report(), "work"), (2, 2, 0, 0, 0));
    assert!(disabled.report().phases.is_empty());
}

#[test]
fn scopes_nest_and_restore() {
    let outer = runtime();
    let inner = runtime();
    outer.in_scope(|| {
        work(1).unwrap();
        inner.in_scope(|| {
            work(0).unwrap_err();
            other_work();
            // `report()` reads the runtime in scope.
            assert_eq!(
                counts(&analytics_runtime::report(), "work"),
                (1, 0, 1, 0, 0)
            );
        });
        work(2).unwrap();
        other_work();
        assert_eq!(
            counts(&analytics_runtime::report(), "work"),
            (2, 2, 0, 0, 0)
        );
    });
    let (o, i) = (outer.report(), inner.report());
    assert_eq!(counts(&o, "work"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&o, "other_work"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&i, "work"), (1, 0, 1, 0, 0));
    assert_eq!(counts(&i, "other_work"), (1, 1, 0, 0, 0));
    // Outside every scope, nothing is recorded (no global runtime in this process).
    work(5).unwrap();
    assert_eq!(counts(&outer.report(), "work"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&inner.report(), "work"), (1, 0, 1, 0, 0));
}

#[test]
fn a_scope_is_restored_after_a_panic() {
    let outer = runtime();
    let inner = runtime();
    outer.in_scope(|| {
        let caught = catch_unwind(AssertUnwindSafe(|| {
            inner.in_scope(|| {
                work(1).unwrap();
                panic!("inside the inner scope");
            })
        }));
        assert!(caught.is_err());
        work(2).unwrap();
    });
    assert_eq!(counts(&outer.report(), "work"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&inner.report(), "work"), (1, 1, 0, 0, 0));
}

#[test]
fn the_same_runtime_can_be_entered_twice() {
    let rt = runtime();
    rt.in_scope(|| {
        work(1).unwrap();
        rt.in_scope(|| work(2).unwrap());
        work(3).unwrap();
    });
    assert_eq!(counts(&rt.report(), "work"), (3, 3, 0, 0, 0));
}

#[test]
fn set_default_is_the_guard_form_of_in_scope() {
    let outer = runtime();
    let inner = runtime();
    let outer_guard = outer.set_default();
    work(1).unwrap();
    {
        let _inner_guard = inner.set_default();
        work(0).unwrap_err();
    }
    work(2).unwrap();
    drop(outer_guard);
    work(3).unwrap();
    assert_eq!(counts(&outer.report(), "work"), (2, 2, 0, 0, 0));
    assert_eq!(counts(&inner.report(), "work"), (1, 0, 1, 0, 0));
}

#[test]
fn clones_share_their_state() {
    let rt = runtime();
    let clone = rt.clone();
    clone.in_scope(|| work(1).unwrap());
    rt.in_scope(|| work(0).unwrap_err());
    assert_eq!(counts(&rt.report(), "work"), (2, 1, 1, 0, 0));
    assert_eq!(rt.report().phases, clone.report().phases);
}

#[test]
fn the_duration_window_follows_the_config() {
    let mut config = AnalyticsConfig::default();
    config.anomaly.window_size = 3;
    let rt = Runtime::try_new(config).expect("a window of 3 is valid");
    rt.in_scope(|| {
        for x in 0..5 {
            let _ = work(x);
        }
    });
    let report = rt.report();
    assert_eq!(counts(&report, "work"), (5, 4, 1, 0, 0));
    let work = report.phase("work").unwrap();
    assert_eq!(work.window_runs, 3);
    assert!(work.duration_ms.min <= work.duration_ms.p50);
    assert!(work.duration_ms.p50 <= work.duration_ms.max);
    assert!(work.total_ms >= work.duration_ms.max);
}

#[test]
fn try_new_refuses_an_invalid_config_that_new_clamps() {
    let mut config = AnalyticsConfig::default();
    config.anomaly.window_size = 0;
    let err = Runtime::try_new(config.clone()).expect_err("window_size 0 is invalid");
    assert!(err.to_string().contains("anomaly.window_size"), "{err}");
    let rt = Runtime::new(config);
    rt.in_scope(|| {
        for x in 1..=4 {
            work(x).unwrap();
        }
    });
    let report = rt.report();
    assert_eq!(counts(&report, "work"), (4, 4, 0, 0, 0));
    assert_eq!(report.phase("work").unwrap().window_runs, 2);
}

#[test]
fn start_phase_records_every_outcome() {
    let rt = runtime();
    let run = rt.start_phase("deploy");
    assert!(run.is_active());
    run.finish(Outcome::Success);
    rt.start_phase("deploy").success();
    rt.start_phase("deploy").failure();
    rt.start_phase("deploy").finish(Outcome::Failure);
    rt.start_phase("deploy").finish(Outcome::Panic);
    rt.start_phase("deploy").finish(Outcome::Cancelled);
    drop(rt.start_phase("deploy"));
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        let _run = rt.start_phase("deploy");
        panic!("the manual phase panics");
    }));
    assert!(unwound.is_err());
    let report = rt.report();
    // success x2, failure x2, panic x2 (finish(Panic) and the unwinding drop), cancelled x2
    // (finish(Cancelled) and the plain drop).
    assert_eq!(counts(&report, "deploy"), (8, 2, 4, 2, 2));
}

#[test]
fn start_phase_shares_the_phase_of_an_annotated_fn_and_reports_its_caller() {
    let rt = runtime();
    let line = line!() + 1;
    rt.start_phase("manual_first").success();
    rt.in_scope(|| work(1).unwrap());
    rt.start_phase("work").failure();
    let report = rt.report();
    assert_eq!(counts(&report, "work"), (2, 1, 1, 0, 0));
    let site = report.phase("manual_first").unwrap().site.clone().unwrap();
    assert_eq!(site.file, file!());
    assert_eq!(site.line, line);
    // Phases are reported in the order they first ran.
    let names: Vec<&str> = report.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["manual_first", "work"]);
    assert_eq!(report.runtime.phases_registered, 2);
    assert_eq!(report.total_executions(), 3);
}

#[test]
fn start_phase_does_not_need_a_scope_and_ignores_it() {
    let rt = runtime();
    let other = runtime();
    other.in_scope(|| rt.start_phase("manual").success());
    assert_eq!(counts(&rt.report(), "manual"), (1, 1, 0, 0, 0));
    assert!(other.report().phases.is_empty());
}
