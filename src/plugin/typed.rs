//! The typed boundary of ABI 1.2 on the host's side: entitlements and
//! contexts lent to a plugin as `kc_entitlement` / `kc_context` structs
//! pointing into the host's own values, and a plugin's `kc_validation`
//! checked and read back.
//!
//! Reading an answer trusts nothing: every pointer the plugin wrote is
//! compared, as an address, with the item's part of the host's output
//! buffer, and read from that slice, never dereferenced; lengths, bits,
//! verdicts, dates and UTF-8 are checked as strictly as the decode text is
//! (`marshal::validation_from_text`). No unsafe code is needed here.

use std::collections::BTreeSet;

use keycompat_plugin_sdk::abi::*;

use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};
use crate::implementation::{CallFailure, FailureKind};
use crate::verdict::{Context, Decoded, Validation, Verdict};

/// Entitlements as `kc_entitlement`s, valid while the entitlements and
/// this value live.
pub(super) struct TypedEntitlements {
    items: Vec<KcEntitlement>,
    /// Owns what the items' `features` point into.
    _features: Vec<KcStr>,
}

fn opt_str(s: Option<&str>) -> KcStr {
    s.map_or(KcStr::EMPTY, KcStr::of)
}

fn day(d: Day) -> i32 {
    // Days of years 0-9999 fit an i32 (KC_DAY_MIN ..= KC_DAY_MAX).
    d.days_since_epoch() as i32
}

impl TypedEntitlements {
    pub(super) fn new(entitlements: &[&Entitlement]) -> Self {
        let features: Vec<KcStr> = entitlements
            .iter()
            .flat_map(|e| e.features.iter().map(|f| KcStr::of(f)))
            .collect();
        let mut at = 0;
        let items = entitlements
            .iter()
            .map(|e| {
                let n = e.features.len();
                let raw = raw_entitlement(e, features[at..at + n].as_ptr(), n);
                at += n;
                raw
            })
            .collect();
        TypedEntitlements {
            items,
            _features: features,
        }
    }

    pub(super) fn items(&self) -> &[KcEntitlement] {
        &self.items
    }
}

fn raw_entitlement(e: &Entitlement, features: *const KcStr, n_features: usize) -> KcEntitlement {
    let mut has = KC_HAS_REQUIRED;
    let mut bit = |b: u32, set: bool| {
        if set {
            has |= b;
        }
    };
    bit(KC_HAS_SEATS, e.seats.is_some());
    bit(KC_HAS_EXPIRES, e.expires.is_some());
    bit(KC_HAS_MAINTENANCE_UNTIL, e.maintenance_until.is_some());
    bit(KC_HAS_CUSTOMER, e.customer.is_some());
    bit(KC_HAS_ORDER_ID, e.order_id.is_some());
    bit(KC_HAS_HOST_ID, e.host_id.is_some());
    KcEntitlement {
        has,
        serial: e.serial,
        seats: e.seats.unwrap_or(0),
        issued: day(e.issued),
        expires: e.expires.map_or(0, day),
        maintenance_until: e.maintenance_until.map_or(0, day),
        max_major: e.max_major,
        reserved: [0; 7],
        product: KcStr::of(&e.product),
        edition: KcStr::of(&e.edition),
        features,
        n_features,
        customer_id: opt_str(e.customer.as_ref().map(|c| c.id.as_str())),
        customer_name: opt_str(e.customer.as_ref().map(|c| c.name.as_str())),
        order_id: opt_str(e.order_id.as_deref()),
        host_id: opt_str(e.host_id.as_deref()),
    }
}

/// The context as a `kc_context`, valid while `c` lives.
pub(super) fn raw_context(c: &Context) -> KcContext {
    KcContext {
        has: if c.host_id.is_some() {
            KC_HAS_HOST_ID
        } else {
            0
        },
        version_major: c.version.major,
        version_minor: c.version.minor,
        today: day(c.today),
        product: KcStr::of(&c.product),
        host_id: opt_str(c.host_id.as_deref()),
    }
}

fn protocol(m: impl Into<String>) -> CallFailure {
    CallFailure::new(FailureKind::Protocol, m)
}

