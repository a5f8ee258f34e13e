//! The acme-lk1 defects: `feature-bit-moved`, `case-sensitive`,
//! `mac-wrong-bytes`, `seats-wrapped`, `host-lock-dropped`, `date-epoch`,
//! `reserved-ignored`, `last-bit-unread`.

use keycompat::catalog::Catalog;
use keycompat::forgery::Pick;
use keycompat::schemes::lk1::{Lk1, format_symbols};
use keycompat::verdict::{Field, Verdict};

use super::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The old system, and the new one issuing acme-lk1 wherever it can.
const LK1_ISSUERS: [(&str, &[(&str, &str)]); 2] = [("acme-lk1", &[]), ("acme-ed1", &[])];

fn with_pdm() -> Entitlement {
    with(cad(), |e| {
        e.features.insert("pdm".into());
    })
}

#[test]
fn feature_bit_moved_round_trips_alone_and_swaps_pdm_for_simulation_elsewhere() {
    for (scheme, overrides) in LK1_ISSUERS {
        let pair = Pair::new(scheme, "feature-bit-moved", overrides);
        let e = with_pdm();
        let (ours, theirs) = (pair.defective_key(&e), pair.builtin_key(&e));
        assert_ne!(ours, theirs);
        let ctx = at(&e, "2026-12-01");
        let own = pair.defective_says(&ours, &ctx);
        assert!(valid(&own));
        assert_eq!(
            own,
            pair.builtin_says(&theirs, &ctx),
            "its own round trip passes"
        );
        for elsewhere in [
            pair.builtin_says(&ours, &ctx),
            pair.defective_says(&theirs, &ctx),
        ] {
            assert!(valid(&elsewhere));
            assert_eq!(differing(&own, &elsewhere), [Field::Features]);
            let features = elsewhere
                .decoded
                .and_then(|d| d.features)
                .unwrap_or_default();
            assert!(features.contains("simulation") && !features.contains("pdm"));
        }
    }
}

#[test]
fn feature_bit_moved_leaves_acme_ed1_keys_alone() {
    let pair = Pair::new("acme-ed1", "feature-bit-moved", &[("emit", "acme-ed1")]);
    pair.assert_same_issue(&with_pdm());
}

#[test]
fn case_sensitive_rejects_lower_case_keys_only() {
    for (scheme, overrides) in LK1_ISSUERS {
        let pair = Pair::new(scheme, "case-sensitive", overrides);
        let key = pair.builtin_key(&cad());
        let ctx = at(&cad(), "2026-12-01");
        let lower_cased = [
            key.to_lowercase(),
            key.replace('0', "o"),
            key.replace('1', "l"),
        ];
        for lower in lower_cased.into_iter().filter(|k| *k != key) {
            assert!(valid(&pair.builtin_says(&lower, &ctx)), "{lower}");
            let v = pair.defective_says(&lower, &ctx);
            assert_eq!((v.verdict, v.format), (Verdict::Malformed, None), "{lower}");
        }
        let folded_upper = [
            key.replace('0', "O"),
            key.replace('1', "I"),
            key.replace('-', " "),
            format!(" {}\r\n", key.replace('-', "")),
        ];
        for upper in folded_upper {
            pair.assert_same_validation(&upper, &ctx);
        }
    }
}

#[test]
fn mac_wrong_bytes_changes_only_the_mac() {
    for (scheme, overrides) in LK1_ISSUERS {
        let pair = Pair::new(scheme, "mac-wrong-bytes", overrides);
        let e = cad();
        let (ours, theirs) = (pair.defective_key(&e), pair.builtin_key(&e));
        // 17 symbols of payload, then 8 of MAC.
        let symbols = |k: &str| k.replace('-', "");
        let (ours, theirs) = (symbols(&ours), symbols(&theirs));
        assert_eq!(ours[..17], theirs[..17]);
        assert_ne!(ours[17..], theirs[17..]);
        let ctx = at(&e, "2026-12-01");
        assert_eq!(
            pair.defective_says(&ours, &ctx),
            pair.builtin_says(&theirs, &ctx)
        );
        for crossed in [
            pair.builtin_says(&ours, &ctx),
            pair.defective_says(&theirs, &ctx),
        ] {
            assert_eq!(crossed.verdict, Verdict::BadSignature);
        }
        let expired = at(&e, "2028-01-01");
        assert_eq!(
            pair.defective_says(&ours, &expired),
            pair.builtin_says(&theirs, &expired)
        );
        pair.assert_same_issue(&cloud());
    }
}

