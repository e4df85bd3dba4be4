//! The NAB scorer: one corpus-wide threshold per profile, chosen by sweeping, and the
//! normalised score `100 * (raw - null) / (perfect - null)`.
//!
//! The sweep sorts every scorable row of the corpus by anomaly score once and lowers the
//! threshold through the distinct scores, updating the raw score incrementally, so it costs
//! O(n log n) for n rows whatever the number of distinct scores.

use super::profile::Profile;
use super::sweep::{RowKind, label_rows};

/// A detector's scores for one data file together with the file's label windows.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredFile {
    /// Relative name (`group/file.csv`), used in reports.
    pub name: String,
    /// One anomaly score per row, in file order.
    pub scores: Vec<f64>,
    /// Inclusive row-index ranges of the label windows, sorted and non-overlapping.
    pub windows: Vec<(usize, usize)>,
}

/// How one file fares at the corpus threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct FileOutcome {
    /// Relative name of the file.
    pub name: String,
    /// The file's raw score at the corpus threshold.
    pub raw: f64,
    /// Number of scorable windows.
    pub windows: usize,
    /// Windows with at least one detection.
    pub detected: usize,
    /// Detections outside every window (scorable rows only).
    pub false_positives: usize,
    /// Summed (negative or small positive) weight of those detections.
    pub false_positive_cost: f64,
}

/// The NAB result of a corpus for one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileScore {
    /// The profile scored.
    pub profile: Profile,
    /// The chosen threshold (scores `>=` it are detections); infinite when detecting
    /// nothing is best.
    pub threshold: f64,
    /// Summed raw score at the threshold.
    pub raw: f64,
    /// Raw score of a detector that detects nothing.
    pub null: f64,
    /// Raw score of a perfect detector.
    pub perfect: f64,
    /// `100 * (raw - null) / (perfect - null)`.
    pub normalized: f64,
    /// Per-file breakdown at the threshold, in input order.
    pub files: Vec<FileOutcome>,
}

/// One scorable row of the corpus, as the sweep sees it.
#[derive(Debug, Clone, Copy)]
struct SweepRow {
    score: f64,
    /// Corpus-wide window id, or `None` outside windows.
    window: Option<usize>,
    /// Profile-weighted value of a detection at this row.
    weight: f64,
}

/// Scores a corpus with one profile: sweeps thresholds and returns the best one.
pub fn score_corpus(files: &[ScoredFile], profile: &Profile) -> ProfileScore {
    let labels: Vec<_> = files
        .iter()
        .map(|f| label_rows(f.scores.len(), &f.windows))
        .collect();
    let mut rows = Vec::new();
    let mut window_count = 0;
    for (file, file_labels) in files.iter().zip(&labels) {
        let mut max_window = None;
        for (&score, label) in file.scores.iter().zip(file_labels) {
            let Some(kind) = label else { continue };
            let (window, weight) = match *kind {
                RowKind::InWindow { window, reward } => {
                    max_window = max_window.max(Some(window));
                    (Some(window_count + window), reward * profile.tp_weight)
                }
                RowKind::Outside { cost } => (None, cost * profile.fp_weight),
            };
            if !score.is_nan() {
                rows.push(SweepRow {
                    score,
                    window,
                    weight,
                });
            }
        }
        window_count += max_window.map_or(0, |w| w + 1);
    }
    let scorable = scorable_windows(&labels);
    let null = -profile.fn_weight * scorable as f64;
    let threshold = best_threshold(&mut rows, window_count, null, profile.fn_weight);
    evaluate(files, &labels, profile, threshold)
}

/// Scores a corpus with one profile at a fixed `threshold` (chosen elsewhere, e.g. on the
/// training folds of a cross-validation): no sweep, so nothing is fitted to these files.
pub fn score_at_threshold(files: &[ScoredFile], profile: &Profile, threshold: f64) -> ProfileScore {
    let labels: Vec<_> = files
        .iter()
        .map(|f| label_rows(f.scores.len(), &f.windows))
        .collect();
    evaluate(files, &labels, profile, threshold)
}

