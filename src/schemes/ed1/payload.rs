//! The acme-ed1 payload, compact JSON with SCHEMES.md's keys in SCHEMES.md's
//! order: written from an entitlement, and read back step by step (steps 4 to
//! 6) so that each reason says precisely what is malformed.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::{Customer, CustomerRef, EntitlementRef, Features};
use crate::verdict::Decoded;

/// The only payload version (`v`) this codec reads and writes.
pub const VERSION: u64 = 1;

/// The payload as written: field order is the wire order of SCHEMES.md.
#[derive(Serialize)]
struct WirePayload<'a> {
    v: u64,
    kid: &'a str,
    prod: &'a str,
    ed: &'a str,
    maxv: u8,
    feat: Features<'a>,
    seats: Option<u32>,
    iat: Day,
    exp: Option<Day>,
    maint: Option<Day>,
    serial: u32,
    cust: Option<CustomerRef<'a>>,
    order: Option<&'a str>,
    host: Option<&'a str>,
}

/// The payload of an entitlement, signed by `kid`, as compact JSON.
pub(super) fn to_json(kid: &str, e: &EntitlementRef<'_>) -> serde_json::Result<Vec<u8>> {
    let payload = WirePayload {
        v: VERSION,
        kid,
        prod: e.product,
        ed: e.edition,
        maxv: e.max_major,
        feat: e.features,
        seats: e.seats,
        iat: e.issued,
        exp: e.expires,
        maint: e.maintenance_until,
        serial: e.serial,
        cust: e.customer,
        order: e.order_id,
        host: e.host_id,
    };
    serde_json::to_vec(&payload)
}

/// How every payload written as SCHEMES.md writes it starts, up to the
/// value of `kid`.
const KID_PREFIX: &[u8] = br#"{"v":1,"kid":""#;

/// The `kid` of a payload that starts as SCHEMES.md writes it
/// (`{"v":1,"kid":"` and a kid without escapes), read without parsing the
/// payload; `None` for any other payload. Only a hint of which trusted key
/// to try first (step 3): step 5 judges the `kid` of the parsed payload.
pub(super) fn peek_kid(payload: &[u8]) -> Option<&[u8]> {
    let rest = payload.strip_prefix(KID_PREFIX)?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    (rest[end] == b'"').then(|| &rest[..end])
}

/// Step 4: the payload is a JSON object.
pub(super) fn parse_object(payload: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(format!(
            "payload is {}, not a JSON object",
            describe(&other)
        )),
        Err(err) => Err(format!("payload is not JSON: {err}")),
    }
}

/// Step 5: `v` is 1 and `kid` names the key that verified.
pub(super) fn check_header(o: &Map<String, Value>, verified_by: &str) -> Result<(), String> {
    match o.get("v") {
        Some(Value::Number(n)) if n.as_u64() == Some(VERSION) => {}
        Some(other) => return Err(format!("format version `v` is {other}, expected {VERSION}")),
        None => return Err(format!("format version `v` is missing, expected {VERSION}")),
    }
    match o.get("kid") {
        Some(Value::String(kid)) if kid == verified_by => Ok(()),
        Some(other) => Err(format!(
            "`kid` is {other}, but the key that verified is `{verified_by}`"
        )),
        None => Err(format!(
            "`kid` is missing; the key that verified is `{verified_by}`"
        )),
    }
}

/// Step 6: the entitlement of a payload whose header checked out, with its
/// edition checked against `catalog`.
pub(super) fn read(catalog: &Catalog, o: &Map<String, Value>) -> Result<Decoded, String> {
    let edition = string(o, "ed")?;
    if catalog.edition_code(&edition).is_none() {
        return Err(format!(
            "`ed` is {edition:?}, not an edition of the catalog"
        ));
    }
    let seats = match field(o, "seats")? {
        Value::Null => None,
        _ => match integer(o, "seats", u64::from(u32::MAX))? {
            0 => return Err("`seats` is 0, expected null or 1 or more".into()),
            n => Some(n as u32),
        },
    };
    Ok(Decoded {
        product: Some(string(o, "prod")?),
        edition: Some(edition),
        max_major: Some(integer(o, "maxv", u64::from(u8::MAX))? as u8),
        features: Some(features(o)?),
        seats: Some(seats),
        issued: Some(date(o, "iat")?),
        expires: Some(nullable(o, "exp", date)?),
        maintenance_until: Some(nullable(o, "maint", date)?),
        serial: Some(integer(o, "serial", u64::from(u32::MAX))? as u32),
        customer: Some(nullable(o, "cust", customer)?),
        order_id: Some(nullable(o, "order", string)?),
        host_id: Some(nullable(o, "host", string)?),
    })
}

