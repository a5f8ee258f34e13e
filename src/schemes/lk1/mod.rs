//! acme-lk1, the old Acme system's key format (SCHEMES.md, "acme-lk1"),
//! reimplemented in Rust.
//!
//! The original is a C library that can never change inside shipped releases,
//! so this codec has to match it bit for bit: it is the old system as a
//! builtin ([`Lk1System`]), the new system's legacy emitter, and the second
//! implementation that PARITY compares the C original with. Refusals check the
//! fields in the same order as the C original (product, edition, features,
//! seats, expires, serial, host_id), so both name the same field.
//!
//! A key is 25 Crockford base32 symbols holding `(payload85 << 40) | mac40`;
//! the whole value fits a `u128`, which keeps packing and unpacking to shifts
//! and masks. The keyed HMAC state is computed once per codec and cloned per
//! key, because key throughput is benchmarked.
//!
//! The codec ([`Lk1`]) is in `codec`; `text` is the key's symbols, `payload`
//! the 85-bit field layout, `mac` the 40-bit MAC, `generate` and `validate`
//! the two directions built from them, `forge` the re-MACed payloads with
//! values the format rules out ([`crate::forgery`]), and `system` the
//! builtin. This file only re-exports.

mod codec;
mod forge;
mod generate;
mod mac;
mod payload;
mod system;
mod text;
mod validate;

#[cfg(test)]
mod testing;

pub use codec::{FORMAT, Lk1};
pub use payload::{MAX_EXPIRY_DAYS, MAX_SEATS, MAX_SERIAL, Payload, VERSION};
pub use system::Lk1System;
pub use text::{format_symbols, is_key_byte, parse_symbols};
