//! The tail of a worker's stderr, kept so a crash finding can quote a
//! dying worker's last words (a plugin's assertion message, a sanitizer
//! report, a panic).
//!
//! A drain thread per worker reads the pipe as it fills, so a chatty plugin
//! never blocks on a full stderr pipe, and keeps only the last
//! [`STDERR_KEEP_BYTES`], so it cannot exhaust memory either.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How much of a worker's stderr is kept.
const STDERR_KEEP_BYTES: usize = 16 * 1024;
/// How much of it a failure message quotes.
const STDERR_QUOTE_BYTES: usize = 1500;

/// The tail of a worker's stderr, filled by a drain thread.
#[derive(Default)]
pub(super) struct StderrTail {
    state: Mutex<TailState>,
    closed: Condvar,
}

#[derive(Default)]
struct TailState {
    bytes: VecDeque<u8>,
    dropped: bool,
    eof: bool,
}

impl StderrTail {
    /// Reads `stderr` to its end, keeping the tail; each chunk is also
    /// written to `copy` first, when given (a worker passing its plugin
    /// child's words on to the coordinator).
    pub(super) fn drain(self: Arc<Self>, mut stderr: impl Read, mut copy: Option<File>) {
        let mut buf = [0u8; 8192];
        loop {
            let n = match stderr.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            self.push(&buf[..n], copy.as_mut());
        }
        self.close();
    }

    /// Keeps `bytes`, read from the stderr, after writing them to `copy`
    /// when given.
    pub(super) fn push(&self, bytes: &[u8], copy: Option<&mut File>) {
        if let Some(c) = copy {
            // Best effort: a coordinator that stopped reading loses the
            // copy, never the tail.
            let _ = c.write_all(bytes);
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.bytes.extend(bytes);
        let excess = s.bytes.len().saturating_sub(STDERR_KEEP_BYTES);
        if excess > 0 {
            s.bytes.drain(..excess);
            s.dropped = true;
        }
    }

    /// The stderr reached its end (or will not be read further).
    pub(super) fn close(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.eof = true;
        self.closed.notify_all();
    }

    /// Waits up to `wait` for the pipe to close (so a dying worker's last
    /// words are in), then returns everything kept, lossily decoded.
    pub(super) fn all(&self, wait: Duration) -> String {
        let deadline = Instant::now() + wait;
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !s.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = self
                .closed
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let (a, b) = s.bytes.as_slices();
        let mut text = String::from_utf8_lossy(a).into_owned();
        text.push_str(&String::from_utf8_lossy(b));
        text
    }

    /// The last lines, on one line, for a failure message ("" if none).
    pub(super) fn quote(&self, wait: Duration) -> String {
        let text = self.all(wait);
        let text = text.trim();
        if text.is_empty() {
            return String::new();
        }
        let mut start = text.len().saturating_sub(STDERR_QUOTE_BYTES);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        let clipped = start > 0;
        let lines: Vec<&str> = text[start..]
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect();
        format!(
            "; stderr: {}{}",
            if clipped { "..." } else { "" },
            lines.join(" | ")
        )
    }
}
