//! JSON configuration of the analytics runtime.
//!
//! The configuration is one JSON object. Every key is optional: a missing
//! key keeps its default, so `{}` is the complete default configuration.
//! Unknown keys are rejected (a misspelt key would otherwise be silently
//! ignored), and every value is checked by [`AnalyticsConfig::validate`].
//!
//! The complete default document:
//!
//! ```json
//! { "enabled": true,
//!   "predictive": {"enabled": true, "min_history": 10, "confidence_threshold": 0.5},
//!   "anomaly":    {"enabled": true, "window_size": 100, "z_score_threshold": 3.0},
//!   "optimizer":  {"enabled": true, "interval": 100},
//!   "memory":     {"max_history_size": 1000, "cleanup_interval": 500},
//!   "thresholds": {"phase_slow": 600.0, "memory_high": 2048.0, "cpu_high": 80.0} }
//! ```
//!
//! Every failure is a [`ConfigError`] whose message names what is wrong
//! (the file, the dotted field path such as `anomaly.window_size`, the line
//! and column, the broken rule) so that a user can fix it without reading
//! code.
//!
//! # Layout
//!
//! This module holds the schema (the section structs and their defaults)
//! and the public API. The rest lives in private submodules, one concept
//! each: `rules` (the [`Violation`] type and every section's rules),
//! `error` ([`ConfigError`] and its messages), `parse` (text to config, and
//! serde's errors to [`ConfigError`]) and `suggest` (did-you-mean
//! suggestions for unknown keys).
//!
//! # Adding a section
//!
//! 1. Write the section struct here with the same derives and
//!    `#[serde(default, deny_unknown_fields)]` and a documented `Default`
//!    impl; in `rules`, give it a `check(&self, c: &mut Checker)` method
//!    that reports its rules with dotted field names (`"section.field"`).
//! 2. Add it as a `pub` field of [`AnalyticsConfig`] with
//!    `#[serde(deserialize_with = "object_only")]` (this rejects a JSON
//!    array in place of the object) and call its `check` from
//!    `rules::violations` (which [`AnalyticsConfig::violations`] calls).
//!
//! Because the container has `#[serde(default)]`, the new section is
//! optional in existing files; unknown-field suggestions and the tests that
//! walk the schema pick it up from its `Default` automatically.

mod error;
mod parse;
mod rules;
mod suggest;

use std::fs;
use std::io;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use self::parse::{object_only, parse_bytes, parse_str};
use crate::atomic_file;

pub use self::error::ConfigError;
pub use self::rules::Violation;

// ---------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------

