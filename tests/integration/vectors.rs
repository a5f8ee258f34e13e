//! The shared test vectors: the Acme set passes against the real demo systems
//! (the C plugin, the Rust plugin, the builtins), lints clean, and every
//! broken vector file is reported at its `file:line`; ids are stable; and a
//! wrong expectation becomes a finding of the right severity.

use std::path::Path;
use std::sync::Arc;

use crate::common::*;
use keycompat::catalog::Catalog;
use keycompat::check::vector::{VectorOutcome, check_entitlement_vector, check_key_vector};
use keycompat::config::{Config, SystemConfig};
use keycompat::entitlement::Entitlement;
use keycompat::finding::{Check, Severity, Source};
use keycompat::implementation::{
    CallFailure, FailureKind, GenerateFailure, ImplInfo, Implementation, Origin,
};
use keycompat::settings::Settings;
use keycompat::system;
use keycompat::vectors::{self, KeyVector, RegressionVector, VectorSet, load_dir, save_regression};
use keycompat::verdict::{Context, Validation};
use rstest::rstest;

type Systems = keycompat::check::vector::SystemsByName;
type Generators = keycompat::check::vector::GeneratorsByFormat;

/// The worked example's entitlement vector id, pinned: changing how ids are
/// computed changes every id in every report, waiver and partition.
const WORKED_EXAMPLE_ID: &str = "v-4d5dffdac267";

fn demo_config() -> Config {
    Config::load(&repo().join("keycompat.toml")).expect("the demo config loads")
}

/// Opens a system of the demo config, with plugins taken from the directory
/// cargo built them into and `overrides` added to its settings.
fn open(config: &Config, name: &str, overrides: &[(&str, &str)]) -> Arc<dyn Implementation> {
    ensure_built();
    let defined = config
        .systems
        .get(name)
        .unwrap_or_else(|| panic!("the demo config defines {name}"));
    let mut settings: Settings = defined.settings.clone();
    settings.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let exe_dir = profile_dir().to_string_lossy().into_owned();
    let resolved = SystemConfig {
        plugin: defined
            .plugin
            .as_ref()
            .map(|p| p.replace("${exe_dir}", &exe_dir)),
        settings,
        ..defined.clone()
    };
    Arc::from(
        system::open_configured(name, &resolved, config, &system::Hosting::InProcess)
            .unwrap_or_else(|e| panic!("open {name}: {e}")),
    )
}

fn demo_systems(config: &Config) -> Systems {
    config
        .systems
        .keys()
        .map(|name| (name.clone(), open(config, name, &[])))
        .collect()
}

/// The config's generators per format, plus the new system forced to emit
/// acme-ed1 (plugin and builtin), so the exact acme-ed1 keys are checked too.
fn demo_generators(config: &Config, systems: &Systems) -> Generators {
    let mut generators: Generators = config
        .formats
        .iter()
        .map(|(format, f)| {
            let impls = f
                .generators
                .iter()
                .map(|g| (g.clone(), systems[g].clone()))
                .collect();
            (format.clone(), impls)
        })
        .collect();
    let forced = [("emit", "acme-ed1")];
    let ed1 = generators.entry("acme-ed1".into()).or_default();
    ed1.push(("new-emit-ed1".into(), open(config, "new", &forced)));
    let builtin = system::open(
        &system::SystemRef::parse("builtin:acme-ed1"),
        Some(config),
        &forced
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        &system::Hosting::InProcess,
    )
    .expect("open builtin:acme-ed1");
    ed1.push(("builtin-emit-ed1".into(), Arc::from(builtin)));
    generators
}

