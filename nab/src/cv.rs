//! Honest evaluation: leave-one-group-out cross-validation of the detector's settings and
//! threshold, beside the in-sample score, and the score-versus-threshold curve.
//!
//! NAB's own score sweeps one threshold over the very files it scores, so it is an in-sample
//! figure: on files nobody tuned on, a detector loses whatever it had fitted. Here every
//! fold holds one group (folder) of the corpus out, chooses the candidate settings *and* the
//! threshold on the other groups only, and scores the held-out group at that fixed
//! threshold. The out-of-fold score adds the held-out raw scores of all folds and normalises
//! them like NAB does, so it is directly comparable with the in-sample one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use analytics_runtime::anomaly::DetectorSettings;

use crate::corpus::Labels;
use crate::harness::{run_corpus, scored_files};
use crate::scorer::score_at_threshold;
use crate::{NabError, PROFILES, Profile, ScoredFile, score_corpus};

/// One candidate setting of the detector, with a short name for reports.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Short name (`default`, `long_window=1000`, ...).
    pub name: String,
    /// The settings.
    pub settings: DetectorSettings,
}

/// The candidates cross-validation chooses from: the shipped default and variations of the
/// settings that shape the score (tail model, damping of repeats, baseline length).
/// The default must be what cross-validation selects, not what fits these files best.
pub fn default_candidates() -> Vec<Candidate> {
    let base = DetectorSettings::default();
    let mut out = vec![Candidate {
        name: "default".into(),
        settings: base.clone(),
    }];
    let variations: [(&str, &str); 8] = [
        ("tail", "0.001"),
        ("tail", "0.005"),
        ("novelty_tail", "0.003"),
        ("alpha_max", "6"),
        ("alpha_max", "25"),
        ("refractory", "0"),
        ("long_window", "1000"),
        ("long_window", "4000"),
    ];
    for (key, value) in variations {
        let mut settings = base.clone();
        if settings.set(key, value).is_ok() {
            out.push(Candidate {
                name: format!("{key}={value}"),
                settings,
            });
        }
    }
    out
}

/// A baseline detector: one score per value, streaming (no look-ahead).
type Baseline = fn(&[f64]) -> Vec<f64>;

/// The simple baselines a user could compute, cross-validated like the detector.
pub const BASELINES: [(&str, Baseline); 2] = [
    ("rolling z-score (window 100)", rolling_z_baseline),
    (
        "fixed threshold (share of range so far)",
        fixed_threshold_baseline,
    ),
];

/// `|z| / (1 + |z|)` of the plain rolling z-score over the previous 100 values.
pub fn rolling_z_baseline(values: &[f64]) -> Vec<f64> {
    let mut detector =
        analytics_runtime::anomaly::StreamDetector::new(&DetectorSettings::default());
    values
        .iter()
        .map(|&v| {
            let z = detector.observe(v).z_score.abs();
            z / (1.0 + z)
        })
        .collect()
}

/// A fixed threshold on the value, made comparable across files by the range seen so far:
/// `(x - min) / (max - min)` over the previous values, halved and capped at 1 (so 0.5 is the
/// previous maximum); 0 for the first value.
pub fn fixed_threshold_baseline(values: &[f64]) -> Vec<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    values
        .iter()
        .map(|&v| {
            let score = if hi > lo {
                ((v - lo) / (hi - lo) / 2.0).clamp(0.0, 1.0)
            } else {
                0.0
            };
            lo = lo.min(v);
            hi = hi.max(v);
            score
        })
        .collect()
}

/// The group of a relative file name (`group/file.csv` -> `group`).
pub fn group_of(name: &str) -> &str {
    name.split_once('/').map_or("", |(g, _)| g)
}

/// One fold of the cross-validation for one profile.
#[derive(Debug, Clone)]
pub struct Fold {
    /// The held-out group.
    pub group: String,
    /// Index (into the candidates) of the setting chosen on the training groups.
    pub chosen: usize,
    /// Threshold chosen on the training groups.
    pub threshold: f64,
    /// Normalised score of the chosen setting on the training groups (in-sample).
    pub train_score: f64,
    /// In-sample score of the held-out group alone (its own best threshold, default setting).
    pub in_sample: Option<f64>,
    /// Normalised score of the held-out group at the training threshold (`None` without
    /// label windows).
    pub held_out: Option<f64>,
    /// Raw, null and perfect scores of the held-out group (summable across folds).
    pub raw: f64,
    /// Raw score of detecting nothing in the held-out group.
    pub null: f64,
    /// Raw score of a perfect detector on the held-out group.
    pub perfect: f64,
    /// Detections outside windows in the held-out group.
    pub false_positives: usize,
    /// Label windows of the held-out group.
    pub windows: usize,
}

