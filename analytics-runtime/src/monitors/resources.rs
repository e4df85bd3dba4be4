//! Process resources: readings of the current process's resident memory (RSS) and CPU use, and
//! their attribution to the phases that ran between two readings.
//!
//! The runtime's background sampler owns a [`ProcessSampler`] and hands each [`ResourceSample`]
//! to a [`ResourceTracker`], together with how long each phase ran since the previous sample.
//! Nothing here touches the hot path: phases only record their durations, as they always do,
//! and attribution costs one pass over the phases that ran, once per sampling interval.
//!
//! Units: "MB" in reports is MiB (2^20 bytes), the unit of `thresholds.memory_high`; CPU % is
//! process CPU time over wall time, so 100 is one core fully busy and `n * 100` is the most a
//! process can use on `n` cores.

use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::report::{PhaseResources, ResourcesReport};

/// Bytes in one MB of the report (binary, like `thresholds.memory_high`).
const BYTES_PER_MB: f64 = 1024.0 * 1024.0;

/// Phase ids a new tracker accepts until [`ResourceTracker::forget_phases_above`] sets the
/// runtime's own cap; generous enough for the default `memory.max_phases` (1000) plus the
/// overflow phase, small enough that a stray id cannot make the tracker large (24 KiB).
const DEFAULT_MAX_PHASES: usize = 1024;

/// One reading of the process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ResourceSample {
    /// Resident set size, in bytes.
    pub(crate) rss_bytes: u64,
    /// Process CPU % over the interval since the previous sample (100 = one core busy).
    pub(crate) cpu_percent: f64,
    /// CPU time the process has used since it started, in milliseconds.
    pub(crate) cpu_ms: u64,
}

/// Reads the current process.
///
/// Owns a `sysinfo` [`System`] that only ever holds this one process: each sample refreshes
/// its memory and CPU times and nothing else (no other process, no threads, no command line),
/// which keeps a sample to a few small `/proc` reads on Linux.
pub(crate) struct ProcessSampler {
    /// The `sysinfo` state; it caches the process between refreshes.
    system: System,
    /// This process.
    pid: Pid,
    /// What a refresh reads: memory and CPU times only.
    refresh: ProcessRefreshKind,
    /// CPU time (user + system) the process had used at the previous reading, in ms.
    last_cpu_ms: u64,
    /// When the previous reading was taken.
    last_at: Instant,
    /// The most CPU % the process can use: 100 per core available to it.
    max_cpu_percent: f64,
}

impl std::fmt::Debug for ProcessSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `System` prints every cached figure; the pid is what identifies a sampler.
        f.debug_struct("ProcessSampler")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl ProcessSampler {
    /// A sampler of the current process, primed so that the first [`sample`](Self::sample)
    /// reports the CPU used since this call; `None` if the platform gives nothing (an
    /// unsupported OS, or no memory figure for this process).
    pub(crate) fn new() -> Option<Self> {
        if !sysinfo::IS_SUPPORTED_SYSTEM {
            return None;
        }
        let pid = sysinfo::get_current_pid().ok()?;
        // `nothing()` still lists the process's threads as tasks on Linux (one directory read
        // plus one entry per thread): the figures we need are per process, so skip them.
        let refresh = ProcessRefreshKind::nothing()
            .with_memory()
            .with_cpu()
            .without_tasks();
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let mut sampler = ProcessSampler {
            system: System::new(),
            pid,
            refresh,
            last_cpu_ms: 0,
            last_at: Instant::now(),
            max_cpu_percent: 100.0 * cores as f64,
        };
        let (rss_bytes, cpu_ms) = sampler.read()?;
        if rss_bytes == 0 {
            // A running process always has resident pages: zero means the platform does not
            // report them, and a sampler of zeros would only mislead the report.
            return None;
        }
        sampler.last_cpu_ms = cpu_ms;
        sampler.last_at = Instant::now();
        Some(sampler)
    }

    /// Reads the process now: its RSS and the CPU % it used since the previous reading (or
    /// since [`new`](Self::new)). `None` if the process could not be read.
    ///
    /// The CPU % is the process's CPU time over our own wall clock, not `sysinfo`'s
    /// `cpu_usage()`: that one divides by the system-wide CPU time, which `sysinfo` re-reads
    /// at most every `MINIMUM_CPU_UPDATE_INTERVAL` (200 ms on Linux), so over shorter or
    /// irregular intervals (a sample taken for a report between two periodic ones) it divides
    /// by a stale figure; measured: a thread burning one core read as 17 % over 50 ms and 67 %
    /// over 300 ms, where this computation reads 100 %. CPU time is counted in clock ticks
    /// (10 ms on most Linux systems), so the figure is meaningful over intervals well above
    /// that; it is clamped to what the available cores allow.
    pub(crate) fn sample(&mut self) -> Option<ResourceSample> {
        let (rss_bytes, cpu_ms) = self.read()?;
        let now = Instant::now();
        let wall_ms = now.saturating_duration_since(self.last_at).as_secs_f64() * 1e3;
        // CPU time never decreases; saturate rather than trust a platform quirk.
        let used_ms = cpu_ms.saturating_sub(self.last_cpu_ms) as f64;
        self.last_cpu_ms = cpu_ms;
        self.last_at = now;
        let cpu_percent = if wall_ms > 0.0 {
            (used_ms / wall_ms * 100.0).clamp(0.0, self.max_cpu_percent)
        } else {
            0.0
        };
        Some(ResourceSample {
            rss_bytes,
            cpu_percent,
            cpu_ms,
        })
    }

    /// Refreshes this process only and returns its RSS in bytes and its accumulated CPU time
    /// in ms.
    fn read(&mut self) -> Option<(u64, u64)> {
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            true,
            self.refresh,
        );
        let process = self.system.process(self.pid)?;
        Some((process.memory(), process.accumulated_cpu_time()))
    }
}

