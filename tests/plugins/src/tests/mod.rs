//! Each defect does what it says and nothing else: on its trigger the
//! plugin's answer differs from the builtin's exactly as documented, and
//! everywhere else it is the builtin's, byte for byte.
//!
//! The tests use [`Defective`] directly; the plugin glue in `lib.rs` only
//! marshals fields. Fixtures are here, the tests of each defect next to the
//! code they test: [`legacy`], [`signed`], [`expiry`].

mod expiry;
mod legacy;
mod signed;

use std::collections::BTreeSet;

use keycompat::catalog::Catalog;
use keycompat::date::Day;
use keycompat::entitlement::{Customer, Entitlement};
use keycompat::implementation::{GenerateFailure, Implementation};
use keycompat::schemes;
use keycompat::settings::Settings;
use keycompat::system::acme_demo_settings;
use keycompat::verdict::{Context, Decoded, Field, Validation, Verdict, Version};

use crate::defect::NAMES;
use crate::system::Defective;

pub(crate) fn day(s: &str) -> Day {
    Day::parse(s).expect("a test date")
}

/// The demo settings of `scheme` with `overrides`.
fn settings(scheme: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut s = acme_demo_settings(scheme);
    s.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    s
}

/// The builtin and the same builtin with a defect, configured alike.
pub(crate) struct Pair {
    pub builtin: Box<dyn Implementation>,
    pub defective: Defective,
}

impl Pair {
    pub fn new(scheme: &str, defect: &str, overrides: &[(&str, &str)]) -> Self {
        let s = settings(scheme, overrides);
        let catalog = Catalog::acme();
        Pair {
            builtin: schemes::builtin(scheme, &catalog, &s).expect("the builtin"),
            defective: Defective::new(scheme, defect, &catalog, &s).expect("the defective"),
        }
    }

    pub fn builtin_key(&self, e: &Entitlement) -> String {
        self.builtin.generate(e).expect("the builtin issues a key")
    }

    pub fn defective_key(&self, e: &Entitlement) -> String {
        self.defective
            .generate(e)
            .expect("the defective issues a key")
    }

    pub fn builtin_says(&self, key: &str, ctx: &Context) -> Validation {
        self.builtin
            .validate(key.as_bytes(), ctx)
            .expect("builtins always answer")
    }

    pub fn defective_says(&self, key: &str, ctx: &Context) -> Validation {
        self.defective.validate(key.as_bytes(), ctx)
    }

    /// Both issue the same key, or the same refusal.
    pub fn assert_same_issue(&self, e: &Entitlement) {
        assert_eq!(
            self.defective.generate(e),
            self.builtin.generate(e),
            "{}: {e}",
            self.defective
        );
    }

    /// Both give the same validation.
    pub fn assert_same_validation(&self, key: &str, ctx: &Context) {
        assert_eq!(
            self.defective_says(key, ctx),
            self.builtin_says(key, ctx),
            "{}: {key:?} in {ctx:?}",
            self.defective
        );
    }
}

/// An Acme CAD license: no defect's trigger but its 2027-12-31 expiry.
pub(crate) fn cad() -> Entitlement {
    Entitlement {
        product: "acme-cad".into(),
        edition: "professional".into(),
        max_major: 7,
        features: ["export-dwg", "render-gpu"].map(String::from).into(),
        seats: Some(25),
        issued: day("2026-11-23"),
        expires: Some(day("2027-12-31")),
        maintenance_until: None,
        serial: 4242,
        customer: Some(Customer {
            id: "C-000042".into(),
            name: "Zoë Müller GmbH".into(),
        }),
        order_id: Some("SO-1001".into()),
        host_id: None,
    }
}

/// An Acme Cloud license: always acme-ed1, since acme-lk1 cannot carry it.
pub(crate) fn cloud() -> Entitlement {
    Entitlement {
        product: "acme-cloud".into(),
        features: ["ai-assist", "pdm"].map(String::from).into(),
        ..cad()
    }
}

