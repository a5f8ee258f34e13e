//! A plugin loaded in-process (`isolation = "none"`) that ends the process
//! itself (`exit(0)` in a vendor's error path) must not look like a finished
//! run: CI would read exit code 0 as GO, with no report. The first in-process
//! load registers an exit handler; when the process exits before keycompat
//! said it [`finished`], the handler names the plugins loaded and replaces the
//! exit code with [`crate::exit::PLUGIN`]. In a worker process the same
//! handler says the plugin called `exit()`, for the parent's crash finding.
//!
//! Limits: a plugin that calls `_exit` or is killed by a signal bypasses exit
//! handlers (the shell then sees its code or the signal, never a verdict);
//! worker isolation, the default, turns all of these into crash findings.
//!
//! The binary also [leaves in-process instances to the process's
//! exit](leave_instances_to_exit): a run's matrix is dropped before its
//! reports are written, and a plugin's `destroy` that hangs, aborts or calls
//! `_exit` there would take a finished run down with it, reports unwritten.
//! The operating system reclaims what the instances hold when keycompat
//! exits, moments later; a library user (who may open systems many times)
//! keeps `destroy` on drop.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the binary: only its process is guarded (a library user, a test
/// harness, exits as it likes).
static ARMED: AtomicBool = AtomicBool::new(false);
/// Set in a worker process (`keycompat __worker`): there the plugin's exit
/// ends one worker, which the parent turns into a crash finding.
static WORKER: AtomicBool = AtomicBool::new(false);
/// Set when keycompat itself is about to exit.
static FINISHED: AtomicBool = AtomicBool::new(false);
/// Set by the binary: in-process instances are not destroyed on drop.
static LEAVE_INSTANCES: AtomicBool = AtomicBool::new(false);
/// The in-process plugins loaded so far, for the message.
static LOADED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Guards this process: called by the `keycompat` binary at start.
pub fn arm() {
    ARMED.store(true, Ordering::SeqCst);
}

/// Guards a worker process: the message then says what the parent's crash
/// finding needs (the plugin called `exit`), not how to isolate it.
pub fn arm_worker() {
    WORKER.store(true, Ordering::SeqCst);
    arm();
}

/// Leaves the in-process plugin instances of this process to its exit: a
/// dropped system no longer calls its plugin's `destroy`. Called by the
/// `keycompat` binary, whose process ends right after the run: a `destroy`
/// that hangs or ends the process can then not cost the finished run its
/// reports and verdict. Not for a library user that opens systems again and
/// again (each would keep its instances until the process ends).
pub fn leave_instances_to_exit() {
    LEAVE_INSTANCES.store(true, Ordering::SeqCst);
}

/// Whether a dropped in-process system leaves its instances to the
/// process's exit ([`leave_instances_to_exit`]) instead of destroying them.
pub(crate) fn instances_left_to_exit() -> bool {
    LEAVE_INSTANCES.load(Ordering::SeqCst)
}

/// Says keycompat is exiting on its own: the exit code is its own.
pub fn finished() {
    FINISHED.store(true, Ordering::SeqCst);
}

/// Records an in-process plugin, registering the exit handler once.
pub(crate) fn guard(plugin: &std::path::Path) {
    if !ARMED.load(Ordering::SeqCst) {
        return;
    }
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    if let Ok(mut loaded) = LOADED.lock() {
        loaded.push(plugin.display().to_string());
    }
    REGISTERED.call_once(|| {
        // SAFETY: `on_exit` is an `extern "C" fn()` that never unwinds (it
        // only writes to stderr and calls `_exit`); registering it has no
        // other precondition.
        unsafe {
            libc::atexit(on_exit);
        }
    });
}

extern "C" fn on_exit() {
    if FINISHED.load(Ordering::SeqCst) {
        return;
    }
    let plugins = LOADED
        .try_lock()
        .map(|l| l.join(", "))
        .unwrap_or_else(|_| "an in-process plugin".into());
    use std::io::Write;
    let _ = if WORKER.load(Ordering::SeqCst) {
        writeln!(
            std::io::stderr(),
            "the plugin ({plugins}) called exit() before answering, ending its worker process"
        )
    } else {
        writeln!(
            std::io::stderr(),
            "error: the process was ended from inside a plugin loaded in-process ({plugins}) \
             before keycompat finished: no verdict was reached; \
             hint: run with --isolation worker to turn this into a crash finding"
        )
    };
    // SAFETY: `_exit` ends the process at once without running further exit
    // handlers; always sound to call.
    unsafe { libc::_exit(crate::exit::PLUGIN) }
}
