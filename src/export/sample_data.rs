//! Sample exports in a vendor's own vocabulary, so the demo (and tests) read
//! what a real EMS exports rather than our canonical form: column names like
//! "License Key" and "Order Date", dates as dd/mm/yyyy, "Acme CAD" for
//! `acme-cad`, "Pro" for `professional`, "Unlimited" seats.
//!
//! Each file has exactly three deliberately malformed data rows, so the demo
//! shows row errors. With at least six good rows they are on these lines
//! ([`SAMPLE_MALFORMED_LINES`]; line 1 is the header):
//!
//! | file | line | what is wrong |
//! |---|---|---|
//! | `field-keys.csv` | 3 | "Last Check-in" is ISO `2026-03-14`, not dd/mm/yyyy: bad date |
//! | `field-keys.csv` | 6 | "Product Name" is "Acme Paint": unknown product |
//! | `field-keys.csv` | 10 | "Product Version" is "seven": not a version |
//! | `orders.csv` | 3 | "Order Date" is `31/02/2026`: not a real date |
//! | `orders.csv` | 6 | "Product" is "Acme Paint": unknown product |
//! | `orders.csv` | 10 | "Seats" is "many": not a number of seats |
//!
//! Every other cell of a malformed row is valid (its key is a real key), so
//! each row error has exactly one cause. With fewer good rows, the malformed
//! rows that do not fit come last.

use std::path::{Path, PathBuf};

use super::dates::DateFormat;
use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::implementation::{GenerateFailure, Implementation};
use crate::random::Generator;

/// Major versions of the demo's shipped releases (SCHEMES.md), which steer
/// the random entitlements' `max_major`.
pub const DEMO_RELEASE_MAJORS: [u8; 6] = [5, 6, 7, 3, 2, 1];

/// Lines of the malformed rows in each sample file (with at least six good rows).
pub const SAMPLE_MALFORMED_LINES: [u64; 3] = [3, 6, 10];

/// Before which good row (0-based) each malformed row is written.
const MALFORMED_BEFORE: [usize; 3] = [1, 3, 6];

/// Orders draw from this index on, so they never repeat a field key's case.
const ORDER_INDEX_BASE: u64 = 1 << 32;

/// The vendor's date format in the sample files.
const VENDOR_DATES: &str = "[day]/[month]/[year]";

/// The file names written.
pub const FIELD_KEYS_FILE: &str = "field-keys.csv";
/// The file names written.
pub const ORDERS_FILE: &str = "orders.csv";

const KEY_HEADER: [&str; 6] = [
    "License Key",
    "Product Name",
    "Product Version",
    "Host ID",
    "Last Check-in",
    "Customer",
];

const ORDER_HEADER: [&str; 13] = [
    "Order No",
    "Order Date",
    "Product",
    "Edition",
    "Max Version",
    "Features",
    "Seats",
    "Expires",
    "Maintenance Until",
    "Serial",
    "Customer ID",
    "Customer Name",
    "Host ID",
];

/// What [`write_sample_data`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleData {
    /// The field-key export.
    pub field_keys: PathBuf,
    /// The order export.
    pub orders: PathBuf,
    /// Random entitlements the issuer refused (skipped) on the way.
    pub refused: u64,
}

/// Why sample data could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SampleDataError {
    /// A file or directory cannot be written.
    #[error("{path}: cannot write: {source}", path = .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The issuer failed (not a declared refusal) on a random entitlement.
    #[error("the issuer failed on random case {index}: {source}")]
    Generate {
        /// The generator index of the entitlement.
        index: u64,
        /// What the issuer said.
        source: GenerateFailure,
    },
    /// The issuer refused nearly everything: it cannot issue these products.
    #[error(
        "the issuer refused {tried} of {tried} random entitlements in a row; hint: issue field keys with the old system, which must accept the catalog's legacy products"
    )]
    Refusals {
        /// Entitlements tried since the last key.
        tried: u64,
    },
}

