//! `predeval`: the predictive engine's failure probability beside the baselines a user could
//! compute by hand (running mean, EWMA(0.1), last outcome, Markov-1), on synthetic workloads of
//! every class, with the p90 coverage and the duration error, as one table.
//!
//! The predictor's constants were chosen on the training seeds; the held-out seeds are other
//! phases of the same classes (each seed draws its own rates, periods, burst lengths, change
//! points). Both tables are printed; the held-out one is the claim.
//!
//! `cargo run --release --bin predeval -- [--runs N] [--train A..B] [--held-out A..B]`

use std::process::ExitCode;

use analytics_nab::predeval::{BASELINES, Class, evaluate_class};
use clap::Parser;

/// Scores the engine's predictions against simple baselines.
#[derive(Debug, Parser)]
#[command(about)]
struct Cli {
    /// Runs per workload.
    #[arg(long, default_value_t = 1000)]
    runs: usize,
    /// Training seeds, `A..B` (B excluded).
    #[arg(long, default_value = "1..11", value_parser = seeds)]
    train: std::ops::Range<u64>,
    /// Held-out seeds, `A..B` (B excluded).
    #[arg(long, default_value = "101..121", value_parser = seeds)]
    held_out: std::ops::Range<u64>,
}

/// Parses `A..B`.
fn seeds(text: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}`: expected a range like 1..11"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|e| format!("`{s}` in `{text}`: {e}"))
    };
    let (a, b) = (parse(a)?, parse(b)?);
    if a >= b {
        return Err(format!("`{text}`: the range is empty"));
    }
    Ok(a..b)
}

/// Prints one table; returns the classes on which the engine lost to a baseline.
fn table(title: &str, seeds: &[u64], runs: usize) -> Vec<String> {
    println!(
        "\n{title}: seeds {}..={}, {runs} runs each",
        seeds[0],
        seeds[seeds.len() - 1]
    );
    println!(
        "{:<17} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>7} {:>7}",
        "class",
        "scored",
        "engine",
        "run.mean",
        "EWMA.1",
        "last",
        "Markov1",
        "margin",
        "lost",
        "p90cov",
        "dur.err",
        "err.last"
    );
    let mut losses = Vec::new();
    for class in Class::ALL {
        let (s, lost) = evaluate_class(class, seeds, runs);
        let b = s.baseline_briers();
        let (best, which) =
            b.iter().zip(BASELINES).fold(
                (f64::INFINITY, ""),
                |acc, (&v, n)| if v < acc.0 { (v, n) } else { acc },
            );
        let engine = s.brier();
        println!(
            "{:<17} {:>7} {:>7.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>+8.4} {:>3}/{:<2} {:>6.3} {:>6.1}% {:>6.1}%",
            class.name(),
            s.scored,
            engine,
            b[0],
            b[1],
            b[2],
            b[3],
            best - engine,
            lost,
            seeds.len(),
            s.coverage(),
            s.mape() * 100.0,
            s.mape_last() * 100.0,
        );
        if engine > best {
            losses.push(format!("{} (to {which})", class.name()));
        }
    }
    losses
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.runs < 20 {
        eprintln!("error: --runs {}: at least 20 runs are needed", cli.runs);
        return ExitCode::from(2);
    }
    println!(
        "Brier score of the failure probability read before each run (lower is better); \
         margin = best baseline - engine (>= 0: the engine is at least as good as every \
         baseline); lost = seeds on which a baseline beat the engine; p90cov = share of runs \
         at or under the predicted p90 (ideal 0.900); dur.err = median absolute % error of \
         the expected duration (err.last: of the last run's duration)."
    );
    let train: Vec<u64> = cli.train.collect();
    let held_out: Vec<u64> = cli.held_out.collect();
    table("training seeds", &train, cli.runs);
    let losses = table("held-out seeds", &held_out, cli.runs);
    if losses.is_empty() {
        println!("\nheld out: the engine is at least as good as every baseline on every class");
    } else {
        println!("\nheld out: the engine loses on {}", losses.join(", "));
    }
    ExitCode::SUCCESS
}
