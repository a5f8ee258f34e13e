//! The harness's own detection power: plugins with one realistic planted
//! defect each must be caught by the right check, with the right severity,
//! and the failing random case shrunk to a small entitlement.

use crate::common::*;
use rstest::rstest;

/// Runs the demo with `defect` planted in the new system (and in its legacy
/// emitter, so PARITY sees it too) and returns the report.
fn run_with_defect(defect: &str, cases: &str, checks: &str) -> (Scenario, serde_json::Value) {
    // Random cases only: the vectors catch most defects too, with examples
    // that are not random cases (and so not shrunk).
    let s = Scenario::demo()
        .faulty_system("new", "acme-ed1", &[("defect", defect)])
        .faulty_system(
            "legacy-emitter",
            "acme-ed1",
            &[("defect", defect), ("emit", "acme-lk1")],
        )
        .without_vectors()
        .without_sources();
    let (out, report) = s.run_report(
        &[
            "--cases",
            cases,
            "--seed",
            "1",
            "--checks",
            checks,
            "--no-steer",
        ],
        "r",
    );
    assert_eq!(
        code(&out),
        1,
        "a planted defect must fail the run\n{}",
        stderr(&out)
    );
    (s, report)
}

fn group<'a>(
    report: &'a serde_json::Value,
    check: &str,
    severity: &str,
    cause: &str,
) -> Option<&'a serde_json::Value> {
    report["groups"].as_array().unwrap().iter().find(|g| {
        g["check"] == check
            && g["severity"] == severity
            && g["cause"].as_str().unwrap_or("").contains(cause)
            && g.get("waived_by").is_none_or(|w| w.is_null())
    })
}

#[rstest]
#[case::expiry_off_by_one(
    "expiry-off-by-one",
    "time",
    "outage",
    "rejected on the expiry day",
    "300"
)]
#[case::feature_bit_moved(
    "feature-bit-moved",
    "backward",
    "leak",
    "grants more: features",
    "300"
)]
#[case::feature_bit_moved_parity("feature-bit-moved", "parity", "drift", "keys differ", "300")]
#[case::case_sensitive_decoding("case-sensitive", "tamper", "outage", "lower-case", "300")]
#[case::checksum_over_wrong_bytes(
    "mac-wrong-bytes",
    "backward",
    "outage",
    "rejected: bad_signature",
    "300"
)]
#[case::seats_wrapped_instead_of_refused(
    "seats-wrapped",
    "roundtrip",
    "drift",
    "drift: seats",
    "300"
)]
#[case::lax_signature_check("lax-signature", "tamper", "leak", "accepted by new", "300")]
#[case::dropped_node_lock(
    "host-lock-dropped",
    "roundtrip",
    "leak",
    "grants more: host_id",
    "300"
)]
#[case::wrong_date_epoch("date-epoch", "backward", "leak", "grants more: expires", "300")]
#[case::product_never_compared(
    "product-unchecked",
    "tamper",
    "leak",
    "other-product: accepted by new",
    "300"
)]
#[case::tz_expiry(
    "tz-expiry",
    "env",
    "outage",
    "key rejected under TZ=Pacific/Kiritimati on the expiry day",
    "300"
)]
#[case::crash_on_long_name(
    "crash-long-name",
    "roundtrip",
    "crash",
    "generate failed: panic",
    "800"
)]
fn planted_defects_are_caught_classified_and_shrunk(
    #[case] defect: &str,
    #[case] check: &str,
    #[case] severity: &str,
    #[case] cause: &str,
    #[case] cases: &str,
) {
    let (s, report) = run_with_defect(defect, cases, check);
    let g = group(&report, check, severity, cause).unwrap_or_else(|| {
        panic!("{defect}: no unwaived {check} {severity} group with cause containing {cause:?}; groups: {:#?}", unwaived_groups(&report))
    });
    assert!(g["count"].as_u64().unwrap() >= 1);
    let shrunk = &g["shrunk"]["entitlement"];
    assert!(
        shrunk.is_object(),
        "{defect}: the example was not shrunk: {g:#}"
    );
    // The replay command replays the example the reports show, the shrunk
    // one, and reproduces the finding, unwaived: exit 1. So does replaying
    // the group by its id from the report.
    let replay = g["replay"].as_str().unwrap();
    assert!(
        replay.starts_with("keycompat replay --entitlement ")
            && replay.contains(&format!("\"serial\":{},", shrunk["serial"])),
        "{defect}: the replay command is not the shrunk example's: {g:#}"
    );
    let id = g["id"].as_str().unwrap();
    let by_id = format!("keycompat replay --report r/report.json --finding {id}");
    let case = format!("case {}: ", g["shrunk"]["case_id"].as_str().unwrap());
    for line in [replay, &by_id] {
        let out = s.run_printed(line, "--today 2026-11-23");
        assert_eq!(code(&out), 1, "{defect}: {line}\n{}", stderr(&out));
        assert!(
            stdout(&out).contains(cause) && stdout(&out).contains(&case),
            "{defect}: {line} did not find {cause:?} in the shrunk example:\n{}",
            stdout(&out)
        );
    }
    let original = &g["example"]["entitlement"];
    let size = |e: &serde_json::Value| e.to_string().len();
    assert!(
        size(shrunk) <= size(original),
        "{defect}: shrinking grew the case"
    );
    if defect != "crash-long-name" {
        assert!(
            shrunk["customer"].is_null(),
            "{defect}: customer survived shrinking: {shrunk}"
        );
    }
    assert!(
        shrunk["order_id"].is_null(),
        "{defect}: order survived shrinking: {shrunk}"
    );
}

