//! Is anything listening? The global word behind every call site's cached interest.
//!
//! Bit 0 of [`STATE`] says the global runtime is installed and enabled; the bits above count
//! the scoped runtimes ([`Runtime::in_scope`](crate::Runtime::in_scope)) active on any thread.
//! Like tracing-core's callsite registry, each call site caches what this state means for it
//! (its *interest*, in its own `static`, so the hot path reads one word of the user's binary
//! instead of a cross-crate static behind the GOT). Whenever the state changes, every
//! registered call site's interest is reset and recomputed at its next call.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::callsite::Callsite;

/// The dispatch state (see the module docs).
static STATE: AtomicUsize = AtomicUsize::new(0);
/// Bumped by every change of [`STATE`]: a call site that computed its interest from an older
/// state throws it away (see `Callsite::register`).
static GENERATION: AtomicUsize = AtomicUsize::new(0);
/// Every call site that has run at least once.
static CALLSITES: Mutex<Vec<&'static Callsite>> = Mutex::new(Vec::new());

/// Bit 0: the global runtime is installed and enabled.
pub(crate) const GLOBAL: usize = 1;
/// One active scope.
pub(crate) const SCOPE: usize = 2;

/// The current state.
pub(crate) fn state() -> usize {
    STATE.load(Ordering::SeqCst)
}

/// The current generation (read before computing an interest, checked after storing it).
pub(crate) fn generation() -> usize {
    GENERATION.load(Ordering::SeqCst)
}

/// Adds a call site to the set whose interest is reset on every change.
pub(crate) fn register(callsite: &'static Callsite) {
    CALLSITES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(callsite);
}

/// Applies a state change, then makes every call site recompute its interest.
fn change(apply: impl FnOnce(&AtomicUsize)) {
    apply(&STATE);
    GENERATION.fetch_add(1, Ordering::SeqCst);
    for callsite in CALLSITES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
    {
        callsite.reset_interest();
    }
}

/// Marks the global runtime as installed and enabled.
pub(crate) fn enable_global() {
    change(|state| {
        state.fetch_or(GLOBAL, Ordering::SeqCst);
    });
}

/// Counts a scope in (`entered`) or out.
pub(crate) fn count_scope(entered: bool) {
    change(|state| {
        if entered {
            state.fetch_add(SCOPE, Ordering::SeqCst);
        } else {
            state.fetch_sub(SCOPE, Ordering::SeqCst);
        }
    });
}
