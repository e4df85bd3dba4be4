//! The task monitor: completion times and outcomes per task name, and quality metrics per
//! metric name, in two bounded tables that user threads record into concurrently (the
//! optimizer's "task completion times" and "quality metrics" of the seed).
//!
//! Costs: a record on a name that exists is a shard read lock and a short per-name lock, no
//! allocation; a new task allocates once (its key and a ring of `window` durations), a new
//! quality metric once (its key).

use std::mem::size_of;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::capped::{CappedMap, Clock, duration_ns, lock};
use crate::report::{QualityReport, TaskReport, TasksReport};
use crate::stats::DurationStats;

/// Per-task state, behind one short lock: a record changes counts and the ring together.
struct Task {
    /// Tasks recorded.
    count: u64,
    /// Tasks that succeeded.
    successes: u64,
    /// The last `window` durations in ms, a ring of fixed capacity allocated once.
    durations: Box<[f64]>,
    /// Where the next duration goes.
    next: usize,
    /// Durations held (at most `durations.len()`).
    len: usize,
    /// When it was last recorded (clock ns).
    last_ns: u64,
}

/// Per-metric state: running figures, no history.
struct Quality {
    /// Values recorded.
    count: u64,
    /// Sum of the values, for the mean.
    sum: f64,
    /// Smallest value.
    min: f64,
    /// Largest value.
    max: f64,
    /// Latest value.
    last: f64,
    /// When it was last recorded (clock ns).
    last_ns: u64,
}

/// Task completion statistics and quality metrics, each bounded by a cap on distinct names.
pub(crate) struct TaskTable {
    /// Tasks by name.
    tasks: CappedMap<Mutex<Task>>,
    /// Quality metrics by name.
    quality: CappedMap<Mutex<Quality>>,
    /// Durations kept per task.
    window: usize,
    /// The table's time base.
    clock: Clock,
    /// Quality values refused because they were not finite.
    ignored: AtomicU64,
}

impl TaskTable {
    /// An empty table holding at most `max_tasks` task names and, separately, at most
    /// `max_tasks` quality metric names (each plus [`OTHER`](super::capped::OTHER)),
    /// keeping the last `window` durations of each task (0 keeps counts only).
    ///
    /// Worst-case memory is about `max_tasks * window * 8` bytes of duration rings.
    #[must_use]
    pub(crate) fn new(max_tasks: usize, window: usize) -> Self {
        Self {
            tasks: CappedMap::new(max_tasks),
            quality: CappedMap::new(max_tasks),
            window,
            clock: Clock::new(),
            ignored: AtomicU64::new(0),
        }
    }

    /// Records one completed task `name` that took `duration` and succeeded or not.
    pub(crate) fn record_task(&self, name: &str, duration: Duration, success: bool) {
        let now = self.clock.now_ns();
        let ms = duration.as_secs_f64() * 1e3;
        let make = || {
            Mutex::new(Task {
                count: 0,
                successes: 0,
                durations: vec![0.0; self.window].into_boxed_slice(),
                next: 0,
                len: 0,
                last_ns: now,
            })
        };
        self.tasks.with(name, make, |t| {
            let mut t = lock(t);
            t.count += 1;
            t.successes += u64::from(success);
            let cap = t.durations.len();
            if cap > 0 {
                let next = t.next;
                t.durations[next] = ms;
                t.next = (next + 1) % cap;
                t.len = (t.len + 1).min(cap);
            }
            t.last_ns = now;
        });
    }

    /// Records `value` of quality metric `metric`. A value that is not finite is refused and
    /// counted in [`ignored`](Self::ignored), so a NaN cannot poison the mean, min or max.
    pub(crate) fn record_quality(&self, metric: &str, value: f64) {
        if !value.is_finite() {
            self.ignored.fetch_add(1, Relaxed);
            return;
        }
        let now = self.clock.now_ns();
        let make = || {
            Mutex::new(Quality {
                count: 0,
                sum: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                last: 0.0,
                last_ns: now,
            })
        };
        self.quality.with(metric, make, |q| {
            let mut q = lock(q);
            q.count += 1;
            q.sum += value;
            q.min = q.min.min(value);
            q.max = q.max.max(value);
            q.last = value;
            q.last_ns = now;
        });
    }

