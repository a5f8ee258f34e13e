//! The plugin host: loads C-ABI shared libraries and calls them.
//!
//! This is the only module with `unsafe` code. Loading runs foreign
//! initialisers, and every call trusts the table the plugin returned, so the
//! host checks everything it can before the first call (magic, ABI major,
//! struct size, reserved bytes, null function pointers, name and version
//! strings) and reports a precise error naming the plugin path. Libraries are
//! opened with `RTLD_NOW | RTLD_LOCAL` by absolute path and never unloaded
//! (unloading Rust or C libraries with thread-locals is unsound).
//!
//! What a plugin answers is checked too: unknown status codes, lengths beyond
//! the buffer, invalid UTF-8 and decode text outside the header's grammar come
//! back as [`FailureKind::Protocol`], which the checks report as `crash`.
#![allow(unsafe_code)]

pub mod exit_guard;
mod host;
mod library;
mod typed;
pub mod worker;

pub use host::PluginImpl;
pub use library::{LoadedPlugin, PluginError, load, sha256_file};
pub use worker::{DEFAULT_MEMORY_LIMIT, WorkerImpl, WorkerOptions, human_bytes};
