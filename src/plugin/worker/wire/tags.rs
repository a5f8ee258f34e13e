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
/// Coordinator → worker: in the next request, when a plugin life dies
/// calling an item while another is unanswered, run that item alone in a
/// fresh life before telling, and go on (three `u32`s: how many
/// milliseconds it gets, the deaths in a row so far, how many are allowed).
pub(crate) const TAG_CONFIRM: u8 = 5;
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
/// Worker → coordinator: the plugin child died calling an item, and that
/// item failed again alone in a fresh life (after a `Confirm`); the
/// request goes on, or ends there.
pub(crate) const TAG_BLAMED: u8 = 106;
