//! Reading exports as a vendor writes them: mappings, vocabularies, every
//! kind of row error, sampling, and the file shapes real tools produce (CRLF,
//! a BOM, quoted multi-line cells).

mod files;
mod rows;

use std::path::PathBuf;

use tempfile::TempDir;

use super::*;
use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};

const ORDERS_TOML: &str = r#"
path = "orders.csv"
date_format = "[day]/[month]/[year]"
features_separator = ";"

[columns]
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

[values.product]
"Acme CAD" = "acme-cad"
"Acme Viewer" = "acme-viewer"

[values.edition]
"Pro" = "professional"
"Std" = "standard"

[values.seats]
"Unlimited" = ""

[values.features]
"DWG Export" = "export-dwg"
"#;

const ORDERS_HEADER: &str = "Order No,Order Date,Product,Edition,Max Version,Features,Seats,Expires,Maintenance Until,Serial,Customer ID,Customer Name,Host ID";
const GOOD_ORDER: &str = "SO-1001,23/11/2026,Acme CAD,Pro,7,DWG Export; render-gpu,25,31/12/2027,,424242,C-000042,\"Zoë Müller GmbH, \"\"Berlin\"\"\",";

const KEYS_TOML: &str = r#"
path = "keys.csv"

[columns]
key = "License Key"
product = "Product Name"
version = "Product Version"
host_id = "Host ID"

[values.product]
"Acme CAD" = "acme-cad"
"#;

fn day(s: &str) -> Day {
    Day::parse(s).expect("test date")
}

fn expected_order() -> Entitlement {
    Entitlement {
        product: "acme-cad".into(),
        edition: "professional".into(),
        max_major: 7,
        features: ["export-dwg".to_string(), "render-gpu".to_string()].into(),
        seats: Some(25),
        issued: day("2026-11-23"),
        expires: Some(day("2027-12-31")),
        maintenance_until: None,
        serial: 424242,
        customer: Some(Customer {
            id: "C-000042".into(),
            name: "Zoë Müller GmbH, \"Berlin\"".into(),
        }),
        order_id: Some("SO-1001".into()),
        host_id: None,
    }
}

fn orders_source(toml_text: &str) -> OrdersSource {
    toml::from_str(toml_text).expect("test mapping parses")
}

fn keys_source(toml_text: &str) -> FieldKeysSource {
    toml::from_str(toml_text).expect("test mapping parses")
}

fn write(dir: &TempDir, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write test file");
    path
}

type Rows<T> = Vec<Result<T, RowError>>;

fn read_orders(dir: &TempDir, source: &OrdersSource, seed: u64) -> (Rows<Order>, Stats) {
    let mut reader =
        OrderReader::open(source, dir.path(), &Catalog::acme(), seed).expect("export opens");
    let items = reader
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .expect("no fatal error");
    (items, reader.stats())
}

fn read_keys(dir: &TempDir, source: &FieldKeysSource) -> (Rows<FieldKey>, Stats) {
    let mut reader =
        FieldKeyReader::open(source, dir.path(), &Catalog::acme(), 1, day("2026-06-01"))
            .expect("export opens");
    let items = reader
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .expect("no fatal error");
    (items, reader.stats())
}

fn orders_csv(rows: &[&str]) -> String {
    let mut text = format!("{ORDERS_HEADER}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text
}
