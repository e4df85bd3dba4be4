//! The engine's background worker: a thread that wakes every [`TICK`] to let the engines
//! catch up and do their timed work, until its runtime is gone or it is stopped.
//!
//! Starting and stopping are decided under one mutex, and stopping is final: a recorder that
//! starts the worker concurrently with `shutdown()` either starts it before (and `shutdown()`
//! joins it) or finds it stopped, so no worker runs once `shutdown()` has returned (issue 13:
//! a check of a separate "stopped" flag let a worker start after `shutdown()` returned).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Engine;

/// How often the background worker catches up.
pub(crate) const TICK: Duration = Duration::from_millis(25);

/// The background worker's state.
#[derive(Default)]
pub(crate) struct WorkerSlot {
    /// Dropping the sender wakes the worker and tells it to stop; the handle joins it.
    running: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    /// Set by [`Engine::stop_worker`], never cleared: no worker starts afterwards.
    stopped: bool,
}

impl Engine {
    /// Starts the background worker once: every [`TICK`] it upgrades `target` and calls
    /// `work` on it; it stops when `target` is gone or [`Engine::stop_worker`] is called.
    /// After [`Engine::stop_worker`], does nothing.
    pub(crate) fn start_worker<T: Send + Sync + 'static>(
        &self,
        target: Weak<T>,
        work: fn(&Arc<T>),
    ) -> std::io::Result<()> {
        // Spawning a thread runs no user code and does no file I/O: it may happen under the
        // lock, which is what makes "stopped" final.
        let mut worker = crate::locks::lock(&self.worker);
        if worker.stopped || worker.running.is_some() {
            return Ok(());
        }
        let (sender, receiver) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("analytics-engine".into())
            .spawn(move || {
                loop {
                    match receiver.recv_timeout(TICK) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    let Some(target) = target.upgrade() else {
                        return;
                    };
                    work(&target);
                }
            })?;
        worker.running = Some((sender, handle));
        Ok(())
    }

    /// Stops the worker for good and, if `wait`, waits for it to finish the tick it is in
    /// (unless called from the worker itself, which then ends after its tick). Returns whether
    /// a worker was running.
    pub(crate) fn stop_worker(&self, wait: bool) -> bool {
        let worker = {
            let mut slot = crate::locks::lock(&self.worker);
            slot.stopped = true;
            slot.running.take()
        };
        // Joined outside the lock: the worker's last tick may call into the runtime.
        match worker {
            Some((sender, handle)) => {
                drop(sender);
                if wait && handle.thread().id() != std::thread::current().id() {
                    let _ = handle.join();
                }
                true
            }
            None => false,
        }
    }

    /// Whether the background worker runs.
    pub(crate) fn worker_running(&self) -> bool {
        crate::locks::lock(&self.worker)
            .running
            .as_ref()
            .is_some_and(|(_, handle)| !handle.is_finished())
    }
}