#[test]
fn mac_wrong_bytes_differs_from_the_spec_by_the_prefix_alone() {
    let secret = acme_demo_settings("acme-lk1")["secret"].clone();
    let codec = Lk1::new(&Catalog::acme(), secret.as_bytes()).unwrap();
    let payload = codec.payload_for(&cad().view()).unwrap().pack();
    let message = [b"ACME-LK1".as_slice(), &payload.to_be_bytes()[5..]].concat();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&message);
    let tag = mac.finalize().into_bytes()[..5]
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
    let spec_key = format_symbols((payload << 40) | tag);
    assert_eq!(spec_key, codec.encode(&cad()).unwrap());
}

#[test]
fn seats_wrapped_issues_what_should_be_refused_with_seats_mod_1024() {
    let cases = [
        (1500, Some(476)),
        (1024, None),
        (2047, Some(1023)),
        (100_000, Some(672)),
    ];
    for (seats, wrapped) in cases {
        let e = with(cad(), |e| e.seats = Some(seats));
        for (scheme, overrides) in SYSTEMS.into_iter().take(3) {
            let pair = Pair::new(scheme, "seats-wrapped", overrides);
            let key = pair.defective_key(&e);
            assert!(!is_acme_ed1(&key), "{key}");
            let ctx = at(&e, "2026-12-01");
            for v in [
                pair.defective_says(&key, &ctx),
                pair.builtin_says(&key, &ctx),
            ] {
                assert!(valid(&v));
                assert_eq!(v.decoded.and_then(|d| d.seats), Some(wrapped), "{seats}");
            }
            match pair.builtin.generate(&e) {
                Ok(spec) => assert!(is_acme_ed1(&spec), "the spec falls back to acme-ed1"),
                refused => assert_eq!(refused_field(refused), Some("seats".into())),
            }
        }
    }
}

#[test]
fn seats_wrapped_keeps_the_other_refusals() {
    let pair = Pair::new("acme-lk1", "seats-wrapped", &[]);
    for (e, field) in [
        (with(cloud(), |e| e.seats = Some(1500)), "product"),
        (
            with(cad(), |e| {
                e.seats = Some(1500);
                e.host_id = Some("H-1".into());
            }),
            "host_id",
        ),
    ] {
        pair.assert_same_issue(&with(e.clone(), |e| e.seats = Some(10)));
        assert_eq!(
            refused_field(pair.defective.generate(&e)),
            Some(field.into())
        );
    }
    pair.assert_same_issue(&with(cad(), |e| e.seats = Some(1023)));
}

#[test]
fn last_bit_unread_loses_bit_15s_feature_in_decode_only() {
    for (scheme, overrides) in LK1_ISSUERS {
        let pair = Pair::new(scheme, "last-bit-unread", overrides);
        let e = with(cad(), |e| {
            e.features.insert("priority-support".into());
        });
        let key = pair.defective_key(&e);
        assert_eq!(key, pair.builtin_key(&e), "{scheme}: issuing is the spec's");
        let ctx = at(&e, "2026-12-01");
        let (spec, ours) = (
            pair.builtin_says(&key, &ctx),
            pair.defective_says(&key, &ctx),
        );
        assert!(valid(&ours), "{scheme}");
        assert_eq!(differing(&spec, &ours), [Field::Features], "{scheme}");
        let features = ours.decoded.and_then(|d| d.features).unwrap_or_default();
        assert!(
            !features.contains("priority-support"),
            "{scheme}: {features:?}"
        );
        assert!(
            features.is_superset(&cad().features),
            "{scheme}: {features:?}"
        );
    }
}