/// What the tracker accumulates for one phase over the intervals in which it ran.
#[derive(Debug, Clone, Copy, Default)]
struct PhaseAccum {
    /// Sum of the phase's weights: per interval, the time it ran, clamped to the interval's
    /// length, in ns (f64: exact up to 2^53 ns, about 104 days of phase time).
    weight_ns: f64,
    /// Sum of each interval's CPU % times the phase's weight in it.
    cpu_weighted: f64,
    /// The RSS change attributed to the phase, in bytes (fractional: changes are split).
    rss_delta_bytes: f64,
    /// Intervals in which the phase ran.
    samples: u64,
}

/// What the runtime remembers about resources: totals for the report and, per phase, the CPU
/// and RSS change seen while it ran.
///
/// Bounded: at most one small entry per phase id below the cap (ids at or above it are
/// ignored), in a `Vec` indexed by phase id.
#[derive(Debug, Clone)]
pub(crate) struct ResourceTracker {
    /// The sampling interval, for the report.
    interval: Duration,
    /// Samples recorded.
    samples: u64,
    /// The last sample recorded (sanitised).
    latest: Option<ResourceSample>,
    /// The largest RSS recorded, in bytes.
    peak_rss_bytes: u64,
    /// RSS at the last sample whose interval was attributed: the next interval's RSS change
    /// is measured from here, so a sample with no interval (zero elapsed) loses no change.
    rss_baseline: Option<u64>,
    /// Sum of CPU % times interval length (s), for the time-weighted mean.
    cpu_time_weighted: f64,
    /// Sum of interval lengths, in seconds.
    elapsed_s: f64,
    /// Sum of CPU % over all samples, for the mean when no interval had a length.
    cpu_sum: f64,
    /// Per phase id; never longer than `max_phases`.
    phases: Vec<PhaseAccum>,
    /// Phase ids at or above this are ignored.
    max_phases: usize,
}

impl ResourceTracker {
    /// An empty tracker for a sampler that runs every `interval`.
    pub(crate) fn new(interval: Duration) -> Self {
        ResourceTracker {
            interval,
            samples: 0,
            latest: None,
            peak_rss_bytes: 0,
            rss_baseline: None,
            cpu_time_weighted: 0.0,
            elapsed_s: 0.0,
            cpu_sum: 0.0,
            phases: Vec::new(),
            max_phases: DEFAULT_MAX_PHASES,
        }
    }

