//! `expiry-off-by-one`, on both formats.

use super::*;

#[test]
fn expiry_off_by_one_rejects_the_last_valid_day_only() {
    for (scheme, overrides) in SYSTEMS {
        let pair = Pair::new(scheme, "expiry-off-by-one", overrides);
        let e = cad();
        let key = pair.builtin_key(&e);
        pair.assert_same_issue(&e);
        for unchanged in ["2026-01-01", "2027-12-30", "2028-01-01", "2099-01-01"] {
            pair.assert_same_validation(&key, &at(&e, unchanged));
        }
        let last_day = at(&e, "2027-12-31");
        let (ours, spec) = (
            pair.defective_says(&key, &last_day),
            pair.builtin_says(&key, &last_day),
        );
        assert!(valid(&spec));
        assert_eq!(ours.verdict, Verdict::Expired, "{scheme} {overrides:?}");
        assert_eq!((ours.format, ours.decoded), (spec.format, spec.decoded));
    }
}

#[test]
fn expiry_off_by_one_rejects_a_key_issued_on_its_last_day() {
    let pair = Pair::new("acme-ed1", "expiry-off-by-one", &[]);
    let one_day = with(cad(), |e| {
        e.issued = day("2027-12-31");
        e.expires = Some(day("2027-12-31"));
    });
    let key = pair.defective_key(&one_day);
    let today = at(&one_day, "2027-12-31");
    assert_eq!(pair.defective_says(&key, &today).verdict, Verdict::Expired);
    assert!(valid(&pair.builtin_says(&key, &today)));
}

#[test]
fn expiry_off_by_one_keeps_the_checks_before_and_after_expiry() {
    let pair = Pair::new("acme-ed1", "expiry-off-by-one", &[("emit", "acme-ed1")]);
    let locked = with(cad(), |e| e.host_id = Some("H-1".into()));
    let key = pair.builtin_key(&locked);
    let day_before_elsewhere = Context {
        host_id: Some("H-2".into()),
        ..at(&locked, "2027-12-30")
    };
    pair.assert_same_validation(&key, &day_before_elsewhere);
    for earlier in [
        Context {
            product: "acme-sim".into(),
            ..at(&locked, "2027-12-31")
        },
        Context {
            version: Version { major: 8, minor: 0 },
            ..at(&locked, "2027-12-31")
        },
    ] {
        pair.assert_same_validation(&key, &earlier);
    }
    let perpetual = with(cad(), |e| e.expires = None);
    let key = pair.builtin_key(&perpetual);
    pair.assert_same_validation(&key, &at(&perpetual, "2044-12-31"));
}
