//! The first steps of a forked plugin process, whichever process forked it
//! (the worker, or the plugin's zygote, see `zygote.rs`): its stdout and
//! stderr become the pipe its parent drains, it carries a name in `ps`,
//! and it dies with its parent, so no plugin process outlives the worker.
//!
//! It must not do more: the caller holds the plugin's state as it was when
//! forked, and everything here runs before any request is read.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// Points fds 1 and 2 at `stderr`, names the process `kc-plugin`, and has
/// the kernel kill it when the thread that forked it ends (`parent` is
/// that process's pid, read before the fork). A parent that died before
/// this took effect is an error: the caller then `_exit`s at once.
pub(super) fn become_plugin_process(parent: libc::pid_t, stderr: OwnedFd) -> io::Result<()> {
    // SAFETY: dup2 of an open descriptor over fds 1 and 2 in this process
    // only (a plugin's printf and its stderr both reach the parent's pipe);
    // no Rust object owns fds 1 and 2.
    unsafe {
        if libc::dup2(stderr.as_raw_fd(), libc::STDOUT_FILENO) < 0
            || libc::dup2(stderr.as_raw_fd(), libc::STDERR_FILENO) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    drop(stderr);
    // SAFETY: prctl with plain values: "kc-plugin" names this process in ps
    // and top (a static NUL-terminated name, at most 16 bytes read); the
    // kernel kills it when the thread that forked it ends (the parent's
    // main thread, which only ends with the parent), cheaper than a thread
    // watching for orphanhood. getppid cannot fail.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, c"kc-plugin".as_ptr());
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // The parent may have died before the line above.
        if libc::getppid() != parent {
            return Err(io::Error::other("the parent process is gone"));
        }
    }
    Ok(())
}
