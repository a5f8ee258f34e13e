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
//! [Confirm{ms}] [Fresh] Generate{entitlements} | Validate{(key, context)...}
//!                                      → Results{first, n, done, results}... (done on the last)
//!                                        (after Fresh, in a plugin life that served nothing)
//! (during a request, or before one)  → LifeEnded{idle, calling, how}: the plugin child died,
//!                                        the worker goes on with a fresh one (`lives.rs`)
//! (after Confirm, during the request) → Blamed{goes_on, crash, alone}: the plugin child died
//!                                        calling an item, which failed again alone in a fresh
//!                                        life; the request goes on in another without that item
//!                                        (Results count on from the answers sent), or ends there
//!                                        (as after LifeEnded)
//! (any)                                → Error{message}: the worker gives up (a bug, not the plugin)
//! ```
//!
//! The encoding is split by concern: [`codec`] frames and primitive values,
//! [`tags`] the message tags, [`handshake`] the hello, ready, load-failure
//! and error messages, [`life`] a plugin child's death, [`request`] the
//! items of a request, [`answer`] the results frames. The rest of the worker uses them through the names
//! re-exported here; they name each other directly, never through this
//! file.

mod answer;
mod codec;
mod handshake;
mod life;
mod request;
mod tags;

pub(super) use answer::{
    patch_results, put_generate_result, put_validate_result, read_generate_result,
    read_results_header, read_validate_result, start_results,
};
pub(super) use codec::{FrameWriter, HEADER_BYTES, MAX_FRAME_BYTES, Reader, WireError, put_u32};
pub(super) use handshake::{
    Hello, decode_hello, decode_load_failed, decode_ready, encode_error, encode_hello,
    encode_load_failed, encode_ready,
};
pub(super) use life::{
    Alone, Blamed, CONFIRM_FRAME_BYTES, Confirm, LifeEnded, decode_blamed, decode_confirm,
    decode_life_ended, encode_blamed, encode_confirm, encode_life_ended,
};
pub(super) use request::{
    put_entitlement, put_validate_item, read_entitlement, read_validate_item,
};
pub(super) use tags::{
    TAG_BLAMED, TAG_CONFIRM, TAG_ERROR, TAG_FRESH, TAG_GENERATE, TAG_HELLO, TAG_LIFE_ENDED,
    TAG_LOAD_FAILED, TAG_READY, TAG_RESULTS, TAG_VALIDATE,
};
