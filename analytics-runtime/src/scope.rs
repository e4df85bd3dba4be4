//! Scoped runtimes: a thread-local "current runtime" that takes precedence over the global
//! one, so tests and embedders can hold their own [`Runtime`] (tracing's `with_default`).

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::dispatch;
use crate::runtime::Runtime;

thread_local! {
    static CURRENT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// Keeps a runtime current on this thread; dropping it restores the previous one.
///
/// Returned by [`Runtime::set_default`]. It is `!Send`: a scope belongs to the thread that
/// entered it.
#[must_use = "the scope ends when the guard is dropped"]
pub struct ScopeGuard {
    previous: Option<Runtime>,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for ScopeGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopeGuard").finish_non_exhaustive()
    }
}

/// Makes `runtime` current on this thread.
pub(crate) fn enter(runtime: Runtime) -> ScopeGuard {
    dispatch::count_scope(true);
    // `try_with` fails only while the thread's locals are being destroyed: then there is no
    // scope to enter and phases go to the global runtime, as they would have anyway.
    let previous = CURRENT
        .try_with(|current| current.replace(Some(runtime)))
        .ok()
        .flatten();
    ScopeGuard {
        previous,
        _not_send: PhantomData,
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|current| current.replace(previous));
        dispatch::count_scope(false);
    }
}

/// The runtime current on this thread, if a scope is active.
pub(crate) fn current() -> Option<Runtime> {
    CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten()
}
