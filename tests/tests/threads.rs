//! Concurrency: many threads recording into one shared `Runtime` (a clone entered with
//! `in_scope` on each thread, since scopes are thread-local) give exact counts; a thread does
//! not inherit its parent's scope; runtimes used in parallel stay isolated.

mod common;

use std::thread;

use analytics_runtime::analyzed_phase;
use common::{counts, runtime};

const THREADS: u64 = 4;
const CALLS: u64 = 10_000;

#[analyzed_phase]
fn checked(i: u64) -> Result<u64, String> {
    if i % 10 == 0 {
        Err(format!("{i} is a multiple of 10"))
    } else {
        Ok(i)
    }
}

#[analyzed_phase]
fn counted(sum: &mut u64, i: u64) {
    *sum += i;
}

#[test]
fn four_threads_ten_thousand_calls_two_phases_exact_counts() {
    let rt = runtime();
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let rt = rt.clone();
            thread::spawn(move || {
                rt.in_scope(|| {
                    let mut sum = 0;
                    let mut failures = 0;
                    for i in 0..CALLS {
                        if checked(i).is_err() {
                            failures += 1;
                        }
                        counted(&mut sum, i);
                    }
                    (sum, failures)
                })
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(
            handle.join().unwrap(),
            (CALLS * (CALLS - 1) / 2, CALLS / 10)
        );
    }
    let report = rt.report();
    let total = THREADS * CALLS;
    assert_eq!(
        counts(&report, "checked"),
        (total, total - total / 10, total / 10, 0, 0)
    );
    assert_eq!(counts(&report, "counted"), (total, total, 0, 0, 0));
    assert_eq!(report.phases.len(), 2);
    assert_eq!(report.total_executions(), 2 * total);
    let checked = report.phase("checked").unwrap();
    assert_eq!(checked.failure_rate, 0.1);
    assert_eq!(checked.window_runs, 100, "the default window_size");
}

#[test]
fn a_spawned_thread_does_not_inherit_the_scope() {
    let rt = runtime();
    rt.in_scope(|| {
        let joined = thread::spawn(|| checked(1)).join().unwrap();
        assert_eq!(joined, Ok(1));
        checked(0).unwrap_err();
    });
    assert_eq!(counts(&rt.report(), "checked"), (1, 0, 1, 0, 0));
}

#[test]
fn runtimes_used_in_parallel_stay_isolated() {
    let runtimes: Vec<_> = (0..THREADS).map(|_| runtime()).collect();
    thread::scope(|s| {
        for (n, rt) in runtimes.iter().enumerate() {
            s.spawn(move || {
                rt.in_scope(|| {
                    for i in 0..(n as u64 + 1) * 1_000 {
                        let _ = checked(i);
                    }
                });
            });
        }
    });
    for (n, rt) in runtimes.iter().enumerate() {
        let calls = (n as u64 + 1) * 1_000;
        assert_eq!(
            counts(&rt.report(), "checked"),
            (calls, calls - calls / 10, calls / 10, 0, 0),
            "runtime {n}"
        );
    }
}
