//! Reading FILE: a saved report or a snapshot, told apart by the snapshot's `format` field.

use std::path::Path;

use analytics_runtime::Report;
use analytics_runtime::snapshot::{FORMAT, VERSION};

use crate::snapshot_table::SnapshotTable;

/// What FILE held.
#[derive(Debug)]
pub(crate) enum Input {
    /// A saved report.
    Report(Box<Report>),
    /// A snapshot, summarised per phase.
    Snapshot(SnapshotTable),
}

/// Reads `path`; the error names the file and says what is wrong with it.
pub(crate) fn load(path: &Path) -> Result<Input, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("`{shown}` is not valid JSON: {e}"))?;
    if let Some(format) = value.get("format") {
        if format.as_str() != Some(FORMAT) {
            return Err(format!(
                "`{shown}` is neither a report nor an analytics-runtime snapshot \
                 (its `format` is {format})"
            ));
        }
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(VERSION)) {
            return Err(format!(
                "snapshot `{shown}` has version {}; this tool reads version {VERSION}",
                version.map_or_else(|| "(missing)".to_string(), |v| v.to_string())
            ));
        }
        return SnapshotTable::from_value(&value)
            .map(Input::Snapshot)
            .map_err(|e| format!("snapshot `{shown}` is corrupt: {e}"));
    }
    // Parsed from the text again (not from `value`) so that errors carry a line and column.
    serde_json::from_str::<Report>(&text)
        .map(|report| Input::Report(Box::new(report)))
        .map_err(|e| format!("`{shown}` is not a saved analytics-runtime report: {e}"))
}
