//! The typed model on the ABI's wire: entitlements and contexts as `kc_field`
//! sets, validations as decode text (see `keycompat_plugin.h`), and, for
//! Rust plugins of ABI 1.2, the SDK's typed views of them (the host's side
//! of the typed boundary is in `plugin/typed.rs`).
//!
//! The host uses it to call plugins and to read their answers; Rust plugins
//! use it the other way round. Parsing a plugin's answer is strict: anything
//! the header does not allow is an error the host reports as a `crash`
//! finding, because a validator that answers garbage is broken.

use std::borrow::Cow;

use keycompat_plugin_sdk::abi::*;
use keycompat_plugin_sdk::wire::{self, RecordWriter};
use keycompat_plugin_sdk::{Fields, TypedContext, TypedDecode, TypedEntitlement};

use crate::date::Day;
use crate::entitlement::{Customer, CustomerRef, Entitlement, EntitlementRef, Features};
use crate::verdict::{Context, ContextRef, Decoded, Validation, ValidationRef, Verdict, Version};

/// The entitlement as `kc_field`s: absent fields are null.
pub fn entitlement_to_fields(e: &Entitlement) -> Fields {
    let mut f = Fields::new();
    push_entitlement(&mut f, e);
    f
}

/// Appends the entitlement's fields to `f` (a batch puts every item's
/// fields in one set).
pub fn push_entitlement(f: &mut Fields, e: &Entitlement) {
    f.push("product", &e.product);
    f.push("edition", &e.edition);
    f.push_display("max_major", e.max_major);
    f.push_list("features", &e.features);
    if let Some(s) = e.seats {
        f.push_display("seats", s);
    }
    f.push_display("issued", e.issued);
    if let Some(d) = e.expires {
        f.push_display("expires", d);
    }
    if let Some(d) = e.maintenance_until {
        f.push_display("maintenance_until", d);
    }
    f.push_display("serial", e.serial);
    if let Some(c) = &e.customer {
        f.push("customer_id", &c.id);
        f.push("customer_name", &c.name);
    }
    f.push_opt("order_id", e.order_id.as_deref());
    f.push_opt("host_id", e.host_id.as_deref());
}

/// The context as `kc_field`s.
pub fn context_to_fields(c: &Context) -> Fields {
    let mut f = Fields::with_capacity(4, 64);
    push_context(&mut f, c);
    f
}

/// Appends the context's fields to `f` (see [`push_entitlement`]).
pub fn push_context(f: &mut Fields, c: &Context) {
    f.push("product", &c.product);
    f.push_display("version", c.version);
    f.push_display("today", c.today);
    f.push_opt("host_id", c.host_id.as_deref());
}

fn required<'a>(f: &'a Fields, key: &str) -> Result<&'a str, String> {
    f.get_str(key)?.ok_or_else(|| format!("{key}: missing"))
}

fn parse_num<T: std::str::FromStr>(key: &str, s: &str) -> Result<T, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{key}: {s:?} is not a decimal number"));
    }
    s.parse().map_err(|_| format!("{key}: {s} is out of range"))
}

fn parse_day(key: &str, s: &str) -> Result<Day, String> {
    Day::parse(s).map_err(|e| format!("{key}: {e}"))
}

/// Reads an entitlement from `kc_field`s (the Rust plugin side).
pub fn entitlement_from_fields(f: &Fields) -> Result<Entitlement, String> {
    let opt_day = |key| -> Result<Option<Day>, String> {
        f.get_str(key)?.map(|s| parse_day(key, s)).transpose()
    };
    let customer = match (f.get_str("customer_id")?, f.get_str("customer_name")?) {
        (Some(id), Some(name)) => Some(Customer {
            id: id.to_string(),
            name: name.to_string(),
        }),
        (None, None) => None,
        _ => return Err("customer_id: customer_id and customer_name go together".into()),
    };
    Ok(Entitlement {
        product: required(f, "product")?.to_string(),
        edition: required(f, "edition")?.to_string(),
        max_major: parse_num("max_major", required(f, "max_major")?)?,
        features: wire::split_list(required(f, "features")?)
            .map_err(|e| format!("features: {e}"))?
            .into_iter()
            .collect(),
        seats: f
            .get_str("seats")?
            .map(|s| parse_num("seats", s))
            .transpose()?,
        issued: parse_day("issued", required(f, "issued")?)?,
        expires: opt_day("expires")?,
        maintenance_until: opt_day("maintenance_until")?,
        serial: parse_num("serial", required(f, "serial")?)?,
        customer,
        order_id: f.get_str("order_id")?.map(String::from),
        host_id: f.get_str("host_id")?.map(String::from),
    })
}

