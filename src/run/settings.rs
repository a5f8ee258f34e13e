//! What a run is given besides the config ([`Settings`]), what it tells its
//! caller while it goes ([`Events`]), and why it may fail ([`RunError`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::partition::Partition;
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::finding::{Check, GroupKey};
use crate::gate::Scope;
use crate::sources::SourceSummary;
use crate::system::{Hosting, OpenError};
use crate::vectors::{VectorError, VectorSet};

/// How a run goes: what the cases are and how they are run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed of the random cases.
    pub seed: u64,
    /// Number of random cases (before partitioning).
    pub cases: u64,
    /// Worker threads.
    pub threads: usize,
    /// Cases per batch.
    pub batch: usize,
    /// This shard, if sharded.
    pub partition: Option<Partition>,
    /// The day waivers are judged on.
    pub today: Day,
}

/// Everything a run needs besides the config, resolved by the caller.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Cases, threads, shard and day.
    pub options: RunOptions,
    /// Checks to run.
    pub checks: BTreeSet<Check>,
    /// Where plugins run.
    pub hosting: Hosting,
    /// Shrink failing cases and save them as regression vectors.
    pub shrink: bool,
    /// Add cases steered into combinations the random cases missed.
    pub steer: bool,
    /// A `keycompat bench` result to show in the reports.
    pub throughput: Option<crate::bench::result::BenchResult>,
    /// The `--config` argument a replay command needs to find this config
    /// from the directory the run was started in (`None`: the default
    /// `./keycompat.toml`).
    pub replay_config: Option<String>,
    /// How systems are opened, when not as the config says
    /// (`keycompat selftest` plants a defect in one; see
    /// [`crate::check::OpenHook`]).
    pub hook: Option<std::sync::Arc<dyn crate::check::OpenHook>>,
}

/// What a run tells its caller while it goes. Every method has a default
/// that ignores the event, so a caller implements only what it shows.
pub trait Events: Sync {
    /// The run starts (`scope` says whether it is a full run or data only).
    fn started(&self, _scope: Scope, _options: &RunOptions) {}
    /// The vectors were loaded from `dir` (`None`: the config has none).
    fn vectors_loaded(&self, _set: &VectorSet, _dir: Option<&Path>) {}
    /// `n` more random cases were run.
    fn progress(&self, _n: u64) {}
    /// The random cases are done.
    fn random_done(&self) {}
    /// `n` cases were steered into combinations not yet covered.
    fn steered(&self, _n: usize) {}
    /// Something the user should know, but that does not stop the run.
    fn warning(&self, _message: &str) {}
    /// An export was run.
    fn source_done(&self, _what: &str, _summary: &SourceSummary) {}
    /// A group's example was shrunk to `entitlement`.
    fn shrunk(&self, _group: &GroupKey, _entitlement: Option<&Entitlement>) {}
    /// A regression vector was saved.
    fn regression_saved(&self, _id: &str, _path: &Path) {}
    /// A finding no waiver covers was recorded, of root cause `group`
    /// (called from the run's threads, once per finding).
    fn unwaived(&self, _group: &GroupKey) {}
}

/// [`Events`] that shows nothing.
pub struct Silent;

impl Events for Silent {}

/// Why a run could not reach a verdict. (A system that gives up mid-run is
/// not one of them: the run stops and its result says so, NO-GO; see
/// [`super::GaveUp`].)
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A vector file is invalid.
    #[error(
        "vector files in {dir} are invalid:\n  {}\nhint: `keycompat vectors check` lints them",
        describe(.errors),
        dir = .dir.display()
    )]
    Vectors {
        /// The vectors directory.
        dir: PathBuf,
        /// Every problem, with file, line and column.
        errors: Vec<VectorError>,
    },
    /// A system cannot be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// An export cannot be read.
    #[error(transparent)]
    Source(#[from] crate::export::SourceError),
    /// A regression vector cannot be saved.
    #[error("saving a regression vector in {}: {source}", .dir.display())]
    SaveRegression {
        /// The regressions directory.
        dir: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The first problems of a list, one per line.
fn describe(errors: &[VectorError]) -> String {
    let mut text: Vec<String> = errors.iter().take(20).map(|e| e.to_string()).collect();
    if errors.len() > 20 {
        text.push(format!("... and {} more", errors.len() - 20));
    }
    text.join("\n  ")
}
