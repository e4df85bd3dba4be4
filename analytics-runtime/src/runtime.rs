//! [`Runtime`]: the value that owns every phase's state and builds reports.
//!
//! The global runtime installed by [`init`](crate::init) is one of these; tests and embedders
//! can hold their own and route annotated phases to it with [`Runtime::in_scope`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::callsite::PhaseGuard;
use crate::config::{AnalyticsConfig, ConfigError};
use crate::engine::Engine;
use crate::faults::{Component, Components};
use crate::memory;
use crate::monitors::Monitors;
use crate::phase::{PhaseCell, Site};
use crate::registry::Registry;
use crate::report::{Anomaly, MemoryReport, Prediction, Report, RuntimeReport, Severity};
use crate::reporting::Schedule;
use crate::run_log::Run;
use crate::scope::{self, ScopeGuard};
use crate::snapshot::{self, PhaseHistory, Snapshot, SnapshotError, SnapshotStats};

/// The analytics runtime: phase registry, statistics and reports.
///
/// Cloning is cheap and shares the state (it is an `Arc` inside).
///
/// ```
/// use analytics_runtime::{AnalyticsConfig, Runtime, analyzed_phase};
///
/// #[analyzed_phase]
/// fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
///     input.parse()
/// }
///
/// let runtime = Runtime::new(AnalyticsConfig::default());
/// runtime.in_scope(|| {
///     parse("42").unwrap();
///     assert!(parse("x").is_err());
/// });
/// let report = runtime.report();
/// let phase = report.phase("parse").unwrap();
/// assert_eq!((phase.executions, phase.successes, phase.failures), (2, 1, 1));
/// ```
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

struct Shared {
    config: AnalyticsConfig,
    /// Runs' duration window: `anomaly.window_size`, at least 2.
    window: usize,
    started: Instant,
    registry: Mutex<Registry>,
    engine: Engine,
    monitors: Monitors,
    schedule: Mutex<Schedule>,
    /// Set by [`Runtime::shutdown`]: the worker is not started again.
    stopped: std::sync::atomic::AtomicBool,
    snapshots_written: AtomicU64,
    restored_runs: AtomicU64,
    /// Why the configured snapshot could not be restored, if it could not.
    snapshot_error: Mutex<Option<String>>,
    /// Snapshot writes that failed (periodic, final or asked for), and the last one's error.
    snapshot_write_errors: AtomicU64,
    last_snapshot_write_error: Mutex<Option<String>>,
    /// When the worker last wrote the configured snapshot.
    last_snapshot: Mutex<Instant>,
    /// Calls made from inside the runtime's own critical section (see [`Runtime::reentered`]).
    reentrant_calls: AtomicU64,
}

impl Shared {
    /// Every phase, in registration order (a copy, so no lock is held afterwards).
    fn phases(&self) -> Vec<Arc<PhaseCell>> {
        crate::locks::lock(&self.registry).phases().to_vec()
    }

    /// Lets the engines catch up on every phase's runs.
    fn process(&self) {
        self.engine
            .process(&self.phases(), &self.config, &self.monitors, None);
    }

    /// One tick of the background worker: catch up, then the timed work (resource samples,
    /// message rates, cleanup), then the periodic report if one is due.
    fn tick(self: &Arc<Self>) {
        self.process();
        let now = Instant::now();
        self.engine.maintain(now, &self.config, &self.monitors);
        let executions = self.engine.health().runs_analysed;
        let due = crate::locks::lock(&self.schedule).due(&self.config.reporting, executions, now);
        let persistence = &self.config.persistence;
        if let Some(path) = &persistence.snapshot_path {
            let mut last = crate::locks::lock(&self.last_snapshot);
            let every = std::time::Duration::from_secs(persistence.interval_secs);
            if persistence.interval_secs > 0 && now.saturating_duration_since(*last) >= every {
                *last = now;
                drop(last);
                let runtime = Runtime {
                    shared: Arc::clone(self),
                };
                if let Err(error) = runtime.snapshot(path) {
                    tracing::warn!(target: "analytics_runtime", %error, "cannot write the snapshot");
                }
            }
        }
        if due {
            let report = Runtime {
                shared: Arc::clone(self),
            }
            .report();
            // The event and the file write run with no lock held; only the count takes it.
            let written = self.engine.components().run(Component::Reporting, || {
                crate::reporting::emit(&self.config.reporting, &report)
            });
            if let Some(Some(written)) = written {
                crate::locks::lock(&self.schedule).count(written);
            }
        }
    }