#[test]
fn a_correct_plugin_behind_the_same_wrapper_has_no_findings() {
    let s = Scenario::demo()
        .faulty_system("new", "acme-ed1", &[("defect", "none")])
        .set("gates", "min_random_cases", toml::Value::Integer(300));
    let (out, report) = s.run_report(&["--cases", "300", "--seed", "1"], "r");
    assert!(
        unwaived_groups(&report).is_empty(),
        "{:#?}",
        unwaived_groups(&report)
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// A cross-language drift: a Python issuer that writes the acme-ed1 payload
/// with `json.dumps`'s default `ensure_ascii` signs other bytes than the
/// specification's for a customer with a non-ASCII letter. PARITY catches
/// it as a drift blamed on that issuer, and the example shrinks to a
/// customer name that keeps a non-ASCII letter.
#[test]
fn a_python_issuer_escaping_non_ascii_is_caught_by_parity_and_shrunk() {
    crate::process::python3();
    let mut issuer = toml::Table::new();
    issuer.insert(
        "command".into(),
        toml::Value::Array(vec![
            "python3".into(),
            "tests/plugins/process/ed1_ascii_issuer.py".into(),
        ]),
    );
    issuer.insert("cwd".into(), repo().to_string_lossy().into_owned().into());
    let settings: toml::Table = keycompat::system::acme_demo_settings("acme-ed1")
        .into_iter()
        .map(|(k, v)| (k, toml::Value::String(v)))
        .collect();
    issuer.insert("settings".into(), toml::Value::Table(settings));
    let s = Scenario::demo()
        .set("systems", "ed1-py", toml::Value::Table(issuer))
        .set_path(
            &["formats", "acme-ed1", "generators"],
            toml::Value::Array(vec!["new-rust".into(), "ed1-py".into()]),
        )
        .without_vectors()
        .without_sources();
    let (out, report) = s.run_report(
        &[
            "--cases",
            "300",
            "--seed",
            "1",
            "--checks",
            "parity",
            "--no-steer",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let g = group(&report, "parity", "drift", "keys differ")
        .unwrap_or_else(|| panic!("no PARITY drift: {:#?}", unwaived_groups(&report)));
    assert!(
        g.to_string().contains("ed1-py"),
        "the drift names the Python issuer: {g:#}"
    );
    let name = |e: &serde_json::Value| e["customer"]["name"].as_str().map(str::to_string);
    let original = name(&g["example"]["entitlement"]).expect("the example has a customer");
    assert!(!original.is_ascii(), "{original}");
    let shrunk = name(&g["shrunk"]["entitlement"])
        .unwrap_or_else(|| panic!("the shrunk example keeps the customer that matters: {g:#}"));
    let non_ascii = shrunk.chars().filter(|c| !c.is_ascii()).count();
    assert!(non_ascii >= 1, "{shrunk:?}");
    assert!(
        shrunk.chars().count() <= original.chars().count(),
        "{shrunk:?} vs {original:?}"
    );
    eprintln!("shrunk customer name: {shrunk:?} (from {original:?})");
}

/// (check, severity, generator, validator, cause) of a report's unwaived groups.
type Group = (String, String, String, String, String);

/// Runs the demo with `defect` planted in the old system, every check on,
/// and returns its unwaived groups.
fn run_with_old_defect(defect: &str) -> Vec<Group> {
    let s = Scenario::demo()
        .faulty_system("old", "acme-lk1", &[("defect", defect)])
        .without_vectors()
        .without_sources();
    let (out, report) = s.run_report(&["--cases", "400", "--seed", "1", "--no-steer"], "r");
    assert_eq!(code(&out), 1, "{defect}: {}", stderr(&out));
    unwaived_groups(&report)
}

/// Whether `g` is a group of `check` from `generator` to `validator` whose
/// cause contains `cause`.
fn is(g: &Group, check: &str, generator: &str, validator: &str, cause: &str) -> bool {
    g.0 == check && g.2 == generator && g.3 == validator && g.4.contains(cause)
}

/// An old generator that issues a key it must refuse (acme-lk1 cannot carry
/// a node lock, and its key drops it) is blamed on the old system alone: its
/// key is no proof that the new system's key a release rejects was an
/// avoidable outage, and the new system accepting that unlocked key on
/// another host follows from the key, no leak of its own.
#[test]
fn an_old_generator_that_should_have_refused_is_blamed_not_the_new_system() {
    let groups = run_with_old_defect("host-lock-dropped");
    assert!(
        groups
            .iter()
            .any(|g| is(g, "roundtrip", "old", "old", "grants more: host_id")),
        "{groups:#?}"
    );
    let wrong: Vec<&Group> = groups
        .iter()
        .filter(|g| g.4.starts_with("avoidable") || (g.0 == "tamper" && g.3 == "new"))
        .collect();
    assert!(wrong.is_empty(), "blamed elsewhere than old: {wrong:#?}");
}

/// An old decoder that loses a feature its own generator encodes: the key
/// carries the entitlement, so the new system reading it as sold is right,
/// and the old system's misreading is ROUNDTRIP's finding on old, not a
/// BACKWARD leak of the new system.
#[test]
fn an_old_decoder_that_misreads_its_keys_is_blamed_not_the_new_system_reading_them_right() {
    let groups = run_with_old_defect("last-bit-unread");
    assert!(
        groups
            .iter()
            .any(|g| is(g, "roundtrip", "old", "old", "features")),
        "{groups:#?}"
    );
    let backward: Vec<&Group> = groups.iter().filter(|g| g.0 == "backward").collect();
    assert!(backward.is_empty(), "BACKWARD blames new: {backward:#?}");
}

/// One answer is judged once: where the new system issues the old
/// system's very acme-lk1 key, its one validation of that key is ROUNDTRIP's
/// (its own key) and BACKWARD's (an old key) at once, and a new decoder that
/// loses a feature bit is one drift finding per key, at ROUNDTRIP, not a
/// second one at BACKWARD. The BACKWARD cell still counts what it read.
#[test]
fn one_answer_read_by_two_checks_is_one_finding() {
    let s = Scenario::demo()
        .faulty_system("new", "acme-ed1", &[("defect", "last-bit-unread")])
        .without_vectors()
        .without_sources()
        .set("run", "isolation", "none".into());
    let (out, r) = s.run_report(
        &[
            "--cases",
            "300",
            "--seed",
            "1",
            "--no-steer",
            "--checks",
            "roundtrip,backward",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&r);
    assert!(
        groups
            .iter()
            .any(|g| is(g, "roundtrip", "new", "new", "drift: features")),
        "{groups:#?}"
    );
    let twice: Vec<&Group> = groups.iter().filter(|g| g.0 == "backward").collect();
    assert!(twice.is_empty(), "judged twice: {twice:#?}");
    let backward = r["tallies"]
        .as_array()
        .expect("tallies")
        .iter()
        .find(|c| c["check"] == "backward" && c["generator"] == "old" && c["validator"] == "new")
        .unwrap_or_else(|| panic!("no BACKWARD cell: {:#}", r["tallies"]));
    assert!(backward["fail"].as_u64().unwrap() > 0, "{backward:#}");
}

/// An old generator that silently drops the features its format cannot
/// carry, instead of refusing: the lk1-only releases read its key as the
/// entitlement (they know none of those features), but the key does not
/// carry it, so it is no proof that the new system's acme-ed1 key, which
/// those releases cannot read, was an avoidable outage. The old system is
/// blamed for its keys; the new system's outages stay what the demo's
/// waivers for "what acme-lk1 cannot carry" cover.
#[test]
fn an_old_key_dropping_features_a_release_does_not_know_proves_no_avoidable_outage() {
    let s = Scenario::demo()
        .misbehaving("old", "drops-features")
        .without_vectors()
        .without_sources();
    let (out, r) = s.run_report(
        &[
            "--cases",
            "400",
            "--seed",
            "1",
            "--no-steer",
            "--checks",
            "roundtrip,forward",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&r);
    assert!(
        groups
            .iter()
            .any(|g| is(g, "roundtrip", "old", "old", "features")),
        "{groups:#?}"
    );
    let on_new: Vec<&Group> = groups.iter().filter(|g| g.2 == "new").collect();
    assert!(on_new.is_empty(), "blamed on new: {on_new:#?}");
}

/// An old generator that crashes instead of answering: its crashes are its
/// findings, and where its format's other generators refuse the entitlement
/// (what acme-lk1 cannot carry), the new system's acme-ed1 keys that
/// lk1-only releases and a rolled-back old system cannot read are still
/// what the demo's waivers for that (`old_refuses = true`) cover, not
/// outages of the new system.
#[test]
fn an_old_generator_crashing_does_not_move_the_blame_to_the_new_system() {
    let s = Scenario::demo()
        .faulty_system(
            "old",
            "acme-lk1",
            &[("fault", "segv-on-serial"), ("every", "7")],
        )
        .without_vectors()
        .without_sources();
    let (out, r) = s.run_report(
        &[
            "--cases",
            "300",
            "--seed",
            "1",
            "--no-steer",
            "--no-shrink",
            "--checks",
            "roundtrip,forward,rollback",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&r);
    assert!(
        groups
            .iter()
            .any(|g| g.0 == "roundtrip" && g.1 == "crash" && g.2 == "old"),
        "{groups:#?}"
    );
    let on_new: Vec<&Group> = groups
        .iter()
        .filter(|g| g.1 != "crash" && (g.2 == "new" || g.3 == "new"))
        .collect();
    assert!(on_new.is_empty(), "blamed on new: {on_new:#?}");
}

/// An old generator that wraps what its format cannot carry instead of
/// refusing (seats above 1023 masked to 10 bits), where another generator
/// of its format refuses: its keys are its own ROUNDTRIP findings, and the
/// new system's acme-ed1 keys for those entitlements, which lk1-only
/// releases and a rolled-back old system cannot read, are what the demo's
/// waivers for "what acme-lk1 cannot carry" (`old_refuses = true`) cover,
/// not unwaived outages blamed on the new system.
#[test]
fn an_old_generator_wrapping_instead_of_refusing_is_blamed_not_the_new_system() {
    let groups = run_with_old_defect("seats-wrapped");
    assert!(
        groups
            .iter()
            .any(|g| is(g, "roundtrip", "old", "old", "seats")),
        "{groups:#?}"
    );
    let on_new: Vec<&Group> = groups
        .iter()
        .filter(|g| g.2 == "new" || g.3 == "new")
        .collect();
    assert!(on_new.is_empty(), "blamed on new: {on_new:#?}");
}

/// A field key (no sale to compare with) that old and new decode
/// differently: the format's other validators (`[formats]` generators that
/// validate) settle which of them misreads it. An old decoder that loses a
/// feature bit is blamed as old's misreading, not as the new system
/// granting more; a new decoder with the same defect stays blamed on new.
#[rstest]
#[case::old_misreads("old", "acme-lk1", "old", "field key misread by old: drift: features")]
#[case::new_misreads("new", "acme-ed1", "new", "field key drift: features")]
fn a_field_key_read_differently_is_blamed_on_the_system_the_format_outvotes(
    #[case] faulty: &str,
    #[case] scheme: &str,
    #[case] blamed: &str,
    #[case] cause: &str,
) {
    let s = Scenario::demo()
        .faulty_system(faulty, scheme, &[("defect", "last-bit-unread")])
        .set("run", "isolation", "none".into());
    let (out, r) = s.report("data", &["--only", "field-keys", "-q"], "rep");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&r);
    assert!(
        groups
            .iter()
            .any(|g| is(g, "backward", "field-keys", blamed, cause)),
        "{groups:#?}"
    );
    let other = if blamed == "old" { "new" } else { "old" };
    let wrong: Vec<&Group> = groups.iter().filter(|g| g.3 == other).collect();
    assert!(wrong.is_empty(), "{other} blamed: {wrong:#?}");
}

/// Two defects at once: the old decoder loses a feature bit, the new
/// system counts acme-lk1 days from the wrong epoch. Each is blamed for its
/// own field alone, on cases (BACKWARD judges the new decode against the old
/// one corrected where the old one misreads what was sold) and on field keys
/// (the format's other validators vote field by field).
#[test]
fn two_faulty_systems_are_each_blamed_for_their_own_field() {
    let s = Scenario::demo()
        .faulty_system("old", "acme-lk1", &[("defect", "last-bit-unread")])
        .faulty_system("new", "acme-ed1", &[("defect", "date-epoch")])
        .without_vectors()
        .set("run", "isolation", "none".into());
    let (out, r) = s.run_report(
        &[
            "--cases",
            "300",
            "--seed",
            "1",
            "--no-steer",
            "--checks",
            "roundtrip,backward",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&r);
    let backward: Vec<&Group> = groups.iter().filter(|g| g.0 == "backward").collect();
    for (generator, validator, cause) in [
        ("old", "new", "grants more: expires"),
        ("field-keys", "new", "field key grants more: expires"),
        (
            "field-keys",
            "old",
            "field key misread by old: drift: features",
        ),
    ] {
        assert!(
            backward
                .iter()
                .any(|g| g.2 == generator && g.3 == validator && g.4 == cause),
            "{generator} -> {validator}: {cause}: {backward:#?}"
        );
    }
    let wrong: Vec<&&Group> = backward
        .iter()
        .filter(|g| g.3 == "new" && g.4.contains("features"))
        .collect();
    assert!(wrong.is_empty(), "new blamed for old's misread: {wrong:#?}");
}

/// PARITY's majority counts one vote per code: two generators running one
/// faulty library (the old system and a legacy emitter wrapping the same
/// file) do not outvote the correct implementation listed first.
#[test]
fn two_generators_of_one_library_do_not_outvote_a_third() {
    let moved = [("defect", "feature-bit-moved")];
    let s = Scenario::demo()
        .faulty_system("old", "acme-lk1", &moved)
        .faulty_system("legacy-emitter", "acme-lk1", &moved)
        .set_path(
            &["formats", "acme-lk1", "generators"],
            toml::Value::Array(vec![
                "old-rust".into(),
                "old".into(),
                "legacy-emitter".into(),
            ]),
        )
        .without_vectors()
        .without_sources()
        .set("run", "isolation", "none".into());
    let (out, r) = s.run_report(
        &[
            "--cases",
            "200",
            "--seed",
            "1",
            "--no-steer",
            "--checks",
            "roundtrip,parity",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let parity: Vec<Group> = unwaived_groups(&r)
        .into_iter()
        .filter(|g| g.0 == "parity")
        .collect();
    assert!(
        parity.iter().any(|g| g.2 == "old" && g.3 == "old-rust"),
        "{parity:#?}"
    );
    assert!(
        parity.iter().all(|g| g.2 != "old-rust"),
        "the correct generator blamed: {parity:#?}"
    );
}

/// A witness running the new system's own code (the demo's legacy emitter
/// is the new system's library) shares its defects: it does not outvote the
/// old system. With it as the format's only other generator, the new
/// system's misreading stays blamed on new.
#[test]
fn a_witness_sharing_the_new_systems_code_does_not_outvote_old() {
    let defect = [("defect", "last-bit-unread")];
    let s = Scenario::demo()
        .faulty_system("new", "acme-ed1", &defect)
        .faulty_system(
            "legacy-emitter",
            "acme-ed1",
            &[("defect", "last-bit-unread"), ("emit", "acme-lk1")],
        )
        .set_path(
            &["formats", "acme-lk1", "generators"],
            toml::Value::Array(vec!["old".into(), "legacy-emitter".into()]),
        )
        .set("run", "isolation", "none".into());
    let (out, r) = s.report("data", &["--only", "field-keys", "-q"], "rep");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&r);
    assert!(
        groups.iter().any(|g| is(
            g,
            "backward",
            "field-keys",
            "new",
            "field key drift: features"
        )),
        "{groups:#?}"
    );
    let on_old: Vec<&Group> = groups.iter().filter(|g| g.3 == "old").collect();
    assert!(on_old.is_empty(), "old blamed: {on_old:#?}");
}

/// An old generator that refuses what its own format carries (here every
/// entitlement with a feature): the old system reads the new system's
/// acme-lk1 key for it, so the refusal is the old system's defect, and the
/// demo's waiver for "what acme-lk1 cannot carry" (`old_refuses = true`)
/// does not hide it.
#[test]
fn a_waiver_for_what_the_old_format_cannot_carry_does_not_cover_an_old_generator_refusing_what_it_can()
 {
    let groups = run_with_old_defect("refuses-features");
    assert!(
        groups
            .iter()
            .any(|g| g.0 == "rollback" && g.4.starts_with("old refused: features")),
        "{groups:#?}"
    );
}

/// A shipped release whose validator (neither the old nor the new system)
/// takes the last valid day as expired: TIME asks every release the
/// entitlement covers about the new key around its expiry, so the outage
/// (customers of that release locked out a day early) is found, blamed on
/// the release, though FORWARD, which asks on the day of issue, sees
/// nothing.
#[test]
fn a_release_rejecting_keys_on_their_expiry_day_is_caught_by_time() {
    let s = Scenario::demo()
        .faulty_system("viewer-py", "acme-lk1", &[("defect", "expiry-off-by-one")])
        .without_vectors()
        .without_sources();
    let (out, report) = s.run_report(&["--cases", "400", "--seed", "1", "--no-steer"], "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&report);
    assert!(
        groups.iter().any(|g| g.1 == "outage"
            && is(
                g,
                "time",
                "new",
                "Acme Viewer 3.1",
                "rejected on the expiry day"
            )),
        "{groups:#?}"
    );
}

/// A new system that chooses the format per entitlement (listed under no
/// `[formats]`, so PARITY never compares it) and writes the acme-ed1
/// payload with non-ASCII characters escaped: its keys are still correctly
/// signed and decoded alike, but VECTOR checks each of its keys in the
/// format it chose, byte for byte, against the vectors' exact keys.
#[test]
fn a_new_system_outside_formats_is_held_to_the_vectors_exact_keys() {
    let s = Scenario::demo()
        .faulty_system("new", "acme-ed1", &[("defect", "payload-ascii-escaped")])
        .without_sources();
    let (out, report) = s.run_report(&["--cases", "50", "--seed", "1", "--no-steer"], "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&report);
    assert!(
        groups
            .iter()
            .any(|g| g.0 == "vector" && g.2 == "new" && g.4 == "key differs from vector"),
        "{groups:#?}"
    );
}

/// PARITY among three acme-lk1 generators, the old system first: when the
/// old emitter wraps seats it should refuse, the two that agree (the Rust
/// reimplementation and the legacy emitter) are the reference, and the old
/// system is the one blamed.
#[test]
fn parity_blames_the_generator_the_others_disagree_with_even_when_it_is_listed_first() {
    let s = Scenario::demo()
        .faulty_system("old", "acme-lk1", &[("defect", "seats-wrapped")])
        .without_vectors()
        .without_sources();
    let (out, report) = s.run_report(
        &[
            "--cases",
            "400",
            "--seed",
            "1",
            "--checks",
            "parity",
            "--no-steer",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&report);
    assert!(
        groups
            .iter()
            .any(|g| g.0 == "parity" && g.2 == "old" && g.4.starts_with("old issues what")),
        "{groups:#?}"
    );
    let blamed_elsewhere: Vec<&Group> = groups
        .iter()
        .filter(|g| g.0 == "parity" && g.2 != "old")
        .collect();
    assert!(blamed_elsewhere.is_empty(), "{blamed_elsewhere:#?}");
}

/// PARITY between two implementations of one format, the faulty one listed
/// first (the C original and its Rust reimplementation): no majority
/// decides, so the one the shared vectors bear out (the old system misses
/// their exact keys) is the reference, and the old system is blamed, not
/// the correct reimplementation.
#[test]
fn parity_of_two_blames_the_one_the_vectors_contradict_even_when_listed_first() {
    let s = Scenario::demo()
        .faulty_system("old", "acme-lk1", &[("defect", "feature-bit-moved")])
        .set_path(
            &["formats", "acme-lk1", "generators"],
            toml::Value::Array(vec!["old".into(), "old-rust".into()]),
        )
        .without_sources();
    let (out, report) = s.run_report(
        &[
            "--cases",
            "300",
            "--seed",
            "1",
            "--checks",
            "parity",
            "--no-steer",
        ],
        "r",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&report);
    assert!(
        groups.iter().any(|g| g.0 == "vector" && g.2 == "old"),
        "{groups:#?}"
    );
    assert!(
        groups
            .iter()
            .any(|g| g.0 == "parity" && g.2 == "old" && g.3 == "old-rust"),
        "{groups:#?}"
    );
    let blamed_elsewhere: Vec<&Group> = groups
        .iter()
        .filter(|g| g.0 == "parity" && g.2 != "old")
        .collect();
    assert!(blamed_elsewhere.is_empty(), "{blamed_elsewhere:#?}");
}

/// A shipped release's validator that accepts keys but leaves a field its
/// format carries out of every decode (Acme Viewer 3.1's validator not
/// reading `seats`) cannot be seeing that field: FORWARD holds its decode
/// to every field the new system's own decode of the key carries, and the
/// release is blamed. Compared with the entitlement alone, a field left
/// out matched.
#[test]
fn a_release_validator_leaving_out_a_field_the_key_carries_is_caught() {
    let s = Scenario::demo()
        .without_vectors()
        .without_sources()
        .misbehaving("viewer-py", "no-seats");
    let args = [
        "--cases",
        "300",
        "--seed",
        "1",
        "--no-shrink",
        "--checks",
        "forward",
    ];
    let (out, report) = s.run_report(&args, "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = unwaived_groups(&report);
    let caught: Vec<_> = groups
        .iter()
        .filter(|g| g.0 == "forward" && g.2 == "new" && g.3 == "Acme Viewer 3.1")
        .collect();
    assert!(!caught.is_empty(), "{groups:#?}");
    let text = serde_json::to_string(&report["groups"]).unwrap();
    assert!(
        text.contains("(not carried)") && text.contains("seats"),
        "{text}"
    );
    // Every other release reads the same keys with every field.
    assert!(
        groups.iter().all(|g| g.3 == "Acme Viewer 3.1"),
        "{groups:#?}"
    );
}
