//! The compatibility proof as a library call: [`run`] (vectors, regressions,
//! random and steered cases, the vendor's exports, shrinking and saving
//! regressions), [`data`] (the exports alone) and [`replay`] (one case) take
//! a config and resolved [`Settings`] and return a judged [`RunResult`].
//!
//! Nothing here parses arguments, prints, or chooses an exit code: the CLI
//! does that. What a caller may want to show while a run goes (progress,
//! warnings, shrunk cases) arrives through [`Events`].

mod aggregate;
mod baseline;
pub mod changes;
mod gave_up;
mod merge;
mod partition;
mod proof;
mod regressions;
mod replay;
mod replay_command;
mod result;
mod runner;
mod settings;
mod sources;
mod steer;
mod vectors;

pub use crate::check::case_id;
pub use aggregate::{Aggregate, Counts, GroupMap};
pub use gave_up::GaveUp;
pub use merge::MergeError;
pub use partition::{CI_SHARD_VARIABLES, Partition, from_ci as partition_from_ci};
pub use proof::{data, run};
pub(crate) use regressions::shrinkable;
pub use replay::{ReplayError, ReplayTarget, Replayed, WaiverDecision, replay};
pub use replay_command::{replay_command, shell_quote};
pub use result::{RunMeta, RunResult, coverage_report, coverage_space, system_infos};
pub use runner::Runner;
pub(crate) use runner::pull_parallel;
pub use settings::{Events, RunError, RunOptions, Settings, Silent};
pub use vectors::load_vectors;
