//! Request items: what the coordinator asks the plugin to do.
//!
//! A generate request carries entitlements, a validate request keys with the
//! context each is validated in. The coordinator encodes each item once and
//! may send it again alone (to find which item crashed a worker), so items
//! are written as self-contained byte runs; the frame around them (tag and
//! count) is written by the coordinator.

use std::collections::BTreeSet;

use crate::entitlement::{Customer, Entitlement};
use crate::verdict::{Context, Version};

use super::codec::{
    Reader, WireError, put_bool, put_bytes, put_day, put_opt_day, put_opt_str, put_opt_u32,
    put_str, put_u8, put_u32,
};

/// Appends one entitlement (a generate request item).
pub(crate) fn put_entitlement(b: &mut Vec<u8>, e: &Entitlement) {
    put_str(b, &e.product);
    put_str(b, &e.edition);
    put_u8(b, e.max_major);
    put_u32(b, e.features.len().min(u32::MAX as usize) as u32);
    for f in &e.features {
        put_str(b, f);
    }
    put_opt_u32(b, e.seats);
    put_day(b, e.issued);
    put_opt_day(b, e.expires);
    put_opt_day(b, e.maintenance_until);
    put_u32(b, e.serial);
    put_bool(b, e.customer.is_some());
    if let Some(c) = &e.customer {
        put_str(b, &c.id);
        put_str(b, &c.name);
    }
    put_opt_str(b, e.order_id.as_deref());
    put_opt_str(b, e.host_id.as_deref());
}

pub(crate) fn read_entitlement(r: &mut Reader<'_>) -> Result<Entitlement, WireError> {
    let product = r.string("product")?;
    let edition = r.string("edition")?;
    let max_major = r.u8("max_major")?;
    let n = r.count("features", 4)?;
    let mut features = BTreeSet::new();
    for _ in 0..n {
        features.insert(r.string("feature")?);
    }
    Ok(Entitlement {
        product,
        edition,
        max_major,
        features,
        seats: r.opt_u32("seats")?,
        issued: r.day("issued")?,
        expires: r.opt_day("expires")?,
        maintenance_until: r.opt_day("maintenance_until")?,
        serial: r.u32("serial")?,
        customer: if r.opt_tag("customer")? {
            Some(Customer {
                id: r.string("customer.id")?,
                name: r.string("customer.name")?,
            })
        } else {
            None
        },
        order_id: r.opt_string("order_id")?,
        host_id: r.opt_string("host_id")?,
    })
}

/// Appends one validate request item: the key and its context.
pub(crate) fn put_validate_item(b: &mut Vec<u8>, key: &[u8], c: &Context) {
    put_bytes(b, key);
    put_str(b, &c.product);
    put_u32(b, c.version.major);
    put_u32(b, c.version.minor);
    put_day(b, c.today);
    put_opt_str(b, c.host_id.as_deref());
}

pub(crate) fn read_validate_item(r: &mut Reader<'_>) -> Result<(Vec<u8>, Context), WireError> {
    let key = r.bytes("key")?.to_vec();
    let context = Context {
        product: r.string("context.product")?,
        version: Version {
            major: r.u32("context.version")?,
            minor: r.u32("context.version")?,
        },
        today: r.day("context.today")?,
        host_id: r.opt_string("context.host_id")?,
    };
    Ok((key, context))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An entitlement with every field set, unicode and a newline included.
    pub(crate) fn example() -> Entitlement {
        Entitlement::from_json(r#"{"product":"acme-cad","edition":"professional","max_major":7,"features":["export-dwg","render-gpu"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":{"id":"C-000042","name":"Zoë\nMüller, GmbH"},"order_id":"SO-1001","host_id":null}"#).unwrap()
    }

    #[test]
    fn entitlements_round_trip() {
        let e = example();
        let mut b = Vec::new();
        put_entitlement(&mut b, &e);
        let mut r = Reader::new(&b);
        assert_eq!(read_entitlement(&mut r).unwrap(), e);
        r.finish("entitlement").unwrap();
    }
}
