//! A verdict you can trust: each system judged against what is known to be
//! right, so the report blames the system that deviates.

use crate::common::{Scenario, code, stderr};

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
