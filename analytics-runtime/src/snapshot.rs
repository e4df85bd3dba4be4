//! Snapshots: the history the predictions rest on (each phase's latest runs), saved to a file
//! and replayed into the engines at `init`, so predictions and anomaly baselines survive a
//! restart. Counts are not restored: a report describes this process's runs.
//!
//! The file is versioned JSON (`{"format": "analytics-runtime-snapshot", "version": 1, ...}`),
//! written atomically (a unique temporary file, fsync, rename, directory fsync) with owner-only
//! permissions, so a crash at any moment leaves the old snapshot or the new one, never a mix.
//!
//! Reading is bounded, since the file is untrusted input read at start-up (issue 13): only a
//! regular file is opened (a FIFO would hang `init`, `/dev/zero` would fill memory), at most a
//! cap of bytes derived from `memory.max_phases` and `memory.max_history_size` is read, and the
//! JSON is deserialised as it streams in, keeping only what the caps allow (the first
//! `max_phases` phases, each one's last `max_history_size` runs): no whole-file buffer and no
//! `serde_json::Value` of the file is ever built.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
    /// A snapshot whose `version` is not a whole non-negative number (`-1`, `1.0`, `"1"`) or
    /// is missing; `found` is the value as written.
    #[error(
        "snapshot `{}` has version {found}; this runtime reads version {VERSION}",
        path.display()
    )]
    BadVersion {
        /// The snapshot file.
        path: PathBuf,
        /// The `version` as written (`-1`, `1.0`, `"1"`), or why there is none.
        found: String,
    },
    /// The path is not a regular file (a FIFO, a device, a directory): it is not opened for
    /// reading, so a FIFO cannot hang start-up nor a device fill memory.
    #[error(
        "snapshot `{}` is {kind}, not a regular file; point persistence.snapshot_path at a file",
        path.display()
    )]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is (`a FIFO`, `a character device`, `a directory`, ...).
        kind: String,
    },
    /// The file is larger than the most this runtime's config can have written.
    #[error(
        "snapshot `{}` is {} bytes, over the cap of {limit} bytes (the most `memory.max_phases` \
         phases of `memory.max_history_size` runs can take); nothing was restored",
        path.display(),
        size.map_or_else(|| "more than that".to_string(), |s| s.to_string())
    )]
    TooLarge {
        /// The snapshot file.
        path: PathBuf,
        /// Its size, when known before reading (a file growing while read has none).
        size: Option<u64>,
        /// The cap, in bytes.
        limit: u64,
    },
}

/// What a snapshot read keeps: every cap applies while the file is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadCaps {
    /// Phases kept (the first ones in the file); the others are skipped.
    pub(crate) max_phases: usize,
    /// Runs kept per phase (the latest ones); older runs are skipped.
    pub(crate) max_runs: usize,
    /// Bytes read at most; a larger file is refused.
    pub(crate) max_bytes: u64,
}

/// Bytes one run takes at most in a snapshot: `[18446744073709551615,"Cancelled"],` is 35.
const RUN_BYTES: u64 = 40;
/// Bytes allowed per phase besides its runs: the name (a long one) and the JSON around it.
const PHASE_BYTES: u64 = 4096;
/// Bytes allowed besides the phases.
const BASE_BYTES: u64 = 1 << 20;
/// The cap on [`ReadCaps::max_bytes`], however large the config's caps are.
const MAX_BYTES: u64 = 1 << 30;

impl ReadCaps {
    /// The caps of a runtime that keeps `max_phases` phases (plus `other`) of at most
    /// `max_runs` runs: a snapshot it wrote always fits.
    pub(crate) fn new(max_phases: usize, max_runs: usize) -> ReadCaps {
        let phases = (max_phases as u64).saturating_add(1);
        let per_phase = (max_runs as u64)
            .saturating_mul(RUN_BYTES)
            .saturating_add(PHASE_BYTES);
        ReadCaps {
            max_phases: max_phases.saturating_add(1),
            max_runs,
            max_bytes: phases
                .saturating_mul(per_phase)
                .saturating_add(BASE_BYTES)
                .min(MAX_BYTES),
        }
    }
}

