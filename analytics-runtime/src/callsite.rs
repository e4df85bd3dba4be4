//! The per-call-site hook the attribute expands to, and the guard that times one run.
//!
//! Follows tracing-core's callsite: a `static` per annotated function caches its *interest*
//! (nothing listens / the global runtime's phase / look it up each call) and the global phase
//! after the first call, so the hot path reads its own static and never hashes a name;
//! registration takes a `#[cold]` path.
//!
//! What the attribute's expansion calls is `#[inline(always)]` in optimised builds and only
//! `#[inline]` when debug assertions are on (`cfg_attr`, here and in `outcome.rs`): at
//! opt-level 0 nothing is faster for it, and forced inlining would copy these functions into
//! every annotated function of the user's debug builds (`bench/compile_time.sh` measures that).

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

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
    /// The phase itself, not its `Arc`: one dependent load less per call.
    global_phase: OnceLock<&'static PhaseCell>,
    /// What a call should do, cached from the dispatch state (see [`dispatch`]).
    interest: AtomicU8,
    /// Whether the call site is in the dispatch registry.
    registered: AtomicBool,
}

/// Not computed yet (first call, or the dispatch state changed since).
const UNKNOWN: u8 = 0;
/// Nothing listens: run the body unmeasured.
const NEVER: u8 = 1;
/// The global runtime, through `global_phase`.
const GLOBAL_PHASE: u8 = 2;
/// Scoped runtimes are active: decide on every call.
const DYNAMIC: u8 = 3;

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
            interest: AtomicU8::new(UNKNOWN),
            registered: AtomicBool::new(false),
        }
    }

    /// The before hook: starts timing one run, or returns an inert guard when nothing listens.
    ///
    /// One relaxed load of this call site's own static and a branch when nothing listens.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn enter(&'static self) -> PhaseGuard {
        match self.interest.load(Relaxed) {
            NEVER => PhaseGuard::disabled(),
            GLOBAL_PHASE => match self.global_phase.get() {
                Some(phase) => PhaseGuard::start_global(phase),
                None => self.enter_cold(),
            },
            _ => self.enter_cold(),
        }
    }

    /// Forgets the cached interest (the dispatch state changed).
    pub(crate) fn reset_interest(&self) {
        self.interest.store(UNKNOWN, Ordering::SeqCst);
    }

    /// Computes and caches the interest from the dispatch state, registering the call site on
    /// its first call. If the state changed meanwhile, the cached value is thrown away again,
    /// so a stale "nothing listens" can never stick after `init`.
    fn refresh_interest(&'static self) {
        if !self.registered.swap(true, Ordering::SeqCst) {
            dispatch::register(self);
        }
        let generation = dispatch::generation();
        let state_now = dispatch::state();
        let interest = if state_now == 0 {
            NEVER
        } else if state_now == GLOBAL && self.global_phase.get().is_some() {
            GLOBAL_PHASE
        } else {
            DYNAMIC
        };
        self.interest.store(interest, Ordering::SeqCst);
        if dispatch::generation() != generation {
            self.interest.store(UNKNOWN, Ordering::SeqCst);
        }
    }

    /// First call of this site, the first after a dispatch change, or any call while a scope
    /// is active.
    #[cold]
    #[inline(never)]
    fn enter_cold(&'static self) -> PhaseGuard {
        let state = dispatch::state();
        let guard = self.enter_slow(state);
        // While scopes are active the interest stays DYNAMIC: no need to recompute it on every
        // call (the end of the last scope resets it).
        if !(state >= SCOPE && self.interest.load(Relaxed) == DYNAMIC) {
            self.refresh_interest();
        }
        guard
    }

    fn enter_slow(&'static self, state: usize) -> PhaseGuard {
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
                    let phase = self
                        .global_phase
                        .get_or_init(|| &**Box::leak(Box::new(phase)));
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
    /// False while an async body is suspended between two polls ([`Polled`]): an unwind that
    /// drops it then comes from elsewhere (a sibling branch of a `join!`), so the run was
    /// cancelled, not panicked. Kept here, not in the guard, so that an inactive guard is one
    /// word to write.
    body_running: AtomicBool,
}

impl Active {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn new(phase: PhaseRef) -> Active {
        Active {
            phase,
            start: clock::now(),
            unwinding_at_start: std::thread::panicking(),
            body_running: AtomicBool::new(true),
        }
    }

