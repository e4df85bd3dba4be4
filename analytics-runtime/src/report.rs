//! The report types: one [`Report`] value with every figure the runtime has, serde both ways
//! (the JSON field names are a public contract) and a readable [`Display`](std::fmt::Display).

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
    pub patterns: Vec<serde_json::Value>,
    /// The optimizer's recommendations, highest priority first.
    #[serde(default)]
    pub recommendations: Vec<serde_json::Value>,
    /// Process resources (memory, CPU).
    #[serde(default)]
    pub resources: serde_json::Map<String, serde_json::Value>,
    /// Message rates per topic.
    #[serde(default)]
    pub messages: serde_json::Map<String, serde_json::Value>,
    /// Objective health.
    #[serde(default)]
    pub objectives: serde_json::Map<String, serde_json::Value>,
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
    /// The prediction for the next run, once enough history exists.
    pub prediction: Option<Prediction>,
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

/// Prediction counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictionsReport {
    /// Predictions made before a phase ran.
    #[serde(default)]
    pub made: u64,
    /// Predictions whose failure probability reached `predictive.confidence_threshold`.
    #[serde(default)]
    pub high_risk: u64,
}

/// Anomaly counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnomaliesReport {
    /// Anomalies detected since start.
    #[serde(default)]
    pub total: u64,
}

/// Memory the runtime holds, in bytes, by component.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryReport {
    /// Sum of `components`.
    pub total_bytes: u64,
    /// Bytes per component (e.g. `phases`: per-phase counters and run logs).
    pub components: BTreeMap<String, u64>,
}

/// The runtime's own health.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeReport {
    /// The `analytics-runtime` version that wrote this report.
    pub version: String,
    /// Internal errors caught before they could reach user code.
    pub errors_caught: u64,
    /// Distinct phase names registered.
    pub phases_registered: usize,
    /// Which parts of the runtime are switched on by the config.
    pub engines: BTreeMap<String, bool>,
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

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "phase analytics: {}, uptime {:.1} s, {} phases, {} executions",
            if self.enabled { "enabled" } else { "disabled" },
            self.uptime_s,
            self.phases.len(),
            self.total_executions()
        )?;
        if self.phases.is_empty() {
            return writeln!(f, "(no phase has run yet)");
        }
        let width = self
            .phases
            .iter()
            .map(|p| p.name.chars().count())
            .max()
            .unwrap_or(0)
            .max("phase".len());
        writeln!(
            f,
            "{:<width$} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6}",
            "phase",
            "runs",
            "ok",
            "fail",
            "panic",
            "cancel",
            "fail%",
            "mean ms",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "streak",
        )?;
        for p in &self.phases {
            let d = &p.duration_ms;
            writeln!(
                f,
                "{:<width$} {:>8} {:>8} {:>6} {:>6} {:>6} {:>5.1}% {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>6}",
                p.name,
                p.executions,
                p.successes,
                p.failures,
                p.panics,
                p.cancelled,
                p.failure_rate * 100.0,
                d.mean,
                d.p50,
                d.p90,
                d.p99,
                d.max,
                p.failure_streak,
            )?;
        }
        write!(
            f,
            "runtime: {} errors caught, {} bytes held",
            self.runtime.errors_caught, self.memory.total_bytes
        )
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