/// The whole analytics configuration, as read from a JSON file.
///
/// All keys are optional (missing ones keep their defaults), unknown keys
/// are errors, and values are checked by [`AnalyticsConfig::validate`]
/// whenever a configuration is loaded or parsed.
///
/// # Example
///
/// ```
/// use analytics_runtime::config::AnalyticsConfig;
///
/// // Missing keys keep their defaults.
/// let config: AnalyticsConfig = r#"{"anomaly": {"window_size": 50}}"#.parse()?;
/// assert_eq!(config.anomaly.window_size, 50);
/// assert_eq!(config.predictive.min_history, 10);
///
/// // Errors name the field, the position and a likely fix.
/// let err = AnalyticsConfig::from_json_str(r#"{"anomaly": {"windw_size": 50}}"#).unwrap_err();
/// assert_eq!(err.field(), Some("anomaly.windw_size"));
/// assert_eq!(err.suggestion(), Some("window_size"));
///
/// // Out-of-range values are all reported at once.
/// let mut config = AnalyticsConfig::default();
/// config.anomaly.window_size = 0;
/// config.thresholds.cpu_high = f64::NAN;
/// let err = config.validate().unwrap_err();
/// assert_eq!(err.violations().len(), 2);
/// # Ok::<(), analytics_runtime::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// Master switch: `false` turns all analytics off (the sections keep
    /// their settings). Default: `true`.
    pub enabled: bool,
    /// Prediction of phase durations from their history.
    /// Default: see [`PredictiveConfig`].
    #[serde(deserialize_with = "object_only")]
    pub predictive: PredictiveConfig,
    /// Detection of anomalous measurements. Default: see [`AnomalyConfig`].
    #[serde(deserialize_with = "object_only")]
    pub anomaly: AnomalyConfig,
    /// Periodic optimisation passes. Default: see [`OptimizerConfig`].
    #[serde(deserialize_with = "object_only")]
    pub optimizer: OptimizerConfig,
    /// Bounds on the history kept in memory. Default: see [`MemoryConfig`].
    #[serde(deserialize_with = "object_only")]
    pub memory: MemoryConfig,
    /// Limits above which a measurement is reported. Default: see
    /// [`Thresholds`].
    #[serde(deserialize_with = "object_only")]
    pub thresholds: Thresholds,
    /// Background sampling of the process's memory and CPU. Default: see
    /// [`ResourcesConfig`].
    #[serde(deserialize_with = "object_only")]
    pub resources: ResourcesConfig,
    /// Periodic summaries to `tracing` and to a JSON file. Default: see
    /// [`ReportingConfig`].
    #[serde(deserialize_with = "object_only")]
    pub reporting: ReportingConfig,
    /// Snapshots of the history predictions rest on, restored at `init`.
    /// Default: see [`PersistenceConfig`].
    #[serde(deserialize_with = "object_only")]
    pub persistence: PersistenceConfig,
    /// Export of the figures to other systems (the Prometheus endpoint).
    /// Default: see [`ExportConfig`].
    #[serde(deserialize_with = "object_only")]
    pub export: ExportConfig,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            predictive: PredictiveConfig::default(),
            anomaly: AnomalyConfig::default(),
            optimizer: OptimizerConfig::default(),
            memory: MemoryConfig::default(),
            thresholds: Thresholds::default(),
            resources: ResourcesConfig::default(),
            reporting: ReportingConfig::default(),
            persistence: PersistenceConfig::default(),
            export: ExportConfig::default(),
        }
    }
}

/// Settings of the predictor (JSON key `predictive`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PredictiveConfig {
    /// Whether predictions are made. Default: `true`.
    pub enabled: bool,
    /// Number of past samples needed before a prediction is made.
    /// Default: `10`. Rule: at least 1 and at most
    /// `memory.max_history_size` (the history it needs must be kept).
    pub min_history: usize,
    /// Failure probability (a fraction, 0 to 1) at or above which a
    /// prediction is high-risk: counted in `predictions.high_risk` and logged
    /// as a `tracing` warning. Default: `0.5`. Rule: finite, between 0 and 1
    /// inclusive.
    pub confidence_threshold: f64,
}

impl Default for PredictiveConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_history: 10,
            confidence_threshold: 0.5,
        }
    }
}

/// Settings of the anomaly detector (JSON key `anomaly`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnomalyConfig {
    /// Whether anomalies are detected. Default: `true`.
    pub enabled: bool,
    /// Number of recent samples (a count) the mean and standard deviation
    /// are computed over. Default: `100`. Rule: from 2 to 1 000 000.
    pub window_size: usize,
    /// Distance from the mean, in standard deviations, beyond which a
    /// sample's z-score is flagged (`z_alert`, reported as evidence; whether it
    /// is an anomaly is decided by `score_threshold`, since a z rule flags far
    /// more than 0.27 % of skewed durations). Default: `3.0`. Rule: finite and
    /// greater than 0.
    pub z_score_threshold: f64,
    /// Anomaly score (0 to 1) from which a sample is an anomaly; the severity is
    /// the band of the score alone (the z-score is reported as evidence). The
    /// calibrated score catches spikes, level shifts, new noise and rarely seen
    /// values. Default: `0.39` (what leave-one-group-out cross-validation on the
    /// NAB subset selects; stationary durations flag at most 0.2 % of runs).
    /// Rule: finite, greater than 0 and at most 1.
    pub score_threshold: f64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_size: 100,
            z_score_threshold: 3.0,
            score_threshold: crate::anomaly::DEFAULT_SCORE_THRESHOLD,
        }
    }
}