fn acme_set() -> VectorSet {
    load_dir(&repo().join("vectors"), &demo_config().catalog).unwrap_or_else(|errors| {
        panic!(
            "the vectors do not load:\n{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn assert_no_findings(outcomes: &[VectorOutcome]) {
    let findings: Vec<String> = outcomes
        .iter()
        .flat_map(|o| &o.findings)
        .map(|f| {
            format!(
                "{} {}: expected {}, found {}",
                f.case_id, f.key, f.expected, f.found
            )
        })
        .collect();
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

#[test]
fn the_acme_set_passes_against_the_demo_systems() {
    let config = demo_config();
    let systems = demo_systems(&config);
    let generators = demo_generators(&config, &systems);
    let set = acme_set();
    assert!(set.entitlements.len() >= 25 && set.keys.len() >= 150);
    let mut outcomes = Vec::new();
    for v in &set.entitlements {
        let o = check_entitlement_vector(v, &generators);
        let checked_formats = v.keys.keys().filter(|f| generators.contains_key(*f));
        let expected_observations: usize = checked_formats.map(|f| generators[f].len()).sum();
        assert_eq!(o.observations.len(), expected_observations, "{}", v.id);
        outcomes.push(o);
    }
    for v in &set.keys {
        let o = check_key_vector(v, &systems);
        assert_eq!(o.observations.len(), v.expect.len(), "{}", v.id);
        outcomes.push(o);
    }
    assert_no_findings(&outcomes);
}

/// The builtins must behave exactly as the systems they reimplement:
/// `old-rust` as `old`, `builtin:acme-ed1` as `new`.
#[test]
fn the_builtins_pass_the_expectations_of_the_systems_they_reimplement() {
    let config = demo_config();
    let builtin_new = system::open(
        &system::SystemRef::parse("builtin:acme-ed1"),
        Some(&config),
        &Settings::new(),
        &system::Hosting::InProcess,
    )
    .expect("open builtin:acme-ed1");
    let systems: Systems = [
        ("old".to_string(), open(&config, "old-rust", &[])),
        ("new".to_string(), Arc::from(builtin_new)),
    ]
    .into();
    let outcomes: Vec<VectorOutcome> = acme_set()
        .keys
        .iter()
        .map(|v| check_key_vector(v, &systems))
        .collect();
    assert_no_findings(&outcomes);
}

#[test]
fn the_acme_set_lints_clean_against_the_demo_config() {
    let config = demo_config();
    let systems: Vec<String> = config.systems.keys().cloned().collect();
    let formats: Vec<String> = config.formats.keys().cloned().collect();
    let errors = vectors::lint(
        &config.vectors_dir().expect("the demo has vectors"),
        &config.catalog,
        &systems,
        &formats,
    );
    assert!(
        errors.is_empty(),
        "{}",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_key_vector_expects_old_or_new() {
    for v in &acme_set().keys {
        assert!(
            v.expect.contains_key("old") || v.expect.contains_key("new"),
            "{}:{} expects neither old nor new",
            v.file,
            v.line
        );
    }
}

// ------------------------------------------------------------ forged keys

/// `vectors/acme/forgeries.toml` is generated: it must be exactly what the
/// command its header names writes today, or it tests yesterday's forgeries.
#[test]
fn the_committed_forgeries_are_what_vectors_forge_writes() {
    let s = Scenario::demo();
    let file = "vectors/acme/forgeries.toml";
    let out = s.run(&["vectors", "forge", "--out", file]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let read = |p: &Path| std::fs::read_to_string(p).expect("read forgeries.toml");
    let committed = read(&repo().join(file));
    assert!(
        read(&s.dir.path().join(file)) == committed,
        "{file} is stale; hint: run `keycompat vectors forge --out {file}` and review the diff"
    );
    assert!(committed.starts_with(&format!(
        "# Generated by `keycompat vectors forge --out {file}`"
    )));
    let printed = s.run(&["vectors", "forge"]);
    assert_eq!(code(&printed), 0, "{}", stderr(&printed));
    assert_eq!(
        stdout(&printed).replacen("forge`", &format!("forge --out {file}`"), 1),
        committed,
        "standard output gets the same file"
    );
    let lint = s.run(&["vectors", "check"]);
    assert_eq!(code(&lint), 0, "{}", stdout(&lint));
}

#[test]
fn forging_needs_a_system_that_holds_a_secret() {
    // The demo's builtins replaced by plugins: nothing left can forge.
    let s = Scenario::demo()
        .faulty_system("old-rust", "acme-lk1", &[])
        .faulty_system("new-rust", "acme-ed1", &[("emit", "acme-ed1")]);
    let out = s.run(&["vectors", "forge"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("forges keys; hint: a builtin holding the format's secret forges"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

// ------------------------------------------------------------ broken files

const KEY: &str = r#"key = "24A0M-02T1K-7Y9KS-689RQ-7B450""#;
const CONTEXT: &str =
    r#"context = { product = "acme-cad", version = "5.4", today = "2026-11-23" }"#;

fn key_vector(lines: &[&str]) -> String {
    let mut text = String::from("[[key]]\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    text
}

fn entitlement_vector(entitlement: &str, keys: &str) -> String {
    format!("[[entitlement]]\nentitlement = {{ {entitlement} }}\n[entitlement.keys]\n{keys}\n")
}

const WORKED_FIELDS: &str = r#"product = "acme-cad", edition = "professional", max_major = 5, issued = "2026-11-23", serial = 1"#;

fn lint_text(text: &str) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("acme")).expect("create acme/");
    std::fs::write(dir.path().join("acme/bad.toml"), text).expect("write vector file");
    let errors = lint_dir(dir.path());
    (dir, errors)
}

/// Lints a vectors directory against systems old and new.
fn lint_dir(dir: &Path) -> Vec<String> {
    let systems = ["old", "new"].map(String::from);
    let formats = ["acme-lk1", "acme-ed1"].map(String::from);
    vectors::lint(dir, &Catalog::acme(), &systems, &formats)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[rstest]
#[case::unknown_field(
    key_vector(&[r#"result = "valid""#, r#"kye = "x""#, KEY, CONTEXT, r#"expect = { old = "valid" }"#]),
    "bad.toml:3:1: unknown field `kye`"
)]
#[case::bad_date(
    key_vector(&[r#"result = "valid""#, KEY, r#"context = { product = "acme-cad", version = "5.4", today = "2026-02-30" }"#, r#"expect = { old = "valid" }"#]),
    r#"bad.toml:4:60: "2026-02-30" is not a real calendar date"#
)]
#[case::bad_version(
    key_vector(&[r#"result = "valid""#, KEY, r#"context = { product = "acme-cad", version = "5", today = "2026-11-23" }"#, r#"expect = { old = "valid" }"#]),
    r#"bad.toml:4:45: "5" is not a version"#
)]
#[case::bad_verdict(
    key_vector(&[r#"result = "valid""#, KEY, CONTEXT, r#"expect = { old = "vallid" }"#]),
    "bad.toml:5:18: unknown variant `vallid`"
)]
#[case::duplicate_id(
    format!("{}\n{}", key_vector(&[r#"result = "valid""#, KEY, CONTEXT, r#"expect = { old = "valid" }"#]),
        key_vector(&[r#"comment = "comments are not content""#, r#"result = "valid""#, KEY, CONTEXT, r#"expect = { old = "valid" }"#])),
    "bad.toml:7:1: duplicate vector: id v-b5186ee8a0cb is also the vector at acme/bad.toml:1"
)]
#[case::id_mismatch(
    key_vector(&[r#"id = "v-000000000000""#, r#"result = "valid""#, KEY, CONTEXT, r#"expect = { old = "valid" }"#]),
    "bad.toml:2:6: id v-000000000000 does not match the content (computed v-b5186ee8a0cb)"
)]
#[case::unknown_system(
    key_vector(&[r#"result = "valid""#, KEY, CONTEXT, r#"expect = { old = "valid", olld = "valid" }"#]),
    r#"bad.toml:5:27: unknown system "olld" in `expect`"#
)]
#[case::unknown_format(
    entitlement_vector(WORKED_FIELDS, r#"acme-lk2 = "X""#),
    r#"bad.toml:4:1: unknown format "acme-lk2""#
)]
#[case::invalid_entitlement(
    entitlement_vector(&format!("{WORKED_FIELDS}, seats = 0"), r#"acme-lk1 = { refused = "seats" }"#),
    "bad.toml:2:123: invalid entitlement: seats: 0 is not a seat count"
)]
#[case::nfd_name_in_an_entitlement(
    entitlement_vector(&format!(r#"{WORKED_FIELDS}, customer = {{ id = "C-1", name = "Zoe\u0308" }}"#), r#"acme-ed1 = "key/x.y""#),
    "bad.toml:2:126: invalid entitlement: customer.name: is not in Unicode NFC"
)]
#[case::key_and_key_hex(
    key_vector(&[r#"result = "valid""#, KEY, r#"key_hex = "00""#, CONTEXT, r#"expect = { old = "valid" }"#]),
    "bad.toml:4:11: set exactly one of `key`, `key_hex` and `key_parts`"
)]
#[case::no_key(
    key_vector(&[r#"result = "invalid""#, CONTEXT, r#"expect = { old = "malformed" }"#]),
    "bad.toml:1:1: key vector has no key"
)]
#[case::bad_hex(
    key_vector(&[r#"result = "invalid""#, r#"key_hex = "0g""#, CONTEXT, r#"expect = { old = "malformed" }"#]),
    "bad.toml:3:11: not hex bytes"
)]
#[case::missing_context(
    key_vector(&[r#"result = "valid""#, KEY, r#"expect = { old = "valid" }"#]),
    "bad.toml:1:1: missing field `context`"
)]
#[case::malformed_toml("[[key]\nresult = \"valid\"\n".to_string(), "bad.toml:1:7: unclosed array table")]
#[case::unknown_table("[[keys]]\nresult = \"valid\"\n".to_string(), "bad.toml:1:3: unknown table `keys`")]
#[case::result_contradicts_expect(
    key_vector(&[r#"result = "valid""#, KEY, CONTEXT, r#"expect = { old = "malformed" }"#]),
    r#"bad.toml:2:10: result = "valid" needs at least one system expected `valid`"#
)]
#[case::flag_not_camel_case(
    key_vector(&[r#"flags = ["lower-case"]"#, r#"result = "valid""#, KEY, CONTEXT, r#"expect = { old = "valid" }"#]),
    r#"bad.toml:2:10: flag "lower-case" is not a CamelCase word"#
)]
#[case::unknown_null_field(
    key_vector(&[r#"result = "valid""#, KEY, CONTEXT, r#"expect = { old = "valid" }"#, r#"decoded = { null = ["serial"] }"#]),
    r#"bad.toml:6:21: "serial" cannot be null"#
)]
fn broken_vector_files_are_reported_at_their_line(#[case] text: String, #[case] expected: &str) {
    let (dir, errors) = lint_text(&text);
    let expected = format!("{}/{expected}", dir.path().join("acme").display());
    assert!(
        errors.iter().any(|e| e.starts_with(&expected)),
        "expected an error starting with\n  {expected}\ngot\n  {}",
        errors.join("\n  ")
    );
    // load_dir reports the same schema errors (not the cross-references).
    let loaded = load_dir(dir.path(), &Catalog::acme());
    assert_eq!(
        loaded.is_err(),
        !expected.contains("unknown system") && !expected.contains("unknown format")
    );
}

#[test]
fn every_error_of_every_file_is_reported_in_one_pass() {
    let text = format!(
        "{}\n{}",
        key_vector(&[
            r#"result = "valid""#,
            r#"kye = "x""#,
            KEY,
            CONTEXT,
            r#"expect = { old = "valid" }"#
        ]),
        key_vector(&[
            r#"result = "valid""#,
            KEY,
            r#"context = { product = "acme-cad", version = "5", today = "2026-11-23" }"#,
            r#"expect = { old = "valid" }"#
        ])
    );
    let (dir, errors) = lint_text(&text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("bad.toml:3:1:") && errors[1].contains("bad.toml:11:45:"),
        "{errors:?}"
    );
    // A second broken file: its error comes in the same pass as the first's.
    std::fs::write(
        dir.path().join("acme/worse.toml"),
        key_vector(&[
            r#"result = "valid""#,
            KEY,
            CONTEXT,
            r#"expect = { old = "vallid" }"#,
        ]),
    )
    .expect("write vector file");
    let errors = lint_dir(dir.path());
    assert_eq!(errors.len(), 3, "{errors:?}");
    for at in ["bad.toml:3:1:", "bad.toml:11:45:", "worse.toml:5:18:"] {
        assert!(errors.iter().any(|e| e.contains(at)), "{at}: {errors:?}");
    }
}

// ------------------------------------------------------------------- ids

fn single_set(text: &str) -> VectorSet {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("v.toml"), text).expect("write vector file");
    load_dir(dir.path(), &Catalog::acme()).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn the_worked_example_has_a_pinned_id() {
    let set = acme_set();
    let worked = set
        .entitlements
        .iter()
        .find(|v| v.file == "acme/worked-example.toml")
        .expect("the worked example vector");
    assert_eq!(worked.id, WORKED_EXAMPLE_ID);
    assert_eq!(
        worked.entitlement,
        Entitlement::from_json(WORKED_EXAMPLE).expect("worked example JSON")
    );
}

#[test]
fn ids_do_not_depend_on_field_order_comments_or_spelling() {
    let written = r#"
[[entitlement]]
comment = "SCHEMES.md worked example: product 17, edition 2, max_major 5, features 0x002D, 25 seats, expires 2027-12-31, serial 424242"
flags = ["WorkedExample"]
entitlement = { product = "acme-cad", edition = "professional", max_major = 5, features = ["export-dwg", "export-pdf", "plugins-sdk", "render-gpu"], seats = 25, issued = "2026-11-23", expires = "2027-12-31", serial = 424242 }
[entitlement.keys]
acme-lk1 = "24A0M-02T1K-7Y9KS-689RQ-7B450"
acme-ed1 = "key/eyJ2IjoxLCJraWQiOiJhY21lLWRlbW8tMjAyNiIsInByb2QiOiJhY21lLWNhZCIsImVkIjoicHJvZmVzc2lvbmFsIiwibWF4diI6NSwiZmVhdCI6WyJleHBvcnQtZHdnIiwiZXhwb3J0LXBkZiIsInBsdWdpbnMtc2RrIiwicmVuZGVyLWdwdSJdLCJzZWF0cyI6MjUsImlhdCI6IjIwMjYtMTEtMjMiLCJleHAiOiIyMDI3LTEyLTMxIiwibWFpbnQiOm51bGwsInNlcmlhbCI6NDI0MjQyLCJjdXN0IjpudWxsLCJvcmRlciI6bnVsbCwiaG9zdCI6bnVsbH0=.LMyvuZrfDsU8wJFl347EbXVWiGHrWN_miKmowQd0HLk5TWSo4v6G8SczEmRLaHJsmfrFYc4XFmTIoL8BC13qCQ=="
"#;
    let reordered = r#"
# the same vector: keys, fields and features reordered, bare TOML dates,
# another comment, and its id written out
[[entitlement]]
id = "v-4d5dffdac267"
keys = { acme-ed1 = "key/eyJ2IjoxLCJraWQiOiJhY21lLWRlbW8tMjAyNiIsInByb2QiOiJhY21lLWNhZCIsImVkIjoicHJvZmVzc2lvbmFsIiwibWF4diI6NSwiZmVhdCI6WyJleHBvcnQtZHdnIiwiZXhwb3J0LXBkZiIsInBsdWdpbnMtc2RrIiwicmVuZGVyLWdwdSJdLCJzZWF0cyI6MjUsImlhdCI6IjIwMjYtMTEtMjMiLCJleHAiOiIyMDI3LTEyLTMxIiwibWFpbnQiOm51bGwsInNlcmlhbCI6NDI0MjQyLCJjdXN0IjpudWxsLCJvcmRlciI6bnVsbCwiaG9zdCI6bnVsbH0=.LMyvuZrfDsU8wJFl347EbXVWiGHrWN_miKmowQd0HLk5TWSo4v6G8SczEmRLaHJsmfrFYc4XFmTIoL8BC13qCQ==", acme-lk1 = "24A0M-02T1K-7Y9KS-689RQ-7B450" }
result = "valid"
entitlement = { serial = 424242, expires = 2027-12-31, issued = 2026-11-23, seats = 25, features = ["render-gpu", "plugins-sdk", "export-pdf", "export-dwg"], max_major = 5, edition = "professional", product = "acme-cad" }
flags = ["WorkedExample"]
comment = "reworded"
"#;
    assert_eq!(single_set(written).entitlements[0].id, WORKED_EXAMPLE_ID);
    assert_eq!(single_set(reordered).entitlements[0].id, WORKED_EXAMPLE_ID);
    let changed = written.replace("serial = 424242", "serial = 424243");
    assert_ne!(single_set(&changed).entitlements[0].id, WORKED_EXAMPLE_ID);

    let as_text = key_vector(&[
        r#"result = "valid""#,
        KEY,
        CONTEXT,
        r#"expect = { old = "valid" }"#,
    ]);
    let as_hex = key_vector(&[
        r#"expect = { old = "valid" }"#,
        CONTEXT,
        &format!(
            r#"key_hex = "{}""#,
            hex::encode("24A0M-02T1K-7Y9KS-689RQ-7B450")
        ),
        r#"result = "valid""#,
    ]);
    let as_parts = key_vector(&[
        r#"result = "valid""#,
        r#"key_parts = [{ text = "24A0M-02T1K" }, { hex = "2d" }, { text = "7Y9KS-689RQ-7B450" }]"#,
        CONTEXT,
        r#"expect = { old = "valid" }"#,
    ]);
    let ids: Vec<String> = [as_text, as_hex, as_parts]
        .iter()
        .map(|t| single_set(t).keys[0].id.clone())
        .collect();
    assert_eq!(ids, ["v-b5186ee8a0cb"; 3]);
}

// ------------------------------------------------- planted wrong expectations

fn planted_key(lines: &[&str]) -> KeyVector {
    single_set(&key_vector(lines)).keys.remove(0)
}

#[rstest]
#[case::a_valid_key_expected_rejected_is_a_leak(
    &[r#"result = "invalid""#, KEY, CONTEXT, r#"expect = { old = "malformed" }"#], Severity::Leak, "accepted")]
#[case::a_rejected_key_expected_valid_is_an_outage(
    &[r#"result = "valid""#, r#"key = "24A0M-02T1K-7Y9KS-689RQ-7B451""#, CONTEXT, r#"expect = { old = "valid" }"#],
    Severity::Outage, "rejected: bad_signature")]
#[case::another_rejection_is_drift(
    &[r#"result = "invalid""#, KEY, r#"context = { product = "acme-cad", version = "5.4", today = "2030-01-01" }"#, r#"expect = { old = "malformed" }"#],
    Severity::Drift, "verdict differs")]
#[case::another_decode_is_drift(
    &[r#"result = "valid""#, KEY, CONTEXT, r#"expect = { old = "valid" }"#, r#"decoded = { seats = 26, serial = 1, customer = { id = "C-1", name = "X" } }"#],
    Severity::Drift, "drift: seats, serial, customer")]
fn a_wrong_expectation_is_a_finding_of_the_right_severity(
    #[case] lines: &[&str],
    #[case] severity: Severity,
    #[case] cause: &str,
) {
    let config = demo_config();
    let systems: Systems = [("old".to_string(), open(&config, "old", &[]))].into();
    let v = planted_key(lines);
    let outcome = check_key_vector(&v, &systems);
    assert_eq!(outcome.observations, [("old".to_string(), false)]);
    let [finding] = outcome.findings.as_slice() else {
        panic!("one finding expected: {:?}", outcome.findings)
    };
    assert_eq!(finding.key.check, Check::Vector);
    assert_eq!(finding.key.severity, severity);
    assert_eq!(finding.key.cause, cause);
    assert_eq!(finding.key.generator, "old");
    assert_eq!(finding.key.validator, None);
    assert_eq!(finding.case_id, v.id);
    assert_eq!(
        finding.source,
        Source::Vector {
            id: v.id.clone(),
            file: "v.toml".into()
        }
    );
    assert!(finding.validation.is_some() && finding.context.is_some());
    if cause.starts_with("drift:") {
        assert_eq!(finding.diffs.len(), 3);
        assert_eq!(finding.diffs[2].found, "(not carried)");
    }
    // The same difference in an `acceptable` vector is an observation only.
    let mut acceptable = v.clone();
    acceptable.result = vectors::VectorResult::Acceptable;
    let outcome = check_key_vector(&acceptable, &systems);
    assert_eq!(outcome.observations, [("old".to_string(), true)]);
    assert!(outcome.findings.is_empty());
}

#[rstest]
#[case::another_key("24A0M-02T1K-7Y9KS-689RQ-7B451", "key differs from vector")]
#[case::a_refusal_where_a_key_was_expected_is_drift("{ refused = \"seats\" }", "refusal differs")]
fn a_wrong_exact_key_is_drift(#[case] expected: &str, #[case] cause: &str) {
    let config = demo_config();
    let systems = demo_systems(&config);
    let generators = demo_generators(&config, &systems);
    let value = if expected.starts_with('{') {
        expected.to_string()
    } else {
        format!("{expected:?}")
    };
    let text = entitlement_vector(
        r#"product = "acme-cad", edition = "professional", max_major = 5, features = ["export-dwg", "export-pdf", "plugins-sdk", "render-gpu"], seats = 25, issued = "2026-11-23", expires = "2027-12-31", serial = 424242"#,
        &format!("acme-lk1 = {value}"),
    );
    let v = single_set(&text).entitlements.remove(0);
    let outcome = check_entitlement_vector(&v, &generators);
    assert_eq!(
        outcome.observations.len(),
        3,
        "old, old-rust, legacy-emitter"
    );
    assert_eq!(outcome.findings.len(), 3);
    for f in &outcome.findings {
        assert_eq!(
            (f.key.severity, f.key.cause.as_str()),
            (Severity::Drift, cause)
        );
        assert_eq!(f.license_key.as_deref(), Some(WORKED_EXAMPLE_KEY));
        assert!(f.entitlement.is_some());
    }
}

/// An implementation that fails every call with `kind`.
struct Failing {
    info: ImplInfo,
    kind: FailureKind,
}

/// A system that fails every call with `kind`.
fn failing(kind: FailureKind) -> Arc<dyn Implementation> {
    Arc::new(Failing {
        info: ImplInfo {
            name: "failing".into(),
            version: "0".into(),
            origin: Origin::Builtin {
                scheme: "failing".into(),
            },
            can_generate: true,
            can_validate: true,
        },
        kind,
    })
}

impl Implementation for Failing {
    fn info(&self) -> &ImplInfo {
        &self.info
    }
    fn generate(&self, _: &Entitlement) -> Result<String, GenerateFailure> {
        Err(GenerateFailure::Failed(CallFailure::new(
            self.kind, "planted",
        )))
    }
    fn validate(&self, _: &[u8], _: &Context) -> Result<Validation, CallFailure> {
        Err(CallFailure::new(self.kind, "planted"))
    }
}

#[rstest]
#[case::a_panic_is_a_crash(FailureKind::Panic, Severity::Crash, "crash: panic")]
#[case::a_timeout_is_a_crash(FailureKind::Timeout, Severity::Crash, "crash: timeout")]
#[case::a_bad_argument_is_a_crash(FailureKind::BadArgument, Severity::Crash, "crash: bad_argument")]
#[case::a_dead_process_is_not_crash_crash(
    FailureKind::Crash,
    Severity::Crash,
    "crash: process died"
)]
fn failures_are_findings_even_in_acceptable_vectors(
    #[case] kind: FailureKind,
    #[case] severity: Severity,
    #[case] cause: &str,
) {
    let mut v = planted_key(&[
        r#"result = "acceptable""#,
        KEY,
        CONTEXT,
        r#"expect = { sut = "valid" }"#,
    ]);
    let systems: Systems = [("sut".to_string(), failing(kind))].into();
    for result in [
        vectors::VectorResult::Valid,
        vectors::VectorResult::Acceptable,
    ] {
        v.result = result;
        let outcome = check_key_vector(&v, &systems);
        assert_eq!(outcome.findings.len(), 1);
        assert_eq!(outcome.findings[0].key.severity, severity);
        assert_eq!(outcome.findings[0].key.cause, cause);
    }
    let e = single_set(&entitlement_vector(WORKED_FIELDS, r#"acme-lk1 = "X""#))
        .entitlements
        .remove(0);
    let generators: Generators = [(
        "acme-lk1".to_string(),
        vec![("sut".to_string(), failing(kind))],
    )]
    .into();
    let outcome = check_entitlement_vector(&e, &generators);
    assert_eq!(outcome.findings[0].key.cause, cause);
}

// ---------------------------------------------------------------- regressions

#[test]
fn regressions_are_saved_once_and_loaded_first_class() {
    let dir = tempfile::tempdir().expect("temp dir");
    let entitlement = Entitlement::from_json(WORKED_EXAMPLE).expect("worked example");
    let mut r = RegressionVector::new(entitlement.clone(), Check::Backward, "drift: features");
    r.generator = "new".into();
    r.validator = Some("old".into());
    r.seed = Some(u64::MAX);
    r.found = "2026-11-23".into();
    r.note = "features \"quoted\"\nsecond line".into();
    assert!(save_regression(dir.path(), &r).expect("save"));
    assert!(
        !save_regression(dir.path(), &r).expect("save again"),
        "same id"
    );
    let mut forward = RegressionVector::new(entitlement, Check::Forward, "outage");
    forward.found = "2026-11-24".into();
    assert!(
        !save_regression(dir.path(), &forward).expect("save"),
        "the same entitlement is the same regression, whichever check found it"
    );
    let mut other = r.clone();
    other.entitlement.serial = 7;
    other.id = vectors::regression_id(&other.entitlement);
    other.seed = Some(3);
    assert!(save_regression(dir.path(), &other).expect("save"));

    let set = load_dir(dir.path(), &Catalog::acme()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(set.regressions, [r.clone(), other]);
    assert!(set.entitlements.is_empty() && set.keys.is_empty());
    assert!(r.id.starts_with("r-") && r.id.len() == 14);
    let names: Vec<_> = std::fs::read_dir(dir.path().join("regressions"))
        .expect("regressions dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["backward.toml"], "no temporary file is left behind");
}

#[test]
fn a_regression_with_a_wrong_id_or_date_is_not_saved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let entitlement = Entitlement::from_json(WORKED_EXAMPLE).expect("worked example");
    let mut r = RegressionVector::new(entitlement, Check::Parity, "key differs");
    r.found = "2026-11-23".into();
    r.id = "r-000000000000".into();
    assert!(save_regression(dir.path(), &r).is_err());
    r.id = vectors::regression_id(&r.entitlement);
    r.found = "yesterday".into();
    assert!(save_regression(dir.path(), &r).is_err());
    assert!(!dir.path().join("regressions").exists());
}

#[test]
fn the_vectors_directory_may_be_missing_only_as_an_error() {
    let errors = load_dir(Path::new("/nonexistent/vectors"), &Catalog::acme()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .to_string()
            .starts_with("/nonexistent/vectors: cannot read")
    );
}

/// A typo in a key vector's context product (`acme-cadd`) is not a vector
/// about an unknown product: one that expects a system to get past the
/// product check is an error at its line, for `vectors check` and `run`
/// alike, naming the catalog's products; one expecting `wrong_product`
/// (the demo's `context.toml` has one) stays a valid vector.
#[rstest]
#[case::typo_expected_valid(
    "acme-cadd",
    r#"result = "valid""#,
    r#"expect = { old = "valid", new = "valid" }"#,
    2
)]
#[case::typo_expected_expired(
    "acme-cadd",
    r#"result = "invalid""#,
    r#"expect = { old = "expired" }"#,
    2
)]
#[case::unknown_product_expected_wrong_product(
    "acme-paint",
    r#"result = "invalid""#,
    r#"expect = { old = "wrong_product", new = "wrong_product" }"#,
    0
)]
fn a_context_product_the_catalog_does_not_know_is_an_error_unless_expected_wrong_product(
    #[case] product: &str,
    #[case] result: &str,
    #[case] expect: &str,
    #[case] exit: i32,
) {
    let s = Scenario::demo();
    let context =
        format!(r#"context = {{ product = "{product}", version = "5.4", today = "2026-11-23" }}"#);
    let text = key_vector(&[r#"comment = "c""#, result, KEY, &context, expect]);
    std::fs::write(s.dir.path().join("vectors/acme/typo.toml"), text).expect("write vector");
    let out = s.run(&["vectors", "check"]);
    let err = stderr(&out);
    assert_eq!(code(&out), exit, "{err}");
    if exit == 2 {
        // `vectors check` lists its problems on stdout, its summary on stderr.
        let listed = stdout(&out);
        assert!(
            listed.contains(&format!("typo.toml:5:11: context.product \"{product}\" is not in the catalog (it has acme-cad, acme-viewer, acme-sim, acme-cloud)")),
            "{listed}{err}"
        );
        let out = s.run(&["run", "--cases", "1", "--report-dir", "rep"]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("typo.toml:5:11: context.product"),
            "{}",
            stderr(&out)
        );
    }
}
