//! Rows as mapped: columns, vocabularies, and every kind of row error.

#![allow(unused_imports)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rstest::rstest;
use tempfile::TempDir;

use super::*;
use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};
use crate::verdict::{Verdict, Version};

#[test]
fn csv_orders_map_columns_and_vocabularies() {
    let dir = TempDir::new().unwrap();
    let unlimited = "SO-1002,01/02/2026,Acme Viewer,Std,3,,Unlimited,,01/02/2027,7,,,HOST-1";
    write(&dir, "orders.csv", orders_csv(&[GOOD_ORDER, unlimited]));
    let (items, stats) = read_orders(&dir, &orders_source(ORDERS_TOML), 0);
    let orders: Vec<Order> = items.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(orders[0].line, 2);
    assert_eq!(orders[0].order_id, "SO-1001");
    assert_eq!(orders[0].entitlement, expected_order());
    let second = &orders[1].entitlement;
    assert_eq!(orders[1].line, 3);
    assert_eq!(second.product, "acme-viewer");
    assert_eq!(second.edition, "standard");
    assert_eq!(second.seats, None, "\"Unlimited\" maps to empty: unlimited");
    assert_eq!(second.expires, None, "empty: perpetual");
    assert_eq!(second.maintenance_until, Some(day("2027-02-01")));
    assert!(second.features.is_empty());
    assert_eq!(second.customer, None, "both customer cells empty: none");
    assert_eq!(second.host_id.as_deref(), Some("HOST-1"));
    assert_eq!(
        stats,
        Stats {
            rows: 2,
            sampled: 2,
            errors: 0
        }
    );
}

#[test]
fn jsonl_orders_take_strings_numbers_and_null() {
    let dir = TempDir::new().unwrap();
    let line = serde_json::json!({
        "Order No": "SO-1001", "Order Date": "23/11/2026", "Product": "Acme CAD",
        "Edition": "Pro", "Max Version": 7, "Features": "DWG Export;render-gpu",
        "Seats": 25, "Expires": "31/12/2027", "Maintenance Until": null,
        "Serial": 424242, "Customer ID": "C-000042",
        "Customer Name": "Zoë Müller GmbH, \"Berlin\"", "Host ID": null,
        "Ignored": [1, 2]
    });
    write(&dir, "orders.jsonl", format!("{line}\n\n{line}\n"));
    let source = orders_source(&ORDERS_TOML.replace("orders.csv", "orders.jsonl"));
    let (items, stats) = read_orders(&dir, &source, 0);
    assert_eq!(items.len(), 2, "the blank line is not a row");
    let order = items[1].as_ref().unwrap();
    assert_eq!(order.line, 3);
    assert_eq!(order.entitlement, expected_order());
    assert_eq!(stats.rows, 2);
}

#[test]
fn field_keys_read_context_with_default_day() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "keys.csv",
        "License Key,Product Name,Product Version,Host ID,Notes\n\
         \" 24A0M-02T1K-7Y9KS-689RQ-7B450 \",Acme CAD,7,,x\n\
         KEY-2,acme-viewer,3.1.4,H-9,y\n",
    );
    let (items, _) = read_keys(&dir, &keys_source(KEYS_TOML));
    let first = items[0].as_ref().unwrap();
    assert_eq!(
        first.key, " 24A0M-02T1K-7Y9KS-689RQ-7B450 ",
        "keys are never trimmed"
    );
    assert_eq!(first.context.product, "acme-cad");
    assert_eq!(first.context.version, Version { major: 7, minor: 0 });
    assert_eq!(first.context.today, day("2026-06-01"), "the run's day");
    assert_eq!(first.context.host_id, None);
    let second = items[1].as_ref().unwrap();
    assert_eq!(second.line, 3);
    assert_eq!(
        second.context.product, "acme-viewer",
        "unmapped values pass through"
    );
    assert_eq!(second.context.version, Version { major: 3, minor: 1 });
    assert_eq!(second.context.host_id.as_deref(), Some("H-9"));
}

#[test]
fn field_keys_jsonl_with_a_today_column() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "keys.ndjson",
        "{\"k\":\"AAAA\",\"p\":\"acme-sim\",\"v\":2.0,\"seen\":\"2027-01-31\"}\n\
         {\"k\":\"BBBB\",\"p\":\"acme-sim\",\"v\":\"2\",\"seen\":null}\n",
    );
    let source = keys_source(
        "path = \"keys.ndjson\"\nabsent = [\"host_id\"]\n[columns]\nkey = \"k\"\nproduct = \"p\"\nversion = \"v\"\ntoday = \"seen\"\n",
    );
    let (items, _) = read_keys(&dir, &source);
    let first = items[0].as_ref().unwrap();
    assert_eq!(first.context.today, day("2027-01-31"));
    assert_eq!(first.context.version, Version { major: 2, minor: 0 });
    let second = items[1].as_ref().unwrap();
    assert_eq!(
        second.context.today,
        day("2026-06-01"),
        "null: the run's day"
    );
}

