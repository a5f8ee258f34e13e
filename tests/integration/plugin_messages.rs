//! What keycompat says about a misbehaving plugin is true and readable: a
//! message is the bytes the plugin wrote, not the host's buffer, and no
//! raw control bytes reach the terminal or the reports.

use crate::common::{Scenario, bad_table, stderr, stdout};

/// The demo (without exports) with its new system the C fault plugin
/// `name` (`tests/plugins/c/faults.c`) with `settings`, hosted as
/// `isolation` says.
fn c_fault_system(name: &str, settings: &[(&str, &str)], isolation: &str) -> Scenario {
    Scenario::demo()
        .without_sources()
        .plugin_system("new", &bad_table(name), settings)
        .set("run", "isolation", isolation.into())
        .set("gates", "min_random_cases", toml::Value::Integer(10))
        .set("gates", "min_coverage_percent", toml::Value::Integer(0))
}

/// A plugin whose `last_error` writes its message and claims `SIZE_MAX`
/// bytes: the message shown everywhere is what it wrote, and says what it
/// claimed, instead of 64 KiB of NUL bytes. In-process: a batch that fails
/// is the call whose message `last_error` gives (workers call items alone).
#[test]
fn a_last_error_claiming_more_than_it_wrote_shows_what_it_wrote() {
    // Every 7th serial (and key ending in a multiple of 7) fails its batch
    // with KC_ERR_INTERNAL: the host asks last_error why.
    let s = c_fault_system(
        "batch_fail",
        &[("every", "7"), ("huge_last_error", "1")],
        "none",
    );
    let out = s.run(&[
        "run",
        "--cases",
        "20",
        "--no-shrink",
        "--no-steer",
        "--report-dir",
        "r",
    ]);
    let dir = s.dir.path().join("r");
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    let json = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    for (what, text) in [
        ("stdout", stdout(&out)),
        ("stderr", stderr(&out)),
        ("report.md", md.clone()),
        ("report.json", json.clone()),
    ] {
        assert!(!text.contains('\0'), "{what} holds NUL bytes");
        assert!(!text.contains("\\u0000"), "{what} holds escaped NUL bytes");
    }
    // What it wrote, then what it claimed (Markdown escapes `_`).
    let claim = "claimed 18446744073709551615 bytes but wrote 26";
    let said = format!("fault plugin: bad argument (last_error {claim}");
    let messages: Vec<&str> = json
        .split('"')
        .filter(|s| s.contains("bad argument"))
        .collect();
    assert!(
        json.contains(&said),
        "report.json does not say: {said}\n{messages:#?}"
    );
    assert!(md.contains(claim), "report.md:\n{md}");
}
