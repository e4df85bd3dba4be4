//! The snapshot read at start-up is untrusted input (issue 13, points 6 and 10): a FIFO, a
//! device or a huge file at `persistence.snapshot_path` cannot hang or exhaust `Runtime::new`;
//! what a valid file holds beyond the config's caps is skipped while parsing; a bad `version`
//! is reported as written; failed snapshot writes are counted and shown in the report.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use analytics_runtime::{AnalyticsConfig, Runtime};

/// Long enough for a slow CI machine, short enough that a hang fails the test.
const WATCHDOG: Duration = Duration::from_secs(60);

fn config(snapshot: &Path) -> AnalyticsConfig {
    let mut config = AnalyticsConfig::default();
    config.persistence.snapshot_path = Some(snapshot.to_path_buf());
    config.resources.enabled = false;
    config
}

/// `Runtime::new` on `path`, on a thread a watchdog waits for: a hang fails the test.
fn new_within_watchdog(path: &Path) -> Runtime {
    let (sender, receiver) = mpsc::channel();
    let config = config(path);
    std::thread::spawn(move || {
        let _ = sender.send(Runtime::new(config));
    });
    receiver
        .recv_timeout(WATCHDOG)
        .unwrap_or_else(|_| panic!("Runtime::new hung on {}", path.display()))
}

fn restore_error(runtime: &Runtime) -> String {
    runtime
        .report()
        .runtime
        .snapshot_error
        .expect("the snapshot was refused")
}

#[cfg(unix)]
#[test]
fn a_fifo_at_the_snapshot_path_does_not_hang_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("snapshot.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let error = restore_error(&new_within_watchdog(&fifo));
    assert!(error.contains("is a FIFO, not a regular file"), "{error}");
}

#[cfg(target_os = "linux")]
#[test]
fn dev_zero_at_the_snapshot_path_is_refused_unread() {
    let error = restore_error(&new_within_watchdog(Path::new("/dev/zero")));
    assert!(error.contains("is a character device"), "{error}");
}

#[test]
fn a_file_over_the_cap_is_refused_and_the_error_names_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    // Sparse: 20 GB that cost nothing to make, and would cost everything to read.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(20 << 30)
        .unwrap();
    let error = restore_error(&new_within_watchdog(&path));
    assert!(
        error.contains("21474836480 bytes, over the cap of"),
        "{error}"
    );
    assert!(error.contains("memory.max_phases"), "{error}");
}

/// A valid snapshot with `phases` phases of one run each.
fn many_phases(path: &Path, phases: usize) {
    let mut json = String::from(
        r#"{"format":"analytics-runtime-snapshot","version":1,"written_at":1.0,"phases":["#,
    );
    for i in 0..phases {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            r#"{{"name":"phase{i}","runs":[[1000000,"success"]]}}"#
        ));
    }
    json.push_str("]}");
    std::fs::write(path, json).unwrap();
}

#[test]
fn many_phase_names_keep_only_what_the_caps_allow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    many_phases(&path, 200_000);
    let runtime = new_within_watchdog(&path);
    let report = runtime.report();
    assert_eq!(report.runtime.snapshot_error, None);
    let max_phases = runtime.config().memory.max_phases;
    // The first `max_phases` (+ `other`) phases were kept; the 198,999 others were skipped
    // while parsing, not restored into `other`.
    assert_eq!(report.runtime.restored_runs, max_phases as u64 + 1);
    assert!(report.runtime.phases_registered <= max_phases + 1);
}

fn versioned(path: &Path, version: &str) {
    std::fs::write(
        path,
        format!(
            r#"{{"format":"analytics-runtime-snapshot","version":{version},"written_at":1.0,"phases":[]}}"#
        ),
    )
    .unwrap();
}

#[test]
fn a_bad_version_is_reported_as_written_not_as_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    for version in ["-1", "1.0", "\"1\""] {
        versioned(&path, version);
        let error = restore_error(&new_within_watchdog(&path));
        assert!(
            error.contains(&format!("has version {version};")),
            "{version}: {error}"
        );
    }
}

fn unwritable(dir: &Path) -> PathBuf {
    dir.join("no such directory").join("snapshot.json")
}

#[test]
fn failed_snapshot_writes_are_counted_and_the_last_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = unwritable(dir.path());
    let mut config = config(&path);
    config.persistence.interval_secs = 1;
    let runtime = Runtime::new(config);
    runtime.record_run(
        "build",
        Duration::from_millis(5),
        analytics_runtime::Outcome::Success,
    );
    let fresh = runtime.report().runtime;
    assert_eq!(
        (fresh.snapshot_write_errors, fresh.last_snapshot_write_error),
        (0, None)
    );
    // The periodic write, when it is due.
    std::thread::sleep(Duration::from_millis(1_100));
    runtime.flush();
    let periodic = runtime.report().runtime;
    assert!(periodic.snapshot_write_errors >= 1);
    // The final write.
    runtime.shutdown();
    let last = runtime.report().runtime;
    assert_eq!(
        last.snapshot_write_errors,
        periodic.snapshot_write_errors + 1
    );
    let error = last.last_snapshot_write_error.unwrap();
    assert!(error.contains("cannot write snapshot"), "{error}");
    assert!(error.contains("no such directory"), "{error}");
    assert_eq!(
        last.snapshot_error, None,
        "a write error is not a restore error"
    );
    assert!(
        runtime
            .report()
            .to_string()
            .contains("snapshot writes failed"),
        "the text report shows them"
    );
}

#[test]
fn a_failed_restore_is_not_a_write_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    std::fs::write(&path, b"{ not json").unwrap();
    let runtime = Runtime::new(config(&path));
    let report = runtime.report().runtime;
    assert!(report.snapshot_error.is_some());
    assert_eq!(
        (
            report.snapshot_write_errors,
            report.last_snapshot_write_error
        ),
        (0, None)
    );
}
