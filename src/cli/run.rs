//! `run`, `data` and `merge`: resolve the flags into [`run::Settings`], call
//! the library, print what it reports, write the reports, and say which
//! exit code the result means.

use super::output::{errln, out, outln};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use super::args::{DataArgs, DataSource, JudgeArgs, RunArgs};
use super::error::{CliError, io};
use super::history;
use super::setup::{DEFAULT_REPORT_DIR, hosting, require_config, today_utc};
use crate::config::{Config, Isolation};
use crate::entitlement::Entitlement;
use crate::exit;
use crate::finding::{Check, GroupKey};
use crate::gate::{Scope, Status};
use crate::progress::Progress;
use crate::run::{self, RunOptions, RunResult, Settings};
use crate::sources::SourceSummary;
use crate::vectors::{self, VectorSet};
use crate::volume::Evidence;

/// The stop flag and the exit code of the signal that set it.
struct Stop {
    flag: Arc<AtomicBool>,
    code: Arc<AtomicUsize>,
}

fn stop() -> &'static Stop {
    static STOP: OnceLock<Stop> = OnceLock::new();
    STOP.get_or_init(|| {
        let stop = Stop {
            flag: Arc::new(AtomicBool::new(false)),
            code: Arc::new(AtomicUsize::new(exit::INTERRUPTED as usize)),
        };
        for (signal, code) in [
            (signal_hook::consts::SIGINT, exit::INTERRUPTED),
            (signal_hook::consts::SIGTERM, exit::TERMINATED),
        ] {
            // The shutdown goes first: it acts only on a second signal, once
            // the flag is already set.
            crate::plugin::worker::exit_on_second_signal(signal, code, Arc::clone(&stop.flag));
            let _ =
                signal_hook::flag::register_usize(signal, Arc::clone(&stop.code), code as usize);
            let _ = signal_hook::flag::register(signal, Arc::clone(&stop.flag));
        }
        // Calls in flight to plugins end soon after the signal, so the
        // partial report is written before CI's SIGKILL.
        crate::plugin::worker::stop_calls_on(Arc::clone(&stop.flag));
        stop
    })
}

/// A flag set by the first Ctrl-C or SIGTERM: the run stops taking cases and
/// reports what it has, marked interrupted, with no verdict; a second signal
/// exits at once.
pub(super) fn stop_flag() -> &'static AtomicBool {
    &stop().flag
}

/// The exit code of the signal that stopped the run: 130 (SIGINT) or 143
/// (SIGTERM).
fn interrupt_code() -> i32 {
    i32::try_from(stop().code.load(Ordering::SeqCst)).unwrap_or(exit::INTERRUPTED)
}

fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// The flags `run` and `data` share, resolved against the config: the
/// second phase of argument parsing.
pub(super) fn settings(
    config: &Config,
    config_path: Option<&Path>,
    args: &JudgeArgs,
    cases: u64,
    partition: Option<run::Partition>,
) -> Settings {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = args.threads.unwrap_or(cpus);
    let checks = args
        .checks
        .clone()
        .or_else(|| config.run.checks.clone())
        .map(|c| c.into_iter().collect())
        .unwrap_or_else(|| Check::ALL.into_iter().collect());
    let isolation = args.isolation.unwrap_or(config.run.isolation);
    Settings {
        options: RunOptions {
            seed: args.seed.or(config.run.seed).unwrap_or_else(fresh_seed),
            cases,
            threads,
            batch: 64,
            partition,
            today: args.today.unwrap_or_else(today_utc),
        },
        checks,
        hosting: hosting(
            isolation,
            Some(&config.run),
            worker_processes(threads, cpus, isolation, args.quiet),
        ),
        shrink: true,
        steer: true,
        throughput: None,
        replay_config: config_path.map(|p| p.display().to_string()),
        hook: None,
    }
}

/// A proof compares two systems: `[run] old` and `new` naming the same one
/// would pass every check and prove nothing about a migration.
pub(super) fn two_systems(config: &Config) -> Result<(), CliError> {
    if config.run.old == config.run.new && !config.systems.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: `run.new`: {:?} is also `run.old`: a system compared with itself proves nothing about a migration",
            config.path.display(),
            config.run.new
        )));
    }
    Ok(())
}