impl AnomalyConfig {
    /// Smallest accepted [`window_size`](Self::window_size): `2`.
    pub const MIN_WINDOW_SIZE: usize = 2;
    /// Largest accepted [`window_size`](Self::window_size): `1_000_000`.
    pub const MAX_WINDOW_SIZE: usize = 1_000_000;
}

/// Settings of the optimizer (JSON key `optimizer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Whether optimisation passes run. Default: `true`.
    pub enabled: bool,
    /// Number of recorded events between two optimisation passes.
    /// Default: `100`. Rule: at least 1.
    pub interval: u64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: 100,
        }
    }
}

/// Bounds on the history kept in memory (JSON key `memory`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    /// Maximum number of samples kept per history; older ones are dropped.
    /// Default: `1000`. Rule: at least 1, and at least
    /// `predictive.min_history`.
    pub max_history_size: usize,
    /// Number of recorded events between two clean-ups of old history.
    /// Default: `500`. Rule: at least 1.
    pub cleanup_interval: u64,
    /// Anomalies kept for the report (the oldest are dropped first; the
    /// counts keep every one). Default: `500`. Rule: at least 1.
    pub max_anomalies: usize,
    /// Anomaly patterns kept (the oldest are dropped first). Default: `100`.
    /// Rule: at least 1.
    pub max_patterns: usize,
    /// Distinct metric keys the anomaly detector tracks (one per phase, plus
    /// the keys given to `observe`); values of further keys go to the key
    /// `other`. Each key holds about 14 KB. Default: `256`. Rule: at least 1.
    pub max_anomaly_keys: usize,
    /// Distinct phase names; runs of further names are counted under the
    /// phase `other`. Default: `1000`. Rule: at least 1.
    pub max_phases: usize,
    /// Distinct message topics; messages of further topics are counted under
    /// `other`. Default: `1000`. Rule: at least 1.
    pub max_topics: usize,
    /// Distinct objectives; further names are counted under `other`.
    /// Default: `1000`. Rule: at least 1.
    pub max_objectives: usize,
    /// Distinct task names, and distinct quality metrics; further names are
    /// counted under `other`. Default: `1000`. Rule: at least 1.
    pub max_tasks: usize,
    /// Seconds after which a topic, objective, task, quality metric or
    /// anomaly key that received nothing is removed by the cleanup (making
    /// room for new names); `0` keeps them forever. Default: `3600`.
    pub idle_timeout_secs: u64,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            max_history_size: 1000,
            cleanup_interval: 500,
            max_anomalies: 500,
            max_patterns: 100,
            max_anomaly_keys: 256,
            max_phases: 1000,
            max_topics: 1000,
            max_objectives: 1000,
            max_tasks: 1000,
            idle_timeout_secs: 3600,
        }
    }
}

/// Limits above which a measurement is reported (JSON key `thresholds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// A phase running longer than this many seconds is slow.
    /// Default: `600.0` (10 minutes). Rule: finite and greater than 0.
    pub phase_slow: f64,
    /// Memory use above this many megabytes (MB) is high.
    /// Default: `2048.0`. Rule: finite and greater than 0.
    pub memory_high: f64,
    /// CPU use above this percentage is high (100 = one full core; may be
    /// more on several cores). Default: `80.0`. Rule: finite and greater
    /// than 0.
    pub cpu_high: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            phase_slow: 600.0,
            memory_high: 2048.0,
            cpu_high: 80.0,
        }
    }
}

// ---------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------

/// Settings of the resource sampler (JSON key `resources`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResourcesConfig {
    /// Whether a background thread samples the process's RSS and CPU.
    /// Default: `true`.
    pub enabled: bool,
    /// Milliseconds between two samples. Default: `1000`. Rule: from 10 to
    /// 3 600 000.
    pub interval_ms: u64,
}

impl Default for ResourcesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 1000,
        }
    }
}

/// Settings of the periodic reports (JSON key `reporting`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportingConfig {
    /// Executions between two periodic reports; `0` turns this trigger off.
    /// Default: `0`.
    pub interval_executions: u64,
    /// Seconds between two periodic reports; `0` turns this trigger off.
    /// Default: `60`.
    pub interval_secs: u64,
    /// File the full JSON report is written to at each periodic report
    /// (atomically: readers never see half a file); `null` writes none.
    /// Default: `null`. Rule: must name a file.
    pub json_path: Option<std::path::PathBuf>,
}