/// `e` with one field changed.
pub(crate) fn with(e: Entitlement, change: impl FnOnce(&mut Entitlement)) -> Entitlement {
    let mut e = e;
    change(&mut e);
    e
}

/// The context of `e`'s product at its highest covered version, on `today`.
pub(crate) fn at(e: &Entitlement, today: &str) -> Context {
    Context {
        product: e.product.clone(),
        version: Version {
            major: u32::from(e.max_major),
            minor: 0,
        },
        today: day(today),
        host_id: e.host_id.clone(),
    }
}

/// The fields on which two decodes differ.
pub(crate) fn differing(a: &Validation, b: &Validation) -> Vec<Field> {
    let empty = Decoded::default();
    let a = a.decoded.as_ref().unwrap_or(&empty);
    let b = b.decoded.as_ref().unwrap_or(&empty);
    a.diff(b, None).into_iter().map(|d| d.field).collect()
}

pub(crate) fn is_acme_ed1(key: &str) -> bool {
    key.starts_with("key/")
}

/// Every combination of wrapped system and emit mode a defect can sit in.
pub(crate) const SYSTEMS: [(&str, &[(&str, &str)]); 4] = [
    ("acme-lk1", &[]),
    ("acme-ed1", &[]),
    ("acme-ed1", &[("emit", "acme-lk1")]),
    ("acme-ed1", &[("emit", "acme-ed1")]),
];

/// The defects that exist on a wrapped system.
fn defects_for(scheme: &str) -> impl Iterator<Item = &'static str> {
    let ed1_only = [
        "lax-signature",
        "crash-long-name",
        "version-ignored",
        "payload-ascii-escaped",
        "own-keys-unnamed",
    ];
    NAMES
        .into_iter()
        .filter(move |name| scheme == "acme-ed1" || !ed1_only.contains(name))
}

/// Entitlements that trigger no defect: perpetual or acme-ed1-only (no
/// expiry in acme-lk1), at most 1023 seats, no node lock on an acme-lk1
/// product, neither `pdm` nor `simulation` nor bit 15's feature in acme-lk1,
/// short ASCII names.
fn untriggered() -> Vec<Entitlement> {
    let all_legacy_but_swapped: BTreeSet<String> = Catalog::acme()
        .features
        .iter()
        .filter(|f| {
            f.legacy_bit.is_some_and(|b| b < 15)
                && !["pdm", "simulation"].contains(&f.slug.as_str())
        })
        .map(|f| f.slug.clone())
        .collect();
    vec![
        with(cad(), |e| e.expires = None),
        with(cad(), |e| {
            e.expires = None;
            e.seats = None;
            e.features.clear();
            e.customer = None;
        }),
        with(cad(), |e| {
            e.product = "acme-viewer".into();
            e.expires = None;
            e.seats = Some(1023);
            e.features = all_legacy_but_swapped;
            e.serial = (1 << 20) - 1;
        }),
        cloud(),
        with(cloud(), |e| e.host_id = Some("H-1".into())),
        with(cloud(), |e| e.seats = Some(5000)),
        with(cad(), |e| {
            e.expires = None;
            e.features.insert("ai-assist".into());
        }),
    ]
    .into_iter()
    .map(|e| {
        with(e, |e| {
            if let Some(c) = &mut e.customer {
                c.name = "Zoe Mueller GmbH".into();
            }
        })
    })
    .collect()
}

/// Contexts around an untriggered entitlement: its own, another product's,
/// an uncovered version, another host's.
fn contexts(e: &Entitlement) -> Vec<Context> {
    let own = at(e, "2026-12-01");
    vec![
        own.clone(),
        Context {
            product: "acme-sim".into(),
            ..own.clone()
        },
        Context {
            version: Version {
                major: 200,
                minor: 1,
            },
            ..own.clone()
        },
        Context {
            host_id: Some("H-2".into()),
            ..own
        },
    ]
}

/// Keys no implementation accepts: the same `malformed` everywhere.
const GARBAGE: [&str; 6] = [
    "",
    "KEY/",
    "24A0M-02T1K-7Y9KS-689RQ",
    "24A0M-02T1K-7Y9KS-689RQ-7B45U",
    "key/",
    "key/e30=.AAAA",
];