/// Worker processes per worker-hosted plugin: one per thread, but no more
/// than the `cpus` this process may use (`available_parallelism` honours
/// CPU affinity and cgroup quotas): more would only compete for them, and
/// cost a process each per plugin. Says so on stderr when it caps.
fn worker_processes(threads: usize, cpus: usize, isolation: Isolation, quiet: bool) -> usize {
    if isolation != Isolation::Worker || threads <= cpus {
        return threads;
    }
    if !quiet {
        errln!(
            "note: -j {threads} is more than the {cpus} CPUs this machine lets keycompat use: \
             each worker-hosted plugin runs in at most {cpus} worker processes"
        );
    }
    cpus
}

/// Makes the report directory before the run, so a bad path costs no run.
fn report_dir(args: &JudgeArgs, scope: Scope) -> Result<PathBuf, CliError> {
    // A data run must not overwrite the full run's reports.
    let default = match scope {
        Scope::Full => PathBuf::from(DEFAULT_REPORT_DIR),
        Scope::Data => Path::new(DEFAULT_REPORT_DIR).join("data"),
    };
    report_dir_or(args, default)
}

/// `--report-dir`, else `default`, made and probed before the run, and
/// cleared of an earlier run's reports: whatever happens to this run, what
/// the directory holds afterwards is this run's or nothing.
pub(super) fn report_dir_or(args: &JudgeArgs, default: PathBuf) -> Result<PathBuf, CliError> {
    let dir = args.report_dir.clone().unwrap_or(default);
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::Usage(format!(
            "--report-dir {}: is a file, not a directory; hint: name a directory (it is created \
             when missing), or move the file away",
            dir.display()
        )));
    }
    std::fs::create_dir_all(&dir).map_err(io(format!(
        "creating the report directory {}",
        dir.display()
    )))?;
    // Found now, not after the whole run: the directory must take files.
    let probe = dir.join(format!(".keycompat-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(io(format!(
            "the report directory {} cannot be written",
            dir.display()
        )))?;
    remove_previous_reports(&dir, &[])?;
    Ok(dir)
}

/// Removes an earlier command's reports from `dir` (not those in `keep`),
/// so that a command that fails or is killed before writing its own leaves
/// none to be read as its own.
fn remove_previous_reports(dir: &Path, keep: &[PathBuf]) -> Result<(), CliError> {
    crate::report::remove_previous(dir, keep)
        .map(|_| ())
        .map_err(|e| {
            CliError::Usage(format!(
                "removing the previous reports from {}: {e}",
                dir.display()
            ))
        })
}

/// Prints what a run reports on stderr (nothing with `--quiet`).
pub(super) struct Printer {
    quiet: bool,
    progress: Progress,
}

impl Printer {
    pub(super) fn new(quiet: bool, cases: u64) -> Self {
        Printer {
            quiet,
            progress: Progress::new(cases, "random", !quiet),
        }
    }
}

impl run::Events for Printer {
    fn started(&self, scope: Scope, o: &RunOptions) {
        if self.quiet {
            return;
        }
        match scope {
            Scope::Full => errln!(
                "keycompat run: seed {}, {} random cases, {} threads{}",
                o.seed,
                o.cases,
                o.threads,
                o.partition
                    .map(|p| format!(", partition {p}"))
                    .unwrap_or_default()
            ),
            Scope::Data => errln!("keycompat data: seed {}, {} threads", o.seed, o.threads),
        }
    }

    fn vectors_loaded(&self, v: &VectorSet, dir: Option<&Path>) {
        if self.quiet {
            return;
        }
        match dir {
            Some(dir) => errln!(
                "vectors: {} entitlement, {} key, {} regression vectors from {}",
                v.entitlements.len(),
                v.keys.len(),
                v.regressions.len(),
                dir.display()
            ),
            None => errln!("vectors: none (`[run] vectors = false`)"),
        }
    }

    fn progress(&self, n: u64) {
        self.progress.inc(n);
    }

    fn random_done(&self) {
        self.progress.finish();
    }

