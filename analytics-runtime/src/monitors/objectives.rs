//! The objective monitor: per-objective health (and progress) in a bounded table that user
//! threads record into concurrently, the health updates the anomaly detector consumes, and
//! recommendations for objectives that stay unhealthy.
//!
//! Costs: an update of an objective that exists is a shard read lock and a short per-objective
//! lock, no allocation; a new objective allocates once (its key, and a ring of
//! [`ObjectiveTable::PENDING`] pending health values).

use std::collections::BTreeMap;
use std::mem::size_of;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::capped::{CappedMap, Clock, duration_ns, lock, put};
use crate::report::{
    ObjectiveReport, ObjectivesReport, Priority, Recommendation, RecommendationKind,
};

/// Health below this is unhealthy (the threshold).
const UNHEALTHY: f64 = 0.5;

/// Consecutive unhealthy updates from which an objective is recommended on.
const STREAK_TO_RECOMMEND: u64 = 3;

/// Per-objective state, behind one short lock: an update changes several fields together.
struct Objective {
    /// Latest health.
    health: f64,
    /// Latest progress the user reported (kept when an update carries none).
    progress: Option<f64>,
    /// Updates recorded.
    updates: u64,
    /// Sum of all healths, for the mean.
    sum: f64,
    /// Lowest health.
    min: f64,
    /// Consecutive latest updates below [`UNHEALTHY`].
    streak: u64,
    /// When it was last updated (clock ns).
    last_ns: u64,
    /// Health values not yet drained, a ring of fixed capacity allocated once.
    pending: Box<[f64]>,
    /// Index of the oldest pending value.
    head: usize,
    /// Pending values held.
    len: usize,
}

