//! Faults inside the runtime never reach user code: with a component made to panic (feature
//! `fault-injection`), every phase returns, fails or panics exactly as it would without the
//! attribute, the fault is caught and counted against its component, a component that keeps
//! failing is switched off and reported, and the others go on with exact counts.
//!
//! Faults are armed process-wide, so the tests of this file take turns.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use analytics_runtime::faults::{self, Component, MAX_CONSECUTIVE_FAILURES};
use analytics_runtime::{AnalyticsConfig, Outcome, Runtime, analyzed_phase};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    faults::clear();
    guard
}

fn runtime() -> Runtime {
    let mut config = AnalyticsConfig::default();
    config.resources.interval_ms = 10;
    config.memory.cleanup_interval = 5;
    config.optimizer.interval = 5;
    Runtime::new(config)
}

#[analyzed_phase]
fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    input.parse()
}

#[analyzed_phase]
fn explode(message: &'static str) -> u32 {
    std::panic::panic_any(message)
}

#[test]
fn a_fault_at_registration_leaves_the_phase_result_untouched() {
    let _serial = serial();
    let rt = runtime();
    faults::inject(Component::Registry, 1);
    rt.in_scope(|| {
        assert_eq!(parse("42"), Ok(42));
        assert!(parse("x").is_err());
        let payload = std::panic::catch_unwind(|| explode("boom")).unwrap_err();
        assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "boom");
    });
    let report = rt.report();
    assert_eq!(report.runtime.errors_by_component["registry"], 1);
    assert_eq!(report.runtime.errors_caught, 1);
    // The call that hit the fault ran unmeasured; the next ones are measured.
    assert_eq!(report.phase("parse").unwrap().executions, 1);
    assert_eq!(report.phase("explode").unwrap().panics, 1);
}

#[test]
fn every_engine_component_fault_is_caught_and_counted_alone() {
    let _serial = serial();
    for component in [
        Component::Engine,
        Component::Predictive,
        Component::Anomaly,
        Component::Optimizer,
        Component::Resources,
        Component::Cleanup,
    ] {
        let rt = runtime();
        for i in 0..20u64 {
            rt.record_run("build", Duration::from_millis(5 + i % 3), Outcome::Success);
        }
        std::thread::sleep(Duration::from_millis(15));
        faults::inject(component, 1);
        for i in 0..20u64 {
            let outcome = if i % 4 == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            rt.record_run("build", Duration::from_millis(5 + i % 3), outcome);
        }
        std::thread::sleep(Duration::from_millis(15));
        rt.flush();
        let report = rt.report();
        let name = component.name();
        assert_eq!(
            report.runtime.errors_by_component.get(name),
            Some(&1),
            "{name}: {:?}",
            report.runtime.errors_by_component
        );
        assert_eq!(report.runtime.errors_caught, 1, "{name}");
        assert!(report.runtime.components_disabled.is_empty(), "{name}");
        let build = report.phase("build").unwrap();
        assert_eq!(
            (build.executions, build.failures),
            (40, 5),
            "{name}: counts are exact"
        );
        faults::clear();
    }
}

#[test]
fn monitor_reporting_and_snapshot_faults_are_caught() {
    let _serial = serial();
    let rt = runtime();
    faults::inject(Component::Monitors, 1);
    rt.record_message("orders"); // lost, counted
    rt.record_message("orders");
    faults::inject(Component::Reporting, 1);
    let degraded = rt.report();
    assert!(degraded.phases.is_empty() && degraded.messages.total == 0);
    let report = rt.report();
    assert_eq!(report.messages.total, 1);
    assert_eq!(report.runtime.errors_by_component["monitors"], 1);
    assert_eq!(report.runtime.errors_by_component["reporting"], 1);

    let dir = tempfile::tempdir().unwrap();
    faults::inject(Component::Snapshot, 1);
    let error = rt.snapshot(dir.path().join("s.json")).unwrap_err();
    assert!(
        error.to_string().contains("snapshot component failed"),
        "{error}"
    );
    assert!(rt.snapshot(dir.path().join("s.json")).is_ok());
    assert_eq!(rt.report().runtime.errors_caught, 3);
}

#[test]
fn a_component_that_keeps_failing_is_switched_off_and_the_others_go_on() {
    let _serial = serial();
    let rt = runtime();
    faults::inject(Component::Predictive, 1_000);
    let mut flushes = 0;
    for i in 0..200u64 {
        let outcome = if i % 2 == 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        rt.record_run("deploy", Duration::from_millis(3), outcome);
        if i % 10 == 0 {
            rt.flush();
            flushes += 1;
        }
    }
    faults::clear();
    let report = rt.report();
    assert!(flushes > 0);
    assert_eq!(
        report.runtime.components_disabled,
        vec!["predictive".to_string()]
    );
    assert_eq!(
        report.runtime.errors_by_component["predictive"],
        u64::from(MAX_CONSECUTIVE_FAILURES)
    );
    let deploy = report.phase("deploy").unwrap();
    assert_eq!((deploy.executions, deploy.failures), (200, 100));
    assert!(deploy.prediction.is_none(), "the predictor never got a run");
    // The anomaly detector and the optimizer went on.
    assert!(report.runtime.optimizer_runs > 0);
    assert!(report.runtime.runs_analysed == 200);
}
