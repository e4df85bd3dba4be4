//! The report types: one [`Report`] value with every figure the runtime has, serde both ways
//! (the JSON field names are a public contract) and a readable [`Display`](std::fmt::Display).
//!
//! This module holds the types; the [`Display`](std::fmt::Display) of [`Report`] lives in the
//! private submodule `display`.

mod display;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::stats::DurationStats;

/// Everything the runtime knows, at one moment.
///
/// ```
/// let report = analytics_runtime::report();
/// let json = serde_json::to_string(&report).unwrap();
/// let back: analytics_runtime::Report = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, report);
/// println!("{report}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Whether the runtime measures phases (false before `init` or with `"enabled": false`).
    pub enabled: bool,
    /// Seconds since the runtime was created.
    pub uptime_s: f64,
    /// One entry per phase name, in the order phases first ran.
    pub phases: Vec<PhaseReport>,
    /// Prediction counts and the engine's measured accuracy.
    #[serde(default)]
    pub predictions: PredictionsReport,
    /// Anomaly counts and the most recent anomalies.
    #[serde(default)]
    pub anomalies: AnomaliesReport,
    /// Repeated anomalies on one key.
    #[serde(default)]
    pub patterns: Vec<Pattern>,
    /// The optimizer's recommendations, highest priority first.
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
    /// Process resources (memory, CPU), sampled in the background.
    #[serde(default)]
    pub resources: ResourcesReport,
    /// Message counts and rates per topic.
    #[serde(default)]
    pub messages: MessagesReport,
    /// Objective health.
    #[serde(default)]
    pub objectives: ObjectivesReport,
    /// Task completion times and quality metrics.
    #[serde(default)]
    pub tasks: TasksReport,
    /// Memory held by the runtime itself.
    #[serde(default)]
    pub memory: MemoryReport,
    /// The runtime's own health.
    #[serde(default)]
    pub runtime: RuntimeReport,
}

/// Statistics of one phase (all executions of every function with this phase name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// The phase name (the function's name unless `#[analyzed_phase(name = "..")]` sets one).
    pub name: String,
    /// Calls that ended: `successes + failures + cancelled`.
    pub executions: u64,
    /// Calls that returned anything but `Err`.
    pub successes: u64,
    /// Calls that returned `Err` or panicked.
    pub failures: u64,
    /// Calls that panicked (also counted in `failures`).
    pub panics: u64,
    /// Async calls dropped after their first poll and before completion.
    pub cancelled: u64,
    /// `failures / executions` (0 when there were none).
    pub failure_rate: f64,
    /// Durations of the last `window_runs` completed (not cancelled) runs, in milliseconds.
    pub duration_ms: DurationStats,
    /// The prediction for the next run, once `predictive.min_history` runs exist.
    pub prediction: Option<Prediction>,
    /// How well this phase's predictions matched its runs.
    #[serde(default)]
    pub prediction_accuracy: PredictionAccuracy,
    /// Total time spent in this phase over all executions, in milliseconds.
    #[serde(default)]
    pub total_ms: f64,
    /// Consecutive failures up to now (0 after a success; a cancellation does not reset it).
    #[serde(default)]
    pub failure_streak: u64,
    /// The longest run of consecutive failures seen.
    #[serde(default)]
    pub longest_failure_streak: u64,
    /// How many runs `duration_ms` summarises (at most `anomaly.window_size`).
    #[serde(default)]
    pub window_runs: usize,
    /// Where the phase was first seen.
    #[serde(default)]
    pub site: Option<SiteReport>,
    /// Process CPU and memory seen while this phase ran (from the resource sampler).
    #[serde(default)]
    pub resources: Option<PhaseResources>,
    /// The failure rate and the failure prediction over the phase's whole history, oldest
    /// first, in at most 33 points (spans of runs that merge pairwise as the history grows).
    /// Empty until the engine has read the phase's runs.
    #[serde(default)]
    pub trend: Vec<TrendPoint>,
    /// Every run's duration in fixed buckets (`export.duration_buckets`) since the runtime
    /// started: what Prometheus's `histogram_quantile` aggregates across processes. `None`
    /// until the engine has read the phase's runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<crate::DurationHistogram>,
}

