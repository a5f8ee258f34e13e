//! Issuing acme-ed1 keys: an entitlement's payload, signed with the codec's
//! signing key. acme-ed1 carries every field, so nothing is ever refused.

use crate::entitlement::{Entitlement, EntitlementRef};
use crate::implementation::{CallFailure, FailureKind, GenerateFailure};

use super::codec::Ed1;
use super::payload;
use super::wire;

impl Ed1 {
    /// The key for an entitlement. acme-ed1 carries every field, so the only
    /// failure is having no signing key (`Unsupported`).
    pub fn encode(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
        self.encode_view(&e.view())
    }

    /// [`Ed1::encode`] of a borrowed entitlement.
    pub fn encode_view(&self, e: &EntitlementRef<'_>) -> Result<String, GenerateFailure> {
        let kid = self.signing_kid().ok_or_else(no_signing_key)?;
        let json = payload::to_json(kid, e).map_err(|err| {
            GenerateFailure::Failed(CallFailure::new(
                FailureKind::Internal,
                format!("acme-ed1: cannot write the payload: {err}"),
            ))
        })?;
        self.sign_payload(&json)
    }

    /// `key/` + base64url(payload) + `.` + base64url(signature) for any
    /// payload bytes (for tests and tampering: e.g. a payload with `v` 2).
    pub fn sign_payload(&self, payload: &[u8]) -> Result<String, GenerateFailure> {
        let (_, signing) = self.signing.as_ref().ok_or_else(no_signing_key)?;
        Ok(wire::sign(payload, signing))
    }
}

fn no_signing_key() -> GenerateFailure {
    GenerateFailure::Failed(CallFailure::new(
        FailureKind::Unsupported,
        "acme-ed1: no `signing_key` is configured, so this codec only validates",
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use base64::Engine;
    use ed25519_dalek::Signature;

    use super::*;
    use crate::catalog::Catalog;
    use crate::schemes::demo;
    use crate::schemes::ed1::codec::FORMAT;
    use crate::schemes::ed1::testing::{SPEC_PAYLOAD, cad, codec, ctx, day, spec};
    use crate::schemes::ed1::wire::{B64, PREFIX};
    use crate::verdict::{Decoded, Verdict};

    fn payload_of(key: &str) -> String {
        let body = key.strip_prefix(PREFIX).unwrap().split('.').next().unwrap();
        String::from_utf8(B64.decode(body).unwrap()).unwrap()
    }

    #[test]
    fn writes_the_spec_payload_byte_for_byte() {
        let key = codec().encode(&spec()).unwrap();
        assert_eq!(payload_of(&key), SPEC_PAYLOAD);
        let (signed, _) = key.split_once('.').unwrap();
        let sig = B64.decode(key.split_once('.').unwrap().1).unwrap();
        let public = codec().signing.unwrap().1.verifying_key();
        let sig = Signature::from_slice(&sig).unwrap();
        public.verify_strict(signed.as_bytes(), &sig).unwrap();
        // Ed25519 is deterministic: the key is the same every time.
        assert_eq!(codec().encode(&spec()).unwrap(), key);
    }

    #[test]
    fn round_trips_and_decodes_every_field() {
        let base = spec();
        let cases = [
            base.clone(),
            Entitlement {
                features: BTreeSet::new(),
                seats: None,
                expires: None,
                maintenance_until: Some(day("2030-02-28")),
                customer: None,
                order_id: None,
                host_id: Some("HOST-\"1\"\\\n\u{1F600}".into()),
                ..base.clone()
            },
            Entitlement {
                product: "acme-cloud".into(),
                edition: "enterprise".into(),
                max_major: 255,
                seats: Some(u32::MAX),
                serial: u32::MAX,
                expires: Some(day("9999-12-31")),
                ..base.clone()
            },
            Entitlement {
                edition: "trial".into(),
                max_major: 0,
                seats: Some(1),
                serial: 0,
                ..base
            },
        ];
        for e in cases {
            let c = codec();
            let key = c.encode(&e).unwrap();
            let context = ctx(&e.product, 0, "2026-11-23", e.host_id.as_deref());
            let v = c.decode(key.as_bytes(), &context);
            assert_eq!(v.verdict, Verdict::Valid, "{e} {:?}", v.reason);
            assert_eq!(v.format.as_deref(), Some(FORMAT));
            assert_eq!(v.decoded, Some(Decoded::from_entitlement(&e)));
        }
    }

    #[test]
    fn generating_without_a_signing_key_is_unsupported() {
        let mut s = demo::ed1();
        s.remove("signing_key");
        s.remove("kid");
        let c = Ed1::from_settings(&Catalog::acme(), &s).unwrap();
        assert!(!c.can_sign());
        match c.encode(&spec()) {
            Err(GenerateFailure::Failed(f)) => assert_eq!(f.kind, FailureKind::Unsupported),
            other => panic!("{other:?}"),
        }
        // It still validates.
        assert_eq!(
            c.decode(codec().encode(&spec()).unwrap().as_bytes(), &cad())
                .verdict,
            Verdict::Valid
        );
    }
}
