//! The plugin's zygote: the worker's first plugin process, once it has
//! loaded the plugin and created an instance (and answered the hello),
//! makes no plugin call; it forks every later plugin life on the worker's
//! request. A life then costs one fork of a process that has the plugin
//! loaded, instead of a fork of the worker followed by a `dlopen`, a
//! `create` and a hello; a crashing input costs two lives (the crash and
//! its confirmation alone), so this is most of what a crash costs.
//!
//! What a life forked here starts from is what a fresh load gives: the
//! plugin's memory after `dlopen` and `create`, no call made. So "a fresh
//! life" keeps its meaning, and a crash the confirmation reproduces is the
//! item's. What such lives share, as any forked processes do, are the
//! kernel objects the plugin opened in `create` (a descriptor's offset, a
//! socket); a plugin whose calls need those per process loses nothing
//! else.
//!
//! When it must not: `fork` copies only the calling thread, so a process
//! with other threads could be copied with a lock one of them held, locked
//! forever in every life. The first plugin process becomes a zygote only
//! when it is its own only thread after `create` (`/proc/self/task`) and
//! the kernel gives pidfds; otherwise it serves requests itself and later
//! lives load the plugin anew, as before. The zygote keeps `SIGCHLD`
//! blocked, so a handler the plugin installed never runs in it (each life
//! gets the plugin's signal mask back).
//!
//! Who watches the lives: they are the zygote's children, so only it can
//! reap them; it reaps one only when the worker says so, so a pid the
//! worker looks at is never reused meanwhile. The worker gets a pidfd for
//! each life (to see it end, and to kill it), and reads how a dead life
//! ended from its zombie's `/proc/<pid>/stat` (the wait status a crash
//! finding needs: "signal 11 (SIGSEGV)") without waiting for the zygote,
//! which is told to reap it along with the next spawn. Only a status of 0,
//! which is also what that file shows a process not allowed to read it,
//! is asked of the zygote. No orphans: the zygote dies with the worker and
//! each life with the zygote (`PR_SET_PDEATHSIG`), and all stay in the
//! worker's process group, which the coordinator kills on a timeout.
//!
//! Messages (`fds.rs`), worker → zygote: spawn (three descriptors: the
//! life's request pipe, its answer pipe, its stderr), reap a pid (with or
//! without an answer). Zygote → worker: whether it is a zygote (once,
//! after the ready), spawned (a pid and a pidfd) or could not, reaped (a
//! wait status).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::fds::{self, Message};
use super::forked::become_plugin_process;
use crate::exit::worker as exit_code;

/// Zygote → worker, once after the ready: this process forks the lives.
const MODE_ZYGOTE: u8 = b'Z';
/// Zygote → worker, once after the ready: this process serves requests
/// itself (it cannot fork lives safely).
const MODE_SERVE: u8 = b'N';
/// Worker → zygote: fork a life (`a`: the spawn's number; three
/// descriptors). Zygote → worker: forked (`a`: the number, `b`: the pid;
/// a pidfd for it).
const SPAWN: u8 = b'S';
/// Zygote → worker: could not fork (`a`: the number, `b`: errno).
const SPAWN_FAILED: u8 = b'F';
/// Worker → zygote: reap the life `b`, which has exited, and say how it
/// ended. Zygote → worker: reaped (`a`: its raw wait status, or -1 when
/// it could not be reaped; `b`: its pid).
const REAP: u8 = b'R';
/// Worker → zygote: reap the life `b`, which has exited; no answer.
const FORGET: u8 = b'G';

/// How long a zygote whose worker is done waits for its lives to end by
/// themselves (their input closed) before it exits, which kills them.
const LIVES_GRACE: Duration = Duration::from_millis(500);

/// What the first plugin process does once it has answered the hello.
pub(super) enum Role {
    /// This process is a new life, forked by the zygote: it serves
    /// requests on this channel.
    Life { input: File, output: File },
    /// The zygote is done (its worker closed the control socket): exit
    /// with this code.
    Done(i32),
}

