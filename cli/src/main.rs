//! `analytics`: looks at what `analytics-runtime` saved.
//!
//! - `analytics report FILE` prints a saved report (the JSON of
//!   `serde_json::to_string_pretty(&analytics_runtime::report())`) as terminal tables, through
//!   the report's own `Display`; given a snapshot file (`persistence.snapshot_path`) it prints a
//!   table of the runs each phase holds.
//! - `analytics html FILE -o report.html` writes one self-contained HTML page (inline SVG
//!   charts drawn with `plotters`, no external resources) for a saved report.
//!
//! Exit codes: 0 on success, 2 when FILE cannot be read or is not a report or snapshot (and for
//! command-line usage errors, as clap does), 1 when the output cannot be written.

mod charts;
mod html;
mod input;
mod snapshot_table;

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::input::Input;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "analytics",
    version,
    about = "Look at a saved analytics-runtime report or snapshot"
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Print a saved report (or a snapshot) as terminal tables.
    Report {
        /// A report saved as JSON, or a snapshot file.
        file: PathBuf,
    },
    /// Write a saved report as one self-contained HTML page with charts.
    Html {
        /// A report saved as JSON.
        file: PathBuf,
        /// Where to write the page.
        #[arg(short, long, default_value = "report.html")]
        output: PathBuf,
    },
}

/// Why the command failed, with the exit code it maps to.
#[derive(Debug)]
enum Failure {
    /// FILE could not be read or is not a report or snapshot: exit code 2.
    Input(String),
    /// The output could not be produced or written: exit code 1.
    Output(String),
}

/// Parses the command line, runs the command and maps a failure to its exit code.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(message)) => {
            eprintln!("analytics: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Output(message)) => {
            eprintln!("analytics: {message}");
            ExitCode::from(1)
        }
    }
}

/// Carries out one command.
fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Report { file } => {
            let written = match input::load(&file).map_err(Failure::Input)? {
                // The report's Display ends without a newline, except when it has no phase.
                Input::Report(report) => {
                    writeln!(io::stdout().lock(), "{}", report.to_string().trim_end())
                }
                Input::Snapshot(snapshot) => write!(io::stdout().lock(), "{snapshot}"),
            };
            match written {
                // A reader that stopped early (`| head`) is not an error.
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(Failure::Output(format!("cannot write to stdout: {e}")))
                }
                _ => Ok(()),
            }
        }
        Command::Html { file, output } => {
            let report = match input::load(&file).map_err(Failure::Input)? {
                Input::Report(report) => report,
                Input::Snapshot(_) => {
                    return Err(Failure::Input(format!(
                        "`{}` is a snapshot (the runs behind the predictions), not a report; \
                         `analytics report {}` prints it, `html` needs a saved report",
                        file.display(),
                        file.display()
                    )));
                }
            };
            let page = html::page(&report, &file).map_err(Failure::Output)?;
            std::fs::write(&output, page).map_err(|e| {
                Failure::Output(format!("cannot write `{}`: {e}", output.display()))
            })?;
            eprintln!("wrote {}", output.display());
            Ok(())
        }
    }
}
