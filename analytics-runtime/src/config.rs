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
//! # Adding a section
//!
//! 1. Write the section struct with the same derives and
//!    `#[serde(default, deny_unknown_fields)]`, a documented `Default` impl
//!    and a `check(&self, c: &mut Checker)` method that reports its rules
//!    with dotted field names (`"section.field"`).
//! 2. Add it as a `pub` field of [`AnalyticsConfig`] with
//!    `#[serde(deserialize_with = "object_only")]` (this rejects a JSON
//!    array in place of the object) and call its `check` from
//!    [`AnalyticsConfig::violations`].
//!
//! Because the container has `#[serde(default)]`, the new section is
//! optional in existing files; unknown-field suggestions and the tests that
//! walk the schema pick it up from its `Default` automatically.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

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
    /// Minimum confidence (a fraction, 0 to 1) for a prediction to be
    /// reported. Default: `0.5`. Rule: finite, between 0 and 1 inclusive.
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
    /// sample is an anomaly. Default: `3.0`. Rule: finite and greater
    /// than 0.
    pub z_score_threshold: f64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_size: 100,
            z_score_threshold: 3.0,
        }
    }
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
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            max_history_size: 1000,
            cleanup_interval: 500,
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
// Validation
// ---------------------------------------------------------------------------

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
    /// Smallest accepted [`window_size`](Self::window_size): `2`.
    pub const MIN_WINDOW_SIZE: usize = 2;
    /// Largest accepted [`window_size`](Self::window_size): `1_000_000`.
    pub const MAX_WINDOW_SIZE: usize = 1_000_000;

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
    }
}

impl Thresholds {
    fn check(&self, c: &mut Checker) {
        c.finite_positive("thresholds.phase_slow", self.phase_slow);
        c.finite_positive("thresholds.memory_high", self.memory_high);
        c.finite_positive("thresholds.cpu_high", self.cpu_high);
    }
}

// ---------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------

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
        let mut c = Checker::default();
        self.predictive.check(&mut c);
        // The predictor needs `min_history` samples, so that many must be
        // kept. Only meaningful when the bound itself is valid.
        if self.memory.max_history_size >= 1
            && self.predictive.min_history > self.memory.max_history_size
        {
            c.report(
                "predictive.min_history",
                self.predictive.min_history.to_string(),
                format!(
                    "must be at most memory.max_history_size ({}), since the history it needs must be kept",
                    self.memory.max_history_size
                ),
            );
        }
        self.anomaly.check(&mut c);
        self.optimizer.check(&mut c);
        self.memory.check(&mut c);
        self.thresholds.check(&mut c);
        c.found
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
        let mut json = serde_json::to_vec_pretty(self).map_err(|err| ConfigError::Write {
            path: path.to_path_buf(),
            source: io::Error::other(err),
        })?;
        json.push(b'\n');
        write_atomic(path, &json)
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
// Errors
// ---------------------------------------------------------------------------