/// The profile score of `files` (with their row `labels`) at `threshold`.
fn evaluate(
    files: &[ScoredFile],
    labels: &[Vec<Option<RowKind>>],
    profile: &Profile,
    threshold: f64,
) -> ProfileScore {
    let scorable = scorable_windows(labels);
    let null = -profile.fn_weight * scorable as f64;
    let perfect = profile.tp_weight * scorable as f64;
    let outcomes: Vec<_> = files
        .iter()
        .zip(labels)
        .map(|(file, file_labels)| file_outcome(file, file_labels, threshold, profile))
        .collect();
    let raw = outcomes.iter().map(|o| o.raw).sum::<f64>();
    ProfileScore {
        profile: *profile,
        threshold,
        raw,
        null,
        perfect,
        normalized: normalize(raw, null, perfect),
        files: outcomes,
    }
}

/// `100 * (raw - null) / (perfect - null)`, or 0 for a corpus without windows.
fn normalize(raw: f64, null: f64, perfect: f64) -> f64 {
    if perfect > null {
        100.0 * (raw - null) / (perfect - null)
    } else {
        0.0
    }
}

/// Number of windows with at least one scorable row, over all files.
fn scorable_windows(labels: &[Vec<Option<RowKind>>]) -> usize {
    labels
        .iter()
        .map(|file| {
            let mut ids: Vec<usize> = file
                .iter()
                .filter_map(|l| match l {
                    Some(RowKind::InWindow { window, .. }) => Some(*window),
                    _ => None,
                })
                .collect();
            ids.dedup();
            ids.len()
        })
        .sum()
}

/// Sweeps thresholds from high to low and returns the one with the highest raw score
/// (the highest such threshold on ties; infinity when detecting nothing is best).
fn best_threshold(rows: &mut [SweepRow], windows: usize, null: f64, fn_weight: f64) -> f64 {
    rows.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut best_per_window = vec![None::<f64>; windows];
    let mut total = null;
    let mut best = (null, f64::INFINITY);
    let mut i = 0;
    while i < rows.len() {
        let threshold = rows[i].score;
        while i < rows.len() && rows[i].score == threshold {
            let row = rows[i];
            match row.window {
                None => total += row.weight,
                Some(w) => {
                    let old = best_per_window[w].unwrap_or(-fn_weight);
                    if row.weight > old {
                        total += row.weight - old;
                        best_per_window[w] = Some(row.weight);
                    }
                }
            }
            i += 1;
        }
        if total > best.0 {
            best = (total, threshold);
        }
    }
    best.1
}