/// A snapshot as read: what the caps kept, and what they skipped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Restored {
    pub(crate) snapshot: Snapshot,
    /// Phases past [`ReadCaps::max_phases`], skipped.
    pub(crate) skipped_phases: u64,
    /// Runs of kept phases past [`ReadCaps::max_runs`], skipped (the oldest).
    pub(crate) skipped_runs: u64,
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

/// Opens `path` for reading if it is a regular file, without blocking on a FIFO.
fn open_regular(path: &Path) -> Result<(std::fs::File, u64), SnapshotError> {
    let read_error = |source| SnapshotError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO for reading blocks until a writer comes; O_NONBLOCK makes it return at
    // once (and changes nothing for a regular file), so the type check below runs.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(read_error)?;
    // The type of what was opened, not of what the path named a moment before.
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(SnapshotError::NotAFile {
            path: path.to_path_buf(),
            kind: file_kind(&meta.file_type()).to_string(),
        });
    }
    Ok((file, meta.len()))
}

/// What a file that is not a regular file is, in words.
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// A reader that gives at most `left` bytes and fails (setting `over`) if the source has more.
struct Capped<'a, R> {
    inner: R,
    left: u64,
    over: &'a Cell<bool>,
}

impl<R: io::Read> io::Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // At the cap: one more byte means the file is over it (it grew while read).
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.over.set(true);
            return Err(io::Error::other("the snapshot is over its size cap"));
        }
        let max = usize::try_from(self.left).map_or(buf.len(), |left| left.min(buf.len()));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Reads and checks the snapshot at `path`, keeping what `caps` allow (see the module docs).
pub(crate) fn read(path: &Path, caps: ReadCaps) -> Result<Restored, SnapshotError> {
    let (file, size) = open_regular(path)?;
    let too_large = |size| SnapshotError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: caps.max_bytes,
    };
    if size > caps.max_bytes {
        return Err(too_large(Some(size)));
    }
    let over = Cell::new(false);
    let reader = BufReader::new(Capped {
        inner: file,
        left: caps.max_bytes,
        over: &over,
    });
    // Why the parse stopped early, when it was not malformed JSON.
    let stop = Cell::new(None);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = SnapshotSeed { caps, stop: &stop }
        .deserialize(&mut de)
        .and_then(|parsed| de.end().map(|()| parsed));
    match parsed {
        Ok(parsed) => Ok(parsed),
        Err(_) if over.get() => Err(too_large(None)),
        Err(e) => Err(match stop.take() {
            Some(Stop::Foreign(found)) => SnapshotError::Foreign {
                path: path.to_path_buf(),
                found,
            },
            Some(Stop::Version(Scalar::Unsigned(found))) => SnapshotError::Version {
                path: path.to_path_buf(),
                found,
            },
            Some(Stop::Version(found)) => SnapshotError::BadVersion {
                path: path.to_path_buf(),
                found: found.to_string(),
            },
            None if e.is_io() => SnapshotError::Read {
                path: path.to_path_buf(),
                source: e.into(),
            },
            None => SnapshotError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            },
        }),
    }
}

/// Why a snapshot's parse stopped before the end, for the error it becomes.
enum Stop {
    /// The `format` is not [`FORMAT`] (as written, or `missing`).
    Foreign(String),
    /// The `version` is not [`VERSION`].
    Version(Scalar),
}