    /// The outcome of a run whose guard is dropped unfinished: a panic if an unwind that
    /// started inside the body is passing through, else `otherwise`.
    fn dropped(&self, otherwise: Outcome) -> Outcome {
        let body_running = self.body_running.load(Relaxed);
        if body_running && std::thread::panicking() && !self.unwinding_at_start {
            Outcome::Panic
        } else {
            otherwise
        }
    }

    /// Ends the run: the second clock reading, then the raw readings go to the phase's log
    /// (converted to nanoseconds by its readers, off the hot path).
    #[inline(always)]
    fn end(&self, outcome: Outcome) {
        let end = clock::now();
        self.phase.cell().record_ticks(self.start, end, outcome);
    }
}

/// Ends a run that started at the raw clock reading `start`.
#[inline(never)]
fn end_run(phase: PhaseRef, start: u64, outcome: Outcome) {
    let end = clock::now();
    phase.cell().record_ticks(start, end, outcome);
}

impl PhaseRef {
    #[inline(always)]
    fn cell(&self) -> &PhaseCell {
        match self {
            PhaseRef::Global(phase) => phase,
            PhaseRef::Shared(phase) => phase,
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
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) const fn disabled() -> PhaseGuard {
        PhaseGuard {
            active: ManuallyDrop::new(None),
        }
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn start_global(phase: &'static PhaseCell) -> PhaseGuard {
        PhaseGuard {
            active: ManuallyDrop::new(Some(Active::new(PhaseRef::Global(phase)))),
        }
    }

    pub(crate) fn start_shared(phase: Arc<PhaseCell>) -> PhaseGuard {
        PhaseGuard {
            active: ManuallyDrop::new(Some(Active::new(PhaseRef::Shared(phase)))),
        }
    }

    /// Whether this guard is measuring (false when the runtime is disabled).
    #[must_use]
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }

    /// Ends the run with `outcome`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn finish(mut self, outcome: Outcome) {
        // Inline check, out-of-line work (one call): a disabled phase pays one branch here,
        // and each annotated function gets a call, not a copy of the recording path. The
        // fields go to the call as scalars, in registers: handing it the guard (`&mut self`)
        // made the caller copy the guard (an async phase's lives in its future) through the
        // stack first, and the copy stalled on store forwarding (issue 14: an async phase cost
        // ~13 ns more than a sync one).
        if let Some(active) = self.active.take() {
            end_run(active.phase, active.start, outcome);
        }
    }

    /// Turns this guard into one that ends the run when it drops: a panic if the thread is
    /// unwinding, a success otherwise. The attribute uses it for sync functions whose return
    /// type cannot be a `Result` (nothing to classify), so the body runs in place.
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
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
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
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
        if let Some(active) = self.0.active.as_ref() {
            active.end(active.dropped(Outcome::Success));
            *self.0.active = None;
        }
    }
}

impl Drop for PhaseGuard {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
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
        if let Some(active) = self.active.as_ref() {
            active.end(active.dropped(Outcome::Cancelled));
            *self.active = None;
        }
    }
}

pin_project_lite::pin_project! {
    /// Polls an async phase's body, telling `guard` whether the body is running (inside a
    /// poll) or suspended, so that a drop during an unwind is told apart: a panic of this body,
    /// or the cancellation of a suspended one. A plain future rather than an `async fn`, so
    /// each annotated `async fn` adds one small `poll` to compile, not a third state machine.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Polled<'a, F> {
        guard: &'a PhaseGuard,
        #[pin]
        body: F,
    }
}

impl<'a, F> Polled<'a, F> {
    /// Polls `body` on behalf of the run `guard` measures.
    #[inline]
    pub fn new(guard: &'a PhaseGuard, body: F) -> Self {
        Polled { guard, body }
    }
}

impl PhaseGuard {
    /// The flag [`Polled`] sets while the body runs (`None` for an inert guard).
    #[inline]
    fn body_running(&self) -> Option<&AtomicBool> {
        self.active.as_ref().map(|active| &active.body_running)
    }
}

impl<F: Future> Future for Polled<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(running) = this.guard.body_running() else {
            return this.body.poll(cx);
        };
        running.store(true, Relaxed);
        let poll = this.body.poll(cx);
        // Not reached if the poll panics: the flag then still says "running".
        running.store(false, Relaxed);
        poll
    }
}
