//! The key's 40-bit MAC: the first 5 bytes of HMAC-SHA256(secret,
//! "ACME-LK1" || payload), keyed once per codec and compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The MAC's domain separation prefix.
const MAC_DOMAIN: &[u8] = b"ACME-LK1";
/// Bytes of the MAC kept in the key.
pub(super) const MAC_BYTES: usize = 5;
/// Bits of the MAC in the 125-bit value.
pub(super) const MAC_BITS: u32 = 40;
/// Bytes of the payload as the MAC reads it (85 bits, big-endian).
const PAYLOAD_BYTES: usize = 11;

/// HMAC-SHA256 keyed with the secret, already fed the domain prefix; cloned
/// for each key, because key throughput is benchmarked.
pub(super) type MacKey = Hmac<Sha256>;

/// The MAC state for `secret` (the raw bytes of the secret), or why the
/// secret cannot be used.
pub(super) fn keyed(secret: &[u8]) -> Result<MacKey, String> {
    if secret.is_empty() {
        return Err("must not be empty".into());
    }
    let mut mac_key =
        MacKey::new_from_slice(secret).map_err(|_| "is not a usable HMAC key".to_string())?;
    mac_key.update(MAC_DOMAIN);
    Ok(mac_key)
}

/// The first 5 bytes of HMAC-SHA256(secret, "ACME-LK1" || payload).
pub(super) fn tag(key: &MacKey, payload: u128) -> [u8; MAC_BYTES] {
    let mut mac = key.clone();
    mac.update(&payload_bytes(payload));
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; MAC_BYTES];
    out.copy_from_slice(&full[..MAC_BYTES]);
    out
}

/// Whether `tag` is the MAC of `payload`, compared in constant time.
pub(super) fn matches(key: &MacKey, payload: u128, tag: &[u8]) -> bool {
    let mut mac = key.clone();
    mac.update(&payload_bytes(payload));
    mac.verify_truncated_left(tag).is_ok()
}

/// The payload as the MAC reads it: 11 big-endian bytes.
fn payload_bytes(payload: u128) -> [u8; PAYLOAD_BYTES] {
    let all = payload.to_be_bytes();
    let mut out = [0u8; PAYLOAD_BYTES];
    out.copy_from_slice(&all[16 - PAYLOAD_BYTES..]);
    out
}