/// The item's output: the slice of the host's buffer the plugin's pointers
/// must lie in.
struct Region<'b> {
    bytes: &'b [u8],
}

impl<'b> Region<'b> {
    /// Where `len` bytes at address `ptr` lie in the region, if they do.
    fn offset(&self, ptr: usize, len: usize) -> Option<usize> {
        let start = self.bytes.as_ptr() as usize;
        let off = ptr.checked_sub(start)?;
        (off.checked_add(len)? <= self.bytes.len()).then_some(off)
    }

    fn str(&self, what: &str, s: KcStr) -> Result<&'b str, CallFailure> {
        if s.len == 0 {
            return Ok("");
        }
        let off = self.offset(s.ptr as usize, s.len).ok_or_else(|| {
            protocol(format!(
                "typed decode: {what} ({} bytes) lies outside the item's {}-byte output",
                s.len,
                self.bytes.len()
            ))
        })?;
        let bytes = &self.bytes[off..off + s.len];
        // Decodes are mostly short ASCII strings, for which a byte check is
        // cheaper than the call to the general UTF-8 validation.
        if bytes.is_ascii() {
            // SAFETY: ASCII bytes are valid UTF-8.
            return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        std::str::from_utf8(bytes)
            .map_err(|_| protocol(format!("typed decode: {what} is not valid UTF-8")))
    }

    /// The features array, read from the region's bytes (never through the
    /// plugin's pointer).
    fn features(&self, e: &KcEntitlement) -> Result<BTreeSet<String>, CallFailure> {
        const STR: usize = std::mem::size_of::<KcStr>();
        const WORD: usize = std::mem::size_of::<usize>();
        let n = e.n_features;
        if n == 0 {
            return Ok(BTreeSet::new());
        }
        let bytes = n
            .checked_mul(STR)
            .ok_or_else(|| protocol(format!("typed decode: {n} features")))?;
        let addr = e.features as usize;
        let off = self.offset(addr, bytes).ok_or_else(|| {
            protocol(format!(
                "typed decode: the array of {n} features lies outside the item's {}-byte output",
                self.bytes.len()
            ))
        })?;
        if !addr.is_multiple_of(std::mem::align_of::<KcStr>()) {
            return Err(protocol("typed decode: the features array is misaligned"));
        }
        let word = |at: usize| {
            let mut w = [0u8; WORD];
            w.copy_from_slice(&self.bytes[at..at + WORD]);
            usize::from_ne_bytes(w)
        };
        (0..n)
            .map(|i| {
                let at = off + i * STR;
                let s = KcStr {
                    ptr: std::ptr::without_provenance(word(at)),
                    len: word(at + WORD),
                };
                self.str("a feature", s).map(str::to_string)
            })
            .collect()
    }
}

fn checked_day(what: &str, d: i32) -> Result<Day, CallFailure> {
    Day::from_days_since_epoch(i64::from(d)).ok_or_else(|| {
        protocol(format!(
            "typed decode: {what} is day {d}, outside 0000-01-01 ..= 9999-12-31"
        ))
    })
}

/// Reads a plugin's `kc_validation` whose strings lie in `item` (the
/// item's output, `out[offset .. offset+len]`), as strictly as decode text.
pub(super) fn validation_from_raw(
    r: &KcValidation,
    item: &[u8],
) -> Result<Validation, CallFailure> {
    let region = Region { bytes: item };
    let verdict = usize::try_from(r.verdict)
        .ok()
        .and_then(|i| Verdict::ALL.get(i).copied())
        .ok_or_else(|| protocol(format!("typed decode: unknown verdict {}", r.verdict)))?;
    if r.flags & !(KC_RESULT_FORMAT | KC_RESULT_REASON) != 0 || r.reserved != 0 {
        return Err(protocol(format!(
            "typed decode: unknown flags 0x{:x} or reserved {} not 0",
            r.flags, r.reserved
        )));
    }
    let format = (r.flags & KC_RESULT_FORMAT != 0)
        .then(|| region.str("format", r.format).map(str::to_string))
        .transpose()?;
    let reason = (r.flags & KC_RESULT_REASON != 0)
        .then(|| region.str("reason", r.reason).map(str::to_string))
        .transpose()?;
    let decoded = match r.carried {
        0 if verdict.decodes() => {
            return Err(protocol(format!(
                "typed decode: verdict {verdict} without the decoded fields it requires"
            )));
        }
        0 => None,
        _ if !verdict.decodes() => {
            return Err(protocol(format!(
                "typed decode: verdict {verdict} comes with decoded fields"
            )));
        }
        carried => Some(decoded_from_raw(carried, &r.decoded, &region)?),
    };
    Ok(Validation {
        verdict,
        format,
        reason,
        decoded,
    })
}

