//! How a vendor describes its export: where the file is, its format, and the
//! mapping from its columns and values to our fields.
//!
//! These structs are what a vendor writes under `[sources.field_keys]` and
//! `[sources.orders]`. Our field names are enums, so a misspelt field under
//! `columns`, `values` or `absent` fails at parse time with the offending key
//! and its line; [`OrdersSource::check`] and [`FieldKeysSource::check`] then
//! catch what serde cannot see (a share outside (0, 1], a vocabulary that maps
//! to a product the catalog does not have).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::dates::DateFormat;
use super::fields::{FieldSet, KeyField, OrderField, Presence};
use crate::catalog::Catalog;

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// JSON Lines: one object per line.
    Jsonl,
}

impl Format {
    /// The format a file's extension implies: `.csv`, `.jsonl` or `.ndjson`.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// A value vocabulary: the export's value -> ours. Values not listed pass
/// through unchanged; mapping to `""` means empty (e.g. `"Unlimited" = ""`).
pub type Vocabulary = BTreeMap<String, String>;

fn default_share() -> f64 {
    1.0
}
fn default_delimiter() -> char {
    ','
}
fn default_separator() -> String {
    ";".into()
}

/// `[sources.field_keys]`: an export of keys already in customers' hands.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldKeysSource {
    /// The export, relative to the config file's directory.
    pub path: PathBuf,
    /// `csv` or `jsonl`; absent: from the extension.
    #[serde(default)]
    pub format: Option<Format>,
    /// Fraction of rows to use, in (0, 1], sampled with the run's seed.
    #[serde(default = "default_share")]
    pub share: f64,
    /// How dates are written; absent: `YYYY-MM-DD`.
    #[serde(default)]
    pub date_format: DateFormat,
    /// CSV field delimiter (one ASCII character).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Our field -> the export's column (CSV header name or JSON key);
    /// unmapped fields use our field name.
    #[serde(default)]
    pub columns: BTreeMap<KeyField, String>,
    /// Per field, the export's values -> ours.
    #[serde(default)]
    pub values: BTreeMap<KeyField, Vocabulary>,
    /// Optional fields the export has no column for (always empty).
    #[serde(default)]
    pub absent: BTreeSet<KeyField>,
}

/// `[sources.orders]`: an export of real orders, replayed through both systems.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersSource {
    /// The export, relative to the config file's directory.
    pub path: PathBuf,
    /// `csv` or `jsonl`; absent: from the extension.
    #[serde(default)]
    pub format: Option<Format>,
    /// Fraction of rows to use, in (0, 1], sampled with the run's seed.
    #[serde(default = "default_share")]
    pub share: f64,
    /// How dates are written; absent: `YYYY-MM-DD`.
    #[serde(default)]
    pub date_format: DateFormat,
    /// CSV field delimiter (one ASCII character).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// What separates features in the features cell.
    #[serde(default = "default_separator")]
    pub features_separator: String,
    /// Our field -> the export's column; unmapped fields use our field name.
    #[serde(default)]
    pub columns: BTreeMap<OrderField, String>,
    /// Per field, the export's values -> ours (for `features`: per feature).
    #[serde(default)]
    pub values: BTreeMap<OrderField, Vocabulary>,
    /// Optional fields the export has no column for (always empty).
    #[serde(default)]
    pub absent: BTreeSet<OrderField>,
}

/// A mapping that cannot work, naming the key relative to the source's table
/// (e.g. `values.product."Acme CAD"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {message}")]
pub struct MappingError {
    /// Dotted path of the offending key, relative to `[sources.<kind>]`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn mapping_error(field: impl Into<String>, message: impl Into<String>) -> MappingError {
    MappingError {
        field: field.into(),
        message: message.into(),
    }
}

/// The parts both kinds of source share, borrowed for the generic code.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape<'a, F> {
    pub path: &'a Path,
    pub format: Option<Format>,
    pub share: f64,
    pub delimiter: char,
    pub columns: &'a BTreeMap<F, String>,
    pub values: &'a BTreeMap<F, Vocabulary>,
    pub absent: &'a BTreeSet<F>,
}

