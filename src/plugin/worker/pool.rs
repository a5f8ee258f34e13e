//! The pool of worker processes and their health: which workers are idle,
//! how many live, how many died in a row and whether the implementation is
//! declared dead.
//!
//! Calls from several threads share up to `workers` processes: a call takes
//! an idle worker or starts one, and gives it back when its request is
//! answered. A worker that failed is never given back; it is killed, reaped
//! and counted here, and after too many deaths in a row every later call
//! fails fast instead of starting yet another worker.

use std::time::Duration;

use super::exchange::Fault;
use super::launch::launch;
use super::process::Process;
use super::{STDERR_GRACE, WorkerImpl, WorkerStats, lock};
use crate::implementation::{CallFailure, FailureKind};

/// The worker processes of one [`WorkerImpl`].
pub(super) struct Pool {
    pub(super) idle: Vec<Process>,
    /// Workers alive, idle or busy.
    pub(super) live: usize,
}

/// Deaths and the verdict on the implementation, shared by all calls.
#[derive(Default)]
pub(super) struct Health {
    /// Deaths since the last successful request.
    pub(super) in_a_row: u32,
    pub(super) fatal: Option<String>,
    pub(super) stats: WorkerStats,
}

impl WorkerImpl {
    /// Takes an idle worker, or starts one if fewer than `workers` live,
    /// or waits for one to come back.
    pub(super) fn checkout(&self) -> Result<Process, Fault> {
        let mut pool = lock(&self.pool);
        loop {
            if let Some(mut p) = pool.idle.pop() {
                if !p.has_exited() {
                    return Ok(p);
                }
                // Died while idle (a plugin thread, the OOM killer, someone's
                // kill): no item to blame.
                pool.live -= 1;
                drop(pool);
                let ending = p.kill_and_reap(Duration::ZERO);
                let failure = CallFailure::new(
                    FailureKind::Crash,
                    format!(
                        "the worker died while idle: {}{}",
                        ending.describe(),
                        p.stderr().quote(STDERR_GRACE)
                    ),
                );
                self.record_death(&failure, true);
                pool = lock(&self.pool);
                continue;
            }
            if pool.live < self.options.workers {
                pool.live += 1;
                drop(pool);
                lock(&self.health).stats.spawned += 1;
                return match launch(&self.plugin, &self.settings, &self.options) {
                    Ok((p, _)) => Ok(p),
                    Err(e) => {
                        lock(&self.pool).live -= 1;
                        self.returned.notify_one();
                        Err(Fault(CallFailure::new(
                            FailureKind::Crash,
                            format!("cannot restart the worker: {e}"),
                        )))
                    }
                };
            }
            pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(super) fn checkin(&self, p: Process) {
        lock(&self.pool).idle.push(p);
        self.returned.notify_one();
    }

    /// Kills and reaps a worker that failed, and describes how it ended.
    pub(super) fn discard(&self, mut p: Process, grace: Duration) -> (String, String) {
        let ending = p.kill_and_reap(grace);
        let quote = p.stderr().quote(STDERR_GRACE);
        lock(&self.pool).live -= 1;
        self.returned.notify_one();
        (ending.describe(), quote)
    }

    /// Counts a death; declares the implementation dead after too many in a
    /// row. `unattributed` deaths are also listed in the stats.
    pub(super) fn record_death(&self, f: &CallFailure, unattributed: bool) {
        let mut h = lock(&self.health);
        h.stats.deaths += 1;
        h.in_a_row += 1;
        if unattributed {
            h.stats.unattributed.push(f.clone());
        }
        if h.in_a_row > self.options.max_restarts && h.fatal.is_none() {
            h.fatal = Some(format!(
                "plugin {} ({}) crashed {} times in a row; last: {}",
                self.info.name,
                self.plugin.display(),
                h.in_a_row,
                f.message
            ));
        }
    }

    pub(super) fn fatal(&self) -> Option<CallFailure> {
        lock(&self.health)
            .fatal
            .as_ref()
            .map(|m| CallFailure::new(FailureKind::Crash, m.clone()))
    }
}
