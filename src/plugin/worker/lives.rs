//! The worker's plugin lives: `keycompat __worker` never calls the plugin
//! itself. It forks a child per life, which loads the plugin and answers
//! requests ([`serve_life`]), and relays frames between the coordinator and
//! that child. When the child dies during a request, the worker tells the
//! coordinator how it ended, what it wrote to stderr, and which item's call
//! it was in (a word of shared memory, [`CallingSlot`]), and forks the next
//! life at once.
//!
//! Why: a crashing input used to cost a new worker (an exec of keycompat,
//! its dynamic linking, a `dlopen` and a hello: milliseconds of CPU) and,
//! when several items were unanswered, one more per suspect re-run alone. A
//! fork of this small process and a `dlopen` cost a fraction of that, and
//! knowing the item being called leaves one suspect to re-run alone. A
//! plugin that crashes on many inputs then costs little more than one that
//! does not.
//!
//! The child is forked *before* the plugin is loaded: every life loads it
//! anew, so no plugin thread, lock or state crosses a fork, and each life
//! starts as a freshly started worker would. The first life's ready (or
//! load failure) is the worker's; a first life that dies while loading
//! makes the worker end the same way, so the coordinator reports a load
//! crash as it always did. Hangs are the coordinator's to judge: it kills
//! the worker's process group, this child included.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::calling::CallingSlot;
use super::ending::Ending;
use super::process::{EXIT_GRACE, STDERR_GRACE, peek_exit};
use super::serve::{Channel, ReadFrame, read_frame, read_hello, serve_life};
use super::stderr::StderrTail;
use super::wire::{self, LifeEnded, MAX_FRAME_BYTES, Reader};
use crate::exit::worker as exit_code;

/// Runs the worker: the hello, then every request, each in the current
/// plugin life. Returns the worker's exit code.
pub(super) fn supervise(channel: &mut Channel) -> Result<i32, String> {
    let Some((hello, _)) = read_hello(&mut channel.input)? else {
        return Ok(exit_code::OK);
    };
    let calling = CallingSlot::new()
        .map_err(|e| format!("cannot share memory with the plugin process: {e}"))?;
    let mut first = Life::start(channel, &calling, &hello, true)
        .map_err(|e| format!("cannot start the plugin process: {e}"))?;
    match first.recv() {
        Ok(frame) => {
            write_frame(&mut channel.output, &frame)?;
            match frame.first() {
                Some(&wire::TAG_READY) => {}
                Some(&wire::TAG_LOAD_FAILED) => {
                    first.close();
                    return Ok(exit_code::LOAD_FAILED);
                }
                _ => {
                    first.close();
                    return Ok(exit_code::PROTOCOL);
                }
            }
        }
        Err(_) => {
            let (ending, _) = first.end();
            return Ok(end_like(ending));
        }
    }
    first.ready_pending = false;
    let mut workers = Lives {
        channel,
        calling: &calling,
        hello: &hello,
        current: Some(first),
    };
    loop {
        let request = match read_frame(&mut workers.channel.input) {
            Ok(ReadFrame::Frame(f)) => f,
            Ok(ReadFrame::Eof) => {
                if let Some(life) = workers.current.take() {
                    life.close();
                }
                return Ok(exit_code::OK);
            }
            Err(e) => return Err(format!("reading a request: {e}")),
        };
        if request.first() == Some(&wire::TAG_FRESH) {
            workers.fresh();
            continue;
        }
        workers.answer(&request)?;
    }
}

/// The worker's state between requests.
struct Lives<'a> {
    channel: &'a mut Channel,
    calling: &'a CallingSlot,
    hello: &'a [u8],
    /// The plugin child, when one is running (or starting).
    current: Option<Life>,
}