/// "a string", "null", ...: what a JSON value is, for reasons (also the
/// export readers').
pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a Value, String> {
    o.get(key).ok_or_else(|| format!("`{key}` is missing"))
}

fn string(o: &Map<String, Value>, key: &str) -> Result<String, String> {
    match field(o, key)? {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("`{key}` is {}, expected a string", describe(other))),
    }
}

/// An integer from 0 to `max`.
fn integer(o: &Map<String, Value>, key: &str, max: u64) -> Result<u64, String> {
    match field(o, key)? {
        Value::Number(n) => n
            .as_u64()
            .filter(|&v| v <= max)
            .ok_or_else(|| format!("`{key}` is {n}, expected an integer from 0 to {max}")),
        other => Err(format!("`{key}` is {}, expected a number", describe(other))),
    }
}

fn date(o: &Map<String, Value>, key: &str) -> Result<Day, String> {
    let text = string(o, key)?;
    Day::parse(&text).map_err(|e| format!("`{key}`: {e}"))
}

/// `read` of the field, or `None` when it is null (but present).
fn nullable<T>(
    o: &Map<String, Value>,
    key: &str,
    read: fn(&Map<String, Value>, &str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match field(o, key)? {
        Value::Null => Ok(None),
        _ => read(o, key).map(Some),
    }
}

/// `feat`: an array of strings; names the catalog does not know are kept.
fn features(o: &Map<String, Value>) -> Result<BTreeSet<String>, String> {
    let Value::Array(items) = field(o, "feat")? else {
        return Err("`feat` is not an array".into());
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "`feat` holds {}, expected strings",
                describe(other)
            )),
        })
        .collect()
}

/// `cust`: `{"id": string, "name": string}` (other keys are ignored).
fn customer(o: &Map<String, Value>, key: &str) -> Result<Customer, String> {
    let Value::Object(c) = field(o, key)? else {
        return Err(format!("`{key}` is not null or an object"));
    };
    let part = |k: &str| string(c, k).map_err(|e| format!("`{key}`: {e}"));
    Ok(Customer {
        id: part("id")?,
        name: part("name")?,
    })
}

#[cfg(test)]
mod tests {
    use crate::entitlement::Features;
    use crate::schemes::ed1::codec::FORMAT;
    use crate::schemes::ed1::testing::{cad, codec, signed_with, spec, verdict};
    use crate::verdict::Verdict;

    #[test]
    fn sorted_features_write_the_payload_a_set_writes() {
        let e = spec();
        assert!(e.features.len() > 1);
        let slugs: Vec<&str> = e.features.iter().map(String::as_str).collect();
        let sorted = super::EntitlementRef {
            features: Features::sorted(&slugs).unwrap(),
            ..e.view()
        };
        assert_eq!(
            super::to_json("k", &sorted).unwrap(),
            super::to_json("k", &e.view()).unwrap()
        );
    }

