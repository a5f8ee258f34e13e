//! `keycompat bench`: real plugins in-process and in workers, measured in
//! interleaved rounds; its bench.json, read back as a baseline; and the
//! throughput table it adds to a run's reports.

use crate::common::{self, Scenario, code, stderr, stdout};
use rstest::rstest;
use serde_json::{Value, json};

/// A short bench of the demo, 1 and 2 threads, 2 rounds, its bench.json parsed.
fn short_bench(s: &Scenario) -> Value {
    let out = s.run(&[
        "bench",
        "--time",
        "40ms",
        "--rounds",
        "2",
        "--corpus",
        "200",
        "--matrix-cases",
        "64",
        "-j",
        "1,2",
        "--report-dir",
        "out",
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(s.dir.path().join("out/bench.json")).expect("bench.json");
    let json: Value = serde_json::from_str(&text).expect("bench.json is JSON");
    // The terminal table names both sides, every format and hosting, and
    // says what its figures are.
    let table = stdout(&out);
    for word in [
        "new/old",
        "acme-lk1",
        "acme-ed1",
        "isolated",
        "in-process",
        "bare loop",
        "median of 2 interleaved rounds (min..max across rounds)",
    ] {
        assert!(table.contains(word), "{word} missing from:\n{table}");
    }
    json
}

/// The short bench of the demo, run once for every test that reads it.
fn bench() -> &'static (Scenario, Value) {
    static B: std::sync::OnceLock<(Scenario, Value)> = std::sync::OnceLock::new();
    B.get_or_init(|| {
        let s = Scenario::demo();
        let j = short_bench(&s);
        (s, j)
    })
}

fn json() -> &'static Value {
    &bench().1
}

fn measurement<'a>(
    j: &'a Value,
    system: &str,
    op: &str,
    format: &str,
    hosting: &str,
    threads: u64,
) -> &'a Value {
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
        .unwrap_or_else(|| panic!("no {system} {op} {format} {hosting} {threads}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn samples(v: &Value) -> Vec<f64> {
    v.as_array().expect("samples").iter().map(f).collect()
}

/// Median and min..max of samples, as the bench computes them.
fn stats_of(mut s: Vec<f64>) -> (f64, f64, f64) {
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    (median, s[0], s[n - 1])
}

/// Asserts `stats` is the median and min..max of `samples`, one per round.
fn assert_stats_of(stats: &Value, samples: Vec<f64>) {
    assert_eq!(samples.len(), 2, "one sample per round");
    let (median, min, max) = stats_of(samples);
    for (key, want) in [("median", median), ("min", min), ("max", max)] {
        let got = f(&stats[key]);
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{key}: {got} vs {want}"
        );
    }
}

#[rstest]
#[case("old", "generate", "acme-lk1")]
#[case("old", "validate", "acme-lk1")]
#[case("new", "generate", "acme-lk1")]
#[case("new", "generate", "acme-ed1")]
#[case("new", "validate", "acme-lk1")]
#[case("new", "validate", "acme-ed1")]
#[case("old-rust", "generate", "acme-lk1")]
fn every_system_is_measured_per_format_hosting_and_thread_count_in_rounds(
    #[case] system: &str,
    #[case] op: &str,
    #[case] format: &str,
) {
    let j = json();
    assert_eq!(j["rounds"], 2);
    for threads in [1, 2] {
        let mut hostings = vec!["in_process"];
        if system != "old-rust" {
            hostings.push("isolated");
        }
        for hosting in hostings {
            let m = measurement(j, system, op, format, hosting, threads);
            assert!(samples(&m["samples"]).iter().all(|s| *s > 0.0), "{m}");
            assert_stats_of(&m["per_second"], samples(&m["samples"]));
        }
    }
}

