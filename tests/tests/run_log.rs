//! The run log under a hot writer (issue 13, points 1 and 2): while one thread records a phase
//! as fast as it can, every snapshot and every report holds a full window of whole runs, in
//! the order they ran: never a run assembled from two runs, never a later run in an older
//! one's place, never fewer runs than the log holds.
//!
//! Run `i` lasts `i + 1` ns and its outcome depends on `i`, so each run says which it is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};

/// What a stripe of the run log holds: 512 runs, or the window if larger.
const LOG_HOLDS: usize = 512;

fn outcome_of(nanos: u64) -> Outcome {
    match nanos % 3 {
        0 => Outcome::Failure,
        _ => Outcome::Success,
    }
}

fn quiet_config() -> AnalyticsConfig {
    let mut config = AnalyticsConfig::default();
    config.resources.enabled = false;
    config
}

/// Runs `check` over and over for `budget` (at least `min_rounds` times) while another thread
/// records phase `hot` as fast as it can, once the log is full. Returns the rounds made.
fn while_recording(
    rt: &Runtime,
    budget: Duration,
    min_rounds: u64,
    outcome: fn(u64) -> Outcome,
    mut check: impl FnMut(),
) -> u64 {
    let stop = AtomicBool::new(false);
    let mut rounds = 0;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                rt.record_run("hot", Duration::from_nanos(i + 1), outcome(i + 1));
                i += 1;
            }
        });
        while rt.report().phase("hot").map_or(0, |p| p.executions) < 2 * LOG_HOLDS as u64 {
            std::thread::yield_now();
        }
        let start = Instant::now();
        while rounds < min_rounds || start.elapsed() < budget {
            check();
            rounds += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    rounds
}

#[test]
fn snapshots_of_a_hot_phase_hold_every_run_the_log_holds_whole_and_in_order() {
    let rt = Runtime::new(quiet_config());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    let (mut short, mut torn, mut misplaced) = (0, 0, 0);
    let rounds = while_recording(&rt, Duration::from_secs(2), 200, outcome_of, || {
        rt.snapshot(&path).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let hot = json["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "hot")
            .expect("the hot phase is in every snapshot");
        let runs: Vec<(u64, Outcome)> = serde_json::from_value(hot["runs"].clone()).unwrap();
        short += u32::from(runs.len() < LOG_HOLDS);
        torn += runs.iter().filter(|(n, o)| *o != outcome_of(*n)).count();
        misplaced += runs.windows(2).filter(|w| w[1].0 != w[0].0 + 1).count();
    });
    assert_eq!(
        (short, torn, misplaced),
        (0, 0, 0),
        "of {rounds} snapshots, {short} held fewer than {LOG_HOLDS} runs; {torn} runs were torn \
         and {misplaced} out of place"
    );
}

#[test]
fn the_report_window_of_a_hot_phase_is_full_and_whole() {
    let mut config = quiet_config();
    // A window as large as the log itself leaves a reader the least room.
    config.anomaly.window_size = LOG_HOLDS;
    let rt = Runtime::new(config);
    let (mut short, mut torn) = (0, 0);
    let rounds = while_recording(
        &rt,
        Duration::from_millis(1500),
        200,
        |_| Outcome::Success,
        || {
            let report = rt.report();
            let hot = report.phase("hot").unwrap();
            short += u32::from(hot.window_runs < LOG_HOLDS);
            // The window is LOG_HOLDS runs in a row: their durations span LOG_HOLDS - 1 ns.
            let span_ns = (hot.duration_ms.max - hot.duration_ms.min) * 1e6;
            torn += u32::from((span_ns - (LOG_HOLDS - 1) as f64).abs() > 0.01);
        },
    );
    assert_eq!(
        (short, torn),
        (0, 0),
        "of {rounds} reports, {short} had fewer than {LOG_HOLDS} runs in the window and {torn} \
         a window that was not {LOG_HOLDS} runs in a row"
    );
}
