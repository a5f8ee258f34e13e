//! A verdict you can trust: each system judged against what is known to be
//! right, so the report blames the system that deviates.

use std::collections::BTreeSet;

use rstest::rstest;

use crate::common::{Scenario, code, gate, stderr, stdout, unwaived_groups};

/// An old validator that never checks the MAC accepts forged keys: TAMPER
/// blames the old system with a leak, and never the new system, which is
/// right to reject them.
#[test]
fn a_lax_old_validator_is_blamed_on_old() {
    let s = Scenario::demo()
        .without_sources()
        .faulty_system("old", "acme-lk1", &[("defect", "lax-mac")])
        .set("run", "isolation", "none".into());
    let (out, r) = s.run_report(&["--cases", "200", "--seed", "3", "--no-shrink", "-q"], "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = r["groups"].as_array().expect("groups");
    let tamper: Vec<&serde_json::Value> =
        groups.iter().filter(|g| g["check"] == "tamper").collect();
    assert!(
        tamper.iter().any(|g| g["severity"] == "leak"
            && g["validator"] == "old"
            && g["cause"]
                .as_str()
                .is_some_and(|c| c.ends_with("accepted by old"))),
        "{tamper:#?}"
    );
    assert!(
        !tamper.iter().any(|g| g["validator"] == "new"),
        "the new system is right and must not be blamed: {tamper:#?}"
    );
}

/// The groups of a report whose check is `check`.
fn groups<'a>(r: &'a serde_json::Value, check: &str) -> Vec<&'a serde_json::Value> {
    r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["check"] == check)
        .collect()
}

