//! Input files are UTF-8 text: where one is not, the line and column of
//! its first bad byte, so the user finds it in an editor (a config saved as
//! Latin-1, an export from a spreadsheet in the system code page).
//!
//! Only finds and describes the position; each reader (config, vector
//! files, exports) puts it into its own error with the file's name.

use std::fmt;
use std::io::{self, Read};

/// Where a file stops being UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct NotUtf8 {
    /// 1-based line of the first byte that is not UTF-8.
    pub line: u64,
    /// 1-based column, in characters, of that byte.
    pub column: u64,
    /// The byte.
    pub byte: u8,
}

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: byte 0x{:02X} is not UTF-8; hint: save the file as UTF-8",
            self.line, self.column, self.byte
        )
    }
}

impl NotUtf8 {
    /// The [`NotUtf8`] an I/O error of a [`Checked`] reader carries, however
    /// deeply a reader on top of it (the csv crate) wrapped it.
    pub fn in_io_error(e: &io::Error) -> Option<NotUtf8> {
        let mut inner: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|e| e as _);
        while let Some(e) = inner {
            if let Some(found) = e.downcast_ref::<NotUtf8>() {
                return Some(*found);
            }
            if let Some(io) = e.downcast_ref::<io::Error>() {
                inner = io.get_ref().map(|e| e as _);
            } else {
                inner = e.source();
            }
        }
        None
    }
}

/// Reads the file at `path` as text; a file that is not UTF-8 is an
/// `InvalidData` error saying where it stops being UTF-8 (std's own error
/// says only that it is not).
pub fn read_file(path: &std::path::Path) -> io::Result<String> {
    let bytes = std::fs::read(path)?;
    decode(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The text of `bytes`, or where it stops being UTF-8.
pub fn decode(bytes: Vec<u8>) -> Result<String, NotUtf8> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let mut position = Position::default();
        position.advance(&e.as_bytes()[..valid]);
        position.at(e.as_bytes()[valid])
    })
}

/// Reads `input` to its end and says where it first stops being UTF-8;
/// `Ok(Ok(()))` when it never does.
pub fn check(input: impl Read) -> io::Result<Result<(), NotUtf8>> {
    match io::copy(&mut Checked::new(input), &mut io::sink()) {
        Ok(_) => Ok(Ok(())),
        Err(e) => NotUtf8::in_io_error(&e).map(Err).ok_or(e),
    }
}

/// The line and column reached so far.
#[derive(Debug, Clone, Copy)]
struct Position {
    line: u64,
    /// Characters of the line so far.
    column: u64,
}

impl Default for Position {
    fn default() -> Self {
        Position { line: 1, column: 0 }
    }
}

impl Position {
    /// Moves past `valid`, which is UTF-8.
    fn advance(&mut self, valid: &[u8]) {
        for &b in valid {
            if b == b'\n' {
                self.line += 1;
                self.column = 0;
            } else if b & 0xC0 != 0x80 {
                // A byte that starts a character.
                self.column += 1;
            }
        }
    }

    /// The next byte, `byte`, is not UTF-8.
    fn at(&self, byte: u8) -> NotUtf8 {
        NotUtf8 {
            line: self.line,
            column: self.column + 1,
            byte,
        }
    }
}

/// A reader that passes the bytes of `inner` through and fails at the first
/// one that is not UTF-8, with an [`io::ErrorKind::InvalidData`] error
/// carrying its [`NotUtf8`] (find it with [`NotUtf8::in_io_error`]). Reads as
/// the consumer reads: a pipe is checked as it streams.
pub struct Checked<R> {
    inner: R,
    position: Position,
    /// The start of a character cut by the end of the last read.
    pending: Vec<u8>,
    failed: Option<NotUtf8>,
}

impl<R> Checked<R> {
    /// Checks what `inner` yields.
    pub fn new(inner: R) -> Self {
        Checked {
            inner,
            position: Position::default(),
            pending: Vec::with_capacity(4),
            failed: None,
        }
    }

    fn fail(&mut self, byte: u8) -> io::Error {
        let e = self.position.at(byte);
        self.failed = Some(e);
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    /// Checks the next bytes read.
    fn scan(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !self.pending.is_empty() {
            let Some((&b, rest)) = bytes.split_first() else {
                return Ok(());
            };
            self.pending.push(b);
            bytes = rest;
            match std::str::from_utf8(&self.pending) {
                Ok(_) => {
                    self.position.advance(&self.pending);
                    self.pending.clear();
                }
                Err(e) if e.error_len().is_none() => {}
                Err(_) => return Err(self.fail(self.pending[0])),
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => self.position.advance(bytes),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                self.position.advance(valid);
                match e.error_len() {
                    None => self.pending.extend_from_slice(rest),
                    Some(_) => return Err(self.fail(rest[0])),
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.failed {
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            if let Some(&first) = self.pending.first() {
                // A character cut by the end of the file.
                return Err(self.fail(first));
            }
            return Ok(0);
        }
        self.scan(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bad_byte_is_located_by_line_and_character() {
        let e = decode(b"a = 1\nname = \"Zo\xC3\xAB M\xFCller\"\n".to_vec()).unwrap_err();
        assert_eq!(
            e,
            NotUtf8 {
                line: 2,
                column: 14,
                byte: 0xFC
            }
        );
        assert_eq!(
            e.to_string(),
            "line 2, column 14: byte 0xFC is not UTF-8; hint: save the file as UTF-8"
        );
        assert_eq!(decode(b"ok\n".to_vec()).unwrap(), "ok\n");
    }

    /// Yields one byte per read: every character is cut by a read.
    struct ByteByByte<'a>(&'a [u8]);

    impl Read for ByteByByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&b, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = b;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn a_stream_is_checked_as_it_is_read_whatever_the_reads() {
        let input: &[u8] = "h1,h2\nZoë,ش\n3,\u{1F600}\u{e9}t\u{e9}\n".as_bytes();
        let bad = [input, b"\xE9x\n"].concat();
        for reader in [
            Box::new(&bad[..]) as Box<dyn Read>,
            Box::new(ByteByByte(&bad)),
        ] {
            let e = check(reader).unwrap().unwrap_err();
            assert_eq!((e.line, e.column, e.byte), (4, 1, 0xE9));
        }
        assert_eq!(check(ByteByByte(input)).unwrap(), Ok(()));
        // A character cut by the end of the file is not UTF-8 either.
        let e = check(ByteByByte(b"ab\xE2\x82")).unwrap().unwrap_err();
        assert_eq!((e.line, e.column, e.byte), (1, 3, 0xE2));
        // A character cut by a bad byte.
        let e = check(ByteByByte(b"a\nb\xE2A")).unwrap().unwrap_err();
        assert_eq!((e.line, e.column, e.byte), (2, 2, 0xE2));
        // The valid bytes pass through unchanged.
        let mut out = Vec::new();
        Checked::new(ByteByByte(input))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn the_position_survives_wrapping_in_other_errors() {
        let mut checked = Checked::new(&b"x\xFF"[..]);
        let e = checked.read_to_end(&mut Vec::new()).unwrap_err();
        let wrapped = io::Error::other(io::Error::other(e));
        assert_eq!(
            NotUtf8::in_io_error(&wrapped).map(|e| (e.line, e.column)),
            Some((1, 2))
        );
        assert_eq!(NotUtf8::in_io_error(&io::Error::other("x")), None);
    }
}