/// Whether this process may fork plugin lives: it has no other thread and
/// the kernel gives pidfds.
pub(super) fn can_fork_lives() -> bool {
    let only_thread = std::fs::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1);
    // SAFETY: getpid cannot fail.
    only_thread && fds::pidfd_open(unsafe { libc::getpid() }).is_ok()
}

/// Tells the worker whether this process becomes its zygote.
pub(super) fn announce(control: &OwnedFd, zygote: bool) -> io::Result<()> {
    let op = if zygote { MODE_ZYGOTE } else { MODE_SERVE };
    fds::send(control, Message { op, a: 0, b: 0 }, &[])
}

/// A life the zygote forked and has not reaped.
struct Child {
    pid: libc::pid_t,
    pidfd: OwnedFd,
}

/// The zygote: forks a life per spawn request and reaps lives when told,
/// until the worker closes `control`. Returns in each forked life (as
/// `fork` does) with that life's channel, and in the zygote when it is
/// done.
pub(super) fn run(control: OwnedFd) -> Result<Role, String> {
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let mask = block_sigchld().map_err(|e| format!("cannot block SIGCHLD: {e}"))?;
    let mut children: Vec<Child> = Vec::new();
    loop {
        let (message, received) = match fds::recv(&control) {
            Ok(Some(m)) => m,
            Ok(None) => {
                end_lives(&children);
                return Ok(Role::Done(exit_code::OK));
            }
            Err(e) => return Err(format!("reading the worker's control socket: {e}")),
        };
        let reply = match message.op {
            SPAWN => {
                let Ok([input, output, stderr]) = <[OwnedFd; 3]>::try_from(received) else {
                    return Err("a spawn request without its three descriptors".into());
                };
                // SAFETY: this process has one thread (`can_fork_lives`,
                // and nothing here starts one) and is between calls of the
                // plugin, so no lock is held across the fork. The child
                // returns to serve one life and `_exit`s at its end
                // (`life.rs`); it never comes back into this loop.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    drop(control);
                    // Forgotten, not freed: nothing of the zygote's to
                    // touch in a life.
                    std::mem::forget(children);
                    restore_mask(&mask);
                    if become_plugin_process(me, stderr).is_err() {
                        return Ok(Role::Done(exit_code::OK));
                    }
                    return Ok(Role::Life {
                        input: File::from(input),
                        output: File::from(output),
                    });
                }
                drop((input, output, stderr));
                let (reply, pidfd) = spawned(message.a, pid);
                let fds: Vec<_> = pidfd.iter().map(AsRawFd::as_raw_fd).collect();
                fds::send(&control, reply, &fds)
                    .map_err(|e| format!("writing to the worker's control socket: {e}"))?;
                if let Some(pidfd) = pidfd {
                    children.push(Child { pid, pidfd });
                }
                continue;
            }
            REAP | FORGET => {
                children.retain(|c| c.pid != message.b);
                let status = reap(message.b);
                (message.op == REAP).then_some(Message {
                    op: REAP,
                    a: status as u32,
                    b: message.b,
                })
            }
            other => return Err(format!("unknown control message {other}")),
        };
        if let Some(reply) = reply {
            fds::send(&control, reply, &[])
                .map_err(|e| format!("writing to the worker's control socket: {e}"))?;
        }
    }
}

/// The reply to spawn number `seq`, whose fork returned `pid`, and the
/// pidfd to keep (a copy goes with the reply).
fn spawned(seq: u32, pid: libc::pid_t) -> (Message, Option<OwnedFd>) {
    let failed = |e: io::Error| Message {
        op: SPAWN_FAILED,
        a: seq,
        b: e.raw_os_error().unwrap_or(0),
    };
    if pid < 0 {
        return (failed(io::Error::last_os_error()), None);
    }
    match fds::pidfd_open(pid) {
        Ok(pidfd) => (
            Message {
                op: SPAWN,
                a: seq,
                b: pid,
            },
            Some(pidfd),
        ),
        Err(e) => {
            // Unwatchable: end it now.
            // SAFETY: kill of our own child, not reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            reap(pid);
            (failed(e), None)
        }
    }
}

