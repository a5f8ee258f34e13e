//! Validating acme-ed1 keys: SCHEMES.md's steps in SCHEMES.md's order, so a
//! key that breaks two rules gets the same verdict from every implementation.

use ed25519_dalek::Signature;

use crate::verdict::{Context, Decoded, Validation, Verdict};

use super::codec::{Ed1, FORMAT};
use super::payload;
use super::wire::{self, Parts};

impl Ed1 {
    /// Validates key bytes in a context, in the order of SCHEMES.md.
    pub fn decode(&self, key: &[u8], ctx: &Context) -> Validation {
        let Parts {
            signed,
            payload,
            signature,
        } = match wire::split(wire::trim(key)) {
            Ok(parts) => parts,
            Err(reason) => return Validation::reject(Verdict::Malformed, None, reason),
        };
        let Some(kid) = self.verifier(signed, &signature) else {
            let reason = "no trusted key verifies the signature";
            return Validation::reject(Verdict::BadSignature, Some(FORMAT), reason);
        };
        let object = match payload::parse_object(&payload) {
            Ok(object) => object,
            Err(reason) => return Validation::reject(Verdict::Malformed, Some(FORMAT), reason),
        };
        if let Err(reason) = payload::check_header(&object, kid) {
            return Validation::reject(Verdict::UnsupportedFormat, Some(FORMAT), reason);
        }
        match payload::read(&self.catalog, &object) {
            Ok(decoded) => judge(decoded, ctx),
            Err(reason) => Validation::reject(
                Verdict::Malformed,
                Some(FORMAT),
                format!("payload: {reason}"),
            ),
        }
    }

    /// The kid of the trusted key whose `verify_strict` accepts the signature.
    fn verifier(&self, signed: &[u8], signature: &[u8; 64]) -> Option<&str> {
        let signature = Signature::from_bytes(signature);
        self.trusted
            .iter()
            .find(|(_, key)| key.verify_strict(signed, &signature).is_ok())
            .map(|(kid, _)| kid.as_str())
    }
}

