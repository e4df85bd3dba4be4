//! The rules a configuration's values must follow.
//!
//! Holds [`Violation`] (one broken rule), the `Checker` that collects them,
//! and each section's `check` method. [`violations`] runs them all, in field
//! order, for [`AnalyticsConfig::violations`].

use std::fmt;

use super::{
    AnalyticsConfig, AnomalyConfig, ExportConfig, MemoryConfig, OptimizerConfig, PersistenceConfig,
    PredictiveConfig, ReportingConfig, ResourcesConfig, Thresholds,
};

/// One broken rule, found by [`AnalyticsConfig::validate`].
///
/// Displays as `anomaly.window_size: 0 is invalid: must be at least 2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Violation {
    /// Dotted path of the offending field, e.g. `anomaly.window_size`.
    pub field: String,
    /// The offending value as written in JSON, e.g. `0` or `NaN`.
    pub value: String,
    /// The rule it breaks, e.g. `must be at least 2`.
    pub rule: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} is invalid: {}",
            self.field, self.value, self.rule
        )
    }
}

/// Collects violations; each section's `check` reports into it.
#[derive(Default)]
struct Checker {
    found: Vec<Violation>,
}

impl Checker {
    fn report(&mut self, field: &str, value: String, rule: String) {
        self.found.push(Violation {
            field: field.to_owned(),
            value,
            rule,
        });
    }

    fn at_least<T: PartialOrd + fmt::Display>(&mut self, field: &str, value: T, min: T) {
        if value < min {
            self.report(field, value.to_string(), format!("must be at least {min}"));
        }
    }

    fn at_most<T: PartialOrd + fmt::Display>(&mut self, field: &str, value: T, max: T) {
        if value > max {
            self.report(field, value.to_string(), format!("must be at most {max}"));
        }
    }

    fn finite_positive(&mut self, field: &str, value: f64) {
        if !(value.is_finite() && value > 0.0) {
            self.report(
                field,
                float_text(value),
                "must be a finite number greater than 0".to_owned(),
            );
        }
    }

    /// An optional path that, when set, must end in a file name (`example` shows one).
    fn names_file(&mut self, field: &str, path: Option<&std::path::Path>, example: &str) {
        if let Some(path) = path.filter(|p| p.file_name().is_none()) {
            self.report(
                field,
                format!("{:?}", path.display().to_string()),
                format!("must name a file, e.g. \"{example}\""),
            );
        }
    }

    fn fraction(&mut self, field: &str, value: f64) {
        if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
            self.report(
                field,
                float_text(value),
                "must be a finite number from 0 to 1".to_owned(),
            );
        }
    }
}

/// `3.0`, `0.5`, `NaN`, `inf`, `-inf`: the way a user recognises the value.
fn float_text(value: f64) -> String {
    format!("{value:?}")
}

impl PredictiveConfig {
    fn check(&self, c: &mut Checker) {
        c.at_least("predictive.min_history", self.min_history, 1);
        c.fraction("predictive.confidence_threshold", self.confidence_threshold);
    }
}

impl AnomalyConfig {
    fn check(&self, c: &mut Checker) {
        c.at_least(
            "anomaly.window_size",
            self.window_size,
            Self::MIN_WINDOW_SIZE,
        );
        c.at_most(
            "anomaly.window_size",
            self.window_size,
            Self::MAX_WINDOW_SIZE,
        );
        c.finite_positive("anomaly.z_score_threshold", self.z_score_threshold);
        if !(self.score_threshold.is_finite()
            && self.score_threshold > 0.0
            && self.score_threshold <= 1.0)
        {
            c.report(
                "anomaly.score_threshold",
                float_text(self.score_threshold),
                "must be a finite number greater than 0 and at most 1".to_owned(),
            );
        }
    }
}

impl OptimizerConfig {
    fn check(&self, c: &mut Checker) {
        c.at_least("optimizer.interval", self.interval, 1);
    }
}

impl MemoryConfig {
    fn check(&self, c: &mut Checker) {
        c.at_least("memory.max_history_size", self.max_history_size, 1);
        c.at_least("memory.cleanup_interval", self.cleanup_interval, 1);
        c.at_least("memory.max_anomalies", self.max_anomalies, 1);
        c.at_least("memory.max_patterns", self.max_patterns, 1);
        c.at_least("memory.max_anomaly_keys", self.max_anomaly_keys, 1);
        c.at_least("memory.max_phases", self.max_phases, 1);
        c.at_least("memory.max_topics", self.max_topics, 1);
        c.at_least("memory.max_objectives", self.max_objectives, 1);
        c.at_least("memory.max_tasks", self.max_tasks, 1);
    }
}

impl ResourcesConfig {
    fn check(&self, c: &mut Checker) {
        c.at_least("resources.interval_ms", self.interval_ms, 10);
        c.at_most("resources.interval_ms", self.interval_ms, 3_600_000);
    }
}

