//! The proof itself: a full run and a data-only run, from an opened matrix
//! to a judged result.

use std::sync::atomic::{AtomicBool, Ordering};

use super::aggregate::Aggregate;
use super::result::{RunMeta, RunResult, coverage_report, coverage_space, system_infos};
use super::runner::Runner;
use super::settings::{Events, RunError, Settings};
use super::{regressions, sources, steer, vectors};
use crate::check::Matrix;
use crate::config::Config;
use crate::gate::Scope;
use crate::random::Generator;
use crate::sources::DataSummary;

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
    let set = vectors::load_vectors(config)?;
    events.vectors_loaded(&set, &config.vectors_dir());
    vectors::check(&matrix, config, &set, options, &mut aggregate);
    aggregate.merge(runner.run_cases(&vectors::cases(&set), &|_| {}));
    let generator = Generator::new(
        options.seed,
        config.catalog.clone(),
        config.release_majors(),
    );
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
    let mut result = finish(
        config,
        settings,
        Scope::Full,
        &matrix,
        aggregate,
        data,
        stop,
    );
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
