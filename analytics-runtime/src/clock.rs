//! The clock of the hot path: the CPU's timestamp counter, calibrated once against the OS clock
//! by `quanta`. Where the counter is not invariant (it would drift with frequency changes or
//! differ between cores), `quanta` falls back to the OS monotonic clock, so durations stay
//! sound; a reading that goes backwards gives 0, never a huge duration.
//!
//! The hot path stores raw readings and their difference in ticks ([`now`]); readers convert
//! ticks to nanoseconds ([`ticks_to_nanos`]) off the hot path (issue 14). On x86-64, once
//! [`calibrate`] has seen that `quanta` reads the timestamp counter, [`now`] reads it inline
//! (`rdtsc`) instead of calling into `quanta`: a call and a match on its clock kind less per
//! reading, and no lazy initialisation to check.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

/// Set once by [`calibrate`] when `quanta`'s raw readings are the timestamp counter's, so that
/// [`now`] may read the counter itself, in the same units.
static INLINE_TSC: AtomicBool = AtomicBool::new(false);

fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Calibrates the clock now (a few milliseconds, once per process), so that the first measured
/// call does not pay for it. Called when a runtime is created.
pub(crate) fn calibrate() {
    let clock = clock();
    #[cfg(target_arch = "x86_64")]
    if !INLINE_TSC.load(Relaxed) && quanta_reads_the_tsc(clock) {
        INLINE_TSC.store(true, Relaxed);
    }
}

/// Whether `clock.raw()` is the timestamp counter: then a raw reading falls between two
/// `rdtsc` taken around it, every time. A reading of the OS clock (nanoseconds since boot)
/// would have to match the counter to within a few dozen ticks five times in a row.
#[cfg(target_arch = "x86_64")]
fn quanta_reads_the_tsc(clock: &quanta::Clock) -> bool {
    (0..5).all(|_| {
        let before = rdtsc();
        let raw = clock.raw();
        let after = rdtsc();
        before <= raw && raw <= after
    })
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` only reads the timestamp counter: no memory access, no precondition, and
    // every x86-64 CPU has it. It is used only once `quanta` (which checked that the counter is
    // invariant) was seen reading the same counter.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// A raw reading, only meaningful to [`ticks_to_nanos`] (of a difference) and for ordering.
#[inline(always)]
pub(crate) fn now() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if INLINE_TSC.load(Relaxed) {
        return rdtsc();
    }
    now_through_quanta()
}

#[inline(never)]
fn now_through_quanta() -> u64 {
    clock().raw()
}

/// Nanoseconds in `ticks` raw clock ticks (a difference of two [`now`] readings).
pub(crate) fn ticks_to_nanos(ticks: u64) -> u64 {
    clock().delta_as_nanos(0, ticks)
}

/// Nanoseconds from the raw reading `start` to the raw reading `end` (0 if `end` is earlier).
pub(crate) fn nanos_between(start: u64, end: u64) -> u64 {
    ticks_to_nanos(end.saturating_sub(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_sleep_and_never_goes_backwards() {
        calibrate();
        let start = now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let nanos = nanos_between(start, now());
        assert!((19_000_000..2_000_000_000).contains(&nanos), "{nanos} ns");
        assert_eq!(nanos_between(10, 5), 0);
        assert_eq!(ticks_to_nanos(0), 0);
    }

    /// The inline reading and `quanta`'s are the same clock, so runs started before
    /// `calibrate` and ended after it are timed right.
    #[test]
    fn the_inline_reading_is_quantas() {
        calibrate();
        let a = now_through_quanta();
        let b = now();
        let c = now_through_quanta();
        assert!(a <= b && b <= c, "{a} {b} {c}");
    }
}