    /// Whether any engine has work to do.
    fn engines_on(&self) -> bool {
        let c = &self.config;
        c.enabled
            && (c.predictive.enabled
                || c.anomaly.enabled
                || c.optimizer.enabled
                || c.resources.enabled
                || c.reporting.interval_executions > 0
                || c.reporting.interval_secs > 0
                || c.persistence.snapshot_path.is_some())
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Runtime");
        debug.field("enabled", &self.is_enabled());
        if !crate::locks::held() {
            debug.field("phases", &self.lock_registry().phases().len());
        }
        debug.finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime with `config`, taken as given.
    ///
    /// Never fails and never panics: values that [`AnalyticsConfig::validate`] would refuse are
    /// clamped to the nearest usable value (a window below 2 becomes 2). Use
    /// [`Runtime::try_new`] to refuse them instead. When `persistence.snapshot_path` names an
    /// existing snapshot, its history is restored (see [`Runtime::restore`]); a corrupt or
    /// foreign file is logged and reported in `runtime.snapshot_error`, and the runtime starts
    /// empty.
    #[must_use]
    pub fn new(config: AnalyticsConfig) -> Runtime {
        let window = config.anomaly.window_size.clamp(2, 1_000_000);
        crate::clock::calibrate();
        let runtime = Runtime {
            shared: Arc::new(Shared {
                window,
                started: Instant::now(),
                registry: Mutex::new(Registry::default()),
                engine: Engine::new(&config),
                monitors: Monitors::new(&config),
                schedule: Mutex::new(Schedule::new(&config.reporting)),
                stopped: std::sync::atomic::AtomicBool::new(false),
                snapshots_written: AtomicU64::new(0),
                restored_runs: AtomicU64::new(0),
                snapshot_error: Mutex::new(None),
                snapshot_write_errors: AtomicU64::new(0),
                last_snapshot_write_error: Mutex::new(None),
                reentrant_calls: AtomicU64::new(0),
                last_snapshot: Mutex::new(Instant::now()),
                config,
            }),
        };
        runtime.restore_configured();
        runtime
    }

    /// A runtime with `config`, after [`AnalyticsConfig::validate`] accepted it.
    ///
    /// # Errors
    /// The validation error, naming each invalid field, its value and the rule.
    pub fn try_new(config: AnalyticsConfig) -> Result<Runtime, ConfigError> {
        config.validate()?;
        Ok(Runtime::new(config))
    }

    /// The configuration this runtime was built with.
    #[must_use]
    pub fn config(&self) -> &AnalyticsConfig {
        &self.shared.config
    }

    /// Whether phases are measured (the config's top-level `enabled`).
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.shared.config.enabled
    }

    /// Starts measuring one run of the phase `name` by hand, for code that cannot carry the
    /// attribute (a phase driven by a callback, a plugin, a script).
    ///
    /// The run ends when the guard is finished ([`PhaseGuard::finish`], [`PhaseGuard::success`],
    /// [`PhaseGuard::failure`]); a guard dropped unfinished counts as a panic if the thread is
    /// unwinding and as cancelled otherwise.
    ///
    /// ```
    /// use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};
    ///
    /// let runtime = Runtime::new(AnalyticsConfig::default());
    /// let run = runtime.start_phase("deploy");
    /// run.finish(Outcome::Failure);
    /// assert_eq!(runtime.report().phase("deploy").unwrap().failures, 1);
    /// ```
    #[track_caller]
    pub fn start_phase(&self, name: &str) -> PhaseGuard {
        if !self.is_enabled() {
            return PhaseGuard::disabled();
        }
        let caller = std::panic::Location::caller();
        let site = Site {
            module_path: "",
            file: caller.file(),
            line: caller.line(),
        };
        match self.phase(name, site) {
            Some(phase) => PhaseGuard::start_shared(phase),
            None => PhaseGuard::disabled(),
        }
    }

