//! The message monitor: per-topic message counts, bytes and rates in a bounded table that
//! user threads record into concurrently.
//!
//! Costs: recording on a topic that exists is a shard read lock and three relaxed atomic
//! operations, no allocation; a new topic allocates once (its key and its state). Everything
//! else (closing rate intervals, reports, eviction, memory figures) runs on the engine's thread.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::capped::{CappedMap, Clock, duration_ns, lock, put};
use crate::report::{MessagesReport, TopicReport};

/// Per-topic state. Counters are atomics so recorders need no lock; the rate interval,
/// touched only by the engine and reports, sits behind a small mutex.
struct Topic {
    /// Messages recorded.
    count: AtomicU64,
    /// Bytes recorded (saturating).
    bytes: AtomicU64,
    /// When the topic was first seen (clock ns).
    first_ns: u64,
    /// When the last message was recorded (clock ns).
    last_ns: AtomicU64,
    /// The rate interval.
    interval: Mutex<Interval>,
}

/// The state of a topic's rate interval.
struct Interval {
    /// `count` when the interval was last closed.
    count_at_close: u64,
    /// When the interval was last closed (clock ns).
    closed_ns: u64,
    /// Messages per second over the last closed interval.
    rate: f64,
}

/// Message counts and rates per topic, bounded by a cap on distinct topics.
pub(crate) struct MessageTable {
    /// The topics.
    topics: CappedMap<Topic>,
    /// The table's time base.
    clock: Clock,
    /// When `close_interval` last ran (clock ns): a topic born after it starts its first
    /// interval there, so its first rate is over the engine's interval, not over the few
    /// microseconds since its first message.
    last_close_ns: AtomicU64,
    /// Messages of evicted topics, so `total` still counts every message ever recorded.
    evicted_count: AtomicU64,
    /// Bytes of evicted topics.
    evicted_bytes: AtomicU64,
}

impl MessageTable {
    /// The suffix of the rate keys `close_interval` emits.
    pub(crate) const RATE_SUFFIX: &str = ".messages_per_s";

    /// An empty table holding at most `max_topics` distinct topics (plus `OTHER`).
    #[must_use]
    pub(crate) fn new(max_topics: usize) -> Self {
        Self {
            topics: CappedMap::new(max_topics),
            clock: Clock::new(),
            last_close_ns: AtomicU64::new(0),
            evicted_count: AtomicU64::new(0),
            evicted_bytes: AtomicU64::new(0),
        }
    }

    /// Records one message on `topic`, of `bytes` bytes if the caller knows its size.
    ///
    /// Never allocates for a topic that exists; a new topic allocates its key and state once,
    /// or, past the cap, is counted under `OTHER`.
    pub(crate) fn record(&self, topic: &str, bytes: Option<u64>) {
        let now = self.clock.now_ns();
        let make = || Topic {
            count: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            first_ns: now,
            last_ns: AtomicU64::new(now),
            interval: Mutex::new(Interval {
                count_at_close: 0,
                closed_ns: self.last_close_ns.load(Relaxed),
                rate: 0.0,
            }),
        };
        self.topics.with(topic, make, |t| {
            t.count.fetch_add(1, Relaxed);
            if let Some(b) = bytes.filter(|&b| b > 0) {
                // Saturate rather than wrap: a caller passing huge sizes must not make the
                // total small again.
                let _ = t
                    .bytes
                    .fetch_update(Relaxed, Relaxed, |old| Some(old.saturating_add(b)));
            }
            // A plain store, not fetch_max: two racing recorders differ by nanoseconds.
            t.last_ns.store(now, Relaxed);
        });
    }

    /// Closes the current rate interval of every topic at `now` and writes one
    /// `("{topic}.messages_per_s", rate)` pair per topic into `out`.
    ///
    /// The rate is the messages recorded since the topic's previous close divided by the
    /// measured time since it. Every topic held is reported, so a topic that went silent
    /// reports 0 and the anomaly detector sees the silence. If `now` is not after a topic's
    /// previous close (a repeated call), its previous rate is reported and its interval stays
    /// open.
    ///
    /// `out` is overwritten, not appended to: its previous pairs' `String` buffers are reused,
    /// so an engine that keeps one `Vec` for this does not allocate in steady state.
    pub(crate) fn close_interval(&self, now: Instant, out: &mut Vec<(String, f64)>) {
        let now_ns = self.clock.ns(now);
        let mut n = 0;
        self.topics.for_each(|topic, t| {
            let mut iv = lock(&t.interval);
            if now_ns > iv.closed_ns {
                let count = t.count.load(Relaxed);
                let secs = (now_ns - iv.closed_ns) as f64 / 1e9;
                iv.rate = count.saturating_sub(iv.count_at_close) as f64 / secs;
                iv.count_at_close = count;
                iv.closed_ns = now_ns;
            }
            put(out, &mut n, topic, Self::RATE_SUFFIX, iv.rate);
        });
        out.truncate(n);
        self.last_close_ns.fetch_max(now_ns, Relaxed);
    }

