//! Rows of an export, one at a time, whatever the file format: CSV records or
//! JSON Lines objects, each with the line it starts on, sampled and counted.
//!
//! Nothing here knows what a field means: [`Row`] hands out a field's text
//! (after the vocabulary), and the readers of field keys and orders turn it
//! into values. The file is read through a buffer, one row at a time, so an
//! export of millions of lines never sits in memory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use csv::{ByteRecord, StringRecord};
use serde_json::{Map, Value};

use super::config::{Format, Shape};
use super::error::{RowError, SourceError};
use super::fields::{FieldSet, Presence};
use super::line_tracking::LineTracking;
use super::row::{Cells, Layout, Row};
use super::sampling::{Sampler, Stats};
use crate::schemes::ed1::describe;
use crate::utf8::{Checked, NotUtf8};

/// One data row as read, before its fields are interpreted.
#[derive(Debug)]
pub(crate) struct RawRow {
    /// 1-based line the row starts on.
    pub line: u64,
    /// The cells, or why the row cannot even be split into cells.
    pub cells: Result<Cells, RowError>,
}

enum Input {
    Csv {
        reader: csv::Reader<LineTracking<Checked<File>>>,
        record: ByteRecord,
        header: Vec<String>,
        /// The file's size, when it is a regular file: a record that ends
        /// there ran to the end of the file.
        size: Option<u64>,
    },
    Jsonl {
        reader: BufReader<Checked<File>>,
        buf: Vec<u8>,
        line: u64,
    },
}

/// Reads the rows of one export.
pub(crate) struct RowReader {
    path: PathBuf,
    input: Input,
    layout: Layout,
    sampler: Sampler,
    pub stats: Stats,
    done: bool,
}

impl RowReader {
    /// Opens the file of a checked mapping and, for CSV, reads and checks the
    /// header before any row.
    pub fn open<F: FieldSet>(
        shape: &Shape<'_, F>,
        base_dir: &Path,
        seed: u64,
    ) -> Result<Self, SourceError> {
        let path = shape.resolve(base_dir);
        let mapping = |source| SourceError::Mapping {
            path: path.clone(),
            source,
        };
        let format = shape.format().map_err(mapping)?;
        let open = || {
            File::open(&path).map_err(|source| SourceError::Open {
                path: path.clone(),
                source,
            })
        };
        let file = open()?;
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        if size.is_some() {
            // Read once before any row, so an export in another encoding
            // costs no run; a pipe can be read only once, and is checked as
            // it streams.
            check_utf8(open()?, &path)?;
        }
        let columns: Vec<Option<String>> = F::ALL.iter().map(|f| shape.column(*f)).collect();
        let vocabularies = F::ALL
            .iter()
            .map(|f| shape.values.get(f).cloned())
            .collect();
        let (input, positions) = match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(shape.delimiter as u8)
                    .flexible(true)
                    .from_reader(LineTracking::new(Checked::new(file)));
                let header = read_header(&mut reader, &path)?;
                let positions = locate::<F>(&columns, &header, &path)?;
                let input = Input::Csv {
                    reader,
                    record: ByteRecord::new(),
                    header,
                    size,
                };
                (input, positions)
            }
            Format::Jsonl => {
                let input = Input::Jsonl {
                    reader: BufReader::new(Checked::new(file)),
                    buf: Vec::new(),
                    line: 0,
                };
                (input, vec![None; F::ALL.len()])
            }
        };
        Ok(RowReader {
            path,
            input,
            layout: Layout {
                columns,
                positions,
                vocabularies,
            },
            sampler: Sampler::new(seed, shape.share),
            stats: Stats::default(),
            done: false,
        })
    }

    /// The export (resolved path).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A view of `raw` for reading fields.
    fn row<'a>(&'a self, line: u64, cells: &'a Cells) -> Row<'a> {
        Row {
            line,
            file: &self.path,
            cells,
            layout: &self.layout,
        }
    }

    /// The next sampled row read by `parse`, or why it does not fit (counted
    /// in [`Stats::errors`]); `None` at the end, and forever after a fatal error.
    pub fn next_item<T>(
        &mut self,
        parse: impl FnOnce(&Row<'_>) -> Result<T, RowError>,
    ) -> Option<Result<Result<T, RowError>, SourceError>> {
        let raw = match self.next_raw()? {
            Ok(raw) => raw,
            Err(fatal) => return Some(Err(fatal)),
        };
        let item = raw
            .cells
            .and_then(|cells| parse(&self.row(raw.line, &cells)));
        if item.is_err() {
            self.stats.errors += 1;
        }
        Some(Ok(item))
    }

    /// The next sampled row; `None` at the end, and forever after a fatal error.
    fn next_raw(&mut self) -> Option<Result<RawRow, SourceError>> {
        if self.done {
            return None;
        }
        let next = match &mut self.input {
            Input::Csv {
                reader,
                record,
                header,
                size,
            } => next_csv(
                reader,
                record,
                (header, *size),
                &self.path,
                &self.sampler,
                &mut self.stats,
            ),
            Input::Jsonl { reader, buf, line } => next_jsonl(
                reader,
                buf,
                line,
                &self.layout.columns,
                &self.path,
                &self.sampler,
                &mut self.stats,
            ),
        };
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// Reads the whole file: an export in another encoding is an error at its
/// first bad byte, not a row error on every line with an accent.
fn check_utf8(file: File, path: &Path) -> Result<(), SourceError> {
    crate::utf8::check(BufReader::with_capacity(1 << 16, file))
        .map_err(|source| read_error(path, 0, source))?
        .map_err(|at| SourceError::NotUtf8 {
            path: path.to_path_buf(),
            at,
        })
}

/// A failed read after `line`: the export's first byte that is not UTF-8
/// (found by [`Checked`] as it streams), or an I/O error.
fn read_error(path: &Path, line: u64, source: std::io::Error) -> SourceError {
    match NotUtf8::in_io_error(&source) {
        Some(at) => SourceError::NotUtf8 {
            path: path.to_path_buf(),
            at,
        },
        None => SourceError::Read {
            path: path.to_path_buf(),
            line,
            source,
        },
    }
}

/// [`read_error`] of a CSV reader's error.
fn csv_read_error(path: &Path, line: u64, e: csv::Error) -> SourceError {
    if let csv::ErrorKind::Io(io) = e.kind()
        && let Some(at) = NotUtf8::in_io_error(io)
    {
        return SourceError::NotUtf8 {
            path: path.to_path_buf(),
            at,
        };
    }
    read_error(path, line, e.into())
}

/// Reads the header row: it must exist and be UTF-8 (a leading BOM is dropped
/// by the csv crate).
fn read_header(
    reader: &mut csv::Reader<LineTracking<Checked<File>>>,
    path: &Path,
) -> Result<Vec<String>, SourceError> {
    let header = reader
        .byte_headers()
        .map_err(|e| csv_read_error(path, 0, e))?;
    if header.is_empty() {
        return Err(SourceError::Header {
            path: path.to_path_buf(),
            message: "the file is empty: a CSV export needs a header row naming its columns".into(),
        });
    }
    header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            std::str::from_utf8(name)
                .map(String::from)
                .map_err(|_| SourceError::Header {
                    path: path.to_path_buf(),
                    message: format!(
                        "the header's column {} is not UTF-8; hint: export the file as UTF-8",
                        i + 1
                    ),
                })
        })
        .collect()
}

