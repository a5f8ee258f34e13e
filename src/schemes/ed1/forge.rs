//! acme-ed1 forgeries (see [`crate::forgery`]): a genuine key's payload with
//! one key set to a value SCHEMES.md rules out (or removed), re-signed with
//! the signing key under its own kid.
//!
//! SCHEMES.md's steps decide these: `v` not 1 (another number, a string,
//! missing) and a `kid` that does not name the key that verified (unknown,
//! another trusted key's, another spelling, null, missing) are
//! `unsupported_format` (step 5); an unknown edition, a number out of range
//! (negative, above the field, fractional), a date that is no real
//! `YYYY-MM-DD` date, a wrong type and a missing key are `malformed` (step
//! 6), and so is a payload that is not an object (step 4); a product the
//! catalog does not know decodes and is then the wrong product wherever the
//! genuine key validates. Three forgeries break two rules at once, to pin
//! the order of steps 5, 6 and 7.
//!
//! Left out, because SCHEMES.md requires them to validate: unknown keys and
//! unknown feature names (ignored), and `null` where a field is nullable.
//! Left out, because SCHEMES.md does not decide them: a number written as
//! `1.0` or `1e0` where an integer is due (the same JSON number to some
//! parsers, a fractional one to others), a key that appears twice (JSON
//! leaves duplicates to the parser), strings that are not NFC, and payload
//! JSON with spaces (only the writer is told "compact").

use ed25519_dalek::Signer;
use serde_json::{Map, Value};

use crate::forgery::{Forgery, Pick};
use crate::verdict::Verdict;

use super::codec::Ed1;
use super::{payload, wire};

