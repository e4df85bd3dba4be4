//! The readable form of a [`Report`]: a phase table, then the predictions, anomalies,
//! recommendations and monitors sections that have something to say, then one line about the
//! runtime itself.

use std::fmt;

use super::Report;

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
        self.fmt_predictions(f)?;
        self.fmt_anomalies(f)?;
        self.fmt_recommendations(f)?;
        self.fmt_monitors(f)?;
        write!(
            f,
            "runtime: {} runs analysed, {} errors caught, {} bytes held",
            self.runtime.runs_analysed, self.runtime.errors_caught, self.memory.total_bytes
        )?;
        if let Some(error) = &self.runtime.last_snapshot_write_error {
            write!(
                f,
                "\nsnapshot writes failed: {} (last: {error})",
                self.runtime.snapshot_write_errors
            )?;
        }
        Ok(())
    }
}

/// `Some(x)` as `x` with `digits` decimals, `None` as `-`.
fn opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

impl Report {
    fn fmt_predictions(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let predicted: Vec<_> = self
            .phases
            .iter()
            .filter_map(|p| p.prediction.map(|pr| (p, pr)))
            .collect();
        if predicted.is_empty() {
            return Ok(());
        }
        let a = &self.predictions.accuracy;
        writeln!(
            f,
            "\npredictions for the next run ({} made, {} high-risk; brier {}, skill {}, \
             duration error {}, p90 coverage {}):",
            self.predictions.made,
            self.predictions.high_risk,
            opt(a.brier, 3),
            opt(a.brier_skill, 2),
            a.duration_mape
                .map_or_else(|| "-".to_string(), |v| format!("{:.0}%", v * 100.0)),
            opt(a.p90_coverage, 2),
        )?;
        for (p, pr) in predicted {
            writeln!(
                f,
                "  {:<20} fail {:>5.1}%  expect {:>9.2} ms  p90 {:>9.2} ms  confidence {:.2}",
                p.name,
                pr.failure_probability * 100.0,
                pr.expected_ms,
                pr.p90_ms,
                pr.confidence
            )?;
        }
        Ok(())
    }

    fn fmt_anomalies(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.anomalies;
        if a.total == 0 {
            return Ok(());
        }
        let s = &a.by_severity;
        writeln!(
            f,
            "\nanomalies: {} ({} critical, {} high, {} medium, {} low); latest:",
            a.total, s.critical, s.high, s.medium, s.low
        )?;
        for anomaly in a.recent.iter().rev().take(5) {
            writeln!(
                f,
                "  {:<8} {:<30} value {:>10.3}  z {:>6.2}  score {:.2}",
                anomaly.severity.to_string(),
                anomaly.key,
                anomaly.value,
                anomaly.z_score,
                anomaly.score
            )?;
            if !anomaly.evidence.is_empty() {
                writeln!(f, "           {}", anomaly.evidence)?;
            }
        }
        // One stall slowing several phases at once is one finding, not several.
        for finding in a.findings.iter().rev().filter(|g| g.count > 1).take(5) {
            writeln!(
                f,
                "  finding: {} anomalies at the same instant ({}), worst {} (score {:.2}); {}",
                finding.count,
                finding.keys.join(", "),
                finding.severity,
                finding.score,
                finding.evidence
            )?;
        }
        for p in &self.patterns {
            writeln!(
                f,
                "  pattern: {} anomalies on {} over {:.1} s (worst {})",
                p.count,
                p.key,
                (p.last - p.first).max(0.0),
                p.max_severity
            )?;
        }
        Ok(())
    }

    fn fmt_monitors(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.resources;
        if r.samples > 0 {
            writeln!(
                f,
                "\nresources: RSS {:.1} MB (peak {:.1}), CPU {:.0}% (mean {:.0}%) over {} samples",
                r.rss_mb, r.peak_rss_mb, r.cpu_percent, r.mean_cpu_percent, r.samples
            )?;
        }
        let m = &self.messages;
        if m.total > 0 {
            writeln!(
                f,
                "\nmessages: {} ({} bytes) on {} topics",
                m.total,
                m.bytes,
                m.topics.len()
            )?;
            for t in m.topics.iter().take(5) {
                writeln!(
                    f,
                    "  {:<30} {:>9} msgs  {:>9.1}/s now  {:>9.1}/s mean",
                    t.topic, t.count, t.rate_per_s, t.mean_rate_per_s
                )?;
            }
        }
        if !self.objectives.objectives.is_empty() {
            writeln!(f, "\nobjectives (least healthy first):")?;
            for o in self.objectives.objectives.iter().take(5) {
                let progress = o
                    .progress
                    .map_or_else(String::new, |p| format!(", {:.0}% done", p * 100.0));
                writeln!(
                    f,
                    "  {:<30} health {:.2} (mean {:.2}, min {:.2}){progress}",
                    o.name, o.health, o.mean_health, o.min_health
                )?;
            }
        }
        if !self.tasks.tasks.is_empty() || !self.tasks.quality.is_empty() {
            writeln!(f, "\ntasks:")?;
            for t in self.tasks.tasks.iter().take(5) {
                writeln!(
                    f,
                    "  {:<30} {:>7} done  {:>5.1}% ok  p50 {:>8.2} ms  p90 {:>8.2} ms",
                    t.name,
                    t.count,
                    t.success_rate * 100.0,
                    t.duration_ms.p50,
                    t.duration_ms.p90
                )?;
            }
            for q in self.tasks.quality.iter().take(5) {
                writeln!(
                    f,
                    "  quality {:<22} last {:.3}  mean {:.3}  [{:.3}, {:.3}]",
                    q.metric, q.last, q.mean, q.min, q.max
                )?;
            }
        }
        Ok(())
    }

    fn fmt_recommendations(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.recommendations.is_empty() {
            return Ok(());
        }
        writeln!(f, "\nrecommendations:")?;
        for r in &self.recommendations {
            writeln!(
                f,
                "  [{:?}] {} (est. gain {:.0} ms)",
                r.priority, r.message, r.estimated_gain_ms
            )?;
        }
        Ok(())
    }
}
