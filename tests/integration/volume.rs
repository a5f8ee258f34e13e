//! Go-live volume as a gate (`[gates.volume]`): the new system's issue and
//! validate rates at the production thread count against the expected peak
//! plus a margin, judged on `keycompat bench` figures given with
//! `--throughput` or measured by the run itself.
//!
//! Every bench.json here is written by a real `keycompat bench` of the
//! demo's new system; where a test needs a figure of its choosing, it
//! rewrites that figure's samples (and their median and range) and nothing
//! else, so the file is still the build's own. What a user relies on: ample
//! figures are green and the gate says which figure it judged; a figure
//! under expected x margin is red (NO-GO), the slowest key format decides;
//! no figures, figures at another thread count and figures of another
//! system or build are never green; bad values in the config stop the run
//! naming the key.

use rstest::rstest;
use serde_json::{Value, json};

use crate::common::*;

/// Random cases per run: the demo's waived groups and every release, quick.
const CASES: &str = "300";

/// The demo judged green on few cases, without its exports (quicker), with
/// `[gates.volume]` = `volume`.
fn scenario(volume: Value) -> Scenario {
    Scenario::demo()
        .without_sources()
        .set("run", "isolation", "none".into())
        .set_path(&["gates", "min_random_cases"], 100.into())
        .set_path(&["gates", "volume"], toml_of(&volume))
}

/// A JSON value as TOML (tables, strings, integers, booleans).
fn toml_of(v: &Value) -> toml::Value {
    match v {
        Value::Object(m) => {
            toml::Value::Table(m.iter().map(|(k, v)| (k.clone(), toml_of(v))).collect())
        }
        Value::String(s) => s.clone().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().expect("a number").into(),
        },
        other => panic!("no TOML for {other}"),
    }
}

/// `keycompat bench` of the new system alone at `threads`, in-process, two
/// short rounds: its bench.json (also left at `b/bench.json`).
fn bench(s: &Scenario, threads: &str) -> Value {
    bench_system(s, "new", threads)
}

/// [`bench`] of the system `system` of `s`'s config.
fn bench_system(s: &Scenario, system: &str, threads: &str) -> Value {
    let out = s.run(&[
        "bench",
        "--systems",
        system,
        "-j",
        threads,
        "--time",
        "40ms",
        "--rounds",
        "2",
        "--corpus",
        "100",
        "--matrix-cases",
        "0",
        "--in-process-only",
        "--report-dir",
        "b",
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    read_json(s, "b/bench.json")
}

fn read_json(s: &Scenario, file: &str) -> Value {
    let text =
        std::fs::read_to_string(s.dir.path().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).expect("JSON")
}

fn write_json(s: &Scenario, file: &str, v: &Value) {
    std::fs::write(
        s.dir.path().join(file),
        serde_json::to_string_pretty(v).expect("serializes"),
    )
    .expect("write");
}

/// Sets the samples (one per round) of the new system's `op` figures in
/// `format`, and their median and range, as if measured so.
fn set_figure(bench: &mut Value, op: &str, format: &str, samples: [f64; 2]) {
    let mut found = false;
    for m in bench["measurements"].as_array_mut().expect("measurements") {
        if m["system"] == "new" && m["op"] == op && m["format"] == format {
            let (min, max) = (samples[0].min(samples[1]), samples[0].max(samples[1]));
            m["samples"] = json!(samples);
            m["per_second"] = json!({ "median": (min + max) / 2.0, "min": min, "max": max });
            found = true;
        }
    }
    assert!(found, "no {op} {format} figure of new in {bench:#}");
}

/// `keycompat run` of the scenario with `extra` arguments: exit code and
/// report.json (checked against the schema).
fn run(s: &Scenario, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--cases", CASES, "--seed", "3", "--no-shrink", "--no-steer"];
    args.extend_from_slice(extra);
    let (out, report) = s.run_report(&args, "rep");
    let code = code(&out);
    assert!(code == 0 || code == 1, "exit {code}: {}", stderr(&out));
    assert_schema(&report);
    (code, report, stderr(&out))
}

/// The volume entry of `op` in report.json.
fn op<'r>(report: &'r Value, op: &str) -> &'r Value {
    report["volume"]["ops"]
        .as_array()
        .expect("volume.ops")
        .iter()
        .find(|o| o["op"] == op)
        .unwrap_or_else(|| panic!("no {op} in {:#}", report["volume"]))
}

