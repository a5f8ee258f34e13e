//! `run` and `replay`: the compatibility proof from the command line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{CliError, DataArgs, DataSource, JudgeArgs, ReplayArgs, RunArgs, load_config};
use crate::config::Config;
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::exit;
use crate::finding::{Check, Source};
use crate::gate::{Scope, Status};
use crate::matrix::{Case, Matrix};
use crate::progress::Progress;
use crate::random::Generator;
use crate::run::{Aggregate, RunMeta, RunOptions, RunResult, Runner, case_id, system_infos};
use crate::sources::DataSummary;
use crate::system;
use crate::vectors::{self, VectorSet};

pub(super) fn require_config(explicit: Option<&Path>) -> Result<Config, CliError> {
    load_config(explicit)?.ok_or_else(|| {
        CliError::Usage(format!(
            "no {} in this directory; hint: run from the repository root or pass --config PATH",
            crate::config::DEFAULT_FILE
        ))
    })
}

/// Today's date in UTC, from the clock: only ever used to judge waiver expiry.
fn today_utc() -> Day {
    let now = time::OffsetDateTime::now_utc().date();
    Day::from_ymd(now.year(), now.month() as u8, now.day())
        .expect("the clock's date is a real date")
}

/// A flag set by the first Ctrl-C (the run stops taking cases and reports
/// what it has, marked interrupted); a second Ctrl-C exits at once.
fn stop_flag() -> &'static AtomicBool {
    static STOP: AtomicBool = AtomicBool::new(false);
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    });
    &STOP
}

fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// Builds the matrix of a config (see [`Matrix::open`]).
pub(crate) fn build_matrix(
    config: &Config,
    checks: BTreeSet<Check>,
    hosting: &system::Hosting,
) -> Result<Matrix, CliError> {
    Ok(Matrix::open(config, checks, hosting)?)
}

pub(super) fn release_majors(config: &Config) -> Vec<u8> {
    let mut m: Vec<u8> = config
        .releases
        .iter()
        .filter_map(|r| u8::try_from(r.version.major).ok())
        .collect();
    m.sort_unstable();
    m.dedup();
    m
}

/// What `run` and `data` set up alike: options, checks and the open matrix.
struct Setup {
    scope: Scope,
    /// Where the reports go: made before the run, so a bad path costs no run.
    report_dir: PathBuf,
    options: RunOptions,
    checks: BTreeSet<Check>,
    matrix: Matrix,
    space: crate::coverage::CoverageSpace,
}

