//! The lock rule (DESIGN.md, "Locks and user code"; issue 13): no runtime lock is held while
//! user code runs (`tracing` events and the subscriber's layers, panic hooks, anomaly
//! handlers) or while a file is written or synced. Compute under the lock, release, then emit.
//!
//! The runtime's locks are taken through [`lock`], which counts, per thread, the runtime locks
//! the thread holds. That count gives two guarantees:
//!
//! * [`after_locks`]: work that runs user code and may be reached with a lock held (the event
//!   of a component switched off, found inside an engine's guarded work) is deferred until the
//!   thread's last runtime lock is released.
//! * [`held`]: the one kind of user code that cannot be deferred is a panic hook, which Rust
//!   runs at the panic, before unwinding releases anything. A call back into the runtime from
//!   such a hook (or from an event the hook emits) finds `held()` true and must not wait for a
//!   lock (the thread may hold it itself): the public entry points then answer without locks
//!   (a partial report, a refused snapshot, a skipped record; counted in
//!   `runtime.reentrant_calls`). Other threads simply wait, as they would for any lock.

use std::cell::{Cell, RefCell};
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};

thread_local! {
    /// Runtime locks this thread holds.
    static HELD: Cell<usize> = const { Cell::new(0) };
    /// Work deferred until this thread holds no runtime lock.
    static DEFERRED: RefCell<Vec<Box<dyn FnOnce()>>> = const { RefCell::new(Vec::new()) };
}

/// A runtime lock's guard: the lock is counted as held by this thread until it drops.
pub(crate) struct Held<'a, T> {
    /// `Some` until the drop, which releases it before running deferred work.
    guard: Option<MutexGuard<'a, T>>,
}

/// Locks `mutex`, counting it as held by this thread; a poisoned lock is recovered (the
/// runtime's state stays usable after a caught panic, and the runtime never panics into user
/// code).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> Held<'_, T> {
    let guard = mutex.lock().unwrap_or_else(PoisonError::into_inner);
    HELD.with(|held| held.set(held.get() + 1));
    Held { guard: Some(guard) }
}

/// Whether this thread holds a runtime lock (then it is inside the runtime, and any user code
/// it runs is a panic hook).
pub(crate) fn held() -> bool {
    HELD.with(Cell::get) > 0
}

/// Runs `f` now if this thread holds no runtime lock, else when it releases the last one.
pub(crate) fn after_locks(f: impl FnOnce() + 'static) {
    if held() {
        DEFERRED.with(|deferred| deferred.borrow_mut().push(Box::new(f)));
    } else {
        f();
    }
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        let left = HELD.with(|held| {
            let left = held.get().saturating_sub(1);
            held.set(left);
            left
        });
        // Released first: the deferred work may take this very lock again.
        drop(self.guard.take());
        // Deferred work is not run while unwinding (a panicking layer would abort the
        // process); it waits for the thread's next release.
        if left == 0 && !std::thread::panicking() {
            run_deferred();
        }
    }
}

/// Runs the work deferred until this thread held no lock.
fn run_deferred() {
    loop {
        let next = DEFERRED.with(|deferred| {
            let mut deferred = deferred.borrow_mut();
            (!deferred.is_empty()).then(|| deferred.remove(0))
        });
        match next {
            Some(f) => f(),
            None => return,
        }
    }
}

impl<T> Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.guard {
            Some(guard) => guard,
            None => unreachable!("the guard is only taken by the drop"),
        }
    }
}

impl<T> DerefMut for Held<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.guard {
            Some(guard) => guard,
            None => unreachable!("the guard is only taken by the drop"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn held_counts_nested_locks_and_deferred_work_runs_after_the_last() {
        let (a, b) = (Mutex::new(1), Mutex::new(2));
        let ran = Rc::new(Cell::new(0));
        assert!(!held());
        {
            let ga = lock(&a);
            {
                let _gb = lock(&b);
                assert!(held());
                let r = Rc::clone(&ran);
                after_locks(move || r.set(r.get() + *ga_value()));
            }
            assert!(held(), "still holds `a`");
            assert_eq!(ran.get(), 0, "deferred while a lock is held");
            drop(ga);
        }
        assert!(!held());
        assert_eq!(ran.get(), 10);
        // With no lock held, the work runs at once.
        let r = Rc::clone(&ran);
        after_locks(move || r.set(0));
        assert_eq!(ran.get(), 0);
    }

    /// A value for the deferred closure above (it must not borrow the guards).
    fn ga_value() -> &'static i32 {
        &10
    }

    #[test]
    fn deferred_work_may_take_the_locks_again() {
        let m = std::sync::Arc::new(Mutex::new(0));
        {
            let _g = lock(&m);
            let m2 = std::sync::Arc::clone(&m);
            after_locks(move || *lock(&m2) += 1);
        }
        assert_eq!(*lock(&m), 1);
    }
}
