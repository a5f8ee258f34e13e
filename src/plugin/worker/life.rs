//! One plugin life as the worker sees it (`lives.rs` runs them): a plugin
//! process, the pipes to it, its stderr, and how it ended.
//!
//! A life is forked either by the worker (it then loads the plugin itself,
//! answering a hello) or by the plugin's zygote (`zygote.rs`: it starts
//! with the plugin loaded and an instance created). The worker reaps its
//! own children; the zygote's it watches through a pidfd and has the
//! zygote reap. Either way the life dies with its parent
//! (`PR_SET_PDEATHSIG`, `forked.rs`), so none is left behind.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::calling::CallingSlot;
use super::ending::Ending;
use super::fds;
use super::forked::become_plugin_process;
use super::process::{EXIT_GRACE, STDERR_GRACE, peek_exit};
use super::serve::{Channel, ReadFrame, read_frame, serve_life};
use super::stderr::StderrTail;
use super::wire::{self, MAX_FRAME_BYTES};
use super::zygote::Zygote;
use crate::exit::worker as exit_code;

/// Why no frame came from the child.
pub(super) enum Recv {
    /// It closed its end (it died, most likely).
    Closed,
    /// It sent something that is not a frame.
    Garbage(String),
    /// The deadline passed first.
    TimedOut,
}

/// Who reads a life's stderr.
enum Drain {
    /// A thread of its own: a life the worker forked, whose plugin may
    /// run threads from its load on, which may write at any time.
    Thread(Option<JoinHandle<()>>),
    /// The worker, whenever it waits for the life: a life the zygote
    /// forked, which started with one thread.
    Inline(Inline),
}

/// A life's stderr as the worker reads it itself: whenever it waits for
/// the life (so the life never blocks on a full stderr during a call) and
/// to its end once the life is gone. Saves a thread per life, and the wait
/// for it when quoting.
///
/// The words are also copied to the worker's own stderr (which the
/// coordinator keeps, to quote should the worker itself end, say on a
/// timeout), but at most once per `every`: a copy wakes the coordinator,
/// and a life that crashed says its words in its own death message.
struct Inline {
    pipe: File,
    copy: File,
    /// The pipe reached its end (or broke): not read again.
    ended: bool,
    /// Read but not copied yet, and when it must be.
    unsent: Vec<u8>,
    due: Option<Instant>,
    every: Duration,
}

/// Words held back from the copy at most (more are copied at once).
const UNSENT_BYTES: usize = 16 * 1024;