impl Lives<'_> {
    /// The next request runs in a life that served nothing before.
    fn fresh(&mut self) {
        if let Some(life) = self.current.take_if(|l| l.served) {
            life.close();
            self.next_life();
        }
    }

    /// Runs one request in the current life (starting one if needed) and
    /// relays its answers; a death is told with a life-ended message.
    fn answer(&mut self, request: &[u8]) -> Result<(), String> {
        let mut life = match self.current.take() {
            Some(life) => life,
            None => match Life::start(self.channel, self.calling, self.hello, false) {
                Ok(life) => life,
                Err(e) => {
                    return self.tell(LifeEnded {
                        idle: false,
                        calling: None,
                        garbage: false,
                        ending: format!("cannot start a new plugin process: {e}"),
                        quote: String::new(),
                    });
                }
            },
        };
        if !life.ready_pending && life.has_exited() {
            // Died between requests (a plugin thread, a signal from
            // outside): no item is concerned; go on in a fresh life.
            let (ending, quote) = life.end();
            self.tell(LifeEnded {
                idle: true,
                calling: None,
                garbage: false,
                ending: ending.describe(),
                quote,
            })?;
            self.current = None;
            return self.answer(request);
        }
        if life.ready_pending {
            match life.recv() {
                Ok(frame) if frame.first() == Some(&wire::TAG_READY) => life.ready_pending = false,
                Ok(frame) => {
                    let what = match frame.first() {
                        Some(&wire::TAG_LOAD_FAILED) => "failed to load the plugin again",
                        _ => "answered its hello with an unexpected message",
                    };
                    life.kill();
                    let (ending, quote) = life.end();
                    return self.tell(LifeEnded {
                        idle: false,
                        calling: None,
                        garbage: false,
                        ending: format!("a new plugin process {what} ({})", ending.describe()),
                        quote,
                    });
                }
                Err(_) => return self.died(life, "while loading the plugin again"),
            }
        }
        self.calling.leave();
        life.served = true;
        if life.send(request).is_err() {
            return self.died(life, "");
        }
        loop {
            match life.recv() {
                Ok(frame) => {
                    let results = frame.first() == Some(&wire::TAG_RESULTS);
                    let done = if results {
                        let Some(done) = results_done(&frame) else {
                            life.kill();
                            let what = "a results frame that does not decode".into();
                            return self.garbage(life, what);
                        };
                        done
                    } else {
                        false
                    };
                    write_frame(&mut self.channel.output, &frame)?;
                    if done {
                        self.current = Some(life);
                        return Ok(());
                    }
                    if !results {
                        // The child gave up (an error message): the
                        // coordinator takes the worker for broken.
                        life.kill();
                        life.end();
                        return Ok(());
                    }
                }
                Err(Recv::Closed) => return self.died(life, ""),
                Err(Recv::Garbage(what)) => {
                    life.kill();
                    return self.garbage(life, what);
                }
            }
        }
    }

    /// The child closed its end: it died (or is killed now). Tells how,
    /// with the item it was calling, and starts the next life.
    fn died(&mut self, life: Life, detail: &str) -> Result<(), String> {
        let (ending, quote) = life.end();
        let how = if ending.killed_by_us {
            "closed its end of the protocol and was killed".to_string()
        } else {
            ending.describe()
        };
        let ended = LifeEnded {
            idle: false,
            calling: self.calling.current(),
            garbage: false,
            ending: if detail.is_empty() {
                how
            } else {
                format!("{how} {detail}")
            },
            quote,
        };
        self.next_life();
        self.tell(ended)
    }

    /// The child sent something that is not a frame: a protocol failure.
    /// Which item was running is not trusted: the child went on after it.
    fn garbage(&mut self, life: Life, what: String) -> Result<(), String> {
        let (_, quote) = life.end();
        self.next_life();
        self.tell(LifeEnded {
            idle: false,
            calling: None,
            garbage: true,
            ending: what,
            quote,
        })
    }

    /// Starts the next life now, so it loads while the coordinator reads
    /// the news; a failure to start is met on the next request.
    fn next_life(&mut self) {
        self.current = Life::start(self.channel, self.calling, self.hello, false).ok();
    }

    fn tell(&mut self, ended: LifeEnded) -> Result<(), String> {
        // Encoded as a whole frame, length included.
        self.channel
            .output
            .write_all(&wire::encode_life_ended(&ended))
            .map_err(|e| format!("writing to the coordinator: {e}"))
    }
}

