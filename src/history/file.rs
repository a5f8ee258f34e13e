//! The history file: JSON Lines, one [`Record`] per run, append-only.
//!
//! Reading never fails on a line: a line that is not a record of this
//! schema (a corrupted byte, a merge conflict marker, a line of another
//! tool, a record of a newer keycompat) is reported with its line number
//! and skipped, and the file is never rewritten to "repair" it: it is the
//! evidence, and may be under version control. Only a file that cannot be
//! read at all is an error.
//!
//! Appending writes the whole file anew beside it and renames it over the
//! old one (see [`crate::report::write_atomic`]), so a reader, a CI upload
//! or a crash mid-write sees the history before or after the record, never
//! half a record. The old bytes are copied unchanged; only a last line
//! without its newline (a torn write of another tool) gets one, so the new
//! record starts on a line of its own.

use std::path::{Path, PathBuf};

use super::record::{Problem, Record, SCHEMA};

/// The history file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file exists but cannot be read (a directory, no permission).
    #[error("{}: cannot read the history: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The record could not be appended.
    #[error("{}: cannot append to the history: {message}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// The records of a history file, in file order, and the lines skipped.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The file.
    pub path: PathBuf,
    /// Whether it exists (a missing file is an empty history).
    pub exists: bool,
    /// Each record with its line number.
    pub records: Vec<(u64, Record)>,
    /// Lines that are not records.
    pub problems: Vec<Problem>,
}

impl History {
    /// The records alone, in file order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.iter().map(|(_, r)| r)
    }
}

/// Reads a history file; a missing file is an empty history.
pub fn read(path: &Path) -> Result<History, HistoryError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(History {
                path: path.to_path_buf(),
                ..History::default()
            });
        }
        Err(source) => {
            return Err(HistoryError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut history = History {
        path: path.to_path_buf(),
        exists: true,
        ..History::default()
    };
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = i as u64 + 1;
        match parse_line(line) {
            Ok(None) => {}
            Ok(Some(r)) => history.records.push((number, r)),
            Err(message) => history.problems.push(Problem {
                line: number,
                message,
            }),
        }
    }
    Ok(history)
}

/// One line: `None` when blank, else a record or why it is not one.
fn parse_line(line: &[u8]) -> Result<Option<Record>, String> {
    let text = std::str::from_utf8(line)
        .map_err(|e| format!("not UTF-8 (a bad byte at column {})", e.valid_up_to() + 1))?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a JSON record ({e})"))?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(format!(
                "a record of schema {other:?}, this keycompat reads {SCHEMA:?}"
            ));
        }
        None => {
            return Err(format!(
                "not a keycompat history record (no \"schema\": {SCHEMA:?})"
            ));
        }
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| format!("not a valid {SCHEMA} record: {e}"))
}

/// Appends `record` as one line, atomically (the file is created, with its
/// directory, when missing).
pub fn append(path: &Path, record: &Record) -> Result<(), HistoryError> {
    let write_error = |message: String| HistoryError::Write {
        path: path.to_path_buf(),
        message,
    };
    let mut bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(write_error(e.to_string())),
    };
    if bytes.last().is_some_and(|&b| b != b'\n') {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(record.to_line().as_bytes());
    bytes.push(b'\n');
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| write_error(e.to_string()))?;
    }
    crate::report::write_atomic(path, &bytes).map_err(|e| write_error(e.to_string()))
}
