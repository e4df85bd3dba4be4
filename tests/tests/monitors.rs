//! The monitors and the memory manager through the runtime: messages, objectives, tasks and
//! quality metrics in the report; the cleanup and its statistics; periodic reports written
//! atomically; the resource sampler and its clean shutdown.

use std::time::Duration;

use analytics_runtime::report::{RecommendationKind, Severity};
use analytics_runtime::{AnalyticsConfig, Outcome, Report, Runtime};

fn quiet_config() -> AnalyticsConfig {
    let mut config = AnalyticsConfig::default();
    config.resources.enabled = false;
    config.reporting.interval_secs = 0;
    config
}

#[test]
fn messages_objectives_tasks_and_quality_reach_the_report() {
    let rt = Runtime::new(quiet_config());
    for i in 0..30u32 {
        rt.record_message("orders");
        rt.record_message_bytes("payloads", 100 + u64::from(i));
        rt.record_task(
            "import",
            Duration::from_millis(10 + u64::from(i % 3)),
            i % 10 != 0,
        );
        rt.record_quality("accuracy", 0.9 + f64::from(i % 5) / 100.0);
    }
    rt.record_objective_progress("launch", 0.8, 0.25);
    rt.record_objective("launch", 0.6);
    rt.record_objective("uptime", 1.0);
    rt.record_quality("accuracy", f64::NAN);
    rt.record_objective("uptime", 1.5);
    let report = rt.report();

    assert_eq!(report.messages.total, 60);
    assert_eq!(report.messages.bytes, (100..130).sum::<u64>());
    let orders = report
        .messages
        .topics
        .iter()
        .find(|t| t.topic == "orders")
        .unwrap();
    assert_eq!(orders.count, 30);

    let launch = report
        .objectives
        .objectives
        .iter()
        .find(|o| o.name == "launch")
        .unwrap();
    assert_eq!(
        (launch.health, launch.progress, launch.updates),
        (0.6, Some(0.25), 2)
    );
    assert!((launch.mean_health - 0.7).abs() < 1e-9);
    assert_eq!(
        report.objectives.objectives[0].name, "launch",
        "least healthy first"
    );

    let import = &report.tasks.tasks[0];
    assert_eq!(
        (import.name.as_str(), import.count, import.failures),
        ("import", 30, 3)
    );
    assert!((import.success_rate - 0.9).abs() < 1e-9);
    assert!(import.duration_ms.p50 >= 10.0 && import.duration_ms.max <= 12.0);
    let accuracy = &report.tasks.quality[0];
    assert_eq!((accuracy.count, accuracy.min), (30, 0.9));
    assert!((accuracy.max - 0.94).abs() < 1e-12);
    assert_eq!(
        report.runtime.values_ignored, 2,
        "a NaN quality and a health of 1.5"
    );
}

#[test]
fn an_objective_that_stays_unhealthy_gets_a_recommendation_and_falling_health_an_anomaly() {
    let mut config = quiet_config();
    config.optimizer.interval = 10;
    let rt = Runtime::new(config);
    for _ in 0..200 {
        rt.record_objective("checkout", 0.95);
        rt.flush();
    }
    for _ in 0..5 {
        rt.record_objective("checkout", 0.1);
        rt.flush();
    }
    // The optimizer runs every 10 phase runs.
    for _ in 0..20 {
        rt.record_run("tick", Duration::from_millis(1), Outcome::Success);
    }
    let report = rt.report();
    let rec = report
        .recommendations
        .iter()
        .find(|r| r.kind == RecommendationKind::ObjectiveUnhealthy)
        .expect("a recommendation for the unhealthy objective");
    assert!(rec.message.contains("checkout"), "{}", rec.message);
    assert_eq!(rec.evidence["unhealthy_streak"], 5.0);
    let fall = report
        .anomalies
        .recent
        .iter()
        .find(|a| a.key == "checkout.health")
        .expect("the fall in health is an anomaly");
    assert_eq!(fall.value, 0.1);
    assert!(fall.severity >= Severity::Medium);
}