impl Setup {
    fn open(
        config: &Config,
        scope: Scope,
        args: &JudgeArgs,
        cases: u64,
        partition: Option<crate::run::Partition>,
    ) -> Result<Self, CliError> {
        // A data run must not overwrite the full run's reports.
        let report_dir = args.report_dir.clone().unwrap_or_else(|| match scope {
            Scope::Full => PathBuf::from(DEFAULT_REPORT_DIR),
            Scope::Data => Path::new(DEFAULT_REPORT_DIR).join("data"),
        });
        std::fs::create_dir_all(&report_dir).map_err(super::io(format!(
            "creating the report directory {}",
            report_dir.display()
        )))?;
        let seed = args.seed.or(config.run.seed).unwrap_or_else(fresh_seed);
        let checks: BTreeSet<Check> = args
            .checks
            .clone()
            .or_else(|| config.run.checks.clone())
            .map(|c| c.into_iter().collect())
            .unwrap_or_else(|| Check::ALL.into_iter().collect());
        let options = RunOptions {
            seed,
            cases,
            threads: args.threads.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }),
            batch: 64,
            partition,
            today: args.today.unwrap_or_else(today_utc),
        };
        let isolation = args.isolation.unwrap_or(config.run.isolation);
        let hosting = super::hosting(isolation, Some(config.run.timeout), options.threads);
        let matrix = build_matrix(config, checks.clone(), &hosting)?;
        Ok(Setup {
            scope,
            report_dir,
            options,
            checks,
            matrix,
            space: crate::run::coverage_space(config),
        })
    }

    fn runner<'a>(&'a self, config: &'a Config) -> Runner<'a> {
        Runner {
            matrix: &self.matrix,
            waivers: &config.waivers,
            options: &self.options,
            stop: stop_flag(),
            coverage: Some(&self.space),
        }
    }

    /// Judges what the run measured, prints the summary, writes every
    /// report; the exit code is the verdict's.
    fn finish(
        self,
        config: &Config,
        aggregate: Aggregate,
        data: Option<DataSummary>,
        throughput: Option<crate::bench::BenchResult>,
        args: &JudgeArgs,
    ) -> Result<i32, CliError> {
        let Setup {
            scope,
            report_dir,
            options,
            checks,
            matrix,
            space,
        } = self;
        let meta = RunMeta {
            keycompat_version: env!("CARGO_PKG_VERSION").to_string(),
            config: config.path.display().to_string(),
            config_sha256: config.sha256.clone(),
            seed: options.seed,
            cases: options.cases,
            partitions: options.partition.into_iter().collect(),
            checks: checks.into_iter().collect(),
            today: options.today,
            systems: system_infos(&matrix),
            old: matrix.old.clone(),
            new: matrix.new.clone(),
            releases: config
                .releases
                .iter()
                .map(|r| (r.name.clone(), r.validator.clone()))
                .collect(),
            interrupted: stop_flag().load(Ordering::Relaxed),
            gates_config: config.gates.clone(),
            scope,
        };
        if meta.interrupted {
            eprintln!("interrupted: writing a partial report (marked interrupted)");
        }
        let coverage = Some(crate::run::coverage_report(&space, &aggregate));
        let mut result = RunResult::judge(
            meta,
            aggregate,
            data,
            coverage,
            &config.waivers,
            &config.gates,
        );
        result.throughput = throughput;
        if args.quiet {
            println!("verdict: {}", result.verdict);
        } else {
            print!("{}", crate::summary::render(&result));
        }
        write_reports(&result, &report_dir, args.quiet)?;
        Ok(match result.verdict {
            Status::Red => exit::INCOMPATIBLE,
            _ => exit::GO,
        })
    }
}

pub(super) fn run(config_path: Option<&Path>, args: RunArgs) -> Result<i32, CliError> {
    let config = require_config(config_path)?;
    let quiet = args.judge.quiet;
    // Read before the run: a bad file should not cost a whole run.
    let throughput = args
        .throughput
        .as_deref()
        .map(super::bench::read)
        .transpose()?;
    let setup = Setup::open(
        &config,
        Scope::Full,
        &args.judge,
        args.cases.unwrap_or(config.run.cases),
        args.partition,
    )?;
    let options = &setup.options;
    let seed = options.seed;
    if !quiet {
        eprintln!(
            "keycompat run: seed {seed}, {} random cases, {} threads{}",
            options.cases,
            options.threads,
            options
                .partition
                .map(|p| format!(", partition {p}"))
                .unwrap_or_default()
        );
    }
    let runner = setup.runner(&config);
    let stop = runner.stop;
    let generator = Generator::new(seed, config.catalog.clone(), release_majors(&config));
    let mut aggregate = Aggregate::new(config.waivers.len());
    let vectors = load_vectors(&config)?;
    if !quiet {
        eprintln!(
            "vectors: {} entitlement, {} key, {} regression vectors from {}",
            vectors.entitlements.len(),
            vectors.keys.len(),
            vectors.regressions.len(),
            config.vectors_dir().display()
        );
    }
    check_vectors(&setup.matrix, &config, &vectors, options, &mut aggregate);
    aggregate.merge(runner.run_cases(&vector_cases(&vectors), &|_| {}));
    let progress = Progress::new(options.cases, "random", !quiet);
    aggregate.merge(runner.run_random(&generator, &|n| progress.inc(n)));
    progress.finish();
    // Steer one more case into each combination the random cases missed.
    // Targets come from this shard's own coverage, so a sharded run does
    // not steer (its shards would steer differently from an unsharded run).
    if !args.no_steer && options.partition.is_none() && !stop.load(Ordering::Relaxed) {
        let steered = steered_cases(&setup.space, &aggregate, &generator, &config, options);
        if !quiet && !steered.is_empty() {
            eprintln!(
                "coverage: {} random cases steered into combinations not yet covered",
                steered.len()
            );
        }
        aggregate.merge(runner.run_steered(&steered));
    }
    let data = if config.sources.field_keys.is_some() || config.sources.orders.is_some() {
        Some(run_sources(&runner, &config, &mut aggregate, quiet)?)
    } else {
        None
    };
    if let Some((system, message)) = runner.fatal() {
        return Err(CliError::PluginGaveUp { system, message });
    }
    if !args.no_shrink && !stop.load(Ordering::Relaxed) {
        shrink_groups(&setup.matrix, &config, &mut aggregate, quiet);
        save_regressions(&config, &aggregate, options, quiet)?;
    }
    setup.finish(&config, aggregate, data, throughput, &args.judge)
}