/// Writes `field-keys.csv` (`n_keys` keys issued by `issuer`, the old
/// system, plus three malformed rows) and `orders.csv` (`n_orders` orders
/// plus three malformed rows) into `dir`, in the vendor's vocabulary that
/// [`sample_config`] maps. The same arguments always write the same bytes.
pub fn write_sample_data(
    dir: &Path,
    issuer: &dyn Implementation,
    catalog: &Catalog,
    seed: u64,
    n_keys: usize,
    n_orders: usize,
) -> Result<SampleData, SampleDataError> {
    std::fs::create_dir_all(dir).map_err(|source| SampleDataError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let generator = Generator::new(seed, catalog.clone(), DEMO_RELEASE_MAJORS.to_vec());
    let field_keys = dir.join(FIELD_KEYS_FILE);
    let orders = dir.join(ORDERS_FILE);
    let mut keys = KeySource {
        generator: &generator,
        issuer,
        index: 0,
        refused: 0,
    };
    let vocabulary = Vendor::new(catalog);
    write_rows(&field_keys, &KEY_HEADER, n_keys, |malformed| {
        let (index, entitlement, key) = keys.next()?;
        let mut row = vocabulary.key_row(index, &entitlement, key);
        match malformed {
            Some(0) => row[4] = "2026-03-14".into(),
            Some(1) => row[1] = "Acme Paint".into(),
            Some(_) => row[2] = "seven".into(),
            None => {}
        }
        Ok(row)
    })?;
    let mut index = ORDER_INDEX_BASE;
    write_rows(&orders, &ORDER_HEADER, n_orders, |malformed| {
        let entitlement = generator.entitlement(index);
        let mut row = vocabulary.order_row(index, &entitlement);
        index += 1;
        match malformed {
            Some(0) => row[1] = "31/02/2026".into(),
            Some(1) => row[2] = "Acme Paint".into(),
            Some(_) => row[6] = "many".into(),
            None => {}
        }
        Ok(row)
    })?;
    Ok(SampleData {
        field_keys,
        orders,
        refused: keys.refused,
    })
}

/// Writes a header and `n_good` good rows with the three malformed ones
/// interleaved; `row(Some(j))` builds malformed row `j`, `row(None)` a good one.
fn write_rows(
    path: &Path,
    header: &[&str],
    n_good: usize,
    mut row: impl FnMut(Option<usize>) -> Result<Vec<String>, SampleDataError>,
) -> Result<(), SampleDataError> {
    let io = |source: std::io::Error| SampleDataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut writer = csv::Writer::from_path(path).map_err(|e| io(e.into()))?;
    writer.write_record(header).map_err(|e| io(e.into()))?;
    let mut malformed = 0;
    for good in 0..n_good {
        while malformed < MALFORMED_BEFORE.len() && MALFORMED_BEFORE[malformed] == good {
            writer
                .write_record(row(Some(malformed))?)
                .map_err(|e| io(e.into()))?;
            malformed += 1;
        }
        writer.write_record(row(None)?).map_err(|e| io(e.into()))?;
    }
    for j in malformed..MALFORMED_BEFORE.len() {
        writer
            .write_record(row(Some(j))?)
            .map_err(|e| io(e.into()))?;
    }
    writer.flush().map_err(io)
}

/// Keys issued by the old system for successive random entitlements,
/// skipping the ones its format refuses.
struct KeySource<'a> {
    generator: &'a Generator,
    issuer: &'a dyn Implementation,
    index: u64,
    refused: u64,
}

impl KeySource<'_> {
    /// Gives up after this many refusals in a row.
    const MAX_REFUSALS_IN_A_ROW: u64 = 10_000;

    fn next(&mut self) -> Result<(u64, Entitlement, String), SampleDataError> {
        for _ in 0..Self::MAX_REFUSALS_IN_A_ROW {
            let index = self.index;
            self.index += 1;
            let entitlement = self.generator.entitlement(index);
            match self.issuer.generate(&entitlement) {
                Ok(key) => return Ok((index, entitlement, key)),
                Err(GenerateFailure::Refused { .. }) => self.refused += 1,
                Err(source) => return Err(SampleDataError::Generate { index, source }),
            }
        }
        Err(SampleDataError::Refusals {
            tried: Self::MAX_REFUSALS_IN_A_ROW,
        })
    }
}

/// The vendor's names for our values.
struct Vendor<'a> {
    catalog: &'a Catalog,
    dates: DateFormat,
}

/// The vendor's name for an edition.
fn vendor_edition(edition: &str) -> &str {
    match edition {
        "trial" => "Trial",
        "standard" => "Std",
        "professional" => "Pro",
        "enterprise" => "Ent",
        other => other,
    }
}

impl<'a> Vendor<'a> {
    fn new(catalog: &'a Catalog) -> Self {
        Vendor {
            catalog,
            // A constant, checked description: parsing cannot fail.
            dates: DateFormat::custom(VENDOR_DATES).unwrap_or_default(),
        }
    }

