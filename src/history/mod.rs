//! Go-live over time: the run history, and the criteria that look back over
//! it.
//!
//! Go-live criteria are about time, not one run: orders pushed through both
//! systems for two weeks with no issue, a share of the migrated field keys
//! validated while data migrates over the weeks before go-live, no red gate
//! lately. One run cannot prove them, so every full run, data run and merge
//! (never a shard: its gates count only its own cases) appends one compact
//! [`record::Record`] to a JSON Lines file ([`file`]) that is safe to commit
//! or keep as a CI artifact, and the next run judges the criteria over it
//! ([`criteria`]) and shows the trend per day ([`trend`]).
//!
//! Field keys and orders are recorded as stable ids ([`ids`]), never as
//! keys, so coverage accumulates across runs without the history holding a
//! secret. The history only reports and judges; the run itself never reads
//! it, so a run with a history computes exactly what one without does.
//!
//! This file only declares and re-exports: each child imports its siblings
//! by their own paths, so no file imports this one in a circle.

pub mod apply;
pub mod config;
pub mod criteria;
pub mod file;
pub mod ids;
pub mod record;
pub mod render;
pub mod trend;

pub use apply::{of_file, record_of};
pub use config::{HistoryConfig, HistoryGates, Level, RestartOn};
pub use file::{History, HistoryError, append, read};
pub use ids::IdSet;
pub use record::{Problem, Record, SCHEMA};
pub use trend::{DayRow, Trend};