/// `keycompat data`: the exports of `[sources]` alone, with the paths,
/// selection and share the command line overrides.
pub(super) fn data(config_path: Option<&Path>, args: DataArgs) -> Result<i32, CliError> {
    let mut config = require_config(config_path)?;
    let quiet = args.judge.quiet;
    let sources = &mut config.sources;
    let file = config.path.display().to_string();
    let missing = |table: &str| {
        CliError::Usage(format!(
            "{file} has no [sources.{table}]: the mapping of the export's columns is needed; \
             hint: `keycompat sample-data --dir DIR` prints an example"
        ))
    };
    let left_out = match args.only {
        Some(DataSource::FieldKeys) => args.orders.as_ref().map(|_| ("--orders", "field-keys")),
        Some(DataSource::Orders) => args.field_keys.as_ref().map(|_| ("--field-keys", "orders")),
        None => None,
    };
    if let Some((flag, only)) = left_out {
        return Err(CliError::Usage(format!(
            "{flag} names an export that --only {only} leaves out"
        )));
    }
    // Paths on the command line are the user's, relative to where they are.
    let given = |path: &Path, flag: &str| -> Result<PathBuf, CliError> {
        if !path.is_file() {
            return Err(CliError::Usage(format!(
                "{flag} {}: no such file (relative to the current directory, {})",
                path.display(),
                std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            )));
        }
        std::path::absolute(path).map_err(super::io(path.display().to_string()))
    };
    if let Some(path) = &args.field_keys {
        let src = sources
            .field_keys
            .as_mut()
            .ok_or_else(|| missing("field_keys"))?;
        src.path = given(path, "--field-keys")?;
    }
    if let Some(path) = &args.orders {
        let src = sources.orders.as_mut().ok_or_else(|| missing("orders"))?;
        src.path = given(path, "--orders")?;
    }
    match args.only {
        Some(DataSource::FieldKeys) => {
            if sources.field_keys.is_none() {
                return Err(missing("field_keys"));
            }
            sources.orders = None;
        }
        Some(DataSource::Orders) => {
            if sources.orders.is_none() {
                return Err(missing("orders"));
            }
            sources.field_keys = None;
        }
        None => {}
    }
    if sources.field_keys.is_none() && sources.orders.is_none() {
        return Err(CliError::Usage(format!(
            "{file} has no [sources.field_keys] or [sources.orders]: nothing to run; \
             hint: README, section \"Real migration data\""
        )));
    }
    if let Some(share) = args.share {
        if let Some(s) = sources.field_keys.as_mut() {
            s.share = share;
        }
        if let Some(s) = sources.orders.as_mut() {
            s.share = share;
        }
    }
    let setup = Setup::open(&config, Scope::Data, &args.judge, 0, None)?;
    if !quiet {
        eprintln!(
            "keycompat data: seed {}, {} threads",
            setup.options.seed, setup.options.threads
        );
    }
    let runner = setup.runner(&config);
    let mut aggregate = Aggregate::new(config.waivers.len());
    let data = run_sources(&runner, &config, &mut aggregate, quiet)?;
    if let Some((system, message)) = runner.fatal() {
        return Err(CliError::PluginGaveUp { system, message });
    }
    setup.finish(&config, aggregate, Some(data), None, &args.judge)
}

