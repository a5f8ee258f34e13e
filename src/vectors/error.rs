//! Vector errors point at `file:line:column`, like a compiler: a broken
//! vector is a usage error (exit 2) that its author must be able to find at
//! once, in a file that may hold hundreds of vectors.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A problem in a vector file, at a position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
pub struct VectorError {
    /// The file (the vectors directory joined with the file's relative path).
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file or directory.
    pub line: usize,
    /// 1-based column, in characters; 0 with line 0.
    pub column: usize,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl VectorError {
    /// An error about a whole file or directory (no position).
    pub fn whole(file: &Path, message: impl Into<String>) -> Self {
        VectorError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }
}

/// Turns byte offsets of one file's text into [`VectorError`]s.
///
/// Line starts are indexed once, so finding a position is a binary search:
/// a file of 30,000 vectors asks for one position per vector.
#[derive(Debug, Clone)]
pub(crate) struct Locator<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    /// Byte offset of the start of every line.
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    /// A locator for `text`, the contents of `file`.
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Locator {
            file,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        // The last line starting at or before `offset`.
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }

    /// An error at the start of `span`.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> VectorError {
        let (line, column) = self.position(span.start);
        VectorError {
            file: self.file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A TOML parse or schema error, at the span the parser reports.
    pub fn toml_error(&self, e: &toml::de::Error) -> VectorError {
        let span = e.span().unwrap_or(0..0);
        self.error(span, e.message().trim_end().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let l = Locator::new(Path::new("v.toml"), "ab\nzoë = 1\n");
        assert_eq!(l.position(0), (1, 1));
        assert_eq!(l.position(3), (2, 1));
        // "zoë " is 5 bytes, 4 characters.
        assert_eq!(l.position(8), (2, 5));
        assert_eq!(l.position(2), (1, 3), "the newline is on its line");
        assert_eq!(l.position(100), (3, 1), "past the end: the last line");
        assert_eq!(
            l.error(3..4, "bad").to_string(),
            "v.toml:2:1: bad".to_string()
        );
    }
}