/// A new system that issues acme-ed1 for Acme CAD, which has releases that
/// read acme-lk1 only, even for entitlements acme-lk1 carries (a policy
/// regression): the outages are avoidable (the old system issues a key those
/// releases accept), the demo's waivers do not cover them, and the run is red.
/// A waiver covers them only when it says `avoidable = true`.
#[test]
fn a_policy_regression_is_red_under_the_demo_waivers() {
    let s = Scenario::demo()
        .without_sources()
        .set_path(
            &["systems", "new", "settings", "lk1_products"],
            "acme-viewer,acme-sim".into(),
        )
        .set("run", "isolation", "none".into());
    let args = ["--cases", "400", "--seed", "5", "--no-shrink", "-q"];
    let (out, r) = s.run_report(&args, "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    crate::common::assert_schema(&r);
    let unwaived = unwaived_groups(&r);
    let avoidable = "avoidable: acme-ed1 key rejected: malformed";
    for validator in ["Acme CAD 5.4", "Acme CAD 6.2", "old"] {
        let check = if validator == "old" {
            "rollback"
        } else {
            "forward"
        };
        assert!(
            unwaived.iter().any(|(c, sev, g, v, cause)| c == check
                && sev == "outage"
                && g == "new"
                && v == validator
                && cause == avoidable),
            "{validator}: {unwaived:#?}"
        );
    }
    for g in groups(&r, "forward")
        .into_iter()
        .chain(groups(&r, "rollback"))
    {
        let example = &g["example"];
        if g["cause"] == avoidable {
            assert_eq!(example["avoidable"], "old (acme-lk1)", "{g:#}");
            assert!(example["old_refused"].is_null(), "{g:#}");
            assert_eq!(example["entitlement"]["product"], "acme-cad", "{g:#}");
        } else {
            // What the demo's waivers cover: only what acme-lk1 cannot carry.
            assert!(g["waived_by"].is_string(), "{g:#}");
            assert!(example["old_refused"].is_string(), "{g:#}");
        }
    }

    // Said explicitly, a waiver covers them.
    let mut explicit = toml::Table::new();
    for (k, v) in [
        ("check", "forward"),
        ("cause", avoidable),
        (
            "reason",
            "Acme CAD moves to acme-ed1; 5.x and 6.x customers upgrade",
        ),
        ("owner", "release-management@acme.example"),
        ("ticket", "EMS-2001"),
        ("expires", "2027-06-30"),
    ] {
        explicit.insert(k.into(), v.into());
    }
    explicit.insert("avoidable".into(), true.into());
    let mut waivers = s_waivers(&s);
    waivers.push(toml::Value::Table(explicit));
    let s = s.set_path(&["waivers"], toml::Value::Array(waivers));
    let (_, r) = s.run_report(&args, "r2");
    let unwaived = unwaived_groups(&r);
    assert!(
        !unwaived.iter().any(|(c, ..)| c == "forward"),
        "{unwaived:#?}"
    );
    assert!(
        unwaived
            .iter()
            .any(|(c, _, _, _, cause)| c == "rollback" && cause == avoidable),
        "the forward waiver must not cover rollback: {unwaived:#?}"
    );
}

/// The demo config's waivers, as TOML values.
fn s_waivers(s: &Scenario) -> Vec<toml::Value> {
    let text = std::fs::read_to_string(s.path()).expect("config");
    let config: toml::Table = text.parse().expect("config parses");
    config["waivers"].as_array().expect("waivers").clone()
}

/// The demo whose new system refuses every entitlement with features.
fn new_refusing_features() -> Scenario {
    Scenario::demo().without_sources().faulty_system(
        "new",
        "acme-ed1",
        &[("defect", "refuses-features")],
    )
}

/// A new system that refuses (a declared refusal) every entitlement with a
/// feature, which the old system issues: customers who cannot get a key.
/// Each is a ROUNDTRIP outage of the new system naming the refused field,
/// never waived, and the run is red.
#[test]
fn a_new_system_refusing_what_old_issues_is_red() {
    let s = new_refusing_features().set("run", "isolation", "none".into());
    let (out, r) = s.run_report(&["--cases", "200", "--seed", "9", "--no-shrink", "-q"], "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let refused: Vec<&serde_json::Value> = groups(&r, "roundtrip")
        .into_iter()
        .filter(|g| g["cause"] == "new refused: features")
        .collect();
    assert_eq!(refused.len(), 1, "{:#}", r["groups"]);
    let g = refused[0];
    assert_eq!(g["severity"], "outage");
    assert_eq!(g["generator"], "new");
    assert!(g["waived_by"].is_null(), "{g:#}");
    assert_eq!(
        g["example"]["found"],
        "refused: features: no feature table loaded"
    );
    assert!(
        g["example"]["entitlement"]["features"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "{g:#}"
    );
    let gate = gate(&r, "no outage or leak");
    assert_eq!(gate["status"], "red", "{gate:#}");
}

/// Nothing dropped: a new system whose validator fails on a known set of
/// inputs (the plugin logs each input it fails on) yields exactly one crash
/// finding per failing input, each naming that input, check by check, in
/// process (an error status) and isolated (the worker aborts, or the plugin
/// ends it with `exit(0)`, and it restarts).
#[rstest]
#[case::tamper("new", "tamper", "40", "61", "none")]
#[case::time("new", "time", "60", "7", "none")]
#[case::forward("new", "forward", "60", "5", "none")]
#[case::rollback_by_old("old", "rollback", "60", "5", "none")]
#[case::tamper_by_old("old", "tamper", "30", "61", "none")]
#[case::every_check_isolated("new", "all", "30", "61", "worker")]
#[case::exit_isolated("old", "all", "30", "61", "worker-exit")]
fn every_failing_input_is_one_crash_finding(
    #[case] system: &str,
    #[case] check: &str,
    #[case] cases: &str,
    #[case] every: &str,
    #[case] isolation: &str,
) {
    let (fault, isolation) = match isolation {
        "none" => ("fail-on-key", "none"),
        "worker-exit" => ("exit-on-key", "worker"),
        _ => ("abort-on-key", "worker"),
    };
    let s = Scenario::demo().without_sources();
    let log = s.dir.path().join("failed.jsonl");
    let log_path = log.to_string_lossy().into_owned();
    let s = s
        .faulty_system(
            system,
            if system == "new" {
                "acme-ed1"
            } else {
                "acme-lk1"
            },
            &[("fault", fault), ("every", every), ("log", &log_path)],
        )
        .without_vectors()
        .set("run", "isolation", isolation.into());
    let mut args = vec!["--cases", cases, "--seed", "11", "--no-shrink", "-q"];
    if check != "all" {
        args.extend(["--checks", check]);
    }
    let (out, r) = s.run_report(&args, "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));

    let failed: BTreeSet<(String, String)> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a log line");
            (
                v["key_hex"].as_str().unwrap().to_string(),
                v["context"].to_string(),
            )
        })
        .collect();
    assert!(
        failed.len() >= 3,
        "too few failing inputs to prove much: {}",
        failed.len()
    );
    let crashes: Vec<&serde_json::Value> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["severity"] == "crash")
        .collect();
    let found: u64 = crashes.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(
        found as usize,
        failed.len(),
        "crash findings vs failing inputs: {crashes:#?}"
    );
    for g in &crashes {
        let e = &g["example"];
        let key = e["license_key"].as_str().expect("a crash names its key");
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        if !key.contains('\u{FFFD}') {
            assert!(
                failed.contains(&(hex, e["context"].to_string())),
                "a crash on an input the plugin did not fail on: {g:#}"
            );
        }
        let v = g["validator"].as_str().unwrap_or_default();
        let embedding = if system == "new" {
            &["new", "Acme CAD 7.0", "Acme Cloud 1.0"][..]
        } else {
            &[
                "old",
                "Acme CAD 5.4",
                "Acme CAD 6.2",
                "Acme Viewer 3.1",
                "Acme Simulate 2.0",
            ][..]
        };
        assert!(embedding.contains(&v), "blamed on {v}: {g:#}");
        if fault == "exit-on-key" {
            let found = e["found"].as_str().unwrap_or_default();
            assert!(
                found.contains("called exit()") && !found.contains("--isolation"),
                "a plugin's exit() named for what it is: {found}"
            );
        }
    }
    if check != "all" {
        assert!(
            crashes.iter().any(|g| g["check"] == check),
            "no crash recorded by {check}: {crashes:#?}"
        );
    }
}

/// A finding group as (check, severity, blamed system, cause, count).
type Group = (String, String, String, String, u64);

/// Runs the demo with `defect` planted in the new system's validator and
/// with no vectors but the generated forgeries (so a VECTOR finding is
/// theirs), checks that every unwaived finding group blames the new system
/// (the validator; for VECTOR, the one system a group is about), and
/// returns the groups.
fn blamed_on_new(defect: &str) -> Vec<Group> {
    let s = Scenario::demo()
        .without_sources()
        .faulty_system("new", "acme-ed1", &[("defect", defect)])
        .set("run", "isolation", "none".into());
    let acme = s.dir.path().join("vectors/acme");
    for entry in std::fs::read_dir(&acme).expect("vectors/acme") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".toml") && name != "forgeries.toml" {
            std::fs::remove_file(&path).expect("remove a hand-written vector file");
        }
    }
    let (out, r) = s.run_report(&["--cases", "200", "--seed", "5", "--no-shrink", "-q"], "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = |g: &serde_json::Value, k: &str| g[k].as_str().unwrap_or("").to_string();
    let groups: Vec<Group> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g.get("waived_by").is_none_or(|w| w.is_null()))
        .map(|g| {
            let check = text(g, "check");
            let blamed = if check == "vector" {
                text(g, "generator")
            } else {
                text(g, "validator")
            };
            let count = g["count"].as_u64().unwrap_or(0);
            (check, text(g, "severity"), blamed, text(g, "cause"), count)
        })
        .collect();
    assert!(
        groups.iter().all(|(_, _, blamed, _, _)| blamed == "new"),
        "only the new system is wrong: {groups:#?}"
    );
    groups
}

