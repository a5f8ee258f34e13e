//! The compatibility proof as a library call: [`run`] (vectors, regressions,
//! random and steered cases, the vendor's exports, shrinking and saving
//! regressions), [`data`] (the exports alone) and [`replay`] (one case) take
//! a config and resolved [`Settings`] and return a judged [`RunResult`].
//!
//! Nothing here parses arguments, prints, or chooses an exit code: the CLI
//! does that. What a caller may want to show while a run goes (progress,
//! warnings, shrunk cases) arrives through [`Events`].

mod aggregate;
mod merge;
mod partition;
mod regressions;
mod replay;
mod result;
mod runner;
mod sources;
mod steer;
mod vectors;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::check::Matrix;
use crate::config::Config;
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::finding::{Check, GroupKey};
use crate::gate::Scope;
use crate::random::Generator;
use crate::sources::{DataSummary, SourceSummary};
use crate::system::{Hosting, OpenError};
use crate::vectors::{VectorError, VectorSet};

pub use aggregate::{Aggregate, Counts, GroupMap};
pub use merge::MergeError;
pub use partition::{Partition, case_id};
pub use replay::{
    ReplayError, ReplayTarget, Replayed, WaiverDecision, replay, replay_command, shell_quote,
};
pub use result::{RunMeta, RunResult, coverage_report, coverage_space, system_infos};
pub(crate) use runner::pull_parallel;
pub use runner::Runner;
pub use vectors::load_vectors;

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
    pub throughput: Option<crate::bench::BenchResult>,
}

/// What a run tells its caller while it goes. Every method has a default
/// that ignores the event, so a caller implements only what it shows.
pub trait Events: Sync {
    /// The run starts (`scope` says whether it is a full run or data only).
    fn started(&self, _scope: Scope, _options: &RunOptions) {}
    /// The vectors were loaded from `dir`.
    fn vectors_loaded(&self, _set: &VectorSet, _dir: &Path) {}
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
}

/// [`Events`] that shows nothing.
pub struct Silent;

impl Events for Silent {}

