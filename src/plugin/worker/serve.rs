//! One plugin life, in a worker's child (see `lives.rs`): loads the plugin
//! in-process and answers requests ([`serve_life`]) until its input
//! closes; or, as the plugin's zygote (`zygote.rs`), forks the lives that
//! do. Also the framing both the worker and its child read with.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use super::calling::CallingSlot;
use super::wire::{self, FrameWriter, MAX_FRAME_BYTES, Reader, WireError};
use super::zygote::{self, Role};
use crate::exit::worker as exit_code;
use crate::implementation::Implementation;
use crate::plugin::host::PluginImpl;
use crate::plugin::library;

/// Answers are sent once this many bytes are buffered, even if the batch
/// is not done: the coordinator decodes them while the plugin works on.
const FLUSH_BYTES: usize = 16 * 1024;

/// A protocol channel, on fds that the plugin does not know: the worker's
/// to its coordinator, or a plugin child's to its worker.
pub(super) struct Channel {
    pub(super) input: File,
    pub(super) output: File,
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

/// The hello frame (as read, to pass on) and what it says; `None` when the
/// input closed first.
pub(super) fn read_hello(input: &mut File) -> Result<Option<(Vec<u8>, wire::Hello)>, String> {
    let frame = match read_frame(input) {
        Ok(ReadFrame::Frame(f)) => f,
        Ok(ReadFrame::Eof) => return Ok(None),
        Err(e) => return Err(format!("reading the hello: {e}")),
    };
    let mut r = Reader::new(&frame);
    let tag = r.u8("tag").map_err(|e| e.to_string())?;
    if tag != wire::TAG_HELLO {
        return Err(format!("expected a hello, got message tag {tag}"));
    }
    let hello = wire::decode_hello(&mut r).map_err(|e| format!("bad hello: {e}"))?;
    Ok(Some((frame, hello)))
}

/// One life of the plugin, in the worker's child: loads it as the hello
/// says (hashing the file only in the `first` life, whose ready the
/// coordinator reads), answers ready, then every request until the input
/// closes, saying in `calling` which item's plugin call is running.
///
/// With `zygote` (the first life's end of its worker's control socket),
/// this process offers to become the plugin's zygote (`zygote.rs`): when
/// it can, it serves no request itself but forks the lives that do, each
/// of which returns from here at the end of its life (the zygote itself
/// when its worker is done).
pub(super) fn serve_life(
    channel: &mut Channel,
    calling: &CallingSlot,
    first: bool,
    zygote: Option<OwnedFd>,
) -> Result<i32, String> {
    let Some((_, hello)) = read_hello(&mut channel.input)? else {
        return Ok(exit_code::OK);
    };
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
    if let Some(control) = zygote {
        let forks = zygote::can_fork_lives();
        zygote::announce(&control, forks).map_err(|e| format!("sending the zygote's mode: {e}"))?;
        if forks {
            match zygote::run(control)? {
                Role::Done(code) => return Ok(code),
                // A life: the zygote's channel (closed here) gives way to
                // the life's own.
                Role::Life { input, output } => *channel = Channel { input, output },
            }
        }
    }
    serve_requests(&plugin, channel, hello.progress, calling)
}

/// Answers every request on `channel` until its input closes.
fn serve_requests(
    plugin: &PluginImpl,
    channel: &mut Channel,
    progress: Duration,
    calling: &CallingSlot,
) -> Result<i32, String> {
    loop {
        let frame = match read_frame(&mut channel.input) {
            Ok(ReadFrame::Frame(f)) => f,
            Ok(ReadFrame::Eof) => return Ok(exit_code::OK),
            Err(e) => return Err(format!("reading a request: {e}")),
        };
        serve(plugin, &frame, &mut channel.output, progress, calling)
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