impl Objective {
    /// A fresh objective, with its pending ring allocated once here.
    fn new(now_ns: u64) -> Self {
        Self {
            health: 0.0,
            progress: None,
            updates: 0,
            sum: 0.0,
            min: f64::INFINITY,
            streak: 0,
            last_ns: now_ns,
            pending: vec![0.0; ObjectiveTable::PENDING].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    /// Queues `health` for the next drain; returns true if the ring was full and the oldest
    /// value had to go.
    fn queue(&mut self, health: f64) -> bool {
        let cap = self.pending.len();
        if self.len < cap {
            self.pending[(self.head + self.len) % cap] = health;
            self.len += 1;
            false
        } else {
            self.pending[self.head] = health;
            self.head = (self.head + 1) % cap;
            true
        }
    }
}

/// Objective health per name, bounded by a cap on distinct objectives.
pub(crate) struct ObjectiveTable {
    /// The objectives.
    objectives: CappedMap<Mutex<Objective>>,
    /// The table's time base.
    clock: Clock,
    /// Updates refused: health or progress not a finite number in [0, 1].
    ignored: AtomicU64,
    /// Health values dropped because more than [`Self::PENDING`] came between two drains.
    dropped: AtomicU64,
}

impl ObjectiveTable {
    /// Health updates kept per objective between two drains; older ones are dropped (and
    /// counted in [`dropped`](Self::dropped)) so a fast recorder cannot grow memory.
    pub(crate) const PENDING: usize = 64;

    /// The suffix of the keys `drain` emits.
    pub(crate) const HEALTH_SUFFIX: &str = ".health";

    /// An empty table holding at most `max_objectives` distinct objectives (plus
    /// [`OTHER`](super::capped::OTHER)).
    #[must_use]
    pub(crate) fn new(max_objectives: usize) -> Self {
        Self {
            objectives: CappedMap::new(max_objectives),
            clock: Clock::new(),
            ignored: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Records `health` (and `progress`, if the caller tracks it) of objective `name`.
    ///
    /// Both must be finite numbers in [0, 1]; anything else is refused whole and counted in
    /// [`ignored`](Self::ignored), so a NaN can never poison the mean or the detector. An
    /// update without progress keeps the progress last reported.
    pub(crate) fn record(&self, name: &str, health: f64, progress: Option<f64>) {
        let valid = |v: f64| (0.0..=1.0).contains(&v);
        if !valid(health) || !progress.is_none_or(valid) {
            self.ignored.fetch_add(1, Relaxed);
            return;
        }
        let now = self.clock.now_ns();
        let dropped = self.objectives.with(
            name,
            || Mutex::new(Objective::new(now)),
            |o| {
                let mut o = lock(o);
                o.health = health;
                if progress.is_some() {
                    o.progress = progress;
                }
                o.updates += 1;
                o.sum += health;
                o.min = o.min.min(health);
                o.streak = if health < UNHEALTHY { o.streak + 1 } else { 0 };
                o.last_ns = now;
                o.queue(health)
            },
        );
        if dropped {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// Writes every health update since the last drain into `out` as
    /// `("{name}.health", health)`, oldest first within each objective, at most
    /// [`Self::PENDING`] per objective (older ones were dropped and counted).
    ///
    /// `out` is overwritten, not appended to: its previous pairs' `String` buffers are reused,
    /// so an engine that keeps one `Vec` for this does not allocate in steady state.
    pub(crate) fn drain(&self, out: &mut Vec<(String, f64)>) {
        let mut n = 0;
        self.objectives.for_each(|name, o| {
            let mut o = lock(o);
            let cap = o.pending.len();
            for i in 0..o.len {
                put(
                    out,
                    &mut n,
                    name,
                    Self::HEALTH_SUFFIX,
                    o.pending[(o.head + i) % cap],
                );
            }
            o.head = 0;
            o.len = 0;
        });
        out.truncate(n);
    }

    /// The report section: one entry per objective held, least healthy first (ties by
    /// name).
    #[must_use]
    pub(crate) fn report(&self) -> ObjectivesReport {
        let mut objectives = Vec::with_capacity(self.objectives.len());
        self.objectives.for_each(|name, o| {
            let o = lock(o);
            objectives.push(ObjectiveReport {
                name: name.to_owned(),
                health: o.health,
                progress: o.progress,
                updates: o.updates,
                mean_health: o.sum / o.updates.max(1) as f64,
                min_health: if o.updates > 0 { o.min } else { 0.0 },
                unhealthy_streak: o.streak,
                last_update: self.clock.unix(o.last_ns),
            });
        });
        objectives.sort_by(|a, b| {
            a.health
                .total_cmp(&b.health)
                .then_with(|| a.name.cmp(&b.name))
        });
        ObjectivesReport {
            objectives,
            overflowed: self.objectives.overflowed(),
        }
    }

    /// One [`RecommendationKind::ObjectiveUnhealthy`] per objective whose last
    /// `3` or more updates were all below 0.5, most urgent first (then least healthy, then by
    /// name).
    ///
    /// Priority, by how low the latest health is and how long it has stayed under 0.5:
    /// - `Critical`: health below 0.2 for 10 updates or more;
    /// - `High`: health below 0.2, or unhealthy for 10 updates or more;
    /// - `Medium`: health below 0.35, or unhealthy for 5 updates or more;
    /// - `Low`: otherwise (health in [0.35, 0.5), 3 or 4 updates).
    #[must_use]
    pub(crate) fn recommendations(&self) -> Vec<Recommendation> {
        let mut found: Vec<(Priority, f64, Recommendation)> = Vec::new();
        self.objectives.for_each(|name, o| {
            let o = lock(o);
            if o.streak < STREAK_TO_RECOMMEND {
                return;
            }
            let priority = priority(o.health, o.streak);
            let mean = o.sum / o.updates.max(1) as f64;
            let message = format!(
                "Objective `{name}` has been unhealthy for its last {} updates (health {:.2}, \
                 mean {:.2} over {} updates): find what drives it down, such as the failing or \
                 slow phases that feed it, and fix or rebalance them.",
                o.streak, o.health, mean, o.updates
            );
            let evidence = BTreeMap::from([
                ("health".to_owned(), o.health),
                ("mean_health".to_owned(), mean),
                ("unhealthy_streak".to_owned(), o.streak as f64),
                ("updates".to_owned(), o.updates as f64),
            ]);
            found.push((
                priority,
                o.health,
                Recommendation {
                    kind: RecommendationKind::ObjectiveUnhealthy,
                    phase: None,
                    priority,
                    message,
                    evidence,
                    estimated_gain_ms: 0.0,
                },
            ));
        });
        found.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1.total_cmp(&b.1))
                .then_with(|| a.2.message.cmp(&b.2.message))
        });
        found.into_iter().map(|(_, _, r)| r).collect()
    }

    /// Updates refused because health or progress was not a finite number in [0, 1].
    #[must_use]
    pub(crate) fn ignored(&self) -> u64 {
        self.ignored.load(Relaxed)
    }

    /// Health values dropped because more than [`Self::PENDING`] updates of one objective
    /// came between two drains.
    #[must_use]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    #[cfg(test)]
    /// Updates of new objectives that went to [`OTHER`](super::capped::OTHER) because the
    /// cap was reached.
    #[must_use]
    pub(crate) fn overflowed(&self) -> u64 {
        self.objectives.overflowed()
    }

    #[cfg(test)]
    /// Objectives held ([`OTHER`](super::capped::OTHER) included).
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.objectives.len()
    }

    #[cfg(test)]
    /// Whether no objective is held.
    #[must_use]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes this table holds: its tables by capacity, each key, and each objective's
    /// pending ring.
    #[must_use]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.objectives
            .heap_bytes(|o| lock(o).pending.len() * size_of::<f64>())
    }

    /// Removes the objectives not updated for `idle` before `now`; returns how many. Their
    /// undrained updates go with them.
    pub(crate) fn evict_idle(&self, now: Instant, idle: Duration) -> usize {
        let now_ns = self.clock.ns(now);
        let idle_ns = duration_ns(idle);
        self.objectives
            .evict(|o| now_ns.saturating_sub(lock(o).last_ns) >= idle_ns)
    }

    /// Gives back the table memory that eviction left unused.
    pub(crate) fn shrink(&self) {
        self.objectives.shrink();
    }
}

/// The priority of an objective unhealthy for `streak` updates at latest `health` (the rule
/// is documented on [`ObjectiveTable::recommendations`]).
fn priority(health: f64, streak: u64) -> Priority {
    let very_low = health < 0.2;
    let long = streak >= 10;
    if very_low && long {
        Priority::Critical
    } else if very_low || long {
        Priority::High
    } else if health < 0.35 || streak >= 5 {
        Priority::Medium
    } else {
        Priority::Low
    }
}

#[cfg(test)]
mod tests {
    use super::super::capped::OTHER;
    use super::*;
    use std::sync::Arc;

