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
//! encoded by hand in a compact binary form (see `wire.rs`). The coordinator
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
#![allow(unsafe_code)]

mod process;
mod serve;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::entitlement::Entitlement;
use crate::implementation::{CallFailure, FailureKind, GenerateFailure, ImplInfo, Implementation};
use crate::plugin::PluginError;
use crate::settings::Settings;
use crate::verdict::{Context, Validation};

use process::{Process, RecvError, SendError};
use wire::{Reader, WireError};

pub use serve::worker_main;

/// How long a worker may take to load its plugin and say hello.
const MIN_LOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a worker that closed its stdout gets to exit by itself before
/// we kill it (so its real exit status is what we report).
const EXIT_GRACE: Duration = Duration::from_millis(500);
/// How long we wait for a dead worker's stderr to close.
const STDERR_GRACE: Duration = Duration::from_millis(200);
/// Request frames are cut to at most this many bytes of items.
const MAX_REQUEST_BYTES: usize = 16 << 20;

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

struct Pool {
    idle: Vec<Process>,
    /// Workers alive, idle or busy.
    live: usize,
}

#[derive(Default)]
struct Health {
    /// Deaths since the last successful request.
    in_a_row: u32,
    fatal: Option<String>,
    stats: WorkerStats,
}

/// Why a request got no complete answer. The worker is gone.
#[derive(Debug, Clone)]
struct Fault(CallFailure);

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

