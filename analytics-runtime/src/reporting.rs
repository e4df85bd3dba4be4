//! Periodic reports: every `reporting.interval_executions` executions or
//! `reporting.interval_secs` seconds, a compact summary goes to `tracing` (info, target
//! `analytics_runtime::report`) and, when `reporting.json_path` is set, the full report is
//! written to that file atomically, so a reader never sees half a file.
//!
//! The [`Schedule`] (behind the runtime's schedule lock) only decides when a report is due and
//! counts the files; [`emit`] runs with no lock held, since the event runs the subscriber's
//! layers (user code, which may call back into the runtime) and the file is written and synced
//! (issue 13: a layer calling `report()` on this event deadlocked on the schedule lock).

use std::time::{Duration, Instant};

use crate::atomic_file;
use crate::config::ReportingConfig;
use crate::report::Report;

/// When the next periodic report is due.
#[derive(Debug)]
pub(crate) struct Schedule {
    next_executions: u64,
    last: Instant,
    written: u64,
    write_errors: u64,
}

impl Schedule {
    pub(crate) fn new(config: &ReportingConfig) -> Schedule {
        Schedule {
            next_executions: config.interval_executions,
            last: Instant::now(),
            written: 0,
            write_errors: 0,
        }
    }

    /// Whether a report is due after `executions` runs at `now`; if so, schedules the next.
    pub(crate) fn due(&mut self, config: &ReportingConfig, executions: u64, now: Instant) -> bool {
        let by_count = config.interval_executions > 0 && executions >= self.next_executions;
        let by_time = config.interval_secs > 0
            && now.duration_since(self.last) >= Duration::from_secs(config.interval_secs);
        if !(by_count || by_time) {
            return false;
        }
        if config.interval_executions > 0 {
            let every = config.interval_executions;
            self.next_executions = (executions / every + 1) * every;
        }
        self.last = now;
        true
    }

    /// Counts one report file written (`true`) or failed (`false`).
    pub(crate) fn count(&mut self, written: bool) {
        if written {
            self.written += 1;
        } else {
            self.write_errors += 1;
        }
    }

    /// Report files written, and failed writes.
    pub(crate) fn files(&self) -> (u64, u64) {
        (self.written, self.write_errors)
    }
}

/// Emits `report`: the summary event, and the JSON file if configured; returns whether the
/// file was written (`None`: no file configured). Call it with no runtime lock held.
pub(crate) fn emit(config: &ReportingConfig, report: &Report) -> Option<bool> {
    let failures: u64 = report.phases.iter().map(|p| p.failures).sum();
    let top = report
        .recommendations
        .first()
        .map_or("", |r| r.message.as_str());
    tracing::info!(
        target: "analytics_runtime::report",
        phases = report.phases.len(),
        executions = report.total_executions(),
        failures,
        high_risk = report.predictions.high_risk,
        anomalies = report.anomalies.total,
        recommendations = report.recommendations.len(),
        rss_mb = report.resources.rss_mb,
        memory_bytes = report.memory.total_bytes,
        top_recommendation = top,
        "analytics report: {} executions over {} phases, {} failures, {} anomalies",
        report.total_executions(),
        report.phases.len(),
        failures,
        report.anomalies.total,
    );
    let path = config.json_path.as_ref()?;
    let written = serde_json::to_vec_pretty(report)
        .map_err(std::io::Error::other)
        .and_then(|json| atomic_file::write_atomic(path, &json));
    if let Err(error) = &written {
        tracing::warn!(
            target: "analytics_runtime::report",
            path = %path.display(),
            %error,
            "cannot write the periodic report"
        );
    }
    Some(written.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_by_count_and_by_time() {
        let config = ReportingConfig {
            interval_executions: 100,
            interval_secs: 0,
            json_path: None,
        };
        let start = Instant::now();
        let mut s = Schedule::new(&config);
        assert!(!s.due(&config, 99, start));
        assert!(s.due(&config, 100, start));
        assert!(!s.due(&config, 150, start));
        // A jump over several intervals gives one report, and the next is at the next multiple.
        assert!(s.due(&config, 420, start));
        assert!(!s.due(&config, 499, start));
        assert!(s.due(&config, 500, start));

        let config = ReportingConfig {
            interval_executions: 0,
            interval_secs: 60,
            json_path: None,
        };
        let mut s = Schedule::new(&config);
        let t0 = s.last;
        assert!(!s.due(&config, 1_000_000, t0 + Duration::from_secs(59)));
        assert!(s.due(&config, 1_000_000, t0 + Duration::from_secs(60)));
        assert!(!s.due(&config, 1_000_000, t0 + Duration::from_secs(100)));
    }

    #[test]
    fn both_triggers_off_never_reports() {
        let config = ReportingConfig {
            interval_executions: 0,
            interval_secs: 0,
            json_path: None,
        };
        let mut s = Schedule::new(&config);
        assert!(!s.due(
            &config,
            u64::MAX,
            Instant::now() + Duration::from_secs(1 << 30)
        ));
    }

    #[test]
    fn the_json_file_is_always_a_complete_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let config = ReportingConfig {
            interval_executions: 1,
            interval_secs: 0,
            json_path: Some(path.clone()),
        };
        let mut s = Schedule::new(&config);
        let mut report = Report::default();
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut complete = 0;
                for _ in 0..200 {
                    if let Ok(text) = std::fs::read(&path) {
                        let parsed: Report = serde_json::from_slice(&text)
                            .expect("a reader never sees half a report");
                        assert!(parsed.uptime_s >= 0.0);
                        complete += 1;
                    }
                }
                complete
            });
            for i in 0..100 {
                report.uptime_s = f64::from(i);
                report.phases = (0..i)
                    .map(|n| crate::report::PhaseReport {
                        name: format!("phase{n}"),
                        ..Default::default()
                    })
                    .collect();
                s.count(emit(&config, &report).unwrap());
            }
            let _ = reader.join().unwrap();
        });
        assert_eq!(s.files(), (100, 0));
        let last: Report = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(last.uptime_s, 99.0);
    }
}