impl<F: FieldSet> Shape<'_, F> {
    /// The export's path, resolved against the config file's directory.
    pub fn resolve(&self, base_dir: &Path) -> PathBuf {
        base_dir.join(self.path)
    }

    /// The format, from the setting or else the extension.
    pub fn format(&self) -> Result<Format, MappingError> {
        self.format
            .or_else(|| Format::from_extension(self.path))
            .ok_or_else(|| {
                mapping_error(
                    "format",
                    format!(
                        "cannot tell the format of {} from its extension; set format = \"csv\" or \"jsonl\"",
                        self.path.display()
                    ),
                )
            })
    }

    /// The export's column for a field, or `None` when the export lacks it.
    pub fn column(&self, field: F) -> Option<String> {
        if let Some(c) = self.columns.get(&field) {
            return Some(c.clone());
        }
        let absent = self.absent.contains(&field) || field.presence() == Presence::OptIn;
        (!absent).then(|| field.name().to_string())
    }

    /// Checks what serde cannot: ranges, contradictions, the catalog.
    pub fn check(&self, catalog: &Catalog) -> Result<(), MappingError> {
        if !(self.share > 0.0 && self.share <= 1.0) {
            return Err(mapping_error(
                "share",
                format!(
                    "{} is not a fraction in (0, 1]; hint: 0.25 uses a quarter of the rows",
                    self.share
                ),
            ));
        }
        let format = self.format()?;
        let d = self.delimiter;
        if !d.is_ascii() || matches!(d, '"' | '\n' | '\r') {
            return Err(mapping_error(
                "delimiter",
                format!(
                    "{d:?} cannot delimit CSV fields; use one ASCII character such as ',' or ';'"
                ),
            ));
        }
        if format == Format::Jsonl && d != default_delimiter() {
            return Err(mapping_error(
                "delimiter",
                "applies to CSV only; remove it for a JSON Lines export",
            ));
        }
        for (field, column) in self.columns {
            if column.is_empty() {
                return Err(mapping_error(
                    format!("columns.{}", field.name()),
                    "must name a column; hint: list the field in `absent` if the export has none",
                ));
            }
        }
        for field in self.absent {
            if field.presence() == Presence::Required {
                return Err(mapping_error(
                    "absent",
                    format!(
                        "{} is required and cannot be absent; map it under `columns`",
                        field.name()
                    ),
                ));
            }
            if self.columns.contains_key(field) {
                return Err(mapping_error(
                    "absent",
                    format!(
                        "{} is both mapped under `columns` and listed as absent",
                        field.name()
                    ),
                ));
            }
        }
        for (field, vocabulary) in self.values {
            if self.column(*field).is_none() {
                return Err(mapping_error(
                    format!("values.{}", field.name()),
                    format!("{} has no column to map values of", field.name()),
                ));
            }
            for (theirs, ours) in vocabulary {
                let key = format!("values.{}.{theirs:?}", field.name());
                check_vocabulary_target(field.name(), ours, catalog)
                    .map_err(|m| mapping_error(key, m))?;
            }
        }
        Ok(())
    }
}

/// Checks that a vocabulary maps to a value our side can use.
fn check_vocabulary_target(field: &str, ours: &str, catalog: &Catalog) -> Result<(), String> {
    let known = |items: Vec<&str>| items.join(", ");
    match field {
        "product" if catalog.product(ours).is_none() => Err(format!(
            "maps to {ours:?}, not a product of the catalog ({})",
            known(catalog.products.iter().map(|p| p.slug.as_str()).collect())
        )),
        "edition" if catalog.edition_code(ours).is_none() => Err(format!(
            "maps to {ours:?}, not an edition of the catalog ({})",
            known(catalog.editions.iter().map(String::as_str).collect())
        )),
        "features" if !ours.is_empty() && catalog.feature(ours).is_none() => Err(format!(
            "maps to {ours:?}, not a feature of the catalog (or \"\" to drop it)"
        )),
        "seats" if !ours.is_empty() && !matches!(ours.parse::<u32>(), Ok(n) if n > 0) => Err(
            format!("maps to {ours:?}, not a number of seats (or \"\" for unlimited)"),
        ),
        "version" if super::parse::parse_version(ours).is_err() => {
            Err(format!("maps to {ours:?}, not a version such as 7.2"))
        }
        _ => Ok(()),
    }
}

impl FieldKeysSource {
    pub(crate) fn shape(&self) -> Shape<'_, KeyField> {
        Shape {
            path: &self.path,
            format: self.format,
            share: self.share,
            delimiter: self.delimiter,
            columns: &self.columns,
            values: &self.values,
            absent: &self.absent,
        }
    }

    /// Checks the mapping against the catalog; the error names the key.
    pub fn check(&self, catalog: &Catalog) -> Result<(), MappingError> {
        self.shape().check(catalog)
    }

    /// The export's path, resolved against the config file's directory.
    pub fn resolved_path(&self, base_dir: &Path) -> PathBuf {
        self.shape().resolve(base_dir)
    }
}

impl OrdersSource {
    pub(crate) fn shape(&self) -> Shape<'_, OrderField> {
        Shape {
            path: &self.path,
            format: self.format,
            share: self.share,
            delimiter: self.delimiter,
            columns: &self.columns,
            values: &self.values,
            absent: &self.absent,
        }
    }

    /// Checks the mapping against the catalog; the error names the key.
    pub fn check(&self, catalog: &Catalog) -> Result<(), MappingError> {
        if self.features_separator.is_empty() {
            return Err(mapping_error(
                "features_separator",
                "must not be empty; the default is \";\"",
            ));
        }
        self.shape().check(catalog)
    }

    /// The export's path, resolved against the config file's directory.
    pub fn resolved_path(&self, base_dir: &Path) -> PathBuf {
        self.shape().resolve(base_dir)
    }
}