    /// The report section: tasks most frequent first (ties by name), with statistics of
    /// their last `window` durations; quality metrics by name. `overflowed` counts both
    /// tables' overflow.
    #[must_use]
    pub(crate) fn report(&self) -> TasksReport {
        let mut tasks = Vec::with_capacity(self.tasks.len());
        // One scratch buffer for every task: copied under the task's lock, sorted outside it.
        let mut scratch = Vec::with_capacity(self.window);
        self.tasks.for_each(|name, t| {
            let (count, successes) = {
                let t = lock(t);
                scratch.clear();
                scratch.extend_from_slice(&t.durations[..t.len]);
                (t.count, t.successes)
            };
            tasks.push(TaskReport {
                name: name.to_owned(),
                count,
                successes,
                failures: count - successes,
                success_rate: if count > 0 {
                    successes as f64 / count as f64
                } else {
                    0.0
                },
                duration_ms: DurationStats::from_unsorted(&mut scratch),
            });
        });
        tasks.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));

        let mut quality = Vec::with_capacity(self.quality.len());
        self.quality.for_each(|metric, q| {
            let q = lock(q);
            let some = q.count > 0;
            quality.push(QualityReport {
                metric: metric.to_owned(),
                count: q.count,
                last: q.last,
                mean: if some { q.sum / q.count as f64 } else { 0.0 },
                min: if some { q.min } else { 0.0 },
                max: if some { q.max } else { 0.0 },
            });
        });
        quality.sort_by(|a, b| a.metric.cmp(&b.metric));

        TasksReport {
            tasks,
            quality,
            overflowed: self.overflowed(),
        }
    }

    /// Quality values refused because they were not finite numbers.
    #[must_use]
    pub(crate) fn ignored(&self) -> u64 {
        self.ignored.load(Relaxed)
    }

    /// Records of new task or metric names that went to
    /// [`OTHER`](super::capped::OTHER) because a cap was reached.
    #[must_use]
    pub(crate) fn overflowed(&self) -> u64 {
        self.tasks.overflowed() + self.quality.overflowed()
    }

    #[cfg(test)]
    /// Task and metric names held ([`OTHER`](super::capped::OTHER) included).
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.tasks.len() + self.quality.len()
    }

    #[cfg(test)]
    /// Whether no task or metric is held.
    #[must_use]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes this table holds: both tables by capacity, each key, and each task's
    /// duration ring.
    #[must_use]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.tasks
            .heap_bytes(|t| lock(t).durations.len() * size_of::<f64>())
            + self.quality.heap_bytes(|_| 0)
    }

    /// Removes the tasks and metrics not recorded for `idle` before `now`; returns how many.
    pub(crate) fn evict_idle(&self, now: Instant, idle: Duration) -> usize {
        let now_ns = self.clock.ns(now);
        let idle_ns = duration_ns(idle);
        self.tasks
            .evict(|t| now_ns.saturating_sub(lock(t).last_ns) >= idle_ns)
            + self
                .quality
                .evict(|q| now_ns.saturating_sub(lock(q).last_ns) >= idle_ns)
    }

    /// Gives back the table memory that eviction left unused.
    pub(crate) fn shrink(&self) {
        self.tasks.shrink();
        self.quality.shrink();
    }
}

#[cfg(test)]
mod tests {
    use super::super::capped::OTHER;
    use super::*;
    use std::sync::Arc;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn task_report_counts_and_window_stats() {
        let table = TaskTable::new(10, 4);
        for n in 1..=6 {
            table.record_task("plan", ms(n * 10), n != 3);
        }
        table.record_task("ship", ms(5), true);
        let r = table.report();
        assert_eq!(r.tasks.len(), 2);
        let plan = &r.tasks[0];
        assert_eq!(plan.name, "plan");
        assert_eq!((plan.count, plan.successes, plan.failures), (6, 5, 1));
        assert!((plan.success_rate - 5.0 / 6.0).abs() < 1e-12);
        // Only the last 4 durations: 30, 40, 50, 60 ms.
        let d = plan.duration_ms;
        assert_eq!((d.min, d.max, d.mean, d.p50), (30.0, 60.0, 45.0, 45.0));
        let ship = &r.tasks[1];
        assert_eq!((ship.count, ship.success_rate), (1, 1.0));
        assert_eq!(ship.duration_ms.p50, 5.0);
    }