/// What the builtin answers for each entitlement: its key (or refusal) and
/// that key's validation in each context; computed once, compared to every
/// defect (Ed25519 is slow in debug builds).
struct Expected {
    entitlement: Entitlement,
    issued: Result<String, GenerateFailure>,
    validations: Vec<(Context, Validation)>,
}

fn expected(builtin: &dyn Implementation, entitlements: Vec<Entitlement>) -> Vec<Expected> {
    let answer = |key: &str, ctx: Context| {
        let v = builtin
            .validate(key.as_bytes(), &ctx)
            .expect("builtins answer");
        (ctx, v)
    };
    entitlements
        .into_iter()
        .map(|e| {
            let issued = builtin.generate(&e);
            let validations = match &issued {
                Ok(key) => contexts(&e).into_iter().map(|c| answer(key, c)).collect(),
                Err(_) => Vec::new(),
            };
            Expected {
                entitlement: e,
                issued,
                validations,
            }
        })
        .collect()
}

#[test]
fn untriggered_defects_issue_and_validate_like_the_builtin() {
    for (scheme, overrides) in SYSTEMS {
        let spec = Pair::new(scheme, "none", overrides).builtin;
        let expectations = expected(spec.as_ref(), untriggered());
        for defect in defects_for(scheme) {
            let d = Defective::new(
                scheme,
                defect,
                &Catalog::acme(),
                &settings(scheme, overrides),
            )
            .expect("the defective");
            for x in &expectations {
                // Every acme-lk1 key carries the MAC that defect changes.
                let mac_changed = defect == "mac-wrong-bytes"
                    && x.issued.as_ref().is_ok_and(|key| !is_acme_ed1(key));
                // A feature is that defect's trigger when issuing.
                let refused = defect == "refuses-features" && !x.entitlement.features.is_empty();
                if mac_changed || refused {
                    continue;
                }
                assert_eq!(
                    d.generate(&x.entitlement),
                    x.issued,
                    "{d}: {}",
                    x.entitlement
                );
                let Ok(key) = &x.issued else { continue };
                for (ctx, v) in &x.validations {
                    // Another product's context is that defect's trigger.
                    if defect == "product-unchecked" && ctx.product != x.entitlement.product {
                        continue;
                    }
                    // Every acme-ed1 rejection loses its format under that
                    // defect, and a third of the valid keys are rejected.
                    if defect == "own-keys-unnamed" && is_acme_ed1(key) {
                        continue;
                    }
                    assert_eq!(&d.validate(key.as_bytes(), ctx), v, "{d}: {key} in {ctx:?}");
                }
            }
            for key in GARBAGE {
                // On the old system, lower case is that defect's trigger.
                let lower_on_lk1 =
                    scheme == "acme-lk1" && key.bytes().any(|b| b.is_ascii_lowercase());
                if defect == "case-sensitive" && lower_on_lk1 {
                    continue;
                }
                let ctx = at(&cad(), "2026-12-01");
                let v = spec
                    .validate(key.as_bytes(), &ctx)
                    .expect("builtins answer");
                assert_eq!(d.validate(key.as_bytes(), &ctx), v, "{d}: {key:?}");
            }
        }
    }
}

#[test]
fn without_a_defect_the_plugin_is_the_builtin_even_where_defects_trigger() {
    let triggers = [
        cad(),
        with(cad(), |e| e.seats = Some(1500)),
        with(cad(), |e| e.seats = Some(0)),
        with(cad(), |e| e.host_id = Some("H-1".into())),
        with(cad(), |e| e.expires = Some(day("2044-11-09"))),
        with(cad(), |e| {
            e.features.insert("pdm".into());
        }),
        with(cloud(), |e| {
            e.customer = Some(Customer {
                id: "C-1".into(),
                name: "x".repeat(200),
            })
        }),
    ];
    for (scheme, overrides) in SYSTEMS {
        let pair = Pair::new(scheme, "none", overrides);
        for e in &triggers {
            pair.assert_same_issue(e);
            let Ok(key) = pair.builtin.generate(e) else {
                continue;
            };
            let lower = key.to_lowercase();
            let variants = if is_acme_ed1(&key) {
                vec![key]
            } else {
                vec![key, lower]
            };
            for (key, today) in variants
                .iter()
                .flat_map(|k| ["2027-12-31", "2028-01-01"].map(|t| (k, t)))
            {
                pair.assert_same_validation(key, &at(e, today));
            }
        }
    }
}

