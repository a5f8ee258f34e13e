//! The acme-ed1 defects: `lax-signature`, `crash-long-name`,
//! `version-ignored`, `payload-ascii-escaped`.

use std::panic;

use keycompat::forgery::Pick;
use keycompat::schemes::ed1::Ed1;

use super::*;

/// A codec signing with RFC 8032 TEST 3, a key the demo does not trust,
/// under `kid`: what an attacker has.
fn forger(kid: &str) -> Ed1 {
    let settings: Settings = [
        (
            "signing_key",
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        ),
        ("kid", kid),
        (
            "trusted_keys",
            &format!("{kid}:fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Ed1::from_settings(&Catalog::acme(), &settings).unwrap()
}

/// `key` with the first symbol of its signature changed (still canonical).
fn with_bad_signature(key: &str) -> String {
    let dot = key.find('.').unwrap();
    let flipped = if &key[dot + 1..dot + 2] == "A" {
        "B"
    } else {
        "A"
    };
    format!("{}.{flipped}{}", &key[..dot], &key[dot + 2..])
}

fn lax() -> Pair {
    Pair::new("acme-ed1", "lax-signature", &[("emit", "acme-ed1")])
}

#[test]
fn lax_signature_accepts_a_changed_signature() {
    let pair = lax();
    let e = cad();
    let key = pair.builtin_key(&e);
    let ctx = at(&e, "2026-12-01");
    let broken = with_bad_signature(&key);
    assert_eq!(
        pair.builtin_says(&broken, &ctx).verdict,
        Verdict::BadSignature
    );
    assert_eq!(
        pair.defective_says(&broken, &ctx),
        pair.builtin_says(&key, &ctx)
    );
}

#[test]
fn lax_signature_accepts_a_forgery_under_any_trusted_kid() {
    let pair = lax();
    let forged = with(cad(), |e| {
        e.seats = None;
        e.edition = "enterprise".into();
    });
    let ctx = at(&forged, "2026-12-01");
    for kid in ["acme-demo-2026", "acme-demo-2025"] {
        let key = forger(kid).encode(&forged).unwrap();
        assert_eq!(pair.builtin_says(&key, &ctx).verdict, Verdict::BadSignature);
        let v = pair.defective_says(&key, &ctx);
        assert!(valid(&v), "{kid}: {v:?}");
        assert_eq!(v.decoded, Some(Decoded::from_entitlement(&forged)));
    }
}

#[test]
fn lax_signature_keeps_every_other_step() {
    let pair = lax();
    let ctx = at(&cad(), "2026-12-01");
    let untrusted_kid = forger("attacker").encode(&cad()).unwrap();
    let v = pair.defective_says(&untrusted_kid, &ctx);
    assert_eq!(v.verdict, Verdict::UnsupportedFormat);
    let not_json = forger("acme-demo-2026").sign_payload(b"not json").unwrap();
    assert_eq!(
        pair.defective_says(&not_json, &ctx).verdict,
        Verdict::Malformed
    );
    let expired = forger("acme-demo-2026").encode(&cad()).unwrap();
    let v = pair.defective_says(&expired, &at(&cad(), "2028-01-01"));
    assert_eq!(v.verdict, Verdict::Expired);
    let key = pair.builtin_key(&cad());
    let short_signature = format!("{}AAA=", &key[..key.find('.').unwrap() + 1]);
    pair.assert_same_validation(&short_signature, &ctx);
    let legacy = Pair::new("acme-ed1", "lax-signature", &[("emit", "acme-lk1")]);
    let lk1 = legacy.builtin_key(&cad());
    let lk1_tampered = format!("{}0", &lk1[..lk1.len() - 1]);
    legacy.assert_same_validation(&lk1_tampered, &ctx);
}

fn named(length: usize) -> Entitlement {
    with(cloud(), |e| {
        e.customer = Some(Customer {
            id: "C-1".into(),
            name: "ö".repeat(length / 2) + &"x".repeat(length % 2),
        })
    })
}

#[test]
fn crash_long_name_panics_past_64_bytes_when_issuing_acme_ed1() {
    let pair = Pair::new("acme-ed1", "crash-long-name", &[]);
    assert_eq!(named(64).customer.unwrap().name.len(), 64);
    pair.assert_same_issue(&named(64));
    for length in [65, 66, 1000] {
        let e = named(length);
        let crashed = panic::catch_unwind(panic::AssertUnwindSafe(|| pair.defective.generate(&e)));
        let message = crashed.unwrap_err();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("out of range for slice of length 64"),
            "{message}"
        );
    }
}

#[test]
fn crash_long_name_never_fires_on_the_acme_lk1_path() {
    let pair = Pair::new("acme-ed1", "crash-long-name", &[]);
    let long_name_on_lk1 = with(named(1000), |e| {
        e.product = "acme-cad".into();
        e.features.clear();
    });
    let key = pair.defective_key(&long_name_on_lk1);
    assert!(!is_acme_ed1(&key));
    pair.assert_same_issue(&long_name_on_lk1);
    pair.assert_same_validation(&key, &at(&long_name_on_lk1, "2026-12-01"));
}

fn version_blind() -> Pair {
    Pair::new("acme-ed1", "version-ignored", &[("emit", "acme-ed1")])
}

#[test]
fn version_ignored_accepts_any_v_and_nothing_else() {
    let pair = version_blind();
    let e = cad();
    let key = pair.builtin_key(&e);
    let ctx = at(&e, "2026-12-01");
    let genuine = pair.builtin_says(&key, &ctx);
    assert!(valid(&genuine));
    let mut accepted = Vec::new();
    for f in pair.builtin.forgeries(&key, Pick::All) {
        let spec = pair.builtin_says(&f.key, &ctx);
        assert_eq!(spec.verdict, f.verdict, "{}", f.family);
        let ours = pair.defective_says(&f.key, &ctx);
        match f.family {
            "forged v=2" | "forged v=0" | "forged v string" | "forged v missing" => {
                assert_eq!(ours, genuine, "{}", f.family);
                accepted.push(f.family);
            }
            // `v` ignored, the unknown edition is what is left.
            "forged v=2 ed unknown" => {
                assert_eq!(
                    (spec.verdict, ours.verdict),
                    (Verdict::UnsupportedFormat, Verdict::Malformed)
                );
            }
            _ => assert_eq!(ours, spec, "{}", f.family),
        }
    }
    assert_eq!(accepted.len(), 4);
}

#[test]
fn version_ignored_still_checks_the_kid_and_the_signature() {
    let pair = version_blind();
    let e = cad();
    let ctx = at(&e, "2026-12-01");
    // Signed by the older trusted key under its own kid: `v` 2 is accepted.
    let older = Ed1::from_settings(
        &Catalog::acme(),
        &settings(
            "acme-ed1",
            &[
                (
                    "signing_key",
                    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                ),
                ("kid", "acme-demo-2025"),
            ],
        ),
    )
    .unwrap();
    let old_key = older.encode(&e).unwrap();
    let v2 = older
        .forgeries(&old_key, Pick::All)
        .into_iter()
        .find(|f| f.family == "forged v=2")
        .unwrap();
    assert_eq!(
        pair.builtin_says(&v2.key, &ctx).verdict,
        Verdict::UnsupportedFormat
    );
    assert!(valid(&pair.defective_says(&v2.key, &ctx)));
    // An attacker's key, and a kid naming the other trusted key: as the spec.
    let attacker = forger("acme-demo-2026").encode(&e).unwrap();
    pair.assert_same_validation(&attacker, &ctx);
    let mislabelled = older
        .forgeries(&old_key, Pick::All)
        .into_iter()
        .find(|f| f.family == "forged kid of another trusted key")
        .unwrap();
    pair.assert_same_validation(&mislabelled.key, &ctx);
    pair.assert_same_validation(&with_bad_signature(&v2.key), &ctx);
}

#[test]
fn payload_ascii_escaped_changes_the_bytes_of_non_ascii_keys_only() {
    let pair = Pair::new("acme-ed1", "payload-ascii-escaped", &[("emit", "acme-ed1")]);
    let e = cad();
    assert!(!e.customer.as_ref().unwrap().name.is_ascii());
    let (ours, spec) = (pair.defective_key(&e), pair.builtin_key(&e));
    assert_ne!(ours, spec, "a non-ASCII name changes the bytes");
    let ctx = at(&e, "2026-12-01");
    assert_eq!(
        pair.builtin_says(&ours, &ctx),
        pair.builtin_says(&spec, &ctx),
        "correctly signed, decoded alike"
    );
    let ascii = with(cad(), |e| e.customer = None);
    assert_eq!(pair.defective_key(&ascii), pair.builtin_key(&ascii));
}
