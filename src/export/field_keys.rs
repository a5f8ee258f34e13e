//! Field keys: keys already in customers' hands, each with the context it is
//! validated in. Every one must still validate in the new system with the
//! decode the old system gives (BACKWARD over real data).

use std::path::Path;

use serde::Serialize;

use super::config::FieldKeysSource;
use super::dates::DateFormat;
use super::error::{RowError, SourceError};
use super::fields::KeyField;
use super::parse::parse_version;
use super::row::Row;
use super::rows::RowReader;
use super::sampling::Stats;
use crate::catalog::Catalog;
use crate::date::Day;
use crate::verdict::Context;

/// A key from the field, with its validation context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldKey {
    /// 1-based line of the export where the row starts.
    pub line: u64,
    /// The key exactly as written (whitespace and all: validators must cope).
    pub key: String,
    /// Product, version, day and host the key is validated with.
    pub context: Context,
}

/// Streams the field keys of an export: each item is a key or the reason its
/// row does not fit; a [`SourceError`] ends the stream.
pub struct FieldKeyReader {
    rows: RowReader,
    parser: FieldKeyParser,
}

/// What turns a row into a [`FieldKey`].
struct FieldKeyParser {
    catalog: Catalog,
    default_today: Day,
    date_format: DateFormat,
}

impl FieldKeyReader {
    /// Opens the export of `source` (its path relative to `base_dir`, the
    /// config file's directory), checking the mapping and, for CSV, the
    /// header. Rows are sampled with `seed`; `default_today` is the day of
    /// keys whose row gives none (no `today` column, or an empty cell).
    pub fn open(
        source: &FieldKeysSource,
        base_dir: &Path,
        catalog: &Catalog,
        seed: u64,
        default_today: Day,
    ) -> Result<Self, SourceError> {
        if let Err(mapping) = source.check(catalog) {
            return Err(SourceError::Mapping {
                path: source.resolved_path(base_dir),
                source: mapping,
            });
        }
        Ok(FieldKeyReader {
            rows: RowReader::open(&source.shape(), base_dir, seed)?,
            parser: FieldKeyParser {
                catalog: catalog.clone(),
                default_today,
                date_format: source.date_format.clone(),
            },
        })
    }

    /// Counts so far; final once the iterator returned `None`.
    pub fn stats(&self) -> Stats {
        self.rows.stats
    }

    /// The export (resolved path).
    pub fn path(&self) -> &Path {
        self.rows.path()
    }
}

impl FieldKeyParser {
    fn parse(&self, row: &Row<'_>) -> Result<FieldKey, RowError> {
        let (_, key) = row.required(KeyField::Key)?;
        let (raw_product, product) = row.required(KeyField::Product)?;
        if self.catalog.product(&product).is_none() {
            return Err(row.error(
                KeyField::Product,
                Some(raw_product),
                unknown_product(&product, &self.catalog),
            ));
        }
        let version = row.parsed_required(KeyField::Version, parse_version)?;
        let today = row
            .parsed(KeyField::Today, |t| self.date_format.parse(t))?
            .unwrap_or(self.default_today);
        let (_, host_id) = row.optional(KeyField::HostId)?;
        Ok(FieldKey {
            line: row.line,
            key,
            context: Context {
                product,
                version,
                today,
                host_id,
            },
        })
    }
}

/// The message for a product that is not in the catalog after the vocabulary.
pub(crate) fn unknown_product(product: &str, catalog: &Catalog) -> String {
    let known: Vec<&str> = catalog.products.iter().map(|p| p.slug.as_str()).collect();
    format!(
        "unknown product {product:?}; the catalog has {}; hint: map it under `values.product`",
        known.join(", ")
    )
}

impl std::iter::FusedIterator for FieldKeyReader {}

impl Iterator for FieldKeyReader {
    type Item = Result<Result<FieldKey, RowError>, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next_item(|row| self.parser.parse(row))
    }
}