    #[test]
    fn ties_sort_by_name_and_zero_window_keeps_counts() {
        let table = TaskTable::new(10, 0);
        table.record_task("b", ms(1), false);
        table.record_task("a", ms(1), true);
        let r = table.report();
        let names: Vec<_> = r.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(r.tasks[1].failures, 1);
        assert_eq!(r.tasks[0].duration_ms, DurationStats::default());
    }

    #[test]
    fn quality_figures_and_refusals() {
        let table = TaskTable::new(10, 4);
        for v in [0.5, -1.0, 2.5] {
            table.record_quality("score", v);
        }
        table.record_quality("accuracy", 0.9);
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            table.record_quality("score", v);
            table.record_quality("bogus", v);
        }
        assert_eq!(table.ignored(), 6);
        let r = table.report();
        let names: Vec<_> = r.quality.iter().map(|q| q.metric.as_str()).collect();
        assert_eq!(names, ["accuracy", "score"]);
        let s = &r.quality[1];
        assert_eq!((s.count, s.last, s.min, s.max), (3, 2.5, -1.0, 2.5));
        assert!((s.mean - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn caps_are_per_table_and_overflow_goes_to_other() {
        let table = TaskTable::new(2, 8);
        for name in ["a", "b", "c", "d"] {
            table.record_task(name, ms(1), true);
            table.record_quality(name, 1.0);
        }
        let r = table.report();
        assert_eq!(r.overflowed, 4);
        assert_eq!((r.tasks.len(), r.quality.len()), (3, 3));
        let other = r.tasks.iter().find(|t| t.name == OTHER).unwrap();
        assert_eq!(other.count, 2);
        assert_eq!(r.tasks[0].name, OTHER, "most frequent first");
        let other = r.quality.iter().find(|q| q.metric == OTHER).unwrap();
        assert_eq!(other.count, 2);
    }

    #[test]
    fn four_threads_count_exactly() {
        let table = Arc::new(TaskTable::new(100, 16));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let table = Arc::clone(&table);
                std::thread::spawn(move || {
                    for n in 0..5_000u64 {
                        table.record_task("shared", ms(n % 7), n % 5 != 0);
                        table.record_task(&format!("t{}", (n + i) % 10), ms(1), true);
                        table.record_quality("q", 1.0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let r = table.report();
        let shared = &r.tasks[0];
        assert_eq!(shared.name, "shared");
        assert_eq!((shared.count, shared.failures), (20_000, 4_000));
        assert!(r.tasks[1..].iter().all(|t| t.count == 2_000));
        assert_eq!(r.quality[0].count, 20_000);
        assert_eq!(r.quality[0].mean, 1.0);
        assert_eq!(r.overflowed, 0);
    }

    #[test]
    fn eviction_and_heap_bytes() {
        let window = 100;
        let table = TaskTable::new(10_000, window);
        let empty = table.heap_bytes();
        for n in 0..200 {
            table.record_task(&format!("task-{n:03}"), ms(1), true);
        }
        let with_tasks = table.heap_bytes();
        let per_task = (with_tasks - empty) / 200;
        assert!(per_task >= window * 8 + 8, "{per_task}");
        assert!(per_task < window * 8 + 400, "{per_task}");
        for n in 0..200 {
            table.record_quality(&format!("metric-{n:03}"), 1.0);
        }
        let full = table.heap_bytes();
        let per_metric = (full - with_tasks) / 200;
        assert!((10..400).contains(&per_metric), "{per_metric}");

        let later = Instant::now() + Duration::from_secs(60);
        assert_eq!(table.evict_idle(later, Duration::from_secs(120)), 0);
        assert_eq!(table.evict_idle(later, Duration::from_secs(30)), 400);
        assert!(table.is_empty());
        assert!(table.heap_bytes() < full);
        table.shrink();
        assert_eq!(table.heap_bytes(), empty);
    }
}