/// Reaps `pid`, which the worker says has exited: its raw wait status
/// (-1 if it is not a child of ours, or was reaped already).
fn reap(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waits for one pid (a child of ours, or waitpid fails
        // with ECHILD); `status` is a valid int.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return status;
        }
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return -1;
        }
    }
}

/// The worker is done: lets the lives still running end by themselves
/// (their input is closed) for a while, reaping them; the rest die with
/// this process.
fn end_lives(children: &[Child]) {
    let deadline = Instant::now() + LIVES_GRACE;
    for child in children {
        if fds::wait_exited(&child.pidfd, Some(deadline)) {
            reap(child.pid);
        }
    }
}

/// Blocks SIGCHLD in this thread; returns the mask it had.
fn block_sigchld() -> io::Result<libc::sigset_t> {
    // SAFETY: sigemptyset and sigaddset fill the set we pass;
    // pthread_sigmask reads `set` and writes the old mask into `old`.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(old)
    }
}

/// Gives this thread back the mask `block_sigchld` returned.
fn restore_mask(mask: &libc::sigset_t) {
    // SAFETY: pthread_sigmask reads the set we pass.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) };
}

/// The worker's side of its zygote.
pub(super) struct Zygote {
    control: OwnedFd,
    next_spawn: u32,
    /// Spawn replies read while waiting for another message.
    spawned: Vec<(u32, io::Result<Spawned>)>,
    /// Dead lives to reap, told along with the next message.
    forget: Vec<libc::pid_t>,
    /// The zygote closed its end or broke the protocol: no more spawns.
    gone: bool,
}

/// A life the zygote forked: its pid (its parent is the zygote) and a
/// pidfd for it.
pub(super) struct Spawned {
    pub(super) pid: libc::pid_t,
    pub(super) pidfd: OwnedFd,
}

impl Zygote {
    /// Reads, after the first plugin process's ready, whether it became a
    /// zygote: `None` when it serves requests itself (or said nothing).
    pub(super) fn join(control: OwnedFd) -> Option<Zygote> {
        match fds::recv(&control) {
            Ok(Some((m, _))) if m.op == MODE_ZYGOTE => Some(Zygote {
                control,
                next_spawn: 0,
                spawned: Vec::new(),
                forget: Vec::new(),
                gone: false,
            }),
            _ => None,
        }
    }

    /// Whether it still forks lives.
    pub(super) fn is_alive(&self) -> bool {
        !self.gone
    }

    /// Asks for a life on these descriptors (the life's ends of its
    /// request, answer and stderr pipes, which the caller then closes).
    /// Returns the spawn's number, for [`Zygote::spawned`]; the fork goes
    /// on while the caller does something else.
    pub(super) fn spawn(
        &mut self,
        input: &OwnedFd,
        output: &OwnedFd,
        stderr: &OwnedFd,
    ) -> io::Result<u32> {
        let seq = self.next_spawn;
        self.next_spawn = self.next_spawn.wrapping_add(1);
        let m = Message {
            op: SPAWN,
            a: seq,
            b: 0,
        };
        self.send(
            m,
            &[input.as_raw_fd(), output.as_raw_fd(), stderr.as_raw_fd()],
        )?;
        Ok(seq)
    }

    /// The life spawn number `seq` started (waits for the zygote's reply).
    pub(super) fn spawned(&mut self, seq: u32) -> io::Result<Spawned> {
        loop {
            if let Some(at) = self.spawned.iter().position(|(s, _)| *s == seq) {
                return self.spawned.swap_remove(at).1;
            }
            if self.read_one()?.is_some() {
                return Err(self.broken("a reap reply out of turn"));
            }
        }
    }

