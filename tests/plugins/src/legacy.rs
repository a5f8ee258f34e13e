//! The planted defects of the acme-lk1 path: the old system's codec, or the
//! new system's legacy emitter and acme-lk1 validator.
//!
//! Each defect is the spec's step from keycompat's own codec ([`Lk1`]) with
//! one line changed, so the rest of the key stays byte-exact and the checks
//! see one disagreement, not a cascade. Where the codec's public API has no
//! seam for a step, the defect moves its input (e.g. the day it counts from)
//! and lets the codec do the rest, which keeps refusals in the spec's order.

use std::fmt;

use hmac::{Hmac, Mac};
use keycompat::catalog::Catalog;
use keycompat::date::Day;
use keycompat::entitlement::{Entitlement, EntitlementRef};
use keycompat::implementation::GenerateFailure;
use keycompat::schemes::lk1::{self, Lk1, MAX_SEATS, Payload};
use keycompat::verdict::{Context, Validation, Verdict};
use sha2::Sha256;

use crate::expiry;

/// The two features whose bits `feature-bit-moved` swaps (bits 8 and 9).
pub(crate) const SWAPPED_FEATURES: (&str, &str) = ("pdm", "simulation");

/// `feature-bit-moved`: the catalog with the legacy bits of
/// [`SWAPPED_FEATURES`] traded, as a hand-maintained copy of the bit table
/// with two rows transposed has them. An acme-lk1 codec built on it encodes
/// and decodes consistently with itself, and with nothing else.
pub(crate) fn catalog_with_swapped_bits(catalog: &Catalog) -> Catalog {
    let (a, b) = SWAPPED_FEATURES;
    let bit_of = |slug: &str| catalog.feature(slug).and_then(|f| f.legacy_bit);
    let (bit_a, bit_b) = (bit_of(a), bit_of(b));
    let mut swapped = catalog.clone();
    for feature in &mut swapped.features {
        if feature.slug == a {
            feature.legacy_bit = bit_b;
        } else if feature.slug == b {
            feature.legacy_bit = bit_a;
        }
    }
    swapped
}

/// `case-sensitive`: validates like the spec, except that the symbol table
/// holds only the upper-case alphabet and nothing upper-cases the key first,
/// so any lower-case ASCII letter (including `o`, `i`, `l`) is malformed.
pub(crate) fn decode_case_sensitive(codec: &Lk1, key: &[u8], ctx: &Context) -> Validation {
    if let Some(offset) = key.iter().position(|&b| !in_upper_case_table(b)) {
        let reason = format!(
            "byte 0x{:02X} at offset {offset} is not a Crockford base32 symbol",
            key[offset]
        );
        return Validation::reject(Verdict::Malformed, None, reason);
    }
    codec.decode(key, ctx)
}

/// The defective decode table: the spec's, minus every lower-case letter.
fn in_upper_case_table(byte: u8) -> bool {
    lk1::is_key_byte(byte) && !byte.is_ascii_lowercase() // the bug: the spec folds case first
}

/// `seats-wrapped`: packs seats into the 10-bit field with a mask instead of
/// refusing more than 1023, so 1500 seats become 476 (and 1024 become 0:
/// unlimited).
pub(crate) fn encode_seats_wrapped(
    codec: &Lk1,
    e: &Entitlement,
) -> Result<String, GenerateFailure> {
    let Some(seats) = e.seats.filter(|&n| n > MAX_SEATS) else {
        return codec.encode(e);
    };
    // The codec checks every other field, in the spec's order.
    let mut payload = codec.payload_for(&EntitlementRef {
        seats: None,
        ..e.view()
    })?;
    payload.seats = (seats % (MAX_SEATS + 1)) as u16; // the bug: should refuse
    Ok(codec.seal(&payload))
}

/// `host-lock-dropped`: encodes what acme-lk1 carries and ignores `host_id`
/// instead of refusing a node-locked entitlement, so the key works anywhere.
pub(crate) fn encode_dropping_host_lock(
    codec: &Lk1,
    e: &Entitlement,
) -> Result<String, GenerateFailure> {
    codec.encode(&Entitlement {
        host_id: None,
        ..e.clone()
    })
}

/// `date-epoch`: counts `expiry_days` from 2000-01-02 instead of 2000-01-01.
/// That count is the spec's count for the day before, so the codec encodes
/// the day before (range check included: 2000-01-02 is refused, 2044-11-09
/// accepted).
pub(crate) fn encode_with_late_epoch(
    codec: &Lk1,
    e: &Entitlement,
) -> Result<String, GenerateFailure> {
    let day_before = |d: Day| d.add_days(-1).unwrap_or(d);
    let shifted = Entitlement {
        expires: e.expires.map(day_before),
        ..e.clone()
    };
    codec
        .encode(&shifted)
        .map_err(|failure| match (failure, e.expires) {
            (GenerateFailure::Refused { field, .. }, Some(day)) if field == "expires" => {
                GenerateFailure::Refused {
                    field,
                    reason: format!("{day} is not 1 to 16383 days after 2000-01-02"),
                }
            }
            (other, _) => other,
        })
}

