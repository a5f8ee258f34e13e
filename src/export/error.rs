//! The two ways reading an export goes wrong: one row does not fit
//! ([`RowError`], an item of the stream: the run reports it and goes on), or
//! the file cannot be read at all ([`SourceError`], fatal).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::config::MappingError;

/// A row that does not fit the mapping. Never fatal: the stream goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct RowError {
    /// The export (resolved path).
    pub file: PathBuf,
    /// 1-based line where the row starts.
    pub line: u64,
    /// The export's column (CSV header name or JSON key), when one is at fault.
    pub column: Option<String>,
    /// The offending value as written in the export.
    pub value: Option<String>,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

/// Longest value a [`RowError`] prints (in characters); the field keeps all.
const SHOWN_VALUE_CHARS: usize = 80;

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(column) = &self.column {
            write!(f, "column {column:?}: ")?;
        }
        if let Some(value) = &self.value {
            if value.chars().count() > SHOWN_VALUE_CHARS {
                let head: String = value.chars().take(SHOWN_VALUE_CHARS).collect();
                write!(f, "value {head:?}...: ")?;
            } else {
                write!(f, "value {value:?}: ")?;
            }
        }
        f.write_str(&self.message)
    }
}

/// An export that cannot be read at all: fatal for this source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The mapping does not work (see [`MappingError`]).
    #[error("{path}: {source}", path = .path.display())]
    Mapping {
        /// The export.
        path: PathBuf,
        /// The problem, naming the config key.
        source: MappingError,
    },
    /// The file cannot be opened.
    #[error("{path}: cannot open: {source}; hint: `path` is relative to the config file's directory", path = .path.display())]
    Open {
        /// The export.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Reading failed part-way.
    #[error("{path}: cannot read after line {line}: {source}", path = .path.display())]
    Read {
        /// The export.
        path: PathBuf,
        /// The last line read.
        line: u64,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text (exported in another encoding): found
    /// before any row is read, so no row of it counts.
    #[error("{path}:{line}:{column}: byte 0x{byte:02X} is not UTF-8; hint: export the file as UTF-8", path = .path.display(), line = .at.line, column = .at.column, byte = .at.byte)]
    NotUtf8 {
        /// The export.
        path: PathBuf,
        /// Where its first bad byte is.
        at: crate::utf8::NotUtf8,
    },
    /// The header row is missing, not UTF-8, or ambiguous.
    #[error("{path}: {message}", path = .path.display())]
    Header {
        /// The export.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A column the mapping needs is not in the header.
    #[error(
        "{path}: no column {column:?} (for `{field}`) in the header; the header has {}; hint: map `columns.{field}` to one of them{}",
        header.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "),
        if *.optional { format!(", or list {field} in `absent`") } else { String::new() },
        path = .path.display()
    )]
    MissingColumn {
        /// The export.
        path: PathBuf,
        /// Our field.
        field: &'static str,
        /// The column looked for.
        column: String,
        /// Whether the field may be declared absent.
        optional: bool,
        /// The header's columns, in order.
        header: Vec<String>,
    },
}
