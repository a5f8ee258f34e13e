//! ABI 1.1 batches, in-process: a plugin's batch entry points answer every
//! item exactly as its single calls do, a batch answer that breaks the
//! protocol fails that item alone, and ABI 1.0 plugins keep working.

use rstest::rstest;

use crate::common::*;
use crate::isolation::{context, entitlements, fault_keys, fault_validation, settings};
use keycompat::entitlement::Entitlement;
use keycompat::implementation::{CallFailure, FailureKind, GenerateFailure, Implementation};
use keycompat::plugin::{self, PluginImpl};
use keycompat::settings::Settings;
use keycompat::system::acme_demo_settings;
use keycompat::verdict::{Context, Verdict};

fn open(path: &std::path::Path, s: &Settings) -> PluginImpl {
    ensure_built();
    let loaded = plugin::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    PluginImpl::new(loaded, s).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Keys a validator sees: its own, each cut short, with a symbol changed,
/// lower-cased, and garbage.
pub(crate) fn keys_to_ask(own: &[String]) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    for k in own {
        keys.push(k.as_bytes().to_vec());
        keys.push(k.as_bytes()[..k.len() / 2].to_vec());
        let mut changed = k.as_bytes().to_vec();
        let last = changed.len() - 1;
        changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
        keys.push(changed);
        keys.push(k.to_lowercase().into_bytes());
    }
    keys.extend([b"".to_vec(), b"\xff\xfe".to_vec(), vec![b'x'; 20_000]]);
    keys
}

#[rstest]
#[case::c_plugin(lk1_c(), acme_demo_settings("acme-lk1"))]
#[case::rust_plugin(ed1(), acme_demo_settings("acme-ed1"))]
fn batches_answer_as_the_single_calls_do(#[case] path: std::path::PathBuf, #[case] s: Settings) {
    let p = open(&path, &s);
    assert!(p.plugin().batches(), "{} offers no batches", path.display());
    let es: Vec<Entitlement> = entitlements(300);
    let refs: Vec<&Entitlement> = es.iter().collect();
    let batch = p.generate_batch(&refs);
    let single: Vec<Result<String, GenerateFailure>> = es.iter().map(|e| p.generate(e)).collect();
    assert_eq!(batch, single);
    let issued: Vec<String> = batch.into_iter().filter_map(Result::ok).collect();
    assert!(issued.len() > 100, "only {} keys issued", issued.len());
    let keys = keys_to_ask(&issued);
    // Two contexts, alternating in runs, so shared and distinct context
    // fields are both exercised.
    let other = Context {
        product: "acme-viewer".into(),
        ..context()
    };
    let ctx = context();
    let requests: Vec<(&[u8], &Context)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_slice(), if i % 7 < 3 { &ctx } else { &other }))
        .collect();
    let batch = p.validate_batch(&requests);
    let single: Vec<Result<_, CallFailure>> =
        requests.iter().map(|(k, c)| p.validate(k, c)).collect();
    assert_eq!(batch, single);
    // Most keys decode (in these contexts: valid, or for another product
    // or version), so decodes are compared, not only verdicts.
    let decoded = batch
        .iter()
        .filter(|v| matches!(v, Ok(v) if v.decoded.is_some()))
        .count();
    assert!(decoded > 100, "only {decoded} keys decoded");
}

/// The trigger of the fault plugins' batch faults.
const TRIGGER: usize = 5;
const N: usize = 12;