/// Why a run could not reach a verdict.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A vector file is invalid.
    #[error(
        "vector files in {dir} are invalid:\n  {}\nhint: `keycompat vectors check` lints them",
        vectors::describe(.errors),
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
    /// A plugin failed on every call until its restarts ran out.
    #[error(
        "system {system:?} gave up: {message}; hint: replay one of its cases with --isolation worker to see the crash"
    )]
    PluginGaveUp {
        /// The system.
        system: String,
        /// Why.
        message: String,
    },
    /// A regression vector cannot be saved.
    #[error("saving a regression vector in {}: {source}", .dir.display())]
    SaveRegression {
        /// The regressions directory.
        dir: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The full proof: vectors, regressions, random and steered cases, and the
/// configured exports through the check matrix; failing cases shrunk and
/// saved as regression vectors; judged by the config's gates. `stop` cuts
/// the run short (the result is then marked interrupted).
pub fn run(
    config: &Config,
    settings: &Settings,
    events: &dyn Events,
    stop: &AtomicBool,
) -> Result<RunResult, RunError> {
    let options = &settings.options;
    events.started(Scope::Full, options);
    let matrix = Matrix::open(config, settings.checks.clone(), &settings.hosting)?;
    let space = coverage_space(config);
    let runner = Runner {
        matrix: &matrix,
        waivers: &config.waivers,
        options,
        stop,
        coverage: Some(&space),
    };
    let mut aggregate = Aggregate::new(config.waivers.len());
    let set = load_vectors(config)?;
    events.vectors_loaded(&set, &config.vectors_dir());
    vectors::check(&matrix, config, &set, options, &mut aggregate);
    aggregate.merge(runner.run_cases(&vectors::cases(&set), &|_| {}));
    let generator = Generator::new(options.seed, config.catalog.clone(), release_majors(config));
    aggregate.merge(runner.run_random(&generator, &|n| events.progress(n)));
    events.random_done();
    // Targets come from this shard's own coverage, so a sharded run does not
    // steer (its shards would steer differently from an unsharded run).
    if settings.steer && options.partition.is_none() && !stop.load(Ordering::Relaxed) {
        let steered = steer::cases(&space, &aggregate, &generator, config, options);
        if !steered.is_empty() {
            events.steered(steered.len());
        }
        aggregate.merge(runner.run_steered(&steered));
    }
    let data = if config.sources.field_keys.is_some() || config.sources.orders.is_some() {
        Some(sources::run_all(&runner, config, &mut aggregate, events)?)
    } else {
        None
    };
    gave_up(&matrix)?;
    if settings.shrink && !stop.load(Ordering::Relaxed) {
        regressions::shrink(&matrix, config, &mut aggregate, events);
        regressions::save(config, &aggregate, options, events)?;
    }
    let mut result = finish(config, settings, Scope::Full, &matrix, aggregate, data, stop);
    result.throughput = settings.throughput.clone();
    Ok(result)
}

/// The configured exports alone (`keycompat data`): field keys through old
/// and new, orders through the check matrix, judged by the data and finding
/// gates.
pub fn data(
    config: &Config,
    settings: &Settings,
    events: &dyn Events,
    stop: &AtomicBool,
) -> Result<RunResult, RunError> {
    let options = &settings.options;
    events.started(Scope::Data, options);
    let matrix = Matrix::open(config, settings.checks.clone(), &settings.hosting)?;
    let space = coverage_space(config);
    let runner = Runner {
        matrix: &matrix,
        waivers: &config.waivers,
        options,
        stop,
        coverage: Some(&space),
    };
    let mut aggregate = Aggregate::new(config.waivers.len());
    let data = sources::run_all(&runner, config, &mut aggregate, events)?;
    gave_up(&matrix)?;
    if settings.shrink && !stop.load(Ordering::Relaxed) {
        regressions::shrink(&matrix, config, &mut aggregate, events);
        regressions::save(config, &aggregate, options, events)?;
    }
    Ok(finish(
        config,
        settings,
        Scope::Data,
        &matrix,
        aggregate,
        Some(data),
        stop,
    ))
}

/// A system that failed on every call until its restarts ran out ends the
/// run: nothing it was asked was proven.
fn gave_up(matrix: &Matrix) -> Result<(), RunError> {
    match matrix.fatal() {
        Some((system, message)) => Err(RunError::PluginGaveUp { system, message }),
        None => Ok(()),
    }
}

/// Judges what a run measured.
fn finish(
    config: &Config,
    settings: &Settings,
    scope: Scope,
    matrix: &Matrix,
    aggregate: Aggregate,
    data: Option<DataSummary>,
    stop: &AtomicBool,
) -> RunResult {
    let options = &settings.options;
    let meta = RunMeta {
        keycompat_version: env!("CARGO_PKG_VERSION").to_string(),
        config: config.path.display().to_string(),
        config_sha256: config.sha256.clone(),
        seed: options.seed,
        cases: options.cases,
        partitions: options.partition.into_iter().collect(),
        checks: settings.checks.iter().copied().collect(),
        today: options.today,
        systems: system_infos(matrix),
        old: matrix.old.clone(),
        new: matrix.new.clone(),
        releases: config
            .releases
            .iter()
            .map(|r| (r.name.clone(), r.validator.clone()))
            .collect(),
        interrupted: stop.load(Ordering::Relaxed),
        gates_config: config.gates.clone(),
        scope,
    };
    let coverage = Some(coverage_report(&coverage_space(config), &aggregate));
    RunResult::judge(
        meta,
        aggregate,
        data,
        coverage,
        &config.waivers,
        &config.gates,
    )
}

/// The major versions of the shipped releases (random cases favour them).
pub fn release_majors(config: &Config) -> Vec<u8> {
    let mut m: Vec<u8> = config
        .releases
        .iter()
        .filter_map(|r| u8::try_from(r.version.major).ok())
        .collect();
    m.sort_unstable();
    m.dedup();
    m
}
