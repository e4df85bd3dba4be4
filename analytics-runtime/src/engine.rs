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
use std::time::Duration;

use crate::anomaly::{AnomalyDetector, AnomalySettings, DetectorSettings};
use crate::config::AnalyticsConfig;
use crate::optimizer::{self, OptimizerThresholds};
use crate::outcome::Outcome;
use crate::phase::PhaseCell;
use crate::predictive::{AccuracyParts, PhasePredictor, PredictorSettings};
use crate::report::{
    AnomaliesReport, Anomaly, Pattern, Prediction, PredictionAccuracy, PredictionsReport,
    Recommendation, Severity,
};
use crate::run_log::Run;

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
}

/// What one catch-up produced that must leave the lock before it is acted on.
#[derive(Default)]
struct Outbox {
    anomalies: Vec<Anomaly>,
    high_risk: Vec<(Box<str>, Prediction)>,
}

/// The engines of one runtime.
pub(crate) struct Engine {
    state: Mutex<EngineState>,
    handlers: RwLock<Vec<Handler>>,
    handler_panics: AtomicU64,
    /// Dropping the sender wakes the worker and tells it to stop.
    stop: Mutex<Option<mpsc::Sender<()>>>,
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
            }),
            handlers: RwLock::new(Vec::new()),
            handler_panics: AtomicU64::new(0),
            stop: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, EngineState> {
        // A panic inside an engine is caught while the lock is held; the state it leaves is
        // still usable (at worst one run is half-applied), so the poison is cleared.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Catches up on every phase's runs. Returns false if an engine panicked (the panic is
    /// caught; the caller counts it).
    pub(crate) fn process(&self, phases: &[Arc<PhaseCell>], config: &AnalyticsConfig) -> bool {
        let outbox = catch_unwind(AssertUnwindSafe(|| self.catch_up(phases, config)));
        match outbox {
            Ok(outbox) => {
                self.deliver(outbox, config);
                true
            }
            Err(_) => false,
        }
    }

    fn catch_up(&self, phases: &[Arc<PhaseCell>], config: &AnalyticsConfig) -> Outbox {
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
                });
            }
            let Some(engine) = state.phases.get_mut(id) else {
                continue;
            };
            if engine.key.is_empty() {
                engine.key = format!("{}.duration_ms", phase.name()).into();
            }
            state.lost += phase
                .log()
                .read_since(&mut engine.consumed, &mut state.scratch);
            state.analysed += state.scratch.len() as u64;
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
        if config.optimizer.enabled && state.analysed >= state.next_optimizer_at {
            let interval = config.optimizer.interval.max(1);
            state.next_optimizer_at = (state.analysed / interval + 1) * interval;
            state.optimizer_runs += 1;
            let reports: Vec<_> = phases.iter().map(|p| p.report()).collect();
            state.recommendations = optimizer::recommend(
                &reports,
                &OptimizerThresholds {
                    phase_slow_s: config.thresholds.phase_slow,
                    memory_high_mb: config.thresholds.memory_high,
                    cpu_high_pct: config.thresholds.cpu_high,
                },
                None,
            );
        }
        outbox
    }

    /// Emits what a catch-up found, outside the engine lock.
    fn deliver(&self, outbox: Outbox, config: &AnalyticsConfig) {
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

    /// The prediction and accuracy of phase `id`.
    pub(crate) fn phase_view(&self, id: usize) -> (Option<Prediction>, PredictionAccuracy) {
        let state = self.lock();
        state.phases.get(id).map_or_else(Default::default, |e| {
            (
                e.predictor.prediction(),
                e.predictor.accuracy_parts().finish(),
            )
        })
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

    /// Bytes the engines hold.
    pub(crate) fn heap_bytes(&self) -> usize {
        let state = self.lock();
        let phases = state.phases.capacity() * std::mem::size_of::<PhaseEngine>()
            + state.phases.iter().map(|e| e.key.len()).sum::<usize>();
        let recommendations =
            state.recommendations.capacity() * std::mem::size_of::<Recommendation>();
        phases
            + state.anomalies.heap_bytes()
            + recommendations
            + state.scratch.capacity() * std::mem::size_of::<Run>()
    }

    /// Starts the background worker once: every [`TICK`] it upgrades `target` and calls
    /// `work`; it stops when `target` is gone or [`Engine::stop_worker`] is called.
    pub(crate) fn start_worker<T: Send + Sync + 'static>(
        &self,
        target: Weak<T>,
        work: fn(&T),
    ) -> std::io::Result<()> {
        let mut stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        if stop.is_some() {
            return Ok(());
        }
        let (sender, receiver) = mpsc::channel::<()>();
        std::thread::Builder::new()
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
        *stop = Some(sender);
        Ok(())
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