/// Runs the configured exports into `aggregate` and prints what each did.
fn run_sources(
    runner: &Runner<'_>,
    config: &Config,
    aggregate: &mut Aggregate,
    quiet: bool,
) -> Result<DataSummary, CliError> {
    let shares = [
        (
            "field_keys",
            config.sources.field_keys.as_ref().map(|s| s.share),
            config.gates.min_field_keys_percent,
        ),
        (
            "orders",
            config.sources.orders.as_ref().map(|s| s.share),
            config.gates.min_orders_percent,
        ),
    ];
    for (name, share, min) in shares {
        if let Some(share) = share.filter(|s| *s < 1.0 && s * 100.0 <= f64::from(min)) {
            eprintln!(
                "warning: [sources.{name}] share {share} is not above the gate's {min} %: \
                 sampled rows that do not fit count against it and turn the gate red; \
                 hint: ask for a little more, e.g. {:.2}",
                (f64::from(min) / 100.0 + 0.02).min(1.0)
            );
        }
    }
    let (agg, data) = crate::sources::run_all(runner, config, runner.options.seed, quiet)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    aggregate.merge(agg);
    if !quiet {
        for (what, s) in [("field keys", &data.field_keys), ("orders", &data.orders)] {
            if let Some(s) = s {
                eprintln!(
                    "{what}: {} of {} rows run ({:.1} %), {} rows did not fit, {} with findings ({})",
                    s.run,
                    s.rows,
                    s.run_percent(),
                    s.row_errors,
                    s.with_findings,
                    s.file
                );
            }
        }
    }
    Ok(data)
}

/// One case per uncovered combination: random case `cases + i`, steered.
fn steered_cases(
    space: &crate::coverage::CoverageSpace,
    aggregate: &Aggregate,
    generator: &Generator,
    config: &Config,
    options: &RunOptions,
) -> Vec<Case> {
    space
        .targets(&aggregate.coverage)
        .into_iter()
        .enumerate()
        .filter_map(|(i, target)| {
            let index = options.cases + i as u64;
            let mut e = generator.entitlement(index);
            target.steer(&mut e, index ^ generator.seed());
            e.check(&config.catalog).ok()?;
            Some(Case {
                id: case_id(&e),
                source: Source::Steered {
                    seed: generator.seed(),
                    index,
                    target: target.label,
                },
                entitlement: e,
            })
        })
        .collect()
}

/// The most groups shrunk per run: each costs up to a few hundred cases.
const MAX_SHRINKS: usize = 100;

/// Loads the vectors directory of the config; a missing directory is an
/// empty set (the vectors gate then says so), a broken file a usage error.
pub(crate) fn load_vectors(config: &Config) -> Result<VectorSet, CliError> {
    let dir = config.vectors_dir();
    if !dir.is_dir() {
        return Ok(VectorSet::default());
    }
    vectors::load_dir(&dir, &config.catalog).map_err(|errors| vector_errors(&errors))
}

fn vector_errors(errors: &[vectors::VectorError]) -> CliError {
    let mut text: Vec<String> = errors.iter().take(20).map(|e| e.to_string()).collect();
    if errors.len() > 20 {
        text.push(format!("... and {} more", errors.len() - 20));
    }
    CliError::Usage(format!(
        "vector files are invalid:\n  {}\nhint: `keycompat vectors check` lints them",
        text.join("\n  ")
    ))
}

/// Regressions first, then the entitlements of entitlement vectors: each
/// goes through the whole matrix like a random case.
fn vector_cases(v: &VectorSet) -> Vec<Case> {
    let regressions = v.regressions.iter().map(|r| Case {
        id: r.id.clone(),
        source: Source::Vector {
            id: r.id.clone(),
            file: r.file(),
        },
        entitlement: r.entitlement.clone(),
    });
    let entitlements = v.entitlements.iter().map(|e| Case {
        id: e.id.clone(),
        source: Source::Vector {
            id: e.id.clone(),
            file: e.file.clone(),
        },
        entitlement: e.entitlement.clone(),
    });
    regressions.chain(entitlements).collect()
}

