//! Report formats: what a run leaves behind for machines (JSON, JUnit XML)
//! and for people (Markdown for CI job summaries and pull requests,
//! self-contained HTML for release managers).
//!
//! Every format renders one [`RunResult`] and nothing else: no clock, no
//! environment, no file system beyond the output directory, so the same run
//! (or the same merged shards) renders byte-identical reports. The JSON
//! report is the format of record ([`SCHEMA_VERSION`], published as
//! `schema/keycompat-report-2.schema.json`); `keycompat merge` reads it back
//! with [`read_json`]. The other formats are views of it and are never read.
//!
//! [`write_all`] writes all four atomically (temporary file in the same
//! directory, fsync, rename), so CI never uploads a half-written report after
//! a crash, a timeout or Ctrl-C; and as one set, so the directory never holds
//! one run's `report.json` beside another run's `report.html`. A command
//! that writes reports first clears the previous ones ([`remove_previous`]),
//! so one that fails or is killed before it writes leaves no earlier report
//! to be taken for its own.
//!
//! This module must not decide anything: the verdict, the gates and the
//! waivers come judged in the [`RunResult`]; reports only show them.

mod atomic;
mod error;
mod grid;
mod html;
mod json;
mod junit;
mod markdown;
pub(crate) mod model;
mod svg;

use std::path::{Path, PathBuf};

use crate::run::RunResult;

pub use atomic::write as write_atomic;
pub use error::ReportError;
pub use html::{Throughput, ThroughputRow, render as render_html};
pub use json::{SCHEMA_VERSION, parse as parse_json, render as render_json};
pub use junit::render as render_junit;
pub use markdown::render as render_markdown;

/// File names [`write_all`] writes, in order.
pub const FILES: [&str; 4] = ["report.json", "junit.xml", "report.md", "report.html"];

/// Writes `report.json`, `junit.xml`, `report.md` and `report.html` into
/// `dir` (created if missing), each atomically and all as one set (see
/// [`atomic::write_set`]: no file of the reports they replace remains beside
/// them), and returns their paths in the order of [`FILES`].
///
/// Every file is rendered before the first is written, so a rendering error
/// leaves the directory as it was.
pub fn write_all(result: &RunResult, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let paths: Vec<PathBuf> = FILES.iter().map(|f| dir.join(f)).collect();
    let render_error = |i: usize, format, message: String| ReportError::Render {
        path: paths[i].clone(),
        format,
        message,
    };
    let contents = [
        render_json(result),
        render_junit(result).map_err(|m| render_error(1, "junit", m))?,
        render_markdown(result),
        render_html(
            result,
            result.throughput.as_ref().map(throughput_chart).as_ref(),
        )
        .map_err(|m| render_error(3, "html", m))?,
    ];
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let files: Vec<(&Path, &[u8])> = paths
        .iter()
        .zip(&contents)
        .map(|(p, text)| (p.as_path(), text.as_bytes()))
        .collect();
    atomic::write_set(&files)?;
    Ok(paths)
}

/// Removes the reports of an earlier command (the files of [`FILES`]) from
/// `dir`, except those in `keep` (a merge's own input), and returns the
/// paths removed. Called before a command's work, so that if it then fails
/// or is killed before [`write_all`], no earlier report is left to be read
/// as this command's.
pub fn remove_previous(dir: &Path, keep: &[PathBuf]) -> Result<Vec<PathBuf>, ReportError> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let mut removed = Vec::new();
    for path in FILES.iter().map(|f| dir.join(f)) {
        if keep.iter().any(|k| same(k, &path)) {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ReportError::Io { path, source }),
        }
    }
    Ok(removed)
}

/// Reads a JSON report written by [`write_all`] (or `keycompat merge`),
/// checking its `schema` before anything else so an old or foreign file gets
/// a clear error instead of a missing-field message.
pub fn read_json(path: &Path) -> Result<RunResult, ReportError> {
    let text = crate::utf8::read_file(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_json(&text, path)
}

/// Old vs new throughput as the HTML report's chart.
fn throughput_chart(b: &crate::bench::result::BenchResult) -> Throughput {
    Throughput {
        unit: "keys/s".to_string(),
        rows: b
            .comparisons
            .iter()
            .filter(|c| c.old.is_some() || c.new.is_some())
            .map(|c| ThroughputRow {
                label: format!(
                    "{} {}, {}, {} thr",
                    c.op.as_str(),
                    c.format,
                    c.hosting.as_str(),
                    c.threads
                ),
                old: c.old.map_or(0.0, |s| s.median),
                new: c.new.map_or(0.0, |s| s.median),
            })
            .collect(),
    }
}
