//! The worker protocol's messages and their binary encoding.
//!
//! A frame is a `u32` little-endian payload length followed by the payload;
//! the payload starts with a one-byte message tag. Values are encoded by hand
//! (little-endian integers, `u32`-length-prefixed byte strings, one tag byte
//! per `Option`), not through serde: the encoding is then independent of the
//! serde attributes of the model types (`skip_serializing_if` would silently
//! break a non-self-describing serde format), costs no dependency, and is as
//! fast as a memcpy. Decoding never panics and never allocates more than the
//! frame holds: every length is checked against the bytes that remain.
//!
//! Conversation (coordinator → worker, worker → coordinator):
//!
//! ```text
//! Hello{magic, protocol, version, plugin path, settings, progress}
//!                                      → Ready{protocol, version, info} | LoadFailed{error}
//! Generate{entitlements} | Validate{(key, context)...}
//!                                      → Results{first, n, done, results}... (done on the last)
//! (any)                                → Error{message}: the worker gives up (a bug, not the plugin)
//! ```
//!
//! The encoding is split by concern: [`codec`] frames and primitive values,
//! [`handshake`] the hello, ready, load-failure and error messages,
//! [`request`] the items of a request, [`answer`] the results frames. The
//! rest of the worker uses them through the names re-exported here.

mod answer;
mod codec;
mod handshake;
mod request;

pub(super) use answer::{
    patch_results, put_generate_result, put_validate_result, read_generate_result,
    read_results_header, read_validate_result, start_results,
};
pub(super) use codec::{FrameWriter, Reader, WireError, put_u32};
pub(super) use handshake::{
    Hello, decode_hello, decode_load_failed, decode_ready, encode_error, encode_hello,
    encode_load_failed, encode_ready,
};
pub(super) use request::{
    put_entitlement, put_validate_item, read_entitlement, read_validate_item,
};

/// The first bytes of a `Hello`: "KCWK".
pub(super) const MAGIC: [u8; 4] = *b"KCWK";
/// Bumped on every incompatible change of this module.
pub(super) const PROTOCOL_VERSION: u32 = 1;
/// The largest frame either side accepts (64 MiB).
pub(super) const MAX_FRAME_BYTES: usize = 64 << 20;

/// Coordinator → worker: start.
pub(super) const TAG_HELLO: u8 = 1;
/// Coordinator → worker: generate keys.
pub(super) const TAG_GENERATE: u8 = 2;
/// Coordinator → worker: validate keys.
pub(super) const TAG_VALIDATE: u8 = 3;
/// Worker → coordinator: the plugin is loaded.
pub(super) const TAG_READY: u8 = 101;
/// Worker → coordinator: the plugin could not be loaded.
pub(super) const TAG_LOAD_FAILED: u8 = 102;
/// Worker → coordinator: answers to a request, in order.
pub(super) const TAG_RESULTS: u8 = 103;
/// Worker → coordinator: the worker gives up.
pub(super) const TAG_ERROR: u8 = 104;

/// Bytes a frame's header takes.
pub(super) const HEADER_BYTES: usize = 4;
