//! `cargo bench -p analytics-bench`: divan's detailed statistics for the plain call, the
//! `Instant::now()` pair, the raw TSC pair and one variant of the table.
//!
//! The variant is chosen with `ANALYTICS_BENCH_VARIANT` (a name from
//! `cargo run --release -p analytics-bench -- --list`; default `analyzed-default`) and is
//! installed before divan starts, so it runs on the same global path as in the table:
//!
//! ```sh
//! ANALYTICS_BENCH_VARIANT=tracing-registry cargo bench -p analytics-bench
//! ```
//! Each iteration is one call (divan batches them itself), except for `fastrace-reporter`
//! (see `selected_variant`). The table's numbers come from `cargo run`, not from here.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use analytics_bench::measure::BATCH;
use analytics_bench::variant::{self, Installed, Kind, Variant};
use analytics_bench::workload;
use divan::Bencher;
use divan::counter::ItemsCount;

static VARIANT: OnceLock<Variant> = OnceLock::new();

fn main() {
    let name =
        std::env::var("ANALYTICS_BENCH_VARIANT").unwrap_or_else(|_| "analyzed-default".into());
    let Some(variant) = variant::by_name(&name) else {
        eprintln!("no variant {name}; see `cargo run -p analytics-bench -- --list`");
        std::process::exit(2);
    };
    let installed: Installed = match variant.install() {
        Ok(installed) => installed,
        Err(error) => {
            eprintln!("cannot install {name}: {error}");
            std::process::exit(2);
        }
    };
    // Start the engine thread (first registration) and let it catch up before measuring.
    for i in 0..100_000 {
        std::hint::black_box(variant.call(i));
    }
    std::thread::sleep(Duration::from_millis(100));
    analytics_bench::workload::calibrate_tsc();
    VARIANT.get_or_init(|| variant);
    eprintln!("variant: {name} ({})", variant.label);
    divan::main();
    drop(installed);
}

/// The plain call.
#[divan::bench]
fn plain() -> u64 {
    workload::plain(black_box(7))
}

/// Two clock reads around the body.
#[divan::bench]
fn clock_pair() -> u64 {
    workload::clock_pair(black_box(7))
}

/// Two raw timestamp-counter reads around the body (the physical limit).
#[divan::bench]
fn tsc_pair() -> u64 {
    workload::tsc_pair(black_box(7))
}

/// The variant chosen by `ANALYTICS_BENCH_VARIANT`, one call per iteration; for
/// `fastrace-reporter` one root span and [`BATCH`] calls per iteration (divan's items/s is then
/// per call), since spans are only recorded under a root.
#[divan::bench]
fn selected_variant(bencher: Bencher<'_, '_>) {
    let Some(&variant) = VARIANT.get() else {
        return;
    };
    if matches!(variant.kind, Kind::Fastrace { reporter: true }) {
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench(|| variant.batch());
    } else {
        bencher.bench(|| variant.call(black_box(7)));
    }
}
