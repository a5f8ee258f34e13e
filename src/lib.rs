//! keycompat: proves a license-key system migration safe before go-live.
//!
//! A proof is a library call: [`run::run`] takes a [`config::Config`] and
//! resolved [`run::Settings`] and returns a judged [`run::RunResult`], which
//! [`report::write_all`] renders. The binary (`src/main.rs`) only hands the
//! command line to [`cli`], which parses flags, calls the library, prints,
//! and maps the outcome to an [`exit`] code.
//!
//! Modules follow the concepts a user names: the [`entitlement`] model and
//! [`catalog`], the [`verdict`] of a validator, the builtin [`schemes`], the
//! [`implementation`] interface that makes builtins and plugins
//! interchangeable (and lets those that hold a secret offer [`forgery`]s),
//! the [`plugin`] host (the only place with `unsafe`), the checks of the
//! matrix ([`check`], one file per check), the one [`judge`] that classifies
//! every disagreement, [`waiver`]s and [`gate`]s, and the [`report`] formats.
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod bench;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod date;
pub mod detection;
pub mod entitlement;
pub mod environment;
pub mod exit;
pub mod export;
mod fanout;
pub mod finding;
pub mod forgery;
pub mod gate;
pub mod history;
pub mod implementation;
pub mod inject;
pub mod json_u64;
pub mod judge;
pub mod marshal;
pub mod plugin;
pub mod progress;
pub mod random;
pub mod report;
pub mod run;
pub mod schemes;
pub mod selftest;
pub mod settings;
pub mod shrink;
pub mod sources;
pub mod summary;
pub mod system;
pub mod utf8;
pub mod vectors;
pub mod verdict;
pub mod volume;
pub mod waiver;
pub mod words;
