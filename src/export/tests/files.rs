//! Files as real tools write them: sampling, CRLF, a BOM, multi-line
//! cells, streaming, and the sample data's own mapping.

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

fn numbered_orders(n: u64) -> String {
    let mut text = format!("{ORDERS_HEADER}\n");
    for i in 0..n {
        text.push_str(&format!("SO-{i},23/11/2026,Acme CAD,Pro,7,,25,,,{i},,,\n"));
    }
    text
}

#[test]
fn sampling_is_deterministic_and_exactly_the_share() {
    let dir = TempDir::new().unwrap();
    write(&dir, "orders.csv", numbered_orders(10_000));
    let source = OrdersSource {
        share: 0.1,
        ..orders_source(ORDERS_TOML)
    };
    let serials = |seed| -> BTreeSet<u32> {
        let (items, stats) = read_orders(&dir, &source, seed);
        assert_eq!(stats.rows, 10_000);
        assert_eq!(stats.sampled, items.len() as u64);
        items
            .into_iter()
            .map(|o| o.unwrap().entitlement.serial)
            .collect()
    };
    let first = serials(7);
    assert_eq!(first.len(), 1000, "exactly the share, not a binomial draw");
    assert_eq!(first, serials(7), "same seed, same rows");
    assert_ne!(first, serials(8), "another seed, other rows");
}

#[test]
fn rows_outside_the_sample_are_counted_but_not_parsed() {
    let dir = TempDir::new().unwrap();
    let mut text = numbered_orders(2_000);
    for _ in 0..2_000 {
        text.push_str("garbage\n");
    }
    write(&dir, "orders.csv", text);
    let source = OrdersSource {
        share: 0.5,
        ..orders_source(ORDERS_TOML)
    };
    let (items, stats) = read_orders(&dir, &source, 3);
    assert_eq!(stats.rows, 4_000);
    assert_eq!(stats.sampled, items.len() as u64);
    assert_eq!(
        stats.errors,
        items.iter().filter(|i| i.is_err()).count() as u64
    );
    assert_eq!(stats.errors, 1_000, "half of the garbage half: {stats:?}");
}

#[test]
fn crlf_line_endings_and_a_bom_read_like_plain_files() {
    let dir = TempDir::new().unwrap();
    let plain = orders_csv(&[GOOD_ORDER, GOOD_ORDER]);
    let windows = format!("\u{FEFF}{}", plain.replace('\n', "\r\n"));
    write(&dir, "orders.csv", windows);
    let (items, _) = read_orders(&dir, &orders_source(ORDERS_TOML), 0);
    let lines: Vec<u64> = items.iter().map(|o| o.as_ref().unwrap().line).collect();
    assert_eq!(lines, [2, 3]);
    assert_eq!(items[1].as_ref().unwrap().entitlement, expected_order());

    let json =
        "\u{FEFF}{\"k\":\"A\",\"product\":\"acme-cad\",\"version\":\"7.0\",\"host_id\":null}\r\n";
    write(&dir, "keys.jsonl", json);
    let source = keys_source("path = \"keys.jsonl\"\n[columns]\nkey = \"k\"\n");
    let (items, _) = read_keys(&dir, &source);
    assert_eq!(items[0].as_ref().unwrap().key, "A");
}

#[test]
fn a_quoted_cell_spanning_lines_keeps_the_row_on_its_first_line() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "keys.csv",
        "License Key,Product Name,Product Version,Host ID,Notes\r\n\
         \"AAAAA-\r\nBBBBB\",Acme CAD,7,,\"two\nlines\"\r\n\
         \r\n\
         K,Acme CAD,seven,,\r\n\
         K,Acme CAD,7,,\"a \"\"quoted\"\"\nnote\"\r\n\
         K,Acme CAD,7,,\r\n",
    );
    let (items, stats) = read_keys(&dir, &keys_source(KEYS_TOML));
    let first = items[0].as_ref().unwrap();
    assert_eq!((first.line, first.key.as_str()), (2, "AAAAA-\r\nBBBBB"));
    // Line 5 is blank: not a row, but counted in the line numbers.
    assert_eq!(items[1].as_ref().unwrap_err().line, 6);
    assert_eq!(items[2].as_ref().unwrap().line, 7);
    assert_eq!(items[3].as_ref().unwrap().line, 9);
    assert_eq!(stats.rows, 4);
}

/// The reader yields a row before the file is complete: it reads as it goes.
#[cfg(unix)]
#[test]
fn rows_stream_before_the_file_ends() {
    use std::io::Write;
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("orders.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let (pulled, wait_pull) = mpsc::channel::<()>();
    let writer = std::thread::spawn({
        let fifo = fifo.clone();
        move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            writeln!(f, "{ORDERS_HEADER}\n{GOOD_ORDER}").unwrap();
            f.flush().unwrap();
            let streamed = wait_pull.recv_timeout(Duration::from_secs(20)).is_ok();
            writeln!(f, "{GOOD_ORDER}").unwrap();
            streamed
        }
    });
    let mut reader =
        OrderReader::open(&orders_source(ORDERS_TOML), dir.path(), &Catalog::acme(), 0).unwrap();
    let first = reader.next().unwrap().unwrap().unwrap();
    assert_eq!(first.line, 2);
    assert_eq!(reader.stats().rows, 1);
    pulled.send(()).unwrap();
    assert!(
        writer.join().unwrap(),
        "the first row came before the end of the file"
    );
    assert_eq!(reader.count(), 1);
}

