//! ABI 1.2, the typed boundary, in-process: a plugin called through its
//! typed entry points, its 1.1 batches and its 1.0 single calls gives the
//! same keys, verdicts and decodes as the builtin of its scheme, on the
//! shared vectors and on random cases; and the typed structs have the
//! layout the header declares.

use rstest::rstest;

use crate::abi::keys_to_ask;
use crate::common::*;
use crate::isolation::{context, entitlements};
use keycompat::catalog::Catalog;
use keycompat::entitlement::Entitlement;
use keycompat::implementation::{CallFailure, GenerateFailure, Implementation};
use keycompat::plugin::{self, PluginImpl};
use keycompat::settings::Settings;
use keycompat::system::acme_demo_settings;
use keycompat::verdict::{Context, Validation, Version};
use keycompat_plugin_sdk::abi::*;

/// The plugin at `path`, called as a host of ABI 1.`minor` calls it.
fn open_as(path: &std::path::Path, s: &Settings, minor: u16) -> PluginImpl {
    ensure_built();
    let mut loaded = plugin::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    loaded.limit_to_minor(minor);
    PluginImpl::new(loaded, s).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn with(base: Settings, extra: &[(&str, &str)]) -> Settings {
    let mut s = base;
    s.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    s
}

#[rstest]
#[case::c_plugin(lk1_c(), "acme-lk1", &[], true)]
#[case::rust_plugin(ed1(), "acme-ed1", &[], true)]
#[case::rust_legacy_emitter(ed1(), "acme-ed1", &[("emit", "acme-lk1")], true)]
fn typed_batch_and_single_calls_answer_as_the_builtin(
    #[case] path: std::path::PathBuf,
    #[case] scheme: &str,
    #[case] extra: &[(&str, &str)],
    #[case] typed: bool,
) {
    let s = with(acme_demo_settings(scheme), extra);
    let catalog = Catalog::acme();
    let builtin = keycompat::schemes::builtin(scheme, &catalog, &s).expect("the builtin opens");
    let paths: Vec<(&str, PluginImpl)> = vec![
        ("typed", open_as(&path, &s, 2)),
        ("batch", open_as(&path, &s, 1)),
        ("single", open_as(&path, &s, 0)),
    ];
    assert_eq!(paths[0].1.plugin().typed(), typed);
    let vectors = keycompat::vectors::load_dir(&repo().join("vectors"), &catalog)
        .unwrap_or_else(|e| panic!("vectors: {e:?}"));
    let mut es: Vec<Entitlement> = entitlements(300);
    es.extend(vectors.entitlements.iter().map(|v| v.entitlement.clone()));
    let refs: Vec<&Entitlement> = es.iter().collect();
    // Keys and refused fields as the builtin gives them (the C original
    // words some refusals its own way); every path word for word alike.
    let outcome = |r: &Result<String, GenerateFailure>| match r {
        Ok(key) => Ok(key.clone()),
        Err(GenerateFailure::Refused { field, .. }) => Err(field.clone()),
        Err(other) => panic!("{other:?}"),
    };
    let expected = builtin.generate_batch(&refs);
    let typed_keys = paths[0].1.generate_batch(&refs);
    assert_eq!(
        typed_keys.iter().map(outcome).collect::<Vec<_>>(),
        expected.iter().map(outcome).collect::<Vec<_>>(),
        "typed: generate_batch against the builtin"
    );
    for (label, p) in &paths {
        assert_eq!(
            p.generate_batch(&refs),
            typed_keys,
            "{label}: generate_batch"
        );
        let one_by_one: Vec<_> = es.iter().map(|e| p.generate(e)).collect();
        assert_eq!(one_by_one, typed_keys, "{label}: generate");
    }
    let issued: Vec<String> = expected.iter().filter_map(|k| k.clone().ok()).collect();
    assert!(issued.len() > 100, "only {} keys issued", issued.len());
    let asked = keys_to_ask(&issued);
    let ctx = context();
    let other = Context {
        product: "acme-cloud".into(),
        version: Version { major: 9, minor: 0 },
        host_id: Some("HOST-Zoë".into()),
        ..context()
    };
    let mut requests: Vec<(&[u8], &Context)> = asked
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_slice(), if i % 5 < 2 { &ctx } else { &other }))
        .collect();
    requests.extend(vectors.keys.iter().map(|v| (v.key.as_slice(), &v.context)));
    // Verdicts, formats and decodes as the builtin gives them (a reason is
    // free text for humans, which the C original words its own way); every
    // path word for word alike.
    let judged = |answers: &[Result<Validation, CallFailure>]| -> Vec<Validation> {
        answers
            .iter()
            .map(|a| Validation {
                reason: None,
                ..a.clone().expect("answered")
            })
            .collect()
    };
    let expected = builtin.validate_batch(&requests);
    let typed_answers = paths[0].1.validate_batch(&requests);
    assert_eq!(
        judged(&typed_answers),
        judged(&expected),
        "typed: validate_batch against the builtin"
    );
    for (label, p) in &paths {
        assert_eq!(
            p.validate_batch(&requests),
            typed_answers,
            "{label}: validate_batch"
        );
        let one_by_one: Vec<_> = requests.iter().map(|(k, c)| p.validate(k, c)).collect();
        assert_eq!(one_by_one, typed_answers, "{label}: validate");
    }
    let decoded = expected
        .iter()
        .filter(|v| matches!(v, Ok(v) if v.decoded.is_some()))
        .count();
    assert!(decoded > 100, "only {decoded} keys decoded");
}

