//! The per-call-site hook the attribute expands to, and the guard that times one run.
//!
//! Follows tracing-core's callsite: a `static` per annotated function caches its phase after
//! the first call, so the hot path never hashes a name; registration takes a `#[cold]` path.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use crate::clock;
use crate::dispatch::{self, GLOBAL, SCOPE};
use crate::global;
use crate::outcome::Outcome;
use crate::phase::{PhaseCell, Site};
use crate::scope;

/// One annotated function: its phase name and location, and (for the global runtime) the
/// cached phase state. Built by the attribute as a `static`; not meant to be named by users.
#[doc(hidden)]
#[derive(Debug)]
pub struct Callsite {
    name: &'static str,
    site: Site,
    /// The global runtime's phase, leaked once per call site: the global runtime lives for
    /// the whole process, so this never dangles and costs one small box per annotated fn.
    global_phase: OnceLock<&'static Arc<PhaseCell>>,
}

impl Callsite {
    /// A call site for the phase `name` at `module_path`, `file`, `line`.
    #[must_use]
    pub const fn new(
        name: &'static str,
        module_path: &'static str,
        file: &'static str,
        line: u32,
    ) -> Callsite {
        Callsite {
            name,
            site: Site {
                module_path,
                file,
                line,
            },
            global_phase: OnceLock::new(),
        }
    }

    /// The before hook: starts timing one run, or returns an inert guard when nothing listens.
    #[inline(always)]
    pub fn enter(&'static self) -> PhaseGuard {
        let state = dispatch::state();
        if state == 0 {
            return PhaseGuard::disabled();
        }
        self.enter_enabled(state)
    }

    #[inline]
    fn enter_enabled(&'static self, state: usize) -> PhaseGuard {
        if state == GLOBAL {
            if let Some(phase) = self.global_phase.get() {
                return PhaseGuard::start_global(phase);
            }
        }
        self.enter_cold(state)
    }

    /// First call of this site on the global runtime, or any call while a scope is active.
    #[cold]
    #[inline(never)]
    fn enter_cold(&'static self, state: usize) -> PhaseGuard {
        if state >= SCOPE {
            if let Some(runtime) = scope::current() {
                if !runtime.is_enabled() {
                    return PhaseGuard::disabled();
                }
                return match runtime.phase(self.name, self.site) {
                    Some(phase) => PhaseGuard::start_shared(phase),
                    None => PhaseGuard::disabled(),
                };
            }
        }
        if state & GLOBAL != 0 {
            if let Some(runtime) = global::global() {
                if let Some(phase) = self.global_phase.get() {
                    return PhaseGuard::start_global(phase);
                }
                if let Some(phase) = runtime.phase(self.name, self.site) {
                    let phase = self.global_phase.get_or_init(|| Box::leak(Box::new(phase)));
                    return PhaseGuard::start_global(phase);
                }
            }
        }
        PhaseGuard::disabled()
    }
}

enum PhaseRef {
    Global(&'static PhaseCell),
    Shared(Arc<PhaseCell>),
}

struct Active {
    phase: PhaseRef,
    /// A raw [`clock`] reading.
    start: u64,
    /// The thread was already unwinding when the run started (a phase called from a `Drop`
    /// during someone else's panic): that unwind is not this run's panic.
    unwinding_at_start: bool,
}

impl Active {
    fn new(phase: PhaseRef) -> Active {
        Active {
            phase,
            start: clock::now(),
            unwinding_at_start: std::thread::panicking(),
        }
    }

    /// The outcome of a run whose guard is dropped unfinished: a panic if an unwind that
    /// started inside the body is passing through, else `otherwise`.
    fn dropped(&self, body_running: bool, otherwise: Outcome) -> Outcome {
        if body_running && std::thread::panicking() && !self.unwinding_at_start {
            Outcome::Panic
        } else {
            otherwise
        }
    }

    #[inline]
    fn end(self, outcome: Outcome) {
        let nanos = clock::nanos_since(self.start);
        match self.phase {
            PhaseRef::Global(phase) => phase.record(nanos, outcome),
            PhaseRef::Shared(phase) => phase.record(nanos, outcome),
        }
    }
}

/// Times one run of a phase, from its creation to [`finish`](PhaseGuard::finish).
///
/// Dropped unfinished, it records the run as a panic when the thread is unwinding and as
/// cancelled otherwise (an async phase dropped before completion). An inert guard (runtime
/// disabled or not initialised) records nothing.
#[must_use = "a phase run is recorded when the guard is finished or dropped"]
pub struct PhaseGuard {
    /// `ManuallyDrop` because every path takes the run out before the guard goes (`finish`,
    /// or `Drop` below): the compiler then sees no drop glue for the `Arc` a scoped run holds,
    /// and the inactive guard's drop inlines to one branch.
    active: ManuallyDrop<Option<Active>>,
    /// False while an async body is suspended between two polls ([`polled`]): an unwind that
    /// drops it then comes from elsewhere (a sibling branch of a `join!`), so the run was
    /// cancelled, not panicked.
    body_running: AtomicBool,
}

impl std::fmt::Debug for PhaseGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhaseGuard")
            .field("active", &self.active.is_some())
            .finish()
    }
}

