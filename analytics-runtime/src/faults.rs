//! The runtime's components, their health, and fault injection.
//!
//! Every piece of work the runtime does besides recording a run (registering a phase, each
//! engine, the monitors, cleanup, reports, snapshots) runs through the runtime's component guard: a panic
//! inside it is caught and counted against its component, never propagated into user code; a
//! component that fails [`MAX_CONSECUTIVE_FAILURES`] times in a row is switched off (and
//! reported), and the others go on. Recording a run itself is panic-free by construction
//! (atomics only, no indexing, no allocation, no lock).
//!
//! With the cargo feature `fault-injection`, tests make a component panic on purpose with
//! `inject`; without it the check compiles to nothing.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};

/// How many components there are.
const COMPONENTS: usize = 10;

/// Consecutive caught failures after which a component is switched off.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 5;

/// A part of the runtime that can fail on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Component {
    /// Registering a phase at its first call.
    Registry,
    /// The predictive engine.
    Predictive,
    /// The anomaly detector.
    Anomaly,
    /// The optimizer.
    Optimizer,
    /// The resource sampler.
    Resources,
    /// The message, objective and task tables.
    Monitors,
    /// The memory manager's cleanup.
    Cleanup,
    /// Building reports, and periodic reports.
    Reporting,
    /// Writing and restoring snapshots.
    Snapshot,
    /// The engine's catch-up loop itself (reading the phases' logs).
    Engine,
}

impl Component {
    /// Every component.
    pub const ALL: [Component; COMPONENTS] = [
        Component::Registry,
        Component::Predictive,
        Component::Anomaly,
        Component::Optimizer,
        Component::Resources,
        Component::Monitors,
        Component::Cleanup,
        Component::Reporting,
        Component::Snapshot,
        Component::Engine,
    ];

    /// Its name in reports.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Component::Registry => "registry",
            Component::Predictive => "predictive",
            Component::Anomaly => "anomaly",
            Component::Optimizer => "optimizer",
            Component::Resources => "resources",
            Component::Monitors => "monitors",
            Component::Cleanup => "cleanup",
            Component::Reporting => "reporting",
            Component::Snapshot => "snapshot",
            Component::Engine => "engine",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(feature = "fault-injection")]
static ARMED: [AtomicU32; COMPONENTS] = [const { AtomicU32::new(0) }; COMPONENTS];

/// Makes `component` panic on its next `times` runs, in every runtime of the process
/// (feature `fault-injection`, for tests).
#[cfg(feature = "fault-injection")]
pub fn inject(component: Component, times: u32) {
    ARMED[component.index()].store(times, Relaxed);
}

/// Disarms every injected fault (feature `fault-injection`).
#[cfg(feature = "fault-injection")]
pub fn clear() {
    for armed in &ARMED {
        armed.store(0, Relaxed);
    }
}

/// Panics if a fault is armed for `component`.
///
/// Never while the thread is already panicking: the runtime's work then runs inside a panic
/// hook that called back into it, where a second panic aborts the process, caught or not.
#[inline(always)]
fn check(component: Component) {
    #[cfg(feature = "fault-injection")]
    {
        let armed = &ARMED[component.index()];
        if !std::thread::panicking()
            && armed
                .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
                .is_ok()
        {
            panic!("injected fault in the {} component", component.name());
        }
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = component;
}

/// The health of every component of one runtime.
#[derive(Debug, Default)]
pub(crate) struct Components {
    errors: [AtomicU64; COMPONENTS],
    consecutive: [AtomicU32; COMPONENTS],
    disabled: [AtomicBool; COMPONENTS],
}

impl Components {
    /// Runs `f` as `component`'s work: `None` if the component is switched off or `f`
    /// panicked (caught, counted, and after too many in a row, the component is switched off).
    pub(crate) fn run<R>(&self, component: Component, f: impl FnOnce() -> R) -> Option<R> {
        let i = component.index();
        if self.disabled[i].load(Relaxed) {
            return None;
        }
        match catch_unwind(AssertUnwindSafe(|| {
            check(component);
            f()
        })) {
            Ok(value) => {
                if self.consecutive[i].load(Relaxed) != 0 {
                    self.consecutive[i].store(0, Relaxed);
                }
                Some(value)
            }
            Err(_) => {
                self.failed(component);
                None
            }
        }
    }

    /// Counts a caught failure of `component`, switching it off after too many in a row.
    pub(crate) fn failed(&self, component: Component) {
        let i = component.index();
        self.errors[i].fetch_add(1, Relaxed);
        let streak = self.consecutive[i].fetch_add(1, Relaxed) + 1;
        if streak >= MAX_CONSECUTIVE_FAILURES && !self.disabled[i].swap(true, Relaxed) {
            // The component's work may have run under an engine lock: the event (user code,
            // in the subscriber's layers) waits until this thread holds no runtime lock.
            crate::locks::after_locks(move || {
                tracing::error!(
                    target: "analytics_runtime",
                    component = component.name(),
                    failures = streak,
                    "the {} component failed {streak} times in a row and is switched off; \
                     the rest of the runtime goes on",
                    component.name()
                );
            });
        }
    }

    /// Whether `component` was switched off.
    pub(crate) fn is_disabled(&self, component: Component) -> bool {
        self.disabled[component.index()].load(Relaxed)
    }

    /// Caught failures over every component.
    pub(crate) fn errors_total(&self) -> u64 {
        self.errors.iter().map(|e| e.load(Relaxed)).sum()
    }

    /// Caught failures per component (those with any), and the components switched off.
    pub(crate) fn report(&self) -> (BTreeMap<String, u64>, Vec<String>) {
        let errors = Component::ALL
            .iter()
            .filter_map(|c| {
                let n = self.errors[c.index()].load(Relaxed);
                (n > 0).then(|| (c.name().to_string(), n))
            })
            .collect();
        let disabled = Component::ALL
            .iter()
            .filter(|c| self.is_disabled(**c))
            .map(|c| c.name().to_string())
            .collect();
        (errors, disabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_caught_counted_and_a_failing_component_is_switched_off() {
        let components = Components::default();
        assert_eq!(components.run(Component::Optimizer, || 7), Some(7));
        for _ in 0..MAX_CONSECUTIVE_FAILURES - 1 {
            assert_eq!(
                components.run(Component::Optimizer, || -> u32 { panic!("boom") }),
                None
            );
        }
        assert!(!components.is_disabled(Component::Optimizer));
        // A success resets the streak.
        assert_eq!(components.run(Component::Optimizer, || 1), Some(1));
        for _ in 0..MAX_CONSECUTIVE_FAILURES {
            let _ = components.run(Component::Optimizer, || -> u32 { panic!("boom") });
        }
        assert!(components.is_disabled(Component::Optimizer));
        assert_eq!(components.run(Component::Optimizer, || 1), None, "off");
        assert_eq!(
            components.run(Component::Anomaly, || 2),
            Some(2),
            "others go on"
        );
        let (errors, disabled) = components.report();
        assert_eq!(
            errors["optimizer"],
            2 * u64::from(MAX_CONSECUTIVE_FAILURES) - 1
        );
        assert_eq!(disabled, vec!["optimizer".to_string()]);
        assert_eq!(
            components.errors_total(),
            2 * u64::from(MAX_CONSECUTIVE_FAILURES) - 1
        );
    }
}