/// Scores one file at a fixed threshold.
fn file_outcome(
    file: &ScoredFile,
    labels: &[Option<RowKind>],
    threshold: f64,
    profile: &Profile,
) -> FileOutcome {
    let windows = {
        let mut ids: Vec<usize> = labels
            .iter()
            .filter_map(|l| match l {
                Some(RowKind::InWindow { window, .. }) => Some(*window),
                _ => None,
            })
            .collect();
        ids.dedup();
        ids
    };
    let mut best = vec![None::<f64>; file.windows.len()];
    let mut false_positives = 0;
    let mut false_positive_cost = 0.0;
    for (&score, label) in file.scores.iter().zip(labels) {
        let Some(kind) = label else { continue };
        if score.is_nan() || score < threshold {
            continue;
        }
        match *kind {
            RowKind::InWindow { window, reward } => {
                let value = reward * profile.tp_weight;
                best[window] = Some(best[window].map_or(value, |b: f64| b.max(value)));
            }
            RowKind::Outside { cost } => {
                false_positives += 1;
                false_positive_cost += cost * profile.fp_weight;
            }
        }
    }
    let detected = windows.iter().filter(|&&w| best[w].is_some()).count();
    let window_score: f64 = windows
        .iter()
        .map(|&w| best[w].unwrap_or(-profile.fn_weight))
        .sum();
    FileOutcome {
        name: file.name.clone(),
        raw: window_score + false_positive_cost,
        windows: windows.len(),
        detected,
        false_positives,
        false_positive_cost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{REWARD_LOW_FN_RATE, STANDARD};

    fn file(scores: Vec<f64>, windows: Vec<(usize, usize)>) -> ScoredFile {
        ScoredFile {
            name: "f".into(),
            scores,
            windows,
        }
    }

    #[test]
    fn perfect_detector_scores_100() {
        let mut scores = vec![0.0; 200];
        scores[100] = 1.0;
        let result = score_corpus(&[file(scores, vec![(100, 119)])], &STANDARD);
        assert!((result.normalized - 100.0).abs() < 1e-9);
        assert_eq!(result.threshold, 1.0);
        assert_eq!(result.files[0].detected, 1);
    }

    #[test]
    fn null_detector_scores_0() {
        let result = score_corpus(&[file(vec![0.5; 200], vec![(100, 119)])], &STANDARD);
        assert!(result.normalized.abs() < 1e-9);
        assert!(result.threshold.is_infinite());
    }

    #[test]
    fn late_detection_and_false_positives_cost() {
        let mut scores = vec![0.0; 200];
        scores[110] = 0.9; // middle of the window
        scores[50] = 0.95; // false positive before any window
        let result = score_corpus(&[file(scores, vec![(100, 119)])], &STANDARD);
        let reward =
            super::super::sweep::scaled_sigmoid(-0.5) / super::super::sweep::scaled_sigmoid(-1.0);
        assert!((result.raw - (reward - 0.11)).abs() < 1e-9);
        assert_eq!(result.files[0].false_positives, 1);
        let low_fn = score_corpus(
            &[file(vec![0.0; 200], vec![(100, 119)])],
            &REWARD_LOW_FN_RATE,
        );
        assert!((low_fn.null + 2.0).abs() < 1e-12);
    }

    /// Brute force: the raw score at every candidate threshold, for the property test.
    fn brute_force_best(files: &[ScoredFile], profile: &Profile) -> f64 {
        let labels: Vec<_> = files
            .iter()
            .map(|f| label_rows(f.scores.len(), &f.windows))
            .collect();
        let mut candidates: Vec<f64> = files.iter().flat_map(|f| f.scores.clone()).collect();
        candidates.push(f64::INFINITY);
        candidates
            .iter()
            .map(|&t| {
                files
                    .iter()
                    .zip(&labels)
                    .map(|(f, l)| file_outcome(f, l, t, profile).raw)
                    .sum::<f64>()
            })
            .fold(f64::NEG_INFINITY, f64::max)
    }

    #[test]
    fn fixed_threshold_matches_the_sweep_at_its_own_threshold() {
        let mut scores = vec![0.0; 200];
        scores[110] = 0.9;
        scores[50] = 0.95;
        scores[150] = 0.4;
        let files = [file(scores, vec![(100, 119)])];
        let swept = score_corpus(&files, &STANDARD);
        let fixed = score_at_threshold(&files, &STANDARD, swept.threshold);
        assert_eq!(swept, fixed);
        // Above every score nothing is detected: the null score.
        let none = score_at_threshold(&files, &STANDARD, 2.0);
        assert!(none.normalized.abs() < 1e-12);
        // A low threshold adds the false positive at row 150 (after the window: small cost).
        let low = score_at_threshold(&files, &STANDARD, 0.3);
        assert_eq!(low.files[0].false_positives, 2);
        assert!(low.raw < swept.raw);
    }

    proptest::proptest! {
        #[test]
        fn sweep_matches_brute_force(
            scores in proptest::collection::vec(0u8..6, 40..120),
            start in 20usize..30,
            len in 2usize..8,
        ) {
            let scores: Vec<f64> = scores.into_iter().map(|s| f64::from(s) / 5.0).collect();
            let n = scores.len();
            let files = vec![
                file(scores.clone(), vec![(start, start + len)]),
                file(scores.iter().rev().copied().collect(), vec![(n - 10, n - 5)]),
            ];
            let fast = score_corpus(&files, &STANDARD);
            let slow = brute_force_best(&files, &STANDARD);
            proptest::prop_assert!((fast.raw - slow).abs() < 1e-9);
        }
    }
}