/// Cross-validation of one profile.
#[derive(Debug, Clone)]
pub struct ProfileCv {
    /// The profile.
    pub profile: Profile,
    /// One fold per group.
    pub folds: Vec<Fold>,
    /// Out-of-fold score: the held-out raw scores summed over folds, normalised.
    pub out_of_fold: f64,
    /// Out-of-fold score of the default setting alone (only its threshold is chosen on the
    /// training groups).
    pub out_of_fold_default: f64,
    /// In-sample score of the default candidate (threshold swept on all files).
    pub in_sample: f64,
    /// Threshold of that in-sample score.
    pub in_sample_threshold: f64,
}

/// The whole cross-validation.
#[derive(Debug, Clone)]
pub struct CrossValidation {
    /// Candidate names, in order (index 0 is the default).
    pub candidates: Vec<String>,
    /// Per-candidate scored files (same file order for every candidate).
    pub runs: Vec<Vec<ScoredFile>>,
    /// One result per NAB profile.
    pub profiles: Vec<ProfileCv>,
    /// The simple baselines under the same protocol: name and one result per profile.
    pub baselines: Vec<(String, Vec<ProfileCv>)>,
    /// Points per second (wall) of the default candidate's detector.
    pub points_per_second: f64,
    /// Points per CPU second of the default candidate's detector, where known.
    pub points_per_cpu_second: Option<f64>,
}

/// Runs every candidate over the corpus once (the detectors are per file and never see the
/// labels), then cross-validates the choice of candidate and threshold, leaving one group
/// out at a time.
pub fn cross_validate(
    data_dir: &Path,
    labels: &Labels,
    candidates: &[Candidate],
) -> Result<CrossValidation, NabError> {
    let mut runs = Vec::new();
    let mut points_per_second = 0.0;
    let mut points_per_cpu_second = None;
    for (i, c) in candidates.iter().enumerate() {
        let run = run_corpus(data_dir, &c.settings)?;
        if i == 0 {
            points_per_second = run.points_per_second();
            points_per_cpu_second = run.points_per_cpu_second();
        }
        runs.push(scored_files(&run, labels)?);
    }
    let profiles = PROFILES
        .iter()
        .map(|profile| cross_validate_runs(&runs, profile))
        .collect();
    let mut baselines = Vec::new();
    for (name, baseline) in BASELINES {
        let base_run = run_corpus(data_dir, &DetectorSettings::default())?;
        let mut files = scored_files(&base_run, labels)?;
        for (file, input) in files.iter_mut().zip(&base_run.files) {
            file.scores = baseline(&input.series.values);
        }
        let runs = [files];
        let results = PROFILES
            .iter()
            .map(|profile| cross_validate_runs(&runs, profile))
            .collect();
        baselines.push((name.to_string(), results));
    }
    Ok(CrossValidation {
        baselines,
        candidates: candidates.iter().map(|c| c.name.clone()).collect(),
        runs,
        profiles,
        points_per_second,
        points_per_cpu_second,
    })
}

/// Leave-one-group-out cross-validation of already scored candidate runs for one profile.
/// `runs[c]` holds candidate `c`'s files, in the same order for every candidate.
pub fn cross_validate_runs(runs: &[Vec<ScoredFile>], profile: &Profile) -> ProfileCv {
    let (folds, out_of_fold) = leave_one_group_out(runs, profile);
    let (_, out_of_fold_default) = leave_one_group_out(&runs[..1], profile);
    let all = score_corpus(&runs[0], profile);
    ProfileCv {
        profile: *profile,
        folds,
        out_of_fold,
        out_of_fold_default,
        in_sample: all.normalized,
        in_sample_threshold: all.threshold,
    }
}

