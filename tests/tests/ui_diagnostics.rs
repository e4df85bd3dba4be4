//! The compiler's own messages about the user's code are intact under the attribute (issue 14,
//! point 9). Each case in `ui/diag/` has a twin `*_plain.rs`, the same code without the
//! attribute (same line numbers); trybuild pins both `.stderr` files, and
//! `annotated_stderr_equals_plain_stderr` checks that the two say the same thing, so a change of
//! the expansion that degrades a message (a lost variable name, a lost `.clone()` suggestion, a
//! lost "because of return type", a syntax error reported twice) fails here.
//! Regenerate with `TRYBUILD=overwrite cargo test -p analytics-tests --test ui_diagnostics`.

use std::fs;
use std::path::Path;

#[test]
fn diagnostics() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/diag/*.rs");
}

#[test]
fn annotated_stderr_equals_plain_stderr() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/diag");
    let mut compared = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let Some(stem) = name.strip_suffix("_plain.stderr") else {
            continue;
        };
        let plain = fs::read_to_string(&path).unwrap();
        let annotated = fs::read_to_string(dir.join(format!("{stem}.stderr")))
            .unwrap_or_else(|e| panic!("{stem}.stderr: {e}"));
        // The twins differ by their file name and by the attribute's line, which the plain
        // twin replaces with a comment.
        let plain = plain.replace(&format!("{stem}_plain.rs"), &format!("{stem}.rs"));
        let annotated = annotated.replace(
            "#[analyzed_phase]",
            "// (the same code without the attribute)",
        );
        assert_eq!(
            annotated, plain,
            "ui/diag/{stem}: the attribute changed the compiler's message"
        );
        compared += 1;
    }
    assert!(compared >= 5, "only {compared} pairs compared");
}
