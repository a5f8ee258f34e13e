//! The coordinator's side of one worker process: spawning it in its own
//! process group, frames in and out with deadlines, and killing the group.
//! How the process ended is told by [`Ending`], what it wrote to stderr is
//! kept by [`StderrTail`].

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ending::Ending;
use super::stderr::StderrTail;
use super::wire::{HEADER_BYTES, MAX_FRAME_BYTES};

/// How long a worker that closed its stdout gets to exit by itself before
/// we kill it (so its real exit status is what we report).
pub(super) const EXIT_GRACE: Duration = Duration::from_millis(500);
/// How long we wait for a dead worker's stderr to close.
pub(super) const STDERR_GRACE: Duration = Duration::from_millis(200);

/// Pipe capacity asked for (Linux): big answers need fewer wake-ups.
const PIPE_BYTES: libc::c_int = 1 << 20;

/// Why no frame arrived.
#[derive(Debug)]
pub(super) enum RecvError {
    /// The deadline passed.
    Timeout,
    /// The worker closed its end (it exited, most likely).
    Eof,
    /// The worker announced a frame larger than the protocol allows.
    TooLarge(usize),
    /// Reading failed.
    Io(io::Error),
}

/// Why a frame could not be sent.
#[derive(Debug)]
pub(super) enum SendError {
    /// The deadline passed with the pipe full.
    Timeout,
    /// The worker closed its end.
    Closed,
    /// Writing failed.
    Io(io::Error),
}

/// How messages are cut on a process's stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// `keycompat __worker`: a `u32` little-endian length, then the payload.
    LengthPrefixed,
    /// A process plugin: one JSON message per `\n`-terminated line.
    Lines,
}

/// One child process speaking a protocol on its stdin and stdout, in a
/// process group of its own: a `keycompat __worker` or a process plugin.
pub(super) struct Process {
    child: Child,
    framing: Framing,
    /// How many bytes at the start of `inbox` are known to hold no newline
    /// (line framing), so a long line is scanned once.
    scanned: usize,
    /// `None` once the process has been reaped.
    pid: Option<libc::pid_t>,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Bytes read from stdout but not consumed yet.
    inbox: Vec<u8>,
    stderr: Arc<StderrTail>,
    /// Requests answered in full: a process that served some may end between
    /// requests, so a failure of its next request is no proof against it.
    pub(super) served: u64,
}

/// Sets `O_NONBLOCK` on `fd` and asks for a larger pipe (best effort).
fn prepare_pipe(fd: libc::c_int) -> io::Result<()> {
    // `fd` is an open pipe end owned by a `Child*` handle that outlives
    // this call.
    super::fds::set_nonblocking(fd)?;
    #[cfg(target_os = "linux")]
    // SAFETY: F_SETPIPE_SZ on that open pipe end only changes its size, and
    // may fail (limits), which is harmless.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_BYTES);
    }
    Ok(())
}

