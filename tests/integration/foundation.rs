//! The foundation: both Acme schemes through the C plugin, the Rust plugin and
//! the builtins, via the real binary and the real shared libraries.

use std::collections::BTreeMap;

use crate::common::*;
use keycompat::catalog::Catalog;
use keycompat::date::Day;
use keycompat::implementation::{GenerateFailure, Implementation};
use keycompat::random::Generator;
use keycompat::settings::Settings;
use keycompat::system::{self, SystemRef, acme_demo_settings};
use keycompat::verdict::{Context, Verdict, Version};
use rstest::rstest;

fn open(reference: &str, overrides: &[(&str, &str)]) -> Box<dyn Implementation> {
    let overrides: Settings = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    system::open(
        &SystemRef::parse(reference),
        None,
        &overrides,
        &system::Hosting::InProcess,
    )
    .unwrap_or_else(|e| panic!("{reference}: {e}"))
}

fn lk1_settings() -> Vec<(&'static str, &'static str)> {
    vec![("secret", "acme-legacy-demo-secret-DO-NOT-SHIP")]
}

fn ed1_settings(emit: &'static str) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = acme_demo_settings("acme-ed1").into_iter().collect();
    s.push(("emit".into(), emit.into()));
    s
}

fn open_owned(reference: &str, settings: &[(String, String)]) -> Box<dyn Implementation> {
    let pairs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    open(reference, &pairs)
}