/// The position of each mapped column in the header.
fn locate<F: FieldSet>(
    columns: &[Option<String>],
    header: &[String],
    path: &Path,
) -> Result<Vec<Option<usize>>, SourceError> {
    F::ALL
        .iter()
        .zip(columns)
        .map(|(field, column)| {
            let Some(column) = column else {
                return Ok(None);
            };
            let mut found = header.iter().enumerate().filter(|(_, h)| *h == column);
            match (found.next(), found.next()) {
                (Some((i, _)), None) => Ok(Some(i)),
                (Some((i, _)), Some((j, _))) => Err(SourceError::Header {
                    path: path.to_path_buf(),
                    message: format!(
                        "column {column:?} (for `{}`) appears twice in the header, as columns {} and {}",
                        field.name(),
                        i + 1,
                        j + 1
                    ),
                }),
                (None, _) => Err(SourceError::MissingColumn {
                    path: path.to_path_buf(),
                    field: field.name(),
                    column: column.clone(),
                    optional: field.presence() == Presence::Optional,
                    header: header.to_vec(),
                }),
            }
        })
        .collect()
}

fn next_csv(
    reader: &mut csv::Reader<LineTracking<Checked<File>>>,
    record: &mut ByteRecord,
    (header, size): (&[String], Option<u64>),
    path: &Path,
    sampler: &Sampler,
    stats: &mut Stats,
) -> Option<Result<RawRow, SourceError>> {
    loop {
        match reader.read_byte_record(record) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                return Some(Err(csv_read_error(path, reader.position().line(), e)));
            }
        }
        // The line the record starts on, even when a quoted field spans lines
        // (asked for every record: the tracker drops breaks as it goes).
        let reported = record.position().map_or(0, |p| p.byte());
        let line = reader.get_mut().line_of(reported);
        let misfit = record.len() != header.len();
        let at_end = size.is_some_and(|size| reader.position().byte() >= size);
        // A record of the wrong shape whose quoted value runs over lines is a
        // quote left open: the rows it swallowed are rows too, and did not
        // fit, so the denominator still counts every line of the export.
        let swallowed = if misfit {
            swallowed_rows(record, at_end)
        } else {
            Swallowed::default()
        };
        let first = stats.rows;
        stats.rows += 1 + swallowed.rows;
        let taken = (first..stats.rows)
            .filter(|&row| sampler.takes(row))
            .count() as u64;
        if taken == 0 {
            continue;
        }
        stats.sampled += taken;
        // One error is returned for the whole span; the others are counted here.
        stats.errors += taken - 1;
        let error = |column: Option<String>, message: String| RowError {
            file: path.to_path_buf(),
            line,
            column,
            value: None,
            message,
        };
        let cells = if misfit {
            let shape = format!(
                "has {} fields, the header has {}",
                record.len(),
                header.len()
            );
            let message = if swallowed.breaks > 0 {
                let last = line + swallowed.breaks;
                format!(
                    "a quoted value opened on line {line} is not closed before line {last}{}, \
                     so lines {line}-{last} were read as one row that {shape}; the {} rows \
                     after line {line} it swallowed count as rows that did not fit; hint: a \
                     value that starts with a quote must end with one, and a quote inside it \
                     is written twice (\"\")",
                    if at_end { " (the end of the file)" } else { "" },
                    swallowed.rows,
                )
            } else {
                format!("{shape}; hint: quote values that contain the delimiter")
            };
            Err(error(None, message))
        } else {
            StringRecord::from_byte_record(record.clone())
                .map(Cells::Csv)
                .map_err(|e| {
                    let column = header.get(e.utf8_error().field()).cloned();
                    error(
                        column,
                        "is not UTF-8; hint: export the file as UTF-8".into(),
                    )
                })
        };
        return Some(Ok(RawRow { line, cells }));
    }
}

