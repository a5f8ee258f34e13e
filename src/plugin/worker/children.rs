//! Every child process keycompat started and has not reaped yet, so that
//! none outlives it: not when it exits normally, and not when a second
//! Ctrl-C or SIGTERM ends it at once.
//!
//! Workers and process plugins run in process groups of their own (so a
//! terminal's Ctrl-C reaches keycompat alone, which then stops them in
//! order). Their group ids are kept here in a fixed table of atomics, which
//! a signal handler may read: [`kill_all`] is async-signal-safe. A group id
//! stays in the table only while its leader is unreaped, so it cannot have
//! been reused by another process when it is killed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// How many children are tracked at once; more than any run starts.
const SLOTS: usize = 1024;

static PGIDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

/// Records a child that leads its own process group.
pub(super) fn register(pgid: libc::pid_t) {
    for slot in &PGIDS {
        if slot
            .compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

/// Forgets a child about to be reaped (its group was killed already).
pub(super) fn unregister(pgid: libc::pid_t) {
    for slot in &PGIDS {
        if slot
            .compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

/// Kills the process group of every child not reaped yet. Async-signal-safe
/// (atomics and `kill(2)` only).
pub fn kill_all() {
    for slot in &PGIDS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill(2) with a negative pid signals a process group
            // whose leader is our unreaped child; no memory is involved.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

/// Makes this process the reaper of its orphaned descendants (Linux's
/// `PR_SET_CHILD_SUBREAPER`): a plugin's grandchild that left the plugin's
/// process group (`setsid`, a daemon's double fork) is no longer reached by
/// killing that group, but once its parent is gone it becomes our child, so
/// [`kill_adopted`] can end it. Call it once, early, in the main process.
pub fn adopt_orphans() {
    // SAFETY: prctl(2) with PR_SET_CHILD_SUBREAPER only sets a flag of this
    // process; no memory is passed.
    let set = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    ADOPTING.store(set == 0, Ordering::SeqCst);
}

/// Set once this process adopts orphans: only then does it own children it
/// did not start (and only then may it reap children it does not track).
static ADOPTING: AtomicBool = AtomicBool::new(false);

/// When adopted orphans were last reaped.
static LAST_REAP: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);

/// Reaps adopted orphans that have exited (at most once a second): a
/// plugin's descendants outlive a worker killed on a timeout, die, and would
/// stay zombies until keycompat exits, thousands of them over a long run
/// against a plugin that hangs now and then. Only zombies are reaped, and
/// never a child this module tracks (a worker or process plugin, which its
/// owner reaps).
pub(super) fn reap_adopted() {
    if !ADOPTING.load(Ordering::SeqCst) {
        return;
    }
    {
        let mut last = LAST_REAP.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < std::time::Duration::from_secs(1)) {
            return;
        }
        *last = Some(now);
    }
    for (pid, state) in own_children() {
        let tracked = PGIDS.iter().any(|s| s.load(Ordering::SeqCst) == pid);
        if state == "Z" && !tracked {
            // SAFETY: waitpid(2) on our own exited child, which no one else
            // waits for (it is not tracked: keycompat did not start it);
            // only the status word is written.
            unsafe {
                let mut status = 0;
                libc::waitpid(pid, &mut status, libc::WNOHANG);
            }
        }
    }
}

/// Kills and reaps every remaining child of this process: after
/// [`kill_all`], those are orphans adopted through [`adopt_orphans`] (and
/// their own children, adopted in turn as each dies). Not async-signal-safe
/// (it reads `/proc`): call it on a normal exit.
pub fn kill_adopted() {
    for _ in 0..64 {
        let children = own_children();
        if children.is_empty() {
            return;
        }
        for (pid, _) in children {
            // SAFETY: kill(2) and waitpid(2) on our own child, which cannot
            // have been reused before we reap it; no memory is involved but
            // the status word.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
            }
        }
    }
}

/// The pids whose parent is this process, with their state (`Z`: exited,
/// not reaped), from `/proc/*/stat`.
fn own_children() -> Vec<(libc::pid_t, String)> {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid: libc::pid_t = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 1..];
            let mut fields = after.split_whitespace();
            let state = fields.next()?;
            let ppid = fields.next()?;
            (ppid == me).then(|| (pid, state.to_string()))
        })
        .collect()
}

/// On `signal`, once `flag` is already set (a second Ctrl-C or SIGTERM),
/// kills every child's process group and exits at once with `code`.
/// Register it before whatever sets the flag, as
/// `signal_hook::flag::register_conditional_shutdown` is.
pub fn exit_on_second_signal(signal: i32, code: i32, flag: Arc<AtomicBool>) {
    let handler = move || {
        if flag.load(Ordering::SeqCst) {
            kill_all();
            signal_hook::low_level::exit(code);
        }
    };
    // SAFETY: the handler only loads atomics, calls kill(2) and _exit(2),
    // all async-signal-safe; it allocates nothing and takes no lock.
    let _ = unsafe { signal_hook::low_level::register(signal, handler) };
}
