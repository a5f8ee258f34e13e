//! The keycompat plugin ABI, for both sides of the boundary.
//!
//! `plugins/include/keycompat_plugin.h` is the ABI of record; [`abi`] mirrors it
//! with the same layout assertions, so a change to one that is not made to the
//! other fails to compile. [`wire`] is the text form in which fields and
//! decodes cross the boundary (a C plugin needs no JSON parser); [`typed`]
//! the fixed-layout form of ABI 1.2, which needs no text at all. [`export`]
//! turns a Rust type implementing [`Plugin`] into a plugin library, catching
//! panics so that they come back to the host as `KC_ERR_PANIC`, never as an
//! abort or as unwinding into foreign frames.
//!
//! This crate has no dependencies and knows nothing about entitlements: it
//! moves bytes. The meaning of the fields belongs to keycompat itself.
#![warn(missing_docs)]

pub mod abi;
pub mod export;
pub mod typed;
pub mod wire;

pub use export::{GenerateError, Plugin};
pub use typed::{DecodeOut, TypedContext, TypedDecode, TypedEntitlement};
pub use wire::Fields;
