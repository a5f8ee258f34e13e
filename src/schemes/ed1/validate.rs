//! Validating acme-ed1 keys: SCHEMES.md's steps in SCHEMES.md's order, so a
//! key that breaks two rules gets the same verdict from every implementation.
//!
//! The signature check (step 3) is nearly all of a validation's cost, so it
//! is made once per key where it can be: the trusted key the payload's `kid`
//! names is tried first (a key signed before a key rotation otherwise pays
//! one failed verification per newer trusted key listed before its own),
//! and the others after it, in their order. Which keys verify does not
//! depend on the order they are tried in, so neither does the verdict.
//! Steps 4 to 6 read the payloads issuers write in one pass (`canonical`),
//! and any other payload step by step, to say what is wrong with it.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::verdict::{Context, Decoded, Validation, Verdict};

use super::canonical;
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
        let Some(kid) = self.verifier(signed, &payload, &signature) else {
            let reason = "no trusted key verifies the signature";
            return Validation::reject(Verdict::BadSignature, Some(FORMAT), reason);
        };
        if let Some(decoded) = canonical::read(&self.catalog, &payload, kid) {
            return judge(decoded, ctx);
        }
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

    /// The kid of the trusted key whose `verify_strict` accepts the signature
    /// over `signed`, trying the keys in the order of [`Self::candidates`].
    ///
    /// The answer is the one trying the keys in their listed order gives:
    /// `None` exactly when no trusted key verifies, and otherwise the kid of
    /// the one key that does. Two distinct public keys A and A' both
    /// accepting one signature (R, s) of one message would need
    /// H(R, A, M)·A = H(R, A', M)·A' with two independent SHA-512 outputs,
    /// which a signer holding both secrets cannot arrange either: one chance
    /// in about 2^252 per try.
    fn verifier(&self, signed: &[u8], payload: &[u8], signature: &[u8; 64]) -> Option<&str> {
        let signature = Signature::from_bytes(signature);
        self.candidates(payload)
            .find(|(_, key)| key.verify_strict(signed, &signature).is_ok())
            .map(|(kid, _)| kid.as_str())
    }

    /// Every trusted key once: first the one the payload's `kid` names, when
    /// [`payload::peek_kid`] can read it, then the others in listed order.
    fn candidates<'a>(
        &'a self,
        payload: &[u8],
    ) -> impl Iterator<Item = &'a (String, VerifyingKey)> + 'a {
        let named = payload::peek_kid(payload)
            .and_then(|kid| self.trusted.iter().position(|(k, _)| k.as_bytes() == kid));
        let first = named.map(|i| &self.trusted[i]);
        let rest = self
            .trusted
            .iter()
            .enumerate()
            .filter(move |&(i, _)| Some(i) != named)
            .map(|(_, key)| key);
        first.into_iter().chain(rest)
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
    use crate::schemes::ed1::testing::{SPEC_PAYLOAD, cad, codec, ctx, spec, verdict};

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

    /// A codec that signs anything with `secret` (hex seed) and trusts no one.
    fn signer(secret: &str) -> Ed1 {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(secret, &mut seed).unwrap();
        let key = SigningKey::from_bytes(&seed);
        Ed1::new(&Catalog::acme(), Some(("any".into(), key)), vec![])
    }

    #[test]
    fn the_key_the_kid_names_is_tried_first_and_the_others_after_it() {
        let c = codec();
        let order = |payload: &str| -> Vec<&str> {
            c.candidates(payload.as_bytes())
                .map(|(kid, _)| kid.as_str())
                .collect()
        };
        let (new, old) = ("acme-demo-2026", "acme-demo-2025");
        assert_eq!(
            order(r#"{"v":1,"kid":"acme-demo-2025","prod":"x"}"#),
            [old, new]
        );
        assert_eq!(
            order(r#"{"v":1,"kid":"acme-demo-2026","prod":"x"}"#),
            [new, old]
        );
        // No hint, or one naming no trusted key: the listed order.
        for payload in [
            r#"{"v":1,"kid":"acme-demo-2099"}"#,
            r#"{"v":1,"kid":"acme\u002ddemo-2025"}"#,
            r#"{"v":1,"kid":"acme-demo-2025"#,
            r#"{"kid":"acme-demo-2025","v":1}"#,
            r#"{"v":2,"kid":"acme-demo-2025"}"#,
            r#"{"v":1,"kid":"acme-demo-2025 "}"#,
            "",
            "[1]",
        ] {
            assert_eq!(order(payload), [new, old], "{payload}");
        }
    }

    #[test]
    fn trying_the_named_key_first_changes_no_verdict_and_no_reason() {
        let c = codec();
        let (new, old) = (signer(demo::TEST1_SECRET), signer(demo::TEST2_SECRET));
        let stranger = Ed1::new(
            &Catalog::acme(),
            Some(("any".into(), SigningKey::from_bytes(&[7; 32]))),
            vec![],
        );
        let kid = |kid: &str| SPEC_PAYLOAD.replacen("acme-demo-2026", kid, 1);
        let cases: [(&Ed1, String, Verdict, Option<&str>); 10] = [
            (&new, kid("acme-demo-2026"), Verdict::Valid, None),
            // A key issued before the rotation: its kid names the second key.
            (&old, kid("acme-demo-2025"), Verdict::Valid, None),
            (
                &old,
                kid("acme-demo-2026"),
                Verdict::UnsupportedFormat,
                Some("`kid` is \"acme-demo-2026\", but the key that verified is `acme-demo-2025`"),
            ),
            (
                &new,
                kid("acme-demo-2025"),
                Verdict::UnsupportedFormat,
                Some("`kid` is \"acme-demo-2025\", but the key that verified is `acme-demo-2026`"),
            ),
            (
                &old,
                kid("acme-demo-2099"),
                Verdict::UnsupportedFormat,
                Some("`kid` is \"acme-demo-2099\", but the key that verified is `acme-demo-2025`"),
            ),
            // The hint cannot read an escaped kid; the parsed payload names the key.
            (&old, kid("acme\\u002ddemo-2025"), Verdict::Valid, None),
            (
                &stranger,
                kid("acme-demo-2025"),
                Verdict::BadSignature,
                Some("no trusted key verifies the signature"),
            ),
            (
                &old,
                r#"{"v":1,"kid":"acme-demo-2025""#.to_string(),
                Verdict::Malformed,
                Some("payload is not JSON: EOF while parsing an object at line 1 column 29"),
            ),
            (
                &old,
                kid("acme-demo-2025").replacen(r#""v":1"#, r#""v":2"#, 1),
                Verdict::UnsupportedFormat,
                Some("format version `v` is 2, expected 1"),
            ),
            (
                &old,
                kid("acme-demo-2025").replacen(r#""ed":"professional""#, r#""ed":"gold""#, 1),
                Verdict::Malformed,
                Some("payload: `ed` is \"gold\", not an edition of the catalog"),
            ),
        ];
        for (signer, payload, verdict, reason) in cases {
            let key = signer.sign_payload(payload.as_bytes()).unwrap();
            let v = c.decode(key.as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.reason.as_deref()),
                (verdict, reason),
                "{payload}"
            );
            // The trusted key that verifies is the one trying them in listed order finds.
            let parts = wire::split(key.as_bytes()).unwrap();
            let signature = Signature::from_bytes(&parts.signature);
            let listed = c
                .trusted
                .iter()
                .find(|(_, k)| k.verify_strict(parts.signed, &signature).is_ok())
                .map(|(kid, _)| kid.as_str());
            assert_eq!(
                c.verifier(parts.signed, &parts.payload, &parts.signature),
                listed
            );
        }
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
