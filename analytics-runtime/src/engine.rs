//! The engine: everything heavier than recording a run, done off the hot path.
//!
//! Phase hooks only append to each phase's lock-free run log. The engine catches up on those
//! logs, in order, from a background worker every [`TICK`] and synchronously before every
//! report ([`Engine::process`]): it feeds each completed run to the phase's predictor and its
//! duration to the anomaly detector, runs the optimizer every `optimizer.interval` runs, and
//! then (outside every lock) emits the `tracing` events and calls the user's anomaly handlers.
//! All of it runs under `catch_unwind`: a panic in an engine is counted, never propagated.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::anomaly::{AnomalyDetector, AnomalySettings, DetectorSettings};
use crate::config::AnalyticsConfig;
use crate::memory::CleanupStats;
use crate::monitors::Monitors;
use crate::monitors::resources::{ProcessSampler, ResourceTracker};
use crate::optimizer::{self, OptimizerThresholds, ResourceUsage};
use crate::outcome::Outcome;
use crate::phase::PhaseCell;
use crate::predictive::{AccuracyParts, PhasePredictor, PredictorSettings};
use crate::report::{
    AnomaliesReport, Anomaly, CleanupReport, Pattern, Prediction, PredictionsReport,
    Recommendation, ResourcesReport, Severity,
};
use crate::run_log::Run;

/// How often message rates are computed (and fed to the anomaly detector).
const RATE_INTERVAL: Duration = Duration::from_secs(1);
/// Anomaly-detector key of the process's resident memory, in MB.
const RSS_KEY: &str = "process.rss_mb";
/// Anomaly-detector key of the process's CPU use, in percent.
const CPU_KEY: &str = "process.cpu_percent";

/// How often the background worker catches up.
pub(crate) const TICK: Duration = Duration::from_millis(25);

/// A user's anomaly handler and the least severity it wants.
struct Handler {
    min: Severity,
    f: Arc<dyn Fn(&Anomaly) + Send + Sync>,
}

/// Engine state of one phase.
struct PhaseEngine {
    /// Runs of the phase's log already read.
    consumed: u64,
    predictor: PhasePredictor,
    /// The anomaly detector's key for this phase's durations.
    key: Box<str>,
    /// Total time of the phase's runs: every run read, plus runs the log lapped before they
    /// were read, counted at the mean of the runs read with them.
    total_nanos: f64,
}

struct EngineState {
    /// Indexed by phase id.
    phases: Vec<PhaseEngine>,
    anomalies: AnomalyDetector,
    recommendations: Vec<Recommendation>,
    /// Runs read from the logs (every outcome).
    analysed: u64,
    /// Runs the logs lapped before the engine read them.
    lost: u64,
    next_optimizer_at: u64,
    optimizer_runs: u64,
    scratch: Vec<Run>,
    /// Per phase id: nanoseconds of runs read since the last resource sample (what the sample
    /// is attributed by).
    busy: Vec<u64>,
    busy_list: Vec<(usize, u64)>,
    resources: ResourceTracker,
    /// Created on the worker at the first sample (`None` also when the platform gives nothing).
    sampler: Option<ProcessSampler>,
    sampler_tried: bool,
    last_sample: Option<Instant>,
    last_rates: Instant,
    /// Scratch for metric values read from the monitors (message rates, objective health).
    metrics: Vec<(String, f64)>,
    /// Whether memory and CPU are currently above their thresholds (warned once per crossing).
    memory_high: bool,
    cpu_high: bool,
    cleanup: CleanupStats,
    next_cleanup_at: u64,
}

