//! A snapshot summarised per phase: how many runs it holds, how many failed, and their
//! durations.
//!
//! The snapshot types of `analytics-runtime` are crate-private, so the file is read as a
//! `serde_json::Value`: `{"phases": [{"name": "..", "runs": [[nanoseconds, "success"], ..]}]}`.

use std::fmt;

use analytics_runtime::{DurationStats, Outcome};

/// One phase of a snapshot.
#[derive(Debug)]
pub(crate) struct SnapshotPhase {
    /// The phase name.
    name: String,
    /// Runs held.
    runs: usize,
    /// Runs that failed or panicked.
    failures: usize,
    /// Durations of the runs that completed (cancelled runs excluded), in milliseconds.
    duration_ms: DurationStats,
}

/// Every phase of a snapshot, in file order.
#[derive(Debug)]
pub(crate) struct SnapshotTable {
    /// When the snapshot was written, in seconds since the Unix epoch.
    written_at: Option<f64>,
    /// The phases.
    phases: Vec<SnapshotPhase>,
}

impl SnapshotTable {
    /// Summarises a snapshot's JSON; the error says which part is malformed.
    pub(crate) fn from_value(value: &serde_json::Value) -> Result<Self, String> {
        let phases = value
            .get("phases")
            .and_then(serde_json::Value::as_array)
            .ok_or("`phases` is missing or not an array")?;
        let phases = phases
            .iter()
            .enumerate()
            .map(|(i, phase)| summarise(phase).map_err(|e| format!("phases[{i}]: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(SnapshotTable {
            written_at: value.get("written_at").and_then(serde_json::Value::as_f64),
            phases,
        })
    }
}

/// Summarises one `{"name": .., "runs": [[ns, outcome], ..]}` entry.
fn summarise(phase: &serde_json::Value) -> Result<SnapshotPhase, String> {
    let name = phase
        .get("name")
        .and_then(serde_json::Value::as_str)
        .ok_or("`name` is missing or not a string")?;
    let runs: Vec<(u64, Outcome)> = serde_json::from_value(
        phase
            .get("runs")
            .cloned()
            .ok_or_else(|| format!("phase `{name}`: `runs` is missing"))?,
    )
    .map_err(|e| format!("phase `{name}`: `runs`: {e}"))?;
    let mut completed: Vec<f64> = runs
        .iter()
        .filter(|(_, outcome)| *outcome != Outcome::Cancelled)
        .map(|&(nanos, _)| nanos as f64 / 1e6)
        .collect();
    Ok(SnapshotPhase {
        name: name.to_string(),
        runs: runs.len(),
        failures: runs.iter().filter(|(_, o)| o.is_failure()).count(),
        duration_ms: DurationStats::from_unsorted(&mut completed),
    })
}

impl fmt::Display for SnapshotTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs: usize = self.phases.iter().map(|p| p.runs).sum();
        write!(f, "snapshot: {} phases, {runs} runs", self.phases.len())?;
        match self.written_at {
            Some(t) => writeln!(f, ", written at {t:.0} s since the Unix epoch")?,
            None => writeln!(f)?,
        }
        if self.phases.is_empty() {
            return writeln!(f, "(no phase in this snapshot)");
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
            "{:<width$} {:>8} {:>8} {:>6} {:>9} {:>9} {:>9}",
            "phase", "runs", "fail", "fail%", "mean ms", "p50 ms", "p90 ms"
        )?;
        for p in &self.phases {
            let rate = if p.runs == 0 {
                0.0
            } else {
                p.failures as f64 / p.runs as f64 * 100.0
            };
            let d = &p.duration_ms;
            writeln!(
                f,
                "{:<width$} {:>8} {:>8} {:>5.1}% {:>9.2} {:>9.2} {:>9.2}",
                p.name, p.runs, p.failures, rate, d.mean, d.p50, d.p90
            )?;
        }
        Ok(())
    }
}