    fn sorted(mut out: Vec<(String, f64)>) -> Vec<(String, f64)> {
        // Stable: keeps each objective's updates in their order.
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn report_is_least_healthy_first_with_figures() {
        let table = ObjectiveTable::new(10);
        table.record("good", 0.9, Some(0.25));
        table.record("good", 0.7, None);
        table.record("bad", 0.6, None);
        table.record("bad", 0.2, Some(0.5));
        table.record("bad", 0.1, None);
        let r = table.report();
        assert_eq!(r.overflowed, 0);
        let bad = &r.objectives[0];
        assert_eq!(bad.name, "bad");
        assert_eq!((bad.health, bad.progress, bad.updates), (0.1, Some(0.5), 3));
        assert!((bad.mean_health - 0.3).abs() < 1e-12);
        assert_eq!((bad.min_health, bad.unhealthy_streak), (0.1, 2));
        let good = &r.objectives[1];
        assert_eq!(good.name, "good");
        assert_eq!((good.health, good.progress), (0.7, Some(0.25)));
        assert!((good.mean_health - 0.8).abs() < 1e-12);
        assert_eq!((good.min_health, good.unhealthy_streak), (0.7, 0));
        assert!(good.last_update > 1.6e9);
    }

    #[test]
    fn streak_resets_on_a_healthy_update() {
        let table = ObjectiveTable::new(10);
        for h in [0.1, 0.2, 0.3, 0.5, 0.4] {
            table.record("o", h, None);
        }
        assert_eq!(table.report().objectives[0].unhealthy_streak, 1);
    }

    #[test]
    fn refuses_values_outside_unit_interval_and_non_finite() {
        let table = ObjectiveTable::new(10);
        for h in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.01, 1.01] {
            table.record("o", h, None);
            table.record("o", 0.5, Some(h));
        }
        assert_eq!(table.ignored(), 10);
        assert!(table.is_empty());
        table.record("o", 0.0, Some(1.0));
        table.record("o", 1.0, Some(0.0));
        assert_eq!(table.ignored(), 10);
        assert_eq!(table.report().objectives[0].updates, 2);
    }

    #[test]
    fn drain_yields_updates_oldest_first_once() {
        let table = ObjectiveTable::new(10);
        table.record("a", 0.9, None);
        table.record("b", 0.5, None);
        table.record("a", 0.8, None);
        let mut out = Vec::new();
        table.drain(&mut out);
        let out = sorted(out);
        let expect = [("a.health", 0.9), ("a.health", 0.8), ("b.health", 0.5)];
        assert_eq!(out.len(), 3);
        for ((k, v), (ek, ev)) in out.iter().zip(expect) {
            assert_eq!((k.as_str(), *v), (ek, ev));
        }
        let mut again = out;
        table.drain(&mut again);
        assert!(again.is_empty(), "a second drain has nothing new");
    }

    #[test]
    fn drain_keeps_the_newest_64_and_counts_the_rest() {
        let table = ObjectiveTable::new(10);
        for i in 0..100 {
            table.record("o", f64::from(i) / 100.0, None);
        }
        assert_eq!(table.dropped(), 36);
        let mut out = Vec::new();
        table.drain(&mut out);
        assert_eq!(out.len(), ObjectiveTable::PENDING);
        assert_eq!(out[0].1, 0.36);
        assert_eq!(out[63].1, 0.99);
        // The ring starts over cleanly after a drain.
        table.record("o", 0.5, None);
        table.drain(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0], ("o.health".to_string(), 0.5));
    }