#[rstest]
#[case::answer_outside_the_buffer("batch_offset", FailureKind::Protocol, "outside its")]
#[case::ok_before_the_end("batch_short", FailureKind::Protocol, "having answered 5")]
#[case::buffer_too_small_lie("batch_lie", FailureKind::Protocol, "too small for an answer of 1")]
#[case::failed_at_an_item("batch_fail", FailureKind::Internal, "fault plugin: bad argument")]
fn a_broken_batch_answer_fails_that_item_alone(
    #[case] name: &str,
    #[case] kind: FailureKind,
    #[case] says: &str,
) {
    let p = open(
        &bad_table(name),
        &settings(&[("trigger", &TRIGGER.to_string())]),
    );
    assert!(p.plugin().batches());
    let keys = fault_keys(N);
    let ctx = context();
    let requests: Vec<(&[u8], &Context)> = keys.iter().map(|k| (k.as_bytes(), &ctx)).collect();
    let answers = p.validate_batch(&requests);
    assert_eq!(answers.len(), N);
    for (i, a) in answers.iter().enumerate() {
        if i == TRIGGER {
            let f = a.as_ref().expect_err("the triggered item");
            assert_eq!(f.kind, kind, "{f:?}");
            assert!(f.message.contains(says), "{f:?}");
        } else {
            assert_eq!(a.as_ref(), Ok(&fault_validation(i)), "item {i}");
        }
    }
    let es = entitlements(N);
    let refs: Vec<&Entitlement> = es.iter().collect();
    let answers = p.generate_batch(&refs);
    for (i, a) in answers.iter().enumerate() {
        if i == TRIGGER {
            let Err(GenerateFailure::Failed(f)) = a else {
                panic!("the triggered item: {a:?}");
            };
            assert_eq!(f.kind, kind, "{f:?}");
            assert!(f.message.contains(says), "{f:?}");
        } else {
            assert_eq!(a.as_deref(), Ok(format!("K-{i}").as_str()), "item {i}");
        }
    }
}

/// A count beyond the batch makes every answer of the call untrustworthy.
#[test]
fn a_batch_claiming_more_answers_than_items_fails_them_all() {
    let p = open(&bad_table("batch_over"), &settings(&[("trigger", "5")]));
    let keys = fault_keys(N);
    let ctx = context();
    let requests: Vec<(&[u8], &Context)> = keys.iter().map(|k| (k.as_bytes(), &ctx)).collect();
    for a in p.validate_batch(&requests) {
        let f = a.expect_err("no answer is kept");
        assert_eq!(f.kind, FailureKind::Protocol);
        assert!(
            f.message.contains(&format!(
                "said it answered {} items of a batch of {N}",
                N + 5
            )),
            "{f:?}"
        );
    }
    // Without the trigger in the batch, the same plugin answers.
    let fine: Vec<(&[u8], &Context)> = requests[..TRIGGER].to_vec();
    for (i, a) in p.validate_batch(&fine).into_iter().enumerate() {
        assert_eq!(a, Ok(fault_validation(i)));
    }
}

/// The batch output buffer grows as items ask: answers far larger than
/// the first buffer come back whole.
#[test]
fn batch_outputs_larger_than_the_buffer_come_back_whole() {
    let p = open(&ed1(), &acme_demo_settings("acme-ed1"));
    // Keys of 16 KiB are malformed (too long) and their decode quotes part
    // of them; many of them overflow any first buffer.
    let long: Vec<Vec<u8>> = (0..40).map(|i| vec![b'a' + (i % 26) as u8; 9000]).collect();
    let ctx = context();
    let requests: Vec<(&[u8], &Context)> = long.iter().map(|k| (k.as_slice(), &ctx)).collect();
    let batch = p.validate_batch(&requests);
    let single: Vec<_> = requests.iter().map(|(k, c)| p.validate(k, c)).collect();
    assert_eq!(batch, single);
    assert!(
        batch
            .iter()
            .all(|v| matches!(v, Ok(v) if v.verdict == Verdict::Malformed))
    );
}

/// A plugin built against ABI 1.0 (minor 0, a table ending at
/// `last_error`) loads, is called one item at a time, and `plugin
/// inspect` says so.
#[test]
fn an_abi_1_0_plugin_keeps_working() {
    let path = profile_dir().join("test-plugins/libnot_thread_safe.so");
    let p = open(&path, &Settings::new());
    assert!(!p.plugin().batches());
    assert_eq!(p.plugin().abi, (1, 0));
    let ctx = context();
    let requests: Vec<(&[u8], &Context)> = vec![(b"a", &ctx), (b"b", &ctx), (b"c", &ctx)];
    for a in p.validate_batch(&requests) {
        assert_eq!(a.expect("answered").verdict, Verdict::Malformed);
    }
    let out = run(&["plugin", "inspect", path.to_str().unwrap()], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("abi:          1.0 (struct_size"), "{text}");
    assert!(!text.contains("batch"), "{text}");
    let out = run(&["plugin", "inspect", lk1_c().to_str().unwrap()], b"");
    assert!(
        stdout(&out).contains("abi:          1.2"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains(", batch, typed"), "{}", stdout(&out));
}
