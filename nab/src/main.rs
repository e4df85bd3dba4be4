//! `nab`: runs the streaming anomaly detector over a NAB corpus and scores it, or
//! scores an existing NAB results directory.

use std::path::PathBuf;
use std::process::ExitCode;

use analytics_nab::corpus::read_labels;
use analytics_nab::cv::{cross_validate, default_candidates, report};
use analytics_nab::harness::{
    file_table, run_corpus, score_profiles, scored_files, summary, window_table, write_results,
};
use analytics_nab::results::load_results;
use analytics_runtime::anomaly::{DEFAULT_SCORE_THRESHOLD, DetectorSettings};
use clap::Parser;

/// Runs the detector on NAB data (`--data`, `--out`), scores results (`--score-dir`), or
/// cross-validates the detector (`--data`, `--labels`, `--cross-validate`).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Data directory with `<group>/<file>.csv` series.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory for `<group>/analytics_<file>.csv` results.
    #[arg(long)]
    out: Option<PathBuf>,
    /// NAB label windows (`combined_windows.json`); prints the three profile scores.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Score an existing results directory instead of running the detector.
    #[arg(long, conflicts_with = "data", requires = "labels")]
    score_dir: Option<PathBuf>,
    /// File-name prefix of the results files (`<prefix>_<file>.csv`).
    #[arg(long, default_value = "analytics")]
    prefix: String,
    /// Print the per-file breakdown of the standard profile.
    #[arg(long)]
    verbose: bool,
    /// Override a detector setting, `name=value` (experiments only; may repeat).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    overrides: Vec<String>,
    /// Cross-validate (leave one group out) the choice of setting and threshold, and print
    /// in-sample and out-of-fold scores and the threshold curve (needs `--data`, `--labels`).
    #[arg(long, requires_all = ["data", "labels"])]
    cross_validate: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let labels = match &cli.labels {
        Some(path) => Some(read_labels(path).map_err(|e| e.to_string())?),
        None => None,
    };
    if cli.cross_validate {
        let (Some(data), Some(labels)) = (&cli.data, &labels) else {
            return Err("--cross-validate needs --data DIR --labels FILE".into());
        };
        let cv = cross_validate(data, labels, &default_candidates()).map_err(|e| e.to_string())?;
        print!("{}", report(&cv, DEFAULT_SCORE_THRESHOLD));
        return Ok(());
    }
    let files = if let Some(dir) = &cli.score_dir {
        let labels = labels.as_ref().ok_or("--score-dir needs --labels")?;
        load_results(dir, &cli.prefix, labels).map_err(|e| e.to_string())?
    } else {
        let (Some(data), Some(out)) = (&cli.data, &cli.out) else {
            return Err("give --data DIR --out DIR, or --score-dir DIR --labels FILE".into());
        };
        let mut settings = DetectorSettings::default();
        for item in &cli.overrides {
            let (key, value) = item.split_once('=').ok_or("--set expects NAME=VALUE")?;
            settings.set(key, value)?;
        }
        let run = run_corpus(data, &settings).map_err(|e| e.to_string())?;
        write_results(out, &cli.prefix, &run).map_err(|e| e.to_string())?;
        println!(
            "detector: {} points in {:.3} s = {:.0} points/s (wall){}",
            run.points,
            run.detector_time.as_secs_f64(),
            run.points_per_second(),
            run.points_per_cpu_second()
                .map_or(String::new(), |p| format!(", {p:.0} points per CPU second"))
        );
        let Some(labels) = &labels else { return Ok(()) };
        scored_files(&run, labels).map_err(|e| e.to_string())?
    };
    let scores = score_profiles(&files);
    if cli.verbose {
        print!("{}", file_table(&scores[0]));
        print!("{}", window_table(&files, &scores[0]));
    }
    print!("{}", summary(&scores));
    Ok(())
}