/// A fixed JSON value (`serde_json::Value` cannot be a constant).
#[derive(Debug, Clone, Copy)]
enum Literal {
    Int(i64),
    Float(f64),
    Str(&'static str),
    Null,
}

impl Literal {
    fn value(self) -> Value {
        match self {
            Literal::Int(n) => Value::from(n),
            Literal::Float(x) => Value::from(x),
            Literal::Str(s) => Value::from(s),
            Literal::Null => Value::Null,
        }
    }
}

/// A value computed from the genuine payload and the codec; `None` when
/// the codec's catalog or keys leave nothing to forge.
type Derive = fn(&Map<String, Value>, &Ed1) -> Option<Value>;

/// One change to the genuine payload.
#[derive(Clone, Copy)]
enum Edit {
    /// Sets a key (in its place) to a fixed value.
    Set(&'static str, Literal),
    /// Sets a key (in its place) to a computed value.
    Derived(&'static str, Derive),
    /// Removes a key (the others keep their order).
    Remove(&'static str),
    /// Makes the whole payload the one element of an array.
    WrapInArray,
}

/// One forged payload.
struct Recipe {
    family: &'static str,
    flags: &'static [&'static str],
    verdict: Verdict,
    edits: &'static [Edit],
}

const fn recipe(
    family: &'static str,
    flags: &'static [&'static str],
    verdict: Verdict,
    edits: &'static [Edit],
) -> Recipe {
    Recipe {
        family,
        flags,
        verdict,
        edits,
    }
}

use Edit::{Derived, Remove, Set};
use Literal::{Float, Int, Null, Str};
use Verdict::{Malformed, UnsupportedFormat as Unsupported, WrongProduct};

const RESERVED: &[&str] = &["ForgedReservedValue", "UnknownVersion"];
const KID: &[&str] = &["ForgedUnknownValue", "KidMismatch"];
const RANGE: &[&str] = &["ForgedOutOfRange"];
const DATE: &[&str] = &["ForgedInvalidDate", "InvalidDate"];
const TYPE: &[&str] = &["ForgedWrongType", "WrongJsonType"];
const MISSING: &[&str] = &["ForgedMissingKey", "MissingJsonKey"];
const EDITION: &[&str] = &["ForgedUnknownValue", "UnknownEdition"];

/// Every forgery, the most telling first (see [`Pick::Sample`]), then one
/// of each kind, then the rest field by field.
const RECIPES: &[Recipe] = &[
    recipe("forged v=2", RESERVED, Unsupported, &[Set("v", Int(2))]),
    recipe(
        "forged kid unknown",
        &["ForgedUnknownValue", "UnknownKid"],
        Unsupported,
        &[Derived("kid", unknown_kid)],
    ),
    recipe(
        "forged ed unknown",
        EDITION,
        Malformed,
        &[Derived("ed", unknown_edition)],
    ),
    recipe(
        "forged maxv=256",
        RANGE,
        Malformed,
        &[Set("maxv", Int(256))],
    ),
    recipe(
        "forged exp not a date",
        DATE,
        Malformed,
        &[Set("exp", Str("2027-02-30"))],
    ),
    recipe(
        "forged prod unknown",
        &["ForgedUnknownValue", "UnknownProduct"],
        WrongProduct,
        &[Derived("prod", unknown_product)],
    ),
    recipe("forged seats=0", RANGE, Malformed, &[Set("seats", Int(0))]),
    recipe(
        "forged serial=2^32",
        RANGE,
        Malformed,
        &[Set("serial", Int(1 << 32))],
    ),
    recipe(
        "forged iat not a date",
        DATE,
        Malformed,
        &[Set("iat", Str("2026-02-29"))],
    ),
    recipe(
        "forged maint not a date",
        DATE,
        Malformed,
        &[Set("maint", Str("2027-04-31"))],
    ),
    recipe(
        "forged payload not an object",
        &["ForgedWrongType", "PayloadNotObject"],
        Malformed,
        &[Edit::WrapInArray],
    ),
    recipe("forged v=0", RESERVED, Unsupported, &[Set("v", Int(0))]),
    recipe(
        "forged v string",
        &["ForgedWrongType", "UnknownVersion", "WrongJsonType"],
        Unsupported,
        &[Set("v", Str("1"))],
    ),
    recipe(
        "forged v missing",
        &["ForgedMissingKey", "UnknownVersion", "MissingJsonKey"],
        Unsupported,
        &[Remove("v")],
    ),
    recipe(
        "forged kid of another trusted key",
        KID,
        Unsupported,
        &[Derived("kid", another_trusted_kid)],
    ),
    recipe(
        "forged kid upper-case",
        KID,
        Unsupported,
        &[Derived("kid", upper_case_kid)],
    ),
    recipe(
        "forged kid null",
        &["ForgedWrongType", "KidMismatch", "WrongJsonType"],
        Unsupported,
        &[Set("kid", Null)],
    ),
    recipe(
        "forged kid missing",
        &["ForgedMissingKey", "KidMismatch", "MissingJsonKey"],
        Unsupported,
        &[Remove("kid")],
    ),
    recipe(
        "forged prod not a string",
        TYPE,
        Malformed,
        &[Set("prod", Int(17))],
    ),
    recipe("forged prod missing", MISSING, Malformed, &[Remove("prod")]),
    recipe(
        "forged ed upper-case",
        EDITION,
        Malformed,
        &[Derived("ed", upper_case_edition)],
    ),
    recipe(
        "forged ed legacy code",
        TYPE,
        Malformed,
        &[Derived("ed", edition_code)],
    ),
    recipe("forged ed missing", MISSING, Malformed, &[Remove("ed")]),
    recipe("forged maxv=-1", RANGE, Malformed, &[Set("maxv", Int(-1))]),
    recipe(
        "forged maxv fractional",
        RANGE,
        Malformed,
        &[Set("maxv", Float(7.5))],
    ),
    recipe(
        "forged maxv string",
        TYPE,
        Malformed,
        &[Set("maxv", Str("7"))],
    ),
    recipe("forged maxv missing", MISSING, Malformed, &[Remove("maxv")]),
    recipe(
        "forged feat not an array",
        TYPE,
        Malformed,
        &[Set("feat", Str("export-dwg"))],
    ),
    recipe(
        "forged feat holds a number",
        TYPE,
        Malformed,
        &[Derived("feat", features_with_a_number)],
    ),
    recipe("forged feat missing", MISSING, Malformed, &[Remove("feat")]),
    recipe(
        "forged seats=2^32",
        RANGE,
        Malformed,
        &[Set("seats", Int(1 << 32))],
    ),
    recipe(
        "forged seats=-1",
        RANGE,
        Malformed,
        &[Set("seats", Int(-1))],
    ),
    recipe(
        "forged seats fractional",
        RANGE,
        Malformed,
        &[Set("seats", Float(2.5))],
    ),
    recipe(
        "forged seats string",
        TYPE,
        Malformed,
        &[Set("seats", Str("25"))],
    ),
    recipe(
        "forged seats missing",
        MISSING,
        Malformed,
        &[Remove("seats")],
    ),
    recipe(
        "forged iat timestamp",
        DATE,
        Malformed,
        &[Set("iat", Str("2026-11-23T00:00:00Z"))],
    ),
    recipe("forged iat null", TYPE, Malformed, &[Set("iat", Null)]),
    recipe("forged iat missing", MISSING, Malformed, &[Remove("iat")]),
    recipe(
        "forged exp timestamp",
        DATE,
        Malformed,
        &[Set("exp", Str("2027-12-31T23:59:59Z"))],
    ),
    recipe(
        "forged exp not a string",
        TYPE,
        Malformed,
        &[Set("exp", Int(10226))],
    ),
    recipe("forged exp missing", MISSING, Malformed, &[Remove("exp")]),
    recipe(
        "forged maint missing",
        MISSING,
        Malformed,
        &[Remove("maint")],
    ),
    recipe(
        "forged serial=-1",
        RANGE,
        Malformed,
        &[Set("serial", Int(-1))],
    ),
    recipe(
        "forged serial fractional",
        RANGE,
        Malformed,
        &[Set("serial", Float(1.5))],
    ),
    recipe(
        "forged serial string",
        TYPE,
        Malformed,
        &[Set("serial", Str("424242"))],
    ),
    recipe(
        "forged serial missing",
        MISSING,
        Malformed,
        &[Remove("serial")],
    ),
    recipe(
        "forged cust not an object",
        TYPE,
        Malformed,
        &[Set("cust", Str("C-000042"))],
    ),
    recipe(
        "forged cust without name",
        MISSING,
        Malformed,
        &[Derived("cust", customer_without_name)],
    ),
    recipe(
        "forged cust name not a string",
        TYPE,
        Malformed,
        &[Derived("cust", customer_with_numeric_name)],
    ),
    recipe("forged cust missing", MISSING, Malformed, &[Remove("cust")]),
    recipe(
        "forged order not a string",
        TYPE,
        Malformed,
        &[Set("order", Int(1001))],
    ),
    recipe(
        "forged order missing",
        MISSING,
        Malformed,
        &[Remove("order")],
    ),
    recipe(
        "forged host not a string",
        TYPE,
        Malformed,
        &[Set("host", Int(1))],
    ),
    recipe("forged host missing", MISSING, Malformed, &[Remove("host")]),
    // Step 5 comes before step 6 ...
    recipe(
        "forged v=2 ed unknown",
        &[
            "ForgedReservedValue",
            "UnknownVersion",
            "UnknownEdition",
            "CheckOrder",
        ],
        Unsupported,
        &[Set("v", Int(2)), Derived("ed", unknown_edition)],
    ),
    recipe(
        "forged kid unknown maxv=256",
        &[
            "ForgedUnknownValue",
            "UnknownKid",
            "ForgedOutOfRange",
            "CheckOrder",
        ],
        Unsupported,
        &[Derived("kid", unknown_kid), Set("maxv", Int(256))],
    ),
    // ... and step 6 before the context.
    recipe(
        "forged ed unknown prod unknown",
        &[
            "ForgedUnknownValue",
            "UnknownEdition",
            "UnknownProduct",
            "CheckOrder",
        ],
        Malformed,
        &[
            Derived("ed", unknown_edition),
            Derived("prod", unknown_product),
        ],
    ),
];

/// A kid no trusted key has: the signing kid with a suffix.
fn unknown_kid(_: &Map<String, Value>, codec: &Ed1) -> Option<Value> {
    let mut kid = format!("{}-unknown", codec.signing_kid()?);
    while codec.trusted.iter().any(|(k, _)| *k == kid) {
        kid.push('x');
    }
    Some(Value::from(kid))
}

/// The kid of the first trusted key that is not the signing key.
fn another_trusted_kid(_: &Map<String, Value>, codec: &Ed1) -> Option<Value> {
    let signing = codec.signing_kid()?;
    let (kid, _) = codec.trusted.iter().find(|(k, _)| k != signing)?;
    Some(Value::from(kid.as_str()))
}

/// The signing kid in upper case, if that is another string.
fn upper_case_kid(_: &Map<String, Value>, codec: &Ed1) -> Option<Value> {
    let kid = codec.signing_kid()?;
    let upper = kid.to_uppercase();
    (upper != kid).then(|| Value::from(upper))
}

/// An edition name the catalog does not have.
fn unknown_edition(_: &Map<String, Value>, codec: &Ed1) -> Option<Value> {
    let name = "ultimate";
    codec
        .catalog
        .edition_code(name)
        .is_none()
        .then(|| Value::from(name))
}

/// The genuine edition with its first letter in upper case.
fn upper_case_edition(o: &Map<String, Value>, codec: &Ed1) -> Option<Value> {
    let ed = o.get("ed")?.as_str()?;
    let mut chars = ed.chars();
    let upper: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())?;
    codec
        .catalog
        .edition_code(&upper)
        .is_none()
        .then(|| Value::from(upper))
}

/// The genuine edition's legacy code, a number where a name is due.
fn edition_code(o: &Map<String, Value>, codec: &Ed1) -> Option<Value> {
    let code = codec.catalog.edition_code(o.get("ed")?.as_str()?)?;
    Some(Value::from(code))
}

/// A product slug the catalog does not have.
fn unknown_product(_: &Map<String, Value>, codec: &Ed1) -> Option<Value> {
    let slug = "acme-unknown";
    codec
        .catalog
        .product(slug)
        .is_none()
        .then(|| Value::from(slug))
}

/// The genuine features with a number added.
fn features_with_a_number(o: &Map<String, Value>, _: &Ed1) -> Option<Value> {
    let mut features = o.get("feat")?.as_array()?.clone();
    features.push(Value::from(7));
    Some(Value::Array(features))
}

/// The genuine customer without `name` (or, for none, one with only an id).
fn customer_without_name(o: &Map<String, Value>, _: &Ed1) -> Option<Value> {
    let mut customer = customer_or_placeholder(o)?;
    customer.shift_remove("name");
    Some(Value::Object(customer))
}

/// The genuine customer (or a placeholder) with a number for a name.
fn customer_with_numeric_name(o: &Map<String, Value>, _: &Ed1) -> Option<Value> {
    let mut customer = customer_or_placeholder(o)?;
    customer.insert("name".into(), Value::from(42));
    Some(Value::Object(customer))
}

fn customer_or_placeholder(o: &Map<String, Value>) -> Option<Map<String, Value>> {
    match o.get("cust")? {
        Value::Object(c) => Some(c.clone()),
        _ => {
            let mut c = Map::new();
            c.insert("id".into(), Value::from("C-000001"));
            c.insert("name".into(), Value::from("Placeholder"));
            Some(c)
        }
    }
}

impl Ed1 {
    /// The forgeries of `key` that `pick` makes (see
    /// [`Implementation::forgeries`](crate::implementation::Implementation::forgeries)):
    /// none unless the codec can sign, trusts its own signing key, and `key`
    /// is a well-formed acme-ed1 key signed by that key under its kid. Every
    /// forgery is signed by the same key under the same kid.
    pub fn forgeries(&self, key: &str, pick: Pick) -> Vec<Forgery> {
        let Some(genuine) = self.genuine_object(key) else {
            return Vec::new();
        };
        pick.positions(RECIPES.len())
            .into_iter()
            .filter_map(|i| {
                let recipe = &RECIPES[i];
                let payload = self.forged(&genuine, recipe.edits)?;
                Some(Forgery {
                    family: recipe.family,
                    flags: recipe.flags,
                    key: self.sign_payload(&payload).ok()?,
                    verdict: recipe.verdict,
                })
            })
            .collect()
    }