    #[test]
    fn header_errors_are_unsupported_format() {
        for (from, to) in [
            (r#""v":1"#, r#""v":2"#),
            (r#""v":1"#, r#""v":"1""#),
            (r#""v":1"#, r#""v":1.0"#),
            (r#""v":1,"#, ""),
            (r#""kid":"acme-demo-2026","#, ""),
            (r#""kid":"acme-demo-2026""#, r#""kid":"acme-demo-2025""#),
            (r#""kid":"acme-demo-2026""#, r#""kid":null"#),
        ] {
            let v = codec().decode(signed_with(from, to).as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::UnsupportedFormat, Some(FORMAT)),
                "{to}"
            );
        }
    }

    #[test]
    fn payloads_that_are_not_objects_are_malformed() {
        for payload in [
            "[1]",
            "1",
            "null",
            "\"key\"",
            "{",
            "",
            "{\"v\":1}x",
            "\u{fffd}",
        ] {
            let key = codec().sign_payload(payload.as_bytes()).unwrap();
            let v = codec().decode(key.as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Malformed, Some(FORMAT)),
                "{payload}"
            );
        }
        let key = codec().sign_payload(b"{\"v\":1,\xff}").unwrap();
        assert_eq!(verdict(key), Verdict::Malformed);
        // Not an object wins over a wrong version: step 4 comes before step 5.
        assert_eq!(
            verdict(codec().sign_payload(b"[2]").unwrap()),
            Verdict::Malformed
        );
    }

    #[test]
    fn payloads_of_the_wrong_form_are_malformed() {
        let cases = [
            (
                r#""ed":"professional""#,
                r#""ed":"gold""#,
                "`ed` is \"gold\", not an edition of the catalog",
            ),
            (
                r#""seats":25"#,
                r#""seats":0"#,
                "`seats` is 0, expected null or 1 or more",
            ),
            (
                r#""seats":25"#,
                r#""seats":4294967296"#,
                "`seats` is 4294967296, expected an integer from 0 to 4294967295",
            ),
            (
                r#""seats":25"#,
                r#""seats":-1"#,
                "`seats` is -1, expected an integer from 0 to 4294967295",
            ),
            (
                r#""seats":25"#,
                r#""seats":"25""#,
                "`seats` is a string, expected a number",
            ),
            (
                r#""maxv":7"#,
                r#""maxv":256"#,
                "`maxv` is 256, expected an integer from 0 to 255",
            ),
            (
                r#""maxv":7"#,
                r#""maxv":7.5"#,
                "`maxv` is 7.5, expected an integer from 0 to 255",
            ),
            (
                r#""serial":424242"#,
                r#""serial":4294967296"#,
                "`serial` is 4294967296, expected an integer from 0 to 4294967295",
            ),
            (
                r#""exp":"2027-12-31""#,
                r#""exp":"2027-02-30""#,
                "`exp`: \"2027-02-30\" is not a real calendar date",
            ),
            (
                r#""iat":"2026-11-23""#,
                r#""iat":null"#,
                "`iat` is null, expected a string",
            ),
            (r#""iat":"2026-11-23","#, "", "`iat` is missing"),
            (r#""maint":null,"#, "", "`maint` is missing"),
            (
                r#""host":null"#,
                r#""host":1"#,
                "`host` is a number, expected a string",
            ),
            (
                r#""prod":"acme-cad""#,
                r#""prod":["acme-cad"]"#,
                "`prod` is an array, expected a string",
            ),
            (
                r#"["ai-assist","export-dwg"]"#,
                r#""ai-assist""#,
                "`feat` is not an array",
            ),
            (
                r#"["ai-assist","export-dwg"]"#,
                r#"["ai-assist",7]"#,
                "`feat` holds a number, expected strings",
            ),
            (
                r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#,
                r#"{"id":"C-000042"}"#,
                "`cust`: `name` is missing",
            ),
            (
                r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#,
                r#""C-000042""#,
                "`cust` is not null or an object",
            ),
            (
                r#""order":"SO-1001""#,
                r#""order":false"#,
                "`order` is a boolean, expected a string",
            ),
        ];
        for (from, to, reason) in cases {
            let v = codec().decode(signed_with(from, to).as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Malformed, Some(FORMAT)),
                "{to}"
            );
            assert_eq!(
                v.reason.as_deref(),
                Some(format!("payload: {reason}").as_str())
            );
            assert!(v.decoded.is_none());
        }
    }

    #[test]
    fn unknown_keys_and_features_are_kept_out_of_the_way() {
        let extra = signed_with(r#""v":1,"#, r#""v":1,"future":{"x":[1,2]},"#);
        assert_eq!(verdict(extra), Verdict::Valid);
        let cust_extra = signed_with(
            r#""name":"Zoë Müller GmbH""#,
            r#""name":"Zoë Müller GmbH","vat":"DE1""#,
        );
        assert_eq!(verdict(cust_extra), Verdict::Valid);
        let key = signed_with(
            r#"["ai-assist","export-dwg"]"#,
            r#"["export-dwg","teleport"]"#,
        );
        let v = codec().decode(key.as_bytes(), &cad());
        assert_eq!(v.verdict, Verdict::Valid);
        let features = v.decoded.unwrap().features.unwrap();
        assert_eq!(
            features,
            ["export-dwg", "teleport"].map(String::from).into()
        );
    }
}