/// One bad row between two good ones: the error has the row's line, column
/// and value, and the stream goes on.
#[rstest]
#[case::missing_value(
    ",23/11/2026,Acme CAD,Pro,7,,25,,,1,,,",
    Some("Order No"),
    None,
    "missing value"
)]
#[case::bad_date(
    "SO-2,2026-11-23,Acme CAD,Pro,7,,25,,,1,,,",
    Some("Order Date"),
    Some("2026-11-23"),
    "not a date in the format [day]/[month]/[year]"
)]
#[case::unreal_date(
    "SO-2,31/02/2026,Acme CAD,Pro,7,,25,,,1,,,",
    Some("Order Date"),
    Some("31/02/2026"),
    "not a date"
)]
#[case::unknown_product(
    "SO-2,23/11/2026,Acme Paint,Pro,7,,25,,,1,,,",
    Some("Product"),
    Some("Acme Paint"),
    "unknown product \"Acme Paint\""
)]
#[case::unknown_edition(
    "SO-2,23/11/2026,Acme CAD,Gold,7,,25,,,1,,,",
    Some("Edition"),
    Some("Gold"),
    "unknown edition"
)]
#[case::unknown_feature(
    "SO-2,23/11/2026,Acme CAD,Pro,7,teleport,25,,,1,,,",
    Some("Features"),
    Some("teleport"),
    "unknown feature \"teleport\""
)]
#[case::seats_not_a_number(
    "SO-2,23/11/2026,Acme CAD,Pro,7,,many,,,1,,,",
    Some("Seats"),
    Some("many"),
    "not a number of seats (or empty for unlimited)"
)]
#[case::zero_seats(
    "SO-2,23/11/2026,Acme CAD,Pro,7,,0,,,1,,,",
    Some("Seats"),
    Some("0"),
    "0 is not a seat count"
)]
#[case::max_major_too_big(
    "SO-2,23/11/2026,Acme CAD,Pro,256,,1,,,1,,,",
    Some("Max Version"),
    Some("256"),
    "0 to 255"
)]
#[case::serial_not_a_number(
    "SO-2,23/11/2026,Acme CAD,Pro,7,,1,,,-1,,,",
    Some("Serial"),
    Some("-1"),
    "not a serial number"
)]
#[case::expires_before_issue(
    "SO-2,23/11/2026,Acme CAD,Pro,7,,1,01/01/2026,,1,,,",
    Some("Expires"),
    Some("01/01/2026"),
    "before the issue date"
)]
#[case::customer_without_id(
    "SO-2,23/11/2026,Acme CAD,Pro,7,,1,,,1,,Acme Ltd,",
    Some("Customer ID"),
    None,
    "must not be empty"
)]
#[case::field_count(
    "SO-2,23/11/2026,Acme CAD,Pro,7,,1,,,1,,",
    None,
    None,
    "has 12 fields, the header has 13"
)]
fn csv_row_errors_name_line_column_and_value(
    #[case] bad: &str,
    #[case] column: Option<&str>,
    #[case] value: Option<&str>,
    #[case] message: &str,
) {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "orders.csv",
        orders_csv(&[GOOD_ORDER, bad, GOOD_ORDER]),
    );
    let (items, stats) = read_orders(&dir, &orders_source(ORDERS_TOML), 0);
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[2].is_ok(), "the stream goes on");
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.line, 3);
    assert_eq!(e.column.as_deref(), column, "{e}");
    assert_eq!(e.value.as_deref(), value, "{e}");
    assert!(e.message.contains(message), "{e}");
    assert_eq!(
        stats,
        Stats {
            rows: 3,
            sampled: 3,
            errors: 1
        }
    );
    assert_eq!(stats.ok(), 2);
}