/// Reads a context from `kc_field`s (the Rust plugin side).
pub fn context_from_fields(f: &Fields) -> Result<Context, String> {
    Ok(Context {
        product: required(f, "product")?.to_string(),
        version: Version::parse(required(f, "version")?).map_err(|e| format!("version: {e}"))?,
        today: parse_day("today", required(f, "today")?)?,
        host_id: f.get_str("host_id")?.map(String::from),
    })
}

fn typed_day(key: &str, days: i32) -> Result<Day, String> {
    Day::from_days_since_epoch(i64::from(days))
        .ok_or_else(|| format!("{key}: day {days} is outside 0000-01-01 ..= 9999-12-31"))
}

/// Borrows an entitlement from the SDK's typed view (the Rust plugin side
/// of ABI 1.2), copying nothing: the features must be in byte order without
/// duplicates, as the ABI says the host gives them.
pub fn entitlement_view_from_typed<'a>(
    t: &'a TypedEntitlement<'a>,
) -> Result<EntitlementRef<'a>, String> {
    Ok(EntitlementRef {
        product: t.product,
        edition: t.edition,
        max_major: t.max_major,
        features: Features::sorted(&t.features)
            .ok_or("features: not in byte order without duplicates")?,
        seats: t.seats,
        issued: typed_day("issued", t.issued)?,
        expires: t.expires.map(|d| typed_day("expires", d)).transpose()?,
        maintenance_until: t
            .maintenance_until
            .map(|d| typed_day("maintenance_until", d))
            .transpose()?,
        serial: t.serial,
        customer: t.customer.map(|(id, name)| CustomerRef { id, name }),
        order_id: t.order_id,
        host_id: t.host_id,
    })
}

/// Borrows a context from the SDK's typed view (the Rust plugin side).
pub fn context_from_typed<'a>(t: &TypedContext<'a>) -> Result<ContextRef<'a>, String> {
    Ok(ContextRef {
        product: t.product,
        version: Version {
            major: t.version.0,
            minor: t.version.1,
        },
        today: typed_day("today", t.today)?,
        host_id: t.host_id,
    })
}

fn typed_days(d: Day) -> i32 {
    // Days of years 0-9999 fit an i32.
    d.days_since_epoch() as i32
}

/// A validation as the SDK's typed answer, borrowing its strings (the Rust
/// plugin side of ABI 1.2).
pub fn validation_to_typed<'a>(v: &'a ValidationRef<'_>) -> TypedDecode<'a> {
    let verdict = Verdict::ALL
        .iter()
        .position(|x| *x == v.verdict)
        .unwrap_or(0) as i32;
    let mut out = TypedDecode {
        verdict,
        format: v.format,
        reason: v.reason.as_deref(),
        ..TypedDecode::default()
    };
    let Some(d) = &v.decoded else {
        return out;
    };
    let mut carried = 0;
    let mut carry = |bit: u32, is: bool| {
        if is {
            carried |= bit;
        }
    };
    carry(KC_HAS_PRODUCT, d.product.is_some());
    carry(KC_HAS_EDITION, d.edition.is_some());
    carry(KC_HAS_MAX_MAJOR, d.max_major.is_some());
    carry(KC_HAS_FEATURES, d.features.is_some());
    carry(KC_HAS_SEATS, d.seats.is_some());
    carry(KC_HAS_ISSUED, d.issued.is_some());
    carry(KC_HAS_EXPIRES, d.expires.is_some());
    carry(KC_HAS_MAINTENANCE_UNTIL, d.maintenance_until.is_some());
    carry(KC_HAS_SERIAL, d.serial.is_some());
    carry(KC_HAS_CUSTOMER, d.customer.is_some());
    carry(KC_HAS_ORDER_ID, d.order_id.is_some());
    carry(KC_HAS_HOST_ID, d.host_id.is_some());
    out.carried = carried;
    let f = &mut out.fields;
    f.product = d.product.unwrap_or_default();
    f.edition = d.edition.unwrap_or_default();
    f.max_major = d.max_major.unwrap_or(0);
    if let Some(fs) = &d.features {
        f.features.clone_from(fs);
    }
    f.seats = d.seats.flatten();
    f.issued = d.issued.map_or(0, typed_days);
    f.expires = d.expires.flatten().map(typed_days);
    f.maintenance_until = d.maintenance_until.flatten().map(typed_days);
    f.serial = d.serial.unwrap_or(0);
    f.customer = d.customer.flatten().map(|c| (c.id, c.name));
    f.order_id = d.order_id.flatten();
    f.host_id = d.host_id.flatten();
    out
}

/// Writes a validation as decode text (the Rust plugin side).
pub fn validation_to_text(v: &Validation) -> String {
    let mut w = RecordWriter::new(v.verdict.as_str());
    if let Some(format) = &v.format {
        w.field("format", Some(format));
    }
    if let Some(reason) = &v.reason {
        w.field("reason", Some(reason));
    }
    if let Some(d) = &v.decoded {
        write_decoded(&mut w, d);
    }
    w.finish()
}