    /// Records one run of the phase `name` that was measured elsewhere (replayed from a log,
    /// timed by another system, or synthesised in a test), exactly as if an annotated function
    /// had taken `duration` and ended with `outcome`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};
    ///
    /// let runtime = Runtime::new(AnalyticsConfig::default());
    /// runtime.record_run("import", Duration::from_millis(40), Outcome::Success);
    /// runtime.record_run("import", Duration::from_millis(60), Outcome::Failure);
    /// let report = runtime.report();
    /// let import = report.phase("import").unwrap();
    /// assert_eq!((import.executions, import.failures), (2, 1));
    /// assert_eq!(import.duration_ms.mean, 50.0);
    /// ```
    #[track_caller]
    pub fn record_run(&self, name: &str, duration: std::time::Duration, outcome: crate::Outcome) {
        if !self.is_enabled() {
            return;
        }
        let caller = std::panic::Location::caller();
        let site = Site {
            module_path: "",
            file: caller.file(),
            line: caller.line(),
        };
        if let Some(phase) = self.phase(name, site) {
            let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
            phase.record(nanos, outcome);
        }
    }

    /// Runs `f` with this runtime as the current one on this thread: phases annotated with
    /// `#[analyzed_phase]` that start inside `f` (on this thread) are recorded here, not in the
    /// global runtime. Scopes nest; the previous one is restored when `f` returns or panics.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.set_default();
        f()
    }

    /// Makes this runtime the current one on this thread until the returned guard drops
    /// (the guard form of [`Runtime::in_scope`]).
    #[must_use = "the scope ends when the guard is dropped"]
    pub fn set_default(&self) -> ScopeGuard {
        scope::enter(self.clone())
    }

    /// The per-phase state for `name`, created on first use.
    ///
    /// `None` only if the registry itself failed (counted in `runtime.errors_caught`).
    pub(crate) fn phase(&self, name: &str, site: Site) -> Option<Arc<PhaseCell>> {
        self.phase_at(name, Some(site))
    }

    /// [`Runtime::phase`], for a phase that may have no source location (a restored one).
    fn phase_at(&self, name: &str, site: Option<Site>) -> Option<Arc<PhaseCell>> {
        if self.reentered() {
            return None;
        }
        let (phase, first) = self.components().run(Component::Registry, || {
            // Past `memory.max_phases`, new names share the phase `other`.
            self.lock_registry().get_or_register(
                name,
                site,
                self.shared.window,
                self.shared.config.memory.max_phases,
            )
        })?;
        if first {
            self.start_engine();
        }
        Some(phase)
    }

    /// Starts the background engine worker (once): at `init` for the global runtime, else when
    /// the first phase, message or objective appears.
    pub(crate) fn start_engine(&self) {
        if self.shared.engines_on() && !self.shared.stopped.load(Relaxed) && !crate::locks::held() {
            let started = self.shared.engine.start_worker(
                Arc::downgrade(&self.shared),
                |shared: &Arc<Shared>| {
                    shared.tick();
                },
            );
            if let Err(error) = started {
                // Without the worker the engines still catch up before every report.
                self.components().failed(Component::Engine);
                tracing::warn!(
                    target: "analytics_runtime",
                    %error,
                    "cannot start the analytics engine thread; predictions refresh at reports only"
                );
            }
        }
    }

    /// Does now what the background worker does every few milliseconds: the engines catch up
    /// on every run recorded so far (predictions, anomalies, recommendations), then the timed
    /// work that is due (a resource sample, message rates, the memory manager's cleanup, a
    /// periodic report). [`Runtime::report`] catches up too, so a report always covers every
    /// run that ended before it.
    pub fn flush(&self) {
        if !self.reentered() {
            self.shared.tick();
        }
    }

    /// Whether this call comes from inside the runtime's own critical section: this thread
    /// holds a runtime lock, so the caller is a panic hook run by a panic inside the runtime
    /// (no other user code runs under a runtime lock). Such a call must not wait for a lock
    /// (this thread may hold it): it is answered without locks, and counted in
    /// `runtime.reentrant_calls`.
    fn reentered(&self) -> bool {
        let held = crate::locks::held();
        if held {
            self.shared.reentrant_calls.fetch_add(1, Relaxed);
        }
        held
    }

    /// Feeds one value of any metric stream to the anomaly detector and returns the anomaly it
    /// makes, if any (handlers registered with [`Runtime::on_anomaly`] are called too).
    ///
    /// Non-finite values are ignored. Returns `None` when the runtime or `anomaly` is disabled.
    ///
    /// ```
    /// use analytics_runtime::{AnalyticsConfig, Runtime};
    ///
    /// let runtime = Runtime::new(AnalyticsConfig::default());
    /// for i in 0..300 {
    ///     runtime.observe("queue_depth", 40.0 + f64::from(i % 5));
    /// }
    /// assert!(runtime.observe("queue_depth", 4000.0).is_some());
    /// assert_eq!(runtime.report().anomalies.total, 1);
    /// ```
    pub fn observe(&self, key: &str, value: f64) -> Option<Anomaly> {
        let config = &self.shared.config;
        if !(config.enabled && config.anomaly.enabled) || self.reentered() {
            return None;
        }
        self.shared.engine.observe(key, value)
    }

    /// The prediction for the next run of `phase`, as the engine last published it (it catches
    /// up every 25 ms and at every [`Runtime::flush`] or report): failure probability, expected
    /// duration and p90. `None` for an unknown phase, before `predictive.min_history` runs, or
    /// with predictions off.
    ///
    /// Cheap enough to call before every run: a name lookup and a few atomic loads, O(1), no
    /// allocation, and it never waits for the engine.
    ///
    /// ```
    /// use std::time::Duration;
    /// use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};
    ///
    /// let runtime = Runtime::new(AnalyticsConfig::default());
    /// for i in 0..40 {
    ///     let outcome = if i % 4 == 0 { Outcome::Failure } else { Outcome::Success };
    ///     runtime.record_run("test", Duration::from_millis(5), outcome);
    /// }
    /// runtime.flush();
    /// let next = runtime.predict("test").unwrap();
    /// assert!(next.failure_probability > 0.5); // every 4th run fails, and this is the 41st
    /// assert!(runtime.predict("nothing").is_none());
    /// ```
    #[must_use]
    pub fn predict(&self, phase: &str) -> Option<Prediction> {
        let config = &self.shared.config;
        if !(config.enabled && config.predictive.enabled) {
            return None;
        }
        self.lock_registry().get(phase)?.prediction()
    }

    /// Saves the history the predictions rest on (each phase's latest runs: at most
    /// `memory.max_history_size`, and at most what its run log holds, 512 runs or
    /// `anomaly.window_size` if larger) to `path`, atomically: a crash at any moment leaves the old
    /// file or the new one. The file is created with owner-only permissions.
    ///
    /// ```
    /// use std::time::Duration;
    /// use analytics_runtime::{AnalyticsConfig, Outcome, Runtime};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("snapshot.json");
    /// let before = Runtime::new(AnalyticsConfig::default());
    /// for i in 0..50u64 {
    ///     let outcome = if i % 2 == 0 { Outcome::Failure } else { Outcome::Success };
    ///     before.record_run("deploy", Duration::from_millis(20), outcome);
    /// }
    /// before.snapshot(&path).unwrap();
    ///
    /// // After a restart: the prediction is back before the first run.
    /// let after = Runtime::new(AnalyticsConfig::default());
    /// let restored = after.restore(&path).unwrap();
    /// assert_eq!((restored.phases, restored.runs), (1, 50));
    /// let deploy = after.report().phase("deploy").unwrap().clone();
    /// assert_eq!(deploy.executions, 0);
    /// assert!(deploy.prediction.unwrap().failure_probability > 0.3);
    /// ```
    ///
    /// # Errors
    /// [`SnapshotError::Write`] when the file cannot be written (the previous one is intact).
    pub fn snapshot(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<SnapshotStats, SnapshotError> {
        let path = path.as_ref();
        if self.reentered() {
            return Err(reentered_error(path, true));
        }
        let written = self
            .components()
            .run(Component::Snapshot, || self.write_snapshot(path))
            .unwrap_or_else(|| Err(component_failed(path)));
        if let Err(error) = &written {
            // Counted and kept for the report: a failing periodic or final write is otherwise
            // only a log line (issue 13).
            let shared = &self.shared;
            shared.snapshot_write_errors.fetch_add(1, Relaxed);
            *crate::locks::lock(&shared.last_snapshot_write_error) = Some(error.to_string());
        }
        written
    }

    fn write_snapshot(&self, path: &std::path::Path) -> Result<SnapshotStats, SnapshotError> {
        let max = self.shared.config.memory.max_history_size;
        let mut runs = Vec::new();
        let mut phases = Vec::new();
        for phase in self.shared.phases() {
            self.shared.engine.history(&phase, max, &mut runs);
            if !runs.is_empty() {
                phases.push(PhaseHistory {
                    name: phase.name().to_string(),
                    runs: runs.iter().map(|r| (r.nanos, r.outcome)).collect(),
                });
            }
        }
        let stats = SnapshotStats {
            phases: phases.len(),
            runs: phases.iter().map(|p| p.runs.len()).sum(),
        };
        let snapshot = Snapshot {
            format: snapshot::FORMAT.to_string(),
            version: snapshot::VERSION,
            written_at: crate::anomaly::now(),
            phases,
        };
        snapshot::write(path, &snapshot)?;
        self.shared.snapshots_written.fetch_add(1, Relaxed);
        Ok(stats)
    }

    /// Replays a snapshot written by [`Runtime::snapshot`] into this runtime's engines:
    /// predictions and anomaly baselines resume where they were. Counts are not restored (a
    /// report describes this process's runs), nor is anything counted as an anomaly.
    ///
    /// # Errors
    /// [`SnapshotError::Read`], [`SnapshotError::Corrupt`], [`SnapshotError::Foreign`] or
    /// [`SnapshotError::Version`]: the file is not a usable snapshot; nothing was restored.
    pub fn restore(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<SnapshotStats, SnapshotError> {
        let path = path.as_ref();
        if self.reentered() {
            return Err(reentered_error(path, false));
        }
        self.components()
            .run(Component::Snapshot, || self.read_snapshot(path))
            .unwrap_or_else(|| Err(component_failed(path)))
    }

    fn read_snapshot(&self, path: &std::path::Path) -> Result<SnapshotStats, SnapshotError> {
        let memory = &self.shared.config.memory;
        let caps = snapshot::ReadCaps::new(memory.max_phases, memory.max_history_size);
        let read = snapshot::read(path, caps)?;
        if read.skipped_phases > 0 || read.skipped_runs > 0 {
            tracing::info!(
                target: "analytics_runtime",
                path = %path.display(),
                skipped_phases = read.skipped_phases,
                skipped_runs = read.skipped_runs,
                "the snapshot holds more than memory.max_phases and memory.max_history_size \
                 allow; the excess was skipped"
            );
        }
        let mut stats = SnapshotStats::default();
        let mut runs = Vec::new();
        for history in &read.snapshot.phases {
            let Some(phase) = self.phase_at(&history.name, None) else {
                continue;
            };
            runs.clear();
            runs.extend(
                history
                    .runs
                    .iter()
                    .map(|&(nanos, outcome)| Run::new(nanos, outcome)),
            );
            stats.runs += self
                .shared
                .engine
                .restore(&phase, &runs, &self.shared.config);
            stats.phases += 1;
        }
        self.shared
            .restored_runs
            .fetch_add(stats.runs as u64, Relaxed);
        Ok(stats)
    }

    /// Removes what writers killed mid-write (SIGKILL, power loss) left beside the snapshot and
    /// the report file: temporary files over ten minutes old. Logged when there were any.
    fn remove_stale_temporaries(&self) {
        const STALE: std::time::Duration = std::time::Duration::from_secs(600);
        let config = &self.shared.config;
        for path in [
            &config.persistence.snapshot_path,
            &config.reporting.json_path,
        ]
        .into_iter()
        .flatten()
        {
            let removed = crate::atomic_file::remove_stale_temporaries(path, STALE);
            if removed > 0 {
                tracing::info!(
                    target: "analytics_runtime",
                    path = %path.display(),
                    removed,
                    "removed temporary files that interrupted writes left beside the file"
                );
            }
        }
    }

    /// Restores `persistence.snapshot_path` if it exists (at `init`): a corrupt or foreign
    /// file is logged and recorded in the report, and the runtime starts empty.
    pub(crate) fn restore_configured(&self) {
        self.remove_stale_temporaries();
        let Some(path) = self.shared.config.persistence.snapshot_path.clone() else {
            return;
        };
        if !path.exists() {
            return;
        }
        match self.restore(&path) {
            Ok(stats) => tracing::info!(
                target: "analytics_runtime",
                path = %path.display(),
                phases = stats.phases,
                runs = stats.runs,
                "restored the prediction history from the snapshot"
            ),
            Err(error) => {
                tracing::warn!(
                    target: "analytics_runtime",
                    %error,
                    "cannot restore the snapshot; starting with an empty history"
                );
                *crate::locks::lock(&self.shared.snapshot_error) = Some(error.to_string());
            }
        }
    }

    /// Counts one message on `topic` (its per-second rate goes through the anomaly detector,
    /// so a burst or a silence is an anomaly). Past `memory.max_topics` topics, new topics are
    /// counted under `other`.
    pub fn record_message(&self, topic: &str) {
        if self.is_enabled() {
            self.guarded(|| self.shared.monitors.messages.record(topic, None));
            self.start_engine();
        }
    }

    /// Counts one message of `bytes` bytes on `topic` (see [`Runtime::record_message`]).
    pub fn record_message_bytes(&self, topic: &str, bytes: u64) {
        if self.is_enabled() {
            self.guarded(|| self.shared.monitors.messages.record(topic, Some(bytes)));
            self.start_engine();
        }
    }

    /// Records the health of objective `name`, in [0, 1] (1 = healthy). Falling health is an
    /// anomaly; an objective that stays below 0.5 gets a recommendation. Values outside
    /// [0, 1] or not finite are refused and counted.
    ///
    /// ```
    /// use analytics_runtime::{AnalyticsConfig, Runtime};
    ///
    /// let runtime = Runtime::new(AnalyticsConfig::default());
    /// runtime.record_objective("ship v2", 0.9);
    /// runtime.record_objective_progress("ship v2", 0.4, 0.7);
    /// let report = runtime.report();
    /// let objective = &report.objectives.objectives[0];
    /// assert_eq!((objective.health, objective.progress), (0.4, Some(0.7)));
    /// ```
    pub fn record_objective(&self, name: &str, health: f64) {
        if self.is_enabled() {
            self.guarded(|| self.shared.monitors.objectives.record(name, health, None));
            self.start_engine();
        }
    }

    /// Records the health and the progress (both in [0, 1]) of objective `name`.
    pub fn record_objective_progress(&self, name: &str, health: f64, progress: f64) {
        if self.is_enabled() {
            self.guarded(|| {
                self.shared
                    .monitors
                    .objectives
                    .record(name, health, Some(progress))
            });
            self.start_engine();
        }
    }

    /// Records one completed task: its completion time and whether it succeeded.
    pub fn record_task(&self, name: &str, duration: std::time::Duration, success: bool) {
        if self.is_enabled() {
            self.guarded(|| {
                self.shared
                    .monitors
                    .tasks
                    .record_task(name, duration, success)
            });
        }
    }

    /// Records one value of the quality metric `metric` (non-finite values are refused).
    pub fn record_quality(&self, metric: &str, value: f64) {
        if self.is_enabled() {
            self.guarded(|| self.shared.monitors.tasks.record_quality(metric, value));
        }
    }

    /// Memory the runtime holds, in bytes per component and in total, from what each
    /// component really holds (capacities, not lengths), with the caps in force and the
    /// cleanup statistics.
    #[must_use]
    pub fn memory_usage(&self) -> MemoryReport {
        if self.reentered() {
            // Called back from inside the runtime: only what needs no lock.
            return MemoryReport {
                limits: memory::limits(&self.shared.config),
                ..MemoryReport::default()
            };
        }
        self.memory_report(&self.shared.phases())
    }

    /// Stops the background worker (waiting for the tick it is in), then lets the engines
    /// catch up one last time, so a final report covers every run. Recording goes on working;
    /// predictions and anomalies are then only refreshed by [`Runtime::flush`] and reports.
    /// Idempotent.
    ///
    /// Called back from inside the runtime (a panic hook run by a panic under a runtime lock),
    /// it stops the worker without waiting for it (it ends after its current tick) and skips
    /// the last catch-up and the final snapshot, which would need the lock this thread holds.
    pub fn shutdown(&self) {
        self.shared.stopped.store(true, Relaxed);
        if self.reentered() {
            self.shared.engine.stop_worker(false);
            return;
        }
        self.shared.engine.stop_worker(true);
        self.shared.process();
        if let Some(path) = self.shared.config.persistence.snapshot_path.clone() {
            if let Err(error) = self.snapshot(&path) {
                tracing::warn!(target: "analytics_runtime", %error, "cannot write the final snapshot");
            }
        }
    }

    /// Calls `handler` for every anomaly of at least `min` severity, on phase durations and on
    /// [`Runtime::observe`]d metrics. Handlers run outside every lock of the runtime, on the
    /// thread that found the anomaly (the engine's worker, or the caller of `observe`,
    /// `flush` or `report`); a handler that panics is caught and counted in
    /// `runtime.handler_panics`.
    pub fn on_anomaly(&self, min: Severity, handler: impl Fn(&Anomaly) + Send + Sync + 'static) {
        self.shared.engine.on_anomaly(min, Arc::new(handler));
    }

    /// Runs `f`, a recording into the runtime's tables on the user's thread; a panic inside it
    /// is caught and counted, never propagated into user code.
    fn guarded(&self, f: impl FnOnce()) {
        if !self.reentered() {
            self.components().run(Component::Monitors, f);
        }
    }

    /// The health of the runtime's components.
    fn components(&self) -> &Components {
        self.shared.engine.components()
    }

    fn lock_registry(&self) -> crate::locks::Held<'_, Registry> {
        // A panic while the lock was held cannot leave the map half-updated in a way that
        // matters (inserts are single calls), so a poisoned lock is simply recovered.
        crate::locks::lock(&self.shared.registry)
    }

    /// A report of everything this runtime holds. Never panics; an internal failure while
    /// building it is counted in `runtime.errors_caught` and gives a report without phases.
    #[must_use]
    pub fn report(&self) -> Report {
        if self.reentered() {
            return self.partial_report();
        }
        match self
            .components()
            .run(Component::Reporting, || self.build_report())
        {
            Some(report) => report,
            None => Report {
                enabled: self.is_enabled(),
                uptime_s: self.shared.started.elapsed().as_secs_f64(),
                runtime: self.runtime_report(0),
                ..Report::default()
            },
        }
    }

    /// The report of a call from inside the runtime's own critical section (see
    /// [`Runtime::reentered`]): only what is read without a lock, marked `runtime.partial`.
    fn partial_report(&self) -> Report {
        let (errors_by_component, components_disabled) = self.components().report();
        Report {
            enabled: self.is_enabled(),
            uptime_s: self.shared.started.elapsed().as_secs_f64(),
            runtime: RuntimeReport {
                version: env!("CARGO_PKG_VERSION").to_string(),
                partial: true,
                errors_caught: self.components().errors_total(),
                errors_by_component,
                components_disabled,
                snapshots_written: self.shared.snapshots_written.load(Relaxed),
                restored_runs: self.shared.restored_runs.load(Relaxed),
                snapshot_write_errors: self.shared.snapshot_write_errors.load(Relaxed),
                reentrant_calls: self.shared.reentrant_calls.load(Relaxed),
                ..RuntimeReport::default()
            },
            ..Report::default()
        }
    }

    fn build_report(&self) -> Report {
        let phases = self.shared.phases();
        let engine = &self.shared.engine;
        let config = &self.shared.config;
        let monitors = &self.shared.monitors;
        let mut runs = Vec::new();
        let mut scratch = Vec::new();
        // The statistics first (from the logs), so that the engines' catch-up, if it is due an
        // optimizer pass, reuses them rather than summarising every phase a second time.
        let mut phase_reports: Vec<_> = phases
            .iter()
            .map(|p| p.report_with(&mut runs, &mut scratch))
            .collect();
        engine.process(&phases, config, monitors, Some(&mut phase_reports));
        for (phase, report) in phases.iter().zip(&mut phase_reports) {
            engine.complete(phase.id(), report);
        }
        let (predictions, anomalies, patterns, recommendations) = engine.sections();
        Report {
            enabled: self.is_enabled(),
            uptime_s: self.shared.started.elapsed().as_secs_f64(),
            phases: phase_reports,
            predictions,
            anomalies,
            patterns,
            recommendations,
            resources: engine.resources(config.enabled && config.resources.enabled),
            messages: monitors.messages.report(),
            objectives: monitors.objectives.report(),
            tasks: monitors.tasks.report(),
            memory: self.memory_report(&phases),
            runtime: self.runtime_report(phases.len()),
        }
    }

    fn memory_report(&self, phases: &[Arc<PhaseCell>]) -> MemoryReport {
        // Each phase: the cell itself (in its Arc allocation, with the two counts), its heap
        // (name and run log), and the registry key's copy of its name; the registry's tables
        // are added from their capacities below.
        let per_phase_fixed = std::mem::size_of::<PhaseCell>() + 2 * std::mem::size_of::<usize>();
        let phase_bytes: usize = phases
            .iter()
            .map(|p| per_phase_fixed + p.heap_bytes() + p.name().len())
            .sum();
        let registry_bytes = self.lock_registry().heap_bytes();
        let monitors = &self.shared.monitors;
        let components: std::collections::BTreeMap<String, u64> = [
            ("phases", phase_bytes + registry_bytes),
            ("messages", monitors.messages.heap_bytes()),
            ("objectives", monitors.objectives.heap_bytes()),
            ("tasks", monitors.tasks.heap_bytes()),
        ]
        .into_iter()
        .chain(self.shared.engine.heap_bytes())
        .map(|(k, v)| (k.to_string(), v as u64))
        .collect();
        MemoryReport {
            total_bytes: components.values().sum(),
            components,
            limits: memory::limits(&self.shared.config),
            cleanup: self.shared.engine.cleanup_report(),
        }
    }

    fn runtime_report(&self, phases_registered: usize) -> RuntimeReport {
        let c = &self.shared.config;
        let engines = [
            ("predictive", c.enabled && c.predictive.enabled),
            ("anomaly", c.enabled && c.anomaly.enabled),
            ("optimizer", c.enabled && c.optimizer.enabled),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let health = self.shared.engine.health();
        let (errors_by_component, components_disabled) = self.components().report();
        let (reports_written, report_write_errors) =
            crate::locks::lock(&self.shared.schedule).files();
        RuntimeReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            errors_caught: self.components().errors_total(),
            errors_by_component,
            components_disabled,
            phases_registered,
            phases_overflowed: self.lock_registry().overflowed(),
            engines,
            runs_analysed: health.runs_analysed,
            runs_not_analysed: health.runs_not_analysed,
            handler_panics: health.handler_panics,
            optimizer_runs: health.optimizer_runs,
            values_ignored: health.values_ignored
                + self.shared.monitors.objectives.ignored()
                + self.shared.monitors.tasks.ignored(),
            values_not_analysed: self.shared.monitors.objectives.dropped(),
            worker_running: self.shared.engine.worker_running(),
            snapshots_written: self.shared.snapshots_written.load(Relaxed),
            restored_runs: self.shared.restored_runs.load(Relaxed),
            snapshot_error: crate::locks::lock(&self.shared.snapshot_error).clone(),
            reports_written,
            report_write_errors,
            snapshot_write_errors: self.shared.snapshot_write_errors.load(Relaxed),
            reentrant_calls: self.shared.reentrant_calls.load(Relaxed),
            partial: false,
            last_snapshot_write_error: crate::locks::lock(&self.shared.last_snapshot_write_error)
                .clone(),
        }
    }
}

