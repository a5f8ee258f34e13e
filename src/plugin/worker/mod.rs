//! Plugins in worker processes: a crash, abort, hang or garbage answer of
//! foreign code becomes a finding about the exact entitlement or key that
//! caused it, instead of killing keycompat.
//!
//! [`WorkerImpl`] is an [`Implementation`] that runs one plugin in child
//! processes (`keycompat __worker`, see [`worker_main`]), each loading the
//! plugin in-process with [`crate::plugin::load`] and
//! [`PluginImpl`](crate::plugin::PluginImpl).
//!
//! # Protocol
//!
//! Frames on the worker's stdin and stdout: a `u32` little-endian length and a
//! payload (at most 64 MiB) that starts with a message tag; values are
//! encoded by hand in a compact binary form (see `wire/`). The coordinator
//! opens with a hello (protocol version, plugin path, settings: settings stay
//! off the command line because they hold secrets); the worker answers ready
//! (with the [`ImplInfo`] its in-process `PluginImpl` reports) or the
//! [`PluginError`] its load gave. Then each `generate_batch`/`validate_batch`
//! sends one request frame per batch; the worker streams the answers back in
//! order in one or more results frames (one whenever 16 KiB are buffered or a
//! quarter of the timeout has passed, and a last one marked done), so the
//! coordinator decodes while the plugin works, learns of progress, and keeps
//! the answers it already has when the worker dies.
//!
//! # Why the unsafe code
//!
//! Like the rest of [`crate::plugin`], this module talks to the operating
//! system below std's abstractions: the worker moves the protocol to fresh
//! close-on-exec descriptors and points fd 1 at stderr and fd 0 at
//! /dev/null (so a plugin's `printf` or `getchar` cannot corrupt or steal
//! frames); the coordinator polls non-blocking pipes against deadlines,
//! peeks at a child's exit without reaping it (`waitid(WNOWAIT)`), and kills
//! a whole process group (`kill(-pgid, SIGKILL)`). Each `unsafe` block says
//! why it is sound.
//!
//! # Timeouts
//!
//! The timeout is per item, not per batch. A busy worker sends what it has
//! whenever a quarter of the timeout (`progress`) has passed since its last
//! frame; so a healthy worker, whose every call returns within the timeout,
//! is never silent for longer than `timeout + progress`. The coordinator
//! kills the worker's process group with SIGKILL (no grace: a hung plugin
//! will not shut down cleanly) when no frame arrived for that long plus a
//! small slack.
//!
//! # Crash blame
//!
//! When the worker dies (signal, exit), times out, or sends a frame that does
//! not decode, the coordinator reaps it, classifies the end ("signal 11
//! (SIGSEGV)", "abort (SIGABRT)", "no answer within 5s", ...), appends the
//! tail of the worker's stderr, and starts a fresh worker. If one item was
//! unanswered, it is the culprit. Otherwise the unanswered items are run
//! again one per frame: the item that fails alone gets the failure, every
//! other item its real answer. After more than `max_restarts` deaths in a
//! row without one successful frame, the implementation is declared dead
//! ([`Implementation::fatal_error`]) and calls fail fast.
//!
//! # Layout
//!
//! This file holds the public face ([`WorkerImpl`], [`WorkerOptions`],
//! [`WorkerStats`]). The coordinator's side: `launch.rs` starts a worker and
//! waits for its hello, `pool.rs` lends workers to calls and counts their
//! deaths, `batch.rs` cuts a batch into request frames and blames the
//! culprit of a death, `exchange.rs` runs one request frame on one worker,
//! `process.rs` is one child process (with `stderr.rs` keeping its stderr
//! and `ending.rs` saying how it ended). The worker's side is `serve.rs`;
//! both sides speak `wire/`.
#![allow(unsafe_code)]

mod batch;
mod ending;
mod exchange;
mod launch;
mod pool;
mod process;
mod serve;
mod stderr;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::entitlement::Entitlement;
use crate::implementation::{CallFailure, FailureKind, GenerateFailure, ImplInfo, Implementation};
use crate::plugin::PluginError;
use crate::settings::Settings;
use crate::verdict::{Context, Validation};

use batch::{Encoded, GenerateOp, ValidateOp};
use launch::launch;
use pool::{Health, Pool};
use process::Process;