/// What one catch-up produced that must leave the lock before it is acted on.
#[derive(Default)]
struct Outbox {
    anomalies: Vec<Anomaly>,
    high_risk: Vec<(Box<str>, Prediction)>,
    /// Resource thresholds crossed: (what, value, threshold).
    crossed: Vec<(&'static str, f64, f64)>,
}

/// The engines of one runtime.
pub(crate) struct Engine {
    state: Mutex<EngineState>,
    handlers: RwLock<Vec<Handler>>,
    handler_panics: AtomicU64,
    /// Dropping the sender wakes the worker and tells it to stop; the handle joins it.
    worker: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

/// Figures about the engine itself, for the report's `runtime` section.
pub(crate) struct EngineHealth {
    pub(crate) runs_analysed: u64,
    pub(crate) runs_not_analysed: u64,
    pub(crate) handler_panics: u64,
    pub(crate) optimizer_runs: u64,
    pub(crate) values_ignored: u64,
}

impl Engine {
    pub(crate) fn new(config: &AnalyticsConfig) -> Engine {
        Engine {
            state: Mutex::new(EngineState {
                phases: Vec::new(),
                anomalies: AnomalyDetector::new(anomaly_settings(config)),
                recommendations: Vec::new(),
                analysed: 0,
                lost: 0,
                next_optimizer_at: config.optimizer.interval.max(1),
                optimizer_runs: 0,
                scratch: Vec::new(),
                busy: Vec::new(),
                busy_list: Vec::new(),
                resources: ResourceTracker::new(Duration::from_millis(
                    config.resources.interval_ms,
                )),
                sampler: None,
                sampler_tried: false,
                last_sample: None,
                last_rates: Instant::now(),
                metrics: Vec::new(),
                memory_high: false,
                cpu_high: false,
                cleanup: CleanupStats::default(),
                next_cleanup_at: config.memory.cleanup_interval.max(1),
            }),
            handlers: RwLock::new(Vec::new()),
            handler_panics: AtomicU64::new(0),
            worker: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, EngineState> {
        // A panic inside an engine is caught while the lock is held; the state it leaves is
        // still usable (at worst one run is half-applied), so the poison is cleared.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Catches up on every phase's runs and the objectives' health updates. Returns false if
    /// an engine panicked (the panic is caught; the caller counts it).
    pub(crate) fn process(
        &self,
        phases: &[Arc<PhaseCell>],
        config: &AnalyticsConfig,
        monitors: &Monitors,
    ) -> bool {
        let outbox = catch_unwind(AssertUnwindSafe(|| self.catch_up(phases, config, monitors)));
        match outbox {
            Ok(outbox) => {
                self.deliver(outbox, config);
                true
            }
            Err(_) => false,
        }
    }

    fn catch_up(
        &self,
        phases: &[Arc<PhaseCell>],
        config: &AnalyticsConfig,
        monitors: &Monitors,
    ) -> Outbox {
        let mut outbox = Outbox::default();
        let predictive = config.predictive.enabled;
        let anomaly = config.anomaly.enabled;
        let settings = PredictorSettings {
            min_history: config.predictive.min_history,
            confidence_threshold: config.predictive.confidence_threshold,
        };
        let mut guard = self.lock();
        let state = &mut *guard;
        for phase in phases {
            let id = phase.id();
            while state.phases.len() <= id {
                state.phases.push(PhaseEngine {
                    consumed: 0,
                    predictor: PhasePredictor::new(&settings),
                    key: "".into(),
                    total_nanos: 0.0,
                });
            }
            let Some(engine) = state.phases.get_mut(id) else {
                continue;
            };
            if engine.key.is_empty() {
                engine.key = format!("{}.duration_ms", phase.name()).into();
            }
            let lost = phase
                .log()
                .read_since(&mut engine.consumed, &mut state.scratch);
            state.lost += lost;
            state.analysed += state.scratch.len() as u64;
            let read_nanos: f64 = state.scratch.iter().map(|run| run.nanos as f64).sum();
            engine.total_nanos += read_nanos;
            if lost > 0 && !state.scratch.is_empty() {
                engine.total_nanos += lost as f64 * read_nanos / state.scratch.len() as f64;
            }
            // Time spent in the phase since the last resource sample: what the sample is
            // attributed by.
            if state.busy.len() <= id {
                state.busy.resize(id + 1, 0);
            }
            if let Some(busy) = state.busy.get_mut(id) {
                *busy = state
                    .scratch
                    .iter()
                    .fold(*busy, |sum, run| sum.saturating_add(run.nanos));
            }
            for run in &state.scratch {
                // A cancelled run was cut short: its duration and outcome say nothing about
                // how the phase behaves when it runs to the end.
                if run.outcome == Outcome::Cancelled {
                    continue;
                }
                let ms = run.nanos as f64 / 1e6;
                if predictive {
                    let scored = engine.predictor.observe(ms, run.outcome.is_failure());
                    if scored.became_high_risk {
                        if let Some(prediction) = engine.predictor.prediction() {
                            outbox.high_risk.push((phase.name().into(), prediction));
                        }
                    }
                }
                if anomaly {
                    if let Some(found) = state.anomalies.observe(&engine.key, ms) {
                        outbox.anomalies.push(found);
                    }
                }
            }
        }
        // Falling objective health is an anomaly like any other value.
        monitors.objectives.drain(&mut state.metrics);
        if anomaly {
            for (key, health) in &state.metrics {
                if let Some(found) = state.anomalies.observe(key, *health) {
                    outbox.anomalies.push(found);
                }
            }
        }
        if config.optimizer.enabled && state.analysed >= state.next_optimizer_at {
            let interval = config.optimizer.interval.max(1);
            state.next_optimizer_at = (state.analysed / interval + 1) * interval;
            state.optimizer_runs += 1;
            let reports: Vec<_> = phases
                .iter()
                .map(|p| {
                    let mut report = p.report();
                    report.total_ms = state
                        .phases
                        .get(p.id())
                        .map_or(0.0, |e| e.total_nanos / 1e6);
                    report
                })
                .collect();
            let usage = state.resources.latest().map(|s| ResourceUsage {
                rss_mb: s.rss_bytes as f64 / (1024.0 * 1024.0),
                cpu_percent: s.cpu_percent,
            });
            let mut recommendations = optimizer::recommend(
                &reports,
                &OptimizerThresholds {
                    phase_slow_s: config.thresholds.phase_slow,
                    memory_high_mb: config.thresholds.memory_high,
                    cpu_high_pct: config.thresholds.cpu_high,
                },
                usage.as_ref(),
            );
            recommendations.extend(monitors.objectives.recommendations());
            optimizer::sort(&mut recommendations);
            state.recommendations = recommendations;
        }
        outbox
    }

    /// The timed work of the background worker: a resource sample every
    /// `resources.interval_ms`, message rates every second, and the memory manager's cleanup
    /// every `memory.cleanup_interval` runs. Returns false if it panicked (caught).
    pub(crate) fn maintain(
        &self,
        now: Instant,
        config: &AnalyticsConfig,
        monitors: &Monitors,
    ) -> bool {
        let outbox = catch_unwind(AssertUnwindSafe(|| {
            let mut outbox = Outbox::default();
            let mut guard = self.lock();
            let state = &mut *guard;
            if config.resources.enabled {
                sample_resources(state, now, config, &mut outbox);
            }
            if now.saturating_duration_since(state.last_rates) >= RATE_INTERVAL {
                state.last_rates = now;
                monitors.messages.close_interval(now, &mut state.metrics);
                if config.anomaly.enabled {
                    for (key, rate) in &state.metrics {
                        if let Some(found) = state.anomalies.observe(key, *rate) {
                            outbox.anomalies.push(found);
                        }
                    }
                }
            }
            if state.analysed >= state.next_cleanup_at {
                let every = config.memory.cleanup_interval.max(1);
                state.next_cleanup_at = (state.analysed / every + 1) * every;
                cleanup(state, now, config, monitors);
            }
            outbox
        }));
        match outbox {
            Ok(outbox) => {
                self.deliver(outbox, config);
                true
            }
            Err(_) => false,
        }
    }

    /// Emits what a catch-up found, outside the engine lock.
    fn deliver(&self, outbox: Outbox, config: &AnalyticsConfig) {
        for (what, value, threshold) in &outbox.crossed {
            tracing::warn!(
                target: "analytics_runtime::resources",
                resource = *what,
                value = *value,
                threshold = *threshold,
                "process {what} is {value:.1}, above the threshold {threshold:.1}"
            );
        }
        for (phase, p) in &outbox.high_risk {
            tracing::warn!(
                target: "analytics_runtime::predictive",
                phase = &**phase,
                failure_probability = p.failure_probability,
                threshold = config.predictive.confidence_threshold,
                expected_ms = p.expected_ms,
                p90_ms = p.p90_ms,
                confidence = p.confidence,
                based_on = p.based_on,
                "high-risk prediction: phase `{phase}` is likely to fail ({:.0}%)",
                p.failure_probability * 100.0
            );
        }
        for anomaly in &outbox.anomalies {
            self.announce(anomaly);
        }
    }

    /// Logs an anomaly and calls the handlers that want it, outside every lock.
    fn announce(&self, anomaly: &Anomaly) {
        if anomaly.severity >= Severity::High {
            tracing::warn!(
                target: "analytics_runtime::anomaly",
                key = anomaly.key.as_str(),
                value = anomaly.value,
                z_score = anomaly.z_score,
                score = anomaly.score,
                severity = %anomaly.severity,
                "anomaly on `{}`", anomaly.key
            );
        } else {
            tracing::info!(
                target: "analytics_runtime::anomaly",
                key = anomaly.key.as_str(),
                value = anomaly.value,
                z_score = anomaly.z_score,
                score = anomaly.score,
                severity = %anomaly.severity,
                "anomaly on `{}`", anomaly.key
            );
        }
        // Clone the handlers out so none runs under the lock (a handler may register another).
        let handlers: Vec<_> = self
            .handlers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|h| anomaly.severity >= h.min)
            .map(|h| Arc::clone(&h.f))
            .collect();
        for handler in handlers {
            if catch_unwind(AssertUnwindSafe(|| handler(anomaly))).is_err() {
                self.handler_panics.fetch_add(1, Relaxed);
            }
        }
    }

    /// Registers a handler for anomalies of at least `min` severity.
    pub(crate) fn on_anomaly(&self, min: Severity, f: Arc<dyn Fn(&Anomaly) + Send + Sync>) {
        self.handlers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Handler { min, f });
    }

    /// Feeds one value of a user's metric to the anomaly detector.
    pub(crate) fn observe(&self, key: &str, value: f64) -> Option<Anomaly> {
        let found = catch_unwind(AssertUnwindSafe(|| {
            self.lock().anomalies.observe(key, value)
        }))
        .ok()
        .flatten();
        if let Some(anomaly) = &found {
            self.announce(anomaly);
        }
        found
    }

    /// Fills in what the engines know of phase `id`: its prediction and their accuracy, its
    /// total time and its resources.
    pub(crate) fn complete(&self, id: usize, report: &mut crate::report::PhaseReport) {
        let state = self.lock();
        if let Some(engine) = state.phases.get(id) {
            report.prediction = engine.predictor.prediction();
            report.prediction_accuracy = engine.predictor.accuracy_parts().finish();
            report.total_ms = engine.total_nanos / 1e6;
        }
        report.resources = state.resources.phase(id);
    }

    /// The `resources` section of the report.
    pub(crate) fn resources(&self, monitored: bool) -> ResourcesReport {
        self.lock().resources.report(monitored)
    }

    /// The memory manager's cleanup statistics.
    pub(crate) fn cleanup_report(&self) -> CleanupReport {
        self.lock().cleanup.report()
    }

    /// The report sections the engines own.
    pub(crate) fn sections(
        &self,
    ) -> (
        PredictionsReport,
        AnomaliesReport,
        Vec<Pattern>,
        Vec<Recommendation>,
    ) {
        let state = self.lock();
        let mut parts = AccuracyParts::default();
        let (mut made, mut high_risk) = (0, 0);
        for engine in &state.phases {
            parts.merge(&engine.predictor.accuracy_parts());
            made += engine.predictor.made();
            high_risk += engine.predictor.high_risk();
        }
        (
            PredictionsReport {
                made,
                high_risk,
                accuracy: parts.finish(),
            },
            state.anomalies.summary(),
            state.anomalies.patterns().cloned().collect(),
            state.recommendations.clone(),
        )
    }

    /// Figures about the engine itself.
    pub(crate) fn health(&self) -> EngineHealth {
        let state = self.lock();
        EngineHealth {
            runs_analysed: state.analysed,
            runs_not_analysed: state.lost,
            handler_panics: self.handler_panics.load(Relaxed),
            optimizer_runs: state.optimizer_runs,
            values_ignored: state.anomalies.ignored()
                + state
                    .phases
                    .iter()
                    .map(|e| e.predictor.ignored_durations())
                    .sum::<u64>(),
        }
    }

    /// Bytes the engines hold, by component (capacities, not lengths).
    pub(crate) fn heap_bytes(&self) -> [(&'static str, usize); 4] {
        let state = self.lock();
        let predictive = state.phases.capacity() * std::mem::size_of::<PhaseEngine>()
            + state.phases.iter().map(|e| e.key.len()).sum::<usize>()
            + state.scratch.capacity() * std::mem::size_of::<Run>()
            + state.busy.capacity() * std::mem::size_of::<u64>()
            + state.busy_list.capacity() * std::mem::size_of::<(usize, u64)>();
        let optimizer = state.recommendations.capacity() * std::mem::size_of::<Recommendation>()
            + state
                .recommendations
                .iter()
                .map(|r| {
                    r.message.capacity()
                        + r.phase.as_ref().map_or(0, String::capacity)
                        // A BTreeMap leaf node holds up to 11 entries: about 400 bytes.
                        + r.evidence.len().div_ceil(11) * 400
                        + r.evidence.keys().map(String::capacity).sum::<usize>()
                })
                .sum::<usize>();
        let metrics = state.metrics.capacity() * std::mem::size_of::<(String, f64)>()
            + state
                .metrics
                .iter()
                .map(|(k, _)| k.capacity())
                .sum::<usize>();
        [
            ("predictive", predictive),
            ("anomaly", state.anomalies.heap_bytes() + metrics),
            ("optimizer", optimizer),
            ("resources", state.resources.heap_bytes()),
        ]
    }

    /// Starts the background worker once: every [`TICK`] it upgrades `target` and calls
    /// `work` on it; it stops when `target` is gone or [`Engine::stop_worker`] is called.
    pub(crate) fn start_worker<T: Send + Sync + 'static>(
        &self,
        target: Weak<T>,
        work: fn(&Arc<T>),
    ) -> std::io::Result<()> {
        let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if worker.is_some() {
            return Ok(());
        }
        let (sender, receiver) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("analytics-engine".into())
            .spawn(move || {
                loop {
                    match receiver.recv_timeout(TICK) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    let Some(target) = target.upgrade() else {
                        return;
                    };
                    work(&target);
                }
            })?;
        *worker = Some((sender, handle));
        Ok(())
    }

    /// Stops the worker and waits for it to finish the tick it is in. Returns whether a worker
    /// was running. Never called from the worker itself (it would wait for itself).
    pub(crate) fn stop_worker(&self) -> bool {
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match worker {
            Some((sender, handle)) => {
                drop(sender);
                if handle.thread().id() != std::thread::current().id() {
                    let _ = handle.join();
                }
                true
            }
            None => false,
        }
    }

    /// Whether the background worker runs.
    pub(crate) fn worker_running(&self) -> bool {
        self.worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|(_, handle)| !handle.is_finished())
    }
}

/// Takes a resource sample if one is due, attributes it to the phases that ran since the last
/// one, and feeds it to the anomaly detector.
fn sample_resources(
    state: &mut EngineState,
    now: Instant,
    config: &AnalyticsConfig,
    outbox: &mut Outbox,
) {
    let interval = Duration::from_millis(config.resources.interval_ms);
    if state
        .last_sample
        .is_some_and(|last| now.saturating_duration_since(last) < interval)
    {
        return;
    }
    if !state.sampler_tried {
        state.sampler_tried = true;
        state.sampler = ProcessSampler::new();
    }
    let Some(sample) = state.sampler.as_mut().and_then(ProcessSampler::sample) else {
        return;
    };
    let elapsed = state
        .last_sample
        .map_or(interval, |last| now.saturating_duration_since(last));
    state.last_sample = Some(now);
    state.busy_list.clear();
    for (id, busy) in state.busy.iter_mut().enumerate() {
        if *busy > 0 {
            state.busy_list.push((id, *busy));
            *busy = 0;
        }
    }
    state.resources.record(sample, elapsed, &state.busy_list);
    let rss_mb = sample.rss_bytes as f64 / (1024.0 * 1024.0);
    if config.anomaly.enabled {
        for (key, value) in [(RSS_KEY, rss_mb), (CPU_KEY, sample.cpu_percent)] {
            if let Some(found) = state.anomalies.observe(key, value) {
                outbox.anomalies.push(found);
            }
        }
    }
    let memory_high = rss_mb > config.thresholds.memory_high;
    if memory_high && !state.memory_high {
        outbox
            .crossed
            .push(("memory (MB)", rss_mb, config.thresholds.memory_high));
    }
    state.memory_high = memory_high;
    let cpu_high = sample.cpu_percent > config.thresholds.cpu_high;
    if cpu_high && !state.cpu_high {
        outbox
            .crossed
            .push(("CPU (%)", sample.cpu_percent, config.thresholds.cpu_high));
    }
    state.cpu_high = cpu_high;
}

/// One pass of the memory manager: drops the names that stayed idle past
/// `memory.idle_timeout_secs` (topics, objectives, tasks, quality metrics, anomaly keys of
/// anything but a live phase), gives back spare capacity, and records what it freed.
fn cleanup(state: &mut EngineState, now: Instant, config: &AnalyticsConfig, monitors: &Monitors) {
    let started = Instant::now();
    let before = state.anomalies.heap_bytes()
        + state.resources.heap_bytes()
        + monitors.messages.heap_bytes()
        + monitors.objectives.heap_bytes()
        + monitors.tasks.heap_bytes();
    let mut removed = Vec::with_capacity(5);
    if config.memory.idle_timeout_secs > 0 {
        let idle = Duration::from_secs(config.memory.idle_timeout_secs);
        let live: std::collections::HashSet<&str> = state.phases.iter().map(|e| &*e.key).collect();
        let keys = state
            .anomalies
            .evict_idle(now, idle, |key| live.contains(key));
        removed.push(("anomaly_keys", keys));
        removed.push(("topics", monitors.messages.evict_idle(now, idle)));
        removed.push(("objectives", monitors.objectives.evict_idle(now, idle)));
        removed.push(("tasks", monitors.tasks.evict_idle(now, idle)));
    }
    let resource_phases = state
        .resources
        .forget_phases_above(config.memory.max_phases.saturating_add(1));
    removed.push(("resource_phases", resource_phases));
    // Anomalies and patterns are capped as they arrive; give back what a config change or a
    // burst left spare.
    state.anomalies.shrink();
    state.metrics.shrink_to_fit();
    monitors.messages.shrink();
    monitors.objectives.shrink();
    monitors.tasks.shrink();
    let after = state.anomalies.heap_bytes()
        + state.resources.heap_bytes()
        + monitors.messages.heap_bytes()
        + monitors.objectives.heap_bytes()
        + monitors.tasks.heap_bytes();
    state
        .cleanup
        .record_pass(&removed, before.saturating_sub(after), started.elapsed());
}

/// The anomaly detector's settings from the config.
pub(crate) fn anomaly_settings(config: &AnalyticsConfig) -> AnomalySettings {
    AnomalySettings {
        detector: DetectorSettings {
            window_size: config.anomaly.window_size.max(2),
            z_score_threshold: config.anomaly.z_score_threshold,
            ..DetectorSettings::default()
        },
        z_score_threshold: config.anomaly.z_score_threshold,
        score_threshold: config.anomaly.score_threshold,
        max_keys: config.memory.max_anomaly_keys,
        max_anomalies: config.memory.max_anomalies,
        max_patterns: config.memory.max_patterns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Message rates are computed once a second from the monitors' table; a topic that goes
    /// silent, or bursts, is an anomaly. Driven with synthetic instants, one per second.
    #[test]
    fn a_silent_topic_and_a_bursting_topic_are_anomalies() {
        let mut config = AnalyticsConfig::default();
        config.resources.enabled = false;
        let engine = Engine::new(&config);
        let monitors = Monitors::new(&config);
        let start = Instant::now();
        let mut second = 0u64;
        let mut tick = |messages: &[(&str, u32)]| {
            for (topic, n) in messages {
                for _ in 0..*n {
                    monitors.messages.record(topic, None);
                }
            }
            second += 1;
            engine.maintain(start + Duration::from_secs(second), &config, &monitors);
        };
        for i in 0..300 {
            tick(&[("heartbeats", 20 + i % 3), ("orders", 50 + i % 5)]);
        }
        let before = engine.lock().anomalies.total();
        tick(&[("heartbeats", 0), ("orders", 52)]);
        tick(&[("heartbeats", 0), ("orders", 2_000)]);
        let state = engine.lock();
        let found: Vec<_> = state
            .anomalies
            .recent()
            .skip(before as usize)
            .map(|a| (a.key.as_str(), a.value))
            .collect();
        assert!(
            found.contains(&("heartbeats.messages_per_s", 0.0)),
            "silence: {found:?}"
        );
        assert!(
            found
                .iter()
                .any(|(k, v)| *k == "orders.messages_per_s" && *v > 1_000.0),
            "burst: {found:?}"
        );
    }
}
