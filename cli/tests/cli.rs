//! End-to-end tests of the `analytics` binary on a real report and a real snapshot, built with
//! `analytics_runtime::Runtime` and saved to temporary files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};

/// The phases the test runtime records.
const PHASES: [&str; 3] = ["load_inputs", "solve <step>", "write_results"];

/// A runtime with runs (some failing), messages and anomalies on two keys.
fn runtime() -> Runtime {
    let runtime = Runtime::new(AnalyticsConfig::default());
    for i in 0..40u64 {
        runtime.record_run(
            PHASES[0],
            Duration::from_millis(5 + i % 7),
            Outcome::Success,
        );
        let outcome = if i % 4 == 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        runtime.record_run(PHASES[1], Duration::from_millis(40 + i % 13), outcome);
        runtime.record_run(
            PHASES[2],
            Duration::from_micros(800 + 37 * i),
            Outcome::Success,
        );
        runtime.record_message("jobs.done");
    }
    let mut anomalies = 0;
    for i in 0..300u32 {
        runtime.observe("queue_depth", 40.0 + f64::from(i % 5));
        runtime.observe("latency_ms", 12.0 + f64::from(i % 3));
    }
    for spike in [400.0, 4000.0] {
        anomalies += usize::from(runtime.observe("queue_depth", spike).is_some());
        anomalies += usize::from(runtime.observe("latency_ms", spike / 10.0).is_some());
    }
    assert!(anomalies > 0, "the spikes should be anomalies");
    runtime
}

/// Saves `runtime`'s report as pretty JSON in `dir` and returns the file.
fn saved_report(dir: &Path, runtime: &Runtime) -> PathBuf {
    let path = dir.join("report.json");
    let report = runtime.report();
    assert!(!report.anomalies.recent.is_empty());
    assert!(report.phases.iter().all(|p| !p.trend.is_empty()));
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    path
}

/// Runs the binary with `args`.
fn analytics(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analytics"))
        .args(args)
        .output()
        .expect("the analytics binary runs")
}

/// The process' stdout and stderr, for assertion messages.
fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn report_prints_the_phase_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = saved_report(dir.path(), &runtime());
    let output = analytics(&["report".as_ref(), file.as_os_str()]);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("phase analytics: enabled"), "{stdout}");
    for header in ["phase", "runs", "fail%", "p50 ms", "p90 ms"] {
        assert!(stdout.contains(header), "missing {header:?} in\n{stdout}");
    }
    for phase in PHASES {
        assert!(stdout.contains(phase), "missing {phase:?} in\n{stdout}");
    }
}

#[test]
fn report_summarises_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snapshot.json");
    let stats = runtime().snapshot(&file).unwrap();
    let output = analytics(&["report".as_ref(), file.as_os_str()]);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!(
            "snapshot: {} phases, {} runs",
            stats.phases, stats.runs
        )),
        "{stdout}"
    );
    for header in ["phase", "runs", "fail", "mean ms", "p50 ms", "p90 ms"] {
        assert!(stdout.contains(header), "missing {header:?} in\n{stdout}");
    }
    // "solve <step>": 40 runs, every fourth failed.
    let solve = stdout.lines().find(|l| l.starts_with(PHASES[1])).unwrap();
    let fields: Vec<&str> = solve[PHASES[1].len()..].split_whitespace().collect();
    assert_eq!(&fields[..3], ["40", "10", "25.0%"], "{solve}");
}

#[test]
fn html_writes_one_self_contained_page_with_five_charts() {
    let dir = tempfile::tempdir().unwrap();
    let file = saved_report(dir.path(), &runtime());
    let page = dir.path().join("out.html");
    let output = analytics(&[
        "html".as_ref(),
        file.as_os_str(),
        "-o".as_ref(),
        page.as_os_str(),
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 5, "one inline SVG per chart");
    let without_xmlns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for scheme in ["http://", "https://"] {
        assert!(
            !without_xmlns.contains(scheme),
            "external reference {scheme} in the page"
        );
    }
    for phase in ["load_inputs", "solve &lt;step&gt;", "write_results"] {
        assert!(html.contains(phase), "missing {phase:?}");
    }
    assert!(!html.contains("solve <step>"), "phase names are escaped");
    for key in ["queue_depth", "latency_ms"] {
        assert!(html.contains(key), "anomaly key {key} missing");
    }
    assert!(html.contains("<table>"));
    assert!(html.contains("Failure rate and predicted failure probability over time"));
    assert!(!html.contains("no phase has a trend"));
}

/// A report saved before `phases[].trend` existed still renders: the trend chart says so.
#[test]
fn html_renders_a_report_without_trends() {
    let dir = tempfile::tempdir().unwrap();
    let file = saved_report(dir.path(), &runtime());
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    for phase in json["phases"].as_array_mut().unwrap() {
        phase.as_object_mut().unwrap().remove("trend");
    }
    std::fs::write(&file, json.to_string()).unwrap();
    let page = dir.path().join("out.html");
    let output = analytics(&[
        "html".as_ref(),
        file.as_os_str(),
        "-o".as_ref(),
        page.as_os_str(),
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<svg").count(), 5);
    assert!(html.contains("no phase has a trend in this report yet"));
}

#[test]
fn a_missing_file_exits_2_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-report.json");
    for command in ["report", "html"] {
        let output = analytics(&[command.as_ref(), missing.as_os_str()]);
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("no-such-report.json"), "{stderr}");
        assert!(stderr.contains("cannot read"), "{stderr}");
    }
}

#[test]
fn invalid_input_exits_2_and_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("garbage.json", "this is not json {", "not valid JSON"),
        (
            "other.json",
            r#"{"hello": "world"}"#,
            "not a saved analytics-runtime report",
        ),
        (
            "foreign.json",
            r#"{"format": "something-else"}"#,
            "neither a report nor",
        ),
        (
            "future.json",
            r#"{"format": "analytics-runtime-snapshot", "version": 99, "phases": []}"#,
            "version 99",
        ),
    ];
    for (name, content, why) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, content).unwrap();
        for command in ["report", "html"] {
            let output = analytics(&[command.as_ref(), file.as_os_str()]);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{name}: {}",
                describe(&output)
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains(name) && stderr.contains(why),
                "{name}: {stderr}"
            );
        }
    }
}

#[test]
fn html_refuses_a_snapshot_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snapshot.json");
    runtime().snapshot(&file).unwrap();
    let page = dir.path().join("out.html");
    let output = analytics(&[
        "html".as_ref(),
        file.as_os_str(),
        "-o".as_ref(),
        page.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is a snapshot"));
    assert!(!page.exists());
}
