//! The engine: everything heavier than recording a run, done off the hot path.
//!
//! Phase hooks only append to each phase's lock-free run log. The engine catches up on those
//! logs, in order, from a background worker every [`TICK`](worker::TICK) and synchronously
//! before every report ([`Engine::process`]): it feeds each completed run to the phase's
//! predictor and its duration to the anomaly detector, runs the optimizer every
//! `optimizer.interval` runs, and then (outside every lock) emits the `tracing` events and calls
//! the user's anomaly handlers. Each component's work runs through `faults::Components`: a
//! panic in an engine is
//! counted, never propagated.
//!
//! * [`worker`]: the background thread.
//! * [`maintenance`]: the timed work the worker does besides catching up (resource samples,
//!   message rates, the memory manager's cleanup).

mod maintenance;
mod trend;
mod worker;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use self::trend::Trend;
use crate::anomaly::{AnomalyDetector, AnomalySettings, DetectorSettings};
use crate::config::AnalyticsConfig;
use crate::faults::{Component, Components};
use crate::histogram::Buckets;
use crate::memory::CleanupStats;
use crate::monitors::Monitors;
use crate::monitors::resources::{ProcessSampler, ResourceTracker};
use crate::optimizer::{self, OptimizerThresholds, ResourceUsage};
use crate::outcome::Outcome;
use crate::phase::PhaseCell;
use crate::predictive::{AccuracyParts, PhasePredictor, PredictorSettings};
use crate::report::{
    AnomaliesReport, Anomaly, CleanupReport, Pattern, PhaseReport, Prediction, PredictionsReport,
    Recommendation, ResourcesReport, Severity,
};
use crate::run_log::{Cursor, Run};

/// A user's anomaly handler and the least severity it wants.
struct Handler {
    min: Severity,
    f: Arc<dyn Fn(&Anomaly) + Send + Sync>,
}

/// Engine state of one phase.
struct PhaseEngine {
    /// Runs of the phase's log already read.
    consumed: Cursor,
    predictor: PhasePredictor,
    /// The anomaly detector's key for this phase's durations.
    key: Box<str>,
    /// Total time of the phase's runs: every run read, plus runs the log lapped before they
    /// were read, counted at the mean of the runs read with them.
    total_nanos: f64,
    /// Runs restored from a snapshot, kept (at most `memory.max_history_size`) only so that
    /// the next snapshot still holds them while this process has few runs of its own.
    restored: Vec<Run>,
    /// Failure rate and prediction over the phase's history.
    trend: Trend,
    /// Every run read, bucketed by duration (`export.duration_buckets`).
    histogram: Buckets,
}

/// The engine state of `phase`, created on first use.
fn phase_engine<'a>(
    engines: &'a mut Vec<PhaseEngine>,
    phase: &PhaseCell,
    settings: &PredictorSettings,
    buckets: &Buckets,
) -> &'a mut PhaseEngine {
    let id = phase.id();
    while engines.len() <= id {
        engines.push(PhaseEngine {
            consumed: Cursor::default(),
            predictor: PhasePredictor::new(settings),
            key: "".into(),
            total_nanos: 0.0,
            restored: Vec::new(),
            trend: Trend::default(),
            histogram: buckets.clone(),
        });
    }
    let engine = &mut engines[id];
    if engine.key.is_empty() {
        engine.key = format!("{}.duration_ms", phase.name()).into();
    }
    engine
}

