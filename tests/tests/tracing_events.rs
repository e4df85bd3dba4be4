//! The runtime's `tracing` events, as a subscriber sees them: high-risk predictions, anomalies,
//! resource thresholds, periodic summaries, snapshots, switched-off components and `init` are
//! events on the documented targets and levels, with structured fields that carry the values.
//!
//! One capturing layer is installed as the process's global default (events come from the
//! engine's worker thread too, where a thread-local default would miss them). Tests run in
//! parallel and share the capture, so each one picks its events by a phase, key or path of its
//! own. Faults and snapshots take turns: fault injection is armed process-wide.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use analytics_runtime::faults::{self, Component, MAX_CONSECUTIVE_FAILURES};
use analytics_runtime::report::Severity;
use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};
use tracing::field::{Field, Visit};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// How long a test waits for an event the background worker emits before it fails.
const DEADLINE: Duration = Duration::from_secs(5);

/// Every `(target, level)` the README's table of `tracing` events documents, read from the
/// README itself so that the test and the documentation cannot drift apart.
fn documented() -> &'static [(String, Level)] {
    static TABLE: OnceLock<Vec<(String, Level)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let readme = include_str!("../../README.md");
        let table: Vec<(String, Level)> = readme
            .lines()
            .filter_map(|line| {
                let mut cells = line.strip_prefix("| `analytics_runtime")?.split('|');
                let target = format!(
                    "analytics_runtime{}",
                    cells.next()?.trim().trim_end_matches('`')
                );
                Some((target, cells.next()?.to_owned()))
            })
            .flat_map(|(target, levels)| {
                [
                    ("error", Level::ERROR),
                    ("warn", Level::WARN),
                    ("info", Level::INFO),
                    ("debug", Level::DEBUG),
                ]
                .into_iter()
                .filter(move |(word, _)| levels.contains(word))
                .map(move |(_, level)| (target.clone(), level))
            })
            .collect();
        assert!(
            table.len() >= 9,
            "the README's table of tracing events was not found: {table:?}"
        );
        table
    })
}

/// One captured event.
#[derive(Debug, Clone)]
struct Captured {
    target: String,
    level: Level,
    module_path: Option<String>,
    thread: ThreadId,
    /// Field name → value: strings as they are, numbers and booleans in `Display` form,
    /// anything else (`%x`, `?x`, the message) as the subscriber formats it.
    fields: BTreeMap<String, String>,
}

impl Captured {
    fn field(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .unwrap_or_else(|| panic!("no field `{name}` in {self:#?}"))
    }

    fn number(&self, name: &str) -> f64 {
        let text = self.field(name);
        text.parse()
            .unwrap_or_else(|_| panic!("field `{name}` = {text:?} is not a number in {self:#?}"))
    }

    fn is(&self, target: &str) -> bool {
        self.target == target
    }

    fn has(&self, name: &str, value: &str) -> bool {
        self.fields.get(name).is_some_and(|v| v == value)
    }
}

/// Records every field of an event as a string.
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        self.0.insert(field.name().to_string(), value);
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.to_string());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

/// The layer that captures every event into [`store`].
struct Capture;

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let captured = Captured {
            target: meta.target().to_string(),
            level: *meta.level(),
            module_path: meta.module_path().map(str::to_string),
            thread: thread::current().id(),
            fields: fields.0,
        };
        store()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(captured);
    }
}

fn store() -> &'static Mutex<Vec<Captured>> {
    static EVENTS: OnceLock<Mutex<Vec<Captured>>> = OnceLock::new();
    EVENTS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Installs the capturing layer as the global default, once for this test binary.
fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Capture);
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
    });
}

