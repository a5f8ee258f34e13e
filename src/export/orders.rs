//! Orders: real orders, each turned into the entitlement it sold, to be
//! replayed through both systems (dual-run). A row becomes an [`Order`] only
//! if its entitlement passes [`Entitlement::check`]; otherwise the row error
//! names the export's column of the failing field.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use super::config::OrdersSource;
use super::dates::DateFormat;
use super::error::{RowError, SourceError};
use super::fields::{FieldSet, OrderField};
use super::parse::{parse_max_major, parse_seats, parse_serial};
use super::row::Row;
use super::rows::RowReader;
use super::sampling::Stats;
use crate::catalog::Catalog;
use crate::entitlement::{Customer, Entitlement, InvalidEntitlement};

/// One order and the entitlement it sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// 1-based line of the export where the row starts.
    pub line: u64,
    /// The order id (also in `entitlement.order_id`).
    pub order_id: String,
    /// The entitlement, checked against the catalog.
    pub entitlement: Entitlement,
}

/// Streams the orders of an export: each item is an order or the reason its
/// row does not fit; a [`SourceError`] ends the stream.
pub struct OrderReader {
    rows: RowReader,
    parser: OrderParser,
}

/// What turns a row into an [`Order`].
struct OrderParser {
    catalog: Catalog,
    date_format: DateFormat,
    features_separator: String,
}

impl OrderReader {
    /// Opens the export of `source` (its path relative to `base_dir`, the
    /// config file's directory), checking the mapping and, for CSV, the
    /// header. Rows are sampled with `seed`.
    pub fn open(
        source: &OrdersSource,
        base_dir: &Path,
        catalog: &Catalog,
        seed: u64,
    ) -> Result<Self, SourceError> {
        if let Err(mapping) = source.check(catalog) {
            return Err(SourceError::Mapping {
                path: source.resolved_path(base_dir),
                source: mapping,
            });
        }
        Ok(OrderReader {
            rows: RowReader::open(&source.shape(), base_dir, seed)?,
            parser: OrderParser {
                catalog: catalog.clone(),
                date_format: source.date_format.clone(),
                features_separator: source.features_separator.clone(),
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

impl OrderParser {
    fn parse(&self, row: &Row<'_>) -> Result<Order, RowError> {
        use OrderField as F;
        let date = |t: &str| self.date_format.parse(t);
        let (_, order_id) = row.required(F::OrderId)?;
        let (_, customer_id) = row.optional(F::CustomerId)?;
        let (_, customer_name) = row.optional(F::CustomerName)?;
        let customer = match (customer_id, customer_name) {
            (None, None) => None,
            // One of the two empty: the check names the empty one.
            (id, name) => Some(Customer {
                id: id.unwrap_or_default(),
                name: name.unwrap_or_default(),
            }),
        };
        let entitlement = Entitlement {
            product: row.required(F::Product)?.1,
            edition: row.required(F::Edition)?.1,
            max_major: row.parsed_required(F::MaxMajor, parse_max_major)?,
            features: self.features(row)?,
            seats: row.parsed(F::Seats, parse_seats)?,
            issued: row.parsed_required(F::Issued, date)?,
            expires: row.parsed(F::Expires, date)?,
            maintenance_until: row.parsed(F::MaintenanceUntil, date)?,
            serial: row.parsed_required(F::Serial, parse_serial)?,
            customer,
            order_id: Some(order_id.clone()),
            host_id: row.optional(F::HostId)?.1,
        };
        entitlement
            .check(&self.catalog)
            .map_err(|e| Self::check_error(row, e))?;
        Ok(Order {
            line: row.line,
            order_id,
            entitlement,
        })
    }

    /// The features cell, split on the separator; each feature is trimmed and
    /// then mapped through the vocabulary (mapping to `""` drops it).
    fn features(&self, row: &Row<'_>) -> Result<BTreeSet<String>, RowError> {
        let raw = row.raw(OrderField::Features)?;
        Ok(raw
            .split(self.features_separator.as_str())
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| row.translate(OrderField::Features, f))
            .filter(|f| !f.is_empty())
            .collect())
    }

    /// An entitlement check failure as a row error on the failing field's column.
    fn check_error(row: &Row<'_>, e: InvalidEntitlement) -> RowError {
        let field = match e.field {
            "product" => OrderField::Product,
            "edition" => OrderField::Edition,
            "max_major" => OrderField::MaxMajor,
            "features" => OrderField::Features,
            "seats" => OrderField::Seats,
            "issued" => OrderField::Issued,
            "expires" => OrderField::Expires,
            "maintenance_until" => OrderField::MaintenanceUntil,
            "serial" => OrderField::Serial,
            "customer.id" => OrderField::CustomerId,
            "customer.name" => OrderField::CustomerName,
            "order_id" => OrderField::OrderId,
            "host_id" => OrderField::HostId,
            other => return row.row_error(format!("{other}: {}", e.message)),
        };
        let hint = match field {
            OrderField::Product | OrderField::Edition | OrderField::Features => {
                format!("; hint: map it under `values.{}`", field.name())
            }
            _ => String::new(),
        };
        let value = row.raw(field).ok().filter(|v| !v.is_empty());
        row.error(field, value, format!("{}{hint}", e.message))
    }
}

impl std::iter::FusedIterator for OrderReader {}

impl Iterator for OrderReader {
    type Item = Result<Result<Order, RowError>, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next_item(|row| self.parser.parse(row))
    }
}
