use std::collections::BTreeSet;
use std::time::Instant;

use rstest::rstest;

use super::*;
use crate::catalog::Catalog;
use crate::check::Release;
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::random::Generator;
use crate::verdict::Verdict;
use crate::verdict::Version;

fn release(name: &str, product: &str, validator: &str) -> Release {
    Release {
        name: name.into(),
        product: product.into(),
        version: Version { major: 1, minor: 0 },
        validator: validator.into(),
        features: None,
    }
}

/// The Acme demo's releases and validators (keycompat.toml).
fn acme_space() -> CoverageSpace {
    let releases = [
        release("Acme CAD 5.4", "acme-cad", "old"),
        release("Acme CAD 6.2", "acme-cad", "old"),
        release("Acme CAD 7.0", "acme-cad", "new"),
        release("Acme Viewer 3.1", "acme-viewer", "old"),
        release("Acme Simulate 2.0", "acme-sim", "old"),
        release("Acme Cloud 1.0", "acme-cloud", "new"),
    ];
    CoverageSpace::new(
        &Catalog::acme(),
        &releases,
        &["old".to_string(), "new".to_string()],
    )
}

fn generator() -> Generator {
    Generator::new(1, Catalog::acme(), vec![5, 6, 7, 3, 2, 1])
}

fn observe(space: &CoverageSpace, range: std::ops::Range<u64>) -> Coverage {
    let g = generator();
    let mut c = Coverage::default();
    for i in range {
        c.observe_entitlement(space, &g.entitlement(i));
    }
    c
}

fn dimension(report: &CoverageReport, d: Dimension) -> &DimensionCoverage {
    report.dimensions.iter().find(|x| x.dimension == d).unwrap()
}

#[rstest]
#[case(Dimension::ProductEdition, 16)]
#[case(Dimension::Feature, 19)]
#[case(Dimension::Release, 6)]
#[case(Dimension::Seats, 7)]
#[case(Dimension::Expiry, 6)]
#[case(Dimension::Maintenance, 4)]
#[case(Dimension::NodeLock, 2)]
#[case(Dimension::ValidatorVerdict, 16)]
#[case(Dimension::ProductSeats, 28)]
#[case(Dimension::ProductExpiry, 24)]
#[case(Dimension::ProductNodeLock, 8)]
#[case(Dimension::EditionSeats, 28)]
#[case(Dimension::EditionExpiry, 24)]
#[case(Dimension::EditionNodeLock, 8)]
#[case(Dimension::SeatsExpiry, 42)]
#[case(Dimension::SeatsNodeLock, 14)]
#[case(Dimension::ExpiryNodeLock, 12)]
fn totals_of_the_acme_space(#[case] d: Dimension, #[case] total: usize) {
    let space = acme_space();
    assert_eq!(space.total(d), total);
    let report = space.report(&Coverage::default());
    let r = dimension(&report, d);
    assert_eq!((r.covered, r.total), (0, total as u64));
    assert_eq!(r.uncovered.len() as u64 + r.uncovered_more, total as u64);
}

#[test]
fn dimensions_are_declared_in_report_order() {
    for (i, d) in Dimension::ALL.into_iter().enumerate() {
        assert_eq!(d as usize, i, "{d:?}");
    }
}

#[test]
fn the_whole_acme_space_has_264_values() {
    let report = acme_space().report(&Coverage::default());
    assert_eq!(report.total, 264);
    assert_eq!(report.dimensions.len(), Dimension::ALL.len());
}

#[test]
fn labels_name_both_sides_of_a_pair() {
    let space = acme_space();
    assert_eq!(
        space.label(Dimension::ProductEdition, 3),
        "acme-cad × enterprise"
    );
    assert_eq!(space.label(Dimension::Seats, 3), "seats 11–1000");
    assert_eq!(
        space.label(Dimension::ValidatorVerdict, 8 + 6),
        "new → expired"
    );
    assert_eq!(
        space.label(Dimension::SeatsNodeLock, 1),
        "seats unlimited × node-locked"
    );
    assert_eq!(space.label(Dimension::Feature, 99), "");
}

#[test]
fn random_cases_cover_the_entitlement_space_plausibly() {
    let space = acme_space();
    let report = space.report(&observe(&space, 0..2000));
    assert_eq!(report.entitlements, 2000);
    for d in [
        Dimension::ProductEdition,
        Dimension::Feature,
        Dimension::Seats,
        Dimension::NodeLock,
        Dimension::ProductNodeLock,
        Dimension::EditionSeats,
    ] {
        let r = dimension(&report, d);
        assert_eq!(r.covered, r.total, "{}: {:?}", r.name, r.uncovered);
    }
    for d in [Dimension::Release, Dimension::ValidatorVerdict] {
        assert_eq!(dimension(&report, d).covered, 0, "nothing reported yet");
    }
    // The generator (almost) never expires a key before 2000-01-02, so that
    // column stays honestly uncovered; most other pairs are hit.
    let pairs = dimension(&report, Dimension::SeatsExpiry);
    assert!(pairs.covered * 10 >= pairs.total * 7, "{pairs:?}");
}

