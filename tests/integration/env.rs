//! The ENV check: validators in child processes (worker-hosted libraries,
//! process plugins) asked the same questions under other time zones and
//! locales, against their own answers in keycompat's environment; systems
//! in keycompat's own process listed as not checked, never as passing.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::{Scenario, assert_schema, code, gate, stderr, stdout, unwaived_groups};

/// keycompat's own environment in these tests: UTC, whatever the machine's.
const HOME: &[(&str, &str)] = &[("TZ", "UTC")];

/// A run of `s` with ENV alone (ROUNDTRIP always runs underneath).
fn run_env(s: &Scenario, cases: &str, extra: &[&str]) -> (std::process::Output, Value) {
    let mut args = vec!["--cases", cases, "--seed", "5", "--checks", "env"];
    args.extend_from_slice(extra);
    s.report_in_env("run", &args, "r", HOME)
}

/// ENV's tallies by (generator, validator): (pass, fail).
fn env_cells(r: &Value) -> BTreeMap<(String, String), (u64, u64)> {
    r["tallies"]
        .as_array()
        .expect("tallies")
        .iter()
        .filter(|t| t["check"] == "env")
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            let n = |k: &str| t[k].as_u64().unwrap_or(0);
            ((s("generator"), s("validator")), (n("pass"), n("fail")))
        })
        .collect()
}

fn env_groups(r: &Value) -> Vec<&Value> {
    r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["check"] == "env")
        .collect()
}

/// The demo's validators (the C plugin and the Rust plugin, in worker
/// processes) read nothing from their environment: every answer under every
/// default environment is the answer at home, and the reports say which
/// systems were asked under what.
#[test]
fn the_demo_answers_the_same_under_every_environment() {
    let s = Scenario::demo().without_sources();
    let (out, r) = run_env(&s, "300", &["--no-shrink"]);
    assert_schema(&r);
    assert!(env_groups(&r).is_empty(), "{:#?}", env_groups(&r));
    let cells = env_cells(&r);
    for validator in ["old", "new", "viewer-py"] {
        let asked: u64 = cells
            .iter()
            .filter(|((_, v), _)| v == validator)
            .map(|(_, (pass, fail))| pass + fail)
            .sum();
        assert!(
            asked > 300,
            "{validator} was asked {asked} times: {cells:?}"
        );
    }
    assert!(cells.values().all(|&(_, fail)| fail == 0), "{cells:?}");
    let env = &r["meta"]["env"];
    assert_eq!(
        env["environments"],
        json!([
            "TZ=Pacific/Kiritimati",
            "TZ=Pacific/Pago_Pago",
            "LANG=th_TH.UTF-8 LC_ALL=th_TH.UTF-8"
        ])
    );
    assert_eq!(
        env["checked"],
        json!(["old", "new", "viewer-py"]),
        "{env:#}"
    );
    assert_eq!(env["unchecked"], json!([]), "{env:#}");
    // The copies are not systems of the report.
    let systems = r["meta"]["systems"].as_object().expect("systems");
    assert!(systems.keys().all(|k| !k.contains('[')), "{systems:?}");
    let summary = stdout(&out);
    assert!(
        summary.contains("ENV under TZ=Pacific/Kiritimati, TZ=Pacific/Pago_Pago, LANG=th_TH.UTF-8 LC_ALL=th_TH.UTF-8: checked old, new"),
        "{summary}"
    );
}

