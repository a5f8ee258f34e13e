//! The pool of worker processes and their health: which workers are idle,
//! how many live, how many died in a row and whether the implementation is
//! declared dead.
//!
//! Calls from several threads share up to `workers` processes: a call takes
//! an idle worker or starts one, and gives it back when its request is
//! answered. A worker that failed is never given back; it is killed, reaped
//! and counted here, and after too many deaths in a row every later call
//! fails fast instead of starting yet another worker.

use std::sync::atomic::AtomicU64;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::launch::launch;
use super::options::WorkerOptions;
use super::process::{Process, STDERR_GRACE};
use super::target::Target;
use crate::implementation::{CallFailure, FailureKind};

/// What happened to the workers so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Worker processes started, the first included.
    pub spawned: u64,
    /// Workers that died or were killed (crash, timeout, garbage).
    pub deaths: u64,
    /// Deaths that no single item reproduced when run alone (a flaky
    /// crash, or one caused by state built up over earlier calls): no item
    /// was blamed, and every item got its real answer.
    pub unattributed: Vec<CallFailure>,
}

/// The worker processes of one plugin and their health, shared by every
/// call made through its [`WorkerImpl`](crate::plugin::WorkerImpl).
pub(super) struct Pool {
    /// What each process runs, and with which settings.
    pub(super) target: Target,
    /// The id of the next process-protocol request.
    pub(super) next_id: AtomicU64,
    /// The plugin's name, for the message that declares it dead.
    name: String,
    pub(super) options: WorkerOptions,
    processes: Mutex<Processes>,
    /// Notified whenever a worker comes back or a slot frees up.
    returned: Condvar,
    pub(super) health: Mutex<Health>,
}

/// The worker processes themselves.
struct Processes {
    idle: Vec<Process>,
    /// Workers alive, idle or busy.
    live: usize,
}

/// Deaths and the verdict on the implementation, shared by all calls.
#[derive(Default)]
pub(super) struct Health {
    /// Unattributed failures not yet taken by
    /// [`Implementation::take_batch_failures`](crate::implementation::Implementation::take_batch_failures).
    pub(super) untaken: Vec<CallFailure>,
    /// Deaths since the last successful request.
    pub(super) in_a_row: u32,
    pub(super) fatal: Option<String>,
    pub(super) stats: WorkerStats,
}

/// Locks `m`, going on with the data of a thread that panicked holding it.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    /// A pool of one process, `first`, already started for `target`, whose
    /// implementation is called `name`.
    pub(super) fn new(target: Target, name: &str, options: WorkerOptions, first: Process) -> Pool {
        Pool {
            target,
            next_id: AtomicU64::new(1),
            name: name.to_string(),
            options,
            processes: Mutex::new(Processes {
                idle: vec![first],
                live: 1,
            }),
            returned: Condvar::new(),
            health: Mutex::new(Health {
                stats: WorkerStats {
                    spawned: 1,
                    ..WorkerStats::default()
                },
                ..Health::default()
            }),
        }
    }

    /// Process ids of the idle workers (busy ones are in use by a call).
    pub(super) fn idle_pids(&self) -> Vec<u32> {
        lock(&self.processes)
            .idle
            .iter()
            .map(Process::pid)
            .collect()
    }

    /// Restarts and unattributed deaths so far.
    pub(super) fn stats(&self) -> WorkerStats {
        lock(&self.health).stats.clone()
    }

    /// The unattributed failures since the last time they were taken.
    pub(super) fn take_unattributed(&self) -> Vec<CallFailure> {
        std::mem::take(&mut lock(&self.health).untaken)
    }

    /// Why the implementation was declared dead, if it was.
    pub(super) fn fatal_message(&self) -> Option<String> {
        lock(&self.health).fatal.clone()
    }

    /// Takes an idle worker, or starts one if fewer than `workers` live,
    /// or waits for one to come back. `unused`: one that served nothing
    /// (an idle one that did is ended to make room for a new one).
    /// Fails, with the reason, when no worker could be started.
    pub(super) fn checkout(&self, unused: bool) -> Result<Process, CallFailure> {
        let mut processes = lock(&self.processes);
        loop {
            let pick = if unused {
                let fresh = processes.idle.iter().rposition(|p| p.served == 0);
                match fresh {
                    Some(i) => Some(processes.idle.swap_remove(i)),
                    None if processes.live >= self.options.workers => {
                        if let Some(mut p) = processes.idle.pop() {
                            processes.live -= 1;
                            drop(processes);
                            p.kill_and_reap(Duration::ZERO);
                            processes = lock(&self.processes);
                        }
                        None
                    }
                    None => None,
                }
            } else {
                processes.idle.pop()
            };
            if let Some(mut p) = pick {
                if !p.has_exited() {
                    return Ok(p);
                }
                // Died while idle (a plugin thread, the OOM killer, someone's
                // kill): no item to blame.
                processes.live -= 1;
                drop(processes);
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
                processes = lock(&self.processes);
                continue;
            }
            if processes.live < self.options.workers {
                processes.live += 1;
                drop(processes);
                lock(&self.health).stats.spawned += 1;
                return match launch(&self.target, &self.options) {
                    Ok((p, _)) => Ok(p),
                    Err(e) => {
                        lock(&self.processes).live -= 1;
                        self.returned.notify_one();
                        Err(CallFailure::new(
                            FailureKind::Crash,
                            format!("cannot restart the worker: {e}"),
                        ))
                    }
                };
            }
            processes = self
                .returned
                .wait(processes)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(super) fn checkin(&self, p: Process) {
        lock(&self.processes).idle.push(p);
        self.returned.notify_one();
    }

    /// Kills and reaps a worker that failed, and describes how it ended.
    pub(super) fn discard(&self, mut p: Process, grace: Duration) -> (String, String) {
        let ending = p.kill_and_reap(grace);
        super::children::reap_adopted();
        let quote = p.stderr().quote(STDERR_GRACE);
        lock(&self.processes).live -= 1;
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
            h.untaken.push(f.clone());
        }
        if h.in_a_row > self.options.max_restarts && h.fatal.is_none() {
            h.fatal = Some(format!(
                "plugin {} ({}) crashed {} times in a row; last: {}",
                self.name,
                self.target.describe(),
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

impl Drop for Pool {
    fn drop(&mut self) {
        // Each idle process kills its group and reaps itself on drop; no
        // worker is busy, since a call would hold `&self`.
        let processes = self.processes.get_mut().unwrap_or_else(|e| e.into_inner());
        processes.idle.clear();
        processes.live = 0;
    }
}