/// Why a configuration could not be loaded, parsed, validated or saved.
///
/// Every message names what is wrong: the file, the dotted field path, the
/// line and column, or the broken rule. The accessors ([`field`],
/// [`line`], [`violations`], ...) give the same facts to code.
///
/// [`field`]: ConfigError::field
/// [`line`]: ConfigError::line
/// [`violations`]: ConfigError::violations
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read (it does not exist, is a directory, is
    /// not readable, ...).
    #[error("cannot read config file `{}`: {source}", path.display())]
    #[non_exhaustive]
    Io {
        /// The file that was read.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The file could not be written (by `save`).
    #[error("cannot write config file `{}`: {source}", path.display())]
    #[non_exhaustive]
    Write {
        /// The file that was written.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The file or text is empty or holds only whitespace.
    #[error("{}", empty_message(file.as_deref()))]
    #[non_exhaustive]
    Empty {
        /// The file, when loading from one.
        file: Option<PathBuf>,
    },

    /// The text is not well-formed JSON (truncated, trailing comma, stray
    /// character, not UTF-8, ...).
    #[error(
        "{} is not valid JSON: {message} at line {line}, column {column}",
        Subject(file.as_deref())
    )]
    #[non_exhaustive]
    Syntax {
        /// The file, when loading from one.
        file: Option<PathBuf>,
        /// What the parser found, e.g. `EOF while parsing an object`.
        message: String,
        /// 1-based line of the error.
        line: usize,
        /// Column (byte) of the error on that line; 0 is before the first
        /// character.
        column: usize,
    },

    /// The top-level JSON value is not an object (e.g. `[]` or `42`).
    #[error(
        "{} must hold a JSON object such as `{{\"enabled\": true}}` at the top level, found {found} (line {line}, column {column})",
        Subject(file.as_deref())
    )]
    #[non_exhaustive]
    NotAnObject {
        /// The file, when loading from one.
        file: Option<PathBuf>,
        /// What was found instead: `an array`, `a number`, `a string`,
        /// `a boolean` or `null`.
        found: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// Column of the error on that line.
        column: usize,
    },

    /// A key has a value of the wrong type, or is unknown or repeated.
    #[error(
        "{}`{field}`: {message} (line {line}, column {column}){}",
        Prefix(file.as_deref()),
        DidYouMean(suggestion.as_deref())
    )]
    #[non_exhaustive]
    Field {
        /// The file, when loading from one.
        file: Option<PathBuf>,
        /// Dotted path of the offending key, e.g. `anomaly.window_size`.
        field: String,
        /// What is wrong, e.g. `invalid type: string "100", expected usize`.
        message: String,
        /// A valid key close to an unknown one (a field name, or a dotted
        /// path when it lives in another section).
        suggestion: Option<String>,
        /// 1-based line of the error.
        line: usize,
        /// Column of the error on that line.
        column: usize,
    },

    /// Values break one or more rules; all of them are listed.
    #[error("{}{}", InvalidPrefix(file.as_deref()), Joined(violations))]
    #[non_exhaustive]
    Invalid {
        /// The file, when loading from one.
        file: Option<PathBuf>,
        /// Every broken rule (never empty).
        violations: Vec<Violation>,
    },
}

impl ConfigError {
    /// Dotted path of the (first) offending field, e.g.
    /// `anomaly.window_size`, for [`Field`](Self::Field) and
    /// [`Invalid`](Self::Invalid) errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Field { field, .. } => Some(field),
            Self::Invalid { violations, .. } => violations.first().map(|v| v.field.as_str()),
            _ => None,
        }
    }

    /// 1-based line of a syntax, type, unknown-field or not-an-object
    /// error.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. }
            | Self::NotAnObject { line, .. }
            | Self::Field { line, .. } => Some(*line).filter(|&line| line > 0),
            _ => None,
        }
    }

    /// Column on [`line`](Self::line) of a syntax, type, unknown-field or
    /// not-an-object error.
    pub fn column(&self) -> Option<usize> {
        match self {
            Self::Syntax { column, line, .. }
            | Self::NotAnObject { column, line, .. }
            | Self::Field { column, line, .. } => Some(*column).filter(|_| *line > 0),
            _ => None,
        }
    }

    /// The file the error is about, when it came from a file.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. } | Self::Write { path, .. } => Some(path),
            Self::Empty { file }
            | Self::Syntax { file, .. }
            | Self::NotAnObject { file, .. }
            | Self::Field { file, .. }
            | Self::Invalid { file, .. } => file.as_deref(),
        }
    }

    /// Every broken rule of an [`Invalid`](Self::Invalid) error; empty for
    /// other errors.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Self::Invalid { violations, .. } => violations,
            _ => &[],
        }
    }

    /// The valid key suggested for an unknown one (`did you mean ...?`).
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            Self::Field { suggestion, .. } => suggestion.as_deref(),
            _ => None,
        }
    }

    /// Whether this is a read error because the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// Sets the file of a parse or validation error.
    fn in_file(mut self, path: Option<&Path>) -> Self {
        if let Self::Empty { file }
        | Self::Syntax { file, .. }
        | Self::NotAnObject { file, .. }
        | Self::Field { file, .. }
        | Self::Invalid { file, .. } = &mut self
        {
            *file = path.map(Path::to_path_buf);
        }
        self
    }
}