/// One point of a phase's [`trend`](PhaseReport::trend): a span of consecutive runs
/// (cancelled runs are not counted) and the prediction made at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrendPoint {
    /// Runs counted since the start up to the end of the span: the point's place in time.
    pub until_run: u64,
    /// Runs in the span.
    pub runs: u64,
    /// Of those, failures (panics included).
    pub failures: u64,
    /// `failures / runs`.
    pub failure_rate: f64,
    /// The failure probability predicted at the end of the span for the next run (`null`
    /// before `predictive.min_history` runs, or with predictions off).
    pub failure_probability: Option<f64>,
    /// The duration predicted at the end of the span, in milliseconds.
    pub expected_ms: Option<f64>,
}

/// Process resources attributed to one phase: each sampling interval's CPU use and RSS change,
/// weighted by the time the phase ran in that interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhaseResources {
    /// Mean process CPU % while the phase ran (100 = one core busy).
    pub cpu_percent: f64,
    /// Process RSS change attributed to the phase, in MB (negative: memory released).
    pub rss_delta_mb: f64,
    /// Sampling intervals in which the phase ran.
    pub samples: u64,
}

/// Process resources.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourcesReport {
    /// Whether the sampler runs (`resources.enabled`).
    pub monitored: bool,
    /// Sampling interval in milliseconds.
    pub interval_ms: u64,
    /// Samples taken.
    pub samples: u64,
    /// Resident set size at the last sample, in MB.
    pub rss_mb: f64,
    /// Largest RSS seen, in MB.
    pub peak_rss_mb: f64,
    /// Process CPU % over the last interval (100 = one core busy).
    pub cpu_percent: f64,
    /// Mean process CPU % over all samples.
    pub mean_cpu_percent: f64,
    /// CPU time the process had used since it started, at the last sample, in seconds (a
    /// counter: its rate is the CPU use).
    #[serde(default)]
    pub cpu_seconds: f64,
}

/// Message counts and rates, per topic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessagesReport {
    /// Messages recorded.
    pub total: u64,
    /// Bytes recorded (for messages recorded with a size).
    pub bytes: u64,
    /// Per topic, busiest first.
    pub topics: Vec<TopicReport>,
    /// Messages of new topics that went to the `other` topic because `memory.max_topics` topics
    /// already existed.
    pub overflowed: u64,
}

/// One message topic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicReport {
    /// The topic.
    pub topic: String,
    /// Messages recorded.
    pub count: u64,
    /// Bytes recorded.
    pub bytes: u64,
    /// Messages per second over the last completed rate interval.
    pub rate_per_s: f64,
    /// Messages per second since the topic was first seen.
    pub mean_rate_per_s: f64,
    /// When the last message was recorded, in seconds since the Unix epoch.
    pub last_seen: f64,
}

/// Objective health.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectivesReport {
    /// Per objective, least healthy first.
    pub objectives: Vec<ObjectiveReport>,
    /// Updates of new objectives that went to `other` (over `memory.max_objectives`).
    pub overflowed: u64,
}

/// One objective.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectiveReport {
    /// The objective.
    pub name: String,
    /// Latest health, in [0, 1] (1 = healthy).
    pub health: f64,
    /// Latest progress in [0, 1], if the user reports it.
    pub progress: Option<f64>,
    /// Health updates recorded.
    pub updates: u64,
    /// Mean health over all updates.
    pub mean_health: f64,
    /// Lowest health seen.
    pub min_health: f64,
    /// Consecutive latest updates below 0.5.
    pub unhealthy_streak: u64,
    /// When it was last updated, in seconds since the Unix epoch.
    pub last_update: f64,
}

/// Task completion times and quality metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TasksReport {
    /// Per task name, most frequent first.
    pub tasks: Vec<TaskReport>,
    /// Per quality metric, by name.
    pub quality: Vec<QualityReport>,
    /// Records of new names that went to `other` (over `memory.max_tasks`).
    pub overflowed: u64,
}

/// Completion statistics of one kind of task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskReport {
    /// The task name.
    pub name: String,
    /// Tasks recorded.
    pub count: u64,
    /// Tasks that succeeded.
    pub successes: u64,
    /// Tasks that failed.
    pub failures: u64,
    /// `successes / count`.
    pub success_rate: f64,
    /// Completion times of the most recent tasks (at most `memory.max_history_size`), in ms.
    pub duration_ms: DurationStats,
}