fn text(s: &Scenario, file: &str) -> String {
    std::fs::read_to_string(s.dir.path().join("rep").join(file)).expect("report file")
}

#[test]
fn ample_figures_are_green_and_every_format_says_which_figure_it_judged() {
    let s = scenario(json!({
        "issue_per_second": 100, "validate_per_second": 200, "threads": 2, "margin_percent": 50
    }));
    bench(&s, "1,2");
    let (code, report, _) = run(&s, &["--throughput", "b/bench.json"]);
    assert_eq!(code, 0, "{:#}", report["gates"]);
    for (name, op_name) in [
        ("issue volume", "generate"),
        ("validate volume", "validate"),
    ] {
        let g = gate(&report, name);
        assert_eq!(g["status"], "green", "{g:#}");
        let o = op(&report, op_name);
        assert_eq!(
            o["required_per_second"].as_f64(),
            Some(o["expected_per_second"].as_f64().unwrap() * 1.5)
        );
        let f = &o["figure"];
        // The production thread count, in-process, the slowest format.
        assert_eq!(
            (f["threads"].as_u64(), f["hosting"].as_str()),
            (Some(2), Some("in_process"))
        );
        let slowest = f["per_second"]["median"].as_f64().unwrap();
        for (format, median) in f["other_formats"]
            .as_array()
            .expect("two formats")
            .iter()
            .map(|p| (p[0].clone(), p[1].as_f64().unwrap()))
        {
            assert!(
                median >= slowest,
                "{format} at {median} is slower than the judged {slowest}"
            );
        }
        assert!(f["headroom"].as_f64().unwrap() > 1.0, "{f:#}");
        let measured = g["measured"].as_str().unwrap();
        for words in [
            "measured (acme-ed1, the slowest of 2 formats; acme-lk1 ",
            "in-process, 2 threads, median of 2 rounds, range ",
            "; from b/bench.json) vs ",
            " expected + 50 % margin = ",
            "x headroom",
        ] {
            assert!(
                measured.contains(words),
                "{words:?} missing from {measured}"
            );
        }
    }
    assert_eq!(
        report["volume"]["evidence"],
        json!({ "kind": "file", "path": "b/bench.json" })
    );
    // Every format shows the gates as it shows the others.
    let validate = gate(&report, "validate volume")["measured"]
        .as_str()
        .unwrap()
        .to_string();
    let markdown = text(&s, "report.md");
    assert!(
        markdown.contains("validate volume") && markdown.contains(&validate),
        "{markdown}"
    );
    let junit = text(&s, "junit.xml");
    assert!(
        junit.contains("name=\"issue volume\"") && junit.contains("name=\"validate volume\""),
        "{junit}"
    );
    let html = text(&s, "report.html");
    assert!(html.contains("validate volume") && html.contains("x headroom"));
}

