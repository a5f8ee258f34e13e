//! Process exit codes, documented and stable: CI scripts branch on them.

/// Go: every gate green (or yellow only through waivers and warnings); for
/// `validate`, the key is valid; for `generate`, every entitlement got a key.
pub const GO: i32 = 0;
/// Incompatible: a red gate; for `validate`, the key is rejected; for
/// `generate`, at least one entitlement was refused by the format.
pub const INCOMPATIBLE: i32 = 1;
/// Usage, config or vector error: the input is wrong, nothing was proven.
pub const USAGE: i32 = 2;
/// A plugin could not be loaded, breaks the ABI, or failed on every call
/// until its restarts ran out: nothing it was asked was proven.
pub const PLUGIN: i32 = 3;
/// Interrupted by a second Ctrl-C (SIGINT): 128 + 2, as shells report it.
pub const INTERRUPTED: i32 = 130;