/// Whether a results frame is its request's last (`None`: it does not
/// decode).
fn results_done(frame: &[u8]) -> Option<bool> {
    let mut r = Reader::new(frame);
    r.u8("tag").ok()?;
    wire::read_results_header(&mut r).ok().map(|h| h.done)
}

/// Writes one payload as a frame (its length, then the payload).
fn put_frame(output: &mut File, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a frame too large to send"))?;
    output.write_all(&len.to_le_bytes())?;
    output.write_all(payload)
}

/// Writes one payload as a frame to the coordinator.
fn write_frame(output: &mut File, payload: &[u8]) -> Result<(), String> {
    put_frame(output, payload).map_err(|e| format!("writing to the coordinator: {e}"))
}

/// Ends this process the way the first plugin child ended (it died while
/// loading the plugin), so the coordinator describes it as before.
fn end_like(ending: Ending) -> i32 {
    let Some(status) = ending.status else {
        return exit_code::PROTOCOL;
    };
    if let Some(sig) = status.signal() {
        // SAFETY: resets one signal to its default action and raises it in
        // this process: the process ends as its child did.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
        return 128 + sig;
    }
    status.code().unwrap_or(exit_code::PROTOCOL)
}

/// Why no frame came from the child.
enum Recv {
    /// It closed its end (it died, most likely).
    Closed,
    /// It sent something that is not a frame.
    Garbage(String),
}

/// One plugin child: its pid, the pipes to it, and its stderr.
struct Life {
    pid: libc::pid_t,
    /// Requests to the child; `None` once closed.
    input: Option<File>,
    output: File,
    stderr: Arc<StderrTail>,
    drain: Option<JoinHandle<()>>,
    /// Its ready has not been read yet.
    ready_pending: bool,
    /// It was sent a request.
    served: bool,
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

impl Life {
    /// Forks a child that serves one life of the plugin and sends it the
    /// hello. Its ready is read later (`ready_pending`).
    fn start(
        channel: &Channel,
        calling: &CallingSlot,
        hello: &[u8],
        first: bool,
    ) -> io::Result<Life> {
        calling.leave();
        let (request_r, request_w) = pipe()?;
        let (answer_r, answer_w) = pipe()?;
        let (stderr_r, stderr_w) = pipe()?;
        // Our own stderr, for the child's words (a copy, so the drain
        // thread never takes std's stderr lock: a child forked while a
        // thread held it could never print).
        // SAFETY: F_DUPFD_CLOEXEC on fd 2 creates a new descriptor.
        let copy = unsafe { libc::fcntl(libc::STDERR_FILENO, libc::F_DUPFD_CLOEXEC, 3) };
        if copy < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `copy` was just created and is owned by nothing else.
        let copy = unsafe { File::from_raw_fd(copy) };
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
            drop((request_w, answer_r, stderr_r, copy));
            let code = child(
                worker_pid, channel, calling, request_r, answer_w, stderr_w, first,
            );
            // SAFETY: ends the child without running the worker's exit
            // handlers or unwinding into the worker's frames.
            unsafe { libc::_exit(code) };
        }
        drop((request_r, answer_w, stderr_w));
        let stderr = Arc::new(StderrTail::default());
        let tail = Arc::clone(&stderr);
        let drain = std::thread::Builder::new()
            .name(format!("kc-plugin-{pid}-stderr"))
            .spawn(move || tail.drain(File::from(stderr_r), Some(copy)))?;
        let mut life = Life {
            pid,
            input: Some(File::from(request_w)),
            output: File::from(answer_r),
            stderr,
            drain: Some(drain),
            ready_pending: true,
            served: false,
            reaped: None,
        };
        // A child that died already is found by the ready that never comes.
        let _ = life.send(hello);
        Ok(life)
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), ()> {
        let Some(input) = &mut self.input else {
            return Err(());
        };
        put_frame(input, payload).map_err(|_| ())
    }