/// "config file `x.json`" or "config".
struct Subject<'a>(Option<&'a Path>);

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "config file `{}`", path.display()),
            None => f.write_str("config"),
        }
    }
}

/// "config file `x.json`: " or nothing.
struct Prefix<'a>(Option<&'a Path>);

impl fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "config file `{}`: ", path.display()),
            None => Ok(()),
        }
    }
}

/// "config file `x.json` is invalid: " or nothing.
struct InvalidPrefix<'a>(Option<&'a Path>);

impl fmt::Display for InvalidPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "config file `{}` is invalid: ", path.display()),
            None => Ok(()),
        }
    }
}

/// "; did you mean `x`?" or nothing.
struct DidYouMean<'a>(Option<&'a str>);

impl fmt::Display for DidYouMean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, "; did you mean `{name}`?"),
            None => Ok(()),
        }
    }
}

/// Violations joined with "; ".
struct Joined<'a>(&'a [Violation]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, violation) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{violation}")?;
        }
        Ok(())
    }
}

fn empty_message(file: Option<&Path>) -> String {
    match file {
        Some(path) => format!(
            "config file `{}` is empty: write `{{}}` for the defaults, or delete it",
            path.display()
        ),
        None => "config is empty: write `{}` for the defaults".to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

fn parse_bytes(bytes: &[u8], file: Option<&Path>) -> Result<AnalyticsConfig, ConfigError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes); // UTF-8 BOM
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(text, file),
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            Err(ConfigError::Syntax {
                file: file.map(Path::to_path_buf),
                message: "invalid UTF-8 (the file must be UTF-8 text)".to_owned(),
                line,
                column: valid.len() - line_start + 1,
            })
        }
    }
}

fn parse_str(text: &str, file: Option<&Path>) -> Result<AnalyticsConfig, ConfigError> {
    parse_unvalidated(text)
        .and_then(|config| config.validate().map(|()| config))
        .map_err(|err| err.in_file(file))
}

fn parse_unvalidated(text: &str) -> Result<AnalyticsConfig, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_matches(is_json_whitespace).is_empty() {
        return Err(ConfigError::Empty { file: None });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let config: AnalyticsConfig =
        serde_path_to_error::deserialize(ObjectOnly(&mut de)).map_err(|err| classify(err, text))?;
    de.end().map_err(syntax_error)?;
    Ok(config)
}

fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `err`'s message without serde_json's " at line L column C" suffix.
fn bare_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    match full.strip_suffix(&suffix) {
        Some(bare) => bare.to_owned(),
        None => full,
    }
}

fn syntax_error(err: serde_json::Error) -> ConfigError {
    ConfigError::Syntax {
        file: None,
        message: bare_message(&err),
        line: err.line(),
        column: err.column(),
    }
}

fn classify(err: serde_path_to_error::Error<serde_json::Error>, text: &str) -> ConfigError {
    let segments: Vec<String> = err
        .path()
        .iter()
        .map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => index.to_string(),
            serde_path_to_error::Segment::Map { key } => key.clone(),
            serde_path_to_error::Segment::Enum { variant } => variant.clone(),
            serde_path_to_error::Segment::Unknown => "?".to_owned(),
        })
        .collect();
    let inner = err.into_inner();
    let (line, column) = (inner.line(), inner.column());
    // A number too large for f64 (`1e400`) is a syntax error to serde_json,
    // but to the user it is a bad value of a field, so name the field.
    let mut message = bare_message(&inner);
    if message == "number out of range" && !segments.is_empty() {
        return ConfigError::Field {
            file: None,
            field: segments.join("."),
            message,
            suggestion: None,
            line,
            column,
        };
    }
    if inner.classify() != serde_json::error::Category::Data {
        return syntax_error(inner);
    }
    if segments.is_empty() {
        if let Some(found) = top_level_kind(text) {
            return ConfigError::NotAnObject {
                file: None,
                found,
                line,
                column,
            };
        }
    }
    let mut segments = segments;
    let mut suggestion = None;
    // serde reports unknown fields as "unknown field `k`, expected ..."
    // (with `k` already the last path segment) and repeated ones as
    // "duplicate field `k`" (at the parent's path).
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some(end) = rest
            .rfind("`, expected ")
            .or_else(|| rest.rfind("`, there are no fields"))
        {
            let name = &rest[..end];
            if segments.last().map(String::as_str) != Some(name) {
                segments.push(name.to_owned());
            }
            message = format!("unknown field{}", &rest[end + 1..]);
        }
        if let Some((name, parent)) = segments.split_last() {
            suggestion = suggest(parent, name);
        }
    } else if let Some(rest) = message.strip_prefix("duplicate field `") {
        if let Some(name) = rest.strip_suffix('`') {
            segments.push(name.to_owned());
            message = "duplicate field: it appears more than once in the same object".to_owned();
        }
    }
    ConfigError::Field {
        file: None,
        field: segments.join("."),
        message,
        suggestion,
        line,
        column,
    }
}

