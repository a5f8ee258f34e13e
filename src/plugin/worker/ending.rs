//! Crash classification: how a worker process ended, in the words a
//! finding uses ("signal 11 (SIGSEGV)", "abort (SIGABRT)", "exited with
//! status 3", "killed by keycompat"), and durations as those words write
//! them ("no answer within 5s").

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

/// How a worker process ended.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ending {
    /// Its status.
    pub(super) status: Option<ExitStatus>,
    /// Whether it was still running when we killed it.
    pub(super) killed_by_us: bool,
}

impl Ending {
    /// "signal 11 (SIGSEGV)", "abort (SIGABRT)", "exited with status 3", ...
    pub(super) fn describe(&self) -> String {
        if self.killed_by_us {
            return "killed by keycompat".to_string();
        }
        match self.status {
            None => "ended in an unknown way".to_string(),
            Some(s) => describe_status(s),
        }
    }
}

/// Describes an exit status the way findings print it.
pub fn describe_status(s: ExitStatus) -> String {
    if let Some(code) = s.code() {
        return format!("exited with status {code}");
    }
    let Some(sig) = s.signal() else {
        return format!("ended with {s}");
    };
    let core = if s.core_dumped() { ", core dumped" } else { "" };
    match signal_name(sig) {
        Some("SIGABRT") => format!("abort (SIGABRT{core})"),
        Some(name) => format!("signal {sig} ({name}{core})"),
        None => format!("signal {sig}{core}"),
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

/// "300ms", "5s", "1.5s".
pub(super) fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
