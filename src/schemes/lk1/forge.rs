//! acme-lk1 forgeries (see [`crate::forgery`]): a genuine key's payload with
//! a value SCHEMES.md rules out in one field, re-MACed with the secret.
//!
//! SCHEMES.md decides these: `ver` other than 1 is `unsupported_format`
//! (checked right after the MAC); non-zero `reserved` or an edition code
//! above the catalog's (3 in Acme) is `malformed`; a product id the catalog
//! does not know decodes, and is then the wrong product wherever the genuine
//! key validates. Two forgeries break two rules at once, to pin the order.
//!
//! Left out, because SCHEMES.md requires them to validate: a feature bit the
//! catalog does not name (a release ignores bits it does not know; Acme names
//! all 16 anyway), and every value of `max_major`, `seats` (0 is unlimited),
//! `expiry_days` (0 is perpetual, 16383 is 2044-11-08) and `serial`, whose
//! widths hold no value the format rules out.

use crate::forgery::{Forgery, Pick};
use crate::verdict::Verdict;

use super::codec::Lk1;
use super::mac::{self, MAC_BITS, MAC_BYTES};
use super::payload::{Payload, VERSION, mask};
use super::text::parse_symbols;

/// A payload field a recipe sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Ver,
    Product,
    Edition,
    Reserved,
}

/// One forged payload: the genuine one with these fields set.
struct Recipe {
    family: &'static str,
    flags: &'static [&'static str],
    verdict: Verdict,
    set: &'static [(Field, u8)],
}

const VERSION_FLAGS: &[&str] = &["ForgedReservedValue", "UnknownVersion"];
const RESERVED_FLAGS: &[&str] = &["ForgedReservedValue", "ReservedBits"];
const EDITION_FLAGS: &[&str] = &["ForgedUnknownValue", "UnknownEdition"];
const PRODUCT_FLAGS: &[&str] = &["ForgedUnknownValue", "UnknownProductId"];

const fn version(family: &'static str, ver: u8) -> Recipe {
    Recipe {
        family,
        flags: VERSION_FLAGS,
        verdict: Verdict::UnsupportedFormat,
        set: match ver {
            0 => &[(Field::Ver, 0)],
            2 => &[(Field::Ver, 2)],
            3 => &[(Field::Ver, 3)],
            4 => &[(Field::Ver, 4)],
            5 => &[(Field::Ver, 5)],
            6 => &[(Field::Ver, 6)],
            7 => &[(Field::Ver, 7)],
            8 => &[(Field::Ver, 8)],
            9 => &[(Field::Ver, 9)],
            10 => &[(Field::Ver, 10)],
            11 => &[(Field::Ver, 11)],
            12 => &[(Field::Ver, 12)],
            13 => &[(Field::Ver, 13)],
            14 => &[(Field::Ver, 14)],
            _ => &[(Field::Ver, 15)],
        },
    }
}

const fn field(
    family: &'static str,
    flags: &'static [&'static str],
    verdict: Verdict,
    set: &'static [(Field, u8)],
) -> Recipe {
    Recipe {
        family,
        flags,
        verdict,
        set,
    }
}