/// The predictor's settings from the config.
fn predictor_settings(config: &AnalyticsConfig) -> PredictorSettings {
    PredictorSettings {
        min_history: config.predictive.min_history,
        confidence_threshold: config.predictive.confidence_threshold,
    }
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
    /// Empty duration buckets, copied for each new phase.
    buckets: Buckets,
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
    /// The background worker, and whether it was stopped for good.
    worker: Mutex<worker::WorkerSlot>,
    /// The health of every component (caught panics, switched-off components).
    components: Components,
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
                buckets: Buckets::new(&config.export.duration_buckets),
            }),
            handlers: RwLock::new(Vec::new()),
            handler_panics: AtomicU64::new(0),
            components: Components::default(),
            worker: Mutex::new(worker::WorkerSlot::default()),
        }
    }

    fn lock(&self) -> crate::locks::Held<'_, EngineState> {
        // A panic inside an engine is caught while the lock is held; the state it leaves is
        // still usable (at worst one run is half-applied), so the poison is cleared.
        crate::locks::lock(&self.state)
    }

    /// Catches up on every phase's runs and the objectives' health updates. A panic is
    /// caught and counted against its component.
    ///
    /// `statistics`: the phases' reports from their logs, if the caller has them (a report
    /// being built), in the order of `phases`; an optimizer pass then reuses them instead of
    /// summarising every phase again.
    pub(crate) fn process(
        &self,
        phases: &[Arc<PhaseCell>],
        config: &AnalyticsConfig,
        monitors: &Monitors,
        statistics: Option<&mut [PhaseReport]>,
    ) {
        let outbox = self.components.run(Component::Engine, || {
            self.catch_up(phases, config, monitors, statistics)
        });
        if let Some(outbox) = outbox {
            self.deliver(outbox, config);
        }
    }

    /// The health of the runtime's components.
    pub(crate) fn components(&self) -> &Components {
        &self.components
    }

    fn catch_up(
        &self,
        phases: &[Arc<PhaseCell>],
        config: &AnalyticsConfig,
        monitors: &Monitors,
        statistics: Option<&mut [PhaseReport]>,
    ) -> Outbox {
        let mut outbox = Outbox::default();
        let predictive = config.predictive.enabled;
        let anomaly = config.anomaly.enabled;
        let settings = predictor_settings(config);
        let mut guard = self.lock();
        let state = &mut *guard;
        let (epoch_now, clock_now) = (crate::anomaly::now(), crate::clock::now());
        for phase in phases {
            let id = phase.id();
            let engine = phase_engine(&mut state.phases, phase, &settings, &state.buckets);
            let lost = phase
                .log()
                .read_since(&mut engine.consumed, &mut state.scratch);
            state.lost += lost;
            state.analysed += state.scratch.len() as u64;
            let read_nanos: f64 = state.scratch.iter().map(|run| run.nanos as f64).sum();
            engine.total_nanos += read_nanos;
            // Every run read, of every outcome, lands in a bucket: exact counts that add up
            // across processes, whatever the statistics window has already dropped.
            for run in &state.scratch {
                engine.histogram.record(run.nanos);
            }
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
                let failed = run.outcome.is_failure();
                if predictive {
                    let predictor = &mut engine.predictor;
                    let high_risk = self.components.run(Component::Predictive, || {
                        let scored = predictor.observe(ms, failed);
                        scored
                            .became_high_risk
                            .then(|| predictor.prediction())
                            .flatten()
                    });
                    if let Some(Some(prediction)) = high_risk {
                        outbox.high_risk.push((phase.name().into(), prediction));
                    }
                }
                let predictor = &engine.predictor;
                engine.trend.record(failed, || {
                    predictive.then(|| predictor.prediction()).flatten()
                });
                if anomaly {
                    let anomalies = &mut state.anomalies;
                    let key = &engine.key;
                    // The run's own span (not the time the engine reads it), so anomalies
                    // of runs that overlapped (one stall) group into one finding.
                    let (start, end) = run_span(run.at, run.nanos, epoch_now, clock_now);
                    let found = self.components.run(Component::Anomaly, || {
                        anomalies.observe_span(key, ms, start, end)
                    });
                    if let Some(Some(found)) = found {
                        outbox.anomalies.push(found);
                    }
                }
            }
            if predictive && !state.scratch.is_empty() {
                phase.publish(engine.predictor.prediction());
            }
        }
        // Falling objective health is an anomaly like any other value.
        let metrics = &mut state.metrics;
        if self
            .components
            .run(Component::Monitors, || monitors.objectives.drain(metrics))
            .is_none()
        {
            metrics.clear();
        }
        if anomaly {
            let anomalies = &mut state.anomalies;
            let found = self.components.run(Component::Anomaly, || {
                metrics
                    .iter()
                    .filter_map(|(key, health)| anomalies.observe(key, *health))
                    .collect::<Vec<_>>()
            });
            outbox.anomalies.extend(found.into_iter().flatten());
        }
        if config.optimizer.enabled && state.analysed >= state.next_optimizer_at {
            let interval = config.optimizer.interval.max(1);
            state.next_optimizer_at = (state.analysed / interval + 1) * interval;
            state.optimizer_runs += 1;
            let state = &mut *state;
            let recommendations = self.components.run(Component::Optimizer, || {
                let mut own;
                let reports = match statistics {
                    Some(reports) if reports.len() == phases.len() => reports,
                    _ => {
                        own = phases.iter().map(|p| p.report()).collect::<Vec<_>>();
                        &mut own[..]
                    }
                };
                optimizer_pass(state, phases, reports, config, monitors)
            });
            if let Some(recommendations) = recommendations {
                state.recommendations = recommendations;
            }
        }
        outbox
    }
}