/// One quality metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityReport {
    /// The metric.
    pub metric: String,
    /// Values recorded.
    pub count: u64,
    /// Latest value.
    pub last: f64,
    /// Mean of all values.
    pub mean: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// The source location of a phase's first call site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteReport {
    /// `module_path!()` of the annotated function.
    pub module_path: String,
    /// `file!()` of the annotated function.
    pub file: String,
    /// The line of the function's name.
    pub line: u32,
}

/// What the predictive engine expects of a phase's next run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Probability that the next run fails, in [0, 1].
    pub failure_probability: f64,
    /// Expected duration in milliseconds.
    pub expected_ms: f64,
    /// The 90th percentile of the expected duration, in milliseconds.
    pub p90_ms: f64,
    /// Confidence in this prediction, in [0, 1].
    pub confidence: f64,
    /// How many runs the prediction rests on.
    pub based_on: u64,
}

/// Prediction counts and the predictive engine's measured accuracy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PredictionsReport {
    /// Runs that started with a prediction available (and were scored against it).
    pub made: u64,
    /// Of those, runs whose failure probability reached `predictive.confidence_threshold`.
    pub high_risk: u64,
    /// Accuracy over all phases.
    pub accuracy: PredictionAccuracy,
}

/// How well predictions matched the runs that followed them.
///
/// Every run that started with a prediction is scored once it ends (cancelled runs are not).
/// Figures are `null` until at least one run was scored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PredictionAccuracy {
    /// Mean squared error of the failure probability against the outcome (0 is perfect).
    pub brier: Option<f64>,
    /// `1 - brier / reference`, where the reference predicts each phase's base rate over the
    /// same runs; above 0 the engine beats "always predict the average".
    pub brier_skill: Option<f64>,
    /// Brier score, over the same runs, of the online running mean (each phase's failure rate
    /// over every run before the one predicted): what a user could compute by hand.
    pub brier_running_mean: Option<f64>,
    /// `1 - brier / brier_running_mean`: above 0 the engine beats the running mean. Unlike
    /// `brier_skill`, whose reference knows the base rate in advance, this baseline is online.
    pub brier_skill_vs_running_mean: Option<f64>,
    /// Median absolute percentage error of the expected duration (0.1 = 10 %).
    pub duration_mape: Option<f64>,
    /// Fraction of runs whose duration was at or under the predicted p90 (ideal: 0.9).
    pub p90_coverage: Option<f64>,
    /// Runs scored.
    pub scored: u64,
}

/// Anomaly counts and the most recent anomalies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnomaliesReport {
    /// Anomalies detected since start (including those no longer stored).
    pub total: u64,
    /// `total`, by severity.
    pub by_severity: BySeverity,
    /// The most recent anomalies, oldest first (at most `memory.max_anomalies`).
    pub recent: Vec<Anomaly>,
    /// The recent anomalies grouped by cause: anomalies whose runs overlap in time (one
    /// scheduler stall slowing several phases at once) form one finding, oldest first.
    pub findings: Vec<AnomalyFinding>,
}

/// Anomalies at the same instant, reported as one finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnomalyFinding {
    /// The streams involved, in the order their anomalies were found.
    pub keys: Vec<String>,
    /// Anomalies in the finding.
    pub count: u64,
    /// Start of the earliest run involved, in seconds since the Unix epoch.
    pub start: f64,
    /// End of the latest run involved, in seconds since the Unix epoch.
    pub end: f64,
    /// The highest anomaly score among them.
    pub score: f64,
    /// The severity of that score.
    pub severity: Severity,
    /// The evidence of the highest-scoring anomaly.
    pub evidence: String,
}

impl Default for AnomalyFinding {
    fn default() -> Self {
        AnomalyFinding {
            keys: Vec::new(),
            count: 0,
            start: 0.0,
            end: 0.0,
            score: 0.0,
            severity: Severity::Low,
            evidence: String::new(),
        }
    }
}

/// A count per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BySeverity {
    /// Low-severity count.
    pub low: u64,
    /// Medium-severity count.
    pub medium: u64,
    /// High-severity count.
    pub high: u64,
    /// Critical-severity count.
    pub critical: u64,
}

impl BySeverity {
    /// Adds one to the count of `severity`.
    pub fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Low => self.low += 1,
            Severity::Medium => self.medium += 1,
            Severity::High => self.high += 1,
            Severity::Critical => self.critical += 1,
        }
    }
}