/// The number of findings of the unwaived `check` leaks whose cause contains `cause`.
fn leaks(groups: &[Group], check: &str, cause: &str) -> u64 {
    groups
        .iter()
        .filter(|(c, s, _, why, _)| c == check && s == "leak" && why.contains(cause))
        .map(|(_, _, _, _, count)| count)
        .sum()
}

/// A new validator that never reads the acme-lk1 reserved bits accepts a
/// correctly MACed key that sets them: the generated forgery vectors catch
/// it every run, and so does TAMPER, with forgeries of random cases' keys.
#[test]
fn a_new_validator_that_ignores_reserved_bits_is_caught_by_forgeries() {
    let groups = blamed_on_new("reserved-ignored");
    // reserved = 1, 2 and 3, forged from the one acme-lk1 key of the vectors.
    assert_eq!(leaks(&groups, "vector", "accepted"), 3, "{groups:#?}");
    assert!(
        leaks(&groups, "tamper", "acme-lk1 key, forged reserved=") > 0,
        "{groups:#?}"
    );
    assert!(
        groups
            .iter()
            .all(|(_, _, _, cause, _)| cause == "accepted" || cause.contains("forged reserved=")),
        "nothing but the reserved bits: {groups:#?}"
    );
}

/// A new validator that never reads acme-ed1's `v` accepts a correctly
/// signed payload of version 2: caught by the forgery vectors and by TAMPER.
#[test]
fn a_new_validator_that_ignores_the_version_is_caught_by_forgeries() {
    let groups = blamed_on_new("version-ignored");
    // v = 2, 0, "1" and missing, forged from the two acme-ed1 keys.
    assert_eq!(leaks(&groups, "vector", "accepted"), 8, "{groups:#?}");
    assert!(
        leaks(
            &groups,
            "tamper",
            "acme-ed1 key, forged v=2: accepted by new"
        ) > 0,
        "{groups:#?}"
    );
    // Read past `v`, a forgery with v 2 and an unknown edition is malformed
    // where the spec says unsupported_format: only a vector tells them apart.
    assert!(
        groups
            .iter()
            .any(|(c, s, _, why, _)| c == "vector" && s == "drift" && why == "verdict differs"),
        "{groups:#?}"
    );
    assert!(
        groups
            .iter()
            .filter(|(c, _, _, _, _)| c == "tamper")
            .all(|(_, s, _, why, _)| s == "leak" && why.contains(", forged v")),
        "{groups:#?}"
    );
}