#[test]
fn releases_and_verdicts_count_by_name() {
    let space = acme_space();
    let mut c = Coverage::default();
    c.observe_release("Acme CAD 7.0");
    c.observe_release("Acme CAD 7.0");
    c.observe_release("Acme CAD 9.9"); // not in the space: kept, not reported
    c.observe_verdict("new", Verdict::Expired);
    c.observe_verdict("nobody", Verdict::Valid);
    assert_eq!(space.count(&c, Dimension::Release, 2), 2);
    assert_eq!(space.count(&c, Dimension::ValidatorVerdict, 8 + 6), 1);
    let report = space.report(&c);
    assert_eq!(dimension(&report, Dimension::Release).covered, 1);
    assert_eq!(dimension(&report, Dimension::ValidatorVerdict).covered, 1);
}

fn observe_all(space: &CoverageSpace, range: std::ops::Range<u64>) -> Coverage {
    let mut c = observe(space, range.clone());
    for i in range {
        c.observe_verdict(["old", "new"][i as usize % 2], Verdict::ALL[i as usize % 8]);
        if i.is_multiple_of(7) {
            c.observe_release(["Acme CAD 5.4", "Acme Cloud 1.0"][i as usize % 2]);
        }
    }
    c
}

#[test]
fn merging_shards_equals_one_run_in_any_order() {
    let space = acme_space();
    let whole = observe_all(&space, 0..600);
    let (a, b, c) = (
        observe_all(&space, 0..250),
        observe_all(&space, 250..251),
        observe_all(&space, 251..600),
    );
    let mut ab_c = a.clone();
    ab_c.merge(b.clone());
    ab_c.merge(c.clone());
    let mut c_ba = c.clone();
    let mut ba = b.clone();
    ba.merge(a.clone());
    c_ba.merge(ba);
    let mut empty_first = Coverage::default();
    empty_first.merge(ab_c.clone());
    empty_first.merge(Coverage::default());
    assert_eq!(ab_c, whole);
    assert_eq!(c_ba, whole);
    assert_eq!(empty_first, whole);
}

