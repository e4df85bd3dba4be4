//! Load: 8 threads calling annotated phases at full speed (16 phases, and all on one phase),
//! while other threads keep calling `report()` and `flush()` (engine catch-up, cleanup,
//! sampling), end with exact counts and no deadlock. Uses the global runtime (its own process).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use analytics_runtime::{AnalyticsConfig, analyzed_phase};

const THREADS: u64 = 8;
const CALLS: u64 = 1_000_000;

/// A family of 16 phases sharing one body, chosen by `which`.
macro_rules! sixteen {
    ($($name:ident)*) => {
        $(
            #[analyzed_phase]
            fn $name(i: u64) -> Result<u64, u64> {
                if i % 10 == 0 { Err(i) } else { Ok(i) }
            }
        )*
        const PHASES: [fn(u64) -> Result<u64, u64>; 16] = [$($name),*];
        const NAMES: [&str; 16] = [$(stringify!($name)),*];
    };
}

sixteen!(l00 l01 l02 l03 l04 l05 l06 l07 l08 l09 l10 l11 l12 l13 l14 l15);

#[analyzed_phase]
fn shared(i: u64) -> Result<u64, u64> {
    if i % 4 == 0 { Err(i) } else { Ok(i) }
}

#[analyzed_phase]
fn sometimes_panics(i: u64) -> u64 {
    assert!(i % 1000 != 7, "injected panic");
    i
}

#[test]
fn eight_threads_with_reports_cleanup_and_sampling_running_give_exact_counts() {
    let mut config = AnalyticsConfig::default();
    config.resources.interval_ms = 10;
    config.memory.cleanup_interval = 10_000;
    config.optimizer.interval = 5_000;
    config.reporting.interval_executions = 50_000;
    analytics_runtime::init(config).unwrap();
    std::panic::set_hook(Box::new(|_| {}));

    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Readers and the engine's work, concurrently with the writers.
        for _ in 0..2 {
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    let report = analytics_runtime::report();
                    for p in &report.phases {
                        assert_eq!(p.successes + p.failures + p.cancelled, p.executions);
                    }
                    analytics_runtime::global().unwrap().flush();
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
        }
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    for i in 0..CALLS {
                        let _ = PHASES[((i + t) % 16) as usize](i);
                        let _ = shared(i);
                        if i % 100 == 0 {
                            let _ = std::panic::catch_unwind(|| sometimes_panics(i / 100));
                        }
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    let _ = std::panic::take_hook();

    analytics_runtime::shutdown();
    let report = analytics_runtime::report();
    let per_phase = THREADS * CALLS / 16;
    for name in NAMES {
        let p = report.phase(name).unwrap();
        assert_eq!(p.executions, per_phase, "{name}");
        // i % 10 == 0 fails: the calls of each phase cover every residue equally.
        assert_eq!(p.failures, per_phase / 10, "{name}");
        assert_eq!(p.successes, per_phase - per_phase / 10, "{name}");
        assert_eq!(p.panics, 0);
    }
    let shared = report.phase("shared").unwrap();
    assert_eq!(shared.executions, THREADS * CALLS);
    assert_eq!(shared.failures, THREADS * CALLS / 4);
    let panicky = report.phase("sometimes_panics").unwrap();
    let calls = THREADS * CALLS / 100;
    // Each thread calls it with k = 0, 1, ... CALLS / 100 - 1; k % 1000 == 7 panics.
    let panics = THREADS * (0..CALLS / 100).filter(|k| k % 1000 == 7).count() as u64;
    assert_eq!(panicky.executions, calls);
    assert_eq!((panicky.failures, panicky.panics), (panics, panics));
    assert_eq!(report.runtime.errors_caught, 0);
    assert!(report.runtime.optimizer_runs > 0);
    assert!(report.memory.cleanup.runs > 0);
    assert!(!report.runtime.worker_running);
}