/// A validator that takes "today" as the local date of the context's day's
/// last second (kc_faulty's `tz-expiry`, a worker-hosted library as the new
/// system) expires every key a day early east of UTC. At home (UTC) it is
/// right, so only ENV sees it: outages under TZ=Pacific/Kiritimati on the
/// expiry day, of the old system's keys and its own, blamed on the new
/// system, never on the old one, under no other environment; shrunk.
#[test]
fn a_time_zone_bug_east_of_utc_is_an_outage_of_its_system() {
    // Random cases only, so that every example is shrunk.
    let s = Scenario::demo()
        .without_sources()
        .faulty_system("new", "acme-ed1", &[("defect", "tz-expiry")])
        .without_vectors();
    let (out, r) = run_env(&s, "200", &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_schema(&r);
    let unwaived = unwaived_groups(&r);
    let expected = |format: &str| {
        (
            "env".to_string(),
            "outage".to_string(),
            "new".to_string(),
            format!("{format} key rejected under TZ=Pacific/Kiritimati on the expiry day"),
        )
    };
    let mut found: Vec<(String, String, String, String)> = unwaived
        .iter()
        .map(|(c, s, _, v, cause)| (c.clone(), s.clone(), v.clone(), cause.clone()))
        .collect();
    found.sort();
    found.dedup();
    assert_eq!(
        found,
        [expected("acme-ed1"), expected("acme-lk1")],
        "{unwaived:#?}"
    );
    let generators: Vec<&str> = unwaived.iter().map(|(_, _, g, _, _)| g.as_str()).collect();
    assert!(
        generators.contains(&"old") && generators.contains(&"new"),
        "{unwaived:#?}"
    );
    for g in env_groups(&r) {
        let e = &g["example"];
        assert_eq!(
            e["context"]["today"], e["entitlement"]["expires"],
            "on the expiry day: {g:#}"
        );
        assert_eq!(e["validation"]["verdict"], "expired", "{g:#}");
        assert_eq!(e["expected"], "valid as in keycompat's own environment");
        let shrunk = &g["shrunk"];
        assert_eq!(shrunk["cause"], g["cause"], "shrunk: {g:#}");
        assert_eq!(
            shrunk["context"]["today"], shrunk["entitlement"]["expires"],
            "{g:#}"
        );
    }
    // The old system's validator is right everywhere.
    let cells = env_cells(&r);
    let old_failed: u64 = cells
        .iter()
        .filter(|((_, v), _)| v == "old")
        .map(|(_, (_, fail))| fail)
        .sum();
    assert_eq!(old_failed, 0, "{cells:?}");
}

/// A Python process plugin as the old system (misbehave.py's
/// `nondeterministic-env`: midnight UTC converted with `time.localtime`, the
/// day before west of UTC) accepts keys a day past expiry under
/// TZ=Pacific/Pago_Pago: a leak of the old system. With `isolation =
/// "none"` the process plugin is still checked (it always runs in a child);
/// the new system, a library in keycompat's own process, is listed as not
/// checked.
#[test]
fn a_python_validator_reading_local_time_leaks_west_of_utc() {
    assert!(
        std::path::Path::new("/usr/share/zoneinfo/Pacific/Pago_Pago").is_file(),
        "the time zone database (Debian: tzdata) is missing: Python cannot convert to Pacific/Pago_Pago"
    );
    let s = Scenario::demo()
        .without_sources()
        .misbehaving("old", "nondeterministic-env")
        .set("run", "isolation", "none".into());
    let (out, r) = run_env(&s, "200", &["--no-shrink"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_schema(&r);
    let unwaived = unwaived_groups(&r);
    assert!(!unwaived.is_empty(), "{}", stderr(&out));
    for (check, severity, generator, validator, cause) in &unwaived {
        assert_eq!(
            (
                check.as_str(),
                severity.as_str(),
                generator.as_str(),
                validator.as_str()
            ),
            ("env", "leak", "old", "old"),
            "{unwaived:#?}"
        );
        assert_eq!(
            cause,
            "acme-lk1 key accepted under TZ=Pacific/Pago_Pago on the day after expiry"
        );
    }
    let env = &r["meta"]["env"];
    assert_eq!(env["checked"], json!(["old", "viewer-py"]), "{env:#}");
    assert_eq!(
        env["unchecked"],
        json!([{ "system": "new", "reason": "isolation = \"none\": runs in keycompat's own process" }])
    );
}

/// A system in keycompat's own process cannot run under another
/// environment: a builtin named in `[env] systems`, and every library with
/// `isolation = "none"`. Each is listed as not checked, in every report
/// format, and has no ENV cell: nothing about it counts as passing.
#[test]
fn systems_in_keycompats_process_are_listed_as_not_checked() {
    let builtin = "a builtin: runs in keycompat's own process";
    let s = Scenario::demo().without_sources().set_path(
        &["env", "systems"],
        toml::Value::Array(vec!["new".into(), "old-rust".into()]),
    );
    let (out, r) = run_env(&s, "40", &["--no-shrink"]);
    assert_schema(&r);
    let env = &r["meta"]["env"];
    assert_eq!(env["checked"], json!(["new"]), "{env:#}");
    assert_eq!(
        env["unchecked"],
        json!([{ "system": "old-rust", "reason": builtin }])
    );
    let cells = env_cells(&r);
    assert!(!cells.is_empty());
    assert!(
        cells.keys().all(|(_, v)| v == "new"),
        "only new was asked: {cells:?}"
    );
    assert!(
        stdout(&out).contains(&format!("NOT checked: old-rust ({builtin})")),
        "{}",
        stdout(&out)
    );
    let md = std::fs::read_to_string(s.dir.path().join("r/report.md")).expect("report.md");
    assert!(md.contains("NOT checked: old-rust"), "{md}");
    let html = std::fs::read_to_string(s.dir.path().join("r/report.html")).expect("report.html");
    assert!(
        html.contains("<strong>not checked</strong>: old-rust"),
        "ENV in the HTML"
    );
    // Neither old nor new is missing from ENV: the every-check gate does
    // not count a builtin reference left out.
    let every = gate(&r, "every check");
    assert!(
        every["measured"]
            .as_str()
            .is_some_and(|m| !m.contains("ENV could not ask")),
        "{every:#}"
    );

    let s = Scenario::demo()
        .without_sources()
        .set("run", "isolation", "none".into());
    let (out, r) = run_env(&s, "40", &["--no-shrink"]);
    let env = &r["meta"]["env"];
    // A process plugin runs in its own process whatever the isolation.
    assert_eq!(env["checked"], json!(["viewer-py"]), "{env:#}");
    let unchecked: Vec<&str> = env["unchecked"]
        .as_array()
        .expect("unchecked")
        .iter()
        .filter_map(|u| u["system"].as_str())
        .collect();
    assert_eq!(unchecked, ["old", "new"]);
    // ENV ran but could not ask old and new: not a check that ran in full
    // (the gate's colour, yellow with every other check on, is the unit
    // tests' in gate.rs).
    let every = gate(&r, "every check");
    assert!(
        every["measured"]
            .as_str()
            .is_some_and(|m| m.contains("ENV could not ask old, new")),
        "{every:#}"
    );
    assert!(
        env_cells(&r).keys().all(|(_, v)| v == "viewer-py"),
        "{:?}",
        env_cells(&r)
    );
    assert!(
        stdout(&out).contains("NOT checked: old"),
        "{}",
        stdout(&out)
    );

    // A shipped release's validator that is a builtin is no reference left
    // out: ENV could not ask it, and the gate says so.
    let mut viewer = toml::Table::new();
    viewer.insert("builtin".into(), "acme-lk1".into());
    let mut settings = toml::Table::new();
    settings.insert("secret".into(), crate::common::LK1_SECRET.into());
    viewer.insert("settings".into(), settings.into());
    let s = Scenario::demo()
        .without_sources()
        .set_path(&["systems", "viewer-py"], viewer.into());
    let (_, r) = run_env(&s, "40", &["--no-shrink"]);
    let every = gate(&r, "every check");
    assert!(
        every["measured"]
            .as_str()
            .is_some_and(|m| m.contains("ENV could not ask viewer-py")),
        "{every:#}"
    );
}

/// A system that starts in keycompat's environment but not under one of
/// ENV's (a plugin that cannot load a locale's data): one ENV crash finding
/// blaming the system and naming the environment, with the plugin's words;
/// the run goes on, and the system is still asked under the other
/// environments.
#[test]
fn a_system_that_cannot_start_under_an_environment_is_one_finding_naming_it() {
    let s = Scenario::demo()
        .without_sources()
        .misbehaving("viewer-py", "thai-locale-refused");
    let (out, r) = run_env(&s, "20", &["--no-shrink"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_schema(&r);
    let groups = env_groups(&r);
    assert_eq!(groups.len(), 1, "{groups:#?}");
    let g = groups[0];
    assert_eq!(g["severity"], "crash", "{g:#}");
    assert_eq!(g["generator"], "viewer-py", "{g:#}");
    assert_eq!(g["validator"], "viewer-py", "{g:#}");
    assert_eq!(
        g["cause"], "did not start under LANG=th_TH.UTF-8 LC_ALL=th_TH.UTF-8",
        "{g:#}"
    );
    assert_eq!(g["count"], 1, "{g:#}");
    let found = g["example"]["found"].as_str().unwrap_or_default();
    assert!(found.contains("cannot load the calendar"), "{g:#}");
    assert!(
        g["replay"]
            .as_str()
            .unwrap_or_default()
            .starts_with("env LANG=th_TH.UTF-8 LC_ALL=th_TH.UTF-8 keycompat"),
        "{g:#}"
    );
    let elsewhere: u64 = env_cells(&r)
        .iter()
        .filter(|((_, v), _)| v == "viewer-py")
        .map(|(_, (pass, fail))| pass + fail)
        .sum();
    assert!(
        elsewhere > 0,
        "viewer-py not asked under the other environments"
    );
}

/// `[env]` is checked when the config loads, naming the field.
#[test]
fn a_bad_env_section_is_a_config_error_naming_the_field() {
    for (key, value, field) in [
        (
            "systems",
            toml::Value::Array(vec!["nope".into()]),
            "env.systems[0]",
        ),
        (
            "environments",
            toml::Value::Array(vec![toml::Value::Table(
                [("A=B".to_string(), toml::Value::from("x"))]
                    .into_iter()
                    .collect(),
            )]),
            "env.environments[0]",
        ),
        ("every", toml::Value::Integer(0), "env.every"),
    ] {
        let s = Scenario::demo()
            .without_sources()
            .set_path(&["env", key], value);
        let out = s.run(&["run", "--cases", "1", "-q"]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("`{field}`")),
            "{}",
            stderr(&out)
        );
    }
}

/// A time zone glibc cannot find is UTC under another name: the ENV check
/// would report it "checked" having checked nothing. It is a config error
/// naming the field; POSIX TZ strings need no file and are accepted.
#[rstest::rstest]
#[case::a_misspelt_zone("Asia/Tokio", 2)]
#[case::a_zone_directory("Asia", 2)]
#[case::a_zone_file("Asia/Tokyo", 0)]
#[case::posix_fixed_offset("UTC-14", 0)]
#[case::posix_with_dst("EST5EDT", 0)]
#[case::posix_quoted_name("<+14>-14", 0)]
fn a_time_zone_that_does_not_exist_is_a_config_error_naming_the_field(
    #[case] tz: &str,
    #[case] exit: i32,
) {
    let env: toml::Table = [("TZ".to_string(), toml::Value::from(tz))]
        .into_iter()
        .collect();
    let s = Scenario::demo().without_sources().set_path(
        &["env", "environments"],
        toml::Value::Array(vec![env.into()]),
    );
    let out = s.run(&["vectors", "check"]);
    assert_eq!(code(&out), exit, "{}", stderr(&out));
    if exit == 2 {
        assert!(
            stderr(&out).contains(&format!("`env.environments[0].TZ`: no time zone {tz:?}")),
            "{}",
            stderr(&out)
        );
    }
}

/// A locale the machine does not have is a warning naming it, not an error
/// (a Java or Node validator reads the variable with its own locale data);
/// without a zoneinfo directory a zone cannot be checked: a warning too.
#[test]
fn a_locale_not_installed_and_an_unverifiable_zone_are_warnings() {
    let env = |k: &str, v: &str| -> toml::Value {
        let t: toml::Table = [(k.to_string(), toml::Value::from(v))]
            .into_iter()
            .collect();
        t.into()
    };
    let s = Scenario::demo().without_sources().set_path(
        &["env", "environments"],
        toml::Value::Array(vec![
            env("TZ", "Asia/Tokio"),
            env("LANG", "xx_XX.UTF-8"),
            env("LC_ALL", "C.UTF-8"),
        ]),
    );
    let no_zoneinfo = s.dir.path().join("no-zoneinfo");
    let env_vars = [
        ("TZ", "UTC"),
        ("TZDIR", no_zoneinfo.to_str().expect("utf-8")),
    ];
    let (out, r) = s.report_in_env(
        "run",
        &[
            "--cases",
            "10",
            "--seed",
            "5",
            "--checks",
            "env",
            "--no-shrink",
        ],
        "r",
        &env_vars,
    );
    let err = stderr(&out);
    assert!(code(&out) <= 1, "{err}");
    assert!(
        err.contains("warning: env.environments[0].TZ: time zone \"Asia/Tokio\" cannot be checked"),
        "{err}"
    );
    assert!(
        err.contains("warning: env.environments[1].LANG: locale \"xx_XX.UTF-8\" is not installed"),
        "{err}"
    );
    assert!(
        !err.contains("env.environments[2]"),
        "C.UTF-8 is installed everywhere: {err}"
    );
    assert!(
        r["meta"]["env"].is_object(),
        "the run went on: {}",
        r["meta"]
    );
}