impl PhaseGuard {
    /// A guard that records nothing.
    #[inline(always)]
    pub(crate) const fn disabled() -> PhaseGuard {
        PhaseGuard {
            active: ManuallyDrop::new(None),
            body_running: AtomicBool::new(true),
        }
    }

    #[inline]
    fn start_global(phase: &'static Arc<PhaseCell>) -> PhaseGuard {
        PhaseGuard {
            active: ManuallyDrop::new(Some(Active::new(PhaseRef::Global(phase)))),
            body_running: AtomicBool::new(true),
        }
    }

    pub(crate) fn start_shared(phase: Arc<PhaseCell>) -> PhaseGuard {
        PhaseGuard {
            active: ManuallyDrop::new(Some(Active::new(PhaseRef::Shared(phase)))),
            body_running: AtomicBool::new(true),
        }
    }

    /// Whether this guard is measuring (false when the runtime is disabled).
    #[must_use]
    #[inline(always)]
    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }

    /// Ends the run with `outcome`.
    #[inline(always)]
    pub fn finish(mut self, outcome: Outcome) {
        if let Some(active) = self.active.take() {
            active.end(outcome);
        }
    }

    /// Turns this guard into one that ends the run when it drops: a panic if the thread is
    /// unwinding, a success otherwise. The attribute uses it for sync functions whose return
    /// type cannot be a `Result` (nothing to classify), so the body runs in place.
    #[doc(hidden)]
    #[inline(always)]
    pub fn on_return(self) -> ReturnGuard {
        ReturnGuard(self)
    }

    /// Ends the run as a success.
    #[inline]
    pub fn success(self) {
        self.finish(Outcome::Success);
    }

    /// Ends the run as a failure.
    #[inline]
    pub fn failure(self) {
        self.finish(Outcome::Failure);
    }
}

/// A guard whose drop ends the run: a panic while unwinding, a success otherwise (see
/// [`PhaseGuard::on_return`]).
#[doc(hidden)]
#[must_use = "a phase run is recorded when the guard is dropped"]
#[derive(Debug)]
pub struct ReturnGuard(PhaseGuard);

impl Drop for ReturnGuard {
    #[inline(always)]
    fn drop(&mut self) {
        // Inline check, out-of-line work: a disabled phase pays one branch here.
        if self.0.active.is_some() {
            self.end_returned();
        }
    }
}

impl ReturnGuard {
    #[inline(never)]
    fn end_returned(&mut self) {
        if let Some(active) = self.0.active.take() {
            let outcome = active.dropped(true, Outcome::Success);
            active.end(outcome);
        }
    }
}

impl Drop for PhaseGuard {
    #[inline(always)]
    fn drop(&mut self) {
        if self.active.is_some() {
            self.end_dropped();
        }
    }
}

impl PhaseGuard {
    /// A run whose guard is dropped unfinished: a panic, or a cancelled async run.
    #[cold]
    #[inline(never)]
    fn end_dropped(&mut self) {
        if let Some(active) = self.active.take() {
            let outcome = active.dropped(self.body_running.load(Relaxed), Outcome::Cancelled);
            active.end(outcome);
        }
    }
}

/// Awaits an async phase's body, telling `guard` whether the body is running (inside a poll)
/// or suspended, so that a drop during an unwind is told apart: a panic of this body, or the
/// cancellation of a suspended one. Pinned in place: no allocation.
#[doc(hidden)]
pub async fn polled<F: Future>(guard: &PhaseGuard, body: F) -> F::Output {
    if !guard.is_active() {
        return body.await;
    }
    let mut body = std::pin::pin!(body);
    std::future::poll_fn(|cx| {
        guard.body_running.store(true, Relaxed);
        let poll = body.as_mut().poll(cx);
        // Not reached if the poll panics: the flag then still says "running".
        guard.body_running.store(false, Relaxed);
        poll
    })
    .await
}