/// What the top-level value is when it is not an object.
fn top_level_kind(text: &str) -> Option<&'static str> {
    match text.trim_start_matches(is_json_whitespace).bytes().next()? {
        b'{' => None,
        b'[' => Some("an array"),
        b'"' => Some("a string"),
        b't' | b'f' => Some("a boolean"),
        b'n' => Some("null"),
        _ => Some("a number"),
    }
}

// ---------------------------------------------------------------------------
// Suggestions for unknown fields
// ---------------------------------------------------------------------------

/// A valid key close to the unknown `name` found under `parent`: a sibling
/// field if one is close, otherwise the dotted path of a close field in
/// another section. The schema is read from the defaults, so new sections
/// are covered automatically.
fn suggest(parent: &[String], name: &str) -> Option<String> {
    let schema = serde_json::to_value(AnalyticsConfig::default()).ok()?;
    let mut all = Vec::new();
    collect_fields(&schema, &mut Vec::new(), &mut all);
    let best = |candidates: &mut dyn Iterator<Item = &Vec<String>>| {
        candidates
            .filter_map(|path| {
                let last = path.last()?;
                let distance = edit_distance(&name.to_lowercase(), &last.to_lowercase());
                (distance <= 2).then_some((distance, path))
            })
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, path)| path.clone())
    };
    let siblings = best(&mut all.iter().filter(|path| path[..path.len() - 1] == *parent));
    if let Some(path) = siblings {
        return path.last().cloned();
    }
    best(&mut all.iter()).map(|path| path.join("."))
}

fn collect_fields(value: &serde_json::Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let serde_json::Value::Object(map) = value {
        for (key, child) in map {
            prefix.push(key.clone());
            out.push(prefix.clone());
            collect_fields(child, prefix, out);
            prefix.pop();
        }
    }
}

/// Optimal string alignment distance (Levenshtein plus adjacent
/// transpositions), over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[..width].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

// ---------------------------------------------------------------------------
// Sections must be JSON objects
// ---------------------------------------------------------------------------

/// Deserializes a section, accepting only a JSON object.
///
/// Derived struct impls also accept a JSON array (fields by position),
/// which is confusing in a configuration file; this turns that into a type
/// error that names the section.
fn object_only<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(ObjectOnly(deserializer))
}

/// Forwards to the inner deserializer, but reads structs as maps.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(MapOnly(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// A struct visitor that accepts only maps and expects "a JSON object".
struct MapOnly<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for MapOnly<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(map)
    }
}

// ---------------------------------------------------------------------------
// Atomic writes
// ---------------------------------------------------------------------------

/// Writes `contents` to `<path>.tmp` (mode 0o600 on unix), syncs it and
/// renames it over `path`.
fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), ConfigError> {
    let fail = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    let Some(name) = path.file_name() else {
        return Err(fail(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        )));
    };
    let mut tmp_name = name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = write_new_file(&tmp, contents).and_then(|()| fs::rename(&tmp, path));
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(fail(source));
    }
    sync_parent_dir(path);
    Ok(())
}

fn write_new_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    // A stale temporary file (from a crash) is replaced; `create_new` then
    // refuses to follow a symlink planted at that name.
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // The umask may have removed bits; make it exactly 0o600.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.flush()?;
    file.sync_all()
}

