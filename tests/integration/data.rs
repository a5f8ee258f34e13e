//! Real migration data: the demo's field-key and order exports streamed
//! through both systems, with row errors reported and the 10 % gates.

use crate::common::{self, Scenario, assert_schema, code, gate, stderr};
use rstest::rstest;

fn source<'a>(report: &'a serde_json::Value, which: &str) -> &'a serde_json::Value {
    &report["data"][which]
}

#[test]
fn the_demo_runs_both_exports_and_reports_each_malformed_row_by_line_and_column() {
    let s = Scenario::demo();
    let (out, r) = s.run_report(&["--cases", "200", "--no-shrink"], "rep");
    assert!(code(&out) <= 1, "{}", stderr(&out));
    for (which, columns) in [
        (
            "field_keys",
            ["Last Check-in", "Product Name", "Product Version"],
        ),
        ("orders", ["Order Date", "Product", "Seats"]),
    ] {
        let src = source(&r, which);
        assert_eq!(src["rows"], 3003, "{which}");
        assert_eq!(src["row_errors"], 3, "{which}");
        assert_eq!(
            src["run"], 3000,
            "{which}: the bad rows did not stop the run"
        );
        let problems = src["problems"].as_array().expect("problems");
        let got: Vec<(u64, &str)> = problems
            .iter()
            .map(|p| {
                (
                    p["line"].as_u64().expect("line"),
                    p["column"].as_str().expect("column"),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![(3, columns[0]), (6, columns[1]), (10, columns[2])],
            "{which}"
        );
        assert!(problems.iter().all(|p| p["value"].is_string()));
    }
    assert_eq!(r["counts"]["order_cases"], 3000);
    assert_eq!(gate(&r, "field keys validated")["status"], "green");
    assert_eq!(gate(&r, "orders dual-run")["status"], "green");
    // The warnings name file, line, column and value.
    assert!(
        stderr(&out).contains("orders.csv:10: column \"Seats\": value \"many\""),
        "{}",
        stderr(&out)
    );
    let md = std::fs::read_to_string(s.dir.path().join("rep/report.md")).expect("md");
    assert!(
        md.contains("## Migration data") && md.contains("| 10 | Seats | `many` |"),
        "{md}"
    );
}

#[test]
fn a_new_system_that_rejects_old_keys_fails_the_field_key_gate_with_a_replayable_finding() {
    let s = Scenario::demo()
        .faulty_system("new", "acme-ed1", &[("defect", "mac-wrong-bytes")])
        .set("run", "isolation", "none".into());
    let (out, r) = s.run_report(
        &[
            "--cases",
            "20",
            "--no-shrink",
            "--checks",
            "roundtrip,backward",
        ],
        "rep",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(gate(&r, "field keys validated")["status"], "red");
    let fk = source(&r, "field_keys");
    assert!(fk["with_findings"].as_u64().expect("count") > 2000, "{fk}");
    let group = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["example"]["source"]["kind"] == "field_key")
        .expect("a field-key finding");
    assert_eq!(group["check"], "backward");
    assert_eq!(group["severity"], "outage");
    let replay = group["replay"].as_str().expect("replay");
    assert!(
        replay.starts_with("keycompat validate --system new --key "),
        "{replay}"
    );
    // Pasted into a shell, it shows the new system rejecting the key.
    let out = s.run_printed(replay, "");
    assert_eq!(code(&out), 1, "{replay}\n{}", stderr(&out));
    // Orders through the broken system: listed by order id.
    let failing = r["data"]["failing_orders"]
        .as_array()
        .expect("failing orders");
    assert!(!failing.is_empty());
    assert!(
        failing[0]["order_id"]
            .as_str()
            .expect("id")
            .starts_with("SO-")
    );
}

#[test]
fn a_share_samples_the_same_rows_every_time_and_the_gate_judges_the_share() {
    let s = Scenario::demo()
        .set_path(&["sources", "orders", "share"], 0.05.into())
        .set_path(&["sources", "field_keys", "share"], 0.2.into());
    let run = |dir: &str| {
        s.run_report(&["--cases", "10", "--no-shrink", "--seed", "7"], dir)
            .1
    };
    let (a, b) = (run("a"), run("b"));
    let orders = source(&a, "orders");
    let sampled = orders["sampled"].as_u64().expect("sampled");
    assert!((100..200).contains(&sampled), "5 % of 3003 rows: {sampled}");
    assert_eq!(orders, source(&b, "orders"), "same seed, same sample");
    assert_eq!(
        gate(&a, "orders dual-run")["status"],
        "red",
        "5 % is under the 10 % criterion"
    );
    assert_eq!(gate(&a, "field keys validated")["status"], "green");
    let fk = source(&a, "field_keys")["sampled"]
        .as_u64()
        .expect("sampled");
    assert!((450..750).contains(&fk), "20 % of 3003 rows: {fk}");
}

#[rstest]
#[case(&["sources", "orders", "columns", "colour"], "nope", "colour")]
#[case(&["sources", "orders", "path"], "missing.csv", "missing.csv")]
#[case(&["sources", "field_keys", "share"], "lots", "share")]
#[case(&["gates", "min_orders_percent"], "150", "min_orders_percent")]
fn bad_source_config_is_a_usage_error_naming_the_key(
    #[case] path: &[&str],
    #[case] value: &str,
    #[case] names: &str,
) {
    let value: toml::Value = value
        .parse::<i64>()
        .map(toml::Value::from)
        .unwrap_or_else(|_| value.into());
    let s = Scenario::demo().set_path(path, value);
    let out = s.run(&["run", "--cases", "5", "--report-dir", "rep"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains(names), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn coverage_is_reported_per_dimension_steered_and_gated() {
    let s = Scenario::demo().without_sources();
    let (out, r) = s.run_report(&["--cases", "300", "--no-shrink", "--seed", "3"], "rep");
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let c = &r["coverage"];
    let dims = c["dimensions"].as_array().expect("dimensions");
    let names: Vec<&str> = dims.iter().filter_map(|d| d["name"].as_str()).collect();
    for want in [
        "product × edition",
        "feature",
        "release",
        "seats class",
        "validator × verdict",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // Steering reaches every combination an entitlement can be steered into.
    for d in dims.iter().filter(|d| d["name"] != "validator × verdict") {
        assert_eq!(d["covered"], d["total"], "{d}");
    }
    assert!(
        stderr(&out).contains("steered into combinations"),
        "{}",
        stderr(&out)
    );
    assert_eq!(gate(&r, "scenario coverage")["status"], "green");
    // Without steering, 300 cases leave gaps; a 100 % gate turns red.
    let strict = s.set("gates", "min_coverage_percent", toml::Value::Integer(100));
    let (out, r) = strict.run_report(
        &["--cases", "300", "--no-shrink", "--seed", "3", "--no-steer"],
        "strict",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(gate(&r, "scenario coverage")["status"], "red");
    assert!(
        c["percent"].as_f64().expect("percent")
            > r["coverage"]["percent"].as_f64().expect("percent")
    );
    let md = std::fs::read_to_string(strict.dir.path().join("strict/report.md")).expect("md");
    assert!(md.contains("## Scenario coverage"), "{md}");
    let html = std::fs::read_to_string(strict.dir.path().join("strict/report.html")).expect("html");
    let table = &html[html.find("id=\"scenarios\"").expect("a coverage section")..];
    assert!(table.contains("validator × verdict"), "no dimension rows");
    assert!(
        table.contains(" not covered</summary>"),
        "no uncovered list"
    );
    assert!(
        table.contains("<span class=\"pill red\">"),
        "the overall share carries the red gate's colour"
    );
}

/// The gates a report was judged by, by name.
fn gate_names(report: &serde_json::Value) -> Vec<&str> {
    report["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect()
}

#[test]
fn the_data_command_runs_the_exports_alone_judged_by_the_data_and_finding_gates() {
    let s = Scenario::demo();
    let (out, r) = s.report("data", &["--seed", "5"], "rep");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_schema(&r);
    assert_eq!(r["meta"]["scope"], "data");
    assert_eq!(r["counts"]["random_cases"], 0);
    assert_eq!(r["counts"]["vector_checks"], 0);
    assert_eq!(r["counts"]["order_cases"], 3000);
    assert_eq!(source(&r, "field_keys")["run"], 3000);
    assert_eq!(source(&r, "orders")["row_errors"], 3);
    let names = gate_names(&r);
    for want in [
        "field keys validated",
        "orders dual-run",
        "no outage or leak",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // Gates on what only `keycompat run` does would be red for nothing.
    for absent in [
        "vectors",
        "random cases",
        "scenario coverage",
        "shipped releases exercised",
        "rollback tested",
    ] {
        assert!(!names.contains(&absent), "{absent} judged a data run");
    }
    // Orders go through the whole matrix: FORWARD into shipped releases.
    let forward = r["tallies"]
        .as_array()
        .expect("tallies")
        .iter()
        .filter(|t| t["check"] == "forward")
        .count();
    assert!(forward > 0, "orders were not cross-validated");
    let md = std::fs::read_to_string(s.dir.path().join("rep/report.md")).expect("md");
    assert!(md.contains("data only (`keycompat data`)"), "{md}");
    let html = std::fs::read_to_string(s.dir.path().join("rep/report.html")).expect("html");
    assert!(html.contains("data only (<code>keycompat data</code>)"));
    assert!(
        html.contains("of 3,003 orders run through both"),
        "no data stats"
    );
}

#[test]
fn the_data_command_reads_another_export_with_the_configured_mapping_and_share() {
    let s = Scenario::demo();
    // A fresh export in the same vendor vocabulary, outside the config's directory.
    let other = tempfile::tempdir().expect("temp dir");
    let out = common::run(
        &[
            "sample-data",
            "--dir",
            other.path().to_str().expect("utf-8 path"),
            "--keys",
            "400",
            "--orders",
            "10",
            "--seed",
            "9",
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let export = other.path().join("field-keys.csv");
    let (out, r) = s.report(
        "data",
        &[
            "--only",
            "field-keys",
            "--field-keys",
            export.to_str().expect("utf-8 path"),
            "--share",
            "0.5",
            "--seed",
            "2",
        ],
        "rep",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        r["data"].get("orders").is_none_or(|o| o.is_null()),
        "{}",
        r["data"]
    );
    assert_eq!(r["counts"]["order_cases"], 0);
    let fk = source(&r, "field_keys");
    assert_eq!(fk["rows"], 403, "400 keys and 3 malformed rows");
    assert!(
        fk["file"]
            .as_str()
            .expect("file")
            .ends_with("field-keys.csv")
            && fk["file"]
                .as_str()
                .expect("file")
                .contains(other.path().to_str().expect("utf-8")),
        "{fk}"
    );
    let sampled = fk["sampled"].as_u64().expect("sampled");
    assert!((150..250).contains(&sampled), "half of 403 rows: {sampled}");
    assert_eq!(gate(&r, "field keys validated")["status"], "green");
}

#[test]
fn the_data_command_fails_when_the_new_system_rejects_keys_in_the_field() {
    let s = Scenario::demo()
        .faulty_system("new", "acme-ed1", &[("defect", "mac-wrong-bytes")])
        .set("run", "isolation", "none".into());
    let (out, r) = s.report("data", &["--only", "field-keys", "-q"], "rep");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(common::stdout(&out).trim(), "verdict: red");
    assert_eq!(gate(&r, "field keys validated")["status"], "red");
    assert_eq!(gate(&r, "no outage or leak")["status"], "red");
}

#[rstest]
#[case::share_out_of_range(&["--share", "2"], "(0, 1]")]
#[case::missing_export(&["--field-keys", "nowhere.csv"], "nowhere.csv")]
#[case::unknown_source(&["--only", "invoices"], "invoices")]
#[case::export_left_out(&["--only", "field-keys", "--orders", "keycompat.toml"], "--orders names an export")]
#[case::missing_export_names_the_directory(&["--orders", "no.csv"], "relative to the current directory")]
fn bad_data_arguments_are_usage_errors(#[case] args: &[&str], #[case] names: &str) {
    let s = Scenario::demo();
    let mut all = vec!["data", "--report-dir", "rep"];
    all.extend_from_slice(args);
    let out = s.run(&all);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains(names), "{}", stderr(&out));
    assert!(
        !s.dir.path().join("rep").exists(),
        "no report for a usage error"
    );
}

#[rstest]
#[case::no_orders_mapping(&["--only", "orders"], "orders", "[sources.orders]")]
#[case::no_mapping_for_the_override(&["--orders", "x.csv"], "orders", "[sources.orders]")]
#[case::no_sources_at_all(&[], "", "nothing to run")]
fn the_data_command_needs_a_mapping_for_what_it_runs(
    #[case] args: &[&str],
    #[case] remove: &str,
    #[case] names: &str,
) {
    let s = if remove.is_empty() {
        Scenario::demo().without_sources()
    } else {
        Scenario::demo().without_source(remove)
    };
    let mut all = vec!["data", "--report-dir", "rep"];
    all.extend_from_slice(args);
    let out = s.run(&all);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains(names), "{}", stderr(&out));
}

/// Orders are entitlements: a group whose smallest example is an order row
/// is shrunk like a random case and saved as a regression vector that names
/// the order it came from, and the next run replays it first.
#[test]
fn a_failing_order_is_shrunk_and_saved_as_a_regression_vector() {
    let s = Scenario::demo()
        .without_source("field_keys")
        .faulty_system("new", "acme-ed1", &[("defect", "expiry-off-by-one")])
        .fresh_vectors("fresh-vectors")
        .set("run", "isolation", "none".into());
    // No random cases and no vectors yet: every example is an order row.
    let (out, r) = s.run_report(
        &["--cases", "0", "--no-steer", "--checks", "time", "-q"],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let time: Vec<&serde_json::Value> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["check"] == "time" && g["example"]["source"]["kind"] == "order")
        .collect();
    assert!(!time.is_empty(), "{:#}", r["groups"]);
    let saved = std::fs::read_to_string(s.dir.path().join("fresh-vectors/regressions/time.toml"))
        .expect("a saved TIME regression");
    let file: toml::Table = saved.parse().expect("the regression file parses");
    let regressions = file["regression"].as_array().expect("regressions");
    for g in &time {
        let order_id = g["example"]["source"]["order_id"]
            .as_str()
            .expect("an order id");
        assert!(
            regressions
                .iter()
                .any(|v| v["cause"].as_str() == g["cause"].as_str()
                    && v["note"]
                        .as_str()
                        .is_some_and(|n| n.contains(&format!("order {order_id}, ")))),
            "group of order {order_id} not saved: {saved}"
        );
    }
    // Shrunk: smaller than the order it came from (no customer, no order id).
    assert!(
        regressions
            .iter()
            .all(|v| v["entitlement"].get("customer").is_none()),
        "{saved}"
    );
    let (_, again) = s.run_report(
        &["--cases", "0", "--no-steer", "--checks", "time", "-q"],
        "r2",
    );
    assert!(
        again["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .any(|g| g["example"]["source"]["kind"] == "vector"
                && g["example"]["source"]["file"]
                    .as_str()
                    .is_some_and(|f| f.contains("regressions"))),
        "the saved regression runs first next time: {:#}",
        again["groups"]
    );
}

/// An old system that expires keys a day early (`today >= expires`): field
/// keys on their expiry day are "expired" by old and valid by new. The
/// expiry the key carries decides (old decodes the same expiry the day
/// before): the old system is blamed with an outage, and the correct new
/// system is not blamed with a leak.
#[test]
fn a_field_key_on_its_expiry_day_blames_an_old_system_that_expires_it_early() {
    let s = Scenario::demo()
        .faulty_system("old", "acme-lk1", &[("defect", "expiry-off-by-one")])
        .set("run", "isolation", "none".into());
    let (_, r) = s.run_report(
        &[
            "--cases",
            "0",
            "--no-steer",
            "--no-shrink",
            "--checks",
            "backward",
        ],
        "rep",
    );
    let field_key_groups: Vec<&serde_json::Value> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["example"]["source"]["kind"] == "field_key")
        .collect();
    let on_old: Vec<_> = field_key_groups
        .iter()
        .filter(|g| g["cause"] == "field key expired by old before the expiry it decodes")
        .collect();
    assert_eq!(on_old.len(), 1, "{field_key_groups:#?}");
    let g = on_old[0];
    assert_eq!(g["severity"], "outage");
    assert_eq!(g["validator"], "old");
    assert!(
        !field_key_groups
            .iter()
            .any(|g| g["validator"] == "new" && g["severity"] == "leak"),
        "the correct new system is blamed: {field_key_groups:#?}"
    );
}

/// A value that opens a quote and never closes it swallows every row after
/// it into one field: those rows must still be counted (as rows that did
/// not fit), and the warning must name the line the quote opened on.
#[rstest]
// In the field keys, a later quote (line 3003) closes it; in the orders,
// none does, and the file's end is inside the value.
#[case::field_keys("field-keys", "field_keys", "field-keys.csv", 3, "3003, so")]
#[case::orders("orders", "orders", "orders.csv", 4, "3004 (the end of the file), so")]
fn an_unclosed_quote_counts_every_row_it_swallows_and_names_its_line(
    #[case] only: &str,
    #[case] which: &str,
    #[case] file: &str,
    #[case] swallowed: u64,
    #[case] until: &str,
) {
    let s = Scenario::demo();
    let path = s.dir.path().join("vectors/acme/data").join(file);
    let text = std::fs::read_to_string(&path).expect("demo export");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Line 3000 of 3004 (header and 3 003 rows) opens a quote.
    lines[2999].insert(0, '"');
    let export = s.dir.path().join(format!("open-quote-{file}"));
    std::fs::write(&export, lines.join("\n") + "\n").expect("write export");
    let flag = format!("--{only}");
    let (out, r) = s.report(
        "data",
        &["--only", only, &flag, export.to_str().expect("utf-8 path")],
        "rep",
    );
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let src = source(&r, which);
    assert_eq!(src["rows"], 3003, "every row is counted: {src}");
    // The demo's three malformed rows, the row that opened the quote and
    // the rows it swallowed.
    assert_eq!(src["row_errors"], 3 + 1 + swallowed, "{src}");
    assert_eq!(src["run"], 3003 - 4 - swallowed, "{src}");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{file}:3000: a quoted value opened on line 3000 is not closed before line {until}"
        )) && err.contains(&format!(
            "the {swallowed} rows after line 3000 it swallowed"
        )),
        "{err}"
    );
}