    /// The payload of a key this codec signed that passes steps 1 to 6.
    /// Ed25519 signatures are deterministic: signing the same bytes again
    /// gives the same signature, which costs less than verifying it.
    fn genuine_object(&self, key: &str) -> Option<Map<String, Value>> {
        let (kid, signing) = self.signing.as_ref()?;
        let trusted = self
            .trusted
            .iter()
            .any(|(k, public)| k == kid && *public == signing.verifying_key());
        let parts = wire::split(wire::trim(key.as_bytes())).ok()?;
        if !trusted || signing.sign(parts.signed).to_bytes() != parts.signature {
            return None;
        }
        let object = payload::parse_object(&parts.payload).ok()?;
        payload::check_header(&object, kid).ok()?;
        payload::read(&self.catalog, &object).ok()?;
        Some(object)
    }

    /// The compact JSON of `genuine` with `edits`, if each applies and the
    /// payload changes.
    fn forged(&self, genuine: &Map<String, Value>, edits: &[Edit]) -> Option<Vec<u8>> {
        let mut object = genuine.clone();
        let mut wrap = false;
        for edit in edits {
            match *edit {
                Edit::Set(key, literal) => {
                    object.insert(key.into(), literal.value());
                }
                Edit::Derived(key, derive) => {
                    let value = derive(genuine, self)?;
                    object.insert(key.into(), value);
                }
                Edit::Remove(key) => {
                    object.shift_remove(key)?;
                }
                Edit::WrapInArray => wrap = true,
            }
        }
        if !wrap && object == *genuine {
            return None;
        }
        let value = Value::Object(object);
        let value = if wrap {
            Value::Array(vec![value])
        } else {
            value
        };
        serde_json::to_vec(&value).ok()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use base64::Engine;
    use ed25519_dalek::Signature;

    use super::*;
    use crate::catalog::Catalog;
    use crate::entitlement::Entitlement;
    use crate::schemes::demo;
    use crate::schemes::ed1::testing::{SPEC_PAYLOAD, codec, ctx, day, spec};
    use crate::schemes::ed1::wire::B64;

    /// Genuine keys: SCHEMES.md's example, and a perpetual, unlimited,
    /// node-locked key without customer or order.
    fn genuine() -> Vec<(String, Entitlement)> {
        let plain = Entitlement {
            product: "acme-cloud".into(),
            edition: "trial".into(),
            max_major: 0,
            features: BTreeSet::new(),
            seats: None,
            expires: None,
            maintenance_until: Some(day("2030-01-31")),
            customer: None,
            order_id: None,
            host_id: Some("H-1".into()),
            ..spec()
        };
        [spec(), plain]
            .into_iter()
            .map(|e| (codec().encode(&e).unwrap(), e))
            .collect()
    }

    fn own(e: &Entitlement) -> crate::verdict::Context {
        ctx(
            &e.product,
            u32::from(e.max_major),
            "2026-11-23",
            e.host_id.as_deref(),
        )
    }

    #[test]
    fn every_forgery_gets_exactly_the_verdict_it_declares() {
        let c = codec();
        for (key, e) in genuine() {
            assert_eq!(c.decode(key.as_bytes(), &own(&e)).verdict, Verdict::Valid);
            let forgeries = c.forgeries(&key, Pick::All);
            assert_eq!(forgeries.len(), RECIPES.len(), "{key}");
            for f in forgeries {
                let v = c.decode(f.key.as_bytes(), &own(&e));
                assert_eq!(v.verdict, f.verdict, "{}: {:?}", f.family, v.reason);
            }
        }
    }

    /// The payload of a key whose signature the demo signing key makes.
    fn signed_payload(key: &str) -> Vec<u8> {
        let (signed, signature) = key.split_once('.').unwrap();
        let signature = Signature::from_slice(&B64.decode(signature).unwrap()).unwrap();
        let public = codec().signing.unwrap().1.verifying_key();
        public.verify_strict(signed.as_bytes(), &signature).unwrap();
        B64.decode(signed.strip_prefix("key/").unwrap()).unwrap()
    }

    #[test]
    fn a_forgery_changes_only_its_keys_and_is_signed_by_the_signing_key() {
        let c = codec();
        let (key, _) = genuine().remove(0);
        assert_eq!(signed_payload(&key), SPEC_PAYLOAD.as_bytes());
        let before: Map<String, Value> = serde_json::from_str(SPEC_PAYLOAD).unwrap();
        for (f, recipe) in c.forgeries(&key, Pick::All).iter().zip(RECIPES) {
            assert_eq!(f.family, recipe.family);
            let after: Value = serde_json::from_slice(&signed_payload(&f.key)).unwrap();
            let after = match after {
                Value::Array(mut items) => {
                    assert_eq!(items.len(), 1, "{}", f.family);
                    let Some(Value::Object(o)) = items.pop() else {
                        panic!("{}", f.family)
                    };
                    assert_eq!(o, before, "{}", f.family);
                    continue;
                }
                Value::Object(o) => o,
                other => panic!("{}: {other}", f.family),
            };
            let touched: BTreeSet<&str> = recipe
                .edits
                .iter()
                .map(|e| match e {
                    Edit::Set(k, _) | Edit::Derived(k, _) | Edit::Remove(k) => *k,
                    Edit::WrapInArray => "",
                })
                .collect();
            for (k, v) in &before {
                if !touched.contains(k.as_str()) {
                    assert_eq!(after.get(k), Some(v), "{}: {k}", f.family);
                }
            }
            // The untouched keys keep their order.
            let order = |o: &Map<String, Value>| -> Vec<String> {
                o.keys()
                    .filter(|k| !touched.contains(k.as_str()))
                    .cloned()
                    .collect()
            };
            assert_eq!(order(&after), order(&before), "{}", f.family);
            assert_ne!(after, before, "{}", f.family);
        }
    }

    #[test]
    fn families_are_distinct_and_the_version_comes_first() {
        let families: BTreeSet<_> = RECIPES.iter().map(|r| r.family).collect();
        assert_eq!(families.len(), RECIPES.len());
        assert_eq!(RECIPES[0].family, "forged v=2");
        let (key, _) = genuine().remove(0);
        let sample = codec().forgeries(&key, Pick::Sample { seed: 3, count: 3 });
        assert_eq!(sample.len(), 3);
        assert_eq!(sample[0].family, "forged v=2");
    }

    #[test]
    fn only_keys_the_codec_signed_are_forged() {
        let c = codec();
        let (key, _) = genuine().remove(0);
        // Signed by the older trusted key: valid, but not this codec's signature.
        let older = Ed1::from_settings(
            &Catalog::acme(),
            &demo::ed1_signing_with(demo::TEST2_SECRET, "acme-demo-2025"),
        )
        .unwrap();
        let old_key = older.encode(&spec()).unwrap();
        assert!(c.forgeries(&old_key, Pick::All).is_empty());
        assert!(!older.forgeries(&old_key, Pick::All).is_empty());
        // A validator-only codec cannot forge.
        let mut s = demo::ed1();
        s.remove("signing_key");
        s.remove("kid");
        let verifier = Ed1::from_settings(&Catalog::acme(), &s).unwrap();
        assert!(verifier.forgeries(&key, Pick::All).is_empty());
        assert!(
            c.forgeries("24A0M-02T1K-7Y9KS-689RQ-7B450", Pick::All)
                .is_empty()
        );
        for f in c.forgeries(&key, Pick::All) {
            let again = c.forgeries(&f.key, Pick::All).is_empty();
            assert_eq!(again, f.verdict != WrongProduct, "{}", f.family);
        }
        assert_eq!(
            c.forgeries(&format!(" {key}\r\n"), Pick::All),
            c.forgeries(&key, Pick::All)
        );
    }

    #[test]
    fn a_customer_is_made_up_where_there_is_none() {
        let c = codec();
        let e = Entitlement {
            customer: None,
            ..spec()
        };
        let key = c.encode(&e).unwrap();
        let named = |family: &str| {
            let f = c
                .forgeries(&key, Pick::All)
                .into_iter()
                .find(|f| f.family == family)
                .unwrap();
            let o: Value = serde_json::from_slice(&signed_payload(&f.key)).unwrap();
            o["cust"].clone()
        };
        assert_eq!(
            named("forged cust without name"),
            serde_json::json!({"id": "C-000001"})
        );
        assert_eq!(
            named("forged cust name not a string"),
            serde_json::json!({"id": "C-000001", "name": 42})
        );
    }
}
