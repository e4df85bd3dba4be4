//! The NAB harness: runs fresh detectors over every data file, writes NAB-style results,
//! scores them, and prints reports.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::corpus::{Labels, Series, list_data_files, read_series, window_indices};
use crate::results::split_relative;
use crate::{NabError, PROFILES, ProfileScore, ScoredFile, score_corpus};
use analytics_runtime::anomaly::{DetectorSettings, StreamDetector};

/// The detector's output for one data file.
#[derive(Debug, Clone)]
pub struct FileRun {
    /// Relative name (`group/file.csv`).
    pub name: String,
    /// The input series.
    pub series: Series,
    /// One anomaly score per row.
    pub scores: Vec<f64>,
}

/// All files of a run and the time spent inside the detector.
#[derive(Debug, Clone)]
pub struct CorpusRun {
    /// Per-file outputs, in sorted file order.
    pub files: Vec<FileRun>,
    /// Time spent in `StreamDetector::new` and `observe` only.
    pub detector_time: Duration,
    /// Points fed to the detector.
    pub points: usize,
    /// CPU time of this thread inside the detector (Linux: from
    /// `/proc/thread-self/schedstat`), which unlike wall time does not count the time other
    /// processes held the cores; `None` where unavailable.
    pub detector_cpu: Option<Duration>,
}

impl CorpusRun {
    /// Detector throughput in points per second.
    pub fn points_per_second(&self) -> f64 {
        self.points as f64 / self.detector_time.as_secs_f64().max(1e-9)
    }

    /// Detector throughput in points per CPU second, when the CPU time is known.
    pub fn points_per_cpu_second(&self) -> Option<f64> {
        self.detector_cpu
            .map(|cpu| self.points as f64 / cpu.as_secs_f64().max(1e-9))
    }
}

/// CPU time (user and system) this thread has used so far, on Linux: fields 14 and 15 of
/// `/proc/thread-self/stat`, in clock ticks (assumed 100 per second, the Linux default), so
/// it resolves 10 ms: measure long stretches only.
pub fn thread_cpu_time() -> Option<Duration> {
    let text = fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name (field 2) may hold spaces; fields after its closing parenthesis.
    let rest = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field 14 is at index 11.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Scores one series with a fresh detector, one value at a time.
pub fn detect(values: &[f64], settings: &DetectorSettings) -> Vec<f64> {
    let mut detector = StreamDetector::new(settings);
    values.iter().map(|&v| detector.observe(v).score).collect()
}

/// Runs a fresh detector with `settings` over every `group/file.csv` under `data_dir`.
pub fn run_corpus(data_dir: &Path, settings: &DetectorSettings) -> Result<CorpusRun, NabError> {
    let mut files = Vec::new();
    let mut detector_time = Duration::ZERO;
    let mut points = 0;
    let mut inputs = Vec::new();
    for name in list_data_files(data_dir)? {
        let series = read_series(&data_dir.join(&name), "value")?;
        inputs.push((name, series));
    }
    // Only the detectors run between the two clock readings.
    let cpu_start = thread_cpu_time();
    for (name, series) in inputs {
        let start = Instant::now();
        let scores = detect(&series.values, settings);
        detector_time += start.elapsed();
        points += series.len();
        files.push(FileRun {
            name,
            series,
            scores,
        });
    }
    let detector_cpu = match (cpu_start, thread_cpu_time()) {
        (Some(a), Some(b)) if b > a => Some(b - a),
        _ => None,
    };
    Ok(CorpusRun {
        files,
        detector_time,
        points,
        detector_cpu,
    })
}

/// Writes `<out>/<group>/<prefix>_<file>.csv` with header `timestamp,anomaly_score`.
pub fn write_results(out: &Path, prefix: &str, run: &CorpusRun) -> Result<(), NabError> {
    for file in &run.files {
        let (group, name) = split_relative(&file.name);
        let dir = out.join(group);
        fs::create_dir_all(&dir).map_err(|e| NabError::io(&dir, e))?;
        let mut text = String::from("timestamp,anomaly_score\n");
        for (stamp, score) in file.series.timestamp_text.iter().zip(&file.scores) {
            let _ = writeln!(text, "{stamp},{score}");
        }
        let path = dir.join(format!("{prefix}_{name}"));
        fs::write(&path, text).map_err(|e| NabError::io(&path, e))?;
    }
    Ok(())
}

/// Attaches label windows to a run's scores (files without labels get no windows).
pub fn scored_files(run: &CorpusRun, labels: &Labels) -> Result<Vec<ScoredFile>, NabError> {
    run.files
        .iter()
        .map(|f| {
            let windows = match labels.get(&f.name) {
                Some(w) => window_indices(&f.name, &f.series.timestamps, w)?,
                None => Vec::new(),
            };
            Ok(ScoredFile {
                name: f.name.clone(),
                scores: f.scores.clone(),
                windows,
            })
        })
        .collect()
}

/// Scores files with the three NAB profiles.
pub fn score_profiles(files: &[ScoredFile]) -> Vec<ProfileScore> {
    PROFILES.iter().map(|p| score_corpus(files, p)).collect()
}

/// One line per profile: normalised score, threshold and raw score.
pub fn summary(scores: &[ProfileScore]) -> String {
    let mut text = String::new();
    for s in scores {
        let _ = writeln!(
            text,
            "{:<20} score {:7.2}  (threshold {:.6}, raw {:.3}, null {:.1}, perfect {:.1})",
            s.profile.name, s.normalized, s.threshold, s.raw, s.null, s.perfect
        );
    }
    text
}

/// Per-file table of a profile's outcome: raw score, windows hit, false positives.
pub fn file_table(score: &ProfileScore) -> String {
    let mut text = format!(
        "{:<55} {:>7} {:>5} {:>4} {:>7}\n",
        "file", "raw", "hit", "fp", "fpcost"
    );
    for f in &score.files {
        let _ = writeln!(
            text,
            "{:<55} {:>7.3} {:>2}/{:<2} {:>4} {:>7.3}",
            f.name, f.raw, f.detected, f.windows, f.false_positives, f.false_positive_cost
        );
    }
    text
}

/// Per-window diagnostics at a profile's threshold: the best score inside each window, the
/// relative position of the first detection, and each file's largest scorable score outside
/// windows.
pub fn window_table(files: &[ScoredFile], score: &ProfileScore) -> String {
    use crate::sweep::{RowKind, label_rows};
    let mut text = String::new();
    for f in files {
        let labels = label_rows(f.scores.len(), &f.windows);
        let mut outside_max = 0.0_f64;
        let mut top_out = Vec::new();
        for (i, (s, l)) in f.scores.iter().zip(&labels).enumerate() {
            if let Some(RowKind::Outside { .. }) = l {
                outside_max = outside_max.max(*s);
                if *s >= score.threshold {
                    top_out.push(i);
                }
            }
        }
        let _ = write!(
            text,
            "{:<50} out_max {:.3} fp_rows {:?}",
            f.name,
            outside_max,
            &top_out[..top_out.len().min(8)]
        );
        for &(a, b) in &f.windows {
            let max_in = f.scores[a..=b].iter().copied().fold(0.0, f64::max);
            let first = f.scores[a..=b].iter().position(|&s| s >= score.threshold);
            let _ = write!(
                text,
                " | [{a}..{b}] max {max_in:.3} first {}",
                first.map_or("-".to_string(), |p| format!(
                    "{:.2}",
                    p as f64 / (b - a + 1) as f64
                ))
            );
        }
        text.push('\n');
    }
    text
}