/// The new system's acme-ed1 figures at 1,000/s (samples `ed1`), acme-lk1
/// at 50,000/s: the slowest format decides.
#[rstest]
#[case::under_the_margin(800, 50, "red", [1_000.0, 1_000.0], "red", 1)]
#[case::met_without_a_margin(800, 0, "red", [1_000.0, 1_000.0], "green", 0)]
#[case::a_warning_when_configured_so(800, 50, "yellow", [1_000.0, 1_000.0], "yellow", 0)]
#[case::the_median_clears_it_but_a_round_does_not(650, 50, "red", [950.0, 1_050.0], "yellow", 0)]
fn the_slowest_format_against_expected_plus_margin_decides(
    #[case] validate: u64,
    #[case] margin: u64,
    #[case] level: &str,
    #[case] ed1: [f64; 2],
    #[case] status: &str,
    #[case] exit: i32,
) {
    let s = scenario(json!({
        "validate_per_second": validate, "threads": 2, "margin_percent": margin, "level": level
    }));
    let mut b = bench(&s, "2");
    set_figure(&mut b, "validate", "acme-ed1", ed1);
    set_figure(&mut b, "validate", "acme-lk1", [50_000.0, 50_000.0]);
    write_json(&s, "b/bench.json", &b);
    let (code, report, _) = run(&s, &["--throughput", "b/bench.json"]);
    let g = gate(&report, "validate volume");
    assert_eq!((g["status"].as_str(), code), (Some(status), exit), "{g:#}");
    let figure = &op(&report, "validate")["figure"];
    assert_eq!(
        figure["format"], "acme-ed1",
        "the slowest format is judged: {figure:#}"
    );
    assert_eq!(figure["per_second"]["median"].as_f64(), Some(1_000.0));
    let measured = g["measured"].as_str().unwrap();
    let required = validate as f64 * (100 + margin) as f64 / 100.0;
    assert!(
        measured.contains(
            "1.0k/s measured (acme-ed1, the slowest of 2 formats; acme-lk1 50.0k/s; in-process, \
             2 threads"
        ),
        "{measured}"
    );
    if status == "red" {
        assert!(
            measured.ends_with(&format!(
                "{:.2}x of the required rate, {}/s short",
                1_000.0 / required,
                (required - 1_000.0).ceil()
            )),
            "{measured}"
        );
        // A red gate fails its JUnit case and names the verdict.
        let junit = text(&s, "junit.xml");
        assert!(junit.contains("red gate blocks go-live"), "{junit}");
        assert_eq!(report["verdict"], "red");
    }
    if ed1[0] != ed1[1] {
        assert!(
            measured.contains("but its slowest round (950/s) is below 975/s"),
            "{measured}"
        );
    }
}

#[rstest]
#[case::red_by_default("red", "red", 1)]
#[case::yellow_when_configured_so("yellow", "yellow", 0)]
fn without_figures_the_gate_is_never_green_and_says_how_to_get_them(
    #[case] level: &str,
    #[case] status: &str,
    #[case] exit: i32,
) {
    let s = scenario(json!({ "validate_per_second": 10, "threads": 2, "level": level }));
    let (code, report, _) = run(&s, &[]);
    let g = gate(&report, "validate volume");
    assert_eq!((g["status"].as_str(), code), (Some(status), exit), "{g:#}");
    assert!(
        g["measured"].as_str().unwrap().starts_with(
            "no throughput figures: run with --throughput FILE (a bench.json of `keycompat bench -j 2`), \
             or set `[gates.volume] measure = true` (or pass --measure-volume)"
        ),
        "{g:#}"
    );
    assert!(report["volume"].get("evidence").is_none() && report.get("throughput").is_none());
}

#[test]
fn figures_at_another_thread_count_are_not_evidence_for_production() {
    let s = scenario(json!({ "validate_per_second": 10, "threads": 2 }));
    bench(&s, "1");
    let (code, report, _) = run(&s, &["--throughput", "b/bench.json"]);
    let g = gate(&report, "validate volume");
    assert_eq!((g["status"].as_str(), code), (Some("red"), 1));
    assert_eq!(
        g["measured"],
        "no validate figure at the production 2 threads (the new system was measured at 1 \
         thread); hint: keycompat bench -j 2"
    );
}