impl Inline {
    /// Reads what the pipe holds, until it is empty or reaches its end.
    fn pump(&mut self, tail: &StderrTail) {
        let mut buf = [0u8; 8192];
        while !self.ended {
            match self.pipe.read(&mut buf) {
                Ok(0) => self.ended = true,
                Ok(n) => {
                    tail.push(&buf[..n], None);
                    self.unsent.extend_from_slice(&buf[..n]);
                    self.due.get_or_insert_with(|| Instant::now() + self.every);
                    if self.unsent.len() >= UNSENT_BYTES {
                        self.flush();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => self.ended = true,
            }
        }
    }

    /// Copies what is held back (best effort: a coordinator that stopped
    /// reading loses the copy, never the tail).
    fn flush(&mut self) {
        let _ = self.copy.write_all(&self.unsent);
        self.unsent.clear();
        self.due = None;
    }
}

/// Who forked a life, and so who reaps it.
enum Parent {
    /// The worker: its own child.
    Worker,
    /// The zygote, whose reply to spawn number `.1` (the pid and pidfd) is
    /// read when first needed.
    Zygote(Rc<RefCell<Zygote>>, Option<u32>),
}

/// One plugin child: its pid, the pipes to it, and its stderr.
pub(super) struct Life {
    parent: Parent,
    /// Its pid: `None` while the zygote's reply is unread, or if the
    /// zygote could not fork it.
    pid: Option<libc::pid_t>,
    /// A pidfd for it, when the kernel gives one: waits for its exit
    /// without polling (and the only way to, for the zygote's children).
    pidfd: Option<OwnedFd>,
    /// Requests to the child; `None` once closed.
    input: Option<File>,
    output: File,
    stderr: Arc<StderrTail>,
    drain: Drain,
    /// The worker's end of the first life's control socket, until the
    /// worker reads whether that life became the plugin's zygote.
    pub(super) control: Option<OwnedFd>,
    /// Its ready has not been read yet.
    pub(super) ready_pending: bool,
    /// It was sent a request.
    pub(super) served: bool,
    /// Reaped already.
    reaped: Option<Ending>,
}

/// A pipe, both ends close-on-exec: (read end, write end).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A life's three pipes: the child's ends and the worker's.
struct Pipes {
    /// The child's ends: requests in, answers out, stderr out.
    request_r: OwnedFd,
    answer_w: OwnedFd,
    stderr_w: OwnedFd,
    /// The worker's ends.
    request_w: OwnedFd,
    answer_r: OwnedFd,
    stderr_r: OwnedFd,
    /// The worker's own stderr, for the child's words (a copy, so the
    /// drain thread never takes std's stderr lock: a child forked while a
    /// thread held it could never print).
    copy: File,
}

impl Pipes {
    fn new() -> io::Result<Pipes> {
        let (request_r, request_w) = pipe()?;
        let (answer_r, answer_w) = pipe()?;
        let (stderr_r, stderr_w) = pipe()?;
        let copy = fds::dup_cloexec(libc::STDERR_FILENO)?;
        // SAFETY: `copy` was just created and is owned by nothing else.
        let copy = unsafe { File::from_raw_fd(copy) };
        Ok(Pipes {
            request_r,
            answer_w,
            stderr_w,
            request_w,
            answer_r,
            stderr_r,
            copy,
        })
    }
}

impl Life {
    /// Forks a child that serves one life of the plugin and sends it the
    /// hello. Its ready is read later (`ready_pending`). The `first` life
    /// hashes the plugin and is offered to become the plugin's zygote (its
    /// answer is read through [`Life::control`]).
    pub(super) fn start(
        channel: &Channel,
        calling: &CallingSlot,
        hello: &[u8],
        first: bool,
    ) -> io::Result<Life> {
        calling.leave();
        let pipes = Pipes::new()?;
        let control = if first { fds::socket_pair().ok() } else { None };
        // SAFETY: getpid cannot fail.
        let worker_pid = unsafe { libc::getpid() };
        // SAFETY: fork. The worker's other threads (the orphan check, the
        // drains of earlier lives) hold no lock the child needs: they sleep
        // or block in read(2), and print through their own descriptors.
        // The child runs `child` and _exits; it never returns here.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            let Pipes {
                request_r,
                answer_w,
                stderr_w,
                request_w,
                answer_r,
                stderr_r,
                copy,
            } = pipes;
            // The worker's ends: the child must see its request pipe close.
            drop((request_w, answer_r, stderr_r, copy));
            let zygote = control.map(|(_, theirs)| theirs);
            let ends = (request_r, answer_w, stderr_w);
            let code = child(worker_pid, channel, calling, ends, first, zygote);
            // SAFETY: ends the child without running the worker's exit
            // handlers or unwinding into the worker's frames.
            unsafe { libc::_exit(code) };
        }
        // An unreaped child of ours: the pid cannot be reused meanwhile.
        let pidfd = fds::pidfd_open(pid).ok();
        let mut life = Life::watch(pipes, Parent::Worker, Some(pid), pidfd, Duration::ZERO)?;
        life.control = control.map(|(ours, _)| ours);
        life.ready_pending = true;
        // A child that died already is found by the ready that never comes.
        let _ = life.send(hello);
        Ok(life)
    }

    /// Has the zygote fork a life, which starts with the plugin loaded
    /// (no hello, no ready). Its pid is read when first needed; what it
    /// writes to stderr is copied to the worker's at most once per `every`.
    pub(super) fn spawn(
        zygote: &Rc<RefCell<Zygote>>,
        calling: &CallingSlot,
        every: Duration,
    ) -> io::Result<Life> {
        calling.leave();
        let pipes = Pipes::new()?;
        let seq = zygote
            .borrow_mut()
            .spawn(&pipes.request_r, &pipes.answer_w, &pipes.stderr_w)?;
        let parent = Parent::Zygote(Rc::clone(zygote), Some(seq));
        Life::watch(pipes, parent, None, None, every)
    }