    fn product(&self, slug: &str) -> String {
        self.catalog
            .product(slug)
            .map_or(slug, |p| p.name.as_str())
            .to_string()
    }

    fn date(&self, day: Option<Day>) -> String {
        day.map(|d| self.dates.format(d)).unwrap_or_default()
    }

    /// A field key's row: a version the key covers (a shipped major where
    /// one is covered, sometimes written without the minor), and a check-in
    /// day inside the license's validity.
    fn key_row(&self, index: u64, e: &Entitlement, key: String) -> Vec<String> {
        let covered: Vec<u8> = DEMO_RELEASE_MAJORS
            .iter()
            .copied()
            .filter(|m| *m <= e.max_major)
            .collect();
        let major = covered
            .get((index as usize) % covered.len().max(1))
            .copied()
            .unwrap_or(e.max_major);
        let version = if index.is_multiple_of(4) {
            major.to_string()
        } else {
            format!("{major}.{}", index % 3)
        };
        let mut today = e.issued.add_days((index % 60) as i64).unwrap_or(e.issued);
        if let Some(expires) = e.expires {
            today = today.min(expires);
        }
        vec![
            key,
            self.product(&e.product),
            version,
            e.host_id.clone().unwrap_or_default(),
            self.date(Some(today)),
            e.customer
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_default(),
        ]
    }

    /// An order's row; orders without an order id get `SO-X<n>`, `n` counting
    /// rows from 0.
    fn order_row(&self, index: u64, e: &Entitlement) -> Vec<String> {
        let order_id = e
            .order_id
            .clone()
            .unwrap_or_else(|| format!("SO-X{}", index - ORDER_INDEX_BASE));
        let (customer_id, customer_name) = e
            .customer
            .as_ref()
            .map(|c| (c.id.clone(), c.name.clone()))
            .unwrap_or_default();
        vec![
            order_id,
            self.date(Some(e.issued)),
            self.product(&e.product),
            vendor_edition(&e.edition).to_string(),
            e.max_major.to_string(),
            e.features.iter().cloned().collect::<Vec<_>>().join(";"),
            e.seats
                .map_or_else(|| "Unlimited".into(), |s| s.to_string()),
            self.date(e.expires),
            self.date(e.maintenance_until),
            e.serial.to_string(),
            customer_id,
            customer_name,
            e.host_id.clone().unwrap_or_default(),
        ]
    }
}

/// The `keycompat.toml` mapping that reads the files of [`write_sample_data`]
/// from `data_dir` (relative to the config file), for the integrator to paste.
pub fn sample_config(data_dir: &str, catalog: &Catalog) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let products: String = catalog
        .products
        .iter()
        .filter(|p| p.name != p.slug)
        .map(|p| format!("{} = {}\n", q(&p.name), q(&p.slug)))
        .collect();
    let editions: String = catalog
        .editions
        .iter()
        .filter(|e| vendor_edition(e) != e.as_str())
        .map(|e| format!("{} = {}\n", q(vendor_edition(e)), q(e)))
        .collect();
    let dir = data_dir.trim_end_matches('/');
    format!(
        r#"# The vendor's exports, in its own vocabulary (see `keycompat::export`).
[sources.field_keys]
path = {keys_path}
date_format = {dates}

[sources.field_keys.columns]
key = "License Key"
product = "Product Name"
version = "Product Version"
host_id = "Host ID"
today = "Last Check-in"

[sources.field_keys.values.product]
{products}
[sources.orders]
path = {orders_path}
date_format = {dates}
features_separator = ";"

[sources.orders.columns]
order_id = "Order No"
issued = "Order Date"
product = "Product"
edition = "Edition"
max_major = "Max Version"
features = "Features"
seats = "Seats"
expires = "Expires"
maintenance_until = "Maintenance Until"
serial = "Serial"
customer_id = "Customer ID"
customer_name = "Customer Name"
host_id = "Host ID"

[sources.orders.values.product]
{products}
[sources.orders.values.edition]
{editions}
[sources.orders.values.seats]
"Unlimited" = ""
"#,
        keys_path = q(&format!("{dir}/{FIELD_KEYS_FILE}")),
        orders_path = q(&format!("{dir}/{ORDERS_FILE}")),
        dates = q(VENDOR_DATES),
    )
}