/// One anomalous observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The metric stream, e.g. `build.duration_ms`.
    pub key: String,
    /// The observed value.
    pub value: f64,
    /// The rolling z-score of the value against the previous `anomaly.window_size` values.
    pub z_score: f64,
    /// The detector's anomaly score in [0, 1].
    pub score: f64,
    /// How serious it is: a band of `score` alone (see
    /// [`severity_of_score`](crate::anomaly::severity_of_score)).
    pub severity: Severity,
    /// When it was observed (for a phase: when its run ended), in seconds since the Unix
    /// epoch.
    pub time: f64,
    /// The detector's statistic that gave the score (`level`, `step`, `shift`,
    /// `volatility`, `novelty`).
    #[serde(default)]
    pub rule: String,
    /// What that statistic saw, in words and numbers (e.g. "3.4x the median of the last
    /// 2000 values; z 6.7").
    #[serde(default)]
    pub evidence: String,
    /// When the observed run started (seconds since the Unix epoch), or `time` for a value
    /// without duration.
    #[serde(default)]
    pub start: f64,
}

/// Repeated anomalies on one key: at least three within `anomaly.window_size` observations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    /// The metric stream.
    pub key: String,
    /// Anomalies in this pattern.
    pub count: u64,
    /// Time of the first one, in seconds since the Unix epoch.
    pub first: f64,
    /// Time of the latest one, in seconds since the Unix epoch.
    pub last: f64,
    /// The most serious severity among them.
    pub max_severity: Severity,
}

/// How serious an anomaly is, from how far it is past the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Just past the threshold.
    Low,
    /// Clearly past it.
    Medium,
    /// Far past it.
    High,
    /// Extreme.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// What the optimizer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    /// A phase slower than `thresholds.phase_slow` seconds.
    SlowPhase,
    /// A phase that takes most of the total time.
    DominantPhase,
    /// A phase that fails intermittently.
    FlakyPhase,
    /// A phase whose durations vary widely.
    HighVariance,
    /// Process memory above `thresholds.memory_high` MB.
    MemoryHigh,
    /// Process CPU above `thresholds.cpu_high` %.
    CpuHigh,
    /// An objective whose health stays below 0.5.
    ObjectiveUnhealthy,
}

/// How urgent a recommendation is; reports list the most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Act now.
    Critical,
    /// Act soon.
    High,
    /// Worth doing.
    Medium,
    /// Nice to have.
    Low,
}

/// One recommendation of the optimizer, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// What was found.
    pub kind: RecommendationKind,
    /// The phase concerned, if any.
    pub phase: Option<String>,
    /// How urgent it is.
    pub priority: Priority,
    /// One sentence a person can act on.
    pub message: String,
    /// The figures the recommendation rests on, by name (units in the names: `_ms`, `_pct`).
    pub evidence: BTreeMap<String, f64>,
    /// Time that acting on it would save over the runs analysed, in milliseconds.
    pub estimated_gain_ms: f64,
}

/// Memory the runtime holds, in bytes, by component, with its limits and cleanup statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryReport {
    /// Sum of `components`.
    pub total_bytes: u64,
    /// Bytes per component, computed from what each really holds (capacities, not lengths).
    pub components: BTreeMap<String, u64>,
    /// The caps in force, by name (`max_phases`, `max_topics`, ...).
    pub limits: BTreeMap<String, u64>,
    /// What the periodic cleanup did.
    pub cleanup: CleanupReport,
}

/// Statistics of the memory manager's periodic cleanup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CleanupReport {
    /// Cleanup passes so far.
    pub runs: u64,
    /// Items removed, per component, over all passes.
    pub items_removed: BTreeMap<String, u64>,
    /// Bytes freed over all passes.
    pub bytes_freed: u64,
    /// Duration of the last pass, in milliseconds.
    pub last_ms: f64,
}