    #[test]
    fn cap_sends_new_objectives_to_other() {
        let table = ObjectiveTable::new(1);
        table.record("a", 0.9, None);
        table.record("b", 0.8, None);
        table.record("c", 0.7, None);
        table.record("a", 0.6, None);
        let r = table.report();
        assert_eq!(r.overflowed, 2);
        assert_eq!(r.objectives.len(), 2);
        let other = r.objectives.iter().find(|o| o.name == OTHER).unwrap();
        assert_eq!((other.updates, other.health), (2, 0.7));
    }

    #[test]
    fn four_threads_count_exactly() {
        let table = Arc::new(ObjectiveTable::new(100));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let table = Arc::clone(&table);
                std::thread::spawn(move || {
                    for n in 0..5_000 {
                        table.record("shared", 0.25, None);
                        table.record(&format!("o{}", (n + i) % 20), 1.0, None);
                        table.record("shared", f64::NAN, None);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let r = table.report();
        assert_eq!(r.objectives.len(), 21);
        assert_eq!(table.ignored(), 20_000);
        let shared = &r.objectives[0];
        assert_eq!((shared.name.as_str(), shared.updates), ("shared", 20_000));
        assert_eq!(shared.unhealthy_streak, 20_000);
        assert!((shared.mean_health - 0.25).abs() < 1e-12);
        assert!(r.objectives[1..].iter().all(|o| o.updates == 1000));
        // 64 kept per objective; the rest were dropped, none lost.
        let mut out = Vec::new();
        table.drain(&mut out);
        assert_eq!(out.len() as u64 + table.dropped(), 40_000);
    }

    #[test]
    fn recommends_objectives_that_stay_unhealthy() {
        let table = ObjectiveTable::new(10);
        for _ in 0..2 {
            table.record("brief", 0.1, None);
        }
        for _ in 0..3 {
            table.record("mild", 0.4, None);
        }
        table.record("collapsing", 0.9, None);
        for _ in 0..10 {
            table.record("collapsing", 0.05, None);
        }
        for _ in 0..6 {
            table.record("sagging", 0.45, None);
        }
        let recs = table.recommendations();
        let names: Vec<_> = recs
            .iter()
            .map(|r| r.message.split('`').nth(1).unwrap())
            .collect();
        assert_eq!(names, ["collapsing", "sagging", "mild"]);
        let priorities: Vec<_> = recs.iter().map(|r| r.priority).collect();
        assert_eq!(
            priorities,
            [Priority::Critical, Priority::Medium, Priority::Low]
        );
        let r = &recs[0];
        assert_eq!(r.kind, RecommendationKind::ObjectiveUnhealthy);
        assert_eq!((r.phase.as_deref(), r.estimated_gain_ms), (None, 0.0));
        assert_eq!(r.evidence["health"], 0.05);
        assert_eq!(r.evidence["unhealthy_streak"], 10.0);
        assert_eq!(r.evidence["updates"], 11.0);
        assert!((r.evidence["mean_health"] - 1.4 / 11.0).abs() < 1e-12);
        assert_eq!(r.evidence.len(), 4);
    }

    #[test]
    fn priority_rule() {
        assert_eq!(priority(0.1, 10), Priority::Critical);
        assert_eq!(priority(0.1, 3), Priority::High);
        assert_eq!(priority(0.45, 12), Priority::High);
        assert_eq!(priority(0.3, 3), Priority::Medium);
        assert_eq!(priority(0.45, 5), Priority::Medium);
        assert_eq!(priority(0.45, 4), Priority::Low);
    }

    #[test]
    fn eviction_and_heap_bytes() {
        let table = ObjectiveTable::new(10_000);
        let empty = table.heap_bytes();
        for n in 0..500 {
            table.record(&format!("objective-{n:04}"), 0.5, None);
        }
        let full = table.heap_bytes();
        let per = (full - empty) / 500;
        assert!(per >= 64 * 8 + 14, "{per}");
        assert!(per < 1000, "{per}");
        let later = Instant::now() + Duration::from_secs(60);
        assert_eq!(table.evict_idle(later, Duration::from_secs(120)), 0);
        assert_eq!(table.evict_idle(later, Duration::from_secs(30)), 500);
        assert!(table.is_empty());
        table.shrink();
        assert_eq!(table.heap_bytes(), empty);
        // Slots are free again.
        table.record("again", 0.5, None);
        assert_eq!(table.overflowed(), 0);
    }
}