/// The request kinds, with how their answers decode.
trait Op {
    type Answer;
    const TAG: u8;
    fn read(r: &mut Reader<'_>) -> Result<Self::Answer, WireError>;
    fn failed(f: CallFailure) -> Self::Answer;
}

struct GenerateOp;
impl Op for GenerateOp {
    type Answer = Result<String, GenerateFailure>;
    const TAG: u8 = wire::TAG_GENERATE;
    fn read(r: &mut Reader<'_>) -> Result<Self::Answer, WireError> {
        wire::read_generate_result(r)
    }
    fn failed(f: CallFailure) -> Self::Answer {
        Err(GenerateFailure::Failed(f))
    }
}

struct ValidateOp;
impl Op for ValidateOp {
    type Answer = Result<Validation, CallFailure>;
    const TAG: u8 = wire::TAG_VALIDATE;
    fn read(r: &mut Reader<'_>) -> Result<Self::Answer, WireError> {
        wire::read_validate_result(r)
    }
    fn failed(f: CallFailure) -> Self::Answer {
        Err(f)
    }
}

/// Items of one request kind, encoded once, back to back.
struct Encoded {
    bytes: Vec<u8>,
    /// Where each item starts; `ends[i]` where it ends.
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl Encoded {
    fn new<T>(items: &[T], put: impl Fn(&mut Vec<u8>, &T)) -> Self {
        let mut e = Encoded {
            bytes: Vec::with_capacity(items.len() * 96),
            starts: Vec::with_capacity(items.len()),
            ends: Vec::with_capacity(items.len()),
        };
        for item in items {
            e.starts.push(e.bytes.len());
            put(&mut e.bytes, item);
            e.ends.push(e.bytes.len());
        }
        e
    }

    fn size(&self, i: usize) -> usize {
        self.ends[i] - self.starts[i]
    }

    /// The request frame for items `indices`.
    fn frame(&self, tag: u8, indices: &[usize]) -> Vec<u8> {
        let mut f = wire::FrameWriter::new(tag);
        let b = f.buf();
        b.reserve(4 + indices.iter().map(|&i| self.size(i)).sum::<usize>());
        wire::put_u32(b, indices.len() as u32);
        for &i in indices {
            b.extend_from_slice(&self.bytes[self.starts[i]..self.ends[i]]);
        }
        f.finish()
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

    /// Takes an idle worker, or starts one if fewer than `workers` live,
    /// or waits for one to come back.
    fn checkout(&self) -> Result<Process, Fault> {
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

    fn checkin(&self, p: Process) {
        lock(&self.pool).idle.push(p);
        self.returned.notify_one();
    }

    /// Kills and reaps a worker that failed, and describes how it ended.
    fn discard(&self, mut p: Process, grace: Duration) -> (String, String) {
        let ending = p.kill_and_reap(grace);
        let quote = p.stderr().quote(STDERR_GRACE);
        lock(&self.pool).live -= 1;
        self.returned.notify_one();
        (ending.describe(), quote)
    }

    /// Counts a death; declares the implementation dead after too many in a
    /// row. `unattributed` deaths are also listed in the stats.
    fn record_death(&self, f: &CallFailure, unattributed: bool) {
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

    fn fatal(&self) -> Option<CallFailure> {
        lock(&self.health)
            .fatal
            .as_ref()
            .map(|m| CallFailure::new(FailureKind::Crash, m.clone()))
    }

    /// Runs every item, in request frames of at most [`MAX_REQUEST_BYTES`].
    fn run<O: Op>(&self, items: &Encoded) -> Vec<O::Answer> {
        let n = items.starts.len();
        let mut out: Vec<Option<O::Answer>> = (0..n).map(|_| None).collect();
        let mut chunk = Vec::new();
        let mut chunk_bytes = 0;
        let limit = MAX_REQUEST_BYTES.min(wire::MAX_FRAME_BYTES - 64);
        for i in 0..n {
            let size = items.size(i);
            if size > wire::MAX_FRAME_BYTES - 64 {
                out[i] = Some(O::failed(CallFailure::new(
                    FailureKind::BadArgument,
                    format!(
                        "the request is {size} bytes, more than the worker protocol carries ({} bytes)",
                        wire::MAX_FRAME_BYTES - 64
                    ),
                )));
                continue;
            }
            if !chunk.is_empty() && chunk_bytes + size > limit {
                self.run_frame::<O>(items, &chunk, &mut out);
                chunk.clear();
                chunk_bytes = 0;
            }
            chunk.push(i);
            chunk_bytes += size;
        }
        if !chunk.is_empty() {
            self.run_frame::<O>(items, &chunk, &mut out);
        }
        out.into_iter()
            .map(|a| {
                a.unwrap_or_else(|| {
                    O::failed(CallFailure::new(
                        FailureKind::Internal,
                        "keycompat lost track of this item (a bug)",
                    ))
                })
            })
            .collect()
    }

    /// One request frame for `indices`; on a fault, blames the culprit.
    fn run_frame<O: Op>(&self, items: &Encoded, indices: &[usize], out: &mut [Option<O::Answer>]) {
        if let Some(f) = self.fatal() {
            for &i in indices {
                out[i] = Some(O::failed(f.clone()));
            }
            return;
        }
        let Err(Fault(failure)) = self.exchange::<O>(items, indices, out) else {
            return;
        };
        let unanswered: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| out[i].is_none())
            .collect();
        if let [only] = unanswered[..] {
            self.record_death(&failure, false);
            out[only] = Some(O::failed(failure));
            return;
        }
        self.record_death(&failure, false);
        // Several candidates: run each alone; the one that fails alone is
        // the culprit, the others get their real answers.
        let mut blamed = false;
        for &i in &unanswered {
            if let Some(f) = self.fatal() {
                out[i] = Some(O::failed(f));
                continue;
            }
            if let Err(Fault(f)) = self.exchange::<O>(items, &[i], out) {
                self.record_death(&f, false);
                out[i] = Some(O::failed(f));
                blamed = true;
            }
        }
        if !blamed && self.fatal().is_none() {
            let mut h = lock(&self.health);
            h.stats.unattributed.push(CallFailure::new(
                failure.kind,
                format!(
                    "{} (during a batch of {}; no item reproduces it alone)",
                    failure.message,
                    indices.len()
                ),
            ));
        }
    }

    /// Sends one request and collects its answers into `out`. On success
    /// the worker goes back to the pool and the death count resets; on a
    /// fault the worker is gone and `out` holds the answers that arrived.
    fn exchange<O: Op>(
        &self,
        items: &Encoded,
        indices: &[usize],
        out: &mut [Option<O::Answer>],
    ) -> Result<(), Fault> {
        let frame = items.frame(O::TAG, indices);
        let mut p = self.checkout()?;
        let silence = self.options.silence();
        match p.send(&frame, Instant::now() + silence) {
            Ok(()) => {}
            Err(SendError::Timeout) => return Err(self.timed_out(p)),
            Err(SendError::Closed) => return Err(self.died(p, "")),
            Err(SendError::Io(e)) => {
                return Err(self.died(p, &format!("; writing to the worker failed: {e}")));
            }
        }
        let mut next = 0usize;
        loop {
            let payload = match p.recv(Instant::now() + silence) {
                Ok(payload) => payload,
                Err(RecvError::Timeout) => return Err(self.timed_out(p)),
                Err(RecvError::Eof) => return Err(self.died(p, "")),
                Err(RecvError::TooLarge(n)) => {
                    return Err(self.garbage(
                        p,
                        &format!(
                            "a frame of {n} bytes, more than the limit of {}",
                            wire::MAX_FRAME_BYTES
                        ),
                    ));
                }
                Err(RecvError::Io(e)) => {
                    return Err(self.died(p, &format!("; reading from the worker failed: {e}")));
                }
            };
            match read_results::<O>(&payload, next, indices.len()) {
                Ok((answers, done)) => {
                    for a in answers {
                        out[indices[next]] = Some(a);
                        next += 1;
                    }
                    if done {
                        self.checkin(p);
                        lock(&self.health).in_a_row = 0;
                        return Ok(());
                    }
                }
                Err(Reply::WorkerError(message)) => {
                    return Err(self.garbage(p, &format!("an error: {message}")));
                }
                Err(Reply::Garbage(e)) => return Err(self.garbage(p, &e.to_string())),
            }
        }
    }

    fn timed_out(&self, p: Process) -> Fault {
        if p.has_exited() {
            // Dead, but something it started still holds the pipe open.
            return self.died(p, "");
        }
        let (_, quote) = self.discard(p, Duration::ZERO);
        Fault(CallFailure::new(
            FailureKind::Timeout,
            format!("no answer within {}{quote}", human(self.options.timeout)),
        ))
    }

    fn died(&self, p: Process, detail: &str) -> Fault {
        let (how, quote) = self.discard(p, EXIT_GRACE);
        let how = if how == "killed by keycompat" {
            "closed its end of the protocol and was killed".to_string()
        } else {
            how
        };
        Fault(CallFailure::new(
            FailureKind::Crash,
            format!("{how}{detail}{quote}"),
        ))
    }

    fn garbage(&self, p: Process, what: &str) -> Fault {
        let (_, quote) = self.discard(p, Duration::ZERO);
        Fault(CallFailure::new(
            FailureKind::Protocol,
            format!("the worker sent {what}{quote}"),
        ))
    }
}

enum Reply {
    WorkerError(String),
    Garbage(WireError),
}

/// Decodes a results frame that must start at item `next` of `total`.
fn read_results<O: Op>(
    payload: &[u8],
    next: usize,
    total: usize,
) -> Result<(Vec<O::Answer>, bool), Reply> {
    let garbage = |m: String| Reply::Garbage(WireError(m));
    let mut r = Reader::new(payload);
    match r.u8("tag").map_err(Reply::Garbage)? {
        wire::TAG_RESULTS => {}
        wire::TAG_ERROR => {
            return Err(Reply::WorkerError(
                r.string("message").map_err(Reply::Garbage)?,
            ));
        }
        other => return Err(garbage(format!("a frame with unexpected tag {other}"))),
    }
    let h = wire::read_results_header(&mut r).map_err(Reply::Garbage)?;
    let (first, count) = (h.first as usize, h.count as usize);
    if first != next || count > total - next {
        return Err(garbage(format!(
            "answers {first}..{} when {next}..{total} were due",
            first.saturating_add(count)
        )));
    }
    if h.done && first + count != total {
        return Err(garbage(format!(
            "only {} answers to {total} requests",
            first + count
        )));
    }
    if count > r.remaining() {
        return Err(garbage(format!(
            "{count} answers in {} bytes",
            r.remaining()
        )));
    }
    let mut answers = Vec::with_capacity(count);
    for _ in 0..count {
        answers.push(O::read(&mut r).map_err(Reply::Garbage)?);
    }
    r.finish("results").map_err(Reply::Garbage)?;
    Ok((answers, h.done))
}

/// Starts a worker and waits for its hello.
fn launch(
    path: &Path,
    settings: &Settings,
    options: &WorkerOptions,
) -> Result<(Process, ImplInfo), PluginError> {
    let worker_failed = |message: String| PluginError::Open {
        path: path.to_path_buf(),
        message,
    };
    let mut p = Process::spawn(&options.exe).map_err(|e| {
        worker_failed(format!(
            "cannot start the worker process {}: {e}",
            options.exe.display()
        ))
    })?;
    let hello = wire::encode_hello(&wire::Hello {
        plugin: path.to_path_buf(),
        settings: settings.clone(),
        progress: options.progress(),
    });
    let deadline = Instant::now() + MIN_LOAD_TIMEOUT.max(options.timeout);
    let failed_while = |p: &mut Process, what: String| {
        let ending = p.kill_and_reap(EXIT_GRACE);
        worker_failed(format!(
            "the worker process ({} __worker) {what}: {}{}",
            options.exe.display(),
            ending.describe(),
            p.stderr().quote(STDERR_GRACE)
        ))
    };
    if let Err(e) = p.send(&hello, deadline) {
        let why = match e {
            SendError::Timeout => "timeout".to_string(),
            SendError::Closed => "it closed its stdin".to_string(),
            SendError::Io(e) => e.to_string(),
        };
        return Err(failed_while(
            &mut p,
            format!("did not take its hello ({why})"),
        ));
    }
    let payload = match p.recv(deadline) {
        Ok(payload) => payload,
        Err(RecvError::Timeout) => {
            return Err(failed_while(
                &mut p,
                format!(
                    "did not load the plugin within {}",
                    human(MIN_LOAD_TIMEOUT.max(options.timeout))
                ),
            ));
        }
        Err(e) => {
            return Err(failed_while(
                &mut p,
                format!("ended while loading the plugin ({})", recv_error_words(&e)),
            ));
        }
    };
    let mut r = Reader::new(&payload);
    let decoded = r.u8("tag").and_then(|tag| match tag {
        wire::TAG_READY => wire::decode_ready(&mut r).map(Ok),
        wire::TAG_LOAD_FAILED => wire::decode_load_failed(&mut r).map(Err),
        wire::TAG_ERROR => r
            .string("message")
            .map(|m| Err(worker_failed(format!("the worker process refused: {m}")))),
        other => Err(WireError(format!("unexpected message tag {other}"))),
    });
    match decoded {
        Ok(Ok(info)) => Ok((p, info)),
        Ok(Err(e)) => {
            // As in-process, where the plugin writes to our stderr: a
            // `create` failure says "see the plugin's stderr above".
            p.kill_and_reap(EXIT_GRACE);
            let said = p.stderr().all(STDERR_GRACE);
            if !said.trim().is_empty() {
                eprint!("{said}");
                if !said.ends_with('\n') {
                    eprintln!();
                }
            }
            Err(e)
        }
        Err(e) => Err(failed_while(&mut p, format!("sent a bad hello ({e})"))),
    }
}

fn recv_error_words(e: &RecvError) -> String {
    match e {
        RecvError::Timeout => "timeout".into(),
        RecvError::Eof => "end of file".into(),
        RecvError::TooLarge(n) => format!("a frame of {n} bytes"),
        RecvError::Io(e) => e.to_string(),
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
