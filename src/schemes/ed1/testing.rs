//! What the acme-ed1 unit tests share: the demo codec, SCHEMES.md's example
//! entitlement and payload, and contexts to validate in.

use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};
use crate::schemes::demo;
use crate::verdict::{Context, Verdict, Version};

use super::codec::Ed1;

/// The demo codec: signs with RFC 8032 TEST 1, trusts TEST 1 and TEST 2.
pub(super) fn codec() -> Ed1 {
    Ed1::from_settings(&Catalog::acme(), &demo::ed1()).unwrap()
}

pub(super) fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

/// The payload of SCHEMES.md's example, byte for byte.
pub(super) const SPEC_PAYLOAD: &str = r#"{"v":1,"kid":"acme-demo-2026","prod":"acme-cad","ed":"professional","maxv":7,"feat":["ai-assist","export-dwg"],"seats":25,"iat":"2026-11-23","exp":"2027-12-31","maint":null,"serial":424242,"cust":{"id":"C-000042","name":"Zoë Müller GmbH"},"order":"SO-1001","host":null}"#;

/// The entitlement [`SPEC_PAYLOAD`] carries.
pub(super) fn spec() -> Entitlement {
    Entitlement {
        product: "acme-cad".into(),
        edition: "professional".into(),
        max_major: 7,
        features: ["ai-assist", "export-dwg"].map(String::from).into(),
        seats: Some(25),
        issued: day("2026-11-23"),
        expires: Some(day("2027-12-31")),
        maintenance_until: None,
        serial: 424_242,
        customer: Some(Customer {
            id: "C-000042".into(),
            name: "Zoë Müller GmbH".into(),
        }),
        order_id: Some("SO-1001".into()),
        host_id: None,
    }
}

pub(super) fn ctx(product: &str, major: u32, today: &str, host: Option<&str>) -> Context {
    Context {
        product: product.into(),
        version: Version { major, minor: 0 },
        today: day(today),
        host_id: host.map(String::from),
    }
}

/// Acme CAD 7.0 on 2026-12-01, not node-locked.
pub(super) fn cad() -> Context {
    ctx("acme-cad", 7, "2026-12-01", None)
}

/// The demo codec's verdict on `key` in [`cad`].
pub(super) fn verdict(key: impl AsRef<[u8]>) -> Verdict {
    codec().decode(key.as_ref(), &cad()).verdict
}

/// The spec's payload with `from` replaced by `to`, signed by the demo key.
pub(super) fn signed_with(from: &str, to: &str) -> String {
    assert!(SPEC_PAYLOAD.contains(from), "{from}");
    codec()
        .sign_payload(SPEC_PAYLOAD.replace(from, to).as_bytes())
        .unwrap()
}
