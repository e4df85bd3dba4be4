//! Snapshots: the history the predictions rest on (each phase's latest runs), saved to a file
//! and replayed into the engines at `init`, so predictions and anomaly baselines survive a
//! restart. Counts are not restored: a report describes this process's runs.
//!
//! The file is versioned JSON (`{"format": "analytics-runtime-snapshot", "version": 1, ...}`),
//! written atomically (a unique temporary file, fsync, rename, directory fsync) with owner-only
//! permissions, so a crash at any moment leaves the old snapshot or the new one, never a mix.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::outcome::Outcome;

/// The `format` field of every snapshot file.
pub const FORMAT: &str = "analytics-runtime-snapshot";
/// The snapshot version this runtime writes and reads.
pub const VERSION: u32 = 1;

/// A snapshot file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub(crate) format: String,
    pub(crate) version: u32,
    /// When it was written, in seconds since the Unix epoch.
    pub(crate) written_at: f64,
    pub(crate) phases: Vec<PhaseHistory>,
}

/// One phase's latest runs, oldest first: `(nanoseconds, outcome)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PhaseHistory {
    pub(crate) name: String,
    pub(crate) runs: Vec<(u64, Outcome)>,
}

/// What a snapshot or a restore covered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotStats {
    /// Phases saved or restored.
    pub phases: usize,
    /// Runs saved or restored.
    pub runs: usize,
}

/// Why a snapshot could not be written or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The file could not be read.
    #[error("cannot read snapshot `{}`: {source}", path.display())]
    Read {
        /// The snapshot file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file could not be written (the previous snapshot, if any, is intact).
    #[error("cannot write snapshot `{}`: {source}", path.display())]
    Write {
        /// The snapshot file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not valid snapshot JSON (truncated by hand, edited, another tool's data).
    #[error("snapshot `{}` is corrupt: {message}", path.display())]
    Corrupt {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong, with the line and column.
        message: String,
    },
    /// The file is JSON but not an analytics-runtime snapshot.
    #[error(
        "`{}` is not an analytics-runtime snapshot (its `format` is {found}); \
         point persistence.snapshot_path at a file of its own",
        path.display()
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// The `format` it has (or `missing`).
        found: String,
    },
    /// A snapshot of another version.
    #[error(
        "snapshot `{}` has version {found}; this runtime reads version {VERSION}",
        path.display()
    )]
    Version {
        /// The snapshot file.
        path: PathBuf,
        /// Its version.
        found: u64,
    },
}

/// Writes `snapshot` to `path` atomically.
pub(crate) fn write(path: &Path, snapshot: &Snapshot) -> Result<usize, SnapshotError> {
    let json = serde_json::to_vec(snapshot).map_err(|e| SnapshotError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    atomic_file::write_atomic(path, &json).map_err(|source| SnapshotError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(json.len())
}

/// Reads and checks the snapshot at `path`.
pub(crate) fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
    let bytes = std::fs::read(path).map_err(|source| SnapshotError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |e: serde_json::Error| SnapshotError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    // The envelope first, so a foreign file or another version gets its own message.
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(corrupt)?;
    let format = value.get("format").and_then(serde_json::Value::as_str);
    if format != Some(FORMAT) {
        return Err(SnapshotError::Foreign {
            path: path.to_path_buf(),
            found: format.map_or_else(|| "missing".to_string(), |f| format!("{f:?}")),
        });
    }
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if version != u64::from(VERSION) {
        return Err(SnapshotError::Version {
            path: path.to_path_buf(),
            found: version,
        });
    }
    serde_json::from_value(value).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            format: FORMAT.into(),
            version: VERSION,
            written_at: 1.5,
            phases: vec![PhaseHistory {
                name: "build".into(),
                runs: vec![(1_000, Outcome::Success), (2_000, Outcome::Failure)],
            }],
        }
    }

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        let bytes = write(&path, &sample()).unwrap();
        assert!(bytes > 0);
        assert_eq!(read(&path).unwrap(), sample());
    }

    #[test]
    fn corrupt_foreign_and_other_versions_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        std::fs::write(&path, b"{\"format\": \"analytics-runtime-snap").unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, SnapshotError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");

        std::fs::write(&path, b"{\"enabled\": true}").unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, SnapshotError::Foreign { .. }), "{err}");
        assert!(err.to_string().contains("missing"), "{err}");

        std::fs::write(
            &path,
            format!("{{\"format\": \"{FORMAT}\", \"version\": 9}}"),
        )
        .unwrap();
        let err = read(&path).unwrap_err();
        assert!(err.to_string().contains("version 9"), "{err}");

        std::fs::write(
            &path,
            format!("{{\"format\": \"{FORMAT}\", \"version\": 1, \"phases\": 3}}"),
        )
        .unwrap();
        assert!(matches!(
            read(&path).unwrap_err(),
            SnapshotError::Corrupt { .. }
        ));
        let err = read(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(err, SnapshotError::Read { .. }));
    }
}