/// Every event captured so far.
fn events() -> Vec<Captured> {
    store()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The events captured so far that match `pick`.
fn matching(pick: impl Fn(&Captured) -> bool) -> Vec<Captured> {
    events().into_iter().filter(|e| pick(e)).collect()
}

/// The first event that matches `pick`, waiting up to [`DEADLINE`] for it (events from the
/// worker thread arrive on its schedule); fails with everything captured on the way.
fn wait_for(what: &str, pick: impl Fn(&Captured) -> bool) -> Captured {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = matching(&pick).into_iter().next() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {DEADLINE:?}; captured: {:#?}",
            events()
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Checks every event the runtime emitted so far: its target is `analytics_runtime` or below,
/// and its target and level are in the documented table. Returns how many there were.
fn check_runtime_events() -> usize {
    let runtime_events = matching(|e| {
        e.module_path
            .as_deref()
            .is_some_and(|m| m.starts_with("analytics_runtime"))
    });
    for event in &runtime_events {
        assert!(
            event.target.starts_with("analytics_runtime"),
            "an event of the runtime outside its targets: {event:#?}"
        );
        assert!(
            documented()
                .iter()
                .any(|(target, level)| event.is(target) && event.level == *level),
            "an undocumented target or level: {event:#?}"
        );
        assert!(
            event.fields.contains_key("message"),
            "an event without a message: {event:#?}"
        );
    }
    runtime_events.len()
}

/// A runtime with the given config whose resource sampler is off, so that only what the test
/// does makes events (unless the test turns the sampler back on).
fn runtime_with(edit: impl FnOnce(&mut AnalyticsConfig)) -> Runtime {
    let mut config = AnalyticsConfig::default();
    config.resources.enabled = false;
    edit(&mut config);
    Runtime::new(config)
}

/// Tests that write or restore snapshots, or arm faults (process-wide), take turns.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    faults::clear();
    guard
}

#[test]
fn a_phase_that_keeps_failing_is_a_high_risk_warning() {
    capture();
    const PHASE: &str = "tracing_events.predictive.deploy";
    let rt = runtime_with(|c| c.predictive.confidence_threshold = 0.6);
    let min_history = rt.config().predictive.min_history;
    for i in 0..5u64 {
        rt.record_run(PHASE, Duration::from_millis(20 + i), Outcome::Success);
    }
    for i in 0..30u64 {
        rt.record_run(PHASE, Duration::from_millis(20 + i % 5), Outcome::Failure);
    }
    rt.flush();

    let event = wait_for("high-risk prediction", |e| {
        e.is("analytics_runtime::predictive") && e.has("phase", PHASE)
    });
    assert_eq!(event.level, Level::WARN, "{event:#?}");
    let threshold = event.number("threshold");
    assert_eq!(threshold, 0.6, "the configured threshold: {event:#?}");
    let probability = event.number("failure_probability");
    assert!(
        (threshold..=1.0).contains(&probability),
        "failure_probability {probability} below the threshold {threshold}"
    );
    let based_on = event.number("based_on");
    assert!(
        based_on >= min_history as f64 && based_on <= 35.0,
        "based_on {based_on}: {event:#?}"
    );
    let confidence = event.number("confidence");
    assert!((0.0..=1.0).contains(&confidence), "{event:#?}");
    let (expected, p90) = (event.number("expected_ms"), event.number("p90_ms"));
    assert!(
        expected > 0.0 && expected.is_finite() && p90.is_finite(),
        "{event:#?}"
    );
    assert!(event.field("message").contains(PHASE), "{event:#?}");

    // Logged when the phase becomes high-risk, not again at every failing run after that.
    rt.flush();
    let report = rt.report();
    let prediction = report.phase(PHASE).unwrap().prediction.unwrap();
    assert!(
        prediction.failure_probability >= threshold,
        "{prediction:?}"
    );
    let warnings = matching(|e| e.is("analytics_runtime::predictive") && e.has("phase", PHASE));
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    rt.shutdown();
    check_runtime_events();
}

#[test]
fn a_phase_that_succeeds_is_never_a_high_risk_warning() {
    capture();
    const PHASE: &str = "tracing_events.predictive.healthy";
    let rt = runtime_with(|_| {});
    for i in 0..40u64 {
        rt.record_run(PHASE, Duration::from_millis(20 + i % 3), Outcome::Success);
    }
    rt.flush();
    let report = rt.report();
    assert_eq!(report.phase(PHASE).unwrap().executions, 40);
    rt.shutdown();
    let warnings = matching(|e| e.is("analytics_runtime::predictive") && e.has("phase", PHASE));
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
fn an_outlier_is_an_anomaly_event_with_its_value_and_severity() {
    capture();
    const KEY: &str = "tracing_events.anomaly.queue_depth";
    let rt = runtime_with(|_| {});
    for i in 0..300 {
        assert!(rt.observe(KEY, 40.0 + f64::from(i % 5)).is_none());
    }
    let anomaly = rt
        .observe(KEY, 4000.0)
        .expect("4000 after 40..=44 is an anomaly");

    // `observe` logs on the caller's thread, before it returns.
    let on_key = matching(|e| e.is("analytics_runtime::anomaly") && e.has("key", KEY));
    assert_eq!(on_key.len(), 1, "{on_key:#?}");
    let event = &on_key[0];
    assert_eq!(event.thread, thread::current().id());
    assert_eq!(event.number("value"), 4000.0);
    assert_eq!(event.field("severity"), anomaly.severity.to_string());
    assert_eq!(event.number("z_score"), anomaly.z_score);
    assert_eq!(event.number("score"), anomaly.score);
    assert!(anomaly.severity >= Severity::High, "{anomaly:?}");
    assert!(
        ["high", "critical"].contains(&event.field("severity")),
        "{event:#?}"
    );
    assert_eq!(event.level, Level::WARN, "high and critical are warnings");
    assert!(event.field("message").contains(KEY), "{event:#?}");
    assert_eq!(rt.report().anomalies.total, 1);
    rt.shutdown();
    check_runtime_events();
}

#[test]
fn anomaly_levels_follow_severity() {
    capture();
    const KEY: &str = "tracing_events.anomaly.latency";
    let rt = runtime_with(|_| {});
    let mut found = Vec::new();
    // A stable series with steps of growing size: some anomalies, of several severities.
    for step in 0..12 {
        for i in 0..60 {
            let value = 100.0 + f64::from(step * step * 10) + f64::from(i % 7);
            found.extend(rt.observe(KEY, value));
        }
    }
    // And one spike far past everything seen: a high or critical score.
    found.extend(rt.observe(KEY, 1e5));
    assert!(!found.is_empty(), "level shifts make anomalies");

    let on_key = matching(|e| e.is("analytics_runtime::anomaly") && e.has("key", KEY));
    assert_eq!(
        on_key.len(),
        found.len(),
        "one event per anomaly: {on_key:#?}"
    );
    // This series makes low and medium anomalies (info) and high ones (warnings).
    assert!(on_key.iter().any(|e| e.level == Level::INFO), "{on_key:#?}");
    assert!(on_key.iter().any(|e| e.level == Level::WARN), "{on_key:#?}");
    for (event, anomaly) in on_key.iter().zip(&found) {
        assert_eq!(event.field("severity"), anomaly.severity.to_string());
        assert_eq!(event.number("value"), anomaly.value);
        let expected = if anomaly.severity >= Severity::High {
            Level::WARN
        } else {
            Level::INFO
        };
        assert_eq!(event.level, expected, "{event:#?}");
    }
    rt.shutdown();
    check_runtime_events();
}

#[test]
fn a_periodic_report_every_execution_is_an_info_summary() {
    capture();
    const PHASE: &str = "tracing_events.report.by_count";
    // The smallest count interval: a summary at every tick that saw a new run.
    let rt = runtime_with(|c| {
        c.reporting.interval_executions = 1;
        c.reporting.interval_secs = 0;
    });
    for i in 0..20u64 {
        let outcome = if i % 5 == 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        rt.record_run(PHASE, Duration::from_millis(5), outcome);
    }
    // The worker may have reported part of the runs already; a flush reports the rest.
    rt.flush();
    let event = wait_for("periodic report of 20 runs", |e| {
        e.is("analytics_runtime::report") && e.has("executions", "20") && e.has("phases", "1")
    });
    assert_eq!(event.level, Level::INFO, "{event:#?}");
    assert_eq!(event.number("failures"), 4.0, "{event:#?}");
    for field in [
        "high_risk",
        "anomalies",
        "recommendations",
        "rss_mb",
        "memory_bytes",
    ] {
        assert!(event.number(field) >= 0.0, "{field}: {event:#?}");
    }
    assert!(
        event.fields.contains_key("top_recommendation"),
        "{event:#?}"
    );
    assert!(
        event
            .field("message")
            .contains("20 executions over 1 phases"),
        "{event:#?}"
    );
    rt.shutdown();
    check_runtime_events();
}

#[test]
fn a_periodic_report_by_time_comes_from_the_worker_thread() {
    capture();
    // The smallest time interval, one second; no count trigger.
    let rt = runtime_with(|c| {
        c.reporting.interval_executions = 0;
        c.reporting.interval_secs = 1;
    });
    for phase in ["a", "b", "c"] {
        let name = format!("tracing_events.report.by_time.{phase}");
        for _ in 0..7 {
            rt.record_run(&name, Duration::from_millis(3), Outcome::Success);
        }
    }
    // No flush: only the background worker can emit it.
    // Reports repeat every second, so one covers all 21 runs even if this thread was slow.
    let event = wait_for("periodic report after a second", |e| {
        e.is("analytics_runtime::report") && e.has("phases", "3") && e.has("executions", "21")
    });
    assert_eq!(event.level, Level::INFO, "{event:#?}");
    assert_eq!(event.number("failures"), 0.0, "{event:#?}");
    assert_ne!(
        event.thread,
        thread::current().id(),
        "emitted by the worker"
    );
    rt.shutdown();
    check_runtime_events();
}

#[test]
fn a_report_file_that_cannot_be_written_is_a_report_warning() {
    capture();
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("not_a_dir");
    std::fs::write(&not_a_dir, b"a file").unwrap();
    let path = not_a_dir.join("report.json");
    let rt = {
        let path = path.clone();
        runtime_with(move |c| {
            c.reporting.interval_executions = 1;
            c.reporting.interval_secs = 0;
            c.reporting.json_path = Some(path);
        })
    };
    rt.record_run(
        "tracing_events.report.unwritable",
        Duration::from_millis(1),
        Outcome::Success,
    );
    rt.flush();
    let shown = path.display().to_string();
    let event = wait_for("report write warning", |e| {
        e.is("analytics_runtime::report") && e.has("path", &shown)
    });
    assert_eq!(event.level, Level::WARN, "{event:#?}");
    assert!(!event.field("error").is_empty(), "{event:#?}");
    assert!(!path.exists());
    rt.shutdown();
    check_runtime_events();
}

#[test]
fn a_memory_threshold_crossed_is_a_resources_warning() {
    capture();
    // A threshold no process stays under, and one no other test uses.
    const THRESHOLD: f64 = 0.125;
    let rt = runtime_with(|c| {
        c.resources.enabled = true;
        c.resources.interval_ms = 10;
        c.thresholds.memory_high = THRESHOLD;
    });
    rt.record_run(
        "tracing_events.resources",
        Duration::from_millis(1),
        Outcome::Success,
    );
    rt.flush();
    let event = wait_for("memory threshold warning", |e| {
        e.is("analytics_runtime::resources") && e.has("threshold", &THRESHOLD.to_string())
    });
    assert_eq!(event.level, Level::WARN, "{event:#?}");
    assert_eq!(event.field("resource"), "memory (MB)");
    assert!(event.number("value") > THRESHOLD, "{event:#?}");
    rt.shutdown();
    check_runtime_events();
}

/// A runtime whose configured snapshot is `path`.
fn with_snapshot(path: &Path) -> Runtime {
    let path = path.to_path_buf();
    runtime_with(move |c| {
        c.persistence.snapshot_path = Some(path);
        c.persistence.interval_secs = 0;
    })
}

#[test]
fn snapshots_restored_or_not_are_crate_events() {
    capture();
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();

    // Restored: info with the path and what came back.
    let good = dir.path().join("good.json");
    let before = runtime_with(|_| {});
    for _ in 0..12 {
        before.record_run(
            "tracing_events.snapshot",
            Duration::from_millis(2),
            Outcome::Success,
        );
    }
    before.snapshot(&good).unwrap();
    before.shutdown();
    let after = with_snapshot(&good);
    let shown = good.display().to_string();
    let restored = matching(|e| e.is("analytics_runtime") && e.has("path", &shown));
    assert_eq!(restored.len(), 1, "{restored:#?}");
    assert_eq!(restored[0].level, Level::INFO);
    assert_eq!(restored[0].number("phases"), 1.0);
    assert_eq!(restored[0].number("runs"), 12.0);
    after.shutdown();

    // Corrupt: a warning whose error names the file; the runtime starts empty.
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, b"{ not json").unwrap();
    let rt = with_snapshot(&corrupt);
    let shown = corrupt.display().to_string();
    let warned = matching(|e| {
        e.is("analytics_runtime") && e.fields.get("error").is_some_and(|s| s.contains(&shown))
    });
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert_eq!(warned[0].level, Level::WARN);
    assert!(warned[0].field("message").contains("cannot restore"));
    assert!(rt.report().runtime.snapshot_error.is_some());
    rt.shutdown();

    // Unwritable at shutdown: a warning.
    let not_a_dir = dir.path().join("not_a_dir");
    std::fs::write(&not_a_dir, b"a file").unwrap();
    let unwritable = not_a_dir.join("snapshot.json");
    let rt = with_snapshot(&unwritable);
    rt.record_run(
        "tracing_events.snapshot",
        Duration::from_millis(2),
        Outcome::Success,
    );
    rt.shutdown();
    let shown = unwritable.display().to_string();
    let warned = matching(|e| {
        e.is("analytics_runtime") && e.fields.get("error").is_some_and(|s| s.contains(&shown))
    });
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert_eq!(warned[0].level, Level::WARN);
    assert!(warned[0].field("message").contains("final snapshot"));
    check_runtime_events();
}

#[test]
fn a_component_switched_off_is_an_error() {
    capture();
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    let rt = runtime_with(|_| {});
    rt.record_run(
        "tracing_events.faults",
        Duration::from_millis(2),
        Outcome::Success,
    );
    let errors_before = matching(|e| e.level == Level::ERROR && e.has("component", "snapshot"));
    faults::inject(Component::Snapshot, MAX_CONSECUTIVE_FAILURES);
    for _ in 0..MAX_CONSECUTIVE_FAILURES {
        assert!(rt.snapshot(&path).is_err());
    }
    faults::clear();
    let errors = matching(|e| e.level == Level::ERROR && e.has("component", "snapshot"));
    assert_eq!(errors.len(), errors_before.len() + 1, "{errors:#?}");
    let event = errors.last().unwrap();
    assert!(event.is("analytics_runtime"), "{event:#?}");
    assert_eq!(
        event.number("failures"),
        f64::from(MAX_CONSECUTIVE_FAILURES)
    );
    assert!(event.field("message").contains("switched off"));
    rt.shutdown();
    check_runtime_events();
}

#[test]
fn init_is_a_debug_event() {
    capture();
    // The global runtime, with nothing that runs in the background.
    let mut config = AnalyticsConfig::default();
    config.predictive.enabled = false;
    config.anomaly.enabled = false;
    config.optimizer.enabled = false;
    config.resources.enabled = false;
    config.reporting.interval_secs = 0;
    analytics_runtime::init(config).unwrap();
    let inits = matching(|e| {
        e.is("analytics_runtime")
            && e.fields
                .get("message")
                .is_some_and(|m| m.contains("initialised"))
    });
    assert_eq!(inits.len(), 1, "{inits:#?}");
    assert_eq!(inits[0].level, Level::DEBUG);
    assert_eq!(inits[0].field("enabled"), "true");
    check_runtime_events();
}

#[test]
fn every_runtime_event_is_on_a_documented_target() {
    capture();
    const PHASE: &str = "tracing_events.sanity";
    let rt = runtime_with(|c| c.reporting.interval_executions = 10);
    // Two phases from the first report on (the other report tests have one or three).
    for _ in 0..5 {
        rt.record_run(
            "tracing_events.sanity.ok",
            Duration::from_millis(1),
            Outcome::Success,
        );
    }
    for i in 0..40u64 {
        let outcome = if i < 5 {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        rt.record_run(PHASE, Duration::from_millis(10 + i % 4), outcome);
    }
    for i in 0..200 {
        rt.observe("tracing_events.sanity.depth", f64::from(10 + i % 3));
    }
    rt.observe("tracing_events.sanity.depth", 1e6);
    rt.flush();
    let _ = rt.report();
    rt.shutdown();
    let count = check_runtime_events();
    assert!(count >= 3, "a prediction, an anomaly and a report at least");
    let targets: std::collections::BTreeSet<String> =
        events().into_iter().map(|e| e.target).collect();
    assert!(
        targets.contains("analytics_runtime::predictive")
            && targets.contains("analytics_runtime::anomaly")
            && targets.contains("analytics_runtime::report"),
        "{targets:?}"
    );
}
