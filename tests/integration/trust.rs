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