/// One optimizer pass: the phases' statistics (with the engine's totals), the latest resource
/// sample and the objectives' recommendations, most urgent first.
fn optimizer_pass(
    state: &EngineState,
    phases: &[Arc<PhaseCell>],
    reports: &mut [PhaseReport],
    config: &AnalyticsConfig,
    monitors: &Monitors,
) -> Vec<Recommendation> {
    {
        {
            for (phase, report) in phases.iter().zip(reports.iter_mut()) {
                report.total_ms = state
                    .phases
                    .get(phase.id())
                    .map_or(0.0, |e| e.total_nanos / 1e6);
            }
            let reports = &*reports;
            let usage = state.resources.latest().map(|s| ResourceUsage {
                rss_mb: s.rss_bytes as f64 / (1024.0 * 1024.0),
                cpu_percent: s.cpu_percent,
            });
            let mut recommendations = optimizer::recommend(
                reports,
                &OptimizerThresholds {
                    phase_slow_s: config.thresholds.phase_slow,
                    memory_high_mb: config.thresholds.memory_high,
                    cpu_high_pct: config.thresholds.cpu_high,
                },
                usage.as_ref(),
            );
            recommendations.extend(monitors.objectives.recommendations());
            optimizer::sort(&mut recommendations);
            recommendations
        }
    }
}

impl Engine {
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
        let found = self
            .components
            .run(Component::Anomaly, || {
                self.lock().anomalies.observe(key, value)
            })
            .flatten();
        if let Some(anomaly) = &found {
            self.announce(anomaly);
        }
        found
    }

    /// Replays restored runs of `phase` into its predictor and its anomaly baseline (nothing
    /// is counted as an execution, a scored prediction or an anomaly). Returns the runs used.
    pub(crate) fn restore(
        &self,
        phase: &PhaseCell,
        runs: &[Run],
        config: &AnalyticsConfig,
    ) -> usize {
        let mut guard = self.lock();
        let state = &mut *guard;
        let engine = phase_engine(
            &mut state.phases,
            phase,
            &predictor_settings(config),
            &state.buckets,
        );
        let keep = config.memory.max_history_size;
        let runs = &runs[runs.len().saturating_sub(keep)..];
        for run in runs.iter().filter(|r| r.outcome != Outcome::Cancelled) {
            let ms = run.nanos as f64 / 1e6;
            let failed = run.outcome.is_failure();
            engine.predictor.observe(ms, failed);
            let predictor = &engine.predictor;
            engine.trend.record(failed, || predictor.prediction());
            state.anomalies.warm(&engine.key, ms);
        }
        engine.predictor.reset_scores();
        if config.predictive.enabled {
            phase.publish(engine.predictor.prediction());
        }
        engine.restored.extend_from_slice(runs);
        let excess = engine.restored.len().saturating_sub(keep);
        engine.restored.drain(..excess);
        runs.len()
    }

    /// The latest runs of `phase` for a snapshot, oldest first: restored history, then this
    /// process's runs, at most `max` in all.
    pub(crate) fn history(&self, phase: &PhaseCell, max: usize, out: &mut Vec<Run>) {
        phase.log().last(max, out);
        let state = self.lock();
        if let Some(engine) = state.phases.get(phase.id()) {
            let room = max.saturating_sub(out.len());
            let restored = &engine.restored[engine.restored.len().saturating_sub(room)..];
            out.splice(0..0, restored.iter().copied());
        }
    }

    /// Fills in what the engines know of phase `id`: its prediction and their accuracy, its
    /// total time and its resources.
    pub(crate) fn complete(&self, id: usize, report: &mut crate::report::PhaseReport) {
        let state = self.lock();
        if let Some(engine) = state.phases.get(id) {
            report.prediction = engine.predictor.prediction();
            report.prediction_accuracy = engine.predictor.accuracy_parts().finish();
            report.total_ms = engine.total_nanos / 1e6;
            report.trend = engine.trend.points(engine.predictor.prediction());
            report.histogram = Some(engine.histogram.report());
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
        let mut parts = AccuracyParts::with_capacity(state.phases.len());
        let (mut made, mut high_risk) = (0, 0);
        for engine in &state.phases {
            engine.predictor.add_accuracy_to(&mut parts);
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
            + state
                .phases
                .iter()
                .map(|e| {
                    e.key.len()
                        + e.trend.heap_bytes()
                        + e.histogram.heap_bytes()
                        + e.restored.capacity() * std::mem::size_of::<Run>()
                })
                .sum::<usize>()
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

/// The span of a run in seconds since the Unix epoch, from its raw end reading `at` and its
/// duration, given the epoch time and raw reading of "now". A run without an end reading
/// (restored from a snapshot) is placed at "now".
fn run_span(at: u64, nanos: u64, epoch_now: f64, clock_now: u64) -> (f64, f64) {
    let end = if at == 0 {
        epoch_now
    } else {
        epoch_now - crate::clock::nanos_between(at, clock_now) as f64 / 1e9
    };
    (end - nanos as f64 / 1e9, end)
}