#[test]
fn settings_are_checked_and_named() {
    let catalog = Catalog::acme();
    let make = |scheme: &str, defect: &str| {
        Defective::new(scheme, defect, &catalog, &settings(scheme, &[]))
    };
    let err = make("acme-lk1", "typo").unwrap_err();
    assert!(
        err.starts_with("setting `defect`: unknown defect \"typo\""),
        "{err}"
    );
    assert!(err.contains("seats-wrapped, lax-signature"), "{err}");
    let err = make("acme-lk2", "none").unwrap_err();
    assert_eq!(
        err,
        "unknown builtin `acme-lk2`; the builtins are acme-lk1, acme-ed1"
    );
    for ed1_only in [
        "lax-signature",
        "crash-long-name",
        "version-ignored",
        "payload-ascii-escaped",
    ] {
        let err = make("acme-lk1", ed1_only).unwrap_err();
        assert!(err.contains("hint: use scheme=acme-ed1"), "{err}");
    }
    for name in NAMES {
        let d = make("acme-ed1", name).unwrap();
        assert_eq!(d.to_string(), format!("acme-ed1 with defect {name}"));
    }
    let no_secret = Defective::new("acme-lk1", "mac-wrong-bytes", &catalog, &Settings::new());
    assert_eq!(no_secret.unwrap_err(), "setting `secret`: missing");
}

#[test]
fn refuses_features_refuses_what_grants_a_feature_and_issues_the_rest() {
    for (scheme, overrides) in SYSTEMS {
        let pair = Pair::new(scheme, "refuses-features", overrides);
        let with_feature = cad();
        assert!(!with_feature.features.is_empty());
        assert_eq!(
            pair.defective.generate(&with_feature),
            Err(GenerateFailure::Refused {
                field: "features".into(),
                reason: "no feature table loaded".into()
            }),
            "{scheme}"
        );
        let none = with(cad(), |e| e.features.clear());
        let key = pair.builtin_key(&none);
        assert_eq!(pair.defective.generate(&none), Ok(key), "{scheme}");
    }
}

#[test]
fn product_unchecked_accepts_a_key_in_any_product_but_checks_the_rest() {
    for (scheme, overrides) in SYSTEMS {
        let pair = Pair::new(scheme, "product-unchecked", overrides);
        let e = with(cad(), |e| e.expires = None);
        let key = pair.builtin_key(&e);
        let own = at(&e, "2026-12-01");
        let viewer = Context {
            product: "acme-viewer".into(),
            ..own.clone()
        };
        assert_eq!(
            pair.builtin_says(&key, &viewer).verdict,
            Verdict::WrongProduct
        );
        let v = pair.defective_says(&key, &viewer);
        assert_eq!(
            v,
            pair.builtin_says(&key, &own),
            "{scheme}: judged as acme-cad"
        );
        // The version check still runs, in the key's product.
        let later = Context {
            version: Version { major: 8, minor: 0 },
            ..viewer
        };
        assert_eq!(
            pair.defective_says(&key, &later).verdict,
            Verdict::VersionNotCovered,
            "{scheme}"
        );
    }
}

/// The refusal's field, if `issued` is one.
pub(crate) fn refused_field(issued: Result<String, GenerateFailure>) -> Option<String> {
    match issued {
        Err(GenerateFailure::Refused { field, .. }) => Some(field),
        _ => None,
    }
}

/// Whether a validation accepted the key.
pub(crate) fn valid(v: &Validation) -> bool {
    v.verdict == Verdict::Valid
}