    /// The worker's side of a forked life: its ends of the pipes, and
    /// who reads its stderr (a thread for the worker's children).
    fn watch(
        pipes: Pipes,
        parent: Parent,
        pid: Option<libc::pid_t>,
        pidfd: Option<OwnedFd>,
        every: Duration,
    ) -> io::Result<Life> {
        let Pipes {
            request_w,
            answer_r,
            stderr_r,
            copy,
            ..
        } = pipes;
        let stderr = Arc::new(StderrTail::default());
        let drain = match parent {
            Parent::Worker => {
                let tail = Arc::clone(&stderr);
                let thread = std::thread::Builder::new()
                    .name("kc-life-stderr".into())
                    .spawn(move || tail.drain(File::from(stderr_r), Some(copy)))?;
                Drain::Thread(Some(thread))
            }
            Parent::Zygote(..) => {
                fds::set_nonblocking(stderr_r.as_raw_fd())?;
                Drain::Inline(Inline {
                    pipe: File::from(stderr_r),
                    copy,
                    ended: false,
                    unsent: Vec::new(),
                    due: None,
                    every,
                })
            }
        };
        Ok(Life {
            parent,
            pid,
            pidfd,
            input: Some(File::from(request_w)),
            output: File::from(answer_r),
            stderr,
            drain,
            control: None,
            ready_pending: false,
            served: false,
            reaped: None,
        })
    }

    pub(super) fn send(&mut self, payload: &[u8]) -> Result<(), ()> {
        let Some(input) = &mut self.input else {
            return Err(());
        };
        put_frame(input, payload).map_err(|_| ())
    }

    /// The next frame from the child (waiting without limit).
    pub(super) fn recv(&mut self) -> Result<Vec<u8>, Recv> {
        self.recv_until(None)
    }

    /// The next frame from the child, or [`Recv::TimedOut`] once
    /// `deadline` (if any) passes; reads its stderr meanwhile when that is
    /// the worker's to read.
    pub(super) fn recv_until(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>, Recv> {
        loop {
            let (stderr, due) = match &self.drain {
                Drain::Inline(inline) => {
                    ((!inline.ended).then(|| inline.pipe.as_raw_fd()), inline.due)
                }
                Drain::Thread(_) => (None, None),
            };
            if stderr.is_some() || deadline.is_some() {
                let mut fds = vec![self.output.as_raw_fd()];
                fds.extend(stderr);
                let until = match (deadline, due) {
                    (Some(d), Some(u)) => Some(d.min(u)),
                    (d, u) => d.or(u),
                };
                let ready = fds::wait_readable(&fds, until);
                if ready & 0b10 != 0 {
                    self.pump_stderr();
                }
                if let Drain::Inline(inline) = &mut self.drain
                    && inline.due.is_some_and(|u| u <= Instant::now())
                {
                    inline.flush();
                }
                if ready & 1 == 0 {
                    if ready == 0 && deadline.is_some_and(|d| d <= Instant::now()) {
                        return Err(Recv::TimedOut);
                    }
                    continue;
                }
            }
            return match read_frame(&mut self.output) {
                Ok(ReadFrame::Frame(f)) => Ok(f),
                Ok(ReadFrame::Eof) => Err(Recv::Closed),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(Recv::Garbage(format!(
                    "a frame larger than the limit of {MAX_FRAME_BYTES} bytes ({e})"
                ))),
                // A frame cut short, or a read that failed: it is gone.
                Err(_) => Err(Recv::Closed),
            };
        }
    }

    /// Reads what the child wrote to its stderr so far, when that is the
    /// worker's to read.
    fn pump_stderr(&mut self) {
        if let Drain::Inline(inline) = &mut self.drain {
            inline.pump(&self.stderr);
        }
    }

    /// Reads the zygote's reply for this life, once: its pid and pidfd.
    fn resolve(&mut self) {
        if let Parent::Zygote(zygote, pending) = &mut self.parent
            && let Some(seq) = pending.take()
            && let Ok(spawned) = zygote.borrow_mut().spawned(seq)
        {
            self.pid = Some(spawned.pid);
            self.pidfd = Some(spawned.pidfd);
        }
    }

    /// Whether the zygote was asked for this life and could not fork it.
    pub(super) fn never_started(&mut self) -> bool {
        self.resolve();
        self.pid.is_none()
    }

    /// Whether the child has exited (it stays waitable).
    pub(super) fn has_exited(&mut self) -> bool {
        self.resolve();
        match (&self.pidfd, self.pid) {
            (Some(pidfd), _) => fds::wait_exited(pidfd, Some(Instant::now())),
            (None, Some(pid)) => peek_exit(pid),
            (None, None) => true,
        }
    }

    /// Waits until the child has exited or `deadline` passes; true if it
    /// has exited.
    fn wait_exited(&mut self, deadline: Instant) -> bool {
        self.resolve();
        if let Some(pidfd) = &self.pidfd {
            return fds::wait_exited(pidfd, Some(deadline));
        }
        let mut pause = Duration::from_micros(20);
        while !self.has_exited() && Instant::now() < deadline {
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(2));
        }
        self.has_exited()
    }

