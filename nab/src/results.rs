//! Loading a detector's results directory (NAB layout) as scorable files.

use std::path::Path;

use super::corpus::{Labels, read_series, window_indices};
use super::error::NabError;
use super::scorer::ScoredFile;

/// Splits `group/file.csv` into its group and file name.
pub fn split_relative(relative: &str) -> (&str, &str) {
    relative.rsplit_once('/').unwrap_or(("", relative))
}

/// Path of the results file of `relative` (`group/file.csv`) for detector `prefix`:
/// `<dir>/<group>/<prefix>_<file>.csv`.
pub fn results_path(dir: &Path, prefix: &str, relative: &str) -> std::path::PathBuf {
    let (group, name) = split_relative(relative);
    dir.join(group).join(format!("{prefix}_{name}"))
}

/// Loads the `anomaly_score` column of every labelled file's results under `dir` and
/// attaches the label windows, in the labels' (sorted) order.
pub fn load_results(
    dir: &Path,
    prefix: &str,
    labels: &Labels,
) -> Result<Vec<ScoredFile>, NabError> {
    labels
        .iter()
        .map(|(relative, windows)| {
            let series = read_series(&results_path(dir, prefix, relative), "anomaly_score")?;
            Ok(ScoredFile {
                name: relative.clone(),
                windows: window_indices(relative, &series.timestamps, windows)?,
                scores: series.values,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_nab_result_paths() {
        let p = results_path(Path::new("out"), "det", "realTraffic/speed_6005.csv");
        assert_eq!(p, Path::new("out/realTraffic/det_speed_6005.csv"));
        assert_eq!(split_relative("a.csv"), ("", "a.csv"));
    }
}
