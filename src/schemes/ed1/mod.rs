//! acme-ed1, the new Acme system's key format (SCHEMES.md, "acme-ed1"): the
//! wire form of Keygen's `ED25519_SIGN` scheme, a signed compact JSON payload.
//!
//! Other implementations of this format exist and are compared with this one,
//! so every step is pinned down: the payload is written by serde_json from a
//! struct whose fields are in the specified order, base64url is decoded with
//! canonical padding and no trailing bits (so one key has exactly one
//! spelling), the signature is checked with `verify_strict` over the exact
//! bytes received, and the checks run in the specified order, so a key that
//! breaks two rules gets the same verdict everywhere. The payload is read as
//! a JSON value and checked by hand, to say precisely what is malformed.
//!
//! The codec ([`Ed1`]) is in `codec`; `wire` is the `key/...` text form,
//! `payload` the JSON payload (and `canonical` a one-pass reading of the
//! payloads issuers write), `keys` the key settings, and `generate` and
//! `validate` the two directions built from them, and `forge` re-signed
//! payloads with values the format rules out ([`crate::forgery`]). This file
//! only re-exports.

mod canonical;
mod codec;
mod forge;
mod generate;
mod keys;
mod payload;
mod validate;
mod wire;

#[cfg(test)]
mod testing;

pub use codec::{Ed1, FORMAT};
pub use payload::VERSION;
pub(crate) use payload::describe;
pub use wire::{MAX_KEY_BYTES, PREFIX};