/// Checks exact keys (entitlement vectors) and verdicts (key vectors).
fn check_vectors(
    matrix: &Matrix,
    config: &Config,
    v: &VectorSet,
    options: &RunOptions,
    aggregate: &mut Aggregate,
) {
    let generators: vectors::GeneratorsByFormat = config
        .formats
        .iter()
        .map(|(format, f)| {
            let gens = f
                .generators
                .iter()
                .filter_map(|g| matrix.systems.get(g).map(|s| (g.clone(), s.clone())))
                .collect();
            (format.clone(), gens)
        })
        .collect();
    let mine = |id: &str| options.partition.is_none_or(|p| p.contains(id));
    let outcomes = v
        .entitlements
        .iter()
        .filter(|e| mine(&e.id))
        .map(|e| vectors::check_entitlement_vector(e, &generators))
        .chain(
            v.keys
                .iter()
                .filter(|k| mine(&k.id))
                .map(|k| vectors::check_key_vector(k, &matrix.systems)),
        );
    for outcome in outcomes {
        for (system, passed) in &outcome.observations {
            let t = aggregate
                .tallies
                .entry((Check::Vector, system.clone(), None))
                .or_default();
            if *passed { t.pass += 1 } else { t.fail += 1 }
        }
        if outcome.observations.is_empty() {
            continue;
        }
        aggregate.counts.vector_checks += 1;
        let failing = aggregate.record(outcome.findings, &config.waivers, options.today);
        aggregate.counts.vector_failures += u64::from(failing);
    }
}

/// Saves every shrunk random failure as a regression vector, run first next time.
fn save_regressions(
    config: &Config,
    aggregate: &Aggregate,
    options: &RunOptions,
    quiet: bool,
) -> Result<(), CliError> {
    let dir = config.vectors_dir();
    for g in aggregate.groups.values() {
        let (Some(shrunk), Source::Random { seed, .. }) = (&g.shrunk, &g.example.source) else {
            continue;
        };
        let Some(e) = &shrunk.entitlement else {
            continue;
        };
        let mut r = vectors::RegressionVector::new(e.clone(), g.key.check, g.key.cause.clone());
        r.generator = g.key.generator.clone();
        r.validator = g.key.validator.clone();
        r.seed = Some(*seed);
        r.found = options.today.to_string();
        r.note = format!("{} {}; shrunk from {}", g.key.severity, g.key, g.replay);
        let saved = vectors::save_regression(&dir, &r).map_err(super::io(format!(
            "saving a regression vector in {}",
            dir.display()
        )))?;
        if saved && !quiet {
            eprintln!(
                "saved regression {} to {}",
                r.id,
                dir.join(r.file()).display()
            );
        }
    }
    Ok(())
}

/// Shrinks the example of every unwaived group that came from a random case.
fn shrink_groups(matrix: &Matrix, config: &Config, aggregate: &mut Aggregate, quiet: bool) {
    let targets: Vec<_> = aggregate
        .groups
        .iter()
        .filter(|((_, waiver), g)| {
            waiver.is_none() && matches!(g.example.source, Source::Random { .. })
        })
        .map(|(k, _)| k.clone())
        .take(MAX_SHRINKS)
        .collect();
    for key in targets {
        let Some(group) = aggregate.groups.get_mut(&key) else {
            continue;
        };
        let shrunk = crate::shrink::shrink(
            matrix,
            &config.catalog,
            &group.example,
            crate::shrink::DEFAULT_BUDGET,
        );
        if let (false, Some(s)) = (quiet, &shrunk) {
            eprintln!(
                "shrunk {}: {}",
                group.key,
                s.entitlement
                    .as_ref()
                    .map(|e| e.to_json())
                    .unwrap_or_default()
            );
        }
        group.shrunk = shrunk;
    }
}