#[rstest]
#[case::invalid_json("{\"Order No\": ", None, "is not valid JSON")]
#[case::not_an_object("[1, 2]", None, "is not a JSON object (found an array)")]
#[case::missing_keys(
    "{\"Order No\":\"SO-2\",\"Product\":\"Acme CAD\"}",
    Some("Edition"),
    "missing keys \"Edition\", \"Max Version\""
)]
#[case::wrong_type(
    r#"{"Order No":true,"Order Date":"23/11/2026","Product":"Acme CAD","Edition":"Pro","Max Version":7,"Features":"","Seats":null,"Expires":null,"Maintenance Until":null,"Serial":1,"Customer ID":null,"Customer Name":null,"Host ID":null}"#,
    Some("Order No"),
    "expected a string, number or null, found a boolean"
)]
fn jsonl_row_errors(#[case] bad: &str, #[case] column: Option<&str>, #[case] message: &str) {
    let dir = TempDir::new().unwrap();
    let good = serde_json::json!({
        "Order No": "SO-1", "Order Date": "23/11/2026", "Product": "Acme CAD",
        "Edition": "Pro", "Max Version": 7, "Features": "", "Seats": null,
        "Expires": null, "Maintenance Until": null, "Serial": 1,
        "Customer ID": null, "Customer Name": null, "Host ID": null
    });
    write(&dir, "orders.jsonl", format!("{good}\n{bad}\n{good}\n"));
    let source = orders_source(&ORDERS_TOML.replace("orders.csv", "orders.jsonl"));
    let (items, stats) = read_orders(&dir, &source, 0);
    assert!(items[0].is_ok() && items[2].is_ok());
    let e = items[1].as_ref().unwrap_err();
    assert_eq!((e.line, e.column.as_deref()), (2, column), "{e}");
    assert!(e.message.contains(message), "{e}");
    assert_eq!(stats.errors, 1);
}

#[rstest]
#[case::unknown_product("K,Acme Paint,7,", "Product Name", "Acme Paint", "unknown product")]
#[case::bad_version(
    "K,Acme CAD,seven,",
    "Product Version",
    "seven",
    "not a product version"
)]
#[case::empty_key(",Acme CAD,7,", "License Key", "", "missing value")]
fn field_key_row_errors(
    #[case] bad: &str,
    #[case] column: &str,
    #[case] value: &str,
    #[case] message: &str,
) {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "keys.csv",
        format!("License Key,Product Name,Product Version,Host ID\n{bad}\n"),
    );
    let (items, _) = read_keys(&dir, &keys_source(KEYS_TOML));
    let e = items[0].as_ref().unwrap_err();
    assert_eq!(e.column.as_deref(), Some(column));
    assert_eq!(e.value.as_deref().unwrap_or(""), value);
    assert!(e.message.contains(message), "{e}");
}

#[test]
fn a_bad_today_is_a_row_error() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "keys.csv",
        "k,product,version,host_id,seen\nK,acme-cad,7,,31/12/2026\n",
    );
    let source = keys_source("path = \"keys.csv\"\n[columns]\nkey = \"k\"\ntoday = \"seen\"\n");
    let (items, _) = read_keys(&dir, &source);
    let e = items[0].as_ref().unwrap_err();
    assert_eq!(e.column.as_deref(), Some("seen"));
    assert!(e.message.contains("expected YYYY-MM-DD"), "{e}");
}

#[test]
fn row_error_display_reads_like_a_compiler() {
    let e = RowError {
        file: PathBuf::from("orders.csv"),
        line: 12,
        column: Some("Seats".into()),
        value: Some("many".into()),
        message: "not a number of seats (or empty for unlimited)".into(),
    };
    assert_eq!(
        e.to_string(),
        "orders.csv:12: column \"Seats\": value \"many\": not a number of seats (or empty for unlimited)"
    );
}

#[test]
fn a_missing_header_column_is_fatal_before_any_row() {
    let dir = TempDir::new().unwrap();
    let header = ORDERS_HEADER.replace(",Seats", ",Seat Count");
    write(&dir, "orders.csv", format!("{header}\n{GOOD_ORDER}\n"));
    let Err(e) = OrderReader::open(&orders_source(ORDERS_TOML), dir.path(), &Catalog::acme(), 0)
    else {
        panic!("a missing column must fail at open");
    };
    let text = e.to_string();
    assert!(matches!(
        e,
        SourceError::MissingColumn { field: "seats", .. }
    ));
    assert!(text.contains("no column \"Seats\""), "{text}");
    assert!(text.contains("\"Seat Count\""), "lists the header: {text}");
    assert!(text.contains("or list seats in `absent`"), "{text}");
}

#[test]
fn unmapped_fields_default_to_our_names_and_absent_optional_fields_are_empty() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "orders.csv",
        "order_id,product,edition,max_major,issued,serial\nSO-1,acme-cad,trial,5,2026-01-02,9\n",
    );
    let source = orders_source(
        "path = \"orders.csv\"\nabsent = [\"features\", \"seats\", \"expires\", \"maintenance_until\", \"customer_id\", \"customer_name\", \"host_id\"]\n",
    );
    let (items, _) = read_orders(&dir, &source, 0);
    let e = &items[0].as_ref().unwrap().entitlement;
    assert_eq!((e.serial, e.seats, e.issued), (9, None, day("2026-01-02")));
    let Err(e) = OrderReader::open(
        &orders_source("path = \"orders.csv\""),
        dir.path(),
        &Catalog::acme(),
        0,
    ) else {
        panic!("an unmapped optional column must be present or declared absent");
    };
    assert!(e.to_string().contains("no column \"features\""), "{e}");
}

