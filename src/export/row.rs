//! One row's cells, read by our field names through the mapping: the
//! column, the vocabulary, and a [`RowError`] that names both when a value
//! does not fit.

use std::path::Path;

use csv::StringRecord;
use serde_json::{Map, Value};

use super::config::Vocabulary;
use super::error::RowError;
use super::fields::FieldSet;
use crate::schemes::ed1::describe;

/// Where each of our fields is found in the export.
#[derive(Debug)]
pub(crate) struct Layout {
    /// The export's column per field index; `None` when the export lacks it.
    pub columns: Vec<Option<String>>,
    /// CSV only: the column's position in a record.
    pub positions: Vec<Option<usize>>,
    /// Vocabulary per field index.
    pub vocabularies: Vec<Option<Vocabulary>>,
}

/// The cells of one row.
#[derive(Debug)]
pub(crate) enum Cells {
    Csv(StringRecord),
    Json(Map<String, Value>),
}

/// One row's fields, by our field names.
pub(crate) struct Row<'a> {
    pub line: u64,
    pub file: &'a Path,
    pub cells: &'a Cells,
    pub layout: &'a Layout,
}

impl Row<'_> {
    /// The export's column for a field, if it has one.
    pub fn column<F: FieldSet>(&self, field: F) -> Option<&str> {
        self.layout.columns[field.index()].as_deref()
    }

    /// A row error about a field's column.
    pub fn error<F: FieldSet>(
        &self,
        field: F,
        value: Option<String>,
        message: impl Into<String>,
    ) -> RowError {
        RowError {
            file: self.file.to_path_buf(),
            line: self.line,
            column: self.column(field).map(String::from),
            value,
            message: message.into(),
        }
    }

    /// A row error about the row as a whole.
    pub fn row_error(&self, message: impl Into<String>) -> RowError {
        RowError {
            file: self.file.to_path_buf(),
            line: self.line,
            column: None,
            value: None,
            message: message.into(),
        }
    }

    /// A field's text as written: empty when the export lacks the column or
    /// the JSON value is null; JSON numbers as written.
    pub fn raw<F: FieldSet>(&self, field: F) -> Result<String, RowError> {
        let Some(column) = self.column(field) else {
            return Ok(String::new());
        };
        match self.cells {
            Cells::Csv(record) => Ok(self.layout.positions[field.index()]
                .and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_string()),
            Cells::Json(map) => match map.get(column) {
                None => {
                    Err(self.error(field, None, format!("missing key (for `{}`)", field.name())))
                }
                Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(other) => Err(self.error(
                    field,
                    Some(other.to_string()),
                    format!(
                        "expected a string, number or null, found {}",
                        describe(other)
                    ),
                )),
            },
        }
    }

    /// One value in our vocabulary: the field's mapping, or the value itself.
    pub fn translate<F: FieldSet>(&self, field: F, theirs: &str) -> String {
        self.layout.vocabularies[field.index()]
            .as_ref()
            .and_then(|v| v.get(theirs))
            .map_or_else(|| theirs.to_string(), Clone::clone)
    }

    /// A field as written and in our vocabulary; `None` when ours is empty.
    pub fn optional<F: FieldSet>(&self, field: F) -> Result<(String, Option<String>), RowError> {
        let raw = self.raw(field)?;
        let ours = self.translate(field, &raw);
        Ok((raw, (!ours.is_empty()).then_some(ours)))
    }

    /// A field that must have a value; returns the raw text too.
    pub fn required<F: FieldSet>(&self, field: F) -> Result<(String, String), RowError> {
        match self.optional(field)? {
            (raw, Some(ours)) => Ok((raw, ours)),
            (raw, None) => Err(self.error(
                field,
                (!raw.is_empty()).then_some(raw),
                format!("missing value (every row needs a {})", field.name()),
            )),
        }
    }

    /// A field parsed with `parse`; `None` when empty. A parse error names
    /// the column and the value as written.
    pub fn parsed<F: FieldSet, T>(
        &self,
        field: F,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, RowError> {
        let (raw, ours) = self.optional(field)?;
        ours.map(|v| parse(&v).map_err(|m| self.error(field, Some(raw), m)))
            .transpose()
    }

    /// A required field parsed with `parse`.
    pub fn parsed_required<F: FieldSet, T>(
        &self,
        field: F,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, RowError> {
        let (raw, ours) = self.required(field)?;
        parse(&ours).map_err(|m| self.error(field, Some(raw), m))
    }
}
