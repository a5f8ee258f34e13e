//! The message tags: the first byte of every payload, saying which message
//! it is. Messages to the worker are numbered from 1, messages from it from
//! 101.

/// Coordinator → worker: start.
pub(crate) const TAG_HELLO: u8 = 1;
/// Coordinator → worker: generate keys.
pub(crate) const TAG_GENERATE: u8 = 2;
/// Coordinator → worker: validate keys.
pub(crate) const TAG_VALIDATE: u8 = 3;
/// Coordinator → worker: run the next request in a fresh plugin life (an
/// item run alone must not inherit what earlier calls did to the plugin).
pub(crate) const TAG_FRESH: u8 = 4;
/// Worker → coordinator: the plugin is loaded.
pub(crate) const TAG_READY: u8 = 101;
/// Worker → coordinator: the plugin could not be loaded.
pub(crate) const TAG_LOAD_FAILED: u8 = 102;
/// Worker → coordinator: answers to a request, in order.
pub(crate) const TAG_RESULTS: u8 = 103;
/// Worker → coordinator: the worker gives up.
pub(crate) const TAG_ERROR: u8 = 104;
/// Worker → coordinator: the plugin child died; the worker lives on.
pub(crate) const TAG_LIFE_ENDED: u8 = 105;
