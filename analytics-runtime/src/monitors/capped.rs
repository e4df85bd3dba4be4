//! The capped concurrent name table the monitor tables (messages, objectives, tasks) share,
//! and their small common helpers: a table clock, poison-tolerant locking and key writing.

use std::mem::size_of;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

/// The name that absorbs the records of new names once a table holds its cap of names.
///
/// It never counts against the cap, so a table holds at most `cap + 1` entries. A caller that
/// really uses the name `other` shares that entry with the overflow.
pub(crate) const OTHER: &str = "other";

/// Bytes of one dashmap shard in its boxed slice: a `CachePadded<RwLock<RawTable>>`, which
/// crossbeam pads to 128 bytes on x86-64 and aarch64 (the lock and table header are ~40).
const SHARD_BYTES: usize = 128;

/// Trailing control bytes hashbrown allocates after each non-empty table (one SSE2 group).
const GROUP_WIDTH: usize = 16;

/// A concurrent map from names to per-name state, with a cap on distinct names.
///
/// Past the cap, records of new names go to the [`OTHER`] entry and are counted in
/// [`overflowed`](Self::overflowed): the table's memory is bounded by the cap, not by the
/// number of names a caller invents. Keys are `Box<str>` (exact-size, 16 bytes inline) rather
/// than `String` because they never change.
pub(crate) struct CappedMap<V> {
    /// The entries. Shards are read-locked by lookups of existing names, so recorders on
    /// existing names never block each other; only inserts and removals take a write lock.
    map: DashMap<Box<str>, V>,
    /// The cap on distinct names other than [`OTHER`].
    max: usize,
    /// Distinct names held, not counting [`OTHER`]. Slots are reserved here before an insert
    /// so concurrent inserts into different shards cannot overshoot the cap.
    names: AtomicUsize,
    /// Records of new names sent to [`OTHER`] because the cap was reached.
    overflowed: AtomicU64,
    /// Shard count, kept for the memory estimate (dashmap only exposes it with `raw-api`).
    shards: usize,
}

impl<V> CappedMap<V> {
    /// An empty map holding at most `max` distinct names (plus [`OTHER`]).
    pub(crate) fn new(max: usize) -> Self {
        // Dashmap's own default (4 shards per core), computed here so we know the count.
        let shards = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .saturating_mul(4)
            .next_power_of_two()
            .max(4);
        Self {
            map: DashMap::with_shard_amount(shards),
            max,
            names: AtomicUsize::new(0),
            overflowed: AtomicU64::new(0),
            shards,
        }
    }

    /// Calls `f` with the state of `name`, creating it with `make` if the name is new and the
    /// cap allows, or else with the state of [`OTHER`] (counting the overflow).
    ///
    /// The common case (the name exists) is one hash and a shard read lock. `f` must not
    /// touch this map: it may run under the shard's lock.
    #[inline]
    pub(crate) fn with<R>(
        &self,
        name: &str,
        make: impl FnOnce() -> V,
        f: impl FnOnce(&V) -> R,
    ) -> R {
        if let Some(entry) = self.map.get(name) {
            return f(entry.value());
        }
        self.with_new(name, make, f)
    }

    /// The slow path of [`with`](Self::with): a name not (yet) in the map.
    #[cold]
    fn with_new<R>(&self, name: &str, make: impl FnOnce() -> V, f: impl FnOnce(&V) -> R) -> R {
        let counted = name != OTHER;
        let target = if !counted || self.reserve() {
            name
        } else {
            self.overflowed.fetch_add(1, Relaxed);
            // `other` usually exists already: look it up without allocating a key.
            if let Some(entry) = self.map.get(OTHER) {
                return f(entry.value());
            }
            OTHER
        };
        let counted = target != OTHER;
        match self.map.entry(target.into()) {
            Entry::Occupied(entry) => {
                // Another thread inserted it between our lookup and now: give the slot back.
                if counted {
                    self.names.fetch_sub(1, Relaxed);
                }
                f(entry.get())
            }
            Entry::Vacant(entry) => f(entry.insert(make()).value()),
        }
    }

    /// Takes one of the `max` name slots, if any is free.
    fn reserve(&self) -> bool {
        self.names
            .fetch_update(Relaxed, Relaxed, |n| (n < self.max).then_some(n + 1))
            .is_ok()
    }