    /// How the life `pid`, which has exited (its pidfd says so), ended:
    /// from its zombie's `/proc/<pid>/stat`, or, when that says 0 (which
    /// may also mean "not yours to read") or cannot be read, from the
    /// zygote, which reaps it. `None` if the zygote is gone.
    pub(super) fn ended(&mut self, pid: libc::pid_t) -> Option<ExitStatus> {
        if let Some(status) = zombie_status(pid).filter(|&s| s != 0) {
            self.forget.push(pid);
            return Some(ExitStatus::from_raw(status));
        }
        let m = Message {
            op: REAP,
            a: 0,
            b: pid,
        };
        self.send(m, &[]).ok()?;
        loop {
            match self.read_one().ok()? {
                Some(m) if m.b == pid => {
                    let status = m.a as i32;
                    return (status != -1).then(|| ExitStatus::from_raw(status));
                }
                Some(_) => {
                    self.broken("a reap reply for another life");
                    return None;
                }
                None => {}
            }
        }
    }

    /// Sends `m`, after the reaps owed (the zygote handles both in one
    /// wake-up).
    fn send(&mut self, m: Message, fds: &[RawFd]) -> io::Result<()> {
        if self.gone {
            return Err(io::Error::other("the plugin's zygote is gone"));
        }
        for pid in std::mem::take(&mut self.forget) {
            let forget = Message {
                op: FORGET,
                a: 0,
                b: pid,
            };
            fds::send(&self.control, forget, &[]).inspect_err(|_| self.gone = true)?;
        }
        fds::send(&self.control, m, fds).inspect_err(|_| self.gone = true)
    }

    /// Reads one reply: a spawn's is filed for [`Zygote::spawned`]
    /// (`None`), a reap's returned.
    fn read_one(&mut self) -> io::Result<Option<Message>> {
        if self.gone {
            return Err(io::Error::other("the plugin's zygote is gone"));
        }
        let (m, mut received) = match fds::recv(&self.control) {
            Ok(Some(reply)) => reply,
            Ok(None) => return Err(self.broken("it closed its control socket")),
            Err(e) => {
                self.gone = true;
                return Err(e);
            }
        };
        match m.op {
            SPAWN => match received.pop() {
                Some(pidfd) if received.is_empty() => {
                    self.spawned.push((m.a, Ok(Spawned { pid: m.b, pidfd })));
                }
                _ => return Err(self.broken("a spawn reply without its pidfd")),
            },
            SPAWN_FAILED => {
                let e = io::Error::from_raw_os_error(m.b);
                self.spawned.push((m.a, Err(e)));
            }
            REAP => return Ok(Some(m)),
            _ => return Err(self.broken("an unknown message")),
        }
        Ok(None)
    }

    fn broken(&mut self, what: &str) -> io::Error {
        self.gone = true;
        io::Error::other(format!("the plugin's zygote: {what}"))
    }
}

/// The wait status `/proc/<pid>/stat` shows for `pid`, a zombie nobody
/// reaps meanwhile (field 52, "exit_code"; 0 also when the file is not
/// ours to read in full).
fn zombie_status(pid: libc::pid_t) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count
    // from the last ')', after which field 3 (the state) comes.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    if fields.next()? != "Z" {
        return None;
    }
    fields.nth(52 - 4)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_says_how_it_ended() {
        // SAFETY: the child only raises a signal or _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: ends the forked test child by a signal.
            unsafe {
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                libc::raise(libc::SIGSEGV);
                libc::_exit(0);
            }
        }
        let pidfd = fds::pidfd_open(pid).unwrap();
        assert!(fds::wait_exited(&pidfd, None));
        let seen = zombie_status(pid).unwrap();
        let mut status = 0;
        // SAFETY: reaps the child we forked.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(seen, status);
        assert_eq!(status & 0x7f, libc::SIGSEGV, "{status:#x}");
        assert!(zombie_status(pid).is_none());
    }
}