    /// The report section: totals (evicted topics included), and per topic held, busiest
    /// first (ties by name).
    #[must_use]
    pub(crate) fn report(&self) -> MessagesReport {
        let now_ns = self.clock.now_ns();
        let mut topics = Vec::with_capacity(self.topics.len());
        self.topics.for_each(|topic, t| {
            let count = t.count.load(Relaxed);
            let age = now_ns.saturating_sub(t.first_ns) as f64 / 1e9;
            topics.push(TopicReport {
                topic: topic.to_owned(),
                count,
                bytes: t.bytes.load(Relaxed),
                rate_per_s: lock(&t.interval).rate,
                mean_rate_per_s: if age > 0.0 { count as f64 / age } else { 0.0 },
                last_seen: self.clock.unix(t.last_ns.load(Relaxed)),
            });
        });
        topics.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.topic.cmp(&b.topic)));
        MessagesReport {
            total: self.evicted_count.load(Relaxed) + topics.iter().map(|t| t.count).sum::<u64>(),
            bytes: topics
                .iter()
                .fold(self.evicted_bytes.load(Relaxed), |sum, t| {
                    sum.saturating_add(t.bytes)
                }),
            topics,
            overflowed: self.topics.overflowed(),
        }
    }

    #[cfg(test)]
    /// Messages of new topics that went to `OTHER` because the cap was reached.
    #[must_use]
    pub(crate) fn overflowed(&self) -> u64 {
        self.topics.overflowed()
    }

    #[cfg(test)]
    /// Topics held (`OTHER` included).
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.topics.len()
    }

    #[cfg(test)]
    /// Whether no topic is held.
    #[must_use]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes this table holds (its tables by capacity, and each topic's key). Topic
    /// state is inline in the table's slots, so a topic costs one slot plus its name.
    #[must_use]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.topics.heap_bytes(|_| 0)
    }

    /// Removes the topics with no message for `idle` before `now`; returns how many. Their
    /// counts stay in the report's totals. A topic recorded again later starts afresh.
    pub(crate) fn evict_idle(&self, now: Instant, idle: Duration) -> usize {
        let now_ns = self.clock.ns(now);
        let idle_ns = duration_ns(idle);
        self.topics.evict(|t| {
            let idle = now_ns.saturating_sub(t.last_ns.load(Relaxed)) >= idle_ns;
            if idle {
                self.evicted_count.fetch_add(t.count.load(Relaxed), Relaxed);
                let bytes = t.bytes.load(Relaxed);
                let _ = self
                    .evicted_bytes
                    .fetch_update(Relaxed, Relaxed, |old| Some(old.saturating_add(bytes)));
            }
            idle
        })
    }

    /// Gives back the table memory that eviction left unused.
    pub(crate) fn shrink(&self) {
        self.topics.shrink();
    }
}

#[cfg(test)]
mod tests {
    use super::super::capped::OTHER;
    use super::*;
    use std::sync::Arc;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn counts_bytes_and_sorts_busiest_first() {
        let table = MessageTable::new(10);
        for _ in 0..3 {
            table.record("b", Some(10));
        }
        table.record("a", None);
        table.record("c", Some(0));
        table.record("a", Some(5));
        let r = table.report();
        assert_eq!(r.total, 6);
        assert_eq!(r.bytes, 35);
        assert_eq!(r.overflowed, 0);
        let names: Vec<_> = r.topics.iter().map(|t| t.topic.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!((r.topics[0].count, r.topics[0].bytes), (3, 30));
        assert_eq!((r.topics[1].count, r.topics[1].bytes), (2, 5));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((r.topics[0].last_seen - now).abs() < 5.0);
        assert!(r.topics[0].mean_rate_per_s > 0.0);
        // No interval closed yet.
        assert_eq!(r.topics[0].rate_per_s, 0.0);
    }

    #[test]
    fn bytes_saturate() {
        let table = MessageTable::new(10);
        table.record("t", Some(u64::MAX));
        table.record("t", Some(u64::MAX));
        assert_eq!(table.report().bytes, u64::MAX);
    }

    #[test]
    fn cap_sends_new_topics_to_other() {
        let table = MessageTable::new(2);
        for name in ["a", "b", "c", "d", "c"] {
            table.record(name, None);
        }
        table.record("a", None);
        let r = table.report();
        assert_eq!(r.overflowed, 3);
        assert_eq!(table.overflowed(), 3);
        assert_eq!(table.len(), 3);
        let other = r.topics.iter().find(|t| t.topic == OTHER).unwrap();
        assert_eq!(other.count, 3);
        assert_eq!(r.total, 6);
        // Recording `other` itself neither overflows nor takes a slot.
        table.record(OTHER, None);
        assert_eq!(table.overflowed(), 3);
    }

    #[test]
    fn zero_cap_keeps_only_other() {
        let table = MessageTable::new(0);
        table.record("a", None);
        table.record("b", None);
        assert_eq!(table.len(), 1);
        assert_eq!(table.overflowed(), 2);
    }

    #[test]
    fn rates_are_measured_and_silence_reports_zero() {
        let table = MessageTable::new(10);
        let start = Instant::now();
        let mut out = Vec::new();
        table.close_interval(start, &mut out);
        assert!(out.is_empty());
        for _ in 0..50 {
            table.record("busy", None);
        }
        table.record("quiet", None);
        table.close_interval(start + Duration::from_millis(500), &mut out);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, "busy.messages_per_s");
        assert!((out[0].1 - 100.0).abs() < 1e-9, "{out:?}");
        assert_eq!(out[1].0, "quiet.messages_per_s");
        assert!((out[1].1 - 2.0).abs() < 1e-9, "{out:?}");
        // The report's rate is the last closed interval's.
        let r = table.report();
        assert!((r.topics[0].rate_per_s - 100.0).abs() < 1e-9);

        // A silent second: both topics report 0.
        table.record("busy", None);
        table.close_interval(start + Duration::from_millis(1500), &mut out);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(out.len(), 2);
        assert!((out[0].1 - 1.0).abs() < 1e-9, "{out:?}");
        assert_eq!(out[1].1, 0.0);

        // Calling again at the same instant keeps the last rates.
        table.close_interval(start + Duration::from_millis(1500), &mut out);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert!((out[0].1 - 1.0).abs() < 1e-9, "{out:?}");
    }