    fn recv(&mut self) -> Result<Vec<u8>, Recv> {
        match read_frame(&mut self.output) {
            Ok(ReadFrame::Frame(f)) => Ok(f),
            Ok(ReadFrame::Eof) => Err(Recv::Closed),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(Recv::Garbage(format!(
                "a frame larger than the limit of {MAX_FRAME_BYTES} bytes ({e})"
            ))),
            // A frame cut short, or a read that failed: it is gone.
            Err(_) => Err(Recv::Closed),
        }
    }

    /// Whether the child has exited (it stays waitable).
    fn has_exited(&self) -> bool {
        peek_exit(self.pid)
    }

    /// Kills the child now (it is confused; its status is ours to give).
    fn kill(&mut self) {
        if self.reaped.is_none() {
            // SAFETY: kill(2) of our unreaped child: the pid is still ours.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let status = self.wait();
            self.reaped = Some(Ending {
                status,
                killed_by_us: true,
            });
        }
    }

    /// Reaps it (blocking).
    fn wait(&self) -> Option<ExitStatus> {
        let mut status = 0;
        loop {
            // SAFETY: waits for our own child; `status` is a valid int.
            let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if r == self.pid {
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
    fn end(mut self) -> (Ending, String) {
        self.input = None;
        if self.reaped.is_none() {
            let deadline = Instant::now() + EXIT_GRACE;
            let mut pause = Duration::from_micros(20);
            while !self.has_exited() && Instant::now() < deadline {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(2));
            }
            if self.has_exited() {
                self.reaped = Some(Ending {
                    status: self.wait(),
                    killed_by_us: false,
                });
            } else {
                self.kill();
            }
        }
        let quote = self.stderr.quote(STDERR_GRACE);
        if let Some(d) = self.drain.take().filter(|d| d.is_finished()) {
            let _ = d.join();
        }
        let ending = self.reaped.unwrap_or(Ending {
            status: None,
            killed_by_us: false,
        });
        (ending, quote)
    }

    /// Closes its input (the normal end: the child destroys the plugin and
    /// exits) and reaps it.
    fn close(self) {
        self.end();
    }
}

/// The child: the worker's channel closed, stdout and stderr to the
/// worker's pipe, then one life of the plugin. Returns its exit code.
fn child(
    worker_pid: libc::pid_t,
    worker: &Channel,
    calling: &CallingSlot,
    input: OwnedFd,
    output: OwnedFd,
    stderr: OwnedFd,
    first: bool,
) -> i32 {
    // SAFETY: closes the worker's channel descriptors in this child only
    // (the worker's own `File`s are never used or dropped here: this
    // process _exits), dup2s the stderr pipe over fds 1 and 2 (a plugin's
    // printf and its stderr both reach the worker), and drops the original.
    unsafe {
        libc::close(worker.input.as_raw_fd());
        libc::close(worker.output.as_raw_fd());
        if libc::dup2(stderr.as_raw_fd(), libc::STDOUT_FILENO) < 0
            || libc::dup2(stderr.as_raw_fd(), libc::STDERR_FILENO) < 0
        {
            return exit_code::PROTOCOL;
        }
    }
    drop(stderr);
    // SAFETY: prctl with plain values: "kc-plugin" names this process in ps
    // and top (a static NUL-terminated name, at most 16 bytes read); the
    // kernel kills it when the worker thread that forked it ends (the
    // worker's main thread, which only ends with the worker), cheaper than
    // a thread watching for orphanhood. getppid and _exit cannot fail.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, c"kc-plugin".as_ptr());
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // The worker may have died before the line above.
        if libc::getppid() != worker_pid {
            libc::_exit(exit_code::OK);
        }
    }
    let mut channel = Channel {
        input: File::from(input),
        output: File::from(output),
    };
    match serve_life(&mut channel, calling, first) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("keycompat __worker (plugin process): {message}");
            let _ = channel.output.write_all(&wire::encode_error(&message));
            exit_code::PROTOCOL
        }
    }
}
