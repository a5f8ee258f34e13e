//! What the acme-lk1 unit tests share: the demo codec, SCHEMES.md's worked
//! example, and contexts to validate in.

use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::schemes::demo;
use crate::verdict::{Context, Verdict, Version};

use super::codec::Lk1;

/// SCHEMES.md's worked example key, which [`worked`] encodes to.
pub(super) const WORKED: &str = "24A0M-02T1K-7Y9KS-689RQ-7B450";

/// The codec with the demo secret.
pub(super) fn codec() -> Lk1 {
    Lk1::from_settings(&Catalog::acme(), &demo::lk1(), "secret").unwrap()
}

pub(super) fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

/// The worked example's entitlement, with fields acme-lk1 does not carry.
pub(super) fn worked() -> Entitlement {
    Entitlement {
        product: "acme-cad".into(),
        edition: "professional".into(),
        max_major: 5,
        features: ["export-dwg", "export-pdf", "render-gpu", "plugins-sdk"]
            .map(String::from)
            .into(),
        seats: Some(25),
        issued: day("2026-11-23"),
        expires: Some(day("2027-12-31")),
        maintenance_until: Some(day("2027-06-30")),
        serial: 424_242,
        customer: None,
        order_id: Some("SO-1".into()),
        host_id: None,
    }
}

pub(super) fn ctx(product: &str, major: u32, today: &str) -> Context {
    Context {
        product: product.into(),
        version: Version { major, minor: 0 },
        today: day(today),
        host_id: None,
    }
}

/// Acme CAD 5.0 on 2026-12-01.
pub(super) fn cad() -> Context {
    ctx("acme-cad", 5, "2026-12-01")
}

/// The demo codec's verdict on `key` in [`cad`].
pub(super) fn verdict(key: &str) -> Verdict {
    codec().decode(key.as_bytes(), &cad()).verdict
}