/// A pipe is read once: its encoding is checked as it streams, and its
/// first byte that is not UTF-8 ends the stream, named by line and column.
#[cfg(unix)]
#[test]
fn a_pipe_is_checked_for_utf8_as_it_streams() {
    use std::io::Write;
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("orders.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let (pulled, wait_pull) = mpsc::channel::<()>();
    let writer = std::thread::spawn({
        let fifo = fifo.clone();
        move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            writeln!(f, "{ORDERS_HEADER}\n{GOOD_ORDER}").unwrap();
            f.flush().unwrap();
            let _ = wait_pull.recv_timeout(Duration::from_secs(20));
            f.write_all(b"SO-2,23/11/2026,Acme CAD,Pro,7,,1,,,1,,M\xFCller,\n")
                .unwrap();
        }
    });
    let mut reader =
        OrderReader::open(&orders_source(ORDERS_TOML), dir.path(), &Catalog::acme(), 0).unwrap();
    let first = reader.next().unwrap().unwrap().unwrap();
    assert_eq!(first.line, 2);
    pulled.send(()).unwrap();
    let e = reader.next().unwrap().unwrap_err();
    writer.join().unwrap();
    assert!(
        e.to_string()
            .ends_with("orders.csv:3:41: byte 0xFC is not UTF-8; hint: export the file as UTF-8"),
        "{e}"
    );
    assert!(reader.next().is_none(), "a failed stream ends");
}

#[rstest]
#[case("7", Some((7, 0)))]
#[case("7.2", Some((7, 2)))]
#[case("7.2.1", Some((7, 2)))]
#[case("v7", None)]
#[case("7.", None)]
#[case("7.2.x", None)]
#[case("", None)]
fn versions_accept_major_minor_and_patch(#[case] text: &str, #[case] want: Option<(u32, u32)>) {
    let got = parse::parse_version(text).ok().map(|v| (v.major, v.minor));
    assert_eq!(got, want);
}

#[test]
fn sample_data_reads_back_through_its_own_mapping() {
    let catalog = Catalog::acme();
    let issuer = crate::schemes::builtin(
        "acme-lk1",
        &catalog,
        &crate::system::acme_demo_settings("acme-lk1"),
    )
    .unwrap();
    let dir = TempDir::new().unwrap();
    let data = write_sample_data(&dir.path().join("data"), &*issuer, &catalog, 42, 40, 60).unwrap();
    let first_bytes = std::fs::read(&data.orders).unwrap();

    #[derive(serde::Deserialize)]
    struct Doc {
        sources: Sources,
    }
    #[derive(serde::Deserialize)]
    struct Sources {
        field_keys: FieldKeysSource,
        orders: OrdersSource,
    }
    let doc: Doc = toml::from_str(&sample_config("data", &catalog)).unwrap();

    let mut keys = FieldKeyReader::open(
        &doc.sources.field_keys,
        dir.path(),
        &catalog,
        42,
        day("2026-06-01"),
    )
    .unwrap();
    let mut errors = Vec::new();
    let mut n_keys = 0;
    for item in keys.by_ref() {
        match item.unwrap() {
            Ok(k) => {
                let v = issuer.validate(k.key.as_bytes(), &k.context).unwrap();
                assert_eq!(v.verdict, Verdict::Valid, "line {}: {:?}", k.line, v.reason);
                n_keys += 1;
            }
            Err(e) => errors.push(e.line),
        }
    }
    assert_eq!(
        (n_keys, errors.as_slice()),
        (40, &SAMPLE_MALFORMED_LINES[..])
    );
    assert_eq!(keys.stats().errors, 3);

    let orders = OrderReader::open(&doc.sources.orders, dir.path(), &catalog, 42).unwrap();
    let generator =
        crate::random::Generator::new(42, catalog.clone(), DEMO_RELEASE_MAJORS.to_vec());
    let mut errors = Vec::new();
    let mut good = 0u64;
    for item in orders {
        match item.unwrap() {
            Ok(o) => {
                let mut want = generator.entitlement((1 << 32) + good + errors.len() as u64);
                want.order_id.get_or_insert_with(|| o.order_id.clone());
                assert_eq!(o.entitlement, want, "line {}", o.line);
                good += 1;
            }
            Err(e) => errors.push((e.line, e.column.unwrap_or_default())),
        }
    }
    assert_eq!(good, 60);
    assert_eq!(
        errors,
        [
            (3, "Order Date".to_string()),
            (6, "Product".to_string()),
            (10, "Seats".to_string())
        ]
    );

    write_sample_data(&dir.path().join("data"), &*issuer, &catalog, 42, 40, 60).unwrap();
    assert_eq!(
        std::fs::read(&data.orders).unwrap(),
        first_bytes,
        "same seed, same bytes"
    );
}

#[test]
fn open_rejects_a_bad_mapping_before_touching_the_file() {
    let source = OrdersSource {
        share: 0.0,
        ..orders_source(ORDERS_TOML)
    };
    let e = OrderReader::open(&source, Path::new("/nonexistent"), &Catalog::acme(), 0)
        .err()
        .expect("share 0 is refused");
    assert!(
        matches!(&e, SourceError::Mapping { source, .. } if source.field == "share"),
        "{e}"
    );
}