impl Default for ReportingConfig {
    fn default() -> Self {
        Self {
            interval_executions: 0,
            interval_secs: 60,
            json_path: None,
        }
    }
}

/// Settings of the snapshots (JSON key `persistence`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistenceConfig {
    /// The snapshot file: restored by `init` when it exists (a corrupt or foreign file is
    /// reported and the runtime starts empty), written every `interval_secs` and at
    /// `shutdown`, atomically (temp file, fsync, rename). `null`: no snapshots.
    /// Default: `null`. Rule: must name a file.
    pub snapshot_path: Option<std::path::PathBuf>,
    /// Seconds between two snapshots; `0` writes one only at `shutdown`. Default: `300`.
    pub interval_secs: u64,
}

impl Default for PersistenceConfig {
    fn default() -> Self {
        Self {
            snapshot_path: None,
            interval_secs: 300,
        }
    }
}

/// Settings of the export to other metrics systems (JSON key `export`).
///
/// The default exports nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportConfig {
    /// The address the Prometheus `/metrics` endpoint listens on, with the cargo feature
    /// `prometheus`; `null`: nothing listens. A port alone (`"9464"` or `":9464"`) listens on
    /// 127.0.0.1 only, like [`DEFAULT_PROMETHEUS_ADDR`](Self::DEFAULT_PROMETHEUS_ADDR); give an
    /// `IP:port` to listen elsewhere, and only where the network it is reachable from is
    /// trusted: the endpoint has no authentication.
    /// Default: `null`. Rule: a socket address (`"127.0.0.1:9464"`, `"[::1]:9464"`) or a port.
    pub prometheus_addr: Option<String>,
    /// Lets [`prometheus_addr`](Self::prometheus_addr) be an address other machines can
    /// reach (not loopback): the explicit opt-in for an endpoint without authentication.
    /// Default: `false` (a non-loopback address is refused, naming this field).
    pub prometheus_allow_remote: bool,
    /// Adds the autometrics 1.0 families to the exposition (`function_calls_total`,
    /// `function_calls_duration_seconds`, `build_info`), one "function" per phase, so the
    /// autometrics dashboards and alert rules work unchanged. Default: `false`.
    pub autometrics: bool,
    /// Upper bounds, in seconds, of the buckets of the phases' duration histograms
    /// (`analytics_phase_duration_seconds_bucket{le}`; `+Inf` is implied). Default: 10 µs to
    /// 10 minutes, see [`DEFAULT_DURATION_BUCKETS`](Self::DEFAULT_DURATION_BUCKETS). Rule:
    /// 1 to 64 finite, positive, strictly increasing values.
    pub duration_buckets: Vec<f64>,
}

impl Default for ExportConfig {
    fn default() -> Self {
        Self {
            prometheus_addr: None,
            prometheus_allow_remote: false,
            autometrics: false,
            duration_buckets: Self::DEFAULT_DURATION_BUCKETS.to_vec(),
        }
    }
}

impl ExportConfig {
    /// The suggested address of the Prometheus endpoint: loopback only, on port 9464 (the
    /// port OpenTelemetry's Prometheus exporter uses by default).
    pub const DEFAULT_PROMETHEUS_ADDR: &'static str = "127.0.0.1:9464";

    /// The default [`duration_buckets`](Self::duration_buckets), in seconds: phases of
    /// microseconds to minutes, about three buckets per power of ten, and the autometrics
    /// defaults' bounds from 5 ms to 10 s among them (so its latency objectives find their
    /// `le`).
    pub const DEFAULT_DURATION_BUCKETS: [f64; 24] = [
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
        0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0, 600.0,
    ];

    /// Most buckets [`duration_buckets`](Self::duration_buckets) may have: each is one series
    /// per phase and instance.
    pub const MAX_DURATION_BUCKETS: usize = 64;