/// An envelope field's value as written (`format`, `version`), whatever its type; arrays and
/// objects are skipped, not built.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    Null,
    Array,
    Object,
    /// No such field.
    Missing,
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Unsigned(n) => write!(f, "{n}"),
            Scalar::Signed(n) => write!(f, "{n}"),
            // `{:?}` keeps the decimal point: `1.0`, not `1`.
            Scalar::Float(x) => write!(f, "{x:?}"),
            Scalar::Text(s) => write!(f, "{s:?}"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Null => f.write_str("null"),
            Scalar::Array => f.write_str("an array"),
            Scalar::Object => f.write_str("an object"),
            Scalar::Missing => f.write_str("missing"),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Unsigned(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(u64::try_from(v).map_or(Scalar::Signed(v), Scalar::Unsigned))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                // Only a short prefix is kept for the message: this is untrusted text.
                Ok(Scalar::Text(v.chars().take(64).collect()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Array)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Object)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// The whole file: the envelope is checked as soon as it is read (a foreign file or another
/// version stops the parse there), the phases are kept within the caps.
struct SnapshotSeed<'a> {
    caps: ReadCaps,
    stop: &'a Cell<Option<Stop>>,
}

impl SnapshotSeed<'_> {
    /// Records why the parse stops and returns the error that stops it.
    fn stop<E: de::Error>(&self, why: Stop) -> E {
        self.stop.set(Some(why));
        E::custom("not a snapshot this runtime reads")
    }
}

impl<'de> DeserializeSeed<'de> for SnapshotSeed<'_> {
    type Value = Restored;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Restored, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SnapshotSeed<'_> {
    type Value = Restored;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snapshot object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Restored, A::Error> {
        let mut format = None;
        let mut version = None;
        let mut written_at = None;
        let mut phases = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Format => {
                    let found: Scalar = map.next_value()?;
                    if found != Scalar::Text(FORMAT.to_string()) {
                        return Err(self.stop(Stop::Foreign(found.to_string())));
                    }
                    format = Some(());
                }
                Key::Version => {
                    let found: Scalar = map.next_value()?;
                    if found != Scalar::Unsigned(u64::from(VERSION)) && format.is_some() {
                        return Err(self.stop(Stop::Version(found)));
                    }
                    version = Some(found);
                }
                Key::WrittenAt => written_at = Some(map.next_value::<f64>()?),
                Key::Phases => {
                    if phases.is_some() {
                        return Err(de::Error::duplicate_field("phases"));
                    }
                    phases = Some(map.next_value_seed(PhasesSeed(self.caps))?);
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if format.is_none() {
            return Err(self.stop(Stop::Foreign(Scalar::Missing.to_string())));
        }
        let version = version.unwrap_or(Scalar::Missing);
        if version != Scalar::Unsigned(u64::from(VERSION)) {
            return Err(self.stop(Stop::Version(version)));
        }
        let written_at = written_at.ok_or_else(|| de::Error::missing_field("written_at"))?;
        let (phases, skipped_phases, skipped_runs) =
            phases.ok_or_else(|| de::Error::missing_field("phases"))?;
        Ok(Restored {
            snapshot: Snapshot {
                format: FORMAT.to_string(),
                version: VERSION,
                written_at,
                phases,
            },
            skipped_phases,
            skipped_runs,
        })
    }
}

