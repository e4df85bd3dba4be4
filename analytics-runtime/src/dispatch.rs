//! The one word the hot path reads: is anything listening?
//!
//! Bit 0 says the global runtime is installed and enabled; the bits above count the scoped
//! runtimes ([`Runtime::in_scope`](crate::Runtime::in_scope)) currently active on any thread.
//! Zero means "measure nothing": an annotated phase then costs one relaxed load and a branch,
//! the shape of tracing-core's global max-level check.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The dispatch state (see the module docs).
pub(crate) static STATE: AtomicUsize = AtomicUsize::new(0);
/// Bit 0: the global runtime is installed and enabled.
pub(crate) const GLOBAL: usize = 1;
/// One active scope.
pub(crate) const SCOPE: usize = 2;

/// The current state, read with the weakest ordering (the hot-path check).
#[inline(always)]
pub(crate) fn state() -> usize {
    STATE.load(Ordering::Relaxed)
}

/// Marks the global runtime as installed and enabled.
pub(crate) fn enable_global() {
    STATE.fetch_or(GLOBAL, Ordering::Release);
}

/// Counts a scope in (`entered`) or out.
pub(crate) fn count_scope(entered: bool) {
    if entered {
        STATE.fetch_add(SCOPE, Ordering::AcqRel);
    } else {
        STATE.fetch_sub(SCOPE, Ordering::AcqRel);
    }
}
