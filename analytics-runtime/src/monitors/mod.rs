//! The monitors: what the runtime watches besides phases. Each is a bounded, thread-safe table
//! that users feed from their own threads and the engine reads in the background.
//!
//! * [`resources`]: the process's RSS and CPU, sampled by the engine's worker, attributed to
//!   the phases that ran;
//! * [`messages`]: message counts, bytes and per-second rates per topic;
//! * [`objectives`]: objective health (and progress) over time;
//! * [`tasks`]: task completion times and quality metrics.
//!
//! Every table caps its distinct names (further names share `other`), refuses non-finite
//! values, reports its memory from capacities and can drop idle names (the memory manager's
//! cleanup).

mod capped;
pub(crate) mod messages;
pub(crate) mod objectives;
pub(crate) mod resources;
pub(crate) mod tasks;

use crate::config::AnalyticsConfig;

/// The name tables, held by the runtime outside the engine's lock.
pub(crate) struct Monitors {
    pub(crate) messages: messages::MessageTable,
    pub(crate) objectives: objectives::ObjectiveTable,
    pub(crate) tasks: tasks::TaskTable,
}

impl Monitors {
    pub(crate) fn new(config: &AnalyticsConfig) -> Monitors {
        let window = config
            .anomaly
            .window_size
            .min(config.memory.max_history_size)
            .max(1);
        Monitors {
            messages: messages::MessageTable::new(config.memory.max_topics),
            objectives: objectives::ObjectiveTable::new(config.memory.max_objectives),
            tasks: tasks::TaskTable::new(config.memory.max_tasks, window),
        }
    }
}
