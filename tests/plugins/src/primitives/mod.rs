//! Small encodings and a hash that some defects need below keycompat's API.
//!
//! keycompat's codecs keep their key text and MAC functions private, and this
//! crate may depend on nothing but keycompat and the plugin SDK (its manifest
//! is fixed). The few defects that act below the codecs' public API (a MAC
//! over other bytes, a signature that is never checked) need these instead.
//! Each is checked against published test vectors and against keycompat's own
//! keys; none is meant for anything but this test plugin.

pub(crate) mod base64url;
pub(crate) mod crockford;
pub(crate) mod sha256;