fn decoded_from_raw(
    carried: u32,
    e: &KcEntitlement,
    region: &Region<'_>,
) -> Result<Decoded, CallFailure> {
    let has = e.has;
    if carried & !KC_HAS_ALL != 0 || has & !carried != 0 {
        return Err(protocol(format!(
            "typed decode: bits carried 0x{carried:x}, has 0x{has:x} (has must be within carried, within 0x{KC_HAS_ALL:x})"
        )));
    }
    if carried & KC_HAS_REQUIRED & !has != 0 {
        return Err(protocol(format!(
            "typed decode: a carried field that cannot be null has no value (carried 0x{carried:x}, has 0x{has:x})"
        )));
    }
    if e.reserved != [0; 7] {
        return Err(protocol("typed decode: reserved bytes are not 0"));
    }
    let carries = |bit: u32| carried & bit != 0;
    let value = |bit: u32| has & bit != 0;
    let string = |bit: u32, what: &str, s: KcStr| -> Result<Option<Option<String>>, CallFailure> {
        if !carries(bit) {
            return Ok(None);
        }
        if !value(bit) {
            return Ok(Some(None));
        }
        region.str(what, s).map(|s| Some(Some(s.to_string())))
    };
    let date = |bit: u32, what: &str, d: i32| -> Result<Option<Option<Day>>, CallFailure> {
        match (carries(bit), value(bit)) {
            (false, _) => Ok(None),
            (true, false) => Ok(Some(None)),
            (true, true) => checked_day(what, d).map(|d| Some(Some(d))),
        }
    };
    let customer = match (
        string(KC_HAS_CUSTOMER, "customer_id", e.customer_id)?,
        string(KC_HAS_CUSTOMER, "customer_name", e.customer_name)?,
    ) {
        (Some(Some(id)), Some(Some(name))) => Some(Some(Customer { id, name })),
        (Some(_), _) => Some(None),
        (None, _) => None,
    };
    Ok(Decoded {
        product: string(KC_HAS_PRODUCT, "product", e.product)?.flatten(),
        edition: string(KC_HAS_EDITION, "edition", e.edition)?.flatten(),
        max_major: carries(KC_HAS_MAX_MAJOR).then_some(e.max_major),
        features: carries(KC_HAS_FEATURES)
            .then(|| region.features(e))
            .transpose()?,
        seats: carries(KC_HAS_SEATS).then(|| value(KC_HAS_SEATS).then_some(e.seats)),
        issued: date(KC_HAS_ISSUED, "issued", e.issued)?.flatten(),
        expires: date(KC_HAS_EXPIRES, "expires", e.expires)?,
        maintenance_until: date(
            KC_HAS_MAINTENANCE_UNTIL,
            "maintenance_until",
            e.maintenance_until,
        )?,
        serial: carries(KC_HAS_SERIAL).then_some(e.serial),
        customer,
        order_id: string(KC_HAS_ORDER_ID, "order_id", e.order_id)?,
        host_id: string(KC_HAS_HOST_ID, "host_id", e.host_id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoding_verdict_without_a_decode_is_a_protocol_failure() {
        let valid = KcValidation {
            verdict: 0, // KC_VERDICT_VALID
            ..KcValidation::default()
        };
        let e = validation_from_raw(&valid, &[]).unwrap_err();
        assert_eq!(e.kind, FailureKind::Protocol);
        assert!(e.message.contains("without the decoded fields"), "{e}");
        let malformed = KcValidation {
            verdict: 1, // KC_VERDICT_MALFORMED
            ..KcValidation::default()
        };
        let v = validation_from_raw(&malformed, &[]).unwrap();
        assert_eq!(v.verdict, Verdict::Malformed);
        assert!(v.decoded.is_none());
    }
}
