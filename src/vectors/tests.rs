//! Unit tests of the vector format: spellings that must mean the same thing,
//! and inputs that must be refused with a position.

use super::*;
use crate::verdict::Verdict;

const CONTEXT: &str =
    r#"context = { product = "acme-cad", version = "5.4", today = "2026-11-23" }"#;

fn load_text(text: &str) -> Result<VectorSet, Vec<String>> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("v.toml"), text).expect("write");
    load_dir(dir.path(), &Catalog::acme())
        .map_err(|errors| errors.iter().map(|e| e.message.clone()).collect())
}

fn key_vector(body: &str) -> String {
    format!(
        "[[key]]\nresult = \"invalid\"\n{CONTEXT}\nexpect = {{ old = \"malformed\" }}\n{body}\n"
    )
}

fn only_key(text: &str) -> KeyVector {
    load_text(text).expect("loads").keys.remove(0)
}

#[test]
fn dates_may_be_strings_or_bare_toml_dates() {
    let quoted = only_key(&key_vector(r#"key = "x""#));
    let bare = only_key(
        &key_vector(r#"key = "x""#).replace(r#"today = "2026-11-23""#, "today = 2026-11-23"),
    );
    assert_eq!(quoted.context, bare.context);
    assert_eq!(quoted.id, bare.id);
    let timed = key_vector(r#"key = "x""#).replace(r#""2026-11-23""#, "2026-11-23T10:00:00Z");
    let errors = load_text(&timed).unwrap_err();
    assert!(errors[0].contains("without a time"), "{errors:?}");
}

#[test]
fn key_parts_concatenate_and_repeat() {
    let v = only_key(&key_vector(
        r#"key_parts = [{ text = "ab" }, { hex = "00ff" }, { text = " ", times = 3 }]"#,
    ));
    assert_eq!(v.key, b"ab\x00\xff   ");
    let errors = load_text(&key_vector(r#"key_parts = [{ text = "a", times = 0 }]"#)).unwrap_err();
    assert!(errors[0].contains("at least 1"), "{errors:?}");
    let errors = load_text(&key_vector(
        r#"key_parts = [{ text = "ab", times = 600000 }]"#,
    ))
    .unwrap_err();
    assert!(errors[0].contains("at most"), "{errors:?}");
    let errors = load_text(&key_vector(r#"key_parts = [{ text = "a", hex = "00" }]"#)).unwrap_err();
    assert!(errors[0].contains("exactly one"), "{errors:?}");
}

#[test]
fn toml_escapes_spell_exact_characters() {
    let v = only_key(&key_vector(r#"key = "\u00A0\u200B\uFEFF\u0000\t\r\n""#));
    assert_eq!(v.key, "\u{a0}\u{200b}\u{feff}\0\t\r\n".as_bytes());
    let hex = only_key(&key_vector(&format!(
        r#"key_hex = "{}""#,
        hex::encode(&v.key)
    )));
    assert_eq!(hex.id, v.id, "the id covers the bytes, not their spelling");
}

#[test]
fn flags_are_a_set_for_the_id() {
    let a = only_key(&key_vector("key = \"x\"\nflags = [\"Nbsp\", \"EnDash\"]"));
    let b = only_key(&key_vector("key = \"x\"\nflags = [\"EnDash\", \"Nbsp\"]"));
    assert_eq!(a.id, b.id);
    assert_eq!(
        a.flags,
        ["Nbsp", "EnDash"],
        "file order is kept for display"
    );
    let c = only_key(&key_vector("key = \"x\"\nflags = [\"EnDash\"]"));
    assert_ne!(a.id, c.id);
}

#[test]
fn partial_decodes_distinguish_null_from_unchecked() {
    let text = r#"[[key]]
result = "valid"
key = "k"
context = { product = "acme-cad", version = "5.4", today = "2026-11-23" }
expect = { old = "valid" }
decoded = { seats = 25, features = ["b", "a"], null = ["expires", "host_id"] }
"#;
    let d = only_key(text).decoded.expect("decoded");
    assert_eq!(d.seats, Some(Some(25)));
    assert_eq!(d.expires, Some(None));
    assert_eq!(d.host_id, Some(None));
    assert_eq!(d.customer, None, "not listed: not checked");
    assert_eq!(d.features, Some(["a".to_string(), "b".to_string()].into()));
    let both = text.replace(r#"null = ["expires", "host_id"]"#, r#"null = ["seats"]"#);
    let errors = load_text(&both).unwrap_err();
    assert!(errors[0].contains("given a value"), "{errors:?}");
    let never = text.replace(
        r#"expect = { old = "valid" }"#,
        r#"expect = { old = "malformed" }"#,
    );
    let never = never.replace(r#"result = "valid""#, r#"result = "invalid""#);
    let errors = load_text(&never).unwrap_err();
    assert!(errors[0].contains("no expectation does"), "{errors:?}");
}

#[test]
fn expected_keys_are_keys_or_refusals() {
    let text = r#"[[entitlement]]
entitlement = { product = "acme-cloud", edition = "trial", max_major = 1, issued = "2026-11-23", serial = 1 }
result = "invalid"
[entitlement.keys]
acme-lk1 = { refused = "product" }
"#;
    let set = load_text(text).expect("loads");
    let v = &set.entitlements[0];
    assert_eq!(
        v.keys["acme-lk1"],
        ExpectedKey::Refused("product".to_string())
    );
    assert_eq!(v.entitlement.seats, None, "absent is null");
    assert_eq!(v.line, 1);
    let keyed = text.replace(r#"{ refused = "product" }"#, r#""KEY""#);
    let errors = load_text(&keyed).unwrap_err();
    assert!(errors[0].contains("every format refuses"), "{errors:?}");
    let typo = text.replace("refused =", "refuse =");
    let errors = load_text(&typo).unwrap_err();
    assert!(errors[0].contains("unknown field `refuse`"), "{errors:?}");
}

#[test]
fn verdicts_and_results_parse_by_name() {
    let v = only_key(&key_vector(r#"key = """#));
    assert_eq!(v.expect["old"], Verdict::Malformed);
    assert_eq!(v.result, VectorResult::Invalid);
    assert!(v.key.is_empty());
}

#[test]
fn camel_case_flags() {
    for good in ["Nbsp", "LeapDay", "Year2038", "A"] {
        assert!(is_camel_case(good), "{good}");
    }
    for bad in ["", "leapDay", "Leap-Day", "Leap Day", "Zoë"] {
        assert!(!is_camel_case(bad), "{bad}");
    }
}

#[test]
fn regressions_round_trip_through_their_toml() {
    let e = crate::entitlement::Entitlement::from_json(
        r#"{"product":"acme-cad","edition":"trial","max_major":0,"features":[],"seats":null,"issued":"2026-11-23","expires":null,"maintenance_until":null,"serial":0,"customer":{"id":"C-1","name":"Zoë \"Q\""},"order_id":null,"host_id":"h"}"#,
    )
    .expect("entitlement");
    let mut r = RegressionVector::new(e, crate::finding::Check::Time, "outage");
    r.seed = Some(u64::MAX);
    r.found = "2026-11-23".into();
    let text = regression_toml(&r).expect("serializes");
    assert!(text.contains(&format!("seed = \"{}\"", u64::MAX)), "{text}");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join(REGRESSIONS_DIR)).expect("mkdir");
    std::fs::write(dir.path().join("regressions/time.toml"), &text).expect("write");
    let set = load_dir(dir.path(), &Catalog::acme()).expect("loads");
    assert_eq!(set.regressions, [r]);
}

#[test]
fn errors_without_a_position_name_the_file_only() {
    let e = VectorError::whole(std::path::Path::new("vectors/x.toml"), "is not UTF-8 text");
    assert_eq!(e.to_string(), "vectors/x.toml: is not UTF-8 text");
}