/// A crash is a failure to answer, not an accepted incompatibility: a
/// waiver matching it by check and cause (`*`) does not cover it, the run
/// is red on the crash gate, and the whole-check waiver is named in a
/// warning.
#[test]
fn a_waiver_never_covers_a_crash() {
    let s = Scenario::demo().without_sources().without_vectors();
    let log = s.dir.path().join("failed.jsonl");
    let log_path = log.to_string_lossy().into_owned();
    let s = s
        .faulty_system(
            "new",
            "acme-ed1",
            &[("fault", "fail-on-key"), ("every", "7"), ("log", &log_path)],
        )
        .set("run", "isolation", "none".into());
    let mut waivers = s_waivers(&s);
    for check in ["roundtrip", "forward", "rollback", "tamper", "time", "env"] {
        let mut w = toml::Table::new();
        for (k, v) in [
            ("check", check),
            ("cause", "*"),
            ("reason", "the new system is flaky"),
            ("owner", "qa@acme.example"),
            ("ticket", "EMS-9999"),
            ("expires", "2099-12-31"),
        ] {
            w.insert(k.into(), v.into());
        }
        waivers.push(toml::Value::Table(w));
    }
    let s = s.set_path(&["waivers"], toml::Value::Array(waivers));
    let (out, r) = s.run_report(&["--cases", "60", "--seed", "11", "--no-shrink"], "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("waiver EMS-9999 covers every ROUNDTRIP finding"),
        "{}",
        stderr(&out)
    );
    let crashes: Vec<&serde_json::Value> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["severity"] == "crash")
        .collect();
    assert!(!crashes.is_empty(), "{:#}", r["groups"]);
    for g in &crashes {
        assert!(g["waived_by"].is_null(), "a waived crash: {g:#}");
    }
    let gate = gate(&r, "no crash or error");
    assert_eq!(gate["status"], "red", "{gate:#}");
}

