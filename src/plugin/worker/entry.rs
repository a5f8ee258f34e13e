//! The worker's entry point: `keycompat __worker`. Moves the protocol off
//! fds 0 and 1, makes the process die with its coordinator, and hands over
//! to `lives.rs`, which runs the plugin in a forked child per life.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::FromRawFd;
use std::time::Duration;

use super::fds;
use super::lives::supervise;
use super::serve::Channel;
use super::wire;
use crate::exit::worker as exit_code;

/// How often the worker checks whether its coordinator is gone.
const ORPHAN_CHECK: Duration = Duration::from_millis(500);

/// Moves the protocol off fds 0 and 1 before any plugin code runs: a
/// plugin's `printf` then lands in stderr (fd 1 becomes a copy of fd 2) and
/// a plugin reading stdin reads /dev/null, so neither can corrupt the frames.
fn take_channel() -> io::Result<Channel> {
    let input = fds::dup_cloexec(libc::STDIN_FILENO)?;
    let output = fds::dup_cloexec(libc::STDOUT_FILENO)?;
    // Flush anything Rust buffered for fd 1 before it changes meaning.
    io::stdout().flush()?;
    // SAFETY: dup2 of two open descriptors; fd 1 is closed and replaced
    // atomically. Nothing in this process holds fd 1 as the protocol: the
    // protocol now lives on `output`.
    if unsafe { libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let null = File::open("/dev/null")?;
    // SAFETY: as above, for fd 0; `null` stays open until after the call.
    if unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), libc::STDIN_FILENO) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `input` and `output` were just created by fcntl and are owned
    // by nothing else; each File becomes their only owner.
    let (input, output) = unsafe { (File::from_raw_fd(input), File::from_raw_fd(output)) };
    Ok(Channel { input, output })
}

/// No core files from plugins that crash on purpose (or not): they are slow
/// to write and litter the working directory. Best effort.
fn disable_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the struct we pass; it affects only this process.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
}

/// Exits when the coordinator dies (we are reparented), even while the main
/// thread is stuck in a plugin: an orphaned worker would otherwise spin or
/// sleep forever.
fn exit_when_orphaned() {
    // SAFETY: getppid cannot fail and touches no memory.
    let parent = unsafe { libc::getppid() };
    let _ = std::thread::Builder::new()
        .name("kc-worker-orphan-check".into())
        .spawn(move || {
            loop {
                std::thread::sleep(ORPHAN_CHECK);
                // SAFETY: as above.
                if unsafe { libc::getppid() } != parent {
                    // SAFETY: _exit ends the process at once, without running
                    // atexit handlers that could deadlock on a lock the stuck
                    // plugin holds.
                    unsafe { libc::_exit(exit_code::OK) };
                }
            }
        });
}

/// The worker's entry point: `keycompat __worker` (no further arguments;
/// everything else arrives in the hello frame). Returns the exit code, one
/// of [`crate::exit::worker`].
pub fn worker_main(args: &[String]) -> i32 {
    if !args.is_empty() {
        eprintln!(
            "keycompat __worker: unexpected arguments {args:?}; this subcommand is started by keycompat itself"
        );
        return exit_code::USAGE;
    }
    let mut channel = match take_channel() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keycompat __worker: cannot set up the protocol channel: {e}");
            return exit_code::PROTOCOL;
        }
    };
    disable_core_dumps();
    exit_when_orphaned();
    match supervise(&mut channel) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("keycompat __worker: {message}");
            // The coordinator may still be listening: tell it why, if we can.
            let _ = channel.output.write_all(&wire::encode_error(&message));
            exit_code::PROTOCOL
        }
    }
}
