//! Validating acme-lk1 keys: normalised symbols, then the MAC, the version,
//! the payload's own rules and the context checks, in SCHEMES.md's order.

use std::borrow::Cow;

use crate::verdict::{Context, ContextRef, DecodedRef, Validation, ValidationRef, Verdict};

use super::codec::{FORMAT, Lk1};
use super::mac::{self, MAC_BITS, MAC_BYTES};
use super::payload::{Payload, VERSION, epoch, mask};
use super::text::parse_symbols;

impl Lk1 {
    /// Validates key bytes in a context (SCHEMES.md, "Validating").
    pub fn decode(&self, key: &[u8], ctx: &Context) -> Validation {
        self.decode_view(key, &ctx.view()).to_validation()
    }

    /// [`Lk1::decode`] in a borrowed context, its decode borrowing the
    /// codec's names.
    pub fn decode_view(&self, key: &[u8], ctx: &ContextRef<'_>) -> ValidationRef<'_> {
        let value = match parse_symbols(key) {
            Ok(v) => v,
            Err(reason) => return ValidationRef::reject(Verdict::Malformed, None, reason),
        };
        let bits = value >> MAC_BITS;
        let tag = ((value & mask(MAC_BITS)) as u64).to_be_bytes();
        if !mac::matches(&self.mac_key, bits, &tag[8 - MAC_BYTES..]) {
            return ValidationRef::reject(Verdict::BadSignature, None, "MAC does not match");
        }
        let p = Payload::unpack(bits);
        if p.ver != VERSION {
            let reason = format!("format version {}, expected {VERSION}", p.ver);
            return ValidationRef::reject(Verdict::UnsupportedFormat, None, reason);
        }
        match self.decoded(&p) {
            Ok(decoded) => self.judge(&p, decoded, ctx),
            Err(reason) => ValidationRef::reject(Verdict::Malformed, Some(FORMAT), reason),
        }
    }

    /// The entitlement a version-1 payload carries, or why it is malformed.
    pub(super) fn decoded(&self, p: &Payload) -> Result<DecodedRef<'_>, String> {
        if p.reserved != 0 {
            return Err(format!("reserved bits are {}, expected 0", p.reserved));
        }
        let edition = self
            .catalog
            .editions
            .get(usize::from(p.edition))
            .ok_or_else(|| format!("edition code {} is not defined", p.edition))?;
        let expires = match p.expiry_days {
            0 => None,
            n => Some(
                epoch()
                    .add_days(i64::from(n))
                    .ok_or_else(|| format!("expiry day {n} is out of range"))?,
            ),
        };
        let features = (0..16)
            .filter(|bit| p.features & (1 << bit) != 0)
            .filter_map(|bit| self.bit_names.get(bit).map(String::as_str))
            .collect();
        Ok(DecodedRef {
            product: self
                .product_names
                .get(usize::from(p.product))
                .map(String::as_str),
            edition: Some(edition),
            max_major: Some(p.max_major),
            features: Some(features),
            seats: Some((p.seats != 0).then_some(u32::from(p.seats))),
            expires: Some(expires),
            serial: Some(p.serial),
            host_id: Some(None),
            ..DecodedRef::default()
        })
    }

