//! Runnable examples of `analytics-runtime`; see `coordinator.rs`.
