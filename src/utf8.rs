//! Input files are UTF-8 text: where one is not, the line and column of
//! its first bad byte, so the user finds it in an editor (a config saved as
//! Latin-1, an export from a spreadsheet in the system code page).
//!
//! Only finds and describes the position; each reader (config, vector
//! files, exports) puts it into its own error with the file's name.

use std::fmt;
use std::io::BufRead;

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

/// The text of `bytes`, or where it stops being UTF-8.
pub fn decode(bytes: Vec<u8>) -> Result<String, NotUtf8> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        locate(bytes, e.utf8_error().valid_up_to(), 1)
    })
}

/// Reads `input` to its end, a line at a time (memory: the longest line),
/// and says where it first stops being UTF-8; `Ok(Ok(()))` when it never does.
pub fn check(mut input: impl BufRead) -> std::io::Result<Result<(), NotUtf8>> {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(Ok(()));
        }
        number += 1;
        if let Err(e) = std::str::from_utf8(&line) {
            return Ok(Err(locate(&line, e.valid_up_to(), number)));
        }
    }
}

/// The position of the bad byte at `bad` in `bytes`, whose first line is
/// line `first_line`; `bytes[..bad]` is UTF-8.
fn locate(bytes: &[u8], bad: usize, first_line: u64) -> NotUtf8 {
    let before = &bytes[..bad];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let newlines = before.iter().filter(|&&b| b == b'\n').count() as u64;
    // Valid UTF-8: count the bytes that start a character.
    let column = before[line_start..]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count() as u64;
    NotUtf8 {
        line: first_line + newlines,
        column: column + 1,
        byte: bytes[bad],
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
                column: 13,
                byte: 0xFC
            }
        );
        assert_eq!(
            e.to_string(),
            "line 2, column 13: byte 0xFC is not UTF-8; hint: save the file as UTF-8"
        );
        assert_eq!(decode(b"ok\n".to_vec()).unwrap(), "ok\n");
    }

    #[test]
    fn a_stream_is_checked_line_by_line() {
        let input: &[u8] = b"h1,h2\n1,2\n3,\xE9t\xE9\n\xFF\n";
        let e = check(input).unwrap().unwrap_err();
        assert_eq!((e.line, e.column, e.byte), (3, 3, 0xE9));
        assert_eq!(check(&b"a\nb"[..]).unwrap(), Ok(()));
        // A character cut by the end of the file is not UTF-8 either.
        let e = check(&b"ab\xE2\x82"[..]).unwrap().unwrap_err();
        assert_eq!((e.line, e.column, e.byte), (1, 3, 0xE2));
    }
}
