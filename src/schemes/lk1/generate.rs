//! Issuing acme-lk1 keys: an entitlement's payload, refusing (naming the
//! field) whatever the format cannot carry, sealed with the MAC.

use crate::date::Day;
use crate::entitlement::{Entitlement, EntitlementRef};
use crate::implementation::{CallFailure, FailureKind, GenerateFailure};

use super::codec::Lk1;
use super::mac::{self, MAC_BITS};
use super::payload::{
    MAX_EXPIRY_DAYS, MAX_SEATS, MAX_SERIAL, Payload, VERSION, WIDTHS, epoch, mask,
};
use super::text::format_symbols;

impl Lk1 {
    /// The key for an entitlement, or a refusal naming the first field
    /// (in SCHEMES.md's order) that acme-lk1 cannot carry.
    pub fn encode(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
        self.encode_view(&e.view())
    }

    /// [`Lk1::encode`] of a borrowed entitlement.
    pub fn encode_view(&self, e: &EntitlementRef<'_>) -> Result<String, GenerateFailure> {
        Ok(self.seal(&self.payload_for(e)?))
    }

    /// The key holding exactly `payload` with a correct MAC, whatever its
    /// fields say (for tests and tampering: e.g. a version-2 key).
    pub fn seal(&self, payload: &Payload) -> String {
        let bits = payload.pack();
        let tag = mac::tag(&self.mac_key, bits);
        let tag = tag.iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
        format_symbols((bits << MAC_BITS) | tag)
    }

    /// The payload of an entitlement, checking each field it carries.
    pub fn payload_for(&self, e: &EntitlementRef<'_>) -> Result<Payload, GenerateFailure> {
        let product = self.product_id(e.product)?;
        let edition = self.edition_code(e.edition)?;
        let features = self.feature_bits(e.features.iter())?;
        let seats = seats(e.seats)?;
        let expiry_days = expiry_days(e.expires)?;
        let serial = serial(e.serial)?;
        if e.host_id.is_some() {
            return Err(refused(
                "host_id",
                "acme-lk1 keys cannot be node-locked; dropping the lock would grant more than was sold",
            ));
        }
        Ok(Payload {
            ver: VERSION,
            product,
            edition,
            max_major: e.max_major,
            features,
            seats,
            expiry_days,
            serial,
            reserved: 0,
        })
    }

    fn product_id(&self, slug: &str) -> Result<u8, GenerateFailure> {
        let product = self
            .catalog
            .product(slug)
            .ok_or_else(|| refused("product", format!("{slug:?} is not a known product")))?;
        product
            .legacy_id
            .ok_or_else(|| refused("product", format!("{slug} has no legacy product id")))
    }

    fn edition_code(&self, edition: &str) -> Result<u8, GenerateFailure> {
        let code = self.catalog.edition_code(edition).ok_or_else(|| {
            GenerateFailure::Failed(CallFailure::new(
                FailureKind::BadArgument,
                format!("edition: {edition:?} is not an edition of the catalog"),
            ))
        })?;
        if u128::from(code) > mask(WIDTHS[2]) {
            return Err(refused(
                "edition",
                format!("{edition} has code {code}, more than acme-lk1 can carry (7)"),
            ));
        }
        Ok(code)
    }

    fn feature_bits<'a>(
        &self,
        names: impl Iterator<Item = &'a str>,
    ) -> Result<u16, GenerateFailure> {
        let mut bitmap = 0u16;
        for name in names {
            let Some(feature) = self.catalog.feature(name) else {
                return Err(refused(
                    "features",
                    format!("{name:?} is not a known feature and has no legacy bit"),
                ));
            };
            let bit = feature
                .legacy_bit
                .ok_or_else(|| refused("features", format!("{name} has no legacy bit")))?;
            bitmap |= 1u16.checked_shl(u32::from(bit)).ok_or_else(|| {
                refused(
                    "features",
                    format!("{name} has legacy bit {bit}, outside the 16-bit bitmap"),
                )
            })?;
        }
        Ok(bitmap)
    }
}