#[test]
fn builtins_are_not_measured_isolated_and_old_does_not_read_new_keys() {
    let j = json();
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
fn a_process_plugin_is_labelled_process_not_in_process() {
    let j = json();
    let viewer: Vec<&Value> = j["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .filter(|m| m["system"] == "viewer-py")
        .collect();
    assert!(
        !viewer.is_empty(),
        "viewer-py (a command = [...] system) was not measured"
    );
    assert!(
        viewer.iter().all(|m| m["hosting"] == "process"),
        "{viewer:?}"
    );
    // And the table says so.
    let s = Scenario::demo();
    let out = s.run(&[
        "bench",
        "--systems",
        "viewer-py",
        "-j",
        "1",
        "--time",
        "20ms",
        "--rounds",
        "1",
        "--corpus",
        "64",
        "--matrix-cases",
        "0",
        "--report-dir",
        "out",
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let row = stdout(&out)
        .lines()
        .find(|l| l.starts_with("viewer-py") && l.contains("validate"))
        .map(str::to_string)
        .expect("a viewer-py row");
    assert!(
        row.contains(" process ") && !row.contains("in-process"),
        "{row}"
    );
    // Neither old nor new measured: no empty old vs new table.
    assert!(
        stdout(&out).contains("no old vs new comparison") && !stdout(&out).contains("new/old\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn old_and_new_are_compared_with_the_ratio_of_each_round_and_its_spread() {
    let j = json();
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
    let old = samples(&measurement(j, "old", "validate", "acme-lk1", "in_process", 1)["samples"]);
    let new = samples(&measurement(j, "new", "validate", "acme-lk1", "in_process", 1)["samples"]);
    let per_round: Vec<f64> = new.iter().zip(&old).map(|(n, o)| n / o).collect();
    assert_stats_of(&lk1["ratio"], per_round);
    assert_stats_of(&lk1["old"], old);
    let ed1 = cs
        .iter()
        .find(|c| c["op"] == "generate" && c["format"] == "acme-ed1")
        .expect("ed1 generate comparison");
    assert!(ed1["old"].is_null() && ed1["ratio"].is_null() && ed1["new"]["median"].is_number());
}

#[test]
fn the_table_prints_every_ratio_with_its_range() {
    let s = Scenario::demo();
    let out = s.run(&[
        "bench",
        "--systems",
        "old,new",
        "-j",
        "1",
        "--in-process-only",
        "--time",
        "20ms",
        "--rounds",
        "3",
        "--corpus",
        "64",
        "--matrix-cases",
        "0",
        "--report-dir",
        "out",
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.starts_with("validate  acme-lk1"))
        .unwrap_or_else(|| panic!("no validate acme-lk1 row in:\n{text}"));
    // old, new: `rate/s (min..max)`; new/old: `1.23x (1.10..1.40)`.
    assert_eq!(row.matches("/s (").count(), 2, "{row}");
    let ratio = row.rsplit_once("  ").map(|(_, r)| r.trim()).unwrap_or(row);
    assert!(
        ratio.contains("x (") && ratio.contains("..") && ratio.ends_with(')'),
        "{row}"
    );
}

#[test]
fn the_matrix_is_measured_against_its_bare_loop_round_by_round() {
    let j = json();
    let m = j["matrix"].as_array().expect("matrix");
    assert_eq!(m.len(), 4, "in-process and isolated, 1 and 2 threads");
    for row in m {
        let (full, bare) = (
            samples(&row["matrix_samples"]),
            samples(&row["bare_samples"]),
        );
        assert!(full.iter().chain(&bare).all(|r| *r > 0.0), "{row}");
        assert_stats_of(&row["matrix_per_second"], full.clone());
        assert_stats_of(&row["bare_per_second"], bare.clone());
        // Overhead is matrix time / bare time = bare rate / matrix rate, per round.
        let per_round: Vec<f64> = bare.iter().zip(&full).map(|(b, f)| b / f).collect();
        let (median, min, max) = stats_of(per_round);
        for (key, want) in [("median", median), ("min", min), ("max", max)] {
            assert!(
                (f(&row["overhead"][key]) - want).abs() < 1e-6 * want,
                "{row}"
            );
        }
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
    assert_eq!(report["throughput"]["schema"], "keycompat-bench/3");
    let md = std::fs::read_to_string(s.dir.path().join("rep/report.md")).expect("md");
    assert!(
        md.contains("## Throughput") && md.contains("new/old") && md.contains("median of 2"),
        "{md}"
    );
    let html = std::fs::read_to_string(s.dir.path().join("rep/report.html")).expect("html");
    assert!(html.contains("Throughput (keys"), "no throughput chart");
    common::assert_schema(&report);
    // A run without --throughput has no such section.
    let (_, plain) = s.run_report(&["--cases", "20", "-q"], "plain");
    assert!(plain.get("throughput").is_none());
}

/// A quick bench of old and new only, in-process, 1 thread, 2 rounds.
const QUICK: &[&str] = &[
    "bench",
    "--systems",
    "old,new",
    "-j",
    "1",
    "--in-process-only",
    "--time",
    "30ms",
    "--rounds",
    "2",
    "--corpus",
    "64",
    "--matrix-cases",
    "0",
    "--report-dir",
    "out",
    "-q",
];

/// A bench.json written by hand: `figures` are (system, op, format, median,
/// min, max), in-process, 1 thread, 2 rounds.
fn baseline(figures: &[(&str, &str, &str, f64, f64, f64)]) -> String {
    let measurements: Vec<Value> = figures
        .iter()
        .map(|&(system, op, format, median, min, max)| {
            json!({
                "op": op, "system": system, "format": format, "hosting": "in_process",
                "threads": 1, "calls": 100, "seconds": 0.1,
                "per_second": { "median": median, "min": min, "max": max },
                "samples": [min, max],
            })
        })
        .collect();
    json!({
        "schema": "keycompat-bench/3", "keycompat_version": "0.0.0", "seed": "1",
        "corpus": 64, "cores": 2, "rounds": 2, "old": "old", "new": "new",
        "measurements": measurements, "comparisons": [], "matrix": [],
    })
    .to_string()
}

/// The line of the baseline table for a figure.
fn verdict_line<'a>(out: &'a str, figure: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(figure))
        .unwrap_or_else(|| panic!("no line for {figure} in:\n{out}"))
}

#[rstest]
#[case::reported_only(&[], 0)]
#[case::failing_on_regression(&["--fail-on-regression"], 1)]
fn a_baseline_is_judged_figure_by_figure(#[case] extra: &[&str], #[case] exit: i32) {
    let s = Scenario::demo();
    // Rates far below, far above and around anything this machine measures,
    // so the verdicts cannot depend on its load.
    let base = baseline(&[
        ("old", "validate", "acme-lk1", 1.0, 1.0, 1.0),
        ("new", "validate", "acme-lk1", 1e12, 1e12, 1e12),
        ("old", "generate", "acme-lk1", 1e6, 0.0, 1e12),
        ("old", "validate", "acme-lk0", 5e4, 4e4, 6e4),
    ]);
    std::fs::write(s.dir.path().join("base.json"), base).expect("write baseline");
    let out = s.run(&[QUICK, &["--baseline", "base.json"], extra].concat());
    assert_eq!(code(&out), exit, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("against the baseline base.json"), "{text}");
    let improved = verdict_line(&text, "old validate acme-lk1 in-process 1 thr");
    assert!(
        improved.ends_with("improved") && improved.contains("%  "),
        "{improved}"
    );
    assert!(improved.contains(" +"), "{improved}");
    let regressed = verdict_line(&text, "new validate acme-lk1 in-process 1 thr");
    assert!(
        regressed.ends_with("regressed") && regressed.contains("-100.0%"),
        "{regressed}"
    );
    let noise = verdict_line(&text, "old generate acme-lk1 in-process 1 thr");
    assert!(noise.ends_with("within noise"), "{noise}");
    assert!(text.contains("gone (only in the baseline): old validate acme-lk0 in-process 1 thr"));
    assert!(text.contains("new (not in the baseline): new generate acme-ed1 in-process 1 thr"));
    assert!(
        text.contains("1 improved, 1 regressed, 1 within noise; 3 new, 1 gone"),
        "{text}"
    );
    if exit == 1 {
        assert!(
            stderr(&out).contains("regressed against the baseline"),
            "{}",
            stderr(&out)
        );
    }
    // The run's own result is written either way, and is itself a baseline.
    assert!(s.dir.path().join("out/bench.json").is_file());
}

#[rstest]
#[case::beyond_the_threshold("5", "improved")]
#[case::under_a_huge_threshold("1e15", "within noise")]
fn the_noise_threshold_decides_what_counts(#[case] threshold: &str, #[case] verdict: &str) {
    let s = Scenario::demo();
    let base = baseline(&[("old", "validate", "acme-lk1", 1.0, 1.0, 1.0)]);
    std::fs::write(s.dir.path().join("base.json"), base).expect("write baseline");
    let out = s.run(
        &[
            QUICK,
            &["--baseline", "base.json", "--noise-threshold", threshold],
        ]
        .concat(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let line = verdict_line(&text, "old validate acme-lk1 in-process 1 thr");
    assert!(line.ends_with(verdict), "{line}");
}

#[test]
fn a_previous_bench_json_is_a_baseline() {
    let s = Scenario::demo();
    let first = s.run(QUICK);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    std::fs::rename(
        s.dir.path().join("out/bench.json"),
        s.dir.path().join("prev.json"),
    )
    .expect("keep the first result");
    let out = s.run(&[QUICK, &["--baseline", "prev.json"]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    // The same figures on both sides: each judged, none new or gone.
    assert!(text.contains("; 0 new, 0 gone"), "{text}");
    for figure in [
        "old generate acme-lk1",
        "old validate acme-lk1",
        "new generate acme-ed1",
        "new validate acme-ed1",
    ] {
        let line = verdict_line(&text, figure);
        assert!(
            ["improved", "regressed", "within noise"]
                .iter()
                .any(|v| line.ends_with(v)),
            "{line}"
        );
    }
}

#[rstest]
#[case::missing(None, "missing.json")]
#[case::not_json(Some("[systems"), "not JSON")]
#[case::another_version(Some(r#"{"schema": "keycompat-bench/2"}"#), "keycompat-bench/2 result")]
#[case::not_a_bench(
    Some(r#"{"schema": "keycompat-report/2"}"#),
    "not a keycompat bench result"
)]
#[case::wrong_shape(
    Some(r#"{"schema": "keycompat-bench/3", "measurements": 7}"#),
    "malformed"
)]
#[case::impossible_figure(None, "not min <= median <= max")]
fn a_bad_baseline_is_a_usage_error_naming_the_file(
    #[case] content: Option<&str>,
    #[case] says: &str,
) {
    let s = Scenario::demo();
    let content = match (content, says) {
        (Some(c), _) => Some(c.to_string()),
        (None, "missing.json") => None,
        (None, _) => Some(baseline(&[("old", "validate", "acme-lk1", 5.0, 6.0, 7.0)])),
    };
    let file = if content.is_some() {
        "base.json"
    } else {
        "missing.json"
    };
    if let Some(c) = content {
        std::fs::write(s.dir.path().join(file), c).expect("write baseline");
    }
    let out = s.run(&[QUICK, &["--baseline", file]].concat());
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(file) && err.contains(says), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Refused before measuring anything.
    assert!(!s.dir.path().join("out/bench.json").exists());
}

#[rstest]
#[case(&["bench", "-j", "0"], "from 1 to 1024")]
#[case(&["bench", "--time", "soon"], "soon")]
#[case(&["bench", "--rounds", "0"], "rounds")]
#[case(&["bench", "--noise-threshold=-3"], "percentage")]
#[case(&["bench", "--fail-on-regression"], "--baseline")]
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