    /// The context checks, in SCHEMES.md's order (never `host_mismatch`).
    fn judge<'a>(
        &self,
        p: &Payload,
        decoded: DecodedRef<'a>,
        ctx: &ContextRef<'_>,
    ) -> ValidationRef<'a> {
        let context_id = self.catalog.product(ctx.product).and_then(|c| c.legacy_id);
        let key_product = decoded.product.unwrap_or_default();
        let expires = decoded.expires.flatten();
        let (verdict, reason) = if context_id != Some(p.product) {
            let reason = match context_id {
                None => format!("{} has no legacy product id", ctx.product),
                Some(_) => format!("key is for {key_product}, not {}", ctx.product),
            };
            (Verdict::WrongProduct, Some(reason))
        } else if ctx.version.major > u32::from(p.max_major) {
            let reason = format!(
                "key covers up to major {}, not {}",
                p.max_major, ctx.version
            );
            (Verdict::VersionNotCovered, Some(reason))
        } else if let Some(day) = expires.filter(|&d| ctx.today > d) {
            (Verdict::Expired, Some(format!("expired after {day}")))
        } else {
            (Verdict::Valid, None)
        };
        ValidationRef {
            verdict,
            format: Some(FORMAT),
            reason: reason.map(Cow::Owned),
            decoded: Some(decoded),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::entitlement::Entitlement;
    use crate::schemes::demo;
    use crate::schemes::lk1::testing::{WORKED, cad, codec, ctx, worked};
    use crate::schemes::lk1::text::ALPHABET;
    use crate::verdict::Decoded;

    #[test]
    fn the_worked_example_decodes_to_what_lk1_carries() {
        let v = codec().decode(WORKED.as_bytes(), &cad());
        assert_eq!(v.verdict, Verdict::Valid);
        assert_eq!(v.format.as_deref(), Some(FORMAT));
        assert_eq!(v.reason, None);
        let e = worked();
        let d = v.decoded.unwrap();
        assert_eq!(
            d,
            Decoded {
                issued: None,
                maintenance_until: None,
                customer: None,
                order_id: None,
                ..Decoded::from_entitlement(&e)
            }
        );
        assert_eq!(d.host_id, Some(None));
    }

    #[test]
    fn other_versions_and_bad_structure_are_rejected_after_the_mac() {
        let c = codec();
        let good = c.payload_for(&worked().view()).unwrap();
        let v2 = c.seal(&Payload { ver: 2, ..good });
        let v = c.decode(v2.as_bytes(), &cad());
        assert_eq!(
            (v.verdict, v.format.as_deref()),
            (Verdict::UnsupportedFormat, None)
        );
        for bad in [
            Payload {
                reserved: 1,
                ..good
            },
            Payload { edition: 4, ..good },
        ] {
            let v = c.decode(c.seal(&bad).as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Malformed, Some(FORMAT))
            );
            assert!(v.decoded.is_none());
        }
        let other = Lk1::new(&Catalog::acme(), b"another secret").unwrap();
        assert_eq!(
            other.decode(WORKED.as_bytes(), &cad()).verdict,
            Verdict::BadSignature
        );
    }

    #[test]
    fn unknown_ids_and_bits_decode_by_number() {
        let c = codec();
        let mut catalog = Catalog::acme();
        catalog.features.retain(|f| f.legacy_bit != Some(15));
        let sparse = Lk1::new(&catalog, demo::LK1_SECRET.as_bytes()).unwrap();
        let p = Payload {
            product: 99,
            features: 0x8001,
            ..c.payload_for(&worked().view()).unwrap()
        };
        let key = c.seal(&p);
        let v = sparse.decode(key.as_bytes(), &cad());
        assert_eq!(v.verdict, Verdict::WrongProduct);
        let d = v.decoded.unwrap();
        assert_eq!(d.product.as_deref(), Some("legacy-id-99"));
        let features: Vec<_> = d.features.unwrap().into_iter().collect();
        assert_eq!(features, ["export-dwg", "legacy-bit-15"]);
    }

    #[test]
    fn context_checks_come_in_order() {
        let key = WORKED.as_bytes();
        let c = codec();
        let check = |context: Context| c.decode(key, &context).verdict;
        assert_eq!(check(ctx("acme-cad", 5, "2027-12-31")), Verdict::Valid);
        assert_eq!(check(ctx("acme-cad", 5, "2028-01-01")), Verdict::Expired);
        assert_eq!(
            check(ctx("acme-cad", 6, "2028-01-01")),
            Verdict::VersionNotCovered
        );
        assert_eq!(
            check(ctx("acme-viewer", 6, "2028-01-01")),
            Verdict::WrongProduct
        );
        assert_eq!(
            check(ctx("acme-cloud", 1, "2026-01-01")),
            Verdict::WrongProduct
        );
        assert_eq!(
            check(ctx("acme-paint", 1, "2026-01-01")),
            Verdict::WrongProduct
        );
        let mut locked = ctx("acme-cad", 5, "2026-01-01");
        locked.host_id = Some("H-1".into());
        assert_eq!(check(locked), Verdict::Valid);
        let v = c.decode(key, &ctx("acme-cad", 5, "2028-01-01"));
        assert!(v.decoded.is_some());
        assert_eq!(v.format.as_deref(), Some(FORMAT));
    }

    #[test]
    fn perpetual_keys_never_expire() {
        let c = codec();
        let key = c
            .encode(&Entitlement {
                expires: None,
                ..worked()
            })
            .unwrap();
        let v = c.decode(key.as_bytes(), &ctx("acme-cad", 1, "9999-12-31"));
        assert_eq!(v.verdict, Verdict::Valid);
        assert_eq!(v.decoded.unwrap().expires, Some(None));
    }

    #[test]
    fn any_changed_symbol_is_a_bad_signature() {
        let key: Vec<u8> = WORKED.bytes().collect();
        for i in (0..key.len()).filter(|&i| key[i] != b'-') {
            for &s in ALPHABET.iter().filter(|&&s| s != key[i]) {
                let mut k = key.clone();
                k[i] = s;
                let v = codec().decode(&k, &cad());
                assert_eq!(
                    v.verdict,
                    Verdict::BadSignature,
                    "{}",
                    String::from_utf8_lossy(&k)
                );
                assert_eq!(v.format, None);
            }
        }
    }
}