    /// [`prometheus_addr`](Self::prometheus_addr) as a socket address (a port alone on
    /// 127.0.0.1): `None` when it is `null` or does not parse (which
    /// [`AnalyticsConfig::validate`] reports).
    ///
    /// ```
    /// use analytics_runtime::config::ExportConfig;
    ///
    /// let export = ExportConfig {
    ///     prometheus_addr: Some("9464".into()),
    ///     ..ExportConfig::default()
    /// };
    /// assert_eq!(export.prometheus_socket_addr(), Some("127.0.0.1:9464".parse().unwrap()));
    /// ```
    #[must_use]
    pub fn prometheus_socket_addr(&self) -> Option<std::net::SocketAddr> {
        Self::parse_prometheus_addr(self.prometheus_addr.as_deref()?)
    }

    /// An `IP:port`, or a port alone (with or without a leading `:`) on 127.0.0.1.
    pub(crate) fn parse_prometheus_addr(addr: &str) -> Option<std::net::SocketAddr> {
        let addr = addr.trim();
        if let Ok(socket) = addr.parse() {
            return Some(socket);
        }
        let port: u16 = addr.strip_prefix(':').unwrap_or(addr).parse().ok()?;
        Some((std::net::Ipv4Addr::LOCALHOST, port).into())
    }
}

impl AnalyticsConfig {
    /// The default configuration with analytics switched off
    /// (`enabled: false`); every section keeps its defaults.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Reads, parses and validates the configuration file at `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Io`] if the file cannot be read (including when it
    /// does not exist), otherwise the errors of
    /// [`from_json_str`](Self::from_json_str), whose messages then start
    /// with the file's path.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        parse_bytes(&bytes, Some(path))
    }

    /// Like [`load`](Self::load), but returns the default configuration
    /// when the file does not exist.
    ///
    /// # Errors
    ///
    /// Every error of [`load`](Self::load) except a missing file: an empty,
    /// unreadable, malformed or invalid file is an error, never silently
    /// the default.
    pub fn load_or_default(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        match Self::load(path) {
            Err(err) if err.is_not_found() => Ok(Self::default()),
            other => other,
        }
    }

    /// Parses and validates a configuration from JSON text.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`], [`ConfigError::Syntax`],
    /// [`ConfigError::NotAnObject`], [`ConfigError::Field`] (wrong type,
    /// unknown or duplicate key) or [`ConfigError::Invalid`] (every broken
    /// rule).
    pub fn from_json_str(s: &str) -> Result<Self, ConfigError> {
        parse_str(s, None)
    }

    /// Checks every rule and reports all broken ones at once.
    ///
    /// The rules are listed on each field. NaN and infinities (which JSON
    /// cannot express but code can) break every floating-point rule.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] with one [`Violation`] per broken rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let violations = self.violations();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                file: None,
                violations,
            })
        }
    }

    /// Every broken rule, in field order; empty when the configuration is
    /// valid.
    #[must_use]
    pub fn violations(&self) -> Vec<Violation> {
        rules::violations(self)
    }

    /// Writes this configuration to `path` as pretty-printed JSON.
    ///
    /// The write is atomic: the JSON goes to `<path>.tmp` in the same
    /// directory, is flushed and synced, then renamed over `path`, so a
    /// crash leaves either the old file or the new one. On unix the file
    /// gets mode `0o600` (it may hold private settings later).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] if the configuration breaks a rule (nothing
    /// is written: the file could not be loaded back), and
    /// [`ConfigError::Write`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        let path = path.as_ref();
        self.validate()?;
        let write_error = |source: io::Error| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut json =
            serde_json::to_vec_pretty(self).map_err(|err| write_error(io::Error::other(err)))?;
        json.push(b'\n');
        atomic_file::write_atomic(path, &json).map_err(write_error)
    }

    /// Writes the default configuration to `path` (atomically, like
    /// [`save`](Self::save), replacing any existing file) and returns it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Write`] if the file cannot be written.
    pub fn create_default_config_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let config = Self::default();
        config.save(path)?;
        Ok(config)
    }
}

impl FromStr for AnalyticsConfig {
    type Err = ConfigError;

    /// Same as [`AnalyticsConfig::from_json_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_json_str(s)
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    //! Tests of the schema and the public API, and the helpers that the
    //! submodules' tests share.

