//! The worker's side: `keycompat __worker`. Moves the protocol off fds 0 and
//! 1 and hands over to `lives.rs`, which runs the plugin in a forked child
//! per life; each child loads the plugin in-process and answers requests
//! ([`serve_life`]) until its input closes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::time::{Duration, Instant};

use super::calling::CallingSlot;
use super::wire::{self, FrameWriter, MAX_FRAME_BYTES, Reader, WireError};
use crate::exit::worker as exit_code;
use crate::implementation::Implementation;
use crate::plugin::host::PluginImpl;
use crate::plugin::library;

/// Answers are sent once this many bytes are buffered, even if the batch
/// is not done: the coordinator decodes them while the plugin works on.
const FLUSH_BYTES: usize = 16 * 1024;

/// How often the worker checks whether its coordinator is gone.
const ORPHAN_CHECK: Duration = Duration::from_millis(500);

/// A protocol channel, on fds that the plugin does not know: the worker's
/// to its coordinator, or a plugin child's to its worker.
pub(super) struct Channel {
    pub(super) input: File,
    pub(super) output: File,
}

/// Duplicates `fd` to a new close-on-exec descriptor >= 3.
fn dup_cloexec(fd: RawFd) -> io::Result<RawFd> {
    // SAFETY: F_DUPFD_CLOEXEC on an fd we were started with creates a new
    // descriptor; it touches no memory.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(new)
    }
}

/// Moves the protocol off fds 0 and 1 before any plugin code runs: a
/// plugin's `printf` then lands in stderr (fd 1 becomes a copy of fd 2) and
/// a plugin reading stdin reads /dev/null, so neither can corrupt the frames.
fn take_channel() -> io::Result<Channel> {
    let input = dup_cloexec(libc::STDIN_FILENO)?;
    let output = dup_cloexec(libc::STDOUT_FILENO)?;
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

pub(super) enum ReadFrame {
    Frame(Vec<u8>),
    Eof,
}

pub(super) fn read_frame(input: &mut File) -> io::Result<ReadFrame> {
    let mut header = [0u8; wire::HEADER_BYTES];
    let mut got = 0;
    while got < header.len() {
        match input.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(ReadFrame::Eof),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is larger than the limit of {MAX_FRAME_BYTES}"),
        ));
    }
    let mut payload = vec![0u8; len];
    input.read_exact(&mut payload)?;
    Ok(ReadFrame::Frame(payload))
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
    match super::lives::supervise(&mut channel) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("keycompat __worker: {message}");
            // The coordinator may still be listening: tell it why, if we can.
            let _ = channel.output.write_all(&wire::encode_error(&message));
            exit_code::PROTOCOL
        }
    }
}

/// One life of the plugin, in the worker's child: loads it as the hello
/// says (hashing the file only in the `first` life, whose ready the
/// coordinator reads), answers ready, then every request until the input
/// closes, saying in `calling` which item's plugin call is running.
pub(super) fn serve_life(
    channel: &mut Channel,
    calling: &CallingSlot,
    first: bool,
) -> Result<i32, String> {
    let hello = match read_frame(&mut channel.input) {
        Ok(ReadFrame::Frame(f)) => f,
        Ok(ReadFrame::Eof) => return Ok(exit_code::OK),
        Err(e) => return Err(format!("reading the hello: {e}")),
    };
    let mut r = Reader::new(&hello);
    let tag = r.u8("tag").map_err(|e| e.to_string())?;
    if tag != wire::TAG_HELLO {
        return Err(format!("expected a hello, got message tag {tag}"));
    }
    let hello = wire::decode_hello(&mut r).map_err(|e| format!("bad hello: {e}"))?;
    let loaded = library::load_hashed(&hello.plugin, first)
        .and_then(|p| PluginImpl::new(p, &hello.settings));
    let plugin = match loaded {
        Ok(p) => p,
        Err(e) => {
            channel
                .output
                .write_all(&wire::encode_load_failed(&e))
                .map_err(|e| format!("sending the load failure: {e}"))?;
            return Ok(exit_code::LOAD_FAILED);
        }
    };
    channel
        .output
        .write_all(&wire::encode_ready(plugin.info()))
        .map_err(|e| format!("sending ready: {e}"))?;
    loop {
        let frame = match read_frame(&mut channel.input) {
            Ok(ReadFrame::Frame(f)) => f,
            Ok(ReadFrame::Eof) => return Ok(exit_code::OK),
            Err(e) => return Err(format!("reading a request: {e}")),
        };
        serve(
            &plugin,
            &frame,
            &mut channel.output,
            hello.progress,
            calling,
        )
        .map_err(|e| format!("bad request: {e}"))?;
    }
}

/// Streams the answers to one request: a results frame whenever
/// [`FLUSH_BYTES`] are buffered or `progress` has passed since the last
/// frame, and always at the end (with `done` set).
struct Answers<'a> {
    output: &'a mut File,
    progress: Duration,
    frame: FrameWriter,
    first: u32,
    count: u32,
    last_sent: Instant,
}

impl<'a> Answers<'a> {
    fn new(output: &'a mut File, progress: Duration) -> Self {
        Answers {
            output,
            progress,
            frame: wire::start_results(0),
            first: 0,
            count: 0,
            last_sent: Instant::now(),
        }
    }

    fn push(&mut self, put: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        put(self.frame.buf());
        self.count += 1;
        if self.frame.payload_len() >= FLUSH_BYTES || self.last_sent.elapsed() >= self.progress {
            self.flush(false)?;
        }
        Ok(())
    }

    fn flush(&mut self, done: bool) -> io::Result<()> {
        let next = self.first + self.count;
        let mut frame = std::mem::replace(&mut self.frame, wire::start_results(next));
        wire::patch_results(&mut frame, self.count, done);
        self.output.write_all(&frame.finish())?;
        self.first = next;
        self.count = 0;
        self.last_sent = Instant::now();
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("writing answers: {0}")]
    Io(#[from] io::Error),
    #[error("unknown request tag {0}")]
    Tag(u8),
}

fn serve(
    plugin: &PluginImpl,
    frame: &[u8],
    output: &mut File,
    progress: Duration,
    calling: &CallingSlot,
) -> Result<(), ServeError> {
    let mut r = Reader::new(frame);
    let tag = r.u8("tag")?;
    // Decode the whole request before calling the plugin, so a bad request
    // is refused whole rather than half answered.
    match tag {
        wire::TAG_GENERATE => {
            let n = r.count("entitlements", 1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(wire::read_entitlement(&mut r)?);
            }
            r.finish("generate request")?;
            let mut answers = Answers::new(output, progress);
            for (i, e) in items.iter().enumerate() {
                calling.enter(i);
                let res = plugin.generate(e);
                calling.leave();
                answers.push(|b| wire::put_generate_result(b, &res))?;
            }
            answers.flush(true)?;
        }
        wire::TAG_VALIDATE => {
            let n = r.count("keys", 1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(wire::read_validate_item(&mut r)?);
            }
            r.finish("validate request")?;
            let mut answers = Answers::new(output, progress);
            for (i, (key, context)) in items.iter().enumerate() {
                calling.enter(i);
                let res = plugin.validate(key, context);
                calling.leave();
                answers.push(|b| wire::put_validate_result(b, &res))?;
            }
            answers.flush(true)?;
        }
        other => return Err(ServeError::Tag(other)),
    }
    Ok(())
}
