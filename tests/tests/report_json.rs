//! The report of a real run: its JSON has every field of DESIGN.md's "Report JSON" contract
//! (top level, per phase, nested `duration_ms`, `prediction: null` before enough history), the
//! values agree with the counts, it round-trips through serde_json (as a `Value` and as text),
//! and `Display` has one row per phase.

mod common;

use std::future::Future;
use std::panic::catch_unwind;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use analytics_runtime::{Report, analyzed_phase};
use common::{counts, runtime};
use serde_json::Value;

#[analyzed_phase(name = "build")]
fn build(x: u32) -> Result<u32, String> {
    match x {
        0 => Err("zero".into()),
        1 => panic!("one"),
        _ => Ok(x),
    }
}

#[analyzed_phase]
async fn deploy() {
    Pending.await;
}

/// Never ready: a `deploy` run can only be cancelled.
struct Pending;

impl Future for Pending {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// A report with two phases: `build` (2 successes, 1 failure, 1 panic) and `deploy`
/// (1 cancelled run).
fn real_report() -> Report {
    let rt = runtime();
    rt.in_scope(|| {
        build(2).unwrap();
        build(3).unwrap();
        build(0).unwrap_err();
        catch_unwind(|| build(1)).unwrap_err();
        let mut fut = Box::pin(deploy());
        let poll = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert!(poll.is_pending());
    });
    let report = rt.report();
    assert_eq!(counts(&report, "build"), (4, 2, 2, 1, 0));
    assert_eq!(counts(&report, "deploy"), (1, 0, 0, 0, 1));
    report
}

#[test]
fn json_has_every_contract_field() {
    let report = real_report();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["enabled"], Value::Bool(true));
    assert!(json["uptime_s"].as_f64().unwrap() >= 0.0);
    for key in [
        "predictions",
        "anomalies",
        "resources",
        "messages",
        "objectives",
        "memory",
    ] {
        assert!(
            json[key].is_object(),
            "`{key}` is not an object: {}",
            json[key]
        );
    }
    assert!(json["runtime"].is_object());
    for key in ["patterns", "recommendations"] {
        assert!(
            json[key].is_array(),
            "`{key}` is not an array: {}",
            json[key]
        );
    }
    let phases = json["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2);

    let build = &phases[0];
    assert_eq!(build["name"], "build");
    assert_eq!(build["executions"], 4);
    assert_eq!(build["successes"], 2);
    assert_eq!(build["failures"], 2);
    assert_eq!(build["panics"], 1);
    assert_eq!(build["cancelled"], 0);
    assert_eq!(build["failure_rate"], 0.5);
    // Fewer runs than `predictive.min_history` (10): no prediction yet.
    assert_eq!(build["prediction"], Value::Null);
    let duration = build["duration_ms"].as_object().unwrap();
    let mut previous = 0.0;
    for key in ["min", "p50", "p90", "p99", "max"] {
        let value = duration
            .get(key)
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("duration_ms.{key} missing or not a number"));
        assert!(
            value >= previous,
            "duration_ms.{key} = {value} < {previous}"
        );
        previous = value;
    }
    let mean = duration.get("mean").and_then(Value::as_f64).unwrap();
    assert!(duration["min"].as_f64().unwrap() <= mean && mean <= previous);

    let deploy = &phases[1];
    assert_eq!(deploy["name"], "deploy");
    assert_eq!(
        (
            &deploy["executions"],
            &deploy["successes"],
            &deploy["failures"],
            &deploy["panics"],
            &deploy["cancelled"],
        ),
        (
            &Value::from(1),
            &Value::from(0),
            &Value::from(0),
            &Value::from(0),
            &Value::from(1)
        )
    );
    assert_eq!(deploy["failure_rate"], 0.0);
    assert_eq!(deploy["prediction"], Value::Null);
    for key in ["mean", "min", "max", "p50", "p90", "p99"] {
        assert_eq!(
            deploy["duration_ms"][key], 0.0,
            "a cancelled run has no duration"
        );
    }
}

#[test]
fn json_round_trips_as_a_value() {
    let report = real_report();
    let value = serde_json::to_value(&report).unwrap();
    let back: Report = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(back, report);
    assert_eq!(serde_json::to_value(&back).unwrap(), value);
}

#[test]
fn json_round_trips_as_text_structurally() {
    let report = real_report();
    let text = serde_json::to_string_pretty(&report).unwrap();
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back.phases.len(), report.phases.len());
    for (b, r) in back.phases.iter().zip(&report.phases) {
        assert_eq!(
            (
                &b.name,
                b.executions,
                b.successes,
                b.failures,
                b.panics,
                b.cancelled
            ),
            (
                &r.name,
                r.executions,
                r.successes,
                r.failures,
                r.panics,
                r.cancelled
            )
        );
        assert_eq!(b.site, r.site);
        let close = |x: f64, y: f64| (x - y).abs() <= f64::EPSILON * x.abs().max(1.0);
        assert!(close(b.duration_ms.mean, r.duration_ms.mean));
        assert!(close(b.duration_ms.max, r.duration_ms.max));
    }
    assert_eq!(back.enabled, report.enabled);
    assert_eq!(back.runtime, report.runtime);
    assert_eq!(back.memory, report.memory);
}

#[test]
fn json_round_trips_as_text_exactly() {
    let mut report = real_report();
    // A value whose shortest representation needs 17 digits, as durations and uptimes do.
    report.uptime_s = 12.136_600_997_408_099;
    let text = serde_json::to_string(&report).unwrap();
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back.uptime_s, report.uptime_s);
    assert_eq!(back, report);
}

#[test]
fn display_has_a_row_per_phase() {
    let report = real_report();
    let text = report.to_string();
    for phase in &report.phases {
        let rows: Vec<&str> = text
            .lines()
            .filter(|line| line.split_whitespace().next() == Some(phase.name.as_str()))
            .collect();
        assert_eq!(rows.len(), 1, "one row for {}:\n{text}", phase.name);
        let columns: Vec<&str> = rows[0].split_whitespace().collect();
        assert_eq!(columns[1], phase.executions.to_string(), "{}", rows[0]);
    }
}