impl PersistenceConfig {
    fn check(&self, c: &mut Checker) {
        c.names_file(
            "persistence.snapshot_path",
            self.snapshot_path.as_deref(),
            "analytics_snapshot.json",
        );
    }
}

impl ReportingConfig {
    fn check(&self, c: &mut Checker) {
        c.names_file(
            "reporting.json_path",
            self.json_path.as_deref(),
            "analytics_report.json",
        );
    }
}

impl ExportConfig {
    fn check(&self, c: &mut Checker) {
        if let Some(addr) = &self.prometheus_addr {
            let parsed = ExportConfig::parse_prometheus_addr(addr);
            if let Some(socket) = parsed.filter(|s| !s.ip().is_loopback()) {
                if !self.prometheus_allow_remote {
                    c.report(
                        "export.prometheus_addr",
                        format!("{addr:?}"),
                        format!(
                            "binds {}, which other machines can reach, and the endpoint has no \
                             authentication: bind a loopback address (e.g. {:?}) or set \
                             export.prometheus_allow_remote to true",
                            socket.ip(),
                            ExportConfig::DEFAULT_PROMETHEUS_ADDR
                        ),
                    );
                }
            }
            if parsed.is_none() {
                c.report(
                    "export.prometheus_addr",
                    format!("{addr:?}"),
                    format!(
                        "must be a socket address (IP:port), e.g. {:?}, or a port alone \
                         (on 127.0.0.1), e.g. \"9464\"",
                        ExportConfig::DEFAULT_PROMETHEUS_ADDR
                    ),
                );
            }
        }
    }
}

impl ExportConfig {
    fn check_buckets(&self, c: &mut Checker) {
        let buckets = &self.duration_buckets;
        let field = "export.duration_buckets";
        let shown = || format!("{buckets:?}");
        if buckets.is_empty() || buckets.len() > ExportConfig::MAX_DURATION_BUCKETS {
            c.report(
                field,
                shown(),
                format!(
                    "must have 1 to {} bounds (+Inf is implied)",
                    ExportConfig::MAX_DURATION_BUCKETS
                ),
            );
        } else if let Some(bad) = buckets.iter().find(|b| !(b.is_finite() && **b > 0.0)) {
            c.report(
                field,
                shown(),
                format!("{bad} is not a finite, positive number of seconds"),
            );
        } else if let Some(pair) = buckets.windows(2).find(|w| w[0] >= w[1]) {
            c.report(
                field,
                shown(),
                format!("must be strictly increasing ({} then {})", pair[0], pair[1]),
            );
        }
    }
}

impl Thresholds {
    fn check(&self, c: &mut Checker) {
        c.finite_positive("thresholds.phase_slow", self.phase_slow);
        c.finite_positive("thresholds.memory_high", self.memory_high);
        c.finite_positive("thresholds.cpu_high", self.cpu_high);
    }
}

