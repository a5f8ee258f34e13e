//! keycompat: proves a license-key system migration safe before go-live.
//!
//! The library holds all logic; `src/main.rs` only parses the command line.
//! Modules follow the concepts a user names: the [`entitlement`] model and
//! [`catalog`], the [`verdict`] of a validator, the builtin [`schemes`], the
//! [`plugin`] host (the only place with `unsafe`), the [`config`], and the
//! [`implementation`] interface that makes builtins and plugins
//! interchangeable.
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod bench;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod date;
pub mod entitlement;
pub mod exit;
pub mod export;
pub mod finding;
pub mod gate;
pub mod implementation;
pub mod judge;
pub mod marshal;
pub mod plugin;
pub mod progress;
pub mod random;
pub mod report;
pub mod run;
pub mod schemes;
pub mod settings;
pub mod shrink;
pub mod sources;
pub mod summary;
pub mod system;
pub mod vectors;
pub mod verdict;
pub mod waiver;