    /// Records one sample taken `elapsed` after the previous one, and attributes it to the
    /// phases that ran during that interval: `busy` lists (phase id, nanoseconds that the
    /// phase's runs which ended in the interval lasted), one entry per phase.
    ///
    /// - A phase's weight in the interval is its busy time clamped to the interval's length
    ///   (concurrent runs can add up to more); its CPU % is the weighted mean of the CPU % of
    ///   the intervals it ran in.
    /// - The interval's RSS change is split in proportion to busy time: each phase gets
    ///   `change * busy / max(total busy, elapsed)`. When phases fill the interval, the whole
    ///   change is shared between them; otherwise the part of the change that matches the time
    ///   no phase ran stays unattributed, so a phase that ran 1 % of the interval is not
    ///   charged for everything the process allocated in it.
    /// - The first sample has no previous RSS: its CPU is attributed, its RSS change is zero.
    /// - A zero `elapsed` is no interval: the sample updates the totals, nothing is
    ///   attributed, and its RSS change carries over to the next interval.
    ///
    /// A non-finite or negative CPU % is recorded as 0, so no figure is ever NaN.
    pub(crate) fn record(
        &mut self,
        sample: ResourceSample,
        elapsed: Duration,
        busy: &[(usize, u64)],
    ) {
        let cpu = if sample.cpu_percent.is_finite() {
            sample.cpu_percent.max(0.0)
        } else {
            0.0
        };
        let rss = sample.rss_bytes;
        self.samples += 1;
        self.latest = Some(ResourceSample {
            rss_bytes: rss,
            cpu_percent: cpu,
            cpu_ms: sample.cpu_ms,
        });
        self.peak_rss_bytes = self.peak_rss_bytes.max(rss);
        self.cpu_sum += cpu;
        if elapsed.is_zero() {
            return;
        }
        let elapsed_ns = elapsed.as_nanos() as f64;
        self.elapsed_s += elapsed.as_secs_f64();
        self.cpu_time_weighted += cpu * elapsed.as_secs_f64();
        let rss_change = match self.rss_baseline.replace(rss) {
            // i128: the difference of two u64 always fits, whatever the sign.
            Some(previous) => (i128::from(rss) - i128::from(previous)) as f64,
            None => 0.0,
        };
        // Phases whose ids are ignored still occupied the interval: counting their busy time
        // keeps the others from absorbing their share of the change.
        let busy_ns: f64 = busy.iter().map(|&(_, ns)| ns as f64).sum();
        let share_base = busy_ns.max(elapsed_ns);
        for &(id, ns) in busy {
            if ns == 0 || id >= self.max_phases {
                continue;
            }
            let ns = ns as f64;
            let weight = ns.min(elapsed_ns);
            let phase = self.slot(id);
            phase.weight_ns += weight;
            phase.cpu_weighted += cpu * weight;
            phase.rss_delta_bytes += rss_change * ns / share_base;
            phase.samples += 1;
        }
    }

