//! Our fields of each kind of export, as the config names them, and whether
//! the export must have a column for each.

use std::fmt;

use serde::Deserialize;

/// Whether the export must have a column for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// The column must be in the export.
    Required,
    /// The column must be in the export unless the field is listed in `absent`
    /// (then every value is empty).
    Optional,
    /// Read only when mapped in `columns`.
    OptIn,
}

/// Our fields of one kind of export.
pub(crate) trait FieldSet: Copy + Ord + fmt::Debug + 'static {
    /// Every field, in declaration order (`index` is the position here).
    const ALL: &'static [Self];
    /// Our name, as written in the config.
    fn name(self) -> &'static str;
    /// Whether its column is required.
    fn presence(self) -> Presence;
    /// Position in [`Self::ALL`].
    fn index(self) -> usize;
}

/// Our fields of a field-key export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyField {
    /// The key, exactly as the customer has it (never trimmed).
    Key,
    /// The product the key is used in (slug after the vocabulary).
    Product,
    /// The product version it runs in: `7`, `7.2` or `7.2.1` (patch ignored).
    Version,
    /// The day to validate on; read only when mapped (else the run's day).
    Today,
    /// The machine's host id; empty = none.
    HostId,
}

impl FieldSet for KeyField {
    const ALL: &'static [Self] = &[
        KeyField::Key,
        KeyField::Product,
        KeyField::Version,
        KeyField::Today,
        KeyField::HostId,
    ];

    fn name(self) -> &'static str {
        match self {
            KeyField::Key => "key",
            KeyField::Product => "product",
            KeyField::Version => "version",
            KeyField::Today => "today",
            KeyField::HostId => "host_id",
        }
    }

    fn presence(self) -> Presence {
        match self {
            KeyField::Key | KeyField::Product | KeyField::Version => Presence::Required,
            KeyField::Today => Presence::OptIn,
            KeyField::HostId => Presence::Optional,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Our fields of an order export: those of an entitlement, with the customer
/// split in two columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderField {
    /// Order id (also the entitlement's `order_id`).
    OrderId,
    /// Product slug after the vocabulary.
    Product,
    /// Edition after the vocabulary.
    Edition,
    /// Highest major version covered, 0-255.
    MaxMajor,
    /// Features, in one cell, split by `features_separator`; empty = none.
    Features,
    /// Seats; empty = unlimited.
    Seats,
    /// The order date (the entitlement's `issued`).
    Issued,
    /// Last valid day; empty = perpetual.
    Expires,
    /// Last day of maintenance; empty = none.
    MaintenanceUntil,
    /// Serial number, 0 to 2^32-1.
    Serial,
    /// Customer id; with the name both empty = no customer.
    CustomerId,
    /// Customer name.
    CustomerName,
    /// Node lock; empty = none.
    HostId,
}

impl FieldSet for OrderField {
    const ALL: &'static [Self] = &[
        OrderField::OrderId,
        OrderField::Product,
        OrderField::Edition,
        OrderField::MaxMajor,
        OrderField::Features,
        OrderField::Seats,
        OrderField::Issued,
        OrderField::Expires,
        OrderField::MaintenanceUntil,
        OrderField::Serial,
        OrderField::CustomerId,
        OrderField::CustomerName,
        OrderField::HostId,
    ];

    fn name(self) -> &'static str {
        match self {
            OrderField::OrderId => "order_id",
            OrderField::Product => "product",
            OrderField::Edition => "edition",
            OrderField::MaxMajor => "max_major",
            OrderField::Features => "features",
            OrderField::Seats => "seats",
            OrderField::Issued => "issued",
            OrderField::Expires => "expires",
            OrderField::MaintenanceUntil => "maintenance_until",
            OrderField::Serial => "serial",
            OrderField::CustomerId => "customer_id",
            OrderField::CustomerName => "customer_name",
            OrderField::HostId => "host_id",
        }
    }

    fn presence(self) -> Presence {
        match self {
            OrderField::OrderId
            | OrderField::Product
            | OrderField::Edition
            | OrderField::MaxMajor
            | OrderField::Issued
            | OrderField::Serial => Presence::Required,
            _ => Presence::Optional,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for KeyField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for OrderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
