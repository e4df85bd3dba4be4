//! The memory manager's bookkeeping: the caps in force and the statistics of the periodic
//! cleanup (every `memory.cleanup_interval` runs, on the engine's worker, never on the hot
//! path). What each component holds is measured by the component itself, from capacities.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::AnalyticsConfig;
use crate::report::CleanupReport;

/// What the cleanup passes did so far.
#[derive(Debug, Default)]
pub(crate) struct CleanupStats {
    runs: u64,
    items_removed: BTreeMap<&'static str, u64>,
    bytes_freed: u64,
    last: Duration,
}

impl CleanupStats {
    /// Records one pass: items removed per component, bytes freed and how long it took.
    pub(crate) fn record_pass(
        &mut self,
        removed: &[(&'static str, usize)],
        freed: usize,
        took: Duration,
    ) {
        self.runs += 1;
        for (component, n) in removed {
            *self.items_removed.entry(component).or_default() += *n as u64;
        }
        self.bytes_freed = self.bytes_freed.saturating_add(freed as u64);
        self.last = took;
    }

    /// The `memory.cleanup` section of the report.
    pub(crate) fn report(&self) -> CleanupReport {
        CleanupReport {
            runs: self.runs,
            items_removed: self
                .items_removed
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
            bytes_freed: self.bytes_freed,
            last_ms: self.last.as_secs_f64() * 1e3,
        }
    }
}

/// The caps in force, for the report's `memory.limits`.
pub(crate) fn limits(config: &AnalyticsConfig) -> BTreeMap<String, u64> {
    let m = &config.memory;
    [
        ("max_history_size", m.max_history_size as u64),
        ("window_size", config.anomaly.window_size as u64),
        ("max_phases", m.max_phases as u64),
        ("max_topics", m.max_topics as u64),
        ("max_objectives", m.max_objectives as u64),
        ("max_tasks", m.max_tasks as u64),
        ("max_anomaly_keys", m.max_anomaly_keys as u64),
        ("max_anomalies", m.max_anomalies as u64),
        ("max_patterns", m.max_patterns as u64),
        ("idle_timeout_secs", m.idle_timeout_secs),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_add_up_per_component() {
        let mut stats = CleanupStats::default();
        stats.record_pass(
            &[("topics", 3), ("tasks", 0)],
            1000,
            Duration::from_micros(1500),
        );
        stats.record_pass(&[("topics", 2)], 24, Duration::from_micros(500));
        let report = stats.report();
        assert_eq!(report.runs, 2);
        assert_eq!(report.items_removed["topics"], 5);
        assert_eq!(report.items_removed["tasks"], 0);
        assert_eq!(report.bytes_freed, 1024);
        assert!((report.last_ms - 0.5).abs() < 1e-9);
    }

    #[test]
    fn limits_name_every_cap() {
        let limits = limits(&AnalyticsConfig::default());
        assert_eq!(limits["max_topics"], 1000);
        assert_eq!(limits["max_history_size"], 1000);
        assert_eq!(limits.len(), 10);
    }
}
