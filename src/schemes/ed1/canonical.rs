//! Steps 4 to 6 in one pass for the payloads issuers write: exactly
//! SCHEMES.md's keys, each once, each with its type, read straight into a
//! typed struct instead of a JSON tree that is then checked field by field.
//!
//! This is only a shortcut, taken when it is sure: [`read`] answers `Some`
//! only for a payload that `payload`'s step-by-step reading accepts too, with
//! the same entitlement, and `None` for anything else (an unknown or repeated
//! key, a wrong type, a failed check), which is then read step by step to
//! say what is wrong. So it must never accept more than that reading does:
//! no key it would skip unread (serde_json skims skipped values without
//! checking their strings and numbers), no array read as a struct (serde's
//! derived structs accept one), no missing nullable field read as null (as
//! a derived `Option` field would).

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::Customer;
use crate::verdict::Decoded;

use super::payload::VERSION;

/// The payload with every key SCHEMES.md gives it, and no other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload<'a> {
    v: u64,
    kid: &'a str,
    prod: String,
    ed: String,
    maxv: u8,
    feat: BTreeSet<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    seats: Option<u32>,
    #[serde(deserialize_with = "day")]
    iat: Day,
    #[serde(deserialize_with = "nullable_day")]
    exp: Option<Day>,
    #[serde(deserialize_with = "nullable_day")]
    maint: Option<Day>,
    serial: u32,
    #[serde(deserialize_with = "customer")]
    cust: Option<Customer>,
    #[serde(deserialize_with = "Option::deserialize")]
    order: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    host: Option<String>,
}

/// Steps 4 to 6 for a payload verified by the key `verified_by`: the
/// entitlement when the payload has exactly SCHEMES.md's keys and passes
/// every check, `None` when it must be read step by step.
pub(super) fn read(catalog: &Catalog, payload: &[u8], verified_by: &str) -> Option<Decoded> {
    // A derived struct also reads an array of its fields in order.
    if payload.first() != Some(&b'{') {
        return None;
    }
    let p: Payload = serde_json::from_slice(payload).ok()?;
    let checked = p.v == VERSION
        && p.kid == verified_by
        && catalog.edition_code(&p.ed).is_some()
        && p.seats != Some(0);
    checked.then_some(Decoded {
        product: Some(p.prod),
        edition: Some(p.ed),
        max_major: Some(p.maxv),
        features: Some(p.feat),
        seats: Some(p.seats),
        issued: Some(p.iat),
        expires: Some(p.exp),
        maintenance_until: Some(p.maint),
        serial: Some(p.serial),
        customer: Some(p.cust),
        order_id: Some(p.order),
        host_id: Some(p.host),
    })
}

/// A date read in place: one with an escape in it is not a borrowed string,
/// and is left to the step-by-step reading.
fn day<'de, D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
    Day::parse(<&str>::deserialize(d)?).map_err(de::Error::custom)
}

/// [`day`] or null.
fn nullable_day<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Day>, D::Error> {
    Option::<&str>::deserialize(d)?
        .map(|s| Day::parse(s).map_err(de::Error::custom))
        .transpose()
}

/// `cust`: null, or an object of exactly `id` and `name`, both strings (the
/// derived `Customer` would also take an array of two strings).
fn customer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Customer>, D::Error> {
    Option::<CustomerObject>::deserialize(d).map(|c| c.map(|c| c.0))
}

struct CustomerObject(Customer);

impl<'de> Deserialize<'de> for CustomerObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(CustomerVisitor)
    }
}

struct CustomerVisitor;