/// Figures of the Rust reimplementation, benched under the name `new` or
/// its own, or a file that does not say which build it measured: each is
/// refused, however fast.
#[rstest]
#[case::another_system_under_its_own_name(
    "new-system",
    "measured the new system `new-rust`; this run's new system is `new`"
)]
#[case::another_build_under_the_same_name(
    "new-build",
    "measured another build of `new` (acme-ed1 "
)]
#[case::no_record_of_the_build("unrecorded", "does not record which build of `new` it measured")]
fn figures_of_another_system_or_build_are_refused(#[case] how: &str, #[case] says: &str) {
    let s = scenario(json!({ "validate_per_second": 10, "threads": 2 }));
    let b = match how {
        "new-system" => {
            // A config whose new system is the builtin: its bench says so.
            let other = Scenario::demo().set("run", "new", "new-rust".into());
            // A builtin runs in-process anyway: `--in-process-only` changes nothing.
            bench_system(&other, "new-rust", "2")
        }
        "new-build" => {
            let other = Scenario::demo().set_path(
                &["systems", "new"],
                toml_of(&json!({
                    "builtin": "acme-ed1",
                    "settings": {
                        "lk1_secret": "acme-legacy-demo-secret-DO-NOT-SHIP",
                        "signing_key": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                        "kid": "acme-demo-2026",
                        "trusted_keys": "acme-demo-2026:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                        "lk1_products": "acme-cad,acme-viewer,acme-sim"
                    }
                })),
            );
            bench(&other, "2")
        }
        _ => {
            let mut b = bench(&s, "2");
            b.as_object_mut().expect("an object").remove("systems");
            b
        }
    };
    write_json(&s, "other.json", &b);
    let (code, report, _) = run(&s, &["--throughput", "other.json"]);
    let g = gate(&report, "validate volume");
    assert_eq!((g["status"].as_str(), code), (Some("red"), 1), "{g:#}");
    let measured = g["measured"].as_str().unwrap();
    assert!(
        measured.starts_with("refused as evidence: other.json ") && measured.contains(says),
        "{measured}"
    );
    assert!(op(&report, "validate").get("figure").is_none());
}

/// `[gates.volume] measure = true` or `--measure-volume`: the run measures
/// the new system itself, in worker processes as it hosts plugins, and
/// judges that.
#[rstest]
#[case::configured(true, &[])]
#[case::asked_for(false, &["--measure-volume"])]
fn a_run_measures_its_own_new_system_when_asked(#[case] measure: bool, #[case] flag: &[&str]) {
    let s = scenario(json!({
        "issue_per_second": 50, "validate_per_second": 50, "threads": 2, "measure": measure
    }))
    .set("run", "isolation", "worker".into());
    let (code, report, err) = run(&s, flag);
    assert_eq!(code, 0, "{:#}", report["gates"]);
    assert!(
        err.contains("volume: measuring the new system `new` at 2 thread(s)"),
        "{err}"
    );
    assert_eq!(report["volume"]["evidence"], json!({ "kind": "measured" }));
    let t = &report["throughput"];
    assert_eq!(t["rounds"], 5);
    let measured: Vec<(String, String, String, u64)> = t["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .map(|m| {
            (
                m["system"].as_str().unwrap().into(),
                m["op"].as_str().unwrap().into(),
                m["hosting"].as_str().unwrap().into(),
                m["threads"].as_u64().unwrap(),
            )
        })
        .collect();
    // The new system alone, at the production thread count, in workers.
    assert!(!measured.is_empty());
    for (system, _, hosting, threads) in &measured {
        assert_eq!(
            (system.as_str(), hosting.as_str(), *threads),
            ("new", "isolated", 2),
            "{measured:?}"
        );
    }
    for name in ["issue volume", "validate volume"] {
        let g = gate(&report, name);
        assert_eq!(g["status"], "green", "{g:#}");
        let measured = g["measured"].as_str().unwrap();
        assert!(
            measured.contains(
                "in worker processes (with keycompat's pipe: a lower bound), 2 threads, median \
                 of 5 rounds"
            ),
            "{measured}"
        );
        assert!(
            g["measured"]
                .as_str()
                .unwrap()
                .contains("; measured in this run) vs 50/s expected + no margin = 50/s: "),
            "{g:#}"
        );
    }
    assert!(text(&s, "report.md").contains("Measured in this run for the volume gates"));
    // The chart draws the new system's bars, and none for the old system,
    // which was not measured.
    let html = text(&s, "report.html");
    assert!(html.contains("2 thr: new") && !html.contains("2 thr: old"));
}