/// Every broken rule of `config`, in field order; empty when it is valid.
pub(super) fn violations(config: &AnalyticsConfig) -> Vec<Violation> {
    let mut c = Checker::default();
    config.predictive.check(&mut c);
    // The predictor needs `min_history` samples, so that many must be
    // kept. Only meaningful when the bound itself is valid.
    if config.memory.max_history_size >= 1
        && config.predictive.min_history > config.memory.max_history_size
    {
        c.report(
            "predictive.min_history",
            config.predictive.min_history.to_string(),
            format!(
                "must be at most memory.max_history_size ({}), since the history it needs must be kept",
                config.memory.max_history_size
            ),
        );
    }
    config.anomaly.check(&mut c);
    config.optimizer.check(&mut c);
    config.memory.check(&mut c);
    config.thresholds.check(&mut c);
    config.resources.check(&mut c);
    config.reporting.check(&mut c);
    config.persistence.check(&mut c);
    config.export.check(&mut c);
    config.export.check_buckets(&mut c);
    c.found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{assert_contains, parse_err};

    fn violation_fields(config: &AnalyticsConfig) -> Vec<String> {
        config.violations().into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn out_of_range_number_is_a_violation_naming_the_field() {
        let err = parse_err(r#"{"anomaly": {"window_size": 0}}"#);
        assert_eq!(err.field(), Some("anomaly.window_size"));
        assert_eq!(
            err.violations(),
            [Violation {
                field: "anomaly.window_size".into(),
                value: "0".into(),
                rule: "must be at least 2".into(),
            }]
        );
        assert_eq!(
            err.to_string(),
            "anomaly.window_size: 0 is invalid: must be at least 2"
        );
        assert_eq!(err.line(), None);

        let err = parse_err(r#"{"predictive": {"confidence_threshold": 1.5}}"#);
        assert_eq!(err.field(), Some("predictive.confidence_threshold"));
        assert_contains(&err, &["1.5 is invalid", "from 0 to 1"]);
    }

    #[test]
    fn nan_threshold_set_in_code_is_a_violation() {
        let mut config = AnalyticsConfig::default();
        config.thresholds.phase_slow = f64::NAN;
        let err = config.validate().unwrap_err();
        assert_eq!(err.field(), Some("thresholds.phase_slow"));
        assert_eq!(
            err.to_string(),
            "thresholds.phase_slow: NaN is invalid: must be a finite number greater than 0"
        );
    }

    #[test]
    fn file_paths_must_name_a_file() {
        let mut config = AnalyticsConfig::default();
        config.reporting.json_path = Some("reports/..".into());
        config.persistence.snapshot_path = Some("/".into());
        let found = violations(&config);
        let fields: Vec<&str> = found.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["reporting.json_path", "persistence.snapshot_path"]);
        assert_eq!(
            found[0].to_string(),
            "reporting.json_path: \"reports/..\" is invalid: must name a file, e.g. \"analytics_report.json\""
        );
        config.reporting.json_path = Some("reports/today.json".into());
        config.persistence.snapshot_path = Some("snapshot.json".into());
        assert!(violations(&config).is_empty());
    }

    #[test]
    fn validate_reports_every_violation_at_once() {
        let mut config = AnalyticsConfig::default();
        config.predictive.min_history = 0;
        config.predictive.confidence_threshold = f64::NAN;
        config.anomaly.window_size = 1;
        config.anomaly.z_score_threshold = 0.0;
        config.optimizer.interval = 0;
        config.memory.max_history_size = 0;
        config.memory.cleanup_interval = 0;
        config.thresholds.phase_slow = -1.0;
        config.thresholds.memory_high = f64::INFINITY;
        config.thresholds.cpu_high = f64::NEG_INFINITY;
        let err = config.validate().unwrap_err();
        let fields: Vec<&str> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "predictive.min_history",
                "predictive.confidence_threshold",
                "anomaly.window_size",
                "anomaly.z_score_threshold",
                "optimizer.interval",
                "memory.max_history_size",
                "memory.cleanup_interval",
                "thresholds.phase_slow",
                "thresholds.memory_high",
                "thresholds.cpu_high",
            ]
        );
        assert_eq!(err.to_string().matches("; ").count(), 9);
        let values: Vec<&str> = err.violations().iter().map(|v| v.value.as_str()).collect();
        assert_eq!(
            values,
            ["0", "NaN", "1", "0.0", "0", "0", "0", "-1.0", "inf", "-inf"]
        );
    }

    #[test]
    fn each_rule_and_its_boundaries() {
        type Edit = fn(&mut AnalyticsConfig);
        let bad: [(Edit, &str, &str); 12] = [
            (
                |c| c.predictive.min_history = 1001,
                "predictive.min_history",
                "memory.max_history_size (1000)",
            ),
            (
                |c| c.predictive.confidence_threshold = -0.1,
                "predictive.confidence_threshold",
                "from 0 to 1",
            ),
            (
                |c| c.predictive.confidence_threshold = 1.01,
                "predictive.confidence_threshold",
                "from 0 to 1",
            ),
            (
                |c| c.anomaly.window_size = 1_000_001,
                "anomaly.window_size",
                "at most 1000000",
            ),
            (
                |c| c.anomaly.z_score_threshold = -3.0,
                "anomaly.z_score_threshold",
                "greater than 0",
            ),
            (
                |c| c.anomaly.z_score_threshold = f64::NAN,
                "anomaly.z_score_threshold",
                "finite",
            ),
            (
                |c| c.optimizer.interval = 0,
                "optimizer.interval",
                "at least 1",
            ),
            (
                |c| c.memory.max_history_size = 0,
                "memory.max_history_size",
                "at least 1",
            ),
            (
                |c| c.memory.cleanup_interval = 0,
                "memory.cleanup_interval",
                "at least 1",
            ),
            (
                |c| c.thresholds.phase_slow = 0.0,
                "thresholds.phase_slow",
                "greater than 0",
            ),
            (
                |c| c.thresholds.memory_high = -0.0,
                "thresholds.memory_high",
                "greater than 0",
            ),
            (
                |c| c.thresholds.cpu_high = f64::INFINITY,
                "thresholds.cpu_high",
                "finite",
            ),
        ];
        for (edit, field, rule) in bad {
            let mut config = AnalyticsConfig::default();
            edit(&mut config);
            let violations = config.violations();
            assert_eq!(violations.len(), 1, "{violations:?}");
            assert_eq!(violations[0].field, field);
            assert!(violations[0].rule.contains(rule), "{:?}", violations[0]);
        }

        let good: [Edit; 8] = [
            |c| c.predictive.confidence_threshold = 0.0,
            |c| c.predictive.confidence_threshold = 1.0,
            |c| c.predictive.min_history = 1,
            |c| c.predictive.min_history = 1000,
            |c| c.anomaly.window_size = 2,
            |c| c.anomaly.window_size = 1_000_000,
            |c| c.anomaly.z_score_threshold = f64::MIN_POSITIVE,
            |c| {
                c.memory.max_history_size = 1;
                c.predictive.min_history = 1;
                c.memory.cleanup_interval = 1;
                c.optimizer.interval = 1;
            },
        ];
        for edit in good {
            let mut config = AnalyticsConfig::default();
            edit(&mut config);
            assert_eq!(
                violation_fields(&config),
                Vec::<String>::new(),
                "{config:?}"
            );
        }
    }

    #[test]
    fn rules_apply_to_disabled_sections_too() {
        let mut config = AnalyticsConfig::disabled();
        config.anomaly.enabled = false;
        config.anomaly.window_size = 0;
        assert_eq!(violation_fields(&config), ["anomaly.window_size"]);
    }

    #[test]
    fn export_address_must_be_a_socket_address() {
        let err = parse_err(r#"{"export": {"prometheus_addr": "localhost"}}"#);
        assert_eq!(err.field(), Some("export.prometheus_addr"));
        assert_contains(&err, &["\"localhost\"", "socket address", "127.0.0.1:9464"]);
        for good in ["127.0.0.1:9464", "127.0.0.2:0", "[::1]:9100"] {
            let json = format!(r#"{{"export": {{"prometheus_addr": "{good}"}}}}"#);
            let config = AnalyticsConfig::from_json_str(&json).unwrap();
            assert_eq!(
                config.export.prometheus_socket_addr(),
                Some(good.parse().unwrap())
            );
        }
        // A port alone listens on loopback only.
        for (port, bound) in [("9464", "127.0.0.1:9464"), (":9100", "127.0.0.1:9100")] {
            let json = format!(r#"{{"export": {{"prometheus_addr": "{port}"}}}}"#);
            let config = AnalyticsConfig::from_json_str(&json).unwrap();
            assert_eq!(
                config.export.prometheus_socket_addr(),
                Some(bound.parse().unwrap())
            );
        }
        for bad in ["70000", ":", "host:9464", "-1", ""] {
            let json = format!(r#"{{"export": {{"prometheus_addr": "{bad}"}}}}"#);
            let err = parse_err(&json);
            assert_eq!(err.field(), Some("export.prometheus_addr"), "{bad}");
        }
        assert_eq!(
            AnalyticsConfig::default().export.prometheus_socket_addr(),
            None
        );
    }

    /// Issue 13.7: an endpoint without authentication is reachable from other machines only
    /// on an explicit opt-in.
    #[test]
    fn a_non_loopback_endpoint_needs_the_opt_in() {
        for addr in ["0.0.0.0:9464", "[::]:9464", "192.168.1.5:9100"] {
            let json = format!(r#"{{"export": {{"prometheus_addr": "{addr}"}}}}"#);
            let err = parse_err(&json);
            assert_eq!(err.field(), Some("export.prometheus_addr"), "{addr}");
            assert_contains(&err, &["export.prometheus_allow_remote", "loopback"]);
            let json = format!(
                r#"{{"export": {{"prometheus_addr": "{addr}", "prometheus_allow_remote": true}}}}"#
            );
            let config = AnalyticsConfig::from_json_str(&json).unwrap();
            assert_eq!(
                config.export.prometheus_socket_addr(),
                Some(addr.parse().unwrap())
            );
        }
    }

    #[test]
    fn duration_buckets_must_be_increasing_positive_seconds() {
        for (buckets, rule) in [
            ("[]", "1 to 64"),
            ("[0.1, 0.1]", "strictly increasing"),
            ("[1, 0.5]", "strictly increasing"),
            ("[0, 1]", "finite, positive"),
            ("[-1]", "finite, positive"),
        ] {
            let json = format!(r#"{{"export": {{"duration_buckets": {buckets}}}}}"#);
            let err = parse_err(&json);
            assert_eq!(err.field(), Some("export.duration_buckets"), "{buckets}");
            assert_contains(&err, &[rule]);
        }
        let too_many: Vec<f64> = (1..=65).map(f64::from).collect();
        let mut config = AnalyticsConfig::default();
        config.export.duration_buckets = too_many;
        assert_eq!(violation_fields(&config), ["export.duration_buckets"]);
        let config =
            AnalyticsConfig::from_json_str(r#"{"export": {"duration_buckets": [0.5, 1, 60]}}"#)
                .unwrap();
        assert_eq!(config.export.duration_buckets, [0.5, 1.0, 60.0]);
    }
}