#[test]
fn coverage_and_report_round_trip_through_json() {
    let space = acme_space();
    let c = observe_all(&space, 0..300);
    let text = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Coverage>(&text).unwrap(), c);
    assert_eq!(serde_json::to_string(&c.clone()).unwrap(), text);
    let report = space.report(&c);
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(
        serde_json::from_str::<CoverageReport>(&json).unwrap(),
        report
    );
    assert!(text.contains(r#""product_edition":["#), "{text}");
    assert!(text.contains(r#""expired":"#), "{text}");
}

#[test]
fn corrupt_coverage_never_panics() {
    let space = acme_space();
    let c: Coverage =
        serde_json::from_str(r#"{"values":{"seats":[1,2,3,4,5,6,7,8,9,10],"feature":[]}}"#)
            .unwrap();
    let report = space.report(&c);
    assert_eq!(dimension(&report, Dimension::Seats).covered, 7);
    assert!(!space.targets(&c).is_empty());
    assert!(serde_json::from_str::<Coverage>(r#"{"values":{"colour":[1]}}"#).is_err());
}

#[test]
fn entitlements_outside_the_catalog_are_counted_where_they_can_be() {
    let space = acme_space();
    let mut e = generator().entitlement(0);
    e.product = "acme-paint".into();
    e.edition = "gold".into();
    e.features = BTreeSet::from(["teleport".to_string()]);
    let mut c = Coverage::default();
    c.observe_entitlement(&space, &e);
    let report = space.report(&c);
    assert_eq!(dimension(&report, Dimension::ProductEdition).covered, 0);
    assert_eq!(dimension(&report, Dimension::Feature).covered, 0);
    assert_eq!(dimension(&report, Dimension::Seats).covered, 1);
    assert_eq!(dimension(&report, Dimension::SeatsExpiry).covered, 1);
}

#[test]
fn targets_exclude_releases_and_verdicts_and_come_sorted() {
    let space = acme_space();
    let targets = space.targets(&Coverage::default());
    let entitlement_values: usize = Dimension::ALL
        .into_iter()
        .filter(|d| !matches!(d, Dimension::Release | Dimension::ValidatorVerdict))
        .map(|d| space.total(d))
        .sum();
    assert_eq!(targets.len(), entitlement_values);
    assert!(targets.windows(2).all(|w| w[0] < w[1]));
    let covered = observe(&space, 0..2000);
    assert!(space.targets(&covered).len() < targets.len() / 4);
}

/// The key property: steering any random entitlement into any target gives
/// a valid entitlement that is then observed on that target.
#[test]
fn every_target_is_reached_by_steering_and_stays_valid() {
    let space = acme_space();
    let catalog = Catalog::acme();
    let g = generator();
    for target in space.targets(&Coverage::default()) {
        for i in 0..40u64 {
            let mut e = g.entitlement(i);
            target.steer(&mut e, i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            check_lands(&space, &catalog, &target, &e);
        }
    }
}

fn check_lands(space: &CoverageSpace, catalog: &Catalog, target: &Target, e: &Entitlement) {
    e.check(catalog)
        .unwrap_or_else(|err| panic!("{}: {err}: {e}", target.label));
    let mut c = Coverage::default();
    c.observe_entitlement(space, e);
    assert!(
        space.count(&c, target.dimension, target.value) > 0,
        "{} not reached: {e}",
        target.label
    );
}

#[rstest]
#[case::first_day("0000-01-01", None, None)]
#[case::last_day("9999-12-31", Some("9999-12-31"), Some("9999-12-31"))]
#[case::before_lk1("1999-12-31", Some("2000-01-01"), None)]
#[case::on_2038("2038-01-19", Some("2038-01-19"), Some("2037-01-01"))]
fn steering_from_edge_dates_stays_valid(
    #[case] issued: &str,
    #[case] expires: Option<&str>,
    #[case] maintenance: Option<&str>,
) {
    let space = acme_space();
    let catalog = Catalog::acme();
    let mut start = generator().entitlement(3);
    start.issued = Day::parse(issued).unwrap();
    start.expires = expires.map(|d| Day::parse(d).unwrap());
    start.maintenance_until = maintenance.map(|d| Day::parse(d).unwrap());
    start.check(&catalog).unwrap();
    for target in space.targets(&Coverage::default()) {
        for r in [0, 1, 2, 3, u64::MAX, 0x1234_5678_9ABC_DEF0] {
            let mut e = start.clone();
            target.steer(&mut e, r);
            check_lands(&space, &catalog, &target, &e);
        }
    }
}

#[test]
fn steering_is_deterministic_and_minimal() {
    let space = acme_space();
    let target = space
        .targets(&Coverage::default())
        .into_iter()
        .find(|t| t.label == "acme-sim × seats 1001–1023")
        .unwrap();
    let start = generator().entitlement(11);
    let (mut a, mut b) = (start.clone(), start.clone());
    target.steer(&mut a, 42);
    target.steer(&mut b, 42);
    assert_eq!(a, b);
    assert_eq!(a.product, "acme-sim");
    assert!((1001..=1023).contains(&a.seats.unwrap()));
    let untouched = Entitlement {
        product: start.product.clone(),
        seats: start.seats,
        ..a.clone()
    };
    assert_eq!(untouched, start);
}

#[test]
fn markdown_lists_every_dimension_and_escapes_cells() {
    let releases = [release("Acme | Pipe 1.0", "acme-cad", "old")];
    let space = CoverageSpace::new(&Catalog::acme(), &releases, &["old".to_string()]);
    let text = render_markdown(&space.report(&Coverage::default()));
    assert!(text.starts_with("| dimension | covered | total | % | first uncovered |\n"));
    assert!(
        text.contains("| release | 0 | 1 | 0.00 | Acme \\| Pipe 1.0 |"),
        "{text}"
    );
    assert!(text.contains("| seats class | 0 | 7 | 0.00 | seats unlimited (+6 more) |"));
    assert_eq!(text.lines().count(), 2 + Dimension::ALL.len() + 1);
}

#[test]
fn percent_never_rounds_up_to_full() {
    assert_eq!(report::percent(9999, 10000), 99.99);
    assert_eq!(report::percent(99999, 100000), 99.99);
    assert_eq!(report::percent(0, 0), 100.0);
}

/// A rough cost of `observe_entitlement`; run with
/// `cargo test --release --lib coverage -- --ignored --nocapture`.
#[test]
#[ignore]
fn observe_cost() {
    let space = acme_space();
    let g = generator();
    // Cold: entitlements spread over memory; warm: a few, as on the hot path
    // (where the case was just generated).
    for (n, reps) in [(10_000, 20), (100, 2_000)] {
        let cases: Vec<Entitlement> = (0..n).map(|i| g.entitlement(i)).collect();
        let mut c = Coverage::default();
        let start = Instant::now();
        for _ in 0..reps {
            for e in &cases {
                c.observe_entitlement(&space, e);
            }
        }
        let per = start.elapsed() / (n * reps) as u32;
        println!("observe_entitlement over {n} cases: {per:?} per entitlement");
        assert_eq!(c.entitlements(), n * reps);
    }
    let report = space.report(&observe(&space, 0..2000));
    println!("{}", render_markdown(&report));
    let start = Instant::now();
    let n = space.targets(&observe(&space, 0..2000)).len();
    println!("{n} targets after 2000 cases ({:?})", start.elapsed());
}
