//! Memory stays bounded whatever runs through the runtime: 10 million calls spread over 100
//! annotated phases, plus 100 000 distinct message topics and 100 000 distinct objective names,
//! on the default config. Prints the process's RSS after every million calls, its growth since
//! `init` and between the first million calls and the last, against the targets (growth under
//! 8 MB, flat within 1 MB).
//!
//! ```text
//! cargo run --release --example memory_soak -- [--calls N] [--names N]
//! ```

use std::process::ExitCode;

use analytics_runtime::{AnalyticsConfig, analyzed_phase};
use clap::Parser;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(about = "Shows that the runtime's memory stays bounded")]
struct Cli {
    /// Phase calls in total (spread over 100 phases).
    #[arg(long, default_value_t = 10_000_000)]
    calls: u64,
    /// Distinct message topics, and distinct objective names, invented along the way.
    #[arg(long, default_value_t = 100_000)]
    names: u64,
}

/// Generates one annotated phase per name, and the table of all of them.
macro_rules! phases {
    ($($name:ident)*) => {
        $(
            #[analyzed_phase]
            fn $name(x: u64) -> Result<u64, u64> {
                let y = std::hint::black_box(x).wrapping_mul(2_654_435_761);
                if y % 97 == 0 { Err(y) } else { Ok(y) }
            }
        )*
        const PHASES: &[fn(u64) -> Result<u64, u64>] = &[$($name),*];
    };
}

phases!(
    p00 p01 p02 p03 p04 p05 p06 p07 p08 p09 p10 p11 p12 p13 p14 p15 p16 p17 p18 p19
    p20 p21 p22 p23 p24 p25 p26 p27 p28 p29 p30 p31 p32 p33 p34 p35 p36 p37 p38 p39
    p40 p41 p42 p43 p44 p45 p46 p47 p48 p49 p50 p51 p52 p53 p54 p55 p56 p57 p58 p59
    p60 p61 p62 p63 p64 p65 p66 p67 p68 p69 p70 p71 p72 p73 p74 p75 p76 p77 p78 p79
    p80 p81 p82 p83 p84 p85 p86 p87 p88 p89 p90 p91 p92 p93 p94 p95 p96 p97 p98 p99
);

/// This process's resident set size, in MB.
fn rss_mb(system: &mut System, pid: Pid) -> f64 {
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_memory(),
    );
    system
        .process(pid)
        .map_or(0.0, |p| p.memory() as f64 / (1024.0 * 1024.0))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Ok(pid) = sysinfo::get_current_pid() else {
        eprintln!("error: cannot read this process's id");
        return ExitCode::FAILURE;
    };
    let mut system = System::new();
    if let Err(error) = analytics_runtime::init(AnalyticsConfig::default()) {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let baseline = rss_mb(&mut system, pid);
    println!("RSS after init: {baseline:.1} MB");
    println!(
        "{:>12} {:>10} {:>14} {:>16}",
        "calls", "RSS MB", "growth MB", "runtime bytes"
    );

    let every_name = (cli.calls / cli.names.max(1)).max(1);
    let mut name = String::new();
    let mut names = 0u64;
    let mut at_first_million = None;
    for call in 0..cli.calls {
        let phase = PHASES[(call % PHASES.len() as u64) as usize];
        let _ = phase(call);
        if call % every_name == 0 && names < cli.names {
            use std::fmt::Write as _;
            name.clear();
            let _ = write!(name, "topic-{names}");
            analytics_runtime::record_message(&name);
            name.clear();
            let _ = write!(name, "objective-{names}");
            analytics_runtime::record_objective(&name, 0.5 + (names % 5) as f64 / 10.0);
            names += 1;
        }
        if (call + 1) % 1_000_000 == 0 || call + 1 == cli.calls {
            // These phases take nanoseconds, so a million calls pass before the engine's worker
            // (every 25 ms) has looked once; a coordinator's phases take milliseconds and the
            // worker keeps up. Let it catch up before measuring, as it would have by then.
            if let Some(runtime) = analytics_runtime::global() {
                runtime.flush();
            }
            let rss = rss_mb(&mut system, pid);
            if at_first_million.is_none() {
                at_first_million = Some(rss);
            }
            println!(
                "{:>12} {:>10.1} {:>14.2} {:>16}",
                call + 1,
                rss,
                rss - baseline,
                analytics_runtime::global().map_or(0, |r| r.memory_usage().total_bytes)
            );
        }
    }
    analytics_runtime::shutdown();
    let end = rss_mb(&mut system, pid);
    let report = analytics_runtime::report();
    let growth = end - baseline;
    let flat = end - at_first_million.unwrap_or(end);
    println!(
        "\n{} executions over {} phases, {} topics and {} objectives recorded \
         ({} topic and {} objective records in `other`)",
        report.total_executions(),
        report.phases.len(),
        names,
        names,
        report.messages.overflowed,
        report.objectives.overflowed
    );
    println!("memory components: {:?}", report.memory.components);
    println!(
        "RSS growth since init: {growth:.2} MB (target < 8 MB): {}",
        if growth < 8.0 { "ok" } else { "OVER" }
    );
    println!(
        "RSS growth from the first million calls to the last: {flat:.2} MB (target < 1 MB): {}",
        if flat < 1.0 { "ok" } else { "OVER" }
    );
    ExitCode::SUCCESS
}