    fn steered(&self, n: usize) {
        if !self.quiet {
            errln!("coverage: {n} random cases steered into combinations not yet covered");
        }
    }

    fn warning(&self, message: &str) {
        if !self.quiet {
            errln!("warning: {message}");
        }
    }

    fn source_done(&self, what: &str, s: &SourceSummary) {
        if !self.quiet {
            errln!(
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

    fn shrunk(&self, group: &GroupKey, e: Option<&Entitlement>) {
        if let (false, Some(e)) = (self.quiet, e) {
            errln!("shrunk {group}: {}", e.to_json());
        }
    }

    fn regression_saved(&self, id: &str, path: &Path) {
        if !self.quiet {
            errln!("saved regression {id} to {}", path.display());
        }
    }
}

pub(super) fn run(config_path: Option<&Path>, args: RunArgs) -> Result<i32, CliError> {
    let config = require_config(config_path)?;
    // Read before the run: a bad file should not cost a whole run.
    let throughput = args
        .throughput
        .as_deref()
        .map(|p| super::bench::read(p, "--throughput"))
        .transpose()?;
    let baseline = read_baseline(args.judge.baseline.as_deref())?;
    let cases = args.cases.unwrap_or(config.run.cases);
    let partition = resolve_partition(args.partition)?;
    // A shard's gates count only its own cases: the merge judges the
    // history and adds the run's one record.
    let history = match partition {
        None => history::choose(Some(&config), &args.history, true)?,
        Some(_) => {
            if args.history.history.is_some() || config.history.path.is_some() {
                errln!("history: a shard adds no record; `keycompat merge` adds the run's");
            }
            None
        }
    };
    let volume = volume_evidence(&config, &args)?;
    two_systems(&config)?;
    let mut settings = settings(&config, config_path, &args.judge, cases, partition);
    settings.shrink = !args.no_shrink;
    settings.steer = !args.no_steer;
    settings.throughput = throughput;
    let dir = report_dir(&args.judge, Scope::Full)?;
    let printer = Printer::new(args.judge.quiet, cases);
    let result = run::run(&config, &settings, &printer, stop_flag())?;
    let result = compared(
        judge_volume(result, volume, &config, &settings, args.judge.quiet)?,
        baseline,
    );
    let result = match partition {
        None => history::judge(result, history.as_ref()),
        Some(_) => result,
    };
    // A shard's report is partial: the merge writes the job summary.
    let summary = match partition {
        None => JobSummary::Append,
        Some(_) => JobSummary::LeaveToMerge,
    };
    let code = finish(&result, &dir, args.judge.quiet, summary, &settings.hosting)?;
    history::append(&result, history.as_ref(), 0, args.judge.quiet)?;
    Ok(code)
}

/// Where a run's volume figures come from: `--throughput` (named as given),
/// measured in the run (`--measure-volume`, `[gates.volume] measure`), or
/// nowhere (`None`). A request to measure without volume gates is a usage
/// error: there would be nothing to judge.
fn volume_evidence(config: &Config, args: &RunArgs) -> Result<Option<Evidence>, CliError> {
    let gates = &config.gates.volume;
    if args.measure_volume && gates.is_empty() {
        return Err(CliError::Usage(format!(
            "--measure-volume: {} has no volume gate to measure for; hint: set \
             `[gates.volume] validate_per_second` (and/or issue_per_second) and threads",
            config.path.display()
        )));
    }
    if let Some(path) = &args.throughput {
        if gates.measure && !args.judge.quiet {
            errln!(
                "volume: judged on --throughput {}; not measured in this run",
                path.display()
            );
        }
        return Ok(Some(Evidence::File {
            path: path.display().to_string(),
        }));
    }
    Ok((args.measure_volume || (gates.measure && !gates.is_empty())).then_some(Evidence::Measured))
}

/// Adds the volume gates to a finished run, measuring the new system's
/// figures first when `evidence` says so (not after an interrupted run, nor
/// one a system gave up in; a stop during the measurement marks the run
/// interrupted).
fn judge_volume(
    mut result: RunResult,
    evidence: Option<Evidence>,
    config: &Config,
    settings: &Settings,
    quiet: bool,
) -> Result<RunResult, CliError> {
    if config.gates.volume.is_empty() {
        return Ok(result);
    }
    let evidence = match evidence {
        Some(Evidence::Measured) if result.meta.interrupted || !result.meta.gave_up.is_empty() => {
            None
        }
        Some(Evidence::Measured) => {
            if !quiet {
                errln!(
                    "volume: measuring the new system `{}` at {} thread(s): generate and \
                     validate per key format, {} rounds, {} s per figure",
                    config.run.new,
                    config.gates.volume.threads.unwrap_or(1),
                    crate::volume::measure::ROUNDS,
                    crate::volume::measure::TIME.as_secs_f64()
                );
            }
            let start = std::time::Instant::now();
            let bench =
                crate::volume::measure(config, &settings.hosting, settings.options.seed, &|_| {})?;
            if !quiet {
                errln!("volume: measured in {:.1} s", start.elapsed().as_secs_f64());
            }
            if stop_flag().load(Ordering::SeqCst) {
                result.meta.interrupted = true;
            }
            result.throughput = Some(bench);
            Some(Evidence::Measured)
        }
        other => other,
    };
    Ok(result.with_volume(evidence))
}

/// Whether a command appends its Markdown report to a GitHub Actions job
/// summary (`GITHUB_STEP_SUMMARY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JobSummary {
    /// The report is a whole run's (or a merge's): append it.
    Append,
    /// A shard's: partial, and alarming on the job page (its gates count
    /// only its own cases); `keycompat merge` appends the merged report.
    LeaveToMerge,
}

/// `--partition`, with `auto` read from the CI environment (and said on
/// stderr). Under Bazel, touches `TEST_SHARD_STATUS_FILE` to say the test
/// shards itself.
fn resolve_partition(
    arg: Option<super::args::PartitionArg>,
) -> Result<Option<run::Partition>, CliError> {
    use super::args::PartitionArg;
    match arg {
        None => Ok(None),
        Some(PartitionArg::Fixed(p)) => Ok(Some(p)),
        Some(PartitionArg::Auto) => {
            let (p, used) =
                run::partition_from_ci(|k| std::env::var(k).ok()).map_err(CliError::Usage)?;
            errln!("partition {p} from {used}");
            if let Some(status) = std::env::var_os("TEST_SHARD_STATUS_FILE") {
                std::fs::write(&status, b"").map_err(io(format!(
                    "touching TEST_SHARD_STATUS_FILE {}",
                    std::path::Path::new(&status).display()
                )))?;
            }
            Ok(Some(p))
        }
    }
}

/// `keycompat data`: the exports of `[sources]` alone, with the paths,
/// selection and share the command line overrides.
pub(super) fn data(config_path: Option<&Path>, args: DataArgs) -> Result<i32, CliError> {
    let mut config = require_config(config_path)?;
    select_sources(&mut config, &args)?;
    let baseline = read_baseline(args.judge.baseline.as_deref())?;
    let history = history::choose(Some(&config), &args.history, true)?;
    two_systems(&config)?;
    let settings = settings(&config, config_path, &args.judge, 0, None);
    let dir = report_dir(&args.judge, Scope::Data)?;
    let printer = Printer::new(args.judge.quiet, 0);
    let result = compared(
        run::data(&config, &settings, &printer, stop_flag())?,
        baseline,
    );
    let result = history::judge(result, history.as_ref());
    let code = finish(
        &result,
        &dir,
        args.judge.quiet,
        JobSummary::Append,
        &settings.hosting,
    )?;
    history::append(&result, history.as_ref(), 0, args.judge.quiet)?;
    Ok(code)
}

/// Reads `--baseline` before any work, so a bad file does not cost a run.
pub(super) fn read_baseline(path: Option<&Path>) -> Result<Option<(RunResult, String)>, CliError> {
    path.map(|p| {
        crate::report::read_json(p)
            .map(|r| (r, p.display().to_string()))
            .map_err(|e| CliError::Usage(format!("--baseline: {e}")))
    })
    .transpose()
}

/// The result compared with its baseline, when there is one.
pub(super) fn compared(result: RunResult, baseline: Option<(RunResult, String)>) -> RunResult {
    match baseline {
        Some((b, file)) => result.with_baseline(&b, &file),
        None => result,
    }
}

/// Prints the summary, writes every report; the exit code is the result's
/// ([`result_code`]). `hosting` is how the run hosted its plugins (for the
/// hint after a system gave up).
pub(super) fn finish(
    result: &RunResult,
    dir: &Path,
    quiet: bool,
    summary: JobSummary,
    hosting: &crate::system::Hosting,
) -> Result<i32, CliError> {
    if result.meta.interrupted {
        errln!("interrupted: writing a partial report (marked interrupted)");
    }
    if quiet {
        outln!("verdict: {}", result.verdict);
    } else {
        out!("{}", crate::summary::render(result));
    }
    write_reports(result, dir, quiet, summary)?;
    say_where_it_stopped(result, dir, Some(hosting));
    Ok(result_code(result))
}

/// Says on stderr (with `--quiet` too: it is why the command fails) which
/// system gave up and that the reports are incomplete. The hint to replay
/// with `--isolation worker` is given only where it shows more: a library
/// plugin that ran in-process (a worker's or process plugin's crash
/// findings already carry what its process wrote; `None`: not known, as in
/// a merge).
fn say_where_it_stopped(result: &RunResult, dir: &Path, hosting: Option<&crate::system::Hosting>) {
    if result.meta.gave_up.is_empty() {
        return;
    }
    for stop in &result.meta.gave_up {
        errln!("error: {stop}");
    }
    let in_process_library =
        matches!(hosting, Some(crate::system::Hosting::InProcess))
            && result.meta.gave_up.iter().any(|g| {
                result.meta.systems.get(&g.system).is_some_and(|i| {
                    matches!(i.origin, crate::implementation::Origin::Plugin { .. })
                })
            });
    let hint = if in_process_library {
        "hint: replay one of the crash findings' cases with --isolation worker to see the crash"
    } else {
        "hint: replay one of the crash findings' cases (`keycompat replay`) to see it alone"
    };
    errln!(
        "the run stopped there: the reports in {} keep what it found until then, marked \
         incomplete (NO-GO); {hint}",
        dir.display()
    );
}

/// The exit code of a judged result: 3 (as for a plugin that cannot be
/// loaded) when a system gave up mid-run, else its verdict's.
pub(super) fn result_code(result: &RunResult) -> i32 {
    if result.meta.gave_up.is_empty() {
        verdict_code(result.verdict)
    } else {
        exit::PLUGIN
    }
}

/// The exit code of a verdict; an interrupted run's is the signal's.
pub(super) fn verdict_code(verdict: Status) -> i32 {
    match verdict {
        Status::Red => exit::INCOMPATIBLE,
        Status::Green | Status::Yellow => exit::GO,
        Status::Interrupted => interrupt_code(),
    }
}

/// Applies `data`'s flags to the config's `[sources]`: which exports, which
/// files (relative to the current directory), which share.
fn select_sources(config: &mut Config, args: &DataArgs) -> Result<(), CliError> {
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
        if path.is_dir() {
            return Err(CliError::Usage(format!(
                "{flag} {}: is a directory; hint: name the export file (.csv or .jsonl) in it",
                path.display()
            )));
        }
        if !path.is_file() {
            return Err(CliError::Usage(format!(
                "{flag} {}: no such file (relative to the current directory, {})",
                path.display(),
                std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            )));
        }
        std::path::absolute(path).map_err(io(path.display().to_string()))
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
    Ok(())
}

/// Writes every report format; appends the Markdown to a GitHub Actions job
/// summary when `GITHUB_STEP_SUMMARY` names one, unless `summary` leaves it
/// to the merge.
fn write_reports(
    result: &RunResult,
    dir: &Path,
    quiet: bool,
    summary: JobSummary,
) -> Result<(), CliError> {
    let written = crate::report::write_all(result, dir)
        .map_err(|e| CliError::Usage(format!("writing reports: {e}")))?;
    if !quiet {
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        errln!("reports: {} in {}", names.join(", "), dir.display());
    }
    let Some(job_summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty())
    else {
        return Ok(());
    };
    if summary == JobSummary::LeaveToMerge {
        if !quiet {
            errln!(
                "job summary: left to `keycompat merge` (a shard's report is partial; \
                 not appended to GITHUB_STEP_SUMMARY)"
            );
        }
        return Ok(());
    }
    use std::io::Write;
    let appended = std::fs::read(dir.join("report.md")).and_then(|md| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&job_summary)
            .and_then(|mut f| f.write_all(&md))
    });
    if let Err(e) = appended {
        errln!(
            "warning: cannot append to the job summary {}: {e}",
            PathBuf::from(job_summary).display()
        );
    }
    Ok(())
}