#[test]
fn the_typed_structs_have_the_headers_layout() {
    use std::mem::{align_of, offset_of, size_of};
    let ptr = size_of::<*const u8>();
    assert_eq!(size_of::<KcStr>(), 2 * ptr);
    assert_eq!(offset_of!(KcEntitlement, has), 0);
    assert_eq!(offset_of!(KcEntitlement, serial), 4);
    assert_eq!(offset_of!(KcEntitlement, seats), 8);
    assert_eq!(offset_of!(KcEntitlement, issued), 12);
    assert_eq!(offset_of!(KcEntitlement, expires), 16);
    assert_eq!(offset_of!(KcEntitlement, maintenance_until), 20);
    assert_eq!(offset_of!(KcEntitlement, max_major), 24);
    assert_eq!(offset_of!(KcEntitlement, product), 32);
    assert_eq!(offset_of!(KcEntitlement, n_features), 32 + 5 * ptr);
    assert_eq!(size_of::<KcEntitlement>(), 32 + 14 * ptr);
    assert_eq!(offset_of!(KcContext, today), 12);
    assert_eq!(offset_of!(KcContext, host_id), 16 + 2 * ptr);
    assert_eq!(offset_of!(KcValidateTypedIn, context), 2 * ptr);
    assert_eq!(offset_of!(KcValidation, carried), 8);
    assert_eq!(offset_of!(KcValidation, reason), 16 + 2 * ptr);
    assert_eq!(size_of::<KcValidation>(), 48 + 18 * ptr);
    assert_eq!(align_of::<KcValidation>(), ptr);
    assert_eq!(offset_of!(KcPluginV1, validate_typed), 24 + 10 * ptr);
    assert_eq!(KC_PLUGIN_V1_2_SIZE, 24 + 11 * ptr);
    assert_eq!(KC_ABI_MINOR, 2);
}

/// The trigger of the typed fault plugins.
const TRIGGER: usize = 5;
const N: usize = 12;

#[rstest]
#[case::string_past_its_item("typed_offset", "outside the item's")]
#[case::length_past_the_buffer("typed_length", "outside the item's")]
#[case::invalid_utf8("typed_utf8", "reason is not valid UTF-8")]
#[case::unknown_verdict("typed_verdict", "unknown verdict 42")]
#[case::impossible_date("typed_date", "outside 0000-01-01")]
#[case::lying_n_done("typed_short", "having answered")]
fn a_broken_typed_answer_fails_that_item_alone(#[case] name: &str, #[case] says: &str) {
    use crate::isolation::{fault_keys, fault_validation, settings};
    use keycompat::implementation::FailureKind;
    let p = open_as(
        &bad_table(name),
        &settings(&[("trigger", &TRIGGER.to_string())]),
        2,
    );
    assert!(p.plugin().typed());
    let keys = fault_keys(N);
    let ctx = context();
    let requests: Vec<(&[u8], &Context)> = keys.iter().map(|k| (k.as_bytes(), &ctx)).collect();
    let batch = p.validate_batch(&requests);
    // A batch of one, as the isolated worker calls each item.
    let single: Vec<_> = requests.iter().map(|(k, c)| p.validate(k, c)).collect();
    for answers in [batch, single] {
        assert_eq!(answers.len(), N);
        for (i, a) in answers.iter().enumerate() {
            if i == TRIGGER {
                let f = a.as_ref().expect_err("the triggered item");
                assert_eq!(f.kind, FailureKind::Protocol, "{f:?}");
                assert!(f.message.contains(says), "{f:?}");
            } else {
                assert_eq!(a.as_ref(), Ok(&fault_validation(i)), "item {i}");
            }
        }
    }
}