    #[test]
    fn close_interval_overwrites_and_reuses_out() {
        let table = MessageTable::new(10);
        table.record("x", None);
        let mut out = vec![
            (String::with_capacity(64), 9.0),
            ("stale".to_string(), 9.0),
            ("stale".to_string(), 9.0),
        ];
        let buffer = out[0].0.as_ptr();
        table.close_interval(Instant::now(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, "x.messages_per_s");
        assert_eq!(out[0].0.as_ptr(), buffer, "the String buffer was reused");
    }

    #[test]
    fn four_threads_count_exactly() {
        let table = Arc::new(MessageTable::new(100));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let table = Arc::clone(&table);
                std::thread::spawn(move || {
                    let own = format!("own{i}");
                    for n in 0..10_000u64 {
                        table.record("shared", Some(1));
                        table.record(&own, None);
                        // New names race with each other across threads.
                        table.record(&format!("n{}", n % 50), Some(2));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let r = table.report();
        assert_eq!(r.total, 120_000);
        assert_eq!(r.bytes, 40_000 + 80_000);
        assert_eq!(table.len(), 55);
        assert_eq!(r.overflowed, 0);
        let shared = r.topics.iter().find(|t| t.topic == "shared").unwrap();
        assert_eq!(shared.count, 40_000);
        for t in r.topics.iter().filter(|t| t.topic.starts_with('n')) {
            assert_eq!(t.count, 800, "{}", t.topic);
        }
    }

    #[test]
    fn four_threads_never_overshoot_the_cap() {
        let table = Arc::new(MessageTable::new(10));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let table = Arc::clone(&table);
                std::thread::spawn(move || {
                    for n in 0..1000 {
                        table.record(&format!("t{i}-{n}"), None);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(table.len(), 11);
        assert_eq!(table.overflowed(), 4000 - 10);
        assert_eq!(table.report().total, 4000);
    }

    #[test]
    fn eviction_keeps_totals_and_frees_slots() {
        let table = MessageTable::new(3);
        table.record("old", Some(7));
        let after_old = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        table.record("new", None);
        let now = Instant::now();
        assert_eq!(table.evict_idle(now, now - after_old), 1);
        let r = table.report();
        assert_eq!(r.topics.len(), 1);
        assert_eq!(r.topics[0].topic, "new");
        assert_eq!((r.total, r.bytes), (2, 7));
        // The evicted topic's slot is free again: three new names fit before overflow.
        for name in ["a", "b"] {
            table.record(name, None);
        }
        assert_eq!(table.overflowed(), 0);
        table.record("c", None);
        assert_eq!(table.overflowed(), 1);
        // Everything is idle for a zero duration.
        assert_eq!(table.evict_idle(Instant::now(), Duration::ZERO), 4);
        assert!(table.is_empty());
        assert_eq!(table.report().total, 5);
    }

    #[test]
    fn heap_bytes_grows_with_topics_and_falls_after_eviction() {
        let table = MessageTable::new(10_000);
        let empty = table.heap_bytes();
        for n in 0..1000 {
            table.record(&format!("topic-{n:05}"), None);
        }
        let full = table.heap_bytes();
        let per_topic = (full - empty) / 1000;
        assert!(
            per_topic >= size_of::<(Box<str>, Topic)>() + 11,
            "{per_topic}"
        );
        assert!(per_topic < 400, "{per_topic}");
        assert_eq!(table.evict_idle(Instant::now(), Duration::ZERO), 1000);
        assert!(table.heap_bytes() < full);
        table.shrink();
        assert_eq!(table.heap_bytes(), empty);
    }
}
