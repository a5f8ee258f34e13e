//! `keycompat bench`: real plugins in-process and in workers, its bench.json,
//! and the throughput table it adds to a run's reports.

use crate::common::{self, Scenario, code, stderr, stdout};
use rstest::rstest;

/// A short bench of the demo, 1 and 2 threads, its bench.json parsed.
fn short_bench(s: &Scenario) -> serde_json::Value {
    let out = s.run(&[
        "bench",
        "--time",
        "40ms",
        "--corpus",
        "200",
        "--matrix-cases",
        "128",
        "-j",
        "1,2",
        "--report-dir",
        "out",
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(s.dir.path().join("out/bench.json")).expect("bench.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("bench.json is JSON");
    // The terminal table names both sides and every format.
    let table = stdout(&out);
    for word in [
        "new/old",
        "acme-lk1",
        "acme-ed1",
        "isolated",
        "in-process",
        "bare loop",
    ] {
        assert!(table.contains(word), "{word} missing from:\n{table}");
    }
    json
}

fn bench() -> &'static serde_json::Value {
    static B: std::sync::OnceLock<(Scenario, serde_json::Value)> = std::sync::OnceLock::new();
    &B.get_or_init(|| {
        let s = Scenario::demo();
        let j = short_bench(&s);
        (s, j)
    })
    .1
}

fn rate(
    j: &serde_json::Value,
    system: &str,
    op: &str,
    format: &str,
    hosting: &str,
    threads: u64,
) -> f64 {
    j["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .find(|m| {
            m["system"] == system
                && m["op"] == op
                && m["format"] == format
                && m["hosting"] == hosting
                && m["threads"] == threads
        })
        .and_then(|m| m["per_second"].as_f64())
        .unwrap_or_else(|| panic!("no {system} {op} {format} {hosting} {threads}"))
}

#[rstest]
#[case("old", "generate", "acme-lk1")]
#[case("old", "validate", "acme-lk1")]
#[case("new", "generate", "acme-lk1")]
#[case("new", "generate", "acme-ed1")]
#[case("new", "validate", "acme-lk1")]
#[case("new", "validate", "acme-ed1")]
#[case("old-rust", "generate", "acme-lk1")]
fn every_system_is_measured_per_format_hosting_and_thread_count(
    #[case] system: &str,
    #[case] op: &str,
    #[case] format: &str,
) {
    let j = bench();
    for threads in [1, 2] {
        assert!(rate(j, system, op, format, "in_process", threads) > 0.0);
        if system != "old-rust" {
            assert!(rate(j, system, op, format, "isolated", threads) > 0.0);
        }
    }
}

#[test]
fn builtins_are_not_measured_isolated_and_old_does_not_read_new_keys() {
    let j = bench();
    let ms = j["measurements"].as_array().expect("measurements");
    assert!(
        !ms.iter()
            .any(|m| m["system"] == "old-rust" && m["hosting"] == "isolated")
    );
    // The old system rejects acme-ed1 keys: a rate of fast rejections would mislead.
    assert!(
        !ms.iter()
            .any(|m| m["system"] == "old" && m["format"] == "acme-ed1")
    );
}

#[test]
fn old_and_new_are_compared_with_their_ratio() {
    let j = bench();
    let cs = j["comparisons"].as_array().expect("comparisons");
    let lk1 = cs
        .iter()
        .find(|c| {
            c["op"] == "validate"
                && c["format"] == "acme-lk1"
                && c["hosting"] == "in_process"
                && c["threads"] == 1
        })
        .expect("lk1 validate comparison");
    let (old, new, ratio) = (
        lk1["old"].as_f64().expect("old"),
        lk1["new"].as_f64().expect("new"),
        lk1["ratio"].as_f64().expect("ratio"),
    );
    assert!((ratio - new / old).abs() < 1e-9 * ratio.max(1.0));
    let ed1 = cs
        .iter()
        .find(|c| c["op"] == "generate" && c["format"] == "acme-ed1")
        .expect("ed1 generate comparison");
    assert!(ed1["old"].is_null() && ed1["ratio"].is_null() && ed1["new"].is_number());
}

#[test]
fn the_matrix_is_measured_against_its_bare_loop() {
    let j = bench();
    let m = j["matrix"].as_array().expect("matrix");
    assert_eq!(m.len(), 4, "in-process and isolated, 1 and 2 threads");
    for row in m {
        let (full, bare, overhead) = (
            row["matrix_per_second"].as_f64().expect("matrix"),
            row["bare_per_second"].as_f64().expect("bare"),
            row["overhead"].as_f64().expect("overhead"),
        );
        assert!(full > 0.0 && bare > 0.0);
        assert!((overhead - bare / full).abs() < 1e-6 * overhead);
        let checks: Vec<&str> = row["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter_map(|c| c.as_str())
            .collect();
        assert!(
            !checks.contains(&"tamper") && !checks.contains(&"time"),
            "{checks:?}"
        );
        assert!(checks.contains(&"forward"), "{checks:?}");
    }
}

#[test]
fn a_run_given_the_bench_shows_it_in_every_report_and_satisfies_the_schema() {
    let s = Scenario::demo();
    short_bench(&s);
    let (out, report) = s.run_report(
        &["--cases", "50", "--throughput", "out/bench.json", "-q"],
        "rep",
    );
    assert!(code(&out) <= 1, "{}", stderr(&out));
    assert_eq!(report["throughput"]["schema"], "keycompat-bench/2");
    let md = std::fs::read_to_string(s.dir.path().join("rep/report.md")).expect("md");
    assert!(
        md.contains("## Throughput") && md.contains("new/old"),
        "{md}"
    );
    let html = std::fs::read_to_string(s.dir.path().join("rep/report.html")).expect("html");
    assert!(html.contains("Throughput (keys"), "no throughput chart");
    common::assert_schema(&report);
    // A run without --throughput has no such section.
    let (_, plain) = s.run_report(&["--cases", "20", "-q"], "plain");
    assert!(plain.get("throughput").is_none());
}

#[rstest]
#[case(&["bench", "-j", "0"], "thread counts start at 1")]
#[case(&["bench", "--time", "soon"], "soon")]
#[case(&["bench", "--systems", "nope"], "nope")]
#[case(&["run", "--throughput", "missing.json"], "missing.json")]
#[case(&["run", "--throughput", "keycompat.toml"], "keycompat.toml")]
fn bad_bench_input_is_a_usage_error(#[case] args: &[&str], #[case] names: &str) {
    let s = Scenario::demo();
    let out = s.run(args);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains(names), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
}