#[rstest]
#[case::c_plugin_old_system("old")]
#[case::rust_builtin("old-rust")]
#[case::legacy_emitter_plugin("legacy-emitter")]
#[case::new_system_by_policy("new")]
#[case::builtin_lk1("builtin:acme-lk1")]
fn worked_example_reproduces(#[case] system: &str) {
    let out = run(&["generate", "--system", system], WORKED_EXAMPLE.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{WORKED_EXAMPLE_KEY}\n"));
}

#[test]
fn lk1_implementations_agree_on_thousands_of_random_entitlements() {
    let c_plugin = open(&lk1_c().to_string_lossy(), &lk1_settings());
    let builtin = open("builtin:acme-lk1", &[]);
    let emitter = open_owned(&ed1().to_string_lossy(), &ed1_settings("acme-lk1"));
    let generator = Generator::new(7, Catalog::acme(), vec![5, 6, 7]);
    let mut outcomes = BTreeMap::<&str, usize>::new();
    for i in 0..4000 {
        let e = generator.entitlement(i);
        let answers: Vec<_> = [&c_plugin, &builtin, &emitter]
            .iter()
            .map(|imp| match imp.generate(&e) {
                Ok(key) => Ok(key),
                Err(GenerateFailure::Refused { field, .. }) => Err(field),
                Err(other) => panic!("case {i}: {} failed: {other}", imp.info()),
            })
            .collect();
        assert_eq!(answers[0], answers[1], "C vs Rust builtin on case {i}: {e}");
        assert_eq!(
            answers[0], answers[2],
            "C vs legacy emitter on case {i}: {e}"
        );
        *outcomes
            .entry(if answers[0].is_ok() { "key" } else { "refused" })
            .or_default() += 1;
    }
    // Both outcomes must be well represented, or the comparison proves little.
    assert!(
        outcomes["key"] > 400 && outcomes["refused"] > 400,
        "{outcomes:?}"
    );
}

#[test]
fn ed1_plugin_and_builtin_issue_identical_keys() {
    let plugin = open_owned(&ed1().to_string_lossy(), &ed1_settings("acme-ed1"));
    let builtin = open_owned("builtin:acme-ed1", &ed1_settings("acme-ed1"));
    let generator = Generator::new(8, Catalog::acme(), vec![5, 6, 7]);
    for i in 0..2000 {
        let e = generator.entitlement(i);
        let a = plugin
            .generate(&e)
            .unwrap_or_else(|f| panic!("case {i}: {f}"));
        let b = builtin
            .generate(&e)
            .unwrap_or_else(|f| panic!("case {i}: {f}"));
        assert_eq!(a, b, "case {i}: {e}");
        assert!(a.starts_with("key/"));
    }
}

#[test]
fn ed1_keys_verify_with_an_independent_ed25519_implementation() {
    let plugin = open_owned(&ed1().to_string_lossy(), &ed1_settings("acme-ed1"));
    let public =
        hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").unwrap();
    let pk = ed25519_compact::PublicKey::from_slice(&public).unwrap();
    let generator = Generator::new(9, Catalog::acme(), vec![7]);
    for i in 0..200 {
        let key = plugin.generate(&generator.entitlement(i)).unwrap();
        let (signed, sig) = key.rsplit_once('.').unwrap();
        use base64::Engine;
        let sig = base64::engine::general_purpose::URL_SAFE
            .decode(sig)
            .unwrap();
        let sig = ed25519_compact::Signature::from_slice(&sig).unwrap();
        pk.verify(signed.as_bytes(), &sig)
            .unwrap_or_else(|e| panic!("case {i}: {e:?}: {key}"));
        let mut tampered = signed.as_bytes().to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(pk.verify(&tampered, &sig).is_err());
    }
}

/// Generated keys validate, through the CLI, in every system that must accept them.
#[rstest]
#[case::old_key_in_old("old", "old", "acme-cad", "5.4")]
#[case::old_key_in_new("old", "new", "acme-cad", "5.4")]
#[case::new_lk1_key_in_old("new", "old", "acme-cad", "5.4")]
#[case::new_key_in_new("new", "new", "acme-cad", "5.4")]
#[case::c_key_in_rust("old", "old-rust", "acme-cad", "5.4")]
fn generated_keys_validate(
    #[case] generator: &str,
    #[case] validator: &str,
    #[case] product: &str,
    #[case] version: &str,
) {
    let out = run(
        &["generate", "--system", generator],
        WORKED_EXAMPLE.as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let key = stdout(&out).trim().to_string();
    let out = run(
        &[
            "validate",
            "--system",
            validator,
            "--key",
            &key,
            "--product",
            product,
            "--version",
            version,
            "--today",
            "2026-11-23",
            "--json",
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["verdict"], "valid");
    assert_eq!(v["decoded"]["seats"], 25);
    assert_eq!(
        v["decoded"]["features"],
        serde_json::json!(["export-dwg", "export-pdf", "plugins-sdk", "render-gpu"])
    );
}

#[test]
fn new_system_issues_ed1_when_lk1_cannot_carry_the_entitlement() {
    let cloud = WORKED_EXAMPLE.replace("acme-cad", "acme-cloud");
    let out = run(&["generate", "--system", "new"], cloud.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let key = stdout(&out).trim().to_string();
    assert!(key.starts_with("key/"), "{key}");
    for (system, verdict, exit) in [("new", "valid", 0), ("old", "malformed", 1)] {
        let out = run(
            &[
                "validate",
                "-s",
                system,
                "--key",
                &key,
                "--product",
                "acme-cloud",
                "--version",
                "1.0",
                "--today",
                "2026-11-23",
                "--json",
            ],
            b"",
        );
        assert_eq!(code(&out), exit, "{}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("\"verdict\":\"{verdict}\"")),
            "{}",
            stdout(&out)
        );
    }
    // A product the catalog does not know (a typo, or asked on purpose):
    // warned about, and still asked.
    let out = run(
        &[
            "validate",
            "-s",
            "new",
            "--key",
            &key,
            "--product",
            "acme-clod",
            "--version",
            "1.0",
            "--today",
            "2026-11-23",
        ],
        b"",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("verdict: wrong_product"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains(r#"--product "acme-clod" is not a product of the catalog"#),
        "{}",
        stderr(&out)
    );
}

#[test]
fn refusals_name_the_field_and_exit_1() {
    let input = [
        WORKED_EXAMPLE.replace(r#""seats":25"#, r#""seats":2000"#),
        WORKED_EXAMPLE.to_string(),
        WORKED_EXAMPLE.replace(r#""host_id":null"#, r#""host_id":"H-1""#),
    ]
    .join("\n");
    let out = run(&["generate", "--system", "old"], input.as_bytes());
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines: Vec<_> = stdout(&out).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("error: refused: seats: "),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], WORKED_EXAMPLE_KEY);
    assert!(
        lines[2].starts_with("error: refused: host_id: "),
        "{}",
        lines[2]
    );
}

#[test]
fn invalid_entitlements_are_reported_with_their_line_and_do_not_stop_the_rest() {
    let input = format!(
        "{}\n{{\"product\":1}}\n\n{}\n",
        WORKED_EXAMPLE.replace(r#""seats":25"#, r#""seats":0"#),
        WORKED_EXAMPLE
    );
    let out = run(&["generate", "--system", "old-rust"], input.as_bytes());
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("<stdin>:1: seats: 0 is not a seat count"),
        "{err}"
    );
    assert!(err.contains("<stdin>:2:"), "{err}");
    assert_eq!(stdout(&out).lines().last(), Some(WORKED_EXAMPLE_KEY));
}

#[test]
fn plugin_inspect_prints_identity_and_sha256() {
    let path = lk1_c();
    let out = run(
        &["plugin", "inspect", &path.to_string_lossy(), "--json"],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["name"], "acme-lk1-c");
    assert_eq!(v["abi"], "1.2");
    let bytes = std::fs::read(&path).unwrap();
    use sha2::Digest;
    assert_eq!(v["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(
        v["capabilities"],
        serde_json::json!(["generate", "validate", "thread-safe", "batch", "typed"])
    );
}

/// With settings, `inspect` also creates an instance: a plugin whose
/// `create` refuses its settings fails now (exit 3, naming the setting),
/// not in the first run.
#[test]
fn plugin_inspect_with_settings_creates_an_instance() {
    let path = lk1_c();
    let path = path.to_string_lossy();
    let out = run(&["plugin", "inspect", &path, "--setting", "secret=s"], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("create:       an instance was created with 1 setting(s)"),
        "{}",
        stdout(&out)
    );
    let out = run(&["plugin", "inspect", &path, "--setting", "secrte=s"], b"");
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("secret: required setting is missing"),
        "{}",
        stderr(&out)
    );
    let out = run(&["plugin", "inspect", &path], b"");
    assert!(
        stdout(&out).contains("create:       not tried"),
        "{}",
        stdout(&out)
    );
}

/// A file that is not a usable plugin: exit 3 and one line naming the problem.
#[rstest]
#[case::bad_magic("bad_magic", "bad magic 0x12345678")]
#[case::other_abi_major("bad_major", "ABI major version 2")]
#[case::truncated_table("bad_truncated", "is smaller than an ABI 1.0 table")]
#[case::null_function("bad_null_fn", "function `generate` is a null pointer")]
#[case::null_table("bad_null_table", "returned NULL")]
#[case::no_entry_symbol("bad_no_entry", "no symbol `kc_plugin_entry_v1`")]
#[case::batch_flag_null_function(
    "bad_batch_null",
    "KC_FLAG_BATCH, but function `validate_batch` is a null pointer"
)]
#[case::batch_flag_short_table(
    "bad_batch_truncated",
    "KC_FLAG_BATCH, but struct_size 80 ends before"
)]
#[case::typed_flag_null_function(
    "bad_typed_null",
    "KC_FLAG_TYPED, but function `generate_typed` is a null pointer"
)]
#[case::typed_flag_short_table(
    "bad_typed_truncated",
    "KC_FLAG_TYPED, but struct_size 96 ends before"
)]
fn broken_plugins_exit_3_with_one_line(#[case] name: &str, #[case] expected: &str) {
    let path = bad_table(name);
    for args in [
        vec!["plugin", "inspect", path.to_str().unwrap()],
        vec![
            "validate",
            "-s",
            path.to_str().unwrap(),
            "--key",
            "X",
            "--product",
            "acme-cad",
            "--version",
            "5.4",
            "--today",
            "2026-01-01",
        ],
    ] {
        let out = run(&args, b"");
        assert_eq!(code(&out), 3, "{}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(expected) && err.contains(path.to_str().unwrap()),
            "{err}"
        );
    }
}

