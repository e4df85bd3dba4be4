//! Side-by-side overhead benchmarks of `#[analyzed_phase]` against the crates a user would
//! pick instead (issue 6).
//!
//! ```sh
//! cargo run --release -p analytics-bench                 # the whole table, one command
//! cargo run --release -p analytics-bench -- --quick      # a fast, noisier pass
//! ANALYTICS_BENCH_VARIANT=analyzed-default cargo bench -p analytics-bench   # divan's view
//! bench/compile_time.sh                                  # build time with/without the attribute
//! ```
//!
//! Every variant instruments the same `#[inline(never)]` function
//! (`black_box(x).wrapping_mul(31)`, see [`workload`]): the plain call; an `Instant::now()`
//! pair (the floor of a measurement through the OS clock); two raw timestamp-counter reads
//! (`quanta::Clock::raw`, the physical limit the runtime's cost is compared with, issue 14); `#[analyzed_phase]` before `init`, with
//! `enabled: false`, with the default config and with each engine off; `tracing`'s
//! `#[instrument]` without a subscriber and with a `Registry`; `fastrace`'s `#[trace]` without a
//! reporter and with one (under a root span); a `metrics` histogram record with the Prometheus
//! recorder installed. Then: two threads against one ([`jobs`]), `report()` with 100 phases,
//! an async phase polled to completion with a no-op waker, and the NAB harness's throughput.
//!
//! # Why each variant gets its own process
//! `analytics_runtime::init` works once per process and `Runtime::in_scope` takes a slower,
//! scoped path, so the table would not measure the global fast path if variants shared a
//! process; the same holds for `tracing`'s global default, `fastrace`'s reporter and the
//! `metrics` recorder. The binary re-executes itself (`analytics-bench child JOB`) once per
//! variant and round, and each child prints one JSON result line ([`jobs::RESULT_PREFIX`]).
//!
//! # How a number is made
//! Calls are timed in batches of [`measure::BATCH`]; the variant's batches alternate with
//! plain-call batches (ABBA), and a variant's overhead is the median of the per-call
//! differences of neighbouring batches, pooled over rounds (separate processes). Warm-up makes
//! 200 000 calls and waits 100 ms so the runtime's engine thread (started by the first phase
//! registration) is running and has caught up; the child checks `/proc` that it runs.
//!
//! # Why divan and not criterion
//! The table needs its own loop anyway (child processes, paired batches, ratios across
//! variants), so the statistics framework only serves `cargo bench`'s detailed view. divan
//! does that with a handful of small dependencies and no serde/plotting stack; criterion,
//! even with `default-features = false`, builds ciborium, regex, tinytemplate and serde_json
//! machinery into every `cargo clippy --workspace --all-targets` in CI.
//!
//! Nothing here asserts a time: benchmarks are not tests.

pub mod jobs;
pub mod measure;
pub mod table;
pub mod variant;
pub mod workload;
