//! User code under the attribute lints as it would without it (issue 14, point 8): clippy runs
//! on the fixture crate `tests/lint-fixture` (pedantic, `deny(clippy::async_yields_async)`)
//! without and with the attribute (its feature `analyzed`), and the two sets of diagnostics
//! must be equal: `items_after_statements`, `unused_async`, `unused_variables`,
//! `must_use_candidate` fire in both or in neither. The fixture's runtime is a renamed
//! dependency, so this also builds `crate = path`.
//!
//! Cost: two `cargo clippy` runs of the fixture in `target/lint-fixture` (about 3 minutes on a
//! cold target dir, 15 s warm). Skipped when `cargo clippy` is not installed.

use std::path::Path;
use std::process::Command;

/// The fixture's diagnostics, one `file:line:col: level: message` per line, sorted.
fn clippy(features: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO"))
        .current_dir(root.join("lint-fixture"))
        .env("CARGO_TARGET_DIR", root.join("../target/lint-fixture"))
        .args(["clippy", "--quiet", "--message-format", "short"])
        .args(features)
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut lines: Vec<String> = stderr
        .lines()
        .filter(|line| line.starts_with("src/"))
        .map(str::to_owned)
        .collect();
    lines.sort();
    assert!(
        output.status.success(),
        "clippy failed on the fixture ({features:?}):\n{stderr}"
    );
    lines
}

#[test]
fn clippy_says_the_same_with_and_without_the_attribute() {
    let has_clippy = Command::new(env!("CARGO"))
        .args(["clippy", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_clippy {
        eprintln!("cargo clippy is not installed: skipped");
        return;
    }
    let without = clippy(&[]);
    // The fixture is written so that each of these fires (or must not) on user code.
    for expected in [
        "adding items after statements",
        "unused `async`",
        "unused variable: `unused`",
    ] {
        assert!(
            without.iter().any(|l| l.contains(expected)),
            "the fixture no longer triggers {expected:?}: {without:#?}"
        );
    }
    let with = clippy(&["--features", "analyzed"]);
    assert_eq!(with, without, "the attribute changed what clippy says");
}