    use super::*;
    use serde_json::Value;

    /// The documented default document (the public contract).
    /// The seed's schema (DESIGN.md): it must keep meaning the defaults.
    const SEED_DEFAULTS: &str = r#"
        { "enabled": true,
          "predictive": {"enabled": true, "min_history": 10, "confidence_threshold": 0.5},
          "anomaly":    {"enabled": true, "window_size": 100, "z_score_threshold": 3.0},
          "optimizer":  {"enabled": true, "interval": 100},
          "memory":     {"max_history_size": 1000, "cleanup_interval": 500},
          "thresholds": {"phase_slow": 600.0, "memory_high": 2048.0, "cpu_high": 80.0} }"#;

    /// Every field with its default, as the README documents them.
    const DOCUMENTED_DEFAULTS: &str = r#"
        { "enabled": true,
          "predictive": {"enabled": true, "min_history": 10, "confidence_threshold": 0.5},
          "anomaly":    {"enabled": true, "window_size": 100, "z_score_threshold": 3.0,
                         "score_threshold": 0.39},
          "optimizer":  {"enabled": true, "interval": 100},
          "memory":     {"max_history_size": 1000, "cleanup_interval": 500,
                         "max_anomalies": 500, "max_patterns": 100, "max_anomaly_keys": 256,
                         "max_phases": 1000, "max_topics": 1000, "max_objectives": 1000,
                         "max_tasks": 1000, "idle_timeout_secs": 3600},
          "thresholds": {"phase_slow": 600.0, "memory_high": 2048.0, "cpu_high": 80.0},
          "resources":  {"enabled": true, "interval_ms": 1000},
          "reporting":  {"interval_executions": 0, "interval_secs": 60, "json_path": null},
          "persistence": {"snapshot_path": null, "interval_secs": 300},
          "export":     {"prometheus_addr": null, "prometheus_allow_remote": false,
                         "autometrics": false,
                         "duration_buckets": [0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
                             0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                             0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0, 600.0]} }"#;

    /// The error of parsing `text`, which must fail.
    pub(super) fn parse_err(text: &str) -> ConfigError {
        match AnalyticsConfig::from_json_str(text) {
            Ok(config) => panic!("{text:?} parsed as {config:?}"),
            Err(err) => err,
        }
    }

    /// Asserts that `err`'s message contains each of `words`.
    pub(super) fn assert_contains(err: &ConfigError, words: &[&str]) {
        let message = err.to_string();
        for word in words {
            assert!(message.contains(word), "message {message:?} lacks {word:?}");
        }
    }

    // --- defaults ---------------------------------------------------------

    #[test]
    fn defaults_equal_the_documented_json() {
        let documented: Value = serde_json::from_str(DOCUMENTED_DEFAULTS).unwrap();
        assert_eq!(
            serde_json::to_value(AnalyticsConfig::default()).unwrap(),
            documented
        );
        assert_eq!(
            AnalyticsConfig::from_json_str(SEED_DEFAULTS).unwrap(),
            AnalyticsConfig::default()
        );
        assert_eq!(
            AnalyticsConfig::from_json_str(DOCUMENTED_DEFAULTS).unwrap(),
            AnalyticsConfig::default()
        );
        assert!(AnalyticsConfig::default().validate().is_ok());
    }

    #[test]
    fn empty_object_gives_defaults() {
        assert_eq!(
            AnalyticsConfig::from_json_str("{}").unwrap(),
            AnalyticsConfig::default()
        );
        assert_eq!(
            " \n\t{ }\r\n".parse::<AnalyticsConfig>().unwrap(),
            AnalyticsConfig::default()
        );
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let config = AnalyticsConfig::from_json_str(
            r#"{"enabled": false, "anomaly": {"window_size": 50}, "thresholds": {}}"#,
        )
        .unwrap();
        let expected = AnalyticsConfig {
            enabled: false,
            anomaly: AnomalyConfig {
                window_size: 50,
                ..AnomalyConfig::default()
            },
            ..AnalyticsConfig::default()
        };
        assert_eq!(config, expected);
    }

