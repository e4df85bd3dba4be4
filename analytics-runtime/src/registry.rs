//! The phase registry: every phase of a runtime, by name and in the order phases first ran,
//! with the `memory.max_phases` cap and the memory its tables hold.

use std::collections::HashMap;
use std::sync::Arc;

use crate::phase::{PhaseCell, Site};

/// The phase that takes the runs of names refused by `memory.max_phases`.
pub const OVERFLOW_PHASE: &str = "other";

/// Every phase of a runtime.
#[derive(Default)]
pub(crate) struct Registry {
    /// Names refused by the `memory.max_phases` cap (sent to [`OVERFLOW_PHASE`]).
    overflowed: u64,
    by_name: HashMap<Box<str>, Arc<PhaseCell>>,
    /// Phases in the order they first ran (the report's order).
    order: Vec<Arc<PhaseCell>>,
}

impl Registry {
    /// The phase named `name`, registered (with `site` and a duration window of `window` runs)
    /// if it is new, and whether it is the first phase registered.
    ///
    /// Past the cap of `max_phases` named phases (at least 1), new names share the phase
    /// [`OVERFLOW_PHASE`]: memory never grows with the number of names a caller invents (the
    /// refusals are counted).
    pub(crate) fn get_or_register(
        &mut self,
        name: &str,
        site: Option<Site>,
        window: usize,
        max_phases: usize,
    ) -> (Arc<PhaseCell>, bool) {
        if let Some(phase) = self.by_name.get(name) {
            return (Arc::clone(phase), false);
        }
        let has_other = self.by_name.contains_key(OVERFLOW_PHASE);
        let named = self.order.len() - usize::from(has_other);
        let name = if named >= max_phases.max(1) {
            self.overflowed += 1;
            if let Some(other) = self.by_name.get(OVERFLOW_PHASE) {
                return (Arc::clone(other), false);
            }
            OVERFLOW_PHASE
        } else {
            name
        };
        let id = self.order.len();
        let phase = Arc::new(PhaseCell::new(id, name, site, window));
        self.by_name.insert(name.into(), Arc::clone(&phase));
        self.order.push(Arc::clone(&phase));
        (phase, id == 0)
    }

    /// The phase named `name`, if registered (no allocation).
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<PhaseCell>> {
        self.by_name.get(name)
    }

    /// Every phase, in the order they first ran.
    pub(crate) fn phases(&self) -> &[Arc<PhaseCell>] {
        &self.order
    }

    /// Names refused by the `memory.max_phases` cap.
    pub(crate) fn overflowed(&self) -> u64 {
        self.overflowed
    }

    /// Bytes of the registry's own tables, from their capacities (the phases themselves, and
    /// the keys' copies of their names, are counted per phase).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.by_name.capacity() * (std::mem::size_of::<(Box<str>, Arc<PhaseCell>)>() + 1)
            + self.order.capacity() * std::mem::size_of::<Arc<PhaseCell>>()
    }
}