/// `date-epoch`, validating: the decoded last valid day is one day late, and
/// the expiry check runs on that day.
pub(crate) fn decode_with_late_epoch(codec: &Lk1, key: &[u8], ctx: &Context) -> Validation {
    let mut v = codec.decode(key, ctx);
    if let Some(expires) = v.decoded.as_mut().and_then(|d| d.expires.as_mut()) {
        *expires = expires.map(|d| d.add_days(1).unwrap_or(d));
    }
    expiry::rejudge(v, ctx, expiry::spec_is_expired)
}

/// `lax-mac`, validating: the payload is read and judged as the spec says,
/// but the MAC is never compared (the key is re-sealed with the right one).
pub(crate) fn decode_without_mac(codec: &Lk1, key: &[u8], ctx: &Context) -> Validation {
    match lk1::parse_symbols(key) {
        Ok(value) => {
            let resealed = codec.seal(&Payload::unpack(value >> MAC_BITS));
            codec.decode(resealed.as_bytes(), ctx)
        }
        Err(_) => codec.decode(key, ctx),
    }
}

/// `last-bit-unread`: the spec's decode, less the feature `lost` (the one
/// on the bit the defective loop never reaches).
pub(crate) fn decode_losing_feature(
    codec: &Lk1,
    key: &[u8],
    ctx: &Context,
    lost: &str,
) -> Validation {
    let mut v = codec.decode(key, ctx);
    if let Some(features) = v.decoded.as_mut().and_then(|d| d.features.as_mut()) {
        features.remove(lost);
    }
    v
}

/// `reserved-ignored`, validating: as the spec, except that the `reserved`
/// bits are never looked at; a key the spec rejects only for them (past the
/// MAC and the version) is judged as if they were 0.
pub(crate) fn decode_ignoring_reserved(codec: &Lk1, key: &[u8], ctx: &Context) -> Validation {
    let v = codec.decode(key, ctx);
    let past_the_version = v.verdict == Verdict::Malformed && v.format.is_some();
    let Ok(value) = lk1::parse_symbols(key) else {
        return v;
    };
    let mut payload = Payload::unpack(value >> MAC_BITS);
    if !past_the_version || payload.reserved == 0 {
        return v;
    }
    payload.reserved = 0; // the bug: never unpacked, so never checked
    codec.decode(codec.seal(&payload).as_bytes(), ctx)
}

/// `mac-wrong-bytes`: the MAC is HMAC-SHA256 over the 11 payload bytes
/// alone, without the `ACME-LK1` prefix the spec (and the C original) feeds
/// first. Everything else is the spec's.
#[derive(Clone)]
pub(crate) struct UnprefixedMac {
    secret: Vec<u8>,
}

impl fmt::Debug for UnprefixedMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnprefixedMac")
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Bits of the MAC at the end of a key's 125-bit value.
const MAC_BITS: u32 = 40;

impl UnprefixedMac {
    /// The MAC keyed with the acme-lk1 secret (its raw bytes).
    pub(crate) fn new(secret: &[u8]) -> Self {
        UnprefixedMac {
            secret: secret.to_vec(),
        }
    }

    /// The first 5 bytes of the MAC over `message` (as a 40-bit number).
    fn tag(&self, message: &[u8]) -> u128 {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key");
        mac.update(message);
        mac.finalize().into_bytes()[..5]
            .iter()
            .fold(0, |acc, &b| (acc << 8) | u128::from(b))
    }

    /// The defective tag of an 85-bit payload: the bug is what it MACs.
    fn payload_tag(&self, payload: u128) -> u128 {
        self.tag(&payload.to_be_bytes()[5..]) // should be b"ACME-LK1" + these
    }

    /// Issues the key the codec would, with the defective MAC.
    pub(crate) fn encode(&self, codec: &Lk1, e: &Entitlement) -> Result<String, GenerateFailure> {
        let payload = codec.payload_for(&e.view())?.pack();
        Ok(lk1::format_symbols(
            (payload << MAC_BITS) | self.payload_tag(payload),
        ))
    }

    /// Checks the defective MAC; past it, the codec validates the same
    /// payload (re-sealed with the spec's MAC, which it then accepts).
    pub(crate) fn decode(&self, codec: &Lk1, key: &[u8], ctx: &Context) -> Validation {
        let value = match lk1::parse_symbols(key) {
            Ok(value) => value,
            Err(reason) => return Validation::reject(Verdict::Malformed, None, reason),
        };
        let payload = value >> MAC_BITS;
        if value & ((1 << MAC_BITS) - 1) != self.payload_tag(payload) {
            return Validation::reject(Verdict::BadSignature, None, "MAC does not match");
        }
        let resealed = codec.seal(&Payload::unpack(payload));
        codec.decode(resealed.as_bytes(), ctx)
    }
}
