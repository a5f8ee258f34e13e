//! The proof itself: a full run and a data-only run, from an opened matrix
//! to a judged result.

use std::sync::atomic::{AtomicBool, Ordering};

use super::aggregate::Aggregate;
use super::gave_up::GaveUp;
use super::result::{RunMeta, RunResult, coverage_report, coverage_space, system_infos};
use super::runner::Runner;
use super::settings::{Events, RunError, Settings};
use super::{regressions, sources, steer, vectors};
use crate::check::Matrix;
use crate::config::Config;
use crate::coverage::CoverageSpace;
use crate::gate::Scope;
use crate::random::Generator;
use crate::sources::DataSummary;
use crate::waiver::Waiver;

/// What `run` and `data` open alike: the systems and the entitlement space
/// whose coverage the run tracks.
struct Opened<'a> {
    config: &'a Config,
    events: &'a dyn Events,
    settings: &'a Settings,
    scope: Scope,
    stop: &'a AtomicBool,
    matrix: Matrix,
    space: CoverageSpace,
}

impl<'a> Opened<'a> {
    fn open(
        config: &'a Config,
        settings: &'a Settings,
        scope: Scope,
        events: &'a dyn Events,
        stop: &'a AtomicBool,
    ) -> Result<Self, RunError> {
        events.started(scope, &settings.options);
        let matrix = Matrix::open_with(
            config,
            settings.checks.clone(),
            &settings.hosting,
            settings.hook.as_deref(),
        )?;
        if matrix.enabled(crate::finding::Check::Env) {
            for warning in config.env.warnings() {
                events.warning(&warning);
            }
        }
        Ok(Opened {
            matrix,
            events,
            space: coverage_space(config),
            config,
            settings,
            scope,
            stop,
        })
    }

    fn runner(&self) -> Runner<'_> {
        Runner {
            matrix: &self.matrix,
            waivers: &self.config.waivers,
            options: &self.settings.options,
            stop: self.stop,
            coverage: Some(&self.space),
            events: Some(self.events),
        }
    }

    /// The systems that gave up (failed every call until their restarts ran
    /// out), with the cases judged when the run stopped taking more.
    fn gave_up(&self, aggregate: &Aggregate) -> Vec<GaveUp> {
        if crate::plugin::worker::calls_stopped() {
            // Ctrl-C or SIGTERM failed the calls still to come: no system
            // gave up, the run was stopped.
            return Vec::new();
        }
        let c = aggregate.counts();
        let after_cases = c.vector_cases + c.random_cases + c.order_cases;
        self.matrix
            .fatal_all()
            .into_iter()
            .map(|(system, message)| GaveUp {
                shard: self.settings.options.partition,
                system,
                message,
                after_cases,
            })
            .collect()
    }

    /// Judges what the run found. A system that gave up stopped the run:
    /// the result keeps every finding made until then and says which system
    /// stopped it, why and when ([`GaveUp`]), which makes it NO-GO; its
    /// failing cases are not shrunk (a system that cannot answer cannot
    /// shrink them). Otherwise failing cases are shrunk and saved.
    fn conclude(
        self,
        mut aggregate: Aggregate,
        data: Option<DataSummary>,
        events: &dyn Events,
    ) -> Result<RunResult, RunError> {
        let gave_up = self.gave_up(&aggregate);
        let (config, settings) = (self.config, self.settings);
        if settings.shrink && !self.stop.load(Ordering::Relaxed) && gave_up.is_empty() {
            regressions::shrink(&self.matrix, config, &mut aggregate, events, self.stop);
            regressions::save(config, &aggregate, &settings.options, events)?;
        }
        if let Some(path) = &settings.replay_config {
            aggregate.set_replay_config(path);
        }
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
            systems: system_infos(&self.matrix),
            old: self.matrix.old.clone(),
            new: self.matrix.new.clone(),
            releases: config
                .releases
                .iter()
                .map(|r| (r.name.clone(), r.validator.clone()))
                .collect(),
            interrupted: self.stop.load(Ordering::Relaxed),
            missing_shards: Vec::new(),
            gave_up,
            gates_config: config.gates.clone(),
            scope: self.scope,
            env: self
                .matrix
                .enabled(crate::finding::Check::Env)
                .then(|| self.matrix.env.scope()),
        };
        let coverage = Some(coverage_report(&self.space, &aggregate));
        let mut result = RunResult::judge(
            meta,
            aggregate,
            data,
            coverage,
            &config.waivers,
            &config.gates,
        );
        result.throughput = settings.throughput.clone();
        Ok(result)
    }
}

/// The full proof: vectors, regressions, random and steered cases, and the
/// configured exports through the check matrix; failing cases shrunk and
/// saved as regression vectors; judged by the config's gates. `stop` cuts
/// the run short (the result is then marked interrupted); a system that
/// gives up stops it too (the result then names it in `meta.gave_up`).
pub fn run(
    config: &Config,
    settings: &Settings,
    events: &dyn Events,
    stop: &AtomicBool,
) -> Result<RunResult, RunError> {
    let mut opened = Opened::open(config, settings, Scope::Full, events, stop)?;
    let options = &settings.options;
    let mut aggregate = Aggregate::new(config.waivers.len());
    let set = vectors::load_vectors(config)?;
    events.vectors_loaded(&set, config.vectors_dir().as_deref());
    let too_wide = config.waivers.iter().filter_map(Waiver::too_wide);
    for warning in vectors::unknown_systems(config, &set)
        .into_iter()
        .chain(too_wide)
    {
        events.warning(&warning);
    }
    let exports = sources::Exports::open(config, options.seed, options.today)?;
    // A system that did not start under an ENV environment: found once, by
    // the first shard (or the run).
    if options.partition.is_none_or(|p| p.k == 1) {
        let starts = opened.matrix.env.start_findings();
        aggregate.record(starts, &config.waivers, options.today);
    }
    let off_vector = vectors::check(&opened.matrix, config, &set, options, &mut aggregate);
    if crate::plugin::worker::calls_stopped() {
        // Ctrl-C or SIGTERM cut calls short: no vector check is judged.
        aggregate = Aggregate::new(config.waivers.len());
    }
    // PARITY without a majority takes a generator the vectors bear out as
    // its reference.
    opened.matrix.set_off_vector(&off_vector);
    let runner = opened.runner();
    for (key, _) in aggregate.groups().keys().filter(|(_, w)| w.is_none()) {
        events.unwaived(key);
    }
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
    if settings.steer && options.partition.is_none() && !runner.halted() {
        let steered = steer::cases(&opened.space, &aggregate, &generator, config, options);
        if !steered.is_empty() {
            events.steered(steered.len());
        }
        aggregate.merge(runner.run_steered(&steered));
    }
    let data = if exports.is_empty() {
        None
    } else {
        Some(sources::run_all(
            &runner,
            exports,
            config,
            &mut aggregate,
            events,
        )?)
    };
    opened.conclude(aggregate, data, events)
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
    let opened = Opened::open(config, settings, Scope::Data, events, stop)?;
    let options = &settings.options;
    let exports = sources::Exports::open(config, options.seed, options.today)?;
    let mut aggregate = Aggregate::new(config.waivers.len());
    let data = sources::run_all(&opened.runner(), exports, config, &mut aggregate, events)?;
    opened.conclude(aggregate, Some(data), events)
}