/// Every forgery, the most telling first (see [`Pick::Sample`]).
const RECIPES: &[Recipe] = &[
    version("forged ver=2", 2),
    field(
        "forged reserved=1",
        RESERVED_FLAGS,
        Verdict::Malformed,
        &[(Field::Reserved, 1)],
    ),
    field(
        "forged edition=4",
        EDITION_FLAGS,
        Verdict::Malformed,
        &[(Field::Edition, 4)],
    ),
    field(
        "forged product=0",
        PRODUCT_FLAGS,
        Verdict::WrongProduct,
        &[(Field::Product, 0)],
    ),
    field(
        "forged reserved=2",
        RESERVED_FLAGS,
        Verdict::Malformed,
        &[(Field::Reserved, 2)],
    ),
    field(
        "forged edition=5",
        EDITION_FLAGS,
        Verdict::Malformed,
        &[(Field::Edition, 5)],
    ),
    field(
        "forged product=255",
        PRODUCT_FLAGS,
        Verdict::WrongProduct,
        &[(Field::Product, 255)],
    ),
    field(
        "forged reserved=3",
        RESERVED_FLAGS,
        Verdict::Malformed,
        &[(Field::Reserved, 3)],
    ),
    field(
        "forged edition=6",
        EDITION_FLAGS,
        Verdict::Malformed,
        &[(Field::Edition, 6)],
    ),
    field(
        "forged edition=7",
        EDITION_FLAGS,
        Verdict::Malformed,
        &[(Field::Edition, 7)],
    ),
    // The version is checked before the payload's own rules ...
    field(
        "forged ver=2 reserved=3",
        &[
            "ForgedReservedValue",
            "UnknownVersion",
            "ReservedBits",
            "CheckOrder",
        ],
        Verdict::UnsupportedFormat,
        &[(Field::Ver, 2), (Field::Reserved, 3)],
    ),
    // ... and those before the context.
    field(
        "forged edition=7 product=0",
        &[
            "ForgedUnknownValue",
            "UnknownEdition",
            "UnknownProductId",
            "CheckOrder",
        ],
        Verdict::Malformed,
        &[(Field::Edition, 7), (Field::Product, 0)],
    ),
    version("forged ver=0", 0),
    version("forged ver=3", 3),
    version("forged ver=4", 4),
    version("forged ver=5", 5),
    version("forged ver=6", 6),
    version("forged ver=7", 7),
    version("forged ver=8", 8),
    version("forged ver=9", 9),
    version("forged ver=10", 10),
    version("forged ver=11", 11),
    version("forged ver=12", 12),
    version("forged ver=13", 13),
    version("forged ver=14", 14),
    version("forged ver=15", 15),
];

impl Lk1 {
    /// The forgeries of `key` that `pick` makes (see
    /// [`Implementation::forgeries`](crate::implementation::Implementation::forgeries)):
    /// none unless `key` is a well-formed acme-lk1 key with this codec's MAC.
    /// A recipe whose value the catalog defines (an edition code, a product
    /// id) makes nothing.
    pub fn forgeries(&self, key: &str, pick: Pick) -> Vec<Forgery> {
        let Some(genuine) = self.genuine_payload(key) else {
            return Vec::new();
        };
        pick.positions(RECIPES.len())
            .into_iter()
            .filter_map(|i| {
                let recipe = &RECIPES[i];
                let forged = self.forged(genuine, recipe.set)?;
                Some(Forgery {
                    family: recipe.family,
                    flags: recipe.flags,
                    key: self.seal(&forged),
                    verdict: recipe.verdict,
                })
            })
            .collect()
    }

    /// The payload of a key this codec issued: its MAC matches and the
    /// payload breaks none of the format's own rules.
    fn genuine_payload(&self, key: &str) -> Option<Payload> {
        let value = parse_symbols(key.as_bytes()).ok()?;
        let bits = value >> MAC_BITS;
        let tag = ((value & mask(MAC_BITS)) as u64).to_be_bytes();
        if !mac::matches(&self.mac_key, bits, &tag[8 - MAC_BYTES..]) {
            return None;
        }
        let payload = Payload::unpack(bits);
        (payload.ver == VERSION && self.decoded(&payload).is_ok()).then_some(payload)
    }