#[test]
fn a_merge_judges_the_volume_its_shards_were_given() {
    let s = scenario(json!({ "validate_per_second": 10, "threads": 2 }));
    bench(&s, "2");
    for k in ["1/2", "2/2"] {
        let dir = format!("shard{}", &k[..1]);
        let out = s.run(&[
            "run",
            "--cases",
            CASES,
            "--seed",
            "3",
            "--no-shrink",
            "--partition",
            k,
            "--throughput",
            "b/bench.json",
            "--today",
            "2026-11-23",
            "--report-dir",
            &dir,
            "-q",
        ]);
        assert!(code(&out) <= 1, "{}", stderr(&out));
    }
    let out = s.run(&[
        "merge",
        "shard1/report.json",
        "shard2/report.json",
        "--report-dir",
        "merged",
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let merged = read_json(&s, "merged/report.json");
    assert_schema(&merged);
    assert_eq!(gate(&merged, "validate volume")["status"], "green");
    assert_eq!(
        merged["volume"]["evidence"],
        json!({ "kind": "file", "path": "b/bench.json" })
    );
}

/// Bad values stop the run before it starts (exit 2), naming the key.
#[rstest]
#[case::negative_rate(json!({ "validate_per_second": -5, "threads": 2 }), "validate_per_second")]
#[case::fractional_rate(json!({ "validate_per_second": 2.5, "threads": 2 }), "validate_per_second")]
#[case::rate_as_text(json!({ "issue_per_second": "fast", "threads": 2 }), "issue_per_second")]
#[case::zero_rate(json!({ "issue_per_second": 0, "threads": 2 }), "`gates.volume.issue_per_second`: must be at least 1 key per second")]
#[case::zero_threads(json!({ "validate_per_second": 10, "threads": 0 }), "`gates.volume.threads`: must be 1 or more")]
#[case::no_threads(json!({ "validate_per_second": 10 }), "`gates.volume.threads`: is required")]
#[case::too_many_threads(json!({ "validate_per_second": 10, "threads": 100000 }), "`gates.volume.threads`: 100000 threads: at most 1024")]
#[case::absurd_margin(json!({ "validate_per_second": 10, "threads": 2, "margin_percent": 5000 }), "`gates.volume.margin_percent`: 5000 % is not a plausible margin")]
#[case::negative_margin(json!({ "validate_per_second": 10, "threads": 2, "margin_percent": -1 }), "margin_percent")]
#[case::green_level(json!({ "validate_per_second": 10, "threads": 2, "level": "green" }), "level")]
#[case::unknown_key(json!({ "validate_per_sec": 10, "threads": 2 }), "unknown field `validate_per_sec`")]
#[case::no_rate(json!({ "threads": 2, "measure": true }), "`gates.volume`: sets no rate")]
fn bad_values_are_a_config_error_naming_the_key(#[case] volume: Value, #[case] names: &str) {
    let s = scenario(volume);
    let out = s.run(&["run", "--cases", "1", "--report-dir", "rep"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(names), "{names:?} missing from: {err}");
    assert!(err.contains("keycompat.toml"), "{err}");
}

#[rstest]
#[case::nothing_to_measure_for(&["--measure-volume"], "--measure-volume: ", "has no volume gate to measure for")]
#[case::measured_or_read(&["--measure-volume", "--throughput", "b.json"], "--measure-volume", "cannot be used with")]
fn measuring_needs_a_volume_gate_and_no_file(
    #[case] args: &[&str],
    #[case] a: &str,
    #[case] b: &str,
) {
    let s = Scenario::demo();
    let mut all = vec!["run", "--cases", "1", "--report-dir", "rep"];
    all.extend_from_slice(args);
    let out = s.run(&all);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(a) && err.contains(b), "{err}");
}
