//! `cargo run --release -p analytics-bench`: runs every benchmark of issue 6, each variant in a
//! child process of its own, and prints one table.
//!
//! ```text
//! analytics-bench [--rounds N] [--ms N] [--trials N] [--quick] [--only A,B] [--no-extras]
//!                 [--extras A,B]
//!                 [--nab-data DIR] [--json FILE]
//! analytics-bench child JOB [ARG] [--ms N] [--trials N]     (internal: one job, one process)
//! ```
//! * `--rounds N`: processes per per-call variant (default 3), pooled; `--ms N`: sampling time
//!   per variant per round (default 1000); `--trials N`: repetitions of the throughput and
//!   report measurements (default 9; NAB runs at most 3);
//! * `--quick`: `--rounds 1 --ms 250 --trials 3`;
//! * `--only A,B`: these per-call variants only (names as in `--list`);
//! * `--no-extras`: skip threads, report, async and NAB; `--extras A,B`: only these of them
//!   (e.g. `--extras async`); `--nab-data DIR`: the NAB corpus
//!   (default `../shared/data/nab/data` next to the workspace);
//! * `--json FILE`: also write every child's raw result, one JSON line each.

use std::io::Write as _;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use analytics_bench::jobs::{self, Budget, JobResult, RESULT_PREFIX};
use analytics_bench::measure::median;
use analytics_bench::table::{CallRow, Results};
use analytics_bench::variant;

/// The jobs besides the per-call variants, in the order they run.
const EXTRAS: [&str; 4] = ["async", "threads", "report", "nab"];

struct Options {
    rounds: usize,
    budget: Budget,
    only: Option<Vec<String>>,
    /// The extra jobs to run (`async`, `threads`, `report`, `nab`).
    extras: Vec<String>,
    nab_data: Option<String>,
    json: Option<String>,
}

fn parse_usize(value: Option<&String>, flag: &str) -> Result<usize, String> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{flag} needs a number"))
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        rounds: 3,
        budget: Budget {
            per_variant: Duration::from_millis(1000),
            trials: 9,
        },
        only: None,
        extras: EXTRAS.iter().map(|e| (*e).to_owned()).collect(),
        nab_data: None,
        json: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => options.rounds = parse_usize(args.next(), arg)?.max(1),
            "--ms" => {
                let ms = parse_usize(args.next(), arg)? as u64;
                options.budget.per_variant = Duration::from_millis(ms);
            }
            "--trials" => options.budget.trials = parse_usize(args.next(), arg)?.max(1),
            "--quick" => {
                options.rounds = 1;
                options.budget.per_variant = Duration::from_millis(250);
                options.budget.trials = 3;
            }
            "--only" => {
                let list = args.next().ok_or("--only needs a list of variants")?;
                options.only = Some(list.split(',').map(str::to_owned).collect());
            }
            "--no-extras" => options.extras.clear(),
            "--extras" => {
                let list = args.next().ok_or("--extras needs a list of jobs")?;
                options.extras = list.split(',').map(str::to_owned).collect();
                if let Some(bad) = options
                    .extras
                    .iter()
                    .find(|e| !EXTRAS.contains(&e.as_str()))
                {
                    return Err(format!(
                        "--extras: no job {bad} (jobs: {})",
                        EXTRAS.join(",")
                    ));
                }
            }
            "--nab-data" => {
                options.nab_data = Some(args.next().ok_or("--nab-data needs a dir")?.clone())
            }
            "--json" => options.json = Some(args.next().ok_or("--json needs a file")?.clone()),
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    Ok(options)
}

