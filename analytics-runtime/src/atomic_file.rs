//! Atomic replacement of a file's contents.
//!
//! [`write_atomic`] writes the new contents beside the target, syncs them
//! and renames them over it, so a crash leaves either the old file or the
//! new one, never a mix: the configuration file, periodic reports and
//! snapshots. [`remove_stale_temporaries`] clears what killed writers left.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write as _};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The prefix of the temporary files [`write_atomic`] creates for `name`: `.name.`
fn temporary_prefix(name: &std::ffi::OsStr) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    prefix
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Removes the temporary files of [`write_atomic`] for `path` that were last modified more
/// than `older_than` ago: what a writer killed between creating and renaming one (SIGKILL,
/// power loss) leaves behind. A live writer's file is seconds old at most, so it is never
/// touched. Best effort: returns how many files were removed.
pub(crate) fn remove_stale_temporaries(path: &Path, older_than: Duration) -> usize {
    let Some(name) = path.file_name() else {
        return 0;
    };
    let prefix = temporary_prefix(name);
    let (prefix, Some(cutoff)) = (
        prefix.to_string_lossy().into_owned(),
        SystemTime::now().checked_sub(older_than),
    ) else {
        return 0;
    };
    let Ok(entries) = fs::read_dir(parent_dir(path)) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            file_name.starts_with(&prefix) && file_name.ends_with(".tmp")
        })
        .filter(|entry| {
            // `DirEntry::metadata` does not follow symlinks: only regular files go.
            entry.metadata().is_ok_and(|meta| {
                meta.is_file() && meta.modified().is_ok_and(|modified| modified < cutoff)
            })
        })
        .filter(|entry| fs::remove_file(entry.path()).is_ok())
        .count()
}

/// Writes `contents` to a fresh temporary file beside `path` (unique name, created
/// exclusively, mode 0o600 on unix, by `tempfile`), syncs it and renames it over `path`.
///
/// Two writers of the same path never touch each other's temporary file; the last rename
/// wins, and readers see one complete version or the other. On failure the temporary file is
/// removed and `path` is left as it was.
///
/// # Errors
///
/// [`io::ErrorKind::InvalidInput`] if `path` does not name a file (e.g. it
/// ends in `..`), otherwise whatever the operating system reports while
/// creating, writing, syncing or renaming the temporary file.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ));
    };
    let dir = parent_dir(path);
    let prefix = temporary_prefix(name);
    // `tempfile` creates the file with O_EXCL under a random name (never following a
    // symlink) and mode 0o600, and deletes it if anything below fails.
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.flush()?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_parent_dir(dir);
    Ok(())
}

/// Makes the rename durable; best effort (not every platform or file
/// system supports syncing a directory).
fn sync_parent_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_then_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_atomic(&path, b"second, longer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        write_atomic(&path, b"").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"");
        assert_eq!(names(dir.path()), ["report.json"]);
    }

    #[test]
    fn missing_directory_fails_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("report.json");
        let err = write_atomic(&path, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn a_path_without_a_file_name_is_invalid_input() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join(".."), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.to_string(), "the path does not name a file");
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn failed_rename_removes_the_temporary_and_keeps_the_target() {
        // Renaming a file over a non-empty directory fails on every
        // platform.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), "kept").unwrap();
        assert!(write_atomic(&path, b"x").is_err());
        assert_eq!(names(dir.path()), ["report.json"]);
        assert_eq!(fs::read_to_string(path.join("inside")).unwrap(), "kept");
    }

    #[cfg(unix)]
    #[test]
    fn written_file_has_mode_0600_even_over_a_world_readable_one() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analytics.json");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;

        write_atomic(&path, b"{}\n").unwrap();
        assert_eq!(mode(&path), 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"{\"enabled\": true}\n").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read(&path).unwrap(), b"{\"enabled\": true}\n");
        assert_eq!(names(dir.path()), ["analytics.json"]);
    }

    #[test]
    fn concurrent_writers_of_one_path_never_leave_a_mixed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let a = vec![b'a'; 64 * 1024];
        let b = vec![b'b'; 32 * 1024];
        std::thread::scope(|s| {
            for contents in [&a, &b] {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..50 {
                        write_atomic(path, contents).unwrap();
                    }
                });
            }
            for _ in 0..100 {
                if let Ok(read) = fs::read(&path) {
                    assert!(
                        read == a || read == b,
                        "a mixed file of {} bytes",
                        read.len()
                    );
                }
            }
        });
        assert_eq!(names(dir.path()), ["report.json"]);
    }

    #[test]
    fn stale_temporaries_are_removed_fresh_ones_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        write_atomic(&path, b"{}").unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let make = |name: &str, old: bool| {
            let file = fs::File::create(dir.path().join(name)).unwrap();
            if old {
                file.set_modified(hour_ago).unwrap();
            }
        };
        make(".snapshot.json.aB3xYz.tmp", true); // a killed writer's: goes
        make(".snapshot.json.Qw12er.tmp", false); // a live writer's: stays
        make(".report.json.aB3xYz.tmp", true); // another target's: stays
        make("snapshot.json.tmp", true); // not ours: stays
        assert_eq!(remove_stale_temporaries(&path, Duration::from_secs(600)), 1);
        assert_eq!(
            names(dir.path()),
            [
                ".report.json.aB3xYz.tmp",
                ".snapshot.json.Qw12er.tmp",
                "snapshot.json",
                "snapshot.json.tmp"
            ]
        );
        // Nothing to do, or no directory at all: nothing happens.
        assert_eq!(remove_stale_temporaries(&path, Duration::from_secs(600)), 0);
        let missing = dir.path().join("no/such/dir/snapshot.json");
        assert_eq!(remove_stale_temporaries(&missing, Duration::ZERO), 0);
    }
}
