//! The engine's background worker: a thread that wakes every [`TICK`] to let the engines
//! catch up and do their timed work, until its runtime is gone or it is stopped.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use super::Engine;

/// How often the background worker catches up.
pub(crate) const TICK: Duration = Duration::from_millis(25);

impl Engine {
    /// Starts the background worker once: every [`TICK`] it upgrades `target` and calls
    /// `work` on it; it stops when `target` is gone or [`Engine::stop_worker`] is called.
    pub(crate) fn start_worker<T: Send + Sync + 'static>(
        &self,
        target: Weak<T>,
        work: fn(&Arc<T>),
    ) -> std::io::Result<()> {
        let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if worker.is_some() {
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
        *worker = Some((sender, handle));
        Ok(())
    }

    /// Stops the worker and waits for it to finish the tick it is in. Returns whether a worker
    /// was running. Never called from the worker itself (it would wait for itself).
    pub(crate) fn stop_worker(&self) -> bool {
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match worker {
            Some((sender, handle)) => {
                drop(sender);
                if handle.thread().id() != std::thread::current().id() {
                    let _ = handle.join();
                }
                true
            }
            None => false,
        }
    }

    /// Whether the background worker runs.
    pub(crate) fn worker_running(&self) -> bool {
        self.worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|(_, handle)| !handle.is_finished())
    }
}
