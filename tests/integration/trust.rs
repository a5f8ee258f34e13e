//! A verdict you can trust: each system judged against what is known to be
//! right, so the report blames the system that deviates.

use crate::common::{Scenario, code, stderr, unwaived_groups};

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

/// A new system that refuses (a declared refusal) every entitlement with a
/// feature, which the old system issues: customers who cannot get a key.
/// Each is a ROUNDTRIP outage of the new system naming the refused field,
/// never waived, and the run is red.
#[test]
fn a_new_system_refusing_what_old_issues_is_red() {
    let s = Scenario::demo()
        .without_sources()
        .faulty_system("new", "acme-ed1", &[("defect", "refuses-features")])
        .set("run", "isolation", "none".into());
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
    let gate = r["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["name"] == "no outage or leak")
        .expect("the outage gate");
    assert_eq!(gate["status"], "red", "{gate:#}");
}