#[rstest]
#[case::columns("path = \"o.csv\"\n[columns]\nprodcut = \"P\"\n", "prodcut")]
#[case::values("path = \"o.csv\"\n[values.sets]\n\"x\" = \"1\"\n", "sets")]
#[case::absent("path = \"o.csv\"\nabsent = [\"hostid\"]\n", "hostid")]
#[case::top_level("path = \"o.csv\"\nshare_ = 1.0\n", "share_")]
#[case::date_format("path = \"o.csv\"\ndate_format = \"[hour]:[minute]\"\n", "cannot")]
fn unknown_config_names_are_parse_errors_naming_the_key(#[case] text: &str, #[case] named: &str) {
    let e = toml::from_str::<OrdersSource>(text)
        .unwrap_err()
        .to_string();
    assert!(e.contains(named), "{e}");
    assert!(e.contains("line"), "points at the line: {e}");
}

#[rstest]
#[case::share_zero("share = 0.0", "share")]
#[case::share_above_one("share = 1.5", "share")]
#[case::vocabulary_to_unknown_product(
    "[values.product]\n\"Acme CAD\" = \"acme-kad\"",
    "values.product.\"Acme CAD\""
)]
#[case::vocabulary_to_bad_seats(
    "[values.seats]\n\"Unlimited\" = \"lots\"",
    "values.seats.\"Unlimited\""
)]
#[case::required_absent("absent = [\"serial\"]", "absent")]
#[case::empty_column("[columns]\nserial = \"\"", "columns.serial")]
#[case::empty_separator("features_separator = \"\"", "features_separator")]
#[case::jsonl_delimiter("format = \"jsonl\"\ndelimiter = \";\"", "delimiter")]
fn mapping_checks_name_the_key(#[case] extra: &str, #[case] field: &str) {
    let source = orders_source(&format!("path = \"o.csv\"\n{extra}\n"));
    let e = source.check(&Catalog::acme()).unwrap_err();
    assert_eq!(e.field, field, "{e}");
}

#[test]
fn the_format_comes_from_the_extension_or_the_setting() {
    let catalog = Catalog::acme();
    assert!(orders_source("path = \"o.txt\"").check(&catalog).is_err());
    assert!(
        orders_source("path = \"o.txt\"\nformat = \"csv\"")
            .check(&catalog)
            .is_ok()
    );
    assert_eq!(
        Format::from_extension(Path::new("x.NDJSON")),
        Some(Format::Jsonl)
    );
}

#[test]
fn missing_files_and_bad_headers_are_fatal_and_name_the_path() {
    let dir = TempDir::new().unwrap();
    let catalog = Catalog::acme();
    let open = |source: &OrdersSource| OrderReader::open(source, dir.path(), &catalog, 0).err();
    let e = open(&orders_source(ORDERS_TOML)).expect("missing file");
    assert!(matches!(e, SourceError::Open { .. }));
    assert!(e.to_string().contains("orders.csv"), "{e}");
    write(&dir, "orders.csv", b"Order No,\xFF\xFE\n1,2\n");
    let e = open(&orders_source(ORDERS_TOML)).expect("not UTF-8");
    assert!(e.to_string().contains("not UTF-8"), "{e}");
    write(&dir, "orders.csv", "");
    let e = open(&orders_source(ORDERS_TOML)).expect("empty");
    assert!(e.to_string().contains("header row"), "{e}");
    write(&dir, "orders.csv", format!("{ORDERS_HEADER},Seats\n"));
    let e = open(&orders_source(ORDERS_TOML)).expect("ambiguous");
    assert!(e.to_string().contains("appears twice"), "{e}");
}

#[test]
fn an_export_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
    let dir = TempDir::new().unwrap();
    let mut bytes = orders_csv(&[GOOD_ORDER]).into_bytes();
    bytes.extend_from_slice(b"SO-2,23/11/2026,Acme CAD,Pro,7,,1,,,1,,M\xFCller,\n");
    write(&dir, "orders.csv", bytes);
    let catalog = Catalog::acme();
    let e = OrderReader::open(&orders_source(ORDERS_TOML), dir.path(), &catalog, 0)
        .err()
        .expect("not UTF-8");
    let SourceError::NotUtf8 { at, .. } = &e else {
        panic!("{e}");
    };
    assert_eq!((at.line, at.column, at.byte), (3, 41, 0xFC), "{e}");
    assert!(e.to_string().contains("orders.csv:3:41: byte 0xFC"), "{e}");
}