#[test]
fn cleanup_drops_idle_names_and_records_what_it_freed() {
    let mut config = quiet_config();
    config.memory.cleanup_interval = 10;
    config.memory.idle_timeout_secs = 1;
    let rt = Runtime::new(config);
    for i in 0..200 {
        rt.record_message(&format!("topic-{i}"));
        rt.record_objective(&format!("objective-{i}"), 0.9);
        rt.record_task(&format!("task-{i}"), Duration::from_millis(1), true);
        rt.observe(&format!("metric-{i}"), 1.0);
    }
    rt.record_run("phase", Duration::from_millis(1), Outcome::Success);
    rt.flush();
    let before = rt.memory_usage();
    std::thread::sleep(Duration::from_millis(1100));
    for _ in 0..20 {
        rt.record_run("phase", Duration::from_millis(1), Outcome::Success);
    }
    rt.flush();
    let after = rt.memory_usage();
    let cleanup = &after.cleanup;
    assert!(cleanup.runs >= 1);
    assert_eq!(cleanup.items_removed["topics"], 200);
    assert_eq!(cleanup.items_removed["objectives"], 200);
    assert_eq!(cleanup.items_removed["tasks"], 200);
    assert!(cleanup.items_removed["anomaly_keys"] >= 200);
    assert!(cleanup.bytes_freed > 0);
    assert!(cleanup.last_ms >= 0.0);
    assert!(
        after.total_bytes < before.total_bytes,
        "{} -> {}",
        before.total_bytes,
        after.total_bytes
    );
    // The live phase keeps its history.
    let report = rt.report();
    assert_eq!(report.phase("phase").unwrap().executions, 21);
    assert!(report.messages.topics.is_empty());
    assert_eq!(
        report.messages.total, 200,
        "totals keep evicted topics' messages"
    );
    assert_eq!(after.limits["idle_timeout_secs"], 1);
}

#[test]
fn periodic_reports_are_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("analytics_report.json");
    let mut config = quiet_config();
    config.reporting.interval_executions = 50;
    config.reporting.json_path = Some(path.clone());
    let rt = Runtime::new(config);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut seen = 0;
            for _ in 0..500 {
                if let Ok(bytes) = std::fs::read(&path) {
                    let report: Report =
                        serde_json::from_slice(&bytes).expect("never half a report");
                    assert!(report.enabled);
                    seen += 1;
                }
            }
            seen
        });
        for i in 0..1_000u64 {
            rt.record_run(
                "step",
                Duration::from_micros(100 + i % 50),
                Outcome::Success,
            );
            if i % 10 == 0 {
                rt.flush();
            }
        }
        let _ = reader.join().unwrap();
    });
    rt.flush();
    let report = rt.report();
    assert!(report.runtime.reports_written >= 10, "{:?}", report.runtime);
    assert_eq!(report.runtime.report_write_errors, 0);
    let written: Report = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(written.phase("step").unwrap().executions >= 950);
}

#[test]
fn the_sampler_measures_the_process_and_stops_cleanly() {
    let mut config = AnalyticsConfig::default();
    config.resources.interval_ms = 20;
    let rt = Runtime::new(config);
    // Burn some CPU inside a phase so the sampler has something to attribute.
    let deadline = std::time::Instant::now() + Duration::from_millis(300);
    while std::time::Instant::now() < deadline {
        let run = rt.start_phase("crunch");
        let mut x = 0u64;
        for i in 0..200_000u64 {
            x = x.wrapping_add(std::hint::black_box(i * i));
        }
        std::hint::black_box(x);
        run.success();
    }
    rt.flush();
    let report = rt.report();
    assert!(report.runtime.worker_running);
    assert!(report.resources.monitored);
    assert!(report.resources.samples >= 2, "{:?}", report.resources);
    assert!(report.resources.rss_mb > 1.0);
    assert!(report.resources.peak_rss_mb >= report.resources.rss_mb);
    let crunch = report
        .phase("crunch")
        .unwrap()
        .resources
        .unwrap_or_else(|| panic!("not attributed: {:?}", report.resources));
    assert!(crunch.samples >= 1);
    assert!(crunch.cpu_percent > 10.0, "{crunch:?}");

    rt.shutdown();
    let report = rt.report();
    assert!(
        !report.runtime.worker_running,
        "the worker thread was joined"
    );
    let samples = report.resources.samples;
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        rt.report().resources.samples,
        samples,
        "no sampling after shutdown"
    );
    // Recording still works after shutdown; reports still cover it.
    rt.record_run("crunch", Duration::from_millis(1), Outcome::Success);
    assert_eq!(
        rt.report().phase("crunch").unwrap().executions,
        report.phase("crunch").unwrap().executions + 1
    );
    rt.shutdown();
}