fn write_decoded(w: &mut RecordWriter, d: &Decoded) {
    fn nullable<T: std::fmt::Display>(w: &mut RecordWriter, key: &str, v: &Option<Option<T>>) {
        if let Some(inner) = v {
            w.field_display(key, inner.as_ref());
        }
    }
    if let Some(p) = &d.product {
        w.field("product", Some(p));
    }
    if let Some(e) = &d.edition {
        w.field("edition", Some(e));
    }
    if let Some(m) = d.max_major {
        w.field_display("max_major", Some(m));
    }
    if let Some(fs) = &d.features {
        w.list("features", fs);
    }
    nullable(w, "seats", &d.seats);
    if let Some(i) = d.issued {
        w.field_display("issued", Some(i));
    }
    nullable(w, "expires", &d.expires);
    nullable(w, "maintenance_until", &d.maintenance_until);
    if let Some(s) = d.serial {
        w.field_display("serial", Some(s));
    }
    if let Some(c) = &d.customer {
        match c {
            Some(c) => {
                w.field("customer_id", Some(&c.id));
                w.field("customer_name", Some(&c.name));
            }
            None => {
                w.field("customer_id", None);
                w.field("customer_name", None);
            }
        }
    }
    nullable(w, "order_id", &d.order_id);
    nullable(w, "host_id", &d.host_id);
}

