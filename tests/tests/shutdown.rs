//! `shutdown()` against concurrent recorders (issue 13, point 4): once `shutdown()` has
//! returned, no background worker runs, ever, whatever other threads keep recording.
//!
//! Before the fix, a recorder that had checked "not stopped" just before `shutdown()` started
//! a fresh worker just after it returned (23 of 300 rounds).

use std::sync::{Arc, Barrier};
use std::thread;

use analytics_runtime::{AnalyticsConfig, Runtime};

const ROUNDS: usize = 300;
const RECORDERS: usize = 4;

#[test]
fn no_worker_runs_after_shutdown_returns_while_recorders_go_on() {
    let mut late_workers = Vec::new();
    for round in 0..ROUNDS {
        let runtime = Runtime::new(AnalyticsConfig::default());
        let start = Arc::new(Barrier::new(RECORDERS + 1));
        let recorders: Vec<_> = (0..RECORDERS)
            .map(|_| {
                let runtime = runtime.clone();
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..200 {
                        runtime.record_message("orders");
                    }
                })
            })
            .collect();
        start.wait();
        runtime.shutdown();
        for recorder in recorders {
            recorder.join().unwrap();
        }
        // Every recorder has finished: a worker running now was started after shutdown().
        let report = runtime.report();
        if report.runtime.worker_running {
            late_workers.push(round);
        }
        // Recording went on working after shutdown.
        assert_eq!(report.messages.total, (RECORDERS * 200) as u64);
    }
    assert!(
        late_workers.is_empty(),
        "a worker ran after shutdown() returned in {} of {ROUNDS} rounds: {late_workers:?}",
        late_workers.len()
    );
}
