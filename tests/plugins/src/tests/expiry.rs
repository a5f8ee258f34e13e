//! `expiry-off-by-one` and `tz-expiry`, on both formats.

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

#[test]
fn tz_expiry_moves_today_a_day_on_east_of_utc_only() {
    use crate::expiry::local_today;
    let d = day("2027-12-31");
    for east in ["Pacific/Kiritimati", ":Asia/Tokyo"] {
        assert_eq!(local_today(d, Some(east)), day("2028-01-01"), "{east}");
    }
    for same in [
        None,
        Some(""),
        Some("UTC"),
        Some("Pacific/Pago_Pago"),
        Some("Mars/Olympus"),
    ] {
        assert_eq!(local_today(d, same), d, "{same:?}");
    }
}

#[test]
fn tz_expiry_rejects_the_expiry_day_east_of_utc_and_nothing_else() {
    use crate::expiry::{local_today, rejudge, spec_is_expired};
    for (scheme, overrides) in SYSTEMS {
        let pair = Pair::new(scheme, "none", overrides);
        let e = cad();
        let key = pair.builtin_key(&e);
        // What the defect does under TZ=Pacific/Kiritimati, without setting
        // this process's TZ (the plugin reads its own).
        let in_kiritimati = |today: &str| {
            let ctx = at(&e, today);
            let local = Context {
                today: local_today(ctx.today, Some("Pacific/Kiritimati")),
                ..ctx.clone()
            };
            rejudge(pair.builtin_says(&key, &ctx), &local, spec_is_expired)
        };
        for unchanged in ["2026-11-23", "2027-12-30", "2028-01-01"] {
            assert_eq!(
                in_kiritimati(unchanged).verdict,
                pair.builtin_says(&key, &at(&e, unchanged)).verdict,
                "{scheme} {unchanged}"
            );
        }
        assert!(valid(&pair.builtin_says(&key, &at(&e, "2027-12-31"))));
        assert_eq!(
            in_kiritimati("2027-12-31").verdict,
            Verdict::Expired,
            "{scheme}"
        );
    }
}