fn refused(field: &str, reason: impl Into<String>) -> GenerateFailure {
    GenerateFailure::Refused {
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn seats(seats: Option<u32>) -> Result<u16, GenerateFailure> {
    match seats {
        None => Ok(0),
        Some(0) => Err(GenerateFailure::Failed(CallFailure::new(
            FailureKind::BadArgument,
            "seats: 0 is not a seat count (at least 1; null means unlimited)",
        ))),
        Some(n) if n > MAX_SEATS => Err(refused(
            "seats",
            format!("{n} is more than acme-lk1 can carry ({MAX_SEATS})"),
        )),
        // n <= 1023 here.
        Some(n) => Ok(n as u16),
    }
}

fn expiry_days(expires: Option<Day>) -> Result<u16, GenerateFailure> {
    let Some(day) = expires else { return Ok(0) };
    let days = day.days_since(epoch());
    if days < 1 {
        return Err(refused(
            "expires",
            format!("{day} is before 2000-01-02, the earliest expiry acme-lk1 can carry"),
        ));
    }
    if days > MAX_EXPIRY_DAYS {
        return Err(refused(
            "expires",
            format!("{day} is after 2044-11-08, the latest expiry acme-lk1 can carry"),
        ));
    }
    // 1 <= days <= 16383 here.
    Ok(days as u16)
}

fn serial(serial: u32) -> Result<u32, GenerateFailure> {
    if serial > MAX_SERIAL {
        return Err(refused(
            "serial",
            format!("{serial} is more than acme-lk1 can carry ({MAX_SERIAL})"),
        ));
    }
    Ok(serial)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::catalog::Catalog;
    use crate::schemes::lk1::testing::{WORKED, codec, ctx, day, worked};
    use crate::verdict::{Decoded, Verdict};

    #[test]
    fn reproduces_the_worked_example() {
        let c = codec();
        let p = c.payload_for(&worked().view()).unwrap();
        assert_eq!(p.features, 0x002D);
        assert_eq!(p.expiry_days, 10226);
        assert_eq!(p.edition, 2);
        assert_eq!(c.encode(&worked()).unwrap(), WORKED);
    }

    fn round_trip(e: &Entitlement) {
        let c = codec();
        let key = c.encode(e).unwrap();
        assert_eq!(key.len(), 29, "{key}");
        let context = ctx(&e.product, 0, "2000-01-01");
        let v = c.decode(key.as_bytes(), &context);
        assert_eq!(v.verdict, Verdict::Valid, "{e} {key} {:?}", v.reason);
        let d = v.decoded.unwrap();
        let full = Decoded::from_entitlement(e);
        assert_eq!(full.diff(&d, None), vec![], "{e}");
        assert_eq!(d.carried().len(), 8);
    }

    #[test]
    fn entitlements_round_trip() {
        let all_legacy: BTreeSet<String> = Catalog::acme()
            .features
            .iter()
            .filter(|f| f.legacy_bit.is_some())
            .map(|f| f.slug.clone())
            .collect();
        let base = worked();
        let cases = [
            Entitlement {
                expires: None,
                ..base.clone()
            },
            Entitlement {
                seats: None,
                ..base.clone()
            },
            Entitlement {
                features: BTreeSet::new(),
                ..base.clone()
            },
            Entitlement {
                features: all_legacy.clone(),
                ..base.clone()
            },
            Entitlement {
                product: "acme-sim".into(),
                edition: "enterprise".into(),
                max_major: 255,
                features: all_legacy,
                seats: Some(MAX_SEATS),
                expires: Some(day("2044-11-08")),
                serial: MAX_SERIAL,
                ..base.clone()
            },
            Entitlement {
                product: "acme-viewer".into(),
                edition: "trial".into(),
                max_major: 0,
                seats: Some(1),
                expires: Some(day("2000-01-02")),
                serial: 0,
                ..base.clone()
            },
            Entitlement {
                seats: None,
                expires: None,
                serial: 1,
                ..base
            },
        ];
        for e in &cases {
            round_trip(e);
        }
    }

    #[test]
    fn refusals_name_the_field() {
        let c = codec();
        let base = worked();
        let with = |f: &dyn Fn(&mut Entitlement)| {
            let mut e = base.clone();
            f(&mut e);
            e
        };
        let cases: Vec<(Entitlement, &str)> = vec![
            (with(&|e| e.product = "acme-cloud".into()), "product"),
            (
                with(&|e| {
                    e.features.insert("ai-assist".into());
                }),
                "features",
            ),
            (with(&|e| e.seats = Some(1024)), "seats"),
            (with(&|e| e.expires = Some(day("2000-01-01"))), "expires"),
            (with(&|e| e.expires = Some(day("2044-11-09"))), "expires"),
            (with(&|e| e.serial = MAX_SERIAL + 1), "serial"),
            (with(&|e| e.serial = u32::MAX), "serial"),
            (with(&|e| e.host_id = Some("H-1".into())), "host_id"),
            // The first field in SCHEMES.md's order wins.
            (
                with(&|e| {
                    e.product = "acme-cloud".into();
                    e.seats = Some(5000);
                }),
                "product",
            ),
            (
                with(&|e| {
                    e.seats = Some(5000);
                    e.host_id = Some("H".into());
                }),
                "seats",
            ),
        ];
        for (e, field) in cases {
            match c.encode(&e) {
                Err(GenerateFailure::Refused { field: f, reason }) => {
                    assert_eq!(f, field, "{reason}");
                    assert!(!reason.is_empty());
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let Err(GenerateFailure::Refused { reason, .. }) =
            c.encode(&with(&|e| e.product = "acme-cloud".into()))
        else {
            panic!()
        };
        assert_eq!(reason, "acme-cloud has no legacy product id");
        let Err(GenerateFailure::Refused { reason, .. }) = c.encode(&with(&|e| {
            e.features.insert("ai-assist".into());
        })) else {
            panic!()
        };
        assert_eq!(reason, "ai-assist has no legacy bit");
    }

    #[test]
    fn fields_lk1_does_not_carry_are_ignored() {
        let mut e = worked();
        e.customer = Some(crate::entitlement::Customer {
            id: "C".into(),
            name: "N".into(),
        });
        e.order_id = None;
        e.issued = day("2020-01-01");
        e.maintenance_until = None;
        assert_eq!(codec().encode(&e).unwrap(), WORKED);
    }
}