/// The envelope's keys (others are skipped).
enum Key {
    Format,
    Version,
    WrittenAt,
    Phases,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "format" => Key::Format,
                    "version" => Key::Version,
                    "written_at" => Key::WrittenAt,
                    "phases" => Key::Phases,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// The `phases` array: the first `max_phases` phases are kept, the rest skipped unbuilt.
struct PhasesSeed(ReadCaps);

impl<'de> DeserializeSeed<'de> for PhasesSeed {
    type Value = (Vec<PhaseHistory>, u64, u64);
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PhasesSeed {
    type Value = (Vec<PhaseHistory>, u64, u64);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of phases")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let caps = self.0;
        let (mut kept, mut skipped_phases, mut skipped_runs) = (Vec::new(), 0, 0);
        loop {
            if kept.len() < caps.max_phases {
                let Some((phase, skipped)) = seq.next_element_seed(PhaseSeed(caps.max_runs))?
                else {
                    break;
                };
                kept.push(phase);
                skipped_runs += skipped;
            } else if seq.next_element::<IgnoredAny>()?.is_some() {
                skipped_phases += 1;
            } else {
                break;
            }
        }
        Ok((kept, skipped_phases, skipped_runs))
    }
}

/// One phase: its name and its last `max_runs` runs (and how many older runs were skipped).
struct PhaseSeed(usize);

impl<'de> DeserializeSeed<'de> for PhaseSeed {
    type Value = (PhaseHistory, u64);
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PhaseSeed {
    type Value = (PhaseHistory, u64);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a phase with a `name` and `runs`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut name, mut runs) = (None, None);
        while let Some(key) = map.next_key::<PhaseKey>()? {
            match key {
                PhaseKey::Name => name = Some(map.next_value::<String>()?),
                PhaseKey::Runs => runs = Some(map.next_value_seed(RunsSeed(self.0))?),
                PhaseKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        let (runs, skipped) = runs.ok_or_else(|| de::Error::missing_field("runs"))?;
        Ok((PhaseHistory { name, runs }, skipped))
    }
}

/// A phase's keys (others are skipped).
enum PhaseKey {
    Name,
    Runs,
    Other,
}

impl<'de> Deserialize<'de> for PhaseKey {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = PhaseKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<PhaseKey, E> {
                Ok(match v {
                    "name" => PhaseKey::Name,
                    "runs" => PhaseKey::Runs,
                    _ => PhaseKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// A phase's runs, oldest first: only the last `max_runs` are kept while they stream in.
struct RunsSeed(usize);

impl<'de> DeserializeSeed<'de> for RunsSeed {
    type Value = (Vec<(u64, Outcome)>, u64);
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RunsSeed {
    type Value = (Vec<(u64, Outcome)>, u64);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of [nanoseconds, outcome] runs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let max = self.0;
        let mut runs = VecDeque::new();
        let mut skipped = 0;
        while let Some(run) = seq.next_element::<(u64, Outcome)>()? {
            if runs.len() == max {
                skipped += 1;
                if runs.pop_front().is_none() {
                    continue;
                }
            }
            runs.push_back(run);
        }
        Ok((runs.into(), skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default config's caps.
    const CAPS: ReadCaps = ReadCaps {
        max_phases: 1001,
        max_runs: 1000,
        max_bytes: 64 << 20,
    };

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
        assert_eq!(read(&path, CAPS).unwrap().snapshot, sample());
    }

    #[test]
    fn corrupt_foreign_and_other_versions_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        std::fs::write(&path, b"{\"format\": \"analytics-runtime-snap").unwrap();
        let err = read(&path, CAPS).unwrap_err();
        assert!(matches!(err, SnapshotError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");

        std::fs::write(&path, b"{\"enabled\": true}").unwrap();
        let err = read(&path, CAPS).unwrap_err();
        assert!(matches!(err, SnapshotError::Foreign { .. }), "{err}");
        assert!(err.to_string().contains("missing"), "{err}");

        std::fs::write(
            &path,
            format!("{{\"format\": \"{FORMAT}\", \"version\": 9}}"),
        )
        .unwrap();
        let err = read(&path, CAPS).unwrap_err();
        assert!(err.to_string().contains("version 9"), "{err}");

        std::fs::write(
            &path,
            format!("{{\"format\": \"{FORMAT}\", \"version\": 1, \"phases\": 3}}"),
        )
        .unwrap();
        assert!(matches!(
            read(&path, CAPS).unwrap_err(),
            SnapshotError::Corrupt { .. }
        ));
        let err = read(&dir.path().join("missing.json"), CAPS).unwrap_err();
        assert!(matches!(err, SnapshotError::Read { .. }));
    }

    #[test]
    fn a_version_that_is_not_a_whole_number_is_reported_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        for (version, shown) in [
            ("-1", "version -1;"),
            ("1.0", "version 1.0;"),
            ("\"1\"", "version \"1\";"),
            ("null", "version null;"),
            ("[1]", "version an array;"),
            ("2", "version 2;"),
        ] {
            std::fs::write(
                &path,
                format!(
                    "{{\"format\": \"{FORMAT}\", \"version\": {version}, \
                     \"written_at\": 1.0, \"phases\": []}}"
                ),
            )
            .unwrap();
            let err = read(&path, CAPS).unwrap_err().to_string();
            assert!(err.contains(shown), "{version}: {err}");
            assert!(!err.contains("version 0"), "{version}: {err}");
        }
        std::fs::write(
            &path,
            format!("{{\"format\": \"{FORMAT}\", \"written_at\": 1.0, \"phases\": []}}"),
        )
        .unwrap();
        let err = read(&path, CAPS).unwrap_err().to_string();
        assert!(err.contains("version missing"), "{err}");
        // A version before the format is judged once the format is known.
        std::fs::write(
            &path,
            format!(
                "{{\"version\": -1, \"format\": \"{FORMAT}\", \"written_at\": 1, \"phases\": []}}"
            ),
        )
        .unwrap();
        let err = read(&path, CAPS).unwrap_err().to_string();
        assert!(err.contains("version -1;"), "{err}");
    }

    #[test]
    fn the_caps_apply_while_parsing_first_phases_and_last_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        let snapshot = Snapshot {
            phases: (0..10_000)
                .map(|i| PhaseHistory {
                    name: format!("phase{i}"),
                    runs: (0..5).map(|r| (i * 10 + r, Outcome::Success)).collect(),
                })
                .collect(),
            ..sample()
        };
        write(&path, &snapshot).unwrap();
        let caps = ReadCaps {
            max_phases: 3,
            max_runs: 2,
            max_bytes: 64 << 20,
        };
        let read = read(&path, caps).unwrap();
        let kept: Vec<_> = read
            .snapshot
            .phases
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.runs.iter().map(|r| r.0).collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(
            kept,
            [
                ("phase0", vec![3, 4]),
                ("phase1", vec![13, 14]),
                ("phase2", vec![23, 24])
            ]
        );
        assert_eq!((read.skipped_phases, read.skipped_runs), (9_997, 9));
        // No runs at all kept.
        let none = super::read(
            &path,
            ReadCaps {
                max_runs: 0,
                ..caps
            },
        )
        .unwrap();
        assert!(none.snapshot.phases.iter().all(|p| p.runs.is_empty()));
    }

    #[test]
    fn a_file_over_the_cap_is_refused_before_reading_and_the_error_says_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        // A sparse 10 GB file costs nothing to make; reading it would.
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(10 << 30).unwrap();
        let caps = ReadCaps::new(1000, 1000);
        let err = read(&path, caps).unwrap_err();
        assert!(
            matches!(err, SnapshotError::TooLarge { size: Some(s), limit, .. }
                if s == 10 << 30 && limit == caps.max_bytes),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("cap of {} bytes", caps.max_bytes)),
            "{text}"
        );
        // A file can also grow past the cap while it is read: the reader stops at the cap.
        let over = Cell::new(false);
        let mut capped = Capped {
            inner: std::io::repeat(b' '),
            left: 10,
            over: &over,
        };
        let mut buf = Vec::new();
        assert!(std::io::Read::read_to_end(&mut capped, &mut buf).is_err());
        assert_eq!((buf.len(), over.get()), (10, true));
    }

    #[test]
    fn caps_fit_what_the_config_writes_and_stay_bounded() {
        let caps = ReadCaps::new(1000, 1000);
        assert_eq!(caps.max_phases, 1001);
        // 1001 phases of 1000 of the longest runs, with long names, fit.
        assert!(caps.max_bytes >= 1001 * (1000 * 35 + 1000));
        assert_eq!(ReadCaps::new(usize::MAX, usize::MAX).max_bytes, MAX_BYTES);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_device_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.json");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `name` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        // Without a writer, opening a FIFO for reading would block forever.
        let err = read(&fifo, CAPS).unwrap_err();
        assert!(matches!(err, SnapshotError::NotAFile { .. }), "{err}");
        assert!(err.to_string().contains("is a FIFO"), "{err}");

        let err = read(Path::new("/dev/zero"), CAPS).unwrap_err();
        assert!(err.to_string().contains("a character device"), "{err}");
        let err = read(dir.path(), CAPS).unwrap_err();
        assert!(
            matches!(
                err,
                SnapshotError::NotAFile { .. } | SnapshotError::Read { .. }
            ),
            "{err}"
        );
    }
}