/// A validator that answers a key wrongly only the first time it sees it
/// (nondeterminism): the finding stands, but its example, run again before
/// shrinking, passes, so the group says it did not reproduce (its replay
/// may not show it) instead of being shrunk to some other failure.
#[test]
fn a_finding_that_does_not_fail_again_is_marked_unreproduced() {
    let s = Scenario::demo()
        .without_sources()
        .without_vectors()
        .python_system(
            "old",
            "tests/plugins/process/misbehave.py",
            &[
                ("secret", "acme-legacy-demo-secret-DO-NOT-SHIP"),
                ("fault", "flaky-once"),
                ("on", "7"),
            ],
        );
    let (out, r) = s.run_report(
        &[
            "--cases",
            "40",
            "--seed",
            "3",
            "-j",
            "1",
            "--checks",
            "roundtrip,backward",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let flaky: Vec<&serde_json::Value> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| {
            g["validator"] == "old" && g["cause"].as_str().unwrap_or("").contains("bad_signature")
        })
        .collect();
    assert!(!flaky.is_empty(), "{:#}", r["groups"]);
    for g in &flaky {
        assert_eq!(g["unreproduced"], true, "{g:#}");
        assert!(g["shrunk"].is_null(), "{g:#}");
    }
    let md = std::fs::read_to_string(s.dir.path().join("r/report.md")).expect("report.md");
    assert!(
        md.contains("did not reproduce when run again alone"),
        "{md}"
    );
}

/// A new validator that rejects some of its own acme-ed1 keys and names no
/// format when it rejects: the keys' format is still known (the reference
/// generator of `[formats.acme-ed1]` issues the very same keys), so the
/// expected incompatibilities of old releases keep their cause ("acme-ed1
/// key rejected") and their waivers, and only the new system's own failure
/// is unwaived.
#[test]
fn a_new_validator_failing_its_own_keys_keeps_their_format_and_waivers() {
    let s = Scenario::demo()
        .without_sources()
        .faulty_system("new", "acme-ed1", &[("defect", "own-keys-unnamed")])
        .set("run", "isolation", "none".into());
    let (out, r) = s.run_report(&["--cases", "300", "--seed", "8", "--no-shrink"], "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = r["groups"].as_array().expect("groups");
    let unrecognised: Vec<_> = groups
        .iter()
        .filter(|g| {
            g["cause"]
                .as_str()
                .unwrap_or("")
                .starts_with("unrecognised")
        })
        .collect();
    assert!(unrecognised.is_empty(), "{unrecognised:#?}");
    let own = groups
        .iter()
        .find(|g| {
            g["check"] == "roundtrip"
                && g["generator"] == "new"
                && g["validator"] == "new"
                && g["severity"] == "outage"
        })
        .expect("the new system's own keys rejected");
    assert!(own["waived_by"].is_null(), "{own:#}");
    let unwaived = unwaived_groups(&r);
    assert!(
        unwaived
            .iter()
            .all(|(check, _, generator, validator, _)| validator == "new"
                || validator == "Acme CAD 7.0"
                || validator == "Acme Cloud 1.0"
                || (check == "vector" && generator == "new")),
        "an unwaived finding outside the new system's own validators: {unwaived:#?}"
    );
}

/// A new system that rejects every old key (its MAC over the wrong bytes)
/// is BACKWARD's outage, once per key: TIME does not repeat it on every day
/// of its grid as if the expiry boundary were wrong.
#[test]
fn a_key_rejected_on_its_day_of_issue_is_not_a_time_finding_too() {
    let s = Scenario::demo()
        .without_sources()
        .without_vectors()
        .faulty_system("new", "acme-ed1", &[("defect", "mac-wrong-bytes")]);
    let (out, r) = s.run_report(
        &[
            "--cases",
            "200",
            "--seed",
            "1",
            "--checks",
            "roundtrip,backward,time",
            "--no-shrink",
            "-q",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let backward = groups(&r, "backward");
    assert!(
        backward
            .iter()
            .any(|g| g["severity"] == "outage" && g["validator"] == "new"),
        "{backward:#?}"
    );
    let time: Vec<_> = groups(&r, "time")
        .into_iter()
        .filter(|g| g["generator"] == "old" && g["validator"] == "new")
        .collect();
    assert!(time.is_empty(), "BACKWARD's rejections again: {time:#?}");
}

/// A new system that refuses an entitlement the old one cannot carry either
/// (Acme Cloud has no legacy id) is still judged: acme-ed1's other
/// generator issues a key for it, and no format refuses its features, so
/// the refusal is a ROUNDTRIP outage of the new system, not a skipped case.
#[test]
fn a_new_system_refusing_what_only_the_new_format_carries_is_red() {
    let s = new_refusing_features();
    let cloud = r#"{"product":"acme-cloud","edition":"standard","max_major":1,"features":["ai-assist"],"seats":5,"issued":"2026-01-01","expires":null,"maintenance_until":null,"serial":7,"customer":null,"order_id":null,"host_id":null}"#;
    let out = s.run(&["replay", "--entitlement", cloud, "--today", "2026-11-23"]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("new refused: features") && text.contains("new-rust issues one"),
        "{text}"
    );
    // An entitlement every format refuses alike stays a skipped case: with
    // the new system healthy, the same Cloud entitlement is no finding.
    let healthy = Scenario::demo().without_sources();
    let out = healthy.run(&["replay", "--entitlement", cloud, "--today", "2026-11-23"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

/// The same refusal in the vectors: a vector that pins a key for an
/// entitlement and declares no refusal of its features fails for a new
/// system that refuses it, instead of dropping out of the vector checks.
#[test]
fn a_vector_pinning_a_key_fails_for_a_refusal_it_does_not_declare() {
    let s = new_refusing_features();
    let (out, r) = s.run_report(
        &["--cases", "0", "--checks", "vector", "--no-shrink", "-q"],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let refused: Vec<&serde_json::Value> = groups(&r, "vector")
        .into_iter()
        .filter(|g| g["generator"] == "new" && g["cause"] == "refused: features")
        .collect();
    assert_eq!(refused.len(), 1, "{:#}", r["groups"]);
    let g = refused[0];
    assert!(
        g["example"]["expected"]
            .as_str()
            .is_some_and(|e| e.contains("the vector pins one in acme-ed1")),
        "{g:#}"
    );
}

/// A system that declares it validates nothing (here a process plugin whose
/// ready message says `"validate": false`) cannot stand as a release's
/// validator: asking it anyway gave a GO on answers it never promised. The
/// run stops before it starts, naming the system and the release.
#[test]
fn a_system_that_cannot_validate_is_no_validator() {
    crate::process::python3();
    let settings = keycompat::system::acme_demo_settings("acme-ed1");
    let settings: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let s = Scenario::demo().without_sources().python_system(
        "viewer-py",
        "tests/plugins/process/ed1_ascii_issuer.py",
        &settings,
    );
    let out = s.run(&["run", "--cases", "20", "--report-dir", "r"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("system \"viewer-py\" (ed1-ascii-issuer")
            && stderr(&out).contains(
                "cannot validate keys, but it is the validator of release \"Acme Viewer 3.1\""
            ),
        "{}",
        stderr(&out)
    );
}