/// Replays a key vector: validates its key with every system it expects.
fn replay_key_vector(config: &Config, k: &vectors::KeyVector) -> Result<i32, CliError> {
    let matrix = build_matrix(
        config,
        BTreeSet::new(),
        &super::hosting(config.run.isolation, Some(config.run.timeout), 1),
    )?;
    let outcome = vectors::check_key_vector(k, &matrix.systems);
    println!("vector {} ({}:{}): {}", k.id, k.file, k.line, k.comment);
    for (system, passed) in &outcome.observations {
        println!(
            "  {system}: {}",
            if *passed { "as expected" } else { "FAILED" }
        );
    }
    for f in &outcome.findings {
        println!(
            "{}\n  expected: {}\n  found:    {}",
            f.key, f.expected, f.found
        );
    }
    Ok(if outcome.findings.is_empty() {
        exit::GO
    } else {
        exit::INCOMPATIBLE
    })
}

/// Where reports go without `--report-dir`.
pub(crate) const DEFAULT_REPORT_DIR: &str = "keycompat-report";

/// Writes every report format; appends the Markdown to a GitHub Actions job
/// summary when `GITHUB_STEP_SUMMARY` names one.
fn write_reports(result: &RunResult, dir: &Path, quiet: bool) -> Result<(), CliError> {
    let written = crate::report::write_all(result, dir)
        .map_err(|e| CliError::Usage(format!("writing reports: {e}")))?;
    if !quiet {
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        eprintln!("reports: {} in {}", names.join(", "), dir.display());
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        use std::io::Write;
        let appended = std::fs::read(dir.join("report.md")).and_then(|md| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&summary)
                .and_then(|mut f| f.write_all(&md))
        });
        if let Err(e) = appended {
            eprintln!(
                "warning: cannot append to the job summary {}: {e}",
                PathBuf::from(summary).display()
            );
        }
    }
    Ok(())
}

/// `keycompat merge`: joins shard reports into one and writes every format.
pub(super) fn merge(
    shards: &[PathBuf],
    report_dir: Option<&Path>,
    quiet: bool,
) -> Result<i32, CliError> {
    if shards.is_empty() {
        return Err(CliError::Usage(
            "name the shard reports: keycompat merge a/report.json b/report.json ...".into(),
        ));
    }
    let results = shards
        .iter()
        .map(|p| crate::report::read_json(p).map_err(|e| CliError::Usage(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = RunResult::merge(results).map_err(|e| CliError::Usage(e.to_string()))?;
    if quiet {
        println!("verdict: {}", merged.verdict);
    } else {
        print!("{}", crate::summary::render(&merged));
    }
    let dir = report_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_REPORT_DIR));
    write_reports(&merged, &dir, quiet)?;
    Ok(match merged.verdict {
        Status::Red => exit::INCOMPATIBLE,
        _ => exit::GO,
    })
}

pub(super) fn lint_vectors(
    config_path: Option<&Path>,
    dir: Option<&Path>,
) -> Result<i32, CliError> {
    let config = require_config(config_path)?;
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| config.vectors_dir());
    if !dir.is_dir() {
        return Err(CliError::Usage(format!(
            "{}: no such directory",
            dir.display()
        )));
    }
    let systems: Vec<String> = config.systems.keys().cloned().collect();
    let formats: Vec<String> = config.formats.keys().cloned().collect();
    let errors = vectors::lint(&dir, &config.catalog, &systems, &formats);
    for e in &errors {
        println!("{e}");
    }
    if errors.is_empty() {
        let set = vectors::load_dir(&dir, &config.catalog).map_err(|e| vector_errors(&e))?;
        println!(
            "{}: {} vectors ({} entitlement, {} key, {} regression), no problems",
            dir.display(),
            set.len(),
            set.entitlements.len(),
            set.keys.len(),
            set.regressions.len()
        );
        Ok(exit::GO)
    } else {
        eprintln!("error: {} problems in vector files", errors.len());
        Ok(exit::USAGE)
    }
}