/// What a record's quoted values hold beyond the line it starts on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Swallowed {
    /// Line breaks inside its values (`\r\n` is one).
    breaks: u64,
    /// Non-blank lines after the first: the rows an open quote swallowed.
    rows: u64,
}

/// The lines a record's values span after its first, as [`Swallowed`]; `at_end`:
/// the record runs to the end of the file, whose last line break (kept in an
/// unclosed quote) ends a line rather than starting one.
fn swallowed_rows(record: &ByteRecord, at_end: bool) -> Swallowed {
    let mut counted = Swallowed::default();
    let last = record.len().saturating_sub(1);
    for (n, mut field) in record.iter().enumerate() {
        if at_end && n == last {
            while let [rest @ .., b'\r' | b'\n'] = field {
                field = rest;
            }
        }
        // Whether a break was seen in this value, and the current line since
        // the last one has text.
        let (mut after_break, mut text) = (false, false);
        for (i, b) in field.iter().enumerate() {
            match b {
                b'\n' if i > 0 && field[i - 1] == b'\r' => {}
                b'\r' | b'\n' => {
                    counted.rows += u64::from(after_break && text);
                    counted.breaks += 1;
                    (after_break, text) = (true, false);
                }
                b if !b.is_ascii_whitespace() => text = true,
                _ => {}
            }
        }
        counted.rows += u64::from(after_break && text);
    }
    counted
}

fn next_jsonl(
    reader: &mut BufReader<Checked<File>>,
    buf: &mut Vec<u8>,
    line: &mut u64,
    columns: &[Option<String>],
    path: &Path,
    sampler: &Sampler,
    stats: &mut Stats,
) -> Option<Result<RawRow, SourceError>> {
    loop {
        buf.clear();
        match reader.read_until(b'\n', buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(source) => {
                return Some(Err(read_error(path, *line, source)));
            }
        }
        *line += 1;
        let mut text = buf.as_slice();
        if *line == 1 {
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        // Blank lines (a trailing newline, spacing) are not rows.
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        stats.rows += 1;
        if !sampler.takes(stats.rows - 1) {
            continue;
        }
        stats.sampled += 1;
        let error = |message: String| RowError {
            file: path.to_path_buf(),
            line: *line,
            column: None,
            value: Some(String::from_utf8_lossy(text).trim_end().to_string()),
            message,
        };
        let cells = match serde_json::from_slice::<Value>(text) {
            Ok(Value::Object(map)) => match missing_keys(&map, columns) {
                None => Ok(Cells::Json(map)),
                Some((first, message)) => Err(RowError {
                    column: Some(first),
                    value: None,
                    message,
                    ..error(String::new())
                }),
            },
            Ok(other) => Err(error(format!(
                "is not a JSON object (found {}); each line must be one object",
                describe(&other)
            ))),
            Err(e) => Err(error(format!("is not valid JSON: {e}"))),
        };
        return Some(Ok(RawRow { line: *line, cells }));
    }
}

/// The first mapped key an object lacks, and a message listing all it lacks.
fn missing_keys(map: &Map<String, Value>, columns: &[Option<String>]) -> Option<(String, String)> {
    let missing: Vec<&String> = columns
        .iter()
        .flatten()
        .filter(|c| !map.contains_key(c.as_str()))
        .collect();
    let first = (*missing.first()?).clone();
    let quoted = |keys: Vec<&String>| {
        keys.iter()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some((
        first,
        format!(
            "missing key{} {}; this line has {}",
            if missing.len() > 1 { "s" } else { "" },
            quoted(missing),
            quoted(map.keys().collect())
        ),
    ))
}