/// The runtime's own health.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeReport {
    /// The `analytics-runtime` version that wrote this report.
    pub version: String,
    /// Internal errors caught before they could reach user code.
    pub errors_caught: u64,
    /// `errors_caught` by component (`registry`, `predictive`, `anomaly`, ...).
    pub errors_by_component: BTreeMap<String, u64>,
    /// Components switched off after failing repeatedly (the others go on).
    pub components_disabled: Vec<String>,
    /// Distinct phase names registered.
    pub phases_registered: usize,
    /// Phase names refused by `memory.max_phases` (their runs count under `other`).
    pub phases_overflowed: u64,
    /// Which parts of the runtime are switched on by the config.
    pub engines: BTreeMap<String, bool>,
    /// Runs the engines have analysed (predictions scored, durations checked for anomalies).
    pub runs_analysed: u64,
    /// Runs the engines never saw: a phase ran more than 512 times between two engine ticks (25 ms)
    /// (its counts and statistics still include them).
    pub runs_not_analysed: u64,
    /// Anomaly handlers that panicked (caught).
    pub handler_panics: u64,
    /// Optimizer passes so far.
    pub optimizer_runs: u64,
    /// Values refused because they were not finite numbers (NaN, infinities) or out of range
    /// (an objective's health outside [0, 1]).
    pub values_ignored: u64,
    /// Objective health updates the engine never saw (more than 64 between two ticks).
    pub values_not_analysed: u64,
    /// Whether the background engine worker is running.
    pub worker_running: bool,
    /// Periodic report files written (`reporting.json_path`), and failed writes.
    pub reports_written: u64,
    /// Periodic report files that could not be written.
    pub report_write_errors: u64,
    /// Snapshots written (`persistence.snapshot_path`, `Runtime::snapshot`).
    pub snapshots_written: u64,
    /// Runs replayed from a snapshot into the engines.
    pub restored_runs: u64,
    /// Why the configured snapshot could not be restored (the runtime then started empty).
    pub snapshot_error: Option<String>,
    /// Snapshot writes that failed: periodic, final (`shutdown`) or asked for with
    /// `Runtime::snapshot` (a failed restore is `snapshot_error`, not counted here).
    pub snapshot_write_errors: u64,
    /// The error of the last failed snapshot write, if any failed.
    pub last_snapshot_write_error: Option<String>,
    /// Calls into the runtime made from inside its own critical section (a panic hook run by a
    /// panic inside the runtime, while its thread held a runtime lock): answered without
    /// waiting for a lock, never deadlocked (a partial report, a refused snapshot, a skipped
    /// record).
    pub reentrant_calls: u64,
    /// Whether this report was asked for from inside the runtime's own critical section (see
    /// `reentrant_calls`): it then holds only what is read without a lock.
    pub partial: bool,
}

impl Report {
    /// The phase named `name`, if it ran.
    #[must_use]
    pub fn phase(&self, name: &str) -> Option<&PhaseReport> {
        self.phases.iter().find(|p| p.name == name)
    }

    /// Executions over all phases.
    #[must_use]
    pub fn total_executions(&self) -> u64 {
        self.phases.iter().map(|p| p.executions).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_contract_fields() {
        let report = Report {
            enabled: true,
            uptime_s: 1.5,
            phases: vec![PhaseReport {
                name: "build".into(),
                executions: 3,
                ..PhaseReport::default()
            }],
            ..Report::default()
        };
        let v = serde_json::to_value(&report).unwrap();
        for key in [
            "enabled",
            "uptime_s",
            "phases",
            "predictions",
            "anomalies",
            "patterns",
            "recommendations",
            "resources",
            "messages",
            "objectives",
            "memory",
            "runtime",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        let phase = &v["phases"][0];
        for key in [
            "name",
            "executions",
            "successes",
            "failures",
            "panics",
            "cancelled",
            "failure_rate",
            "duration_ms",
            "prediction",
        ] {
            assert!(phase.get(key).is_some(), "missing phases[].{key}");
        }
        assert!(phase["prediction"].is_null());
        for key in ["mean", "min", "max", "p50", "p90", "p99"] {
            assert!(phase["duration_ms"].get(key).is_some(), "missing {key}");
        }
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn the_design_example_deserialises() {
        let json = r#"{ "enabled": true, "uptime_s": 12.5,
          "phases": [ { "name": "build", "executions": 120, "successes": 110, "failures": 9,
                        "panics": 1, "cancelled": 1, "failure_rate": 0.075,
                        "duration_ms": {"mean": 41.2, "min": 30.1, "max": 97.0,
                                        "p50": 40.0, "p90": 52.3, "p99": 90.1},
                        "prediction": null } ],
          "predictions": {}, "anomalies": {}, "patterns": [], "recommendations": [],
          "resources": {}, "messages": {}, "objectives": {}, "memory": {}, "runtime": {} }"#;
        let report: Report = serde_json::from_str(json).unwrap();
        assert_eq!(report.phase("build").unwrap().failures, 9);
        let text = report.to_string();
        assert!(text.contains("build"), "{text}");
        assert!(text.contains("7.5%"), "{text}");
    }
}
