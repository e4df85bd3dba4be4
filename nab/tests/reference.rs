//! Checks the NAB scorer against NAB's own windowed-Gaussian results on the shared subset.
//!
//! The data directory is `$NAB_DIR`, by default `shared/data/nab` beside the workspace (where
//! the team's shared files and CI put it); the tests are skipped, with a message, only when
//! it is absent.

use std::path::PathBuf;

use analytics_nab::corpus::read_labels;
use analytics_nab::harness::{run_corpus, scored_files};
use analytics_nab::profile::STANDARD;
use analytics_nab::results::load_results;
use analytics_nab::score_corpus;
use analytics_runtime::anomaly::DetectorSettings;

fn nab_dir() -> PathBuf {
    std::env::var_os("NAB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab"))
}

#[test]
fn windowed_gaussian_reference_scores_41_42() {
    let dir = nab_dir();
    if !dir.join("labels/combined_windows.json").exists() {
        println!("skipping: NAB data not found at {}", dir.display());
        return;
    }
    let labels = read_labels(&dir.join("labels/combined_windows.json")).unwrap();
    let files = load_results(
        &dir.join("reference/windowedGaussian"),
        "windowedGaussian",
        &labels,
    )
    .unwrap();
    let result = score_corpus(&files, &STANDARD);
    println!("windowedGaussian standard = {:.4}", result.normalized);
    assert!(
        (result.normalized - 41.42).abs() < 0.005,
        "{}",
        result.normalized
    );
}

/// The detector, with its default settings, on the whole shared subset: the target is
/// 65 (plain rolling z-score: about 41; NAB's best published detectors: about 75).
#[test]
fn default_detector_scores_at_least_65_standard() {
    let dir = nab_dir();
    if !dir.join("labels/combined_windows.json").exists() {
        println!("skipping: NAB data not found at {}", dir.display());
        return;
    }
    let labels = read_labels(&dir.join("labels/combined_windows.json")).unwrap();
    let run = run_corpus(&dir.join("data"), &DetectorSettings::default()).unwrap();
    assert_eq!(run.files.len(), 41);
    let files = scored_files(&run, &labels).unwrap();
    let result = score_corpus(&files, &STANDARD);
    println!("detector standard = {:.2}", result.normalized);
    assert!(result.normalized >= 65.0, "{}", result.normalized);
}
