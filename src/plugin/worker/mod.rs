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
//! a whole process group (`kill(-pgid, SIGKILL)`); the worker and its
//! zygote fork plugin processes, pass descriptors between them
//! (`SCM_RIGHTS`) and watch them through pidfds. Each `unsafe` block says
//! why it is sound.
//!
//! # Timeouts
//!
//! The timeout is per item, not per batch. The worker watches each plugin
//! call (`watch.rs`): a call that runs past the timeout is killed with its
//! plugin life, and the item it was for gets the timeout at once, without
//! a run alone, so a hang costs one timeout, once; while a call runs, the
//! worker says it is alive with an empty results frame. A busy worker also
//! sends what it has whenever a quarter of the timeout (`progress`) has
//! passed since its last frame. The coordinator kills the worker's process
//! group with SIGKILL (no grace: a hung plugin will not shut down cleanly)
//! when no frame arrived for `timeout + progress` plus a small slack: a
//! worker (or a plugin life stuck outside any call) that stopped working.
//!
//! # Crash blame
//!
//! A worker never calls the plugin itself: it forks a child per plugin
//! life (`lives.rs`), which answers, and relays the frames. The first life
//! loads the plugin and, when it is its only thread afterwards, becomes
//! the plugin's zygote (`zygote.rs`): it makes no call and forks every
//! later life with the plugin loaded and an instance created, so a life
//! costs a fork, and spare lives are forked ahead. When a life dies (signal,
//! exit) during a request, the worker says so in a frame (how it ended,
//! its stderr, and which item's plugin call was running, from a word of
//! memory all share) and goes on with the next life. The coordinator
//! blames the item that was being called if it fails again alone, in a
//! fresh life, and runs the rest as one request. When the coordinator
//! allows it (`Confirm`, `deaths.rs`), the worker runs that item alone
//! itself at once and, when it fails there too, tells both deaths
//! (`Blamed`) and goes on with the rest in another fresh life
//! (`confirm.rs`): the same blame, without a round trip through the
//! coordinator per crash. When the worker itself dies, times out, or sends
//! a frame that does not decode, the coordinator reaps it, classifies the
//! end ("signal 11 (SIGSEGV)", "abort (SIGABRT)", "no answer within 5s",
//! ...), appends the tail of the worker's stderr, and starts a fresh
//! worker. If one item was unanswered, it is the culprit. Otherwise the
//! unanswered items are run again alone (for a plugin library, each in a
//! fresh life): the item that fails alone gets the failure, every other
//! item its real answer; when none does, the failure is kept as the
//! batch's. After more than `max_restarts` deaths in a row without one
//! successful frame, the implementation is declared dead
//! ([`Implementation::fatal_error`]) and calls fail fast.
//!
//! # Layout
//!
//! This file only declares the parts and re-exports the public face; no
//! part refers back to it. The coordinator's side: `coordinator.rs` is
//! [`WorkerImpl`], `options.rs` is [`WorkerOptions`], `launch.rs` starts a
//! worker and waits for its hello, `pool.rs` lends workers to calls and
//! counts their deaths ([`WorkerStats`]), `encoded.rs` encodes a batch's
//! items once, `batch.rs` runs them in request frames and blames the
//! culprit of a death, `exchange.rs` runs one request frame on one worker,
//! `deaths.rs` reads what a plugin life's death means, `process.rs` is one
//! child process (with `stderr.rs` keeping its stderr and `ending.rs`
//! saying how it ended). The worker's side is `entry.rs` (its entry
//! point), `lives.rs` (the worker running requests in its plugin lives),
//! `life.rs` (one plugin life as the worker sees it), `confirm.rs` (an
//! item run alone after a death), `serve.rs` (one plugin life's loop),
//! `zygote.rs` (the plugin process that forks the lives), `watch.rs` (a
//! call running past the timeout), `forked.rs` (the
//! first steps of a forked plugin process), `fds.rs` (descriptors passed
//! between processes, pidfds) and `calling.rs` (the shared word saying
//! which item is being called); both sides speak `wire/`.
//!
//! [`Implementation`]: crate::implementation::Implementation
//! [`Implementation::fatal_error`]: crate::implementation::Implementation::fatal_error
//! [`ImplInfo`]: crate::implementation::ImplInfo
//! [`PluginError`]: crate::plugin::PluginError
#![allow(unsafe_code)]

mod batch;
mod calling;
mod children;
mod command;
mod confirm;
mod coordinator;
mod deaths;
mod encoded;
mod ending;
mod entry;
mod exchange;
mod fds;
mod forked;
mod json;
mod launch;
mod life;
mod lives;
mod options;
mod pool;
mod process;
mod serve;
mod stderr;
mod stopping;
mod target;
mod watch;
mod wire;
mod zygote;

pub use children::{adopt_orphans, exit_on_second_signal, kill_adopted, kill_all};
pub use command::ProcessCommand;
pub use coordinator::WorkerImpl;
pub use ending::describe_status;
pub use entry::worker_main;
pub use launch::MIN_LOAD_TIMEOUT;
pub use options::{DEFAULT_MEMORY_LIMIT, WorkerOptions, human_bytes};
pub use pool::WorkerStats;
pub use stopping::{stop_calls_on, stopping as calls_stopped};