    /// Kills the child now (it is confused; its status is ours to give).
    pub(super) fn kill(&mut self) {
        self.resolve();
        if self.reaped.is_none() {
            match (&self.pidfd, self.pid) {
                (Some(pidfd), _) => fds::kill(pidfd),
                // SAFETY: kill(2) of our own child, not reaped yet: the
                // pid is still that process's.
                (None, Some(pid)) => unsafe {
                    libc::kill(pid, libc::SIGKILL);
                },
                (None, None) => {}
            }
            let status = self.wait();
            self.reaped = Some(Ending {
                status,
                killed_by_us: true,
            });
        }
    }

    /// Reaps it (blocking): it has exited, or is about to. The zygote
    /// reaps its own children and says how they ended.
    fn wait(&mut self) -> Option<ExitStatus> {
        let pid = self.pid?;
        if let Parent::Zygote(zygote, _) = &self.parent {
            if let Some(pidfd) = &self.pidfd {
                fds::wait_exited(pidfd, None);
            }
            return zygote.borrow_mut().ended(pid);
        }
        let mut status = 0;
        loop {
            // SAFETY: waits for our own child; `status` is a valid int.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            if r == pid {
                return Some(ExitStatus::from_raw(status));
            }
            if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return None;
            }
        }
    }

    /// Reaps the child, which closed its end: lets it die by itself for up
    /// to [`EXIT_GRACE`] (its own status is the news), then kills it. Says
    /// how it ended and quotes its stderr.
    pub(super) fn end(mut self) -> (Ending, String) {
        self.input = None;
        if self.reaped.is_none() {
            if self.wait_exited(Instant::now() + EXIT_GRACE) {
                self.reaped = Some(Ending {
                    status: self.wait(),
                    killed_by_us: false,
                });
            } else {
                self.kill();
            }
        }
        let quote = match &mut self.drain {
            Drain::Thread(thread) => {
                let quote = self.stderr.quote(STDERR_GRACE);
                if let Some(d) = thread.take().filter(|d| d.is_finished()) {
                    let _ = d.join();
                }
                quote
            }
            Drain::Inline(inline) => {
                // It is gone: what it wrote is in the pipe (unless a
                // process it started still holds it, which is not waited
                // for). Its words go in the quote, not in the copy.
                inline.pump(&self.stderr);
                inline.unsent.clear();
                self.stderr.close();
                self.stderr.quote(Duration::ZERO)
            }
        };
        let ending = self.reaped.unwrap_or(Ending {
            status: None,
            killed_by_us: false,
        });
        (ending, quote)
    }

    /// Closes its input (the normal end: the child destroys the plugin and
    /// exits) and reaps it; what it wrote to stderr is copied.
    pub(super) fn close(mut self) {
        self.input = None;
        if let Drain::Inline(inline) = &mut self.drain {
            if self
                .pidfd
                .as_ref()
                .is_some_and(|p| fds::wait_exited(p, Some(Instant::now() + EXIT_GRACE)))
            {
                inline.pump(&self.stderr);
            }
            inline.flush();
        }
        self.end();
    }
}

/// Writes one payload as a frame (its length, then the payload).
pub(super) fn put_frame(output: &mut File, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a frame too large to send"))?;
    output.write_all(&len.to_le_bytes())?;
    output.write_all(payload)
}

/// The child: the worker's channel closed, stdout and stderr to the
/// worker's pipe, then one life of the plugin (or, for the first, maybe
/// the zygote and then one life each of the children it forks). Returns
/// its exit code.
fn child(
    worker_pid: libc::pid_t,
    worker: &Channel,
    calling: &CallingSlot,
    (input, output, stderr): (OwnedFd, OwnedFd, OwnedFd),
    first: bool,
    zygote: Option<OwnedFd>,
) -> i32 {
    // SAFETY: closes the worker's channel descriptors in this child only
    // (the worker's own `File`s are never used or dropped here: this
    // process _exits).
    unsafe {
        libc::close(worker.input.as_raw_fd());
        libc::close(worker.output.as_raw_fd());
    }
    if become_plugin_process(worker_pid, stderr).is_err() {
        return exit_code::OK;
    }
    let mut channel = Channel {
        input: File::from(input),
        output: File::from(output),
    };
    match serve_life(&mut channel, calling, first, zygote) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("keycompat __worker (plugin process): {message}");
            let _ = channel.output.write_all(&wire::encode_error(&message));
            exit_code::PROTOCOL
        }
    }
}
