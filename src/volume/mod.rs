//! Go-live volume: proof that the new system carries the go-live peak.
//!
//! A migration's go-live criteria include throughput, not only
//! compatibility: the new system must issue and validate keys at the
//! expected peak, with headroom, at the thread count production runs. The
//! figures are `keycompat bench`'s (median and range over interleaved
//! rounds, per system, operation, key format, hosting and thread count),
//! either read from a bench.json given with `--throughput` or measured by the
//! run itself after its cases ([`measure`]). [`judge`] picks the figure that
//! stands for production and compares it with `[gates.volume]`
//! ([`config`]); [`apply`] refuses figures of another system or build and
//! adds the gates to a finished run.
//!
//! A configured gate is never green without evidence: no figures, figures of
//! another build, or none at the production thread count are each a gate not
//! met, at the configured level, saying what to run.
//!
//! This file only declares and re-exports: each child imports its siblings
//! by their own paths, so no file imports this one in a circle.

pub mod apply;
pub mod config;
pub mod judge;
pub mod measure;

pub use config::VolumeGates;
pub use judge::{Evidence, ISSUE_GATE, VALIDATE_GATE, Volume};
pub use measure::{MeasureError, measure};
