//! [`ConfigError`]: why a configuration could not be loaded, parsed,
//! validated or saved.
//!
//! Holds the error type, its accessors, and the small `Display` helpers that
//! put the file, the field path, the position and the suggestion into its
//! messages.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::Violation;

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
    pub(super) fn in_file(mut self, path: Option<&Path>) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AnalyticsConfig;
    use crate::config::tests::parse_err;
    use std::fs;

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
    fn error_is_thread_safe_and_has_a_source_for_io() {
        fn assert_traits<T: std::error::Error + Send + Sync + 'static>() {}
        assert_traits::<ConfigError>();
        let err = AnalyticsConfig::load("/definitely/not/here.json").unwrap_err();
        assert!(std::error::Error::source(&err).is_some());
    }
}
