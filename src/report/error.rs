//! Why a report could not be written or read: one error type for every
//! format, naming the file it was about.
//!
//! Its own file so that the formats (`json.rs`, `atomic.rs`) and the report
//! module that drives them all name the same type without any of them
//! referring back to `mod.rs`.

use std::path::PathBuf;

/// A report could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading, writing, syncing or renaming a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not a JSON report of this schema.
    #[error("{}: not a keycompat JSON report: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde_json found, with line and column.
        source: serde_json::Error,
    },
    /// The report was written in another version of the format.
    #[error(
        "{}: report schema is {}, this keycompat reads {expected}; hint: re-run or merge with the keycompat version that wrote it",
        path.display(),
        found.as_deref().map(|f| format!("{f:?}")).unwrap_or_else(|| "missing (no \"schema\" field)".into())
    )]
    SchemaVersion {
        /// The file.
        path: PathBuf,
        /// The `schema` field found, if any.
        found: Option<String>,
        /// [`SCHEMA_VERSION`](crate::report::SCHEMA_VERSION).
        expected: &'static str,
    },
    /// A format could not be rendered (a bug in keycompat: please report it).
    #[error("{}: could not render the {format} report: {message}", path.display())]
    Render {
        /// The file it was meant for.
        path: PathBuf,
        /// `junit` or `html`.
        format: &'static str,
        /// The renderer's message.
        message: String,
    },
}