#[test]
fn host_lock_dropped_issues_an_unlocked_key_for_a_locked_entitlement() {
    let locked = with(cad(), |e| e.host_id = Some("H-1".into()));
    let elsewhere = Context {
        host_id: Some("H-2".into()),
        ..at(&locked, "2026-12-01")
    };
    for (scheme, overrides) in SYSTEMS.into_iter().take(3) {
        let pair = Pair::new(scheme, "host-lock-dropped", overrides);
        let key = pair.defective_key(&locked);
        assert_eq!(
            key,
            pair.builtin_key(&cad()),
            "the key of the unlocked license"
        );
        let v = pair.defective_says(&key, &elsewhere);
        assert!(valid(&v), "works on any host");
        assert_eq!(v.decoded.and_then(|d| d.host_id), Some(None));
        match pair.builtin.generate(&locked) {
            Ok(spec) => {
                assert!(is_acme_ed1(&spec));
                assert_eq!(
                    pair.builtin_says(&spec, &elsewhere).verdict,
                    Verdict::HostMismatch
                );
            }
            refused => assert_eq!(refused_field(refused), Some("host_id".into())),
        }
    }
}

#[test]
fn date_epoch_is_self_consistent_and_one_day_late_elsewhere() {
    for (scheme, overrides) in LK1_ISSUERS {
        let pair = Pair::new(scheme, "date-epoch", overrides);
        let e = cad();
        let (ours, theirs) = (pair.defective_key(&e), pair.builtin_key(&e));
        assert_ne!(ours, theirs);
        let expires = |v: Validation| v.decoded.and_then(|d| d.expires).flatten();
        let last_day = at(&e, "2027-12-31");
        let own = pair.defective_says(&ours, &last_day);
        assert!(valid(&own));
        assert_eq!(
            own,
            pair.builtin_says(&theirs, &last_day),
            "its own round trip passes"
        );
        let after = at(&e, "2028-01-01");
        assert_eq!(pair.defective_says(&ours, &after).verdict, Verdict::Expired);
        assert_eq!(
            expires(pair.builtin_says(&ours, &last_day)),
            Some(day("2027-12-30"))
        );
        assert_eq!(
            pair.builtin_says(&ours, &last_day).verdict,
            Verdict::Expired
        );
        let old_key = pair.defective_says(&theirs, &after);
        assert!(valid(&old_key), "an old key lives a day too long");
        assert_eq!(expires(old_key), Some(day("2028-01-01")));
    }
}

#[test]
fn date_epoch_moves_the_range_of_expiries_it_can_carry() {
    let pair = Pair::new("acme-lk1", "date-epoch", &[]);
    let first = with(cad(), |e| e.expires = Some(day("2000-01-02")));
    let after_last = with(cad(), |e| e.expires = Some(day("2044-11-09")));
    assert!(pair.builtin.generate(&first).is_ok());
    assert_eq!(
        refused_field(pair.defective.generate(&first)),
        Some("expires".into())
    );
    assert_eq!(
        refused_field(pair.builtin.generate(&after_last)),
        Some("expires".into())
    );
    let key = pair.defective_key(&after_last);
    let v = pair.builtin_says(&key, &at(&after_last, "2030-01-01"));
    assert_eq!(
        v.decoded.and_then(|d| d.expires),
        Some(Some(day("2044-11-08")))
    );
}

#[test]
fn reserved_ignored_accepts_forged_reserved_bits_and_nothing_else() {
    for (scheme, overrides) in LK1_ISSUERS {
        let pair = Pair::new(scheme, "reserved-ignored", overrides);
        let e = cad();
        let key = pair.builtin_key(&e);
        let ctx = at(&e, "2026-12-01");
        let genuine = pair.builtin_says(&key, &ctx);
        assert!(valid(&genuine));
        let forgeries = pair.builtin.forgeries(&key, Pick::All);
        let reserved: Vec<_> = forgeries
            .iter()
            .filter(|f| f.family.starts_with("forged reserved="))
            .collect();
        assert_eq!(reserved.len(), 3);
        for f in &forgeries {
            let spec = pair.builtin_says(&f.key, &ctx);
            assert_eq!(spec.verdict, f.verdict, "{}", f.family);
            let ours = pair.defective_says(&f.key, &ctx);
            if reserved.contains(&f) {
                assert_eq!(spec.verdict, Verdict::Malformed);
                assert_eq!(ours, genuine, "{}: judged as the genuine key", f.family);
            } else {
                assert_eq!(ours, spec, "{}", f.family);
            }
        }
        // Reserved bits with a wrong MAC are still a bad signature.
        let broken = format!("{}0", &reserved[0].key[..reserved[0].key.len() - 1]);
        if broken != reserved[0].key {
            pair.assert_same_validation(&broken, &ctx);
        }
    }
}
