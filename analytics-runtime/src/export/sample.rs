//! The report the exporters' unit tests encode: two phases (one predicted, one whose name
//! needs escaping), anomalies, memory, resources (a NaN among them), one objective and one
//! runtime error.

use crate::report::{
    AnomaliesReport, BySeverity, ObjectiveReport, ObjectivesReport, PhaseReport,
    PredictionAccuracy, PredictionsReport, Report, ResourcesReport, RuntimeReport,
};
use crate::stats::DurationStats;

/// A small report: two phases (one predicted), anomalies, memory, resources, one
/// objective, one runtime error.
pub(super) fn sample() -> Report {
    let build = PhaseReport {
        name: "build".into(),
        executions: 3,
        successes: 2,
        failures: 1,
        panics: 1,
        cancelled: 0,
        failure_rate: 1.0 / 3.0,
        duration_ms: DurationStats {
            mean: 20.0,
            min: 10.0,
            max: 30.0,
            p50: 20.0,
            p90: 28.0,
            p99: 29.8,
            std_dev: 8.0,
        },
        prediction: Some(crate::Prediction {
            failure_probability: 0.25,
            expected_ms: 21.0,
            p90_ms: 29.0,
            confidence: 0.5,
            based_on: 3,
        }),
        total_ms: 60.0,
        window_runs: 3,
        // 10 ms, 20 ms and 30 ms.
        histogram: Some(crate::DurationHistogram {
            bounds_s: vec![0.01, 0.025],
            counts: vec![1, 1, 1],
            sum_s: 0.06,
            count: 3,
        }),
        site: Some(crate::report::SiteReport {
            module_path: "app::pipeline".into(),
            file: "src/pipeline.rs".into(),
            line: 7,
        }),
        ..PhaseReport::default()
    };
    let quoted = PhaseReport {
        name: "say \"hi\"\\n\nnow".into(),
        executions: 1,
        successes: 1,
        window_runs: 1,
        ..PhaseReport::default()
    };
    Report {
        enabled: true,
        uptime_s: 2.5,
        phases: vec![build, quoted],
        predictions: PredictionsReport {
            made: 4,
            high_risk: 1,
            accuracy: PredictionAccuracy {
                brier: Some(0.125),
                scored: 4,
                ..PredictionAccuracy::default()
            },
        },
        anomalies: AnomaliesReport {
            total: 3,
            by_severity: BySeverity {
                low: 2,
                medium: 0,
                high: 1,
                critical: 0,
            },
            recent: Vec::new(),
            findings: Vec::new(),
        },
        resources: ResourcesReport {
            monitored: true,
            interval_ms: 1000,
            samples: 5,
            rss_mb: 2.0,
            peak_rss_mb: 3.0,
            cpu_percent: 50.0,
            mean_cpu_percent: f64::NAN,
            cpu_seconds: 1.5,
        },
        objectives: ObjectivesReport {
            objectives: vec![ObjectiveReport {
                name: "latency".into(),
                health: 0.75,
                updates: 2,
                ..ObjectiveReport::default()
            }],
            overflowed: 0,
        },
        memory: crate::report::MemoryReport {
            total_bytes: 1536,
            components: [("registry".to_owned(), 1024), ("engine".to_owned(), 512)].into(),
            ..Default::default()
        },
        runtime: RuntimeReport {
            version: "0.1.0".into(),
            errors_caught: 2,
            errors_by_component: [("anomaly".to_owned(), 2)].into(),
            ..RuntimeReport::default()
        },
        ..Report::default()
    }
}