/// `child JOB [ARG] [--ms N] [--trials N]`: runs one job here and prints its result line.
fn child(args: &[String]) -> ExitCode {
    let Some((job, rest)) = args.split_first() else {
        eprintln!("analytics-bench child: which job?");
        return ExitCode::from(2);
    };
    let (arg, flags) = match rest.split_first() {
        Some((arg, flags)) if !arg.starts_with("--") => (Some(arg.as_str()), flags),
        _ => (None, rest),
    };
    let result = parse(flags).and_then(|o| jobs::run(job, arg, o.budget));
    match result.and_then(|r| serde_json::to_string(&r).map_err(|e| e.to_string())) {
        Ok(line) => {
            println!("{RESULT_PREFIX}{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("analytics-bench child {job}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `child JOB [ARG]` in a new process and returns its result.
fn spawn(job: &str, arg: Option<&str>, options: &Options) -> JobResult {
    let skipped = |reason: String| JobResult::Skipped {
        job: format!("{job} {}", arg.unwrap_or_default()),
        reason,
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return skipped(format!("cannot find this binary: {e}")),
    };
    let mut command = Command::new(exe);
    command.arg("child").arg(job).args(arg);
    command
        .arg("--ms")
        .arg(options.budget.per_variant.as_millis().to_string())
        .arg("--trials")
        .arg(options.budget.trials.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let output = match command.output() {
        Ok(output) => output,
        Err(e) => return skipped(format!("cannot start a child process: {e}")),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix(RESULT_PREFIX));
    match (output.status.success(), line) {
        (true, Some(line)) => {
            if let Some(path) = &options.json {
                if let Ok(mut file) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                {
                    let _ = writeln!(file, "{line}");
                }
            }
            serde_json::from_str(line).unwrap_or_else(|e| skipped(format!("bad result: {e}")))
        }
        _ => skipped(format!("child failed ({})", output.status)),
    }
}

fn parent(options: &Options) -> ExitCode {
    let variants: Vec<_> = variant::ALL
        .iter()
        .filter(|v| {
            options
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|n| n == v.name))
        })
        .collect();
    let mut results = Results {
        rounds: options.rounds,
        per_variant_ms: options.budget.per_variant.as_millis() as u64,
        ..Results::default()
    };
    results.calls = variants.iter().map(|v| CallRow::new(v.name)).collect();
    // Rounds outermost: a slow drift of the machine spreads over every variant alike.
    for round in 1..=options.rounds {
        for (variant, row) in variants.iter().zip(&mut results.calls) {
            if let Err(why) = variant.available() {
                row.skipped = Some(why);
                continue;
            }
            eprint!("round {round}/{}: {:<26}", options.rounds, variant.name);
            match spawn("call", Some(variant.name), options) {
                JobResult::Call {
                    samples,
                    engine_thread,
                    ..
                } => {
                    let overhead = median(&samples.overhead);
                    eprintln!(
                        " {:8.2} ns/call, overhead {overhead:7.2} ns",
                        median(&samples.variant)
                    );
                    row.round_overheads.push(overhead);
                    row.engine_thread.push(engine_thread);
                    row.samples.extend(&samples);
                }
                JobResult::Skipped { reason, .. } => {
                    eprintln!(" skipped: {reason}");
                    row.skipped = Some(reason);
                }
                other => eprintln!(" unexpected result {other:?}"),
            }
        }
    }
    for job in EXTRAS {
        if options.extras.iter().any(|e| e == job) {
            eprintln!("{job} ...");
            let arg = if job == "nab" {
                options.nab_data.as_deref()
            } else {
                None
            };
            results.extras.push(spawn(job, arg, options));
        }
    }
    println!("{}", results.render());
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("child") => child(&args[1..]),
        Some("--help" | "-h") => {
            println!("{}", include_str!("usage.txt"));
            ExitCode::SUCCESS
        }
        Some("--list") => {
            for v in variant::ALL {
                let note = v.available().err().map(|e| format!("  (unavailable: {e})"));
                println!("{:<24} {}{}", v.name, v.label, note.unwrap_or_default());
            }
            ExitCode::SUCCESS
        }
        _ => match parse(&args) {
            Ok(options) => parent(&options),
            Err(error) => {
                eprintln!("analytics-bench: {error}");
                ExitCode::from(2)
            }
        },
    }
}