/// An entry point that crashes or ends the process: `plugin inspect`
/// loads the library in a child, so it exits 3 naming the plugin and how
/// the child ended, as `validate` (in a worker) does.
#[rstest]
#[case::segfault("bad_entry_segv", "SIGSEGV")]
#[case::exit_0("bad_entry_exit0", "exited with status 0")]
fn an_entry_point_that_ends_the_process_is_exit_3(#[case] name: &str, #[case] says: &str) {
    let path = bad_table(name);
    let out = run(&["plugin", "inspect", path.to_str().unwrap()], b"");
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(says) && err.contains(path.to_str().unwrap()),
        "{err}"
    );
    let out = run(
        &[
            "validate",
            "-s",
            path.to_str().unwrap(),
            "--key",
            "X",
            "--product",
            "acme-cad",
            "--version",
            "5.4",
            "--today",
            "2026-01-01",
        ],
        b"",
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(path.to_str().unwrap()),
        "{}",
        stderr(&out)
    );
}

#[rstest]
#[case::not_a_library("Cargo.toml", "not a loadable shared library")]
#[case::missing_file("no/such/plugin.so", "cannot read the file")]
fn non_plugins_exit_3(#[case] path: &str, #[case] expected: &str) {
    let out = run(&["plugin", "inspect", path], b"");
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn a_panic_inside_a_rust_plugin_is_a_plugin_failure() {
    let imp = open(
        &faulty().to_string_lossy(),
        &[("fault", "panic-on-generate")],
    );
    let e = keycompat::entitlement::Entitlement::from_json(WORKED_EXAMPLE).unwrap();
    match imp.generate(&e) {
        Err(GenerateFailure::Failed(f)) => {
            assert_eq!(f.kind, keycompat::implementation::FailureKind::Panic);
            assert!(
                f.message.contains("planted panic in generate"),
                "{}",
                f.message
            );
        }
        other => panic!("expected a panic failure, got {other:?}"),
    }
    // The process survived and the instance still works for validation.
    let ctx = Context {
        product: "acme-cad".into(),
        version: Version { major: 5, minor: 4 },
        today: Day::parse("2026-11-23").expect("a day"),
        host_id: None,
    };
    let v = imp
        .validate(WORKED_EXAMPLE_KEY.as_bytes(), &ctx)
        .expect("validate after a caught panic");
    assert_eq!(v.verdict, Verdict::Valid);
    // A panic in validate, in-process and through the CLI.
    let imp = open(
        &faulty().to_string_lossy(),
        &[("fault", "panic-on-validate")],
    );
    match imp.validate(WORKED_EXAMPLE_KEY.as_bytes(), &ctx) {
        Err(f) => {
            assert_eq!(f.kind, keycompat::implementation::FailureKind::Panic);
            assert!(
                f.message.contains("planted panic in validate"),
                "{}",
                f.message
            );
        }
        other => panic!("expected a panic failure, got {other:?}"),
    }
    let out = run(
        &[
            "validate",
            "-s",
            &faulty().to_string_lossy(),
            "--setting",
            "fault=panic-on-validate",
            "--key",
            WORKED_EXAMPLE_KEY,
            "--product",
            "acme-cad",
            "--version",
            "5.4",
            "--today",
            "2026-01-01",
        ],
        b"",
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("planted panic in validate"),
        "{}",
        stderr(&out)
    );
    assert!(imp.generate(&e).is_ok());
}