    #[test]
    fn disabled_is_default_switched_off() {
        let disabled = AnalyticsConfig::disabled();
        assert!(!disabled.enabled);
        assert_eq!(
            AnalyticsConfig {
                enabled: true,
                ..disabled
            },
            AnalyticsConfig::default()
        );
    }

    // --- files ------------------------------------------------------------

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analytics.json");
        let mut config = AnalyticsConfig::default();
        config.predictive.confidence_threshold = 0.75;
        config.anomaly.window_size = 7;
        config.optimizer.enabled = false;
        config.memory.cleanup_interval = 3;
        config.thresholds.phase_slow = 1.5;
        config.save(&path).unwrap();
        assert_eq!(AnalyticsConfig::load(&path).unwrap(), config);

        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\n  \"anomaly\": {"), "not pretty: {text}");
        assert!(text.ends_with("}\n"));
        // Only the file itself is left behind, no temporary.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["analytics.json"]);

        // Saving again replaces the file.
        config.anomaly.window_size = 9;
        config.save(&path).unwrap();
        assert_eq!(AnalyticsConfig::load(&path).unwrap().anomaly.window_size, 9);
    }

    #[test]
    fn create_default_config_file_writes_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analytics.json");
        let config = AnalyticsConfig::create_default_config_file(&path).unwrap();
        assert_eq!(config, AnalyticsConfig::default());
        let written: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let documented: Value = serde_json::from_str(DOCUMENTED_DEFAULTS).unwrap();
        assert_eq!(written, documented);
    }

    #[test]
    fn save_refuses_an_invalid_config_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analytics.json");
        let mut config = AnalyticsConfig::default();
        config.thresholds.cpu_high = f64::NAN;
        let err = config.save(&path).unwrap_err();
        assert_eq!(err.field(), Some("thresholds.cpu_high"));
        assert!(!path.exists());
    }

    #[test]
    fn save_into_missing_directory_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("analytics.json");
        let err = AnalyticsConfig::default().save(&path).unwrap_err();
        assert!(matches!(err, ConfigError::Write { .. }), "{err:?}");
        assert_eq!(err.file(), Some(path.as_path()));
        assert_contains(&err, &["cannot write config file", "analytics.json"]);
    }

    #[test]
    fn load_missing_file_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.json");
        let err = AnalyticsConfig::load(&path).unwrap_err();
        assert!(err.is_not_found());
        assert!(matches!(err, ConfigError::Io { .. }));
        assert_contains(&err, &["cannot read config file", "missing.json"]);
    }

    #[test]
    fn load_or_default_gives_default_only_for_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            AnalyticsConfig::load_or_default(dir.path().join("missing.json")).unwrap(),
            AnalyticsConfig::default()
        );
        assert_eq!(
            AnalyticsConfig::load_or_default(dir.path().join("no-dir").join("x.json")).unwrap(),
            AnalyticsConfig::default()
        );

        let path = dir.path().join("analytics.json");
        type IsExpected = fn(&ConfigError) -> bool;
        let cases: [(&str, IsExpected); 5] = [
            ("", |e| matches!(e, ConfigError::Empty { .. })),
            ("  \n", |e| matches!(e, ConfigError::Empty { .. })),
            ("{\"anomaly\": {", |e| {
                matches!(e, ConfigError::Syntax { .. })
            }),
            ("{\"anomaly\": 3}", |e| {
                matches!(e, ConfigError::Field { .. })
            }),
            ("{\"anomaly\": {\"window_size\": 1}}", |e| {
                matches!(e, ConfigError::Invalid { .. })
            }),
        ];
        for (text, is_expected) in cases {
            fs::write(&path, text).unwrap();
            let err = AnalyticsConfig::load_or_default(&path).unwrap_err();
            assert!(is_expected(&err), "{text:?} gave {err:?}");
            assert_eq!(err.file(), Some(path.as_path()));
            assert!(err.to_string().starts_with("config file `"), "{err}");
        }

        // A directory is not a missing file either.
        let err = AnalyticsConfig::load_or_default(dir.path()).unwrap_err();
        assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
    }
}