/// The context checks, in SCHEMES.md's order.
fn judge(decoded: Decoded, ctx: &Context) -> Validation {
    let product = decoded.product.as_deref().unwrap_or_default();
    let max_major = decoded.max_major.unwrap_or_default();
    let expires = decoded.expires.flatten();
    let host = decoded.host_id.as_ref().and_then(Option::as_deref);
    let (verdict, reason) = if product != ctx.product {
        let reason = format!("key is for {product}, not {}", ctx.product);
        (Verdict::WrongProduct, Some(reason))
    } else if ctx.version.major > u32::from(max_major) {
        let reason = format!("key covers up to major {max_major}, not {}", ctx.version);
        (Verdict::VersionNotCovered, Some(reason))
    } else if let Some(day) = expires.filter(|&d| ctx.today > d) {
        (Verdict::Expired, Some(format!("expired after {day}")))
    } else if let Some(h) = host.filter(|&h| ctx.host_id.as_deref() != Some(h)) {
        let reason = match &ctx.host_id {
            Some(other) => format!("key is locked to host {h:?}, not {other:?}"),
            None => format!("key is locked to host {h:?} and the context has no host id"),
        };
        (Verdict::HostMismatch, Some(reason))
    } else {
        (Verdict::Valid, None)
    };
    Validation {
        verdict,
        format: Some(FORMAT.to_string()),
        reason,
        decoded: Some(decoded),
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::catalog::Catalog;
    use crate::entitlement::Entitlement;
    use crate::schemes::demo;
    use crate::schemes::ed1::testing::{cad, codec, ctx, spec, verdict};

    #[test]
    fn signatures_are_checked_against_every_trusted_key() {
        let catalog = Catalog::acme();
        let old = |kid: &str| {
            Ed1::from_settings(&catalog, &demo::ed1_signing_with(demo::TEST2_SECRET, kid)).unwrap()
        };
        // The 2026 kid with the 2025 key is caught by the settings check ...
        assert!(
            Ed1::from_settings(
                &catalog,
                &demo::ed1_signing_with(demo::TEST2_SECRET, "acme-demo-2026")
            )
            .is_err()
        );
        let valid = old("acme-demo-2025").encode(&spec()).unwrap();
        assert_eq!(verdict(&valid), Verdict::Valid);
        // ... so build the mislabelled key by hand.
        let mut seed = [0u8; 32];
        hex::decode_to_slice(demo::TEST2_SECRET, &mut seed).unwrap();
        let liar = Ed1::new(
            &catalog,
            Some(("acme-demo-2026".into(), SigningKey::from_bytes(&seed))),
            vec![],
        );
        let v = codec().decode(liar.encode(&spec()).unwrap().as_bytes(), &cad());
        assert_eq!(
            (v.verdict, v.format.as_deref()),
            (Verdict::UnsupportedFormat, Some(FORMAT))
        );
        // A key nobody trusts.
        let stranger = Ed1::new(
            &catalog,
            Some(("acme-demo-2026".into(), SigningKey::from_bytes(&[7; 32]))),
            vec![],
        );
        let v = codec().decode(stranger.encode(&spec()).unwrap().as_bytes(), &cad());
        assert_eq!(
            (v.verdict, v.format.as_deref()),
            (Verdict::BadSignature, Some(FORMAT))
        );
    }

    #[test]
    fn a_changed_byte_is_a_bad_signature() {
        let key = codec().encode(&spec()).unwrap();
        // Swap two payload characters (still canonical base64url).
        let mut bytes = key.clone().into_bytes();
        bytes.swap(10, 11);
        assert_ne!(bytes, key.as_bytes());
        assert_eq!(verdict(&bytes), Verdict::BadSignature);
        let dot = key.find('.').unwrap();
        let mut sig = key.clone().into_bytes();
        sig[dot + 3] = if sig[dot + 3] == b'A' { b'B' } else { b'A' };
        assert_eq!(verdict(&sig), Verdict::BadSignature);
    }

    #[test]
    fn context_checks_come_in_order() {
        let c = codec();
        let key = c.encode(&spec()).unwrap();
        let check = |context: Context| c.decode(key.as_bytes(), &context).verdict;
        assert_eq!(
            check(ctx("acme-cad", 7, "2027-12-31", None)),
            Verdict::Valid
        );
        assert_eq!(
            check(ctx("acme-cad", 7, "2028-01-01", None)),
            Verdict::Expired
        );
        assert_eq!(
            check(ctx("acme-cad", 8, "2028-01-01", None)),
            Verdict::VersionNotCovered
        );
        assert_eq!(
            check(ctx("acme-sim", 8, "2028-01-01", None)),
            Verdict::WrongProduct
        );
        // Not node-locked: any host, or none, is fine.
        assert_eq!(
            check(ctx("acme-cad", 7, "2027-01-01", Some("H-1"))),
            Verdict::Valid
        );
        let v = c.decode(key.as_bytes(), &ctx("acme-cad", 7, "2028-01-01", None));
        assert_eq!(v.decoded, Some(Decoded::from_entitlement(&spec())));
    }

    #[test]
    fn node_locked_keys_need_the_same_host() {
        let c = codec();
        let e = Entitlement {
            host_id: Some("H-1".into()),
            ..spec()
        };
        let key = c.encode(&e).unwrap();
        let check = |host: Option<&str>, today: &str| {
            c.decode(key.as_bytes(), &ctx("acme-cad", 7, today, host))
                .verdict
        };
        assert_eq!(check(Some("H-1"), "2026-12-01"), Verdict::Valid);
        assert_eq!(check(Some("H-2"), "2026-12-01"), Verdict::HostMismatch);
        assert_eq!(check(Some("h-1"), "2026-12-01"), Verdict::HostMismatch);
        assert_eq!(check(None, "2026-12-01"), Verdict::HostMismatch);
        assert_eq!(check(Some(""), "2026-12-01"), Verdict::HostMismatch);
        // Expired comes first.
        assert_eq!(check(Some("H-2"), "2028-01-01"), Verdict::Expired);
    }

    #[test]
    fn garbage_never_panics() {
        let c = codec();
        let big: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        assert_eq!(c.decode(&big, &cad()).verdict, Verdict::Malformed);
        let mut prefixed = b"key/".to_vec();
        prefixed.extend_from_slice(&big);
        assert_eq!(c.decode(&prefixed, &cad()).verdict, Verdict::Malformed);
        for bad in [
            &b"key/\xff\xfe.\x80"[..],
            b"key/.",
            b"key/....",
            b"\xc3\x28",
            b"key/e30=.\xff",
        ] {
            assert_eq!(c.decode(bad, &cad()).verdict, Verdict::Malformed);
        }
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let v = c.decode(c.sign_payload(deep.as_bytes()).unwrap().as_bytes(), &cad());
        assert_eq!(v.verdict, Verdict::Malformed);
    }
}