    /// Calls `f` on every entry. Holds one shard's read lock at a time, so recorders of
    /// existing names are never blocked.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, &V)) {
        for entry in self.map.iter() {
            f(entry.key(), entry.value());
        }
    }

    /// Removes the entries for which `evict` returns true and returns how many went.
    ///
    /// `evict` runs under the shard's write lock, so no record can touch the entry between
    /// the decision and the removal: it may safely move the entry's totals elsewhere.
    pub(crate) fn evict(&self, mut evict: impl FnMut(&V) -> bool) -> usize {
        let mut removed = 0;
        self.map.retain(|name, state| {
            if !evict(state) {
                return true;
            }
            if &**name != OTHER {
                self.names.fetch_sub(1, Relaxed);
            }
            removed += 1;
            false
        });
        removed
    }

    /// Gives back the table memory that eviction left unused.
    pub(crate) fn shrink(&self) {
        self.map.shrink_to_fit();
    }

    /// Records of new names that went to [`OTHER`].
    pub(crate) fn overflowed(&self) -> u64 {
        self.overflowed.load(Relaxed)
    }

    /// Entries held, [`OTHER`] included.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Heap bytes held: the shard array, each shard's hash table (from its capacity, not its
    /// length), each key, and `extra(state)` for what each state owns on the heap.
    pub(crate) fn heap_bytes(&self, extra: impl Fn(&V) -> usize) -> usize {
        let mut owned = 0;
        let mut entries = 0;
        self.for_each(|name, state| {
            owned += name.len() + extra(state);
            entries += 1;
        });
        self.table_bytes(entries) + owned
    }

    /// Bytes of the shard array and the hash tables, for a map of `entries` entries.
    ///
    /// A hashbrown table of capacity `c` has `c * 8 / 7` buckets (when it has 8 or more), each
    /// a `(key, value)` slot plus a control byte, and 16 trailing control bytes. Dashmap only
    /// exposes the capacity summed over shards, so small shards (whose real bucket count is
    /// `capacity + 1`) are slightly undercounted; the error is a few slots per shard.
    fn table_bytes(&self, entries: usize) -> usize {
        let slot = size_of::<(Box<str>, V)>() + 1;
        let buckets = self.map.capacity() * 8 / 7;
        self.shards * SHARD_BYTES + buckets * slot + entries.min(self.shards) * GROUP_WIDTH
    }
}

/// Locks `mutex`, recovering it if a panic poisoned it: the state behind the monitors' locks
/// is plain counters, valid at every step, and the runtime must never panic into user code.
/// Counted as held by this thread (see `crate::locks`).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> crate::locks::Held<'_, T> {
    crate::locks::lock(mutex)
}

/// The clock of one table: nanoseconds since the table was made (fits an `AtomicU64` for
/// 584 years), convertible to Unix seconds for reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// When the table was made.
    epoch: Instant,
    /// The same moment in seconds since the Unix epoch.
    epoch_unix: f64,
}

impl Clock {
    /// A clock starting now.
    pub(crate) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            epoch_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }

    /// `at` in nanoseconds since the epoch (0 for instants before it).
    pub(crate) fn ns(&self, at: Instant) -> u64 {
        duration_ns(at.saturating_duration_since(self.epoch))
    }

    /// Now, in nanoseconds since the epoch.
    pub(crate) fn now_ns(&self) -> u64 {
        self.ns(Instant::now())
    }

    /// `ns` (since the epoch) in seconds since the Unix epoch.
    pub(crate) fn unix(&self, ns: u64) -> f64 {
        self.epoch_unix + ns as f64 / 1e9
    }
}

/// `d` in whole nanoseconds, saturating (after 584 years).
pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Writes `(prefix + suffix, value)` into `out[*n]`, reusing that slot's `String` buffer when
/// `out` already had a slot there (so a `Vec` kept between calls stops allocating once its
/// strings are long enough), or pushes a new pair; then advances `*n`.
pub(crate) fn put(
    out: &mut Vec<(String, f64)>,
    n: &mut usize,
    prefix: &str,
    suffix: &str,
    value: f64,
) {
    if let Some((key, slot)) = out.get_mut(*n) {
        key.clear();
        key.push_str(prefix);
        key.push_str(suffix);
        *slot = value;
    } else {
        let mut key = String::with_capacity(prefix.len() + suffix.len());
        key.push_str(prefix);
        key.push_str(suffix);
        out.push((key, value));
    }
    *n += 1;
}