/// Makes the rename durable; best effort (not every platform or file
/// system supports syncing a directory).
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The documented default document (the public contract).
    const DOCUMENTED_DEFAULTS: &str = r#"
        { "enabled": true,
          "predictive": {"enabled": true, "min_history": 10, "confidence_threshold": 0.5},
          "anomaly":    {"enabled": true, "window_size": 100, "z_score_threshold": 3.0},
          "optimizer":  {"enabled": true, "interval": 100},
          "memory":     {"max_history_size": 1000, "cleanup_interval": 500},
          "thresholds": {"phase_slow": 600.0, "memory_high": 2048.0, "cpu_high": 80.0} }"#;

    fn parse_err(text: &str) -> ConfigError {
        match AnalyticsConfig::from_json_str(text) {
            Ok(config) => panic!("{text:?} parsed as {config:?}"),
            Err(err) => err,
        }
    }

    fn assert_contains(err: &ConfigError, words: &[&str]) {
        let message = err.to_string();
        for word in words {
            assert!(message.contains(word), "message {message:?} lacks {word:?}");
        }
    }

    /// Dotted paths of every leaf field, read from the defaults.
    fn leaf_fields() -> Vec<Vec<String>> {
        let schema = serde_json::to_value(AnalyticsConfig::default()).unwrap();
        let mut all = Vec::new();
        collect_fields(&schema, &mut Vec::new(), &mut all);
        all.into_iter()
            .filter(|path| !pointer(&schema, path).is_object())
            .collect()
    }

    fn pointer<'a>(value: &'a Value, path: &[String]) -> &'a Value {
        path.iter().fold(value, |v, key| &v[key.as_str()])
    }

    /// `{"a": {"b": value}}` for the path `a.b`.
    fn nested(path: &[String], value: Value) -> Value {
        path.iter()
            .rev()
            .fold(value, |inner, key| json!({ key.as_str(): inner }))
    }

    fn violation_fields(config: &AnalyticsConfig) -> Vec<String> {
        config.violations().into_iter().map(|v| v.field).collect()
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

    #[test]
    fn utf8_bom_is_accepted() {
        assert_eq!(
            AnalyticsConfig::from_json_str("\u{feff}{}").unwrap(),
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

    #[cfg(unix)]
    #[test]
    fn saved_file_has_mode_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analytics.json");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;

        AnalyticsConfig::default().save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);

        // A world-readable file and a stale temporary are replaced by a
        // 0o600 file.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let tmp = dir.path().join("analytics.json.tmp");
        fs::write(&tmp, "stale").unwrap();
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).unwrap();
        AnalyticsConfig::create_default_config_file(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(!tmp.exists());
    }

    #[cfg(unix)]
    #[test]
    fn save_does_not_follow_a_symlink_at_the_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analytics.json");
        let victim = dir.path().join("victim");
        fs::write(&victim, "untouched").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("analytics.json.tmp")).unwrap();
        AnalyticsConfig::default().save(&path).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
        assert_eq!(
            AnalyticsConfig::load(&path).unwrap(),
            AnalyticsConfig::default()
        );
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

    #[test]
    fn file_errors_start_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        fs::write(
            &path,
            "{\"anomaly\": {\"window_size\": 0}, \"memory\": {\"cleanup_interval\": 0}}",
        )
        .unwrap();
        let err = AnalyticsConfig::load(&path).unwrap_err();
        let expected = format!(
            "config file `{}` is invalid: anomaly.window_size: 0 is invalid: must be at least 2; \
             memory.cleanup_interval: 0 is invalid: must be at least 1",
            path.display()
        );
        assert_eq!(err.to_string(), expected);

        fs::write(&path, "{\"anomaly\": {\"window_size\": \"100\"}}").unwrap();
        let err = AnalyticsConfig::load(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "config file `{}`: `anomaly.window_size`: invalid type: string \"100\", \
                 expected usize (line 1, column 33)",
                path.display()
            )
        );
    }

    // --- one test per error kind --------------------------------------------

    #[test]
    fn wrong_type_names_the_field_path_and_line() {
        let err = parse_err("{\n  \"anomaly\": {\n    \"window_size\": \"100\"\n  }\n}");
        assert!(matches!(err, ConfigError::Field { .. }));
        assert_eq!(err.field(), Some("anomaly.window_size"));
        assert_eq!(err.line(), Some(3));
        assert_eq!(
            err.to_string(),
            "`anomaly.window_size`: invalid type: string \"100\", expected usize (line 3, column 24)"
        );

        let err = parse_err(r#"{"enabled": "yes"}"#);
        assert_eq!(err.field(), Some("enabled"));
        assert_contains(&err, &["invalid type", "expected a boolean"]);

        let err = parse_err(r#"{"anomaly": {"window_size": 1.5}}"#);
        assert_eq!(err.field(), Some("anomaly.window_size"));
        assert_contains(&err, &["floating point `1.5`", "expected usize"]);
    }

    #[test]
    fn every_leaf_field_names_itself_on_a_type_error() {
        for path in leaf_fields() {
            let text = nested(&path, json!({"not": "a value"})).to_string();
            let err = parse_err(&text);
            assert_eq!(err.field(), Some(path.join(".").as_str()), "{err}");
            assert_eq!(err.line(), Some(1));
            assert_contains(&err, &["invalid type", "expected"]);
        }
    }

    #[test]
    fn section_of_the_wrong_type_names_the_section() {
        let schema = serde_json::to_value(AnalyticsConfig::default()).unwrap();
        let sections: Vec<&String> = schema
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.is_object())
            .map(|(k, _)| k)
            .collect();
        assert!(sections.len() >= 5);
        for section in sections {
            // An array would otherwise fill the fields by position.
            for value in [json!([]), json!([true, 5, 2.0]), json!(5), json!(null)] {
                let text = json!({ section.as_str(): value }).to_string();
                let err = parse_err(&text);
                assert_eq!(err.field(), Some(section.as_str()), "{err}");
                assert_contains(&err, &["invalid type", "expected a JSON object"]);
            }
        }
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
    fn number_too_large_for_f64_names_the_field() {
        let err = parse_err(r#"{"thresholds": {"cpu_high": 1e400}}"#);
        assert_eq!(err.field(), Some("thresholds.cpu_high"));
        assert_eq!(err.line(), Some(1));
        assert_contains(&err, &["number out of range"]);

        let err = parse_err(r#"{"optimizer": {"interval": 100000000000000000000000}}"#);
        assert_eq!(err.field(), Some("optimizer.interval"));
        assert_contains(&err, &["expected u64"]);
    }

    #[test]
    fn negative_unsigned_is_a_type_error_naming_the_field() {
        let err = parse_err(r#"{"memory": {"max_history_size": -5}}"#);
        assert!(matches!(err, ConfigError::Field { .. }));
        assert_eq!(err.field(), Some("memory.max_history_size"));
        assert_contains(&err, &["integer `-5`", "expected usize", "line 1"]);

        let err = parse_err(r#"{"optimizer": {"interval": -1}}"#);
        assert_eq!(err.field(), Some("optimizer.interval"));
        assert_contains(&err, &["integer `-1`", "expected u64"]);
    }

    #[test]
    fn unknown_top_level_field() {
        let err = parse_err(r#"{"bogus": 1}"#);
        assert!(matches!(err, ConfigError::Field { .. }));
        assert_eq!(err.field(), Some("bogus"));
        assert_eq!(err.suggestion(), None);
        assert_eq!(
            err.to_string(),
            "`bogus`: unknown field, expected one of `enabled`, `predictive`, `anomaly`, \
             `optimizer`, `memory`, `thresholds` (line 1, column 8)"
        );

        let err = parse_err(r#"{"anomoly": {}}"#);
        assert_eq!(err.field(), Some("anomoly"));
        assert_eq!(err.suggestion(), Some("anomaly"));
        assert_contains(&err, &["did you mean `anomaly`?"]);
    }

    #[test]
    fn misspelt_nested_field_gets_a_suggestion() {
        let err = parse_err("{\n  \"anomaly\": {\n    \"windw_size\": 100\n  }\n}");
        assert_eq!(err.field(), Some("anomaly.windw_size"));
        assert_eq!(err.suggestion(), Some("window_size"));
        assert_eq!(err.line(), Some(3));
        assert_eq!(
            err.to_string(),
            "`anomaly.windw_size`: unknown field, expected one of `enabled`, `window_size`, \
             `z_score_threshold` (line 3, column 16); did you mean `window_size`?"
        );
    }

    #[test]
    fn suggestions_cover_case_separators_transpositions_and_other_sections() {
        let cases = [
            (r#"{"anomaly": {"WINDOW_SIZE": 3}}"#, "window_size"),
            (r#"{"anomaly": {"window-size": 3}}"#, "window_size"),
            (r#"{"anomaly": {"windowSize": 3}}"#, "window_size"),
            (r#"{"optimizer": {"intreval": 3}}"#, "interval"),
            (r#"{"Thresholds": {}}"#, "thresholds"),
            (r#"{"predictive": {"enable": true}}"#, "enabled"),
            // In the wrong section: the full path is suggested.
            (r#"{"window_size": 3}"#, "anomaly.window_size"),
            (r#"{"anomaly": {"interval": 3}}"#, "optimizer.interval"),
        ];
        for (text, expected) in cases {
            let err = parse_err(text);
            assert_eq!(err.suggestion(), Some(expected), "{err}");
        }
        let err = parse_err(r#"{"anomaly": {"sensitivity": 3}}"#);
        assert_eq!(err.suggestion(), None, "{err}");
    }

    #[test]
    fn duplicate_field_names_the_field() {
        let err = parse_err(r#"{"anomaly": {"enabled": true, "enabled": false}}"#);
        assert_eq!(err.field(), Some("anomaly.enabled"));
        assert_contains(&err, &["duplicate field"]);
    }

    #[test]
    fn truncated_json_names_the_line() {
        let text = "{\n  \"enabled\": true,\n  \"anomaly\": {\n    \"window_size\": 10\n";
        let err = parse_err(text);
        assert!(matches!(err, ConfigError::Syntax { .. }));
        assert_eq!(err.line(), Some(5));
        assert_eq!(err.column(), Some(0));
        assert_eq!(
            err.to_string(),
            "config is not valid JSON: EOF while parsing an object at line 5, column 0"
        );
    }

    #[test]
    fn other_syntax_errors_name_the_line() {
        for (text, words) in [
            (
                "{\"anomaly\": {\"window_size\": 1,}}",
                &["trailing comma"][..],
            ),
            ("{}\n{}", &["trailing characters", "line 2"][..]),
            ("{\"enabled\": tru}", &["expected ident"][..]),
            ("{enabled: true}", &["key must be a string"][..]),
        ] {
            let err = parse_err(text);
            assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
            assert!(err.line().is_some());
            assert_contains(&err, words);
        }
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = parse_bytes(b"{\n  \"a\xff\": 1}", Some(Path::new("x.json"))).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { .. }));
        assert_eq!((err.line(), err.column()), (Some(2), Some(5)));
        assert_contains(&err, &["x.json", "invalid UTF-8"]);
    }

    #[test]
    fn empty_file_says_what_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        fs::write(&path, " \n\t\r\n").unwrap();
        let err = AnalyticsConfig::load(&path).unwrap_err();
        assert!(matches!(err, ConfigError::Empty { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "config file `{}` is empty: write `{{}}` for the defaults, or delete it",
                path.display()
            )
        );
        assert_eq!(
            parse_err("").to_string(),
            "config is empty: write `{}` for the defaults"
        );
    }

    #[test]
    fn top_level_non_object_is_named() {
        let err = parse_err("[]");
        assert!(matches!(err, ConfigError::NotAnObject { .. }));
        assert_eq!(err.line(), Some(1));
        assert_eq!(
            err.to_string(),
            "config must hold a JSON object such as `{\"enabled\": true}` at the top level, \
             found an array (line 1, column 0)"
        );
        for (text, found) in [
            ("42", "found a number"),
            ("-1", "found a number"),
            ("\"x\"", "found a string"),
            ("true", "found a boolean"),
            ("null", "found null"),
            ("[false]", "found an array"),
        ] {
            let err = parse_err(text);
            assert!(matches!(err, ConfigError::NotAnObject { .. }), "{err:?}");
            assert_contains(&err, &[found]);
        }
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

    // --- validation -----------------------------------------------------------

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

    // --- helpers ----------------------------------------------------------------

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("window_size", "windw_size"), 1);
        assert_eq!(edit_distance("interval", "intreval"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("größe", "grösse"), 2);
    }

    #[test]
    fn error_is_thread_safe_and_has_a_source_for_io() {
        fn assert_traits<T: std::error::Error + Send + Sync + 'static>() {}
        assert_traits::<ConfigError>();
        let err = AnalyticsConfig::load("/definitely/not/here.json").unwrap_err();
        assert!(std::error::Error::source(&err).is_some());
    }

    // --- property tests -------------------------------------------------------

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const NAMES: &[&str] = &[
            "enabled",
            "predictive",
            "anomaly",
            "optimizer",
            "memory",
            "thresholds",
            "min_history",
            "confidence_threshold",
            "window_size",
            "z_score_threshold",
            "interval",
            "max_history_size",
            "cleanup_interval",
            "phase_slow",
            "memory_high",
            "cpu_high",
        ];

        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                6 => prop::sample::select(NAMES).prop_map(str::to_owned),
                1 => prop::sample::select(NAMES).prop_map(|n| n.to_uppercase()),
                1 => (prop::sample::select(NAMES), any::<prop::sample::Index>())
                    .prop_map(|(n, i)| { let mut n = n.to_owned(); n.remove(i.index(n.len())); n }),
                2 => "[a-zA-Z_.` -]{0,12}",
                1 => any::<String>(),
            ]
        }

        fn leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                (0u64..3_000).prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                (-2.0f64..3.0).prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "[ -~]{0,6}".prop_map(Value::from),
            ]
        }

        fn object<S: Strategy<Value = Value>>(inner: S) -> impl Strategy<Value = Value> {
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
        }

        fn value() -> impl Strategy<Value = Value> {
            leaf().prop_recursive(4, 64, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    object(inner),
                ]
            })
        }

        /// A document shaped like the schema: an object of objects.
        fn document() -> impl Strategy<Value = Value> {
            prop_oneof![
                3 => object(prop_oneof![3 => object(leaf()), 1 => leaf()]),
                1 => value(),
            ]
        }

        fn check(text: &str) -> Result<(), TestCaseError> {
            match AnalyticsConfig::from_json_str(text) {
                Ok(config) => {
                    prop_assert!(config.validate().is_ok());
                    let again = serde_json::to_string(&config).unwrap();
                    prop_assert_eq!(AnalyticsConfig::from_json_str(&again).unwrap(), config);
                }
                Err(err) => {
                    let message = err.to_string();
                    prop_assert!(!message.is_empty());
                    if text.trim_matches(is_json_whitespace).is_empty() {
                        prop_assert!(matches!(err, ConfigError::Empty { .. }), "{:?}", err);
                    } else {
                        prop_assert!(
                            err.field().is_some() || err.line().is_some(),
                            "names neither a field nor a line: {}",
                            message
                        );
                    }
                    if let ConfigError::Field { field, .. } = &err {
                        let quoted = format!("`{field}`");
                        prop_assert!(message.contains(&quoted), "{}", message);
                    }
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_documents_never_panic_and_errors_are_located(
                doc in document(),
                pretty in any::<bool>(),
            ) {
                let text = if pretty {
                    serde_json::to_string_pretty(&doc).unwrap()
                } else {
                    serde_json::to_string(&doc).unwrap()
                };
                check(&text)?;
            }

            #[test]
            fn truncated_documents_never_panic_and_errors_are_located(
                doc in document(),
                cut in any::<prop::sample::Index>(),
            ) {
                let text = serde_json::to_string_pretty(&doc).unwrap();
                let mut end = cut.index(text.len() + 1);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                check(&text[..end])?;
            }

            #[test]
            fn arbitrary_text_never_panics(text in any::<String>()) {
                check(&text)?;
            }
        }
    }
}
