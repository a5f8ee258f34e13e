//! `keycompat selftest`: the demo catches every applicable defect injector,
//! and a weakened configuration (a check switched off, a waiver widened,
//! too few cases) shows the injector it would miss. Each run is small: the
//! demo without its vectors and exports, which would catch nearly
//! everything on their own, so only the random cases and the checks decide.

use crate::common::*;

/// The demo without vectors and exports: random cases and checks only.
fn bare() -> Scenario {
    Scenario::demo().without_vectors().without_sources()
}

/// Runs `selftest` with `args`; returns the output and report.json.
fn selftest(s: &Scenario, args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let mut all = vec!["--seed", "1", "--no-steer"];
    all.extend_from_slice(args);
    s.report("selftest", &all, "self")
}

/// The injectors with `outcome` (`caught`, `missed`, `not_applicable`).
fn with_outcome(report: &serde_json::Value, outcome: &str) -> Vec<String> {
    report["detection"]["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .filter(|m| m["outcome"] == outcome)
        .map(|m| m["injector"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn the_demo_catches_every_applicable_injector_with_check_severity_and_example() {
    let s = bare();
    let (out, report) = selftest(&s, &["--cases", "300"]);
    assert_schema(&report);
    assert_eq!(
        with_outcome(&report, "missed"),
        Vec::<String>::new(),
        "{}",
        stderr(&out)
    );
    let d = &report["detection"];
    assert_eq!(d["score_percent"], 100.0);
    let caught = with_outcome(&report, "caught");
    assert!(caught.len() >= 20, "{caught:?}");
    for m in d["mutants"].as_array().unwrap() {
        let first = &m["caught_by"][0];
        assert!(
            first["check"].is_string() && first["severity"].is_string(),
            "{m}"
        );
        assert!(first["id"].as_str().unwrap().starts_with("g-"), "{m}");
        assert!(m["example"].is_object(), "{m}");
    }
    // The flipped format choice borrows another generator of the config,
    // and says which product and formats it flipped.
    let flipped = d["mutants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["injector"] == "issue.format-flipped")
        .expect("issue.format-flipped");
    let what = flipped["what"].as_str().unwrap();
    assert!(
        what.contains("'s keys are issued in acme-") && what.contains("instead of acme-"),
        "{what}"
    );
    let text = stdout(&out);
    assert!(
        text.contains("detection power: 28 of 28 applicable injectors caught (100.00 %)"),
        "{text}"
    );
    let md = std::fs::read_to_string(s.dir.path().join("self/report.md")).unwrap();
    assert!(md.contains("## Detection power"), "{md}");
    let html = html_section(&s, "detection");
    assert_eq!(
        html.matches("<tr class=\"mutant caught\">").count(),
        28,
        "{html}"
    );
    assert!(
        html.contains("28 of 28 applicable injectors caught (100.00 %)"),
        "{html}"
    );
}

/// The HTML report's `<section id="ID">`.
fn html_section(s: &Scenario, id: &str) -> String {
    let html = std::fs::read_to_string(s.dir.path().join("self/report.html")).expect("html");
    html.split(&format!("<section id=\"{id}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no section {id} in the HTML"))
        .to_string()
}

#[test]
fn a_check_switched_off_misses_the_injector_only_it_catches() {
    let s = bare();
    let (out, report) = selftest(
        &s,
        &[
            "--cases",
            "300",
            "--checks",
            "roundtrip,backward,forward,rollback,parity,tamper,env",
        ],
    );
    let html = html_section(&s, "detection");
    assert!(
        html.contains(
            "<span class=\"pill missed\">missed</span></td><td><code>time.expiry-ignored</code>"
        ),
        "{html}"
    );
    let missed = with_outcome(&report, "missed");
    assert!(
        missed.contains(&"time.expiry-ignored".to_string()),
        "{missed:?}\n{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("MISSED  time.expiry-ignored"),
        "{}",
        stdout(&out)
    );
    assert!(report["detection"]["score_percent"].as_f64().unwrap() < 100.0);
}

#[test]
fn a_widened_waiver_hides_the_injected_defect() {
    let mut waiver = toml::Table::new();
    for (k, v) in [
        ("check", "tamper"),
        ("cause", "*"),
        ("reason", "too wide: every TAMPER finding"),
        ("owner", "qa@acme.example"),
        ("ticket", "EMS-9"),
        ("expires", "2099-01-01"),
    ] {
        waiver.insert(k.into(), v.into());
    }
    let s = with_waiver(bare(), waiver);
    let (out, report) = selftest(&s, &["--cases", "300", "--injectors", "norm,context"]);
    let missed = with_outcome(&report, "missed");
    assert!(
        missed.contains(&"norm.case-sensitive".to_string()),
        "{missed:?}\n{}",
        stderr(&out)
    );
    assert!(
        missed.contains(&"context.host-unchecked".to_string()),
        "{missed:?}"
    );
}

#[test]
fn ten_cases_miss_a_rare_fault_that_more_cases_catch() {
    let s = bare();
    let (_, few) = selftest(&s, &["--cases", "10", "--injectors", "fault"]);
    assert_eq!(
        with_outcome(&few, "missed"),
        vec!["fault.crash-on-generate"]
    );
    let (_, more) = selftest(&s, &["--cases", "300", "--injectors", "fault"]);
    assert_eq!(with_outcome(&more, "missed"), Vec::<String>::new());
}

/// `--old` plants every injector in the old system too: each is judged
/// once per system, and a defect in the old system is caught as well.
#[test]
fn old_plants_the_injectors_in_the_old_system_too() {
    let s = bare();
    let (out, report) = selftest(
        &s,
        &["--cases", "300", "--old", "--injectors", "time,context"],
    );
    assert_schema(&report);
    let mutants = report["detection"]["mutants"].as_array().expect("mutants");
    let in_system = |system: &str| -> Vec<(&str, &str)> {
        mutants
            .iter()
            .filter(|m| m["system"] == system)
            .map(|m| {
                (
                    m["injector"].as_str().unwrap_or(""),
                    m["outcome"].as_str().unwrap_or(""),
                )
            })
            .collect()
    };
    let (new, old) = (in_system("new"), in_system("old"));
    assert_eq!(new.len(), 8, "{new:?}");
    assert_eq!(
        old.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        new.iter().map(|(i, _)| *i).collect::<Vec<_>>()
    );
    // The time defects act on every validator; the old format carries no
    // node lock, so skipping the old system's host check changes none of
    // its answers: not applicable, with the reason, and not counted.
    assert!(
        old.iter()
            .filter(|(i, _)| i.starts_with("time."))
            .all(|(_, o)| *o == "caught"),
        "{old:?}\n{}",
        stderr(&out)
    );
    assert!(
        old.contains(&("context.host-unchecked", "not_applicable")),
        "{old:?}"
    );
    assert!(
        new.contains(&("context.host-unchecked", "caught")),
        "{new:?}"
    );
    let reason = mutants
        .iter()
        .find(|m| m["system"] == "old" && m["injector"] == "context.host-unchecked")
        .map(|m| m["reason"].as_str().unwrap_or("").to_string())
        .unwrap_or_default();
    assert!(reason.contains("none of old's answers"), "{reason}");
    assert_eq!(
        report["detection"]["systems"],
        serde_json::json!(["new", "old"])
    );
}

#[test]
fn the_detection_gate_fails_a_run_that_misses_too_much() {
    let s = bare()
        .set("gates", "min_detection_percent", 100.into())
        .set("gates", "min_random_cases", 10.into());
    let (out, report) = selftest(&s, &["--cases", "10", "--injectors", "fault"]);
    let gate = gate(&report, "detection power");
    assert_eq!(gate["status"], "red", "{gate}");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_schema(&report);
}

#[test]
fn injectors_that_cannot_change_an_answer_are_not_applicable() {
    let s = bare().set_path(&["catalog", "features"], toml::Value::Array(Vec::new()));
    let s = strip_features(s);
    let (out, report) = selftest(
        &s,
        &[
            "--cases",
            "50",
            "--injectors",
            "decode.feature-added,issue.feature-dropped",
        ],
    );
    assert_eq!(
        with_outcome(&report, "not_applicable"),
        vec!["decode.feature-added", "issue.feature-dropped"],
        "{}",
        stderr(&out)
    );
    let m = &report["detection"]["mutants"][0];
    assert_eq!(m["reason"], "the catalog has no features");
    assert!(report["detection"].get("score_percent").is_none());
}

/// The scenario with one more waiver.
fn with_waiver(s: Scenario, waiver: toml::Table) -> Scenario {
    let mut config: toml::Table = std::fs::read_to_string(s.path()).unwrap().parse().unwrap();
    if let Some(toml::Value::Array(waivers)) = config.get_mut("waivers") {
        waivers.push(waiver.into());
    }
    std::fs::write(s.path(), toml::to_string(&config).unwrap()).unwrap();
    s
}

/// The demo without features: no release may list any either.
fn strip_features(s: Scenario) -> Scenario {
    let text = std::fs::read_to_string(s.path()).unwrap();
    let mut config: toml::Table = text.parse().unwrap();
    if let Some(toml::Value::Array(releases)) = config.get_mut("releases") {
        for r in releases {
            if let Some(t) = r.as_table_mut() {
                t.remove("features");
            }
        }
    }
    std::fs::write(s.path(), toml::to_string(&config).unwrap()).unwrap();
    s
}

#[test]
fn bad_input_is_a_usage_error_not_a_panic() {
    let s = bare();
    let out = s.run(&["selftest", "--injectors", "time.tomorrow", "--cases", "10"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("unknown injector \"time.tomorrow\""), "{err}");
    assert!(err.contains("time.today-plus-1"), "{err}");
    std::fs::write(s.path(), "[run]\nold = 3\n").unwrap();
    let out = s.run(&["selftest", "--cases", "10"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