    /// `genuine` with the fields of `set`, if every value is one the format
    /// (with this catalog) rules out and the payload changes.
    fn forged(&self, genuine: Payload, set: &[(Field, u8)]) -> Option<Payload> {
        let mut p = genuine;
        for &(field, value) in set {
            let ruled_out = match field {
                Field::Ver => value != VERSION,
                Field::Reserved => value != 0,
                Field::Edition => usize::from(value) >= self.catalog.editions.len(),
                Field::Product => self.catalog.product_by_legacy_id(value).is_none(),
            };
            if !ruled_out {
                return None;
            }
            match field {
                Field::Ver => p.ver = value,
                Field::Product => p.product = value,
                Field::Edition => p.edition = value,
                Field::Reserved => p.reserved = value,
            }
        }
        (p != genuine).then_some(p)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::catalog::Catalog;
    use crate::entitlement::Entitlement;
    use crate::schemes::lk1::testing::{WORKED, codec, ctx, worked};

    /// Genuine keys: the worked example, and a perpetual, unlimited,
    /// featureless enterprise key of another product.
    fn genuine() -> Vec<(String, Entitlement)> {
        let plain = Entitlement {
            product: "acme-sim".into(),
            edition: "enterprise".into(),
            max_major: 255,
            features: BTreeSet::new(),
            seats: None,
            expires: None,
            serial: 0,
            ..worked()
        };
        [worked(), plain]
            .into_iter()
            .map(|e| (codec().encode(&e).unwrap(), e))
            .collect()
    }

    #[test]
    fn every_forgery_gets_exactly_the_verdict_it_declares() {
        let c = codec();
        for (key, e) in genuine() {
            let own = ctx(&e.product, u32::from(e.max_major), "2026-11-23");
            assert_eq!(c.decode(key.as_bytes(), &own).verdict, Verdict::Valid);
            let forgeries = c.forgeries(&key, Pick::All);
            assert_eq!(forgeries.len(), RECIPES.len(), "{key}");
            for f in forgeries {
                let v = c.decode(f.key.as_bytes(), &own);
                assert_eq!(
                    v.verdict, f.verdict,
                    "{}: {} {:?}",
                    f.family, f.key, v.reason
                );
            }
        }
    }

    #[test]
    fn a_forgery_changes_only_its_fields_and_is_correctly_maced() {
        let c = codec();
        for (key, _) in genuine() {
            let before = Payload::unpack(parse_symbols(key.as_bytes()).unwrap() >> MAC_BITS);
            for (f, recipe) in c.forgeries(&key, Pick::All).iter().zip(RECIPES) {
                assert_eq!(f.family, recipe.family);
                let value = parse_symbols(f.key.as_bytes()).unwrap();
                let bits = value >> MAC_BITS;
                let tag = ((value & mask(MAC_BITS)) as u64).to_be_bytes();
                assert!(mac::matches(&c.mac_key, bits, &tag[3..]), "{}", f.family);
                let mut expected = before;
                for &(field, v) in recipe.set {
                    match field {
                        Field::Ver => expected.ver = v,
                        Field::Product => expected.product = v,
                        Field::Edition => expected.edition = v,
                        Field::Reserved => expected.reserved = v,
                    }
                }
                assert_eq!(Payload::unpack(bits), expected, "{}", f.family);
                assert_ne!(expected, before);
            }
        }
    }

    #[test]
    fn families_are_distinct_and_the_version_comes_first() {
        let families: BTreeSet<_> = RECIPES.iter().map(|r| r.family).collect();
        assert_eq!(families.len(), RECIPES.len());
        assert_eq!(RECIPES[0].family, "forged ver=2");
        // 15 versions, 3 reserved values, 4 edition codes, 2 product ids, 2 orders.
        assert_eq!(RECIPES.len(), 26);
        let key = codec().encode(&worked()).unwrap();
        let sample = codec().forgeries(&key, Pick::Sample { seed: 9, count: 3 });
        assert_eq!(sample.len(), 3);
        assert_eq!(sample[0].family, "forged ver=2");
    }

    #[test]
    fn only_keys_the_codec_issued_are_forged() {
        let c = codec();
        let other = Lk1::new(&Catalog::acme(), b"another secret").unwrap();
        assert!(other.forgeries(WORKED, Pick::All).is_empty());
        assert!(c.forgeries("24A0M-02T1K", Pick::All).is_empty());
        assert!(c.forgeries("key/e30=.AAAA", Pick::All).is_empty());
        // A forgery is not genuine: no forgeries of forgeries.
        for f in c.forgeries(WORKED, Pick::All) {
            let again = c.forgeries(&f.key, Pick::All);
            let wrong_product = f.verdict == Verdict::WrongProduct;
            assert_eq!(again.is_empty(), !wrong_product, "{}", f.family);
        }
        // Spelling does not matter: the key is read as validation reads it.
        assert_eq!(
            c.forgeries(&WORKED.to_lowercase(), Pick::All),
            c.forgeries(WORKED, Pick::All)
        );
    }

    #[test]
    fn values_the_catalog_defines_are_not_forged() {
        let mut catalog = Catalog::acme();
        catalog.editions.extend(["e4", "e5"].map(String::from));
        let wide = Lk1::new(&catalog, crate::schemes::demo::LK1_SECRET.as_bytes()).unwrap();
        let families: Vec<_> = wide
            .forgeries(WORKED, Pick::All)
            .into_iter()
            .map(|f| f.family)
            .collect();
        assert!(!families.contains(&"forged edition=4"));
        assert!(!families.contains(&"forged edition=5"));
        assert!(families.contains(&"forged edition=6"));
    }
}
