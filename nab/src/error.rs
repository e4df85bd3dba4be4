//! Error type for loading and scoring NAB data.

use std::path::PathBuf;

/// Errors raised while reading NAB data, labels or detector results.
#[derive(Debug, thiserror::Error)]
pub enum NabError {
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A CSV line could not be parsed.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What went wrong.
        message: String,
    },
    /// The labels JSON file is malformed.
    #[error("invalid labels file {path}: {source}")]
    Labels {
        /// The labels file.
        path: PathBuf,
        /// The underlying JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A label window refers to a timestamp that is not in its data file.
    #[error("window limit {timestamp} of {file} is not a timestamp of the file")]
    WindowLimit {
        /// Relative file name (`group/file.csv`).
        file: String,
        /// The missing timestamp.
        timestamp: String,
    },
    /// Scores and timestamps disagree for a file.
    #[error("{file}: {message}")]
    Mismatch {
        /// Relative file name (`group/file.csv`).
        file: String,
        /// What went wrong.
        message: String,
    },
}

impl NabError {
    /// Builds an [`NabError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