/// The error of a snapshot operation called back from inside the runtime (a panic hook run
/// while this thread holds a runtime lock): refused rather than deadlocked.
fn reentered_error(path: &std::path::Path, write: bool) -> SnapshotError {
    let source = std::io::Error::other(
        "called from inside the runtime (a panic hook during an internal panic), where it \
         cannot wait for the runtime's locks; see runtime.reentrant_calls",
    );
    let path = path.to_path_buf();
    if write {
        SnapshotError::Write { path, source }
    } else {
        SnapshotError::Read { path, source }
    }
}

/// The error of a snapshot operation whose component panicked or was switched off.
fn component_failed(path: &std::path::Path) -> SnapshotError {
    SnapshotError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(
            "the snapshot component failed (see runtime.errors_by_component)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    #[test]
    fn manual_api_counts_and_keys_by_name() {
        let rt = Runtime::new(AnalyticsConfig::default());
        rt.start_phase("a").finish(Outcome::Success);
        rt.start_phase("a").finish(Outcome::Failure);
        rt.start_phase("b").success();
        drop(rt.start_phase("b"));
        let report = rt.report();
        assert_eq!(report.phases.len(), 2);
        let a = report.phase("a").unwrap();
        assert_eq!((a.executions, a.successes, a.failures), (2, 1, 1));
        rt.record_run(
            "timed",
            std::time::Duration::from_millis(3),
            Outcome::Success,
        );
        rt.record_run(
            "timed",
            std::time::Duration::from_millis(5),
            Outcome::Failure,
        );
        assert_eq!(rt.report().phase("timed").unwrap().total_ms, 8.0);
        let b = report.phase("b").unwrap();
        assert_eq!((b.executions, b.successes, b.cancelled), (2, 1, 1));
        assert_eq!(report.runtime.phases_registered, 2);
        assert!(report.memory.total_bytes > 0);
    }

    #[test]
    fn disabled_runtime_records_nothing() {
        let rt = Runtime::new(AnalyticsConfig {
            enabled: false,
            ..AnalyticsConfig::default()
        });
        rt.start_phase("a").success();
        let report = rt.report();
        assert!(!report.enabled);
        assert!(report.phases.is_empty());
    }

    #[test]
    fn invalid_window_is_clamped_by_new_and_refused_by_try_new() {
        let mut config = AnalyticsConfig::default();
        config.anomaly.window_size = 0;
        let rt = Runtime::new(config.clone());
        for _ in 0..5 {
            rt.start_phase("p").success();
        }
        assert_eq!(rt.report().phase("p").unwrap().window_runs, 2);
        assert!(Runtime::try_new(config).is_err());
    }
}