/// The folds of leave-one-group-out cross-validation and the out-of-fold score.
fn leave_one_group_out(runs: &[Vec<ScoredFile>], profile: &Profile) -> (Vec<Fold>, f64) {
    let files = &runs[0];
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        groups.entry(group_of(&f.name)).or_default().push(i);
    }
    let mut folds = Vec::new();
    for (group, held) in &groups {
        let pick = |run: &[ScoredFile], inside: bool| -> Vec<ScoredFile> {
            run.iter()
                .enumerate()
                .filter(|(i, _)| held.contains(i) == inside)
                .map(|(_, f)| f.clone())
                .collect()
        };
        // Choose the candidate and the threshold on the training groups only; ties go to
        // the earlier candidate (the default first).
        let mut best: Option<(usize, f64, f64)> = None;
        for (c, run) in runs.iter().enumerate() {
            let train = score_corpus(&pick(run, false), profile);
            if best.is_none_or(|(_, _, s)| train.normalized > s + 1e-9) {
                best = Some((c, train.threshold, train.normalized));
            }
        }
        let (chosen, threshold, train_score) = best.unwrap_or((0, f64::INFINITY, 0.0));
        let test = score_at_threshold(&pick(&runs[chosen], true), profile, threshold);
        let own = score_corpus(&pick(&runs[0], true), profile);
        let windows: usize = test.files.iter().map(|f| f.windows).sum();
        folds.push(Fold {
            group: (*group).to_string(),
            chosen,
            threshold,
            train_score,
            in_sample: (windows > 0).then_some(own.normalized),
            held_out: (windows > 0).then_some(test.normalized),
            raw: test.raw,
            null: test.null,
            perfect: test.perfect,
            false_positives: test.files.iter().map(|f| f.false_positives).sum(),
            windows,
        });
    }
    let raw: f64 = folds.iter().map(|f| f.raw).sum();
    let null: f64 = folds.iter().map(|f| f.null).sum();
    let perfect: f64 = folds.iter().map(|f| f.perfect).sum();
    let out_of_fold = if perfect > null {
        100.0 * (raw - null) / (perfect - null)
    } else {
        0.0
    };
    (folds, out_of_fold)
}

/// The normalised score of `files` for each profile at each of `thresholds`.
pub fn threshold_curve(files: &[ScoredFile], thresholds: &[f64]) -> Vec<(f64, [f64; 3])> {
    thresholds
        .iter()
        .map(|&t| {
            let s = PROFILES.map(|p| score_at_threshold(files, &p, t).normalized);
            (t, s)
        })
        .collect()
}

/// Evenly spaced thresholds from `from` to `to` (inclusive) by `step`.
pub fn threshold_grid(from: f64, to: f64, step: f64) -> Vec<f64> {
    let n = ((to - from) / step).round() as usize;
    (0..=n).map(|i| from + step * i as f64).collect()
}

