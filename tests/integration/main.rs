//! keycompat's integration tests: the real binary, the real plugins, the
//! report formats, end to end.
//!
//! One test binary with one module per concern, not one binary per file:
//! each binary in `tests/` links the whole library and its dependencies
//! again, which cost minutes of a fresh `cargo test --workspace` on a
//! 2-core machine. Add a new concern as a module here, not as a file in
//! `tests/`. Run one module with `cargo test --test integration reports::`.
//! Report snapshots live in `snapshots/` beside this file (insta names them
//! after the module path, `integration__reports__*.snap`).

mod common;

mod abi;
mod bad_input;
mod baseline;
mod bench;
mod ci;
mod data;
mod detection;
mod env;
mod foundation;
mod gave_up;
mod grid;
mod history;
mod isolation;
mod plugin_messages;
mod process;
mod proof;
mod properties;
mod reports;
mod run;
mod selftest;
mod teardown;
mod trust;
mod typed;
mod vectors;
mod volume;