/// `keycompat merge`: joins shard reports into one and writes every format;
/// judges the merged run over the history (`--history`, else `[history]`
/// of the config, when there is one) and appends one record for the run.
pub(super) fn merge(
    config_path: Option<&Path>,
    shards: &[PathBuf],
    allow_partial: bool,
    report_dir: Option<&Path>,
    baseline: Option<&Path>,
    quiet: bool,
    history_args: &super::args::HistoryArgs,
) -> Result<i32, CliError> {
    let baseline = read_baseline(baseline)?;
    // The config only says where the history is: a merge reads no other
    // part of it, so an unusable ./keycompat.toml it was not asked to read
    // is a warning, not an error.
    let config = match (&history_args.history, config_path) {
        (Some(_), _) => None,
        (None, Some(_)) => super::setup::load_config(config_path)?,
        (None, None) => super::setup::load_config(None).unwrap_or_else(|e| {
            errln!("warning: {e}: its [history] is not used");
            None
        }),
    };
    let history = history::choose(config.as_ref(), history_args, true)?;
    if shards.is_empty() {
        return Err(CliError::Usage(
            "name the shard reports: keycompat merge a/report.json b/report.json ...".into(),
        ));
    }
    let results = shards
        .iter()
        .map(|p| {
            crate::report::read_json(p)
                .map(|r| (p.display().to_string(), r))
                .map_err(|e| CliError::Usage(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let dir = report_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_REPORT_DIR));
    // An earlier merge's reports go before this one can fail (shards of
    // another run, one missing): the shards read are kept.
    remove_previous_reports(&dir, shards)?;
    let merged = history::judge(
        compared(RunResult::merge(results, allow_partial)?, baseline),
        history.as_ref(),
    );
    if quiet {
        outln!("verdict: {}", merged.verdict);
    } else {
        out!("{}", crate::summary::render(&merged));
    }
    write_reports(&merged, &dir, quiet, JobSummary::Append)?;
    // A merge does not know how its shards hosted their plugins.
    say_where_it_stopped(&merged, &dir, None);
    let joined = u32::try_from(shards.len()).unwrap_or(u32::MAX);
    history::append(&merged, history.as_ref(), joined, quiet)?;
    Ok(result_code(&merged))
}

pub(super) fn lint_vectors(
    config_path: Option<&Path>,
    dir: Option<&Path>,
) -> Result<i32, CliError> {
    let config = require_config(config_path)?;
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => config.vectors_dir().ok_or_else(|| {
            CliError::Usage(format!(
                "{}: `[run] vectors = false`: no vector files to check; \
                 hint: name a directory: keycompat vectors check DIR",
                config.path.display()
            ))
        })?,
    };
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
        outln!("{e}");
    }
    if errors.is_empty() {
        let set =
            vectors::load_dir(&dir, &config.catalog).map_err(|errors| run::RunError::Vectors {
                dir: dir.clone(),
                errors,
            })?;
        outln!(
            "{}: {} vectors ({} entitlement, {} key, {} regression), no problems",
            dir.display(),
            set.len(),
            set.entitlements.len(),
            set.keys.len(),
            set.regressions.len()
        );
        Ok(exit::GO)
    } else {
        let n = errors.len();
        let problems = if n == 1 { "problem" } else { "problems" };
        errln!("error: {n} {problems} in vector files");
        Ok(exit::USAGE)
    }
}
