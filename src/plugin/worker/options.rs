//! How a [`WorkerImpl`](crate::plugin::WorkerImpl) runs its worker
//! processes: the options a caller sets, and the progress and silence
//! intervals derived from the per-item timeout.
//!
//! Plain data with no knowledge of processes, so every part of the
//! coordinator (launching, the pool, the exchange of frames) reads the same
//! options without depending on the others.

use std::path::PathBuf;
use std::time::Duration;

/// How [`WorkerImpl`](crate::plugin::WorkerImpl) runs its worker processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerOptions {
    /// The keycompat binary to run as `exe __worker`; default
    /// [`std::env::current_exe`].
    pub exe: PathBuf,
    /// How many worker processes at most (at least 1); calls made from
    /// several threads at once use several workers. Default 1.
    pub workers: usize,
    /// How long one call (one item of a batch) may take before the worker is
    /// killed and the item reported as a timeout. Default 5 s.
    pub timeout: Duration,
    /// How many times in a row a crashed worker is restarted before the
    /// implementation is declared dead; any successful request resets the
    /// count. Default 20.
    pub max_restarts: u32,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("keycompat")),
            workers: 1,
            timeout: Duration::from_secs(5),
            max_restarts: 20,
        }
    }
}

impl WorkerOptions {
    /// How often a busy worker reports progress.
    pub(super) fn progress(&self) -> Duration {
        (self.timeout / 4).clamp(Duration::from_millis(5), Duration::from_secs(2))
    }

    /// How long a worker may stay silent during a request.
    pub(super) fn silence(&self) -> Duration {
        self.timeout + self.progress() + Duration::from_millis(50) + self.timeout / 10
    }
}
