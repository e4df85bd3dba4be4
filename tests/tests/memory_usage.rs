//! `memory_usage()` is honest: after a heavy workload (many phases, topics, objectives, tasks,
//! quality metrics and metric keys), the bytes it reports are within 25% of the bytes the
//! runtime really holds, measured by a counting global allocator (this file is its own
//! process). Also: every collection stops growing at its cap.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};

struct CountingAllocator;

/// Bytes allocated and not yet freed, by every thread.
static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The allocator counts every thread: the tests of this file take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn heavy_workload(rt: &Runtime, config: &AnalyticsConfig) {
    for round in 0..3_000u64 {
        let phase = format!("phase-{}", round % 150);
        let outcome = if round % 9 == 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        rt.record_run(&phase, Duration::from_micros(500 + round % 300), outcome);
        rt.record_message_bytes(&format!("topic-{}", round % 700), 100);
        rt.record_objective(
            &format!("objective-{}", round % 400),
            0.5 + (round % 5) as f64 / 10.0,
        );
        rt.record_task(
            &format!("task-{}", round % 300),
            Duration::from_millis(3),
            round % 4 != 0,
        );
        rt.record_quality(&format!("quality-{}", round % 200), round as f64);
        rt.observe(&format!("metric-{}", round % 80), (round % 17) as f64);
    }
    // More distinct names than every cap.
    let m = &config.memory;
    for i in 0..(m.max_topics + m.max_objectives + m.max_tasks) {
        rt.record_message(&format!("burst-topic-{i}"));
        rt.record_objective(&format!("burst-objective-{i}"), 0.9);
        rt.record_task(&format!("burst-task-{i}"), Duration::from_millis(1), true);
    }
    for i in 0..(m.max_phases + 50) {
        rt.record_run(
            &format!("burst-phase-{i}"),
            Duration::from_micros(10),
            Outcome::Success,
        );
    }
    for i in 0..(m.max_anomaly_keys + 50) {
        rt.observe(&format!("burst-metric-{i}"), 1.0);
    }
    rt.flush();
}

#[test]
fn memory_usage_is_within_25_percent_of_what_is_allocated_and_caps_hold() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut config = AnalyticsConfig::default();
    // Small caps so that the test crosses every one of them quickly.
    config.memory.max_phases = 200;
    config.memory.max_topics = 300;
    config.memory.max_objectives = 300;
    config.memory.max_tasks = 300;
    config.memory.max_anomaly_keys = 100;
    // No background sampling or worker-side work racing the measurement.
    config.resources.enabled = false;
    config.reporting.interval_secs = 0;

    let before = LIVE.load(Ordering::SeqCst);
    let rt = Runtime::new(config.clone());
    heavy_workload(&rt, &config);
    rt.shutdown();
    let report = rt.report();
    drop(report);
    let usage = rt.memory_usage();
    let held = LIVE.load(Ordering::SeqCst) - before;
    let reported = usage.total_bytes as i64;
    let ratio = reported as f64 / held as f64;
    println!("reported {reported} bytes, allocated {held} bytes, ratio {ratio:.3}");
    println!("{:#?}", usage.components);
    assert!(
        (0.75..=1.25).contains(&ratio),
        "memory_usage() says {reported} bytes, the allocator counts {held} (ratio {ratio:.3})"
    );

    let report = rt.report();
    assert_eq!(report.phases.len(), 201, "200 phases and `other`");
    assert!(report.runtime.phases_overflowed >= 50);
    assert_eq!(report.messages.topics.len(), 301);
    assert!(report.messages.overflowed > 0);
    assert_eq!(report.objectives.objectives.len(), 301);
    assert!(report.objectives.overflowed > 0);
    assert!(report.tasks.tasks.len() <= 301);
    assert!(report.tasks.overflowed > 0);
    let other = report.phase(analytics_runtime::OVERFLOW_PHASE).unwrap();
    assert!(other.executions >= 50);
}

#[test]
fn memory_stops_growing_at_the_caps() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut config = AnalyticsConfig::default();
    config.memory.max_phases = 50;
    config.memory.max_topics = 50;
    config.memory.max_objectives = 50;
    config.memory.max_tasks = 50;
    config.memory.max_anomaly_keys = 60;
    config.resources.enabled = false;
    let rt = Runtime::new(config.clone());
    heavy_workload(&rt, &config);
    let first = rt.memory_usage().total_bytes;
    // As many new names again: everything lands in `other`.
    heavy_workload(&rt, &config);
    for i in 0..5_000 {
        rt.record_message(&format!("late-topic-{i}"));
        rt.record_objective(&format!("late-objective-{i}"), 0.2);
    }
    rt.flush();
    let second = rt.memory_usage().total_bytes;
    println!("after the first workload {first} bytes, after the second {second} bytes");
    assert!(
        second as f64 <= first as f64 * 1.05,
        "memory grew from {first} to {second} bytes past the caps"
    );
}