pub(super) fn replay(config_path: Option<&Path>, args: ReplayArgs) -> Result<i32, CliError> {
    let config = require_config(config_path)?;
    let (entitlement, source): (Entitlement, Source) =
        match (&args.seed, &args.case, &args.entitlement) {
            (Some(seed), Some(index), _) => (
                Generator::new(*seed, config.catalog.clone(), release_majors(&config))
                    .entitlement(*index),
                Source::Random {
                    seed: *seed,
                    index: *index,
                },
            ),
            _ if args.vector.is_some() => {
                let id = args.vector.as_deref().unwrap_or_default();
                let set = load_vectors(&config)?;
                if let Some(k) = set.keys.iter().find(|k| k.id == id) {
                    return replay_key_vector(&config, k);
                }
                let found = set
                    .regressions
                    .iter()
                    .map(|r| (r.entitlement.clone(), r.file()))
                    .chain(
                        set.entitlements
                            .iter()
                            .map(|e| (e.entitlement.clone(), e.file.clone())),
                    )
                    .zip(
                        set.regressions
                            .iter()
                            .map(|r| r.id.clone())
                            .chain(set.entitlements.iter().map(|e| e.id.clone())),
                    )
                    .find(|(_, vid)| vid == id);
                match found {
                    Some(((e, file), vid)) => (e, Source::Vector { id: vid, file }),
                    None => {
                        return Err(CliError::Usage(format!(
                            "no entitlement or regression vector with id {id:?} in {}",
                            config.vectors_dir().display()
                        )));
                    }
                }
            }
            (_, _, Some(json)) => {
                let e = Entitlement::from_json(json)
                    .map_err(|e| CliError::Usage(format!("--entitlement: {e}")))?;
                e.check(&config.catalog)
                    .map_err(|e| CliError::Usage(format!("--entitlement: {e}")))?;
                (
                    e,
                    Source::Vector {
                        id: "cli".into(),
                        file: "--entitlement".into(),
                    },
                )
            }
            _ => {
                return Err(CliError::Usage(
                    "name a case: --seed S --case I, --vector ID or --entitlement JSON".into(),
                ));
            }
        };
    let checks: BTreeSet<Check> = match args.check {
        Some(c) => [c].into(),
        None => Check::ALL.into_iter().collect(),
    };
    let matrix = build_matrix(
        &config,
        checks,
        &super::hosting(config.run.isolation, Some(config.run.timeout), 1),
    )?;
    let case = Case {
        id: case_id(&entitlement),
        source,
        entitlement,
    };
    println!("case {}: {}", case.id, case.entitlement);
    let outcome = matrix
        .run_batch(std::slice::from_ref(&case))
        .pop()
        .unwrap_or_default();
    let observed: u64 = outcome.tallies.values().map(|t| t.pass + t.fail).sum();
    if outcome.findings.is_empty() {
        println!("no findings ({observed} observations)");
        return Ok(exit::GO);
    }
    // Judged as a run judges: an active waiver keeps a finding from blocking.
    let today = args.today.unwrap_or_else(today_utc);
    let mut unwaived = 0;
    for f in &outcome.findings {
        println!("{}", f.key);
        if let Some(k) = &f.license_key {
            println!("  key:      {k}");
        }
        if let Some(c) = &f.context {
            println!(
                "  context:  {} {} on {}{}",
                c.product,
                c.version,
                c.today,
                c.host_id
                    .as_ref()
                    .map(|h| format!(" host {h}"))
                    .unwrap_or_default()
            );
        }
        println!("  expected: {}", f.expected);
        println!("  found:    {}", f.found);
        match crate::waiver::deciding(&config.waivers, f, today) {
            Some((i, true)) => {
                let w = &config.waivers[i];
                println!(
                    "  waived:   {} (owner {}, until {})",
                    w.ticket, w.owner, w.expires
                );
            }
            decided => {
                unwaived += 1;
                if let Some((i, _)) = decided {
                    let w = &config.waivers[i];
                    println!(
                        "  waiver {} expired on {}: this finding blocks again",
                        w.ticket, w.expires
                    );
                }
            }
        }
    }
    let total = outcome.findings.len();
    println!(
        "{total} finding{}, {unwaived} not waived (waivers judged on {today})",
        if total == 1 { "" } else { "s" }
    );
    Ok(if unwaived == 0 {
        exit::GO
    } else {
        exit::INCOMPATIBLE
    })
}
