//! Line numbers of CSV records, as a text editor shows them.

use std::collections::VecDeque;
use std::io::Read;

/// A reader that remembers where line breaks are, to give each CSV record
/// the line it starts on.
///
/// The csv crate's own `Position::line` is off by one after a CRLF
/// terminator (BurntSushi/rust-csv#395) and does not count the blank lines
/// before a record; its byte offset is right up to the terminator bytes,
/// which are skipped here. Only breaks not yet passed are kept, so memory is
/// bounded by the csv crate's read-ahead plus the current record.
pub(crate) struct LineTracking<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// Offsets of `\r` and `\n` bytes not yet passed, with whether each is `\n`.
    breaks: VecDeque<(u64, bool)>,
    /// `\n` bytes passed.
    newlines: u64,
}

impl<R: Read> Read for LineTracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, b) in buf[..n].iter().enumerate() {
            if matches!(b, b'\r' | b'\n') {
                self.breaks.push_back((self.offset + i as u64, *b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl<R> LineTracking<R> {
    pub fn new(inner: R) -> Self {
        LineTracking {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            newlines: 0,
        }
    }

    /// The 1-based line of a record the csv crate says starts at byte
    /// `reported`: the first byte from there that is not a line break.
    /// Records must be asked for in file order.
    pub fn line_of(&mut self, reported: u64) -> u64 {
        let mut start = reported;
        while let Some(&(at, newline)) = self.breaks.front() {
            if at > start {
                break;
            }
            if at == start {
                start += 1;
            }
            self.newlines += u64::from(newline);
            self.breaks.pop_front();
        }
        self.newlines + 1
    }
}