pub use serve::worker_main;

/// How long a worker that closed its stdout gets to exit by itself before
/// we kill it (so its real exit status is what we report).
const EXIT_GRACE: Duration = Duration::from_millis(500);
/// How long we wait for a dead worker's stderr to close.
const STDERR_GRACE: Duration = Duration::from_millis(200);

/// How [`WorkerImpl`] runs its worker processes.
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
    fn progress(&self) -> Duration {
        (self.timeout / 4).clamp(Duration::from_millis(5), Duration::from_secs(2))
    }

    /// How long a worker may stay silent during a request.
    fn silence(&self) -> Duration {
        self.timeout + self.progress() + Duration::from_millis(50) + self.timeout / 10
    }
}

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

/// A plugin run in worker processes.
pub struct WorkerImpl {
    info: ImplInfo,
    plugin: PathBuf,
    settings: Settings,
    options: WorkerOptions,
    pool: Mutex<Pool>,
    returned: Condvar,
    health: Mutex<Health>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// "300ms", "5s", "1.5s".
fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl WorkerImpl {
    /// Starts one worker for the plugin at `path` with `settings` and waits
    /// for its hello. A plugin that cannot be loaded gives the same
    /// [`PluginError`] as an in-process load; a worker that cannot be
    /// started, or dies while loading the plugin, gives a
    /// [`PluginError::Open`] that says so.
    pub fn spawn(
        path: &Path,
        settings: &Settings,
        options: WorkerOptions,
    ) -> Result<WorkerImpl, PluginError> {
        let options = WorkerOptions {
            workers: options.workers.max(1),
            ..options
        };
        let (process, info) = launch(path, settings, &options)?;
        Ok(WorkerImpl {
            info,
            plugin: path.to_path_buf(),
            settings: settings.clone(),
            options,
            pool: Mutex::new(Pool {
                idle: vec![process],
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
        })
    }

    /// The options the workers run with.
    pub fn options(&self) -> &WorkerOptions {
        &self.options
    }

    /// Process ids of the idle workers (busy ones are in use by a call).
    pub fn worker_pids(&self) -> Vec<u32> {
        lock(&self.pool).idle.iter().map(Process::pid).collect()
    }

    /// Restarts and unattributed deaths so far.
    pub fn stats(&self) -> WorkerStats {
        lock(&self.health).stats.clone()
    }
}

impl Implementation for WorkerImpl {
    fn info(&self) -> &ImplInfo {
        &self.info
    }

    fn generate(&self, entitlement: &Entitlement) -> Result<String, GenerateFailure> {
        let mut answers = self.generate_batch(&[entitlement]);
        answers.pop().unwrap_or_else(|| {
            Err(GenerateFailure::Failed(CallFailure::new(
                FailureKind::Internal,
                "no answer (a bug)",
            )))
        })
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        let mut answers = self.validate_batch(&[(key, context)]);
        answers
            .pop()
            .unwrap_or_else(|| Err(CallFailure::new(FailureKind::Internal, "no answer (a bug)")))
    }

    fn generate_batch(
        &self,
        entitlements: &[&Entitlement],
    ) -> Vec<Result<String, GenerateFailure>> {
        let items = Encoded::new(entitlements, |b, e| wire::put_entitlement(b, e));
        self.run::<GenerateOp>(&items)
    }

    fn validate_batch(
        &self,
        requests: &[(&[u8], &Context)],
    ) -> Vec<Result<Validation, CallFailure>> {
        let items = Encoded::new(requests, |b, (k, c)| wire::put_validate_item(b, k, c));
        self.run::<ValidateOp>(&items)
    }

    fn fatal_error(&self) -> Option<String> {
        lock(&self.health).fatal.clone()
    }
}

impl Drop for WorkerImpl {
    fn drop(&mut self) {
        // Each idle process kills its group and reaps itself on drop; no
        // worker is busy, since a call would hold `&self`.
        let pool = self.pool.get_mut().unwrap_or_else(|e| e.into_inner());
        pool.idle.clear();
        pool.live = 0;
    }
}

impl std::fmt::Debug for WorkerImpl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerImpl")
            .field("info", &self.info)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