    /// The report's `resources` section; `monitored` says whether the sampler runs.
    pub(crate) fn report(&self, monitored: bool) -> ResourcesReport {
        let latest = self.latest.unwrap_or(ResourceSample {
            rss_bytes: 0,
            cpu_percent: 0.0,
            cpu_ms: 0,
        });
        let mean_cpu_percent = if self.elapsed_s > 0.0 {
            // Time-weighted, so a short last interval (a sample taken for a report) counts for
            // what it covers; with a steady interval this is the plain mean.
            self.cpu_time_weighted / self.elapsed_s
        } else if self.samples > 0 {
            self.cpu_sum / self.samples as f64
        } else {
            0.0
        };
        ResourcesReport {
            monitored,
            interval_ms: u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX),
            samples: self.samples,
            rss_mb: latest.rss_bytes as f64 / BYTES_PER_MB,
            peak_rss_mb: self.peak_rss_bytes as f64 / BYTES_PER_MB,
            cpu_percent: latest.cpu_percent,
            mean_cpu_percent,
            cpu_seconds: latest.cpu_ms as f64 / 1e3,
        }
    }

    /// The resources attributed to phase `id`, or `None` if it ran in no sampled interval.
    pub(crate) fn phase(&self, id: usize) -> Option<PhaseResources> {
        let phase = self.phases.get(id).filter(|p| p.samples > 0)?;
        Some(PhaseResources {
            // A phase with samples has a positive weight (busy > 0 and elapsed > 0); the check
            // only keeps a NaN out whatever happens.
            cpu_percent: if phase.weight_ns > 0.0 {
                phase.cpu_weighted / phase.weight_ns
            } else {
                0.0
            },
            rss_delta_mb: phase.rss_delta_bytes / BYTES_PER_MB,
            samples: phase.samples,
        })
    }

    /// The last sample recorded (with a CPU % made finite and non-negative), if any.
    pub(crate) fn latest(&self) -> Option<ResourceSample> {
        self.latest
    }

    /// Bytes this tracker holds on the heap (the per-phase table's capacity).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.phases.capacity() * std::mem::size_of::<PhaseAccum>()
    }

    /// Sets the cap to `max_phases`: forgets the phases with ids at or above it (and ignores
    /// such ids from now on), releases the memory they held, and returns how many phases
    /// with recorded figures were forgotten.
    pub(crate) fn forget_phases_above(&mut self, max_phases: usize) -> usize {
        self.max_phases = max_phases;
        let removed = self
            .phases
            .get(max_phases..)
            .map_or(0, |above| above.iter().filter(|p| p.samples > 0).count());
        self.phases.truncate(max_phases);
        // Also trims capacity grown past the new cap, so `heap_bytes` stays within it.
        self.phases.shrink_to(max_phases);
        removed
    }

    /// The entry of phase `id` (which is below the cap), created if needed.
    fn slot(&mut self, id: usize) -> &mut PhaseAccum {
        if id >= self.phases.len() {
            // Grow geometrically (amortised O(1) as phases appear) but never past the cap:
            // the table's memory is bounded by `max_phases` entries, not by growth slack.
            let target = (id + 1)
                .max(self.phases.len() * 2)
                .min(self.max_phases.max(id + 1));
            self.phases.reserve_exact(target - self.phases.len());
            self.phases.resize(id + 1, PhaseAccum::default());
        }
        &mut self.phases[id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;
    const MS: u64 = 1_000_000;

    fn sample(rss_mb: f64, cpu_percent: f64) -> ResourceSample {
        ResourceSample {
            rss_bytes: (rss_mb * MB as f64) as u64,
            cpu_percent,
            cpu_ms: 0,
        }
    }

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 1e-9
    }

    /// Every figure of the report and of the phases `0..n` is a finite number.
    fn assert_finite(tracker: &ResourceTracker, phases: usize) {
        let r = tracker.report(true);
        for v in [r.rss_mb, r.peak_rss_mb, r.cpu_percent, r.mean_cpu_percent] {
            assert!(v.is_finite(), "{r:?}");
        }
        for id in 0..phases {
            if let Some(p) = tracker.phase(id) {
                assert!(
                    p.cpu_percent.is_finite() && p.rss_delta_mb.is_finite(),
                    "{p:?}"
                );
            }
        }
    }

    #[test]
    fn two_phases_get_weighted_cpu_and_split_rss() {
        let second = Duration::from_secs(1);
        let mut t = ResourceTracker::new(second);
        // Baseline: nothing ran.
        t.record(sample(100.0, 50.0), second, &[]);
        // Phases fill 3/4 of the interval: +4 MB splits 2 / 1, 1 MB stays unattributed.
        t.record(
            sample(104.0, 100.0),
            second,
            &[(0, 500 * MS), (1, 250 * MS)],
        );
        // Concurrent runs: 1.75 s busy in 1 s, so the whole -3.5 MB is shared 1.5 : 0.25, and
        // phase 0's CPU weight is clamped to the interval (1 s, not 1.5 s).
        t.record(
            sample(100.5, 20.0),
            second,
            &[(0, 1500 * MS), (1, 250 * MS)],
        );

        let p0 = t.phase(0).unwrap();
        assert!(
            close(p0.cpu_percent, (100.0 * 0.5 + 20.0 * 1.0) / 1.5),
            "{p0:?}"
        );
        assert!(close(p0.rss_delta_mb, 2.0 - 3.0), "{p0:?}");
        assert_eq!(p0.samples, 2);
        let p1 = t.phase(1).unwrap();
        assert!(
            close(p1.cpu_percent, (100.0 * 0.25 + 20.0 * 0.25) / 0.5),
            "{p1:?}"
        );
        assert!(close(p1.rss_delta_mb, 1.0 - 0.5), "{p1:?}");
        assert_eq!(p1.samples, 2);
        assert_eq!(t.phase(2), None);

        let r = t.report(true);
        assert!(r.monitored);
        assert_eq!(r.interval_ms, 1000);
        assert_eq!(r.samples, 3);
        assert!(close(r.rss_mb, 100.5));
        assert!(close(r.peak_rss_mb, 104.0));
        assert!(close(r.cpu_percent, 20.0));
        assert!(close(r.mean_cpu_percent, (50.0 + 100.0 + 20.0) / 3.0));
        assert_eq!(t.latest(), Some(sample(100.5, 20.0)));
    }

    #[test]
    fn mean_cpu_is_weighted_by_interval_length() {
        let mut t = ResourceTracker::new(Duration::from_secs(1));
        t.record(sample(10.0, 90.0), Duration::from_secs(3), &[]);
        t.record(sample(10.0, 10.0), Duration::from_secs(1), &[]);
        assert!(close(t.report(true).mean_cpu_percent, 70.0));
    }

    #[test]
    fn the_first_sample_attributes_cpu_but_no_rss_change() {
        let mut t = ResourceTracker::new(Duration::from_millis(250));
        assert_eq!(t.latest(), None);
        assert_eq!(t.phase(0), None);
        let empty = t.report(false);
        assert_eq!(
            empty,
            ResourcesReport {
                interval_ms: 250,
                ..ResourcesReport::default()
            }
        );

        t.record(
            sample(64.0, 40.0),
            Duration::from_millis(250),
            &[(3, 100 * MS)],
        );
        let p = t.phase(3).unwrap();
        assert_eq!(
            p,
            PhaseResources {
                cpu_percent: 40.0,
                rss_delta_mb: 0.0,
                samples: 1
            }
        );
        let r = t.report(true);
        assert_eq!((r.samples, r.rss_mb, r.peak_rss_mb), (1, 64.0, 64.0));
        assert_eq!((r.cpu_percent, r.mean_cpu_percent), (40.0, 40.0));
        assert_finite(&t, 4);
    }

    #[test]
    fn zero_elapsed_attributes_nothing_and_carries_the_rss_change() {
        let mut t = ResourceTracker::new(Duration::from_secs(1));
        // Only zero-length intervals so far: totals move, no phase is charged, no NaN.
        t.record(sample(10.0, 30.0), Duration::ZERO, &[(0, 5 * MS)]);
        assert_eq!(t.phase(0), None);
        assert!(close(t.report(true).mean_cpu_percent, 30.0));
        assert_finite(&t, 1);

        t.record(sample(10.0, 0.0), Duration::from_secs(1), &[]);
        t.record(sample(12.0, 0.0), Duration::ZERO, &[(0, 5 * MS)]);
        assert_eq!(t.phase(0), None);
        assert!(close(t.report(true).peak_rss_mb, 12.0));
        // The +2 MB seen at the zero-length sample is part of the next interval's change.
        t.record(
            sample(13.0, 50.0),
            Duration::from_secs(1),
            &[(0, 1000 * MS)],
        );
        let p = t.phase(0).unwrap();
        assert!(close(p.rss_delta_mb, 3.0), "{p:?}");
        assert_eq!(p.samples, 1);
        assert!(close(p.cpu_percent, 50.0));
        assert_finite(&t, 1);
    }

    #[test]
    fn no_busy_phases_and_idle_phases_are_not_attributed() {
        let mut t = ResourceTracker::new(Duration::from_secs(1));
        t.record(sample(10.0, 10.0), Duration::from_secs(1), &[]);
        t.record(sample(20.0, 10.0), Duration::from_secs(1), &[(0, 0)]);
        assert_eq!(t.phase(0), None);
        assert_eq!(t.report(true).samples, 2);
        assert_finite(&t, 1);
    }

    #[test]
    fn bad_cpu_figures_are_recorded_as_zero() {
        let mut t = ResourceTracker::new(Duration::from_secs(1));
        for cpu in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -5.0] {
            t.record(sample(10.0, cpu), Duration::from_secs(1), &[(0, 10 * MS)]);
            assert_eq!(t.latest().unwrap().cpu_percent, 0.0);
        }
        assert_eq!(t.phase(0).unwrap().cpu_percent, 0.0);
        assert_eq!(t.report(true).mean_cpu_percent, 0.0);
    }

    #[test]
    fn extreme_inputs_never_give_nan() {
        let mut t = ResourceTracker::new(Duration::MAX);
        let rss = [0, u64::MAX, 1, u64::MAX / 2, 0];
        let elapsed = [Duration::ZERO, Duration::from_nanos(1), Duration::MAX];
        let busy = [0, 1, u64::MAX];
        let mut i = 0_usize;
        for &r in &rss {
            for &e in &elapsed {
                for &b in &busy {
                    i += 1;
                    let s = ResourceSample {
                        rss_bytes: r,
                        cpu_percent: (i % 7) as f64 * 40.0,
                        cpu_ms: i as u64,
                    };
                    t.record(s, e, &[(i % 3, b), (1, b), (usize::MAX, b)]);
                    assert_finite(&t, 3);
                }
            }
        }
        assert_eq!(t.report(true).interval_ms, u64::MAX);
    }

    #[test]
    fn ids_at_or_above_the_cap_are_ignored_but_occupy_the_interval() {
        let mut t = ResourceTracker::new(Duration::from_secs(1));
        assert_eq!(t.forget_phases_above(2), 0);
        t.record(sample(10.0, 10.0), Duration::from_secs(1), &[]);
        // Phase 2 is over the cap; its 1.5 s still counts in the 2 s of busy time, so phase 0
        // gets a quarter of the +8 MB, not all of it.
        t.record(
            sample(18.0, 60.0),
            Duration::from_secs(1),
            &[(0, 500 * MS), (2, 1500 * MS), (usize::MAX, 0)],
        );
        assert!(close(t.phase(0).unwrap().rss_delta_mb, 2.0));
        assert_eq!(t.phase(2), None);
        assert!(t.heap_bytes() <= 2 * std::mem::size_of::<PhaseAccum>());
    }

    #[test]
    fn the_table_stays_within_the_cap_and_forgetting_frees_it() {
        let mut t = ResourceTracker::new(Duration::from_secs(1));
        assert_eq!(t.heap_bytes(), 0);
        // Phases appear one by one up to the default cap, then one far above it.
        for id in 0..=DEFAULT_MAX_PHASES {
            t.record(sample(10.0, 10.0), Duration::from_secs(1), &[(id, MS)]);
        }
        t.record(
            sample(10.0, 10.0),
            Duration::from_secs(1),
            &[(usize::MAX, MS)],
        );
        let entry = std::mem::size_of::<PhaseAccum>();
        assert_eq!(t.heap_bytes(), DEFAULT_MAX_PHASES * entry);
        assert!(t.phase(DEFAULT_MAX_PHASES - 1).is_some());
        assert_eq!(t.phase(DEFAULT_MAX_PHASES), None);

        // Lowering the cap forgets the phases above it and releases their memory.
        assert_eq!(t.forget_phases_above(10), DEFAULT_MAX_PHASES - 10);
        assert_eq!(t.heap_bytes(), 10 * entry);
        assert!(t.phase(9).is_some());
        assert_eq!(t.phase(10), None);
        // Ids above the new cap are ignored from now on.
        t.record(sample(10.0, 10.0), Duration::from_secs(1), &[(10, MS)]);
        assert_eq!(t.phase(10), None);
        assert_eq!(t.heap_bytes(), 10 * entry);
        // Forgetting again removes nothing; slots that never ran are not counted.
        assert_eq!(t.forget_phases_above(10), 0);
        let mut sparse = ResourceTracker::new(Duration::from_secs(1));
        sparse.record(sample(1.0, 1.0), Duration::from_secs(1), &[(7, MS)]);
        assert_eq!(sparse.forget_phases_above(2), 1);
        assert_eq!(sparse.forget_phases_above(0), 0);
        assert_eq!(sparse.heap_bytes(), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_sampler_reads_this_process() {
        let mut sampler = ProcessSampler::new().expect("sysinfo reads /proc on Linux");
        let first = sampler.sample().unwrap();
        assert!(first.rss_bytes > MB, "{first:?}");
        assert!(first.cpu_percent.is_finite() && first.cpu_percent >= 0.0);

        // Burn ~200 ms of CPU on this thread: the next sample must see most of a core
        // (generous margin: the machine is small and shared).
        let start = Instant::now();
        let mut x = 0_u64;
        while start.elapsed() < Duration::from_millis(200) {
            for i in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
            }
        }
        let second = sampler.sample().unwrap();
        assert!(second.cpu_percent > 30.0, "{second:?}");
        assert!(second.rss_bytes > MB, "{second:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_sample_is_cheap_and_back_to_back_samples_are_sane() {
        let mut sampler = ProcessSampler::new().unwrap();
        let calls = 200_u32;
        let start = Instant::now();
        for _ in 0..calls {
            let s = sampler.sample().unwrap();
            // Intervals of microseconds: within the clamp, never NaN.
            assert!(
                (0.0..=sampler.max_cpu_percent).contains(&s.cpu_percent),
                "{s:?}"
            );
        }
        let per_call = start.elapsed() / calls;
        println!("ProcessSampler::sample(): {per_call:?} per call");
        // The sampler runs about once a second, off the hot path: anything under a few ms is
        // fine; expect tens of microseconds.
        assert!(per_call < Duration::from_millis(5), "{per_call:?}");
    }
}