/// The printed report: per profile, the folds (chosen setting and threshold, training and
/// held-out scores), the out-of-fold and in-sample totals, then the threshold curve of the
/// default setting with the shipped threshold marked.
pub fn report(cv: &CrossValidation, shipped_threshold: f64) -> String {
    let mut text = format!(
        "cross-validation: leave one group out, {} folds, {} candidate settings ({})\n",
        cv.profiles.first().map_or(0, |p| p.folds.len()),
        cv.candidates.len(),
        cv.candidates.join(", ")
    );
    for p in &cv.profiles {
        let _ = writeln!(text, "\nprofile {}", p.profile.name);
        let _ = writeln!(
            text,
            "  {:<22} {:<20} {:>9} {:>7} {:>9} {:>9} {:>8} {:>4}",
            "held-out group",
            "chosen setting",
            "threshold",
            "train",
            "in-sample",
            "held-out",
            "raw",
            "fp"
        );
        for f in &p.folds {
            let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
            let _ = writeln!(
                text,
                "  {:<22} {:<20} {:>9.4} {:>7.2} {:>9} {:>9} {:>8.3} {:>4}",
                f.group,
                cv.candidates[f.chosen],
                f.threshold,
                f.train_score,
                opt(f.in_sample),
                opt(f.held_out),
                f.raw,
                f.false_positives
            );
        }
        let default_chosen = p.folds.iter().filter(|f| f.chosen == 0).count();
        let _ = writeln!(
            text,
            "  in-sample (default setting, threshold {:.4} swept on all files): {:.2}\n  \
             out-of-fold (setting and threshold chosen without the held-out group): {:.2}\n  \
             out-of-fold (default setting, threshold chosen without the held-out group): {:.2}\n  \
             default setting chosen in {} of {} folds",
            p.in_sample_threshold,
            p.in_sample,
            p.out_of_fold,
            p.out_of_fold_default,
            default_chosen,
            p.folds.len()
        );
    }
    let _ = writeln!(
        text,
        "\nbaselines, same protocol (held-out score per group; in-sample / out-of-fold overall)"
    );
    for (name, results) in &cv.baselines {
        for (p, own) in results.iter().zip(&cv.profiles) {
            let groups: Vec<String> = p
                .folds
                .iter()
                .zip(&own.folds)
                .filter_map(|(b, d)| {
                    let (score, own) = (b.held_out?, d.held_out?);
                    let beats = if score > own {
                        " (beats the detector)"
                    } else {
                        ""
                    };
                    Some(format!("{} {score:.1}{beats}", b.group))
                })
                .collect();
            let _ = writeln!(
                text,
                "  {name:<40} {:<19} {:6.2} / {:6.2}   {}",
                p.profile.name,
                p.in_sample,
                p.out_of_fold,
                groups.join(", ")
            );
        }
    }
    if let Some(files) = cv.runs.first() {
        let _ = writeln!(
            text,
            "\nthreshold curve (default setting, all files; shipped default {shipped_threshold:.2})"
        );
        let _ = writeln!(
            text,
            "  {:>9} {:>9} {:>11} {:>11}",
            "threshold", "standard", "low_FP", "low_FN"
        );
        let mut grid = threshold_grid(0.30, 0.90, 0.025);
        grid.push(shipped_threshold);
        grid.sort_by(f64::total_cmp);
        grid.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        for (t, s) in threshold_curve(files, &grid) {
            let mark = if (t - shipped_threshold).abs() < 1e-9 {
                " <- shipped"
            } else {
                ""
            };
            let _ = writeln!(
                text,
                "  {t:>9.3} {:>9.2} {:>11.2} {:>11.2}{mark}",
                s[0], s[1], s[2]
            );
        }
    }
    let _ = writeln!(
        text,
        "\ndetector: {:.0} points/s wall{} (default setting)",
        cv.points_per_second,
        cv.points_per_cpu_second
            .map_or(String::new(), |p| format!(", {p:.0} points per CPU second"))
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::STANDARD;

    fn file(name: &str, scores: Vec<f64>, windows: Vec<(usize, usize)>) -> ScoredFile {
        ScoredFile {
            name: name.into(),
            scores,
            windows,
        }
    }

    /// Two groups whose windows need different thresholds: the held-out fold must use the
    /// other group's threshold, so it scores below its own in-sample figure.
    #[test]
    fn held_out_group_is_scored_at_the_training_threshold() {
        let mut a = vec![0.0; 200];
        a[100] = 0.9; // group a: the window is found at 0.9
        a[60] = 0.5; // and a false alarm at 0.5
        let mut b = vec![0.0; 200];
        b[100] = 0.5; // group b: the window only reaches 0.5
        let runs = vec![vec![
            file("a/x.csv", a, vec![(100, 119)]),
            file("b/y.csv", b, vec![(100, 119)]),
        ]];
        let cv = cross_validate_runs(&runs, &STANDARD);
        assert_eq!(cv.folds.len(), 2);
        let fold_a = &cv.folds[0];
        let fold_b = &cv.folds[1];
        assert_eq!(fold_a.group, "a");
        // Trained on b: threshold 0.5, which also fires a's false alarm.
        assert_eq!(fold_a.threshold, 0.5);
        assert_eq!(fold_a.false_positives, 1);
        // Trained on a: threshold 0.9, which misses b's window entirely.
        assert_eq!(fold_b.threshold, 0.9);
        assert_eq!(fold_b.held_out, Some(0.0));
        assert!(fold_b.in_sample.unwrap() > 90.0);
        assert!(cv.out_of_fold < cv.in_sample);
    }

    #[test]
    fn the_better_candidate_is_chosen_on_training_groups() {
        let mut good = vec![0.0; 200];
        good[100] = 0.9;
        let bad = vec![0.0; 200];
        let runs = vec![
            vec![
                file("a/x.csv", bad.clone(), vec![(100, 119)]),
                file("b/y.csv", bad, vec![(100, 119)]),
            ],
            vec![
                file("a/x.csv", good.clone(), vec![(100, 119)]),
                file("b/y.csv", good, vec![(100, 119)]),
            ],
        ];
        let cv = cross_validate_runs(&runs, &STANDARD);
        assert!(cv.folds.iter().all(|f| f.chosen == 1));
        assert!((cv.out_of_fold - 100.0).abs() < 1e-9);
    }

    #[test]
    fn grid_and_groups() {
        assert_eq!(threshold_grid(0.5, 0.6, 0.05).len(), 3);
        assert_eq!(group_of("realTraffic/speed.csv"), "realTraffic");
    }
}