/// Waits until `fd` is ready for `events` or `deadline` passes. Returns
/// false on timeout; fails when the run is stopping (`stopping.rs`).
fn wait_fd(fd: libc::c_int, events: libc::c_short, deadline: Instant) -> io::Result<bool> {
    loop {
        if super::stopping::stopping() {
            return Err(io::Error::other(super::stopping::STOPPED));
        }
        let left = deadline
            .saturating_duration_since(Instant::now())
            .min(super::stopping::POLL);
        if left.is_zero() {
            return Ok(false);
        }
        // Round up, so we never spin on a sub-millisecond remainder.
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        let mut p = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: `p` is one valid pollfd, and we pass a count of 1.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r > 0 {
            return Ok(true);
        }
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Process {
    /// Starts `exe __worker` with piped stdio in a new process group.
    /// `env` is set over keycompat's own environment.
    pub(super) fn spawn_worker(
        exe: &Path,
        env: &std::collections::BTreeMap<String, String>,
    ) -> io::Result<Process> {
        let mut command = Command::new(exe);
        command.arg("__worker").envs(env);
        Process::spawn(command, Framing::LengthPrefixed)
    }

    /// Starts `command` with piped stdio in a new process group (so that
    /// killing the group also ends whatever it started).
    pub(super) fn spawn(mut command: Command, framing: Framing) -> io::Result<Process> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let pid = child.id() as libc::pid_t;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("piped stdio missing"));
        };
        let tail = Arc::new(StderrTail::default());
        let drain = Arc::clone(&tail);
        super::children::register(pid);
        let mut process = Process {
            child,
            framing,
            scanned: 0,
            pid: Some(pid),
            stdin,
            stdout,
            inbox: Vec::new(),
            stderr: tail,
            served: 0,
        };
        std::thread::Builder::new()
            .name(format!("kc-worker-{pid}-stderr"))
            .spawn(move || drain.drain(stderr, None))?;
        if let Err(e) = prepare_pipe(process.stdin.as_raw_fd())
            .and_then(|()| prepare_pipe(process.stdout.as_raw_fd()))
        {
            process.kill_and_reap(Duration::ZERO);
            return Err(e);
        }
        Ok(process)
    }

    /// Limits the process's data memory (`RLIMIT_DATA`: heap and private
    /// writable mappings, which is what an allocator grows) to `bytes`, soft
    /// and hard, so it cannot raise it again. Set from outside right after
    /// the start, before the process is sent anything, so the spawn itself
    /// stays a plain `posix_spawn`.
    pub(super) fn limit_memory(&self, bytes: Option<u64>) -> io::Result<()> {
        let (Some(bytes), Some(pid)) = (bytes, self.pid) else {
            return Ok(());
        };
        let limit = libc::rlimit {
            rlim_cur: bytes as libc::rlim_t,
            rlim_max: bytes as libc::rlim_t,
        };
        // SAFETY: prlimit reads `limit`, a valid rlimit that outlives the
        // call, and writes nothing (the old-limit pointer is null); `pid` is
        // our own unreaped child, so it cannot name another process.
        let r = unsafe { libc::prlimit(pid, libc::RLIMIT_DATA, &limit, std::ptr::null_mut()) };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// The process id (also the process group id).
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The stderr tail.
    pub(super) fn stderr(&self) -> &StderrTail {
        &self.stderr
    }

    /// Writes `frame` whole, or fails at `deadline`.
    pub(super) fn send(&mut self, frame: &[u8], deadline: Instant) -> Result<(), SendError> {
        self.send_parts(&[frame], deadline)
    }

    /// Writes `parts` whole, one after the other, or fails at `deadline`;
    /// with one `writev` where the pipe takes them, so the reader wakes once.
    pub(super) fn send_parts(
        &mut self,
        parts: &[&[u8]],
        deadline: Instant,
    ) -> Result<(), SendError> {
        let mut slices: Vec<IoSlice<'_>> = parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| IoSlice::new(p))
            .collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            match self.stdin.write_vectored(rest) {
                Ok(0) => return Err(SendError::Closed),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) => match e.kind() {
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::WouldBlock => {
                        match wait_fd(self.stdin.as_raw_fd(), libc::POLLOUT, deadline) {
                            Ok(true) => {}
                            Ok(false) => return Err(SendError::Timeout),
                            Err(e) => return Err(SendError::Io(e)),
                        }
                    }
                    io::ErrorKind::BrokenPipe => return Err(SendError::Closed),
                    _ => return Err(SendError::Io(e)),
                },
            }
        }
        Ok(())
    }

    /// Reads until the inbox holds `n` bytes, or fails at `deadline`.
    fn fill(&mut self, n: usize, deadline: Instant) -> Result<(), RecvError> {
        while self.inbox.len() < n {
            let have = self.inbox.len();
            let want = (n - have).max(64 * 1024);
            self.inbox.resize(have + want, 0);
            let r = self.stdout.read(&mut self.inbox[have..]);
            match r {
                Ok(0) => {
                    self.inbox.truncate(have);
                    return Err(RecvError::Eof);
                }
                Ok(got) => self.inbox.truncate(have + got),
                Err(e) => {
                    self.inbox.truncate(have);
                    match e.kind() {
                        io::ErrorKind::Interrupted => {}
                        io::ErrorKind::WouldBlock => {
                            match wait_fd(self.stdout.as_raw_fd(), libc::POLLIN, deadline) {
                                Ok(true) => {}
                                Ok(false) => return Err(RecvError::Timeout),
                                Err(e) => return Err(RecvError::Io(e)),
                            }
                        }
                        _ => return Err(RecvError::Io(e)),
                    }
                }
            }
        }
        Ok(())
    }

    /// Receives one message's payload (a frame's payload, or a line without
    /// its `\n`), or fails at `deadline`. The buffer grows only as bytes
    /// arrive, so a garbage length cannot make us allocate.
    pub(super) fn recv(&mut self, deadline: Instant) -> Result<Vec<u8>, RecvError> {
        match self.framing {
            Framing::LengthPrefixed => self.recv_frame(deadline),
            Framing::Lines => self.recv_line(deadline),
        }
    }

    fn recv_line(&mut self, deadline: Instant) -> Result<Vec<u8>, RecvError> {
        loop {
            if let Some(at) = self.inbox[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + at;
                let mut line: Vec<u8> = self.inbox.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.scanned = 0;
                return Ok(line);
            }
            self.scanned = self.inbox.len();
            if self.inbox.len() > MAX_FRAME_BYTES {
                return Err(RecvError::TooLarge(self.inbox.len()));
            }
            self.fill(self.inbox.len() + 1, deadline)?;
        }
    }

    fn recv_frame(&mut self, deadline: Instant) -> Result<Vec<u8>, RecvError> {
        self.fill(HEADER_BYTES, deadline)?;
        let len = u32::from_le_bytes([self.inbox[0], self.inbox[1], self.inbox[2], self.inbox[3]])
            as usize;
        if len > MAX_FRAME_BYTES {
            return Err(RecvError::TooLarge(len));
        }
        self.fill(HEADER_BYTES + len, deadline)?;
        let payload = self.inbox[HEADER_BYTES..HEADER_BYTES + len].to_vec();
        self.inbox.drain(..HEADER_BYTES + len);
        Ok(payload)
    }

    /// Whether the process has exited (without reaping it).
    pub(super) fn has_exited(&self) -> bool {
        let Some(pid) = self.pid else {
            return true;
        };
        peek_exit(pid)
    }

    /// Waits up to `grace` for the process to exit by itself, then kills its
    /// whole process group with SIGKILL and reaps it.
    pub(super) fn kill_and_reap(&mut self, grace: Duration) -> Ending {
        let Some(pid) = self.pid else {
            return Ending {
                status: None,
                killed_by_us: false,
            };
        };
        let deadline = Instant::now() + grace;
        let mut exited = peek_exit(pid);
        while !exited && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
            exited = peek_exit(pid);
        }
        // The leader is not reaped yet, so the group id cannot have been
        // reused: this reaches only the worker and what it started.
        // SAFETY: kill(2) with a negative pid signals that process group;
        // no memory is involved.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let status = self.child.wait().ok();
        super::children::unregister(pid);
        self.pid = None;
        Ending {
            status,
            killed_by_us: !exited,
        }
    }
}

/// Whether `pid` (our unreaped child) has exited, leaving it waitable.
pub(super) fn peek_exit(pid: libc::pid_t) -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value for waitid to fill.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid siginfo_t; WNOWAIT leaves the child
    // waitable, so `Child::wait` still reaps it later.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid succeeded, so si_pid is initialised (0 if no child has
    // changed state).
    r == 0 && unsafe { info.si_pid() } == pid
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.pid.is_some() {
            self.kill_and_reap(Duration::ZERO);
        }
    }
}