impl<'de> Visitor<'de> for CustomerVisitor {
    type Value = CustomerObject;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of `id` and `name`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut name) = (None, None);
        while let Some(key) = map.next_key::<&str>()? {
            let slot = match key {
                "id" => &mut id,
                "name" => &mut name,
                other => return Err(de::Error::unknown_field(other, &["id", "name"])),
            };
            if slot.is_some() {
                return Err(de::Error::custom(format_args!("`{key}` repeats")));
            }
            *slot = Some(map.next_value::<String>()?);
        }
        match (id, name) {
            (Some(id), Some(name)) => Ok(CustomerObject(Customer { id, name })),
            _ => Err(de::Error::custom("`id` or `name` is missing")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schemes::ed1::payload;
    use crate::schemes::ed1::testing::{SPEC_PAYLOAD, spec};

    const KID: &str = "acme-demo-2026";

    /// What reading `payload` step by step gives (steps 4 to 6).
    fn step_by_step(payload: &[u8]) -> Result<Decoded, String> {
        let object = payload::parse_object(payload)?;
        payload::check_header(&object, KID)?;
        payload::read(&Catalog::acme(), &object)
    }

    fn one_pass(payload: &[u8]) -> Option<Decoded> {
        read(&Catalog::acme(), payload, KID)
    }

    #[test]
    fn issued_payloads_are_read_in_one_pass() {
        assert_eq!(
            one_pass(SPEC_PAYLOAD.as_bytes()),
            Some(Decoded::from_entitlement(&spec()))
        );
        let e = crate::entitlement::Entitlement {
            seats: None,
            expires: None,
            customer: None,
            order_id: None,
            host_id: Some("H-\"1\"\n".into()),
            features: BTreeSet::new(),
            ..spec()
        };
        let payload = payload::to_json(KID, &e.view()).unwrap();
        assert_eq!(one_pass(&payload), Some(Decoded::from_entitlement(&e)));
        assert_eq!(one_pass(&payload), step_by_step(&payload).ok());
    }

    /// Every payload read in one pass is read step by step to the same
    /// entitlement; the others are left to the step-by-step reading.
    #[test]
    fn one_pass_never_accepts_more_than_step_by_step() {
        // Each read in one pass, to what the step-by-step reading gives.
        let one_pass_edits: &[(&str, &str)] = &[
            // The spec's own payload, and other values an issuer writes.
            ("", ""),
            (r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#, "null"),
            (r#""maxv":7"#, r#""maxv":0"#),
            (r#""maxv":7"#, r#""maxv":255"#),
            (r#""seats":25"#, r#""seats":null"#),
            (r#""seats":25"#, r#""seats":4294967295"#),
            (r#""serial":424242"#, r#""serial":4294967295"#),
            (r#""exp":"2027-12-31""#, r#""exp":null"#),
            (r#""feat":["ai-assist","export-dwg"]"#, r#""feat":[]"#),
            (r#""order":"SO-1001""#, r#""order":"SO-\"1001\"""#),
            // Escapes, repeated features, whitespace between tokens.
            (r#""prod":"#, r#""pr\u006fd":"#),
            (r#""prod":"acme-cad""#, r#""prod":"acme\u002dcad""#),
            (r#""order":"SO-1001""#, r#""order":"\ud83d\ude00""#),
            (
                r#""feat":["ai-assist","export-dwg"]"#,
                r#""feat":["b","a","b","teleport"]"#,
            ),
            (r#","prod""#, r#" , "prod" "#),
            (r#""host":null}"#, r#""host":null} "#),
        ];
        for (from, to) in one_pass_edits {
            assert!(SPEC_PAYLOAD.contains(from), "{from}");
            let payload = SPEC_PAYLOAD.replacen(from, to, 1);
            let decoded = one_pass(payload.as_bytes());
            assert!(decoded.is_some(), "{payload}");
            assert_eq!(decoded, step_by_step(payload.as_bytes()).ok(), "{payload}");
        }
        // Each left to the step-by-step reading, which accepts some of them.
        let step_by_step_edits: &[(&str, &str)] = &[
            // Arrays where the derived structs would take them.
            (
                SPEC_PAYLOAD,
                r#"[1,"acme-demo-2026","acme-cad","professional",7,["ai-assist"],25,"2026-11-23","2027-12-31",null,424242,null,"SO-1001",null]"#,
            ),
            (
                r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#,
                r#"["C-000042","Zoë Müller GmbH"]"#,
            ),
            (
                r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#,
                r#"{"id":"C-000042"}"#,
            ),
            (
                r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#,
                r#"{"id":"C-1","name":"N","vat":"DE1"}"#,
            ),
            (
                r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#,
                r#"{"id":"C-1","id":"C-2","name":"N"}"#,
            ),
            (
                r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#,
                r#"{"i\u0064":"C-1","name":"N"}"#,
            ),
            (r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#, "7"),
            // Missing, repeated, unknown and escaped keys.
            (r#""maint":null,"#, ""),
            (r#""seats":25,"#, ""),
            (r#""host":null"#, r#""host":null,"host":"H-1""#),
            (r#""v":1,"#, r#""v":2,"v":1,"#),
            (r#""v":1,"#, r#""v":1,"future":{"x":[1,2]},"#),
            (r#""v":1,"#, r#""v":1,"future":"\ud800","#),
            (r#""v":1,"#, r#""v":1,"future":1e999,"#),
            (
                r#""kid":"acme-demo-2026""#,
                r#""kid":"acme\u002ddemo-2026""#,
            ),
            // Values of the wrong type or out of range.
            (r#""v":1"#, r#""v":1.0"#),
            (r#""v":1"#, r#""v":"1""#),
            (r#""v":1"#, r#""v":2"#),
            (r#""kid":"acme-demo-2026""#, r#""kid":"acme-demo-2025""#),
            (r#""kid":"acme-demo-2026""#, r#""kid":null"#),
            (r#""maxv":7"#, r#""maxv":7.0"#),
            (r#""maxv":7"#, r#""maxv":-0"#),
            (r#""maxv":7"#, r#""maxv":256"#),
            (r#""maxv":7"#, r#""maxv":7e0"#),
            (r#""maxv":7"#, r#""maxv":null"#),
            (r#""seats":25"#, r#""seats":0"#),
            (r#""seats":25"#, r#""seats":4294967296"#),
            (r#""serial":424242"#, r#""serial":-1"#),
            (r#""ed":"professional""#, r#""ed":"gold""#),
            (r#""ed":"professional""#, r#""ed":"Professional""#),
            (r#""exp":"2027-12-31""#, r#""exp":"2027-02-30""#),
            (r#""exp":"2027-12-31""#, r#""exp":"2027-12-3\u0031""#),
            (r#""iat":"2026-11-23""#, r#""iat":null"#),
            (r#""feat":["ai-assist","export-dwg"]"#, r#""feat":["a",7]"#),
            (
                r#""feat":["ai-assist","export-dwg"]"#,
                r#""feat":"ai-assist""#,
            ),
            (r#""feat":["ai-assist","export-dwg"]"#, r#""feat":{"a":1}"#),
            (r#""order":"SO-1001""#, r#""order":false"#),
            (r#""order":"SO-1001""#, r#""order":"\udc00""#),
            // Whitespace, trailing bytes, the document's shape.
            ("{", " {"),
            ("{", "\n{"),
            (r#""host":null}"#, r#""host":null}x"#),
            (r#""host":null}"#, r#""host":null}{}"#),
            (r#""host":null}"#, r#""host":null"#),
            (SPEC_PAYLOAD, "{}"),
            (SPEC_PAYLOAD, "null"),
        ];
        for (from, to) in step_by_step_edits {
            assert!(SPEC_PAYLOAD.contains(from), "{from}");
            let payload = SPEC_PAYLOAD.replacen(from, to, 1);
            assert_eq!(one_pass(payload.as_bytes()), None, "{payload}");
        }
        // Invalid UTF-8 anywhere.
        let mut bytes = SPEC_PAYLOAD.as_bytes().to_vec();
        let at = SPEC_PAYLOAD.find("SO-1001").unwrap();
        bytes[at] = 0xff;
        assert!(step_by_step(&bytes).is_err());
        assert_eq!(one_pass(&bytes), None);
    }
}