/// Reads a plugin's decode text (the host side). Every violation of the
/// header's grammar is an error naming the line.
pub fn validation_from_text(text: &str) -> Result<Validation, String> {
    let records = wire::parse_records(text)?;
    let first = &records[0];
    if first.key != "verdict" {
        return Err(format!(
            "the first decode line is {:?}, not the verdict",
            first.key
        ));
    }
    let verdict = first
        .value
        .and_then(Verdict::parse)
        .ok_or_else(|| format!("unknown verdict {:?}", first.value.unwrap_or("")))?;
    let mut v = Validation {
        verdict,
        format: None,
        reason: None,
        decoded: None,
    };
    let mut d = Decoded::default();
    let mut any_field = false;
    let mut seen: Vec<&str> = Vec::with_capacity(records.len());
    let mut customer: (Option<Option<String>>, Option<Option<String>>) = (None, None);
    for (i, r) in records.iter().enumerate().skip(1) {
        let line = i + 1;
        if seen.contains(&r.key) {
            return Err(format!("decode line {line}: {:?} appears twice", r.key));
        }
        seen.push(r.key);
        // Every value is unescaped (its escapes checked) whatever its field,
        // and copied only when it has escapes.
        let value: Option<Cow<str>> = match r.value {
            Some(raw) if raw.contains('\\') => {
                Some(Cow::Owned(wire::unescape(raw).map_err(|e| {
                    format!("decode line {line} ({}): {e}", r.key)
                })?))
            }
            other => other.map(Cow::Borrowed),
        };
        let need = |what: &str| -> Result<String, String> {
            value
                .as_deref()
                .map(str::to_owned)
                .ok_or_else(|| format!("decode line {line}: {what} cannot be null"))
        };
        // Numbers and dates need no unescaped copy.
        let raw = |what: &str| -> Result<&str, String> {
            r.value
                .ok_or_else(|| format!("decode line {line}: {what} cannot be null"))
        };
        let ctx = |e: String| format!("decode line {line}: {e}");
        match r.key {
            "format" => v.format = Some(need("format")?),
            "reason" => v.reason = Some(need("reason")?),
            key => {
                any_field = true;
                match key {
                    "product" => d.product = Some(need(key)?),
                    "edition" => d.edition = Some(need(key)?),
                    "max_major" => d.max_major = Some(parse_num(key, raw(key)?).map_err(ctx)?),
                    "features" => {
                        let raw = r.value.ok_or_else(|| {
                            format!("decode line {line}: features cannot be null")
                        })?;
                        d.features = Some(
                            wire::split_list(raw)
                                .map_err(|e| ctx(format!("features: {e}")))?
                                .into_iter()
                                .collect(),
                        )
                    }
                    "seats" => {
                        d.seats = Some(
                            value
                                .as_deref()
                                .map(|s| parse_num(key, s))
                                .transpose()
                                .map_err(ctx)?,
                        )
                    }
                    "issued" => d.issued = Some(parse_day(key, raw(key)?).map_err(ctx)?),
                    "expires" => {
                        d.expires = Some(
                            value
                                .as_deref()
                                .map(|s| parse_day(key, s))
                                .transpose()
                                .map_err(ctx)?,
                        )
                    }
                    "maintenance_until" => {
                        d.maintenance_until = Some(
                            value
                                .as_deref()
                                .map(|s| parse_day(key, s))
                                .transpose()
                                .map_err(ctx)?,
                        )
                    }
                    "serial" => d.serial = Some(parse_num(key, raw(key)?).map_err(ctx)?),
                    "customer_id" => customer.0 = Some(value.map(Cow::into_owned)),
                    "customer_name" => customer.1 = Some(value.map(Cow::into_owned)),
                    "order_id" => d.order_id = Some(value.map(Cow::into_owned)),
                    "host_id" => d.host_id = Some(value.map(Cow::into_owned)),
                    other => return Err(format!("decode line {line}: unknown field {other:?}")),
                }
            }
        }
    }
    d.customer = match customer {
        (None, None) => None,
        (Some(Some(id)), Some(Some(name))) => Some(Some(Customer { id, name })),
        (Some(None), Some(None)) => Some(None),
        _ => {
            return Err(
                "customer_id and customer_name must both be set, both null, or both absent".into(),
            );
        }
    };
    if any_field {
        if !verdict.decodes() {
            return Err(format!("verdict {verdict} comes with decoded fields"));
        }
        v.decoded = Some(d);
    } else if verdict.decodes() {
        return Err(format!(
            "verdict {verdict} comes without the decoded fields it requires"
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Entitlement {
        Entitlement::from_json(r#"{"product":"acme-cad","edition":"professional","max_major":7,"features":["export-dwg","render-gpu"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":{"id":"C-000042","name":"Zoë\nMüller, GmbH"},"order_id":"SO-1001","host_id":null}"#).unwrap()
    }

    #[test]
    fn a_typed_entitlement_is_borrowed_unchanged_when_its_features_are_sorted() {
        let e = example();
        let features: Vec<&str> = e.features.iter().map(String::as_str).collect();
        let days = |d: Day| d.days_since_epoch() as i32;
        let mut typed = TypedEntitlement {
            product: &e.product,
            edition: &e.edition,
            max_major: e.max_major,
            features,
            seats: e.seats,
            issued: days(e.issued),
            expires: e.expires.map(days),
            maintenance_until: e.maintenance_until.map(days),
            serial: e.serial,
            customer: e
                .customer
                .as_ref()
                .map(|c| (c.id.as_str(), c.name.as_str())),
            order_id: e.order_id.as_deref(),
            host_id: e.host_id.as_deref(),
        };
        let view = entitlement_view_from_typed(&typed).unwrap();
        assert_eq!(view.to_entitlement(), e);
        assert_eq!(
            view.check(&crate::catalog::Catalog::acme()),
            e.check(&crate::catalog::Catalog::acme())
        );
        typed.features.reverse();
        assert_eq!(
            entitlement_view_from_typed(&typed).unwrap_err(),
            "features: not in byte order without duplicates"
        );
        typed.features = vec!["export-dwg", "export-dwg"];
        assert!(entitlement_view_from_typed(&typed).is_err());
    }

    #[test]
    fn entitlements_cross_the_wire_unchanged() {
        let e = example();
        assert_eq!(
            entitlement_from_fields(&entitlement_to_fields(&e)).unwrap(),
            e
        );
    }

    #[test]
    fn validations_cross_the_wire_unchanged() {
        let v = Validation {
            verdict: Verdict::Expired,
            format: Some("acme-ed1".into()),
            reason: None,
            decoded: Some(Decoded::from_entitlement(&example())),
        };
        assert_eq!(validation_from_text(&validation_to_text(&v)).unwrap(), v);
        let r = Validation::reject(Verdict::Malformed, None, "too short");
        assert_eq!(validation_from_text(&validation_to_text(&r)).unwrap(), r);
    }

    #[test]
    fn garbage_decodes_are_errors() {
        for bad in [
            "",
            "product=acme-cad\n",
            "verdict=great\n",
            "verdict=valid\nseats=many\n",
            "verdict=valid\nseats=1\nseats=2\n",
            "verdict=malformed\nproduct=acme-cad\n",
            "verdict=valid\nwhat=1\n",
            "verdict=valid\ncustomer_id=C\n",
            "verdict=valid\n",
            "verdict=expired\nformat=acme-lk1\nreason=x\n",
        ] {
            assert!(validation_from_text(bad).is_err(), "{bad:?}");
        }
        // A broken escape is reported as such, in any field, before the
        // field's own checks.
        for (bad, error) in [
            (
                "verdict=valid\nmax_major=7\\q\n",
                "decode line 2 (max_major): unknown escape \\q",
            ),
            (
                "verdict=valid\nwhat=\\\n",
                "decode line 2 (what): value ends in a lone backslash",
            ),
            (
                "verdict=valid\nproduct=a\\,b\n",
                "decode line 2 (product): unknown escape \\,",
            ),
        ] {
            assert_eq!(validation_from_text(bad), Err(error.to_string()));
        }
    }
}
