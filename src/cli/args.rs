//! The command line as clap parses it: raw flags, checked only for their
//! syntax. Resolving them against the config (defaults, the clock, the
//! machine) is the second phase, in each subcommand's file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config;
use crate::date::Day;
use crate::verdict::Version;

/// keycompat: prove a license-key migration safe before go-live.
#[derive(Debug, Parser)]
#[command(name = "keycompat", version, about)]
pub struct Cli {
    /// Config file [default: ./keycompat.toml when present].
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Issue keys: reads canonical JSON entitlements, one per line, writes one
    /// key (or `error: ...`) per line. Exit 1 if any was refused, 2 if any
    /// input line is invalid.
    Generate(GenerateArgs),
    /// Validate one key in a context and print the verdict and the decode.
    /// Exit 0 when valid, 1 when rejected.
    Validate(ValidateArgs),
    /// Inspect plugin libraries.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run the compatibility proof: vectors, regressions and random cases
    /// through the check matrix; exit 0 on go, 1 on a red gate.
    Run(RunArgs),
    /// Run the vendor's exports only (`[sources]`): field keys through old
    /// and new, orders through both generators and the check matrix. Judged
    /// by the data and finding gates; exit 0 on go, 1 on a red gate.
    Data(DataArgs),
    /// Measure what the run would catch: run the proof unchanged, then once
    /// per defect injector planted in the new system (`--old`: and in the
    /// old one), and report each injector caught, missed or not applicable
    /// with the detection score; exit 1 on a red gate
    /// (`[gates] min_detection_percent` among them).
    Selftest(SelftestArgs),
    /// Re-run one case (from a finding's replay command) and print what it
    /// finds. Exit 1 if a finding is not waived.
    Replay(ReplayArgs),
    /// Join the JSON reports of `run --partition k/n` shards into one report
    /// (identical to an unsharded run over the same cases) and write every format.
    Merge {
        /// The shards' report.json files.
        shards: Vec<PathBuf>,
        /// Merge the shards given even if some of the run's shards are
        /// missing; the report then says which, and the verdict is never GO.
        #[arg(long)]
        allow_partial: bool,
        /// Directory for the merged reports [default: keycompat-report].
        #[arg(long, value_name = "DIR")]
        report_dir: Option<PathBuf>,
        /// Compare with a previous run's report.json: new, fixed, grown and
        /// shrunk finding groups and gates that changed colour, in every
        /// format, and a gate on groups new since (`[gates] new_since_baseline`).
        #[arg(long, value_name = "REPORT_JSON")]
        baseline: Option<PathBuf>,
        /// Print only the verdict line.
        #[arg(long, short = 'q')]
        quiet: bool,
        /// The run history: judge the merged run over it and append one
        /// record for the whole run.
        #[command(flatten)]
        history: HistoryArgs,
    },
    /// Print the run history's trend per day: verdict, gates, finding groups
    /// new and fixed, shares of the exports and their cumulative coverage.
    History(HistoryCommandArgs),
    /// Work with test vector files.
    #[command(subcommand)]
    Vectors(VectorsCommand),
    /// Measure keys per second each system generates and validates (old vs
    /// new, per format, in-process and isolated, 1 thread and all cores) and
    /// the check matrix against a bare loop of its calls; writes bench.json.
    Bench(BenchArgs),
    /// Write demo exports (a field-key export issued by the old system and an
    /// order export, in a vendor's vocabulary, each with three malformed rows)
    /// and print the `[sources]` mapping that reads them.
    SampleData {
        /// Directory to write field-keys.csv and orders.csv into.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Field keys to write.
        #[arg(long, default_value_t = 3000)]
        keys: usize,
        /// Orders to write.
        #[arg(long, default_value_t = 3000)]
        orders: usize,
        /// Seed of the entitlements.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// `keycompat bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Seed of the entitlement corpus [default: `[run] seed`, else 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Entitlements in the corpus.
    #[arg(long, default_value_t = 1000)]
    pub corpus: usize,
    /// How long each rate is measured in all, e.g. `500ms`, `2s`; each round
    /// gets its share.
    #[arg(long, default_value = "1s", value_parser = config::parse_duration)]
    pub time: std::time::Duration,
    /// Rounds: every figure is measured once per round, interleaved with the
    /// others, and reported as the median and min..max of its rounds.
    #[arg(long, default_value_t = 5, value_parser = parse_rounds)]
    pub rounds: usize,
    /// Thread counts, comma-separated [default: 1 and all cores].
    #[arg(long, short = 'j', value_delimiter = ',', value_parser = parse_threads)]
    pub threads: Option<Vec<usize>>,
    /// Systems to measure, comma-separated: names in the config,
    /// `builtin:NAME` or plugin paths [default: every system a run opens].
    #[arg(long, value_delimiter = ',')]
    pub systems: Option<Vec<String>>,
    /// Cases through the check matrix (without TAMPER and TIME) and its bare
    /// loop, per hosting, thread count and round; 0 skips the matrix.
    #[arg(long, default_value_t = 1000)]
    pub matrix_cases: u64,
    /// Measure plugins in-process only (no worker processes).
    #[arg(long)]
    pub in_process_only: bool,
    /// Directory for bench.json [default: keycompat-report].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Also write the keys the validate figures cycle through, one file per
    /// key format (`DIR/keys-FORMAT.jsonl`), each line a process-protocol
    /// validate item (`key`, `context`): to time the same keys in a
    /// validator's own loop, beside this run.
    #[arg(long, value_name = "DIR")]
    pub write_keys: Option<PathBuf>,
    /// A bench.json of an earlier run: say per figure whether it improved,
    /// regressed or is within noise (read before this run writes its own).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: a change smaller than this percentage of the
    /// baseline's median is noise.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0, value_parser = parse_percent)]
    pub noise_threshold: f64,
    /// With --baseline: exit 1 if any figure regressed.
    #[arg(long, requires = "baseline")]
    pub fail_on_regression: bool,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `keycompat vectors ...`.
#[derive(Debug, Subcommand)]
pub enum VectorsCommand {
    /// Lint vector files (schema, ids, duplicates, system and format names),
    /// printing `file:line:column: message` for each problem. Exit 2 if any.
    Check {
        /// The vectors directory [default: `[run] vectors` of the config].
        dir: Option<PathBuf>,
    },
    /// Write key vectors of forged keys: every forgery that the systems of
    /// the config holding a secret (builtins) make of the keys issued for a
    /// few entitlements, with the verdict `[run] old` and `new` must return.
    Forge {
        /// The file to write (atomically) [default: standard output].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// What `run` and `data` share: the seed, the threads, the checks, where
/// plugins run, and where the reports go.
#[derive(Debug, Args)]
pub struct JudgeArgs {
    /// Seed of the random cases and of export sampling [default: `[run] seed`,
    /// else a fresh one, printed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores].
    #[arg(long, short = 'j', value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Checks to run, comma-separated [default: `[run] checks`, else all].
    #[arg(long, value_delimiter = ',', value_parser = parse_check)]
    pub checks: Option<Vec<crate::finding::Check>>,
    /// The day waivers are judged on [default: today, UTC].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = Day::parse)]
    pub today: Option<Day>,
    /// Where plugins run: `worker` (own processes; crashes become findings)
    /// or `none` (in-process; fastest) [default: `[run] isolation`].
    #[arg(long, value_parser = parse_isolation)]
    pub isolation: Option<config::Isolation>,
    /// Directory for the reports (JSON, JUnit, Markdown, HTML) [default:
    /// keycompat-report; for `data`, keycompat-report/data].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Compare with a previous run's report.json: new, fixed, grown and
    /// shrunk finding groups and gates that changed colour, in every
    /// format, and a gate on groups new since (`[gates] new_since_baseline`).
    #[arg(long, value_name = "REPORT_JSON")]
    pub baseline: Option<PathBuf>,
    /// Print only the verdict line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The run history, for `run`, `data` and `merge`.
#[derive(Debug, Args, Default)]
pub struct HistoryArgs {
    /// The run history (JSON Lines) to judge this run over and append its
    /// record to, instead of `[history] path` (relative to the current
    /// directory); created when missing. A shard never appends: the merge does.
    #[arg(long, value_name = "PATH")]
    pub history: Option<PathBuf>,
    /// Read the history for the trend and the gates over time, but do not
    /// append this run's record (e.g. a pull request's run).
    #[arg(long)]
    pub history_read_only: bool,
}

/// `keycompat history`.
#[derive(Debug, Args)]
pub struct HistoryCommandArgs {
    /// The history file [default: `[history] path` of the config].
    #[arg(long, value_name = "PATH")]
    pub history: Option<PathBuf>,
    /// Show at most this many of the most recent days.
    #[arg(long, default_value_t = 30)]
    pub days: usize,
}

/// `keycompat run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The flags `run` and `data` share.
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// The run history.
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Number of random cases [default: `[run] cases`].
    #[arg(long)]
    pub cases: Option<u64>,
    /// Run only shard k of n (by stable case id), e.g. `2/3`, or `auto`:
    /// the shard the CI system says this job is (GitLab, Bazel, Buildkite,
    /// CircleCI, Kubernetes Indexed Jobs; see README).
    #[arg(long, value_name = "K/N|auto", value_parser = parse_partition)]
    pub partition: Option<PartitionArg>,
    /// Do not shrink failing random cases or save them as regression vectors.
    #[arg(long)]
    pub no_shrink: bool,
    /// Do not add random cases steered into combinations the run has not
    /// covered (sharded runs never steer: each shard would steer differently).
    #[arg(long)]
    pub no_steer: bool,
    /// Include the throughput table of a `keycompat bench` result (its
    /// bench.json) in the reports; the volume gates (`[gates.volume]`)
    /// judge its figures of the new system.
    #[arg(long, value_name = "BENCH_JSON")]
    pub throughput: Option<PathBuf>,
    /// Measure the new system's throughput after the cases (a few seconds)
    /// for the volume gates, as `[gates.volume] measure = true` does.
    #[arg(long, conflicts_with = "throughput")]
    pub measure_volume: bool,
}

/// `keycompat selftest`.
#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// The flags `run` and `data` share (reports default to
    /// keycompat-report/selftest).
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Number of random cases [default: `[run] cases`].
    #[arg(long)]
    pub cases: Option<u64>,
    /// Also plant every defect in the old system.
    #[arg(long)]
    pub old: bool,
    /// Injectors to plant, comma-separated: names (`time.today-plus-1`) or
    /// families (`time`) [default: all].
    #[arg(long, value_delimiter = ',')]
    pub injectors: Option<Vec<String>>,
    /// Do not add random cases steered into combinations not yet covered.
    #[arg(long)]
    pub no_steer: bool,
}

/// `keycompat data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The flags `run` and `data` share.
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// The run history.
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Read this field-key export instead of `[sources.field_keys] path`
    /// (same mapping; relative to the current directory).
    #[arg(long, value_name = "PATH")]
    pub field_keys: Option<PathBuf>,
    /// Read this order export instead of `[sources.orders] path` (same
    /// mapping; relative to the current directory).
    #[arg(long, value_name = "PATH")]
    pub orders: Option<PathBuf>,
    /// Run one export only.
    #[arg(long, value_enum)]
    pub only: Option<DataSource>,
    /// Fraction of each export's rows to run, in (0, 1], sampled with the
    /// seed [default: each source's `share`].
    #[arg(long, value_parser = parse_share)]
    pub share: Option<f64>,
}

/// One of the vendor's exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataSource {
    /// `[sources.field_keys]`: keys in customers' hands.
    FieldKeys,
    /// `[sources.orders]`: orders pushed through both systems.
    Orders,
}

/// The most threads `-j` accepts: far beyond any machine's cores, and within
/// what an operating system lets one process start.
const MAX_THREADS: usize = 1024;

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: expected a number of threads from 1 to {MAX_THREADS}"
        )),
    }
}

fn parse_rounds(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?}: expected a number of rounds, 1 or more")),
    }
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?}: expected a percentage, 0 or more, e.g. 5")),
    }
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < MIN_SHARE => Err(format!(
            "{s:?}: below the smallest share, {MIN_SHARE:e} (one row in a billion); hint: e.g. 0.1"
        )),
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("{s:?}: expected a fraction in (0, 1], e.g. 0.1")),
    }
}

/// The smallest `--share`: one row in a billion. A smaller one samples one
/// row of any real export and prints as hundreds of digits.
const MIN_SHARE: f64 = 1e-9;

fn parse_isolation(s: &str) -> Result<config::Isolation, String> {
    match s {
        "worker" => Ok(config::Isolation::Worker),
        "none" => Ok(config::Isolation::None),
        _ => Err(format!("{s:?}: expected `worker` or `none`")),
    }
}

/// `keycompat replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The seed of a random case.
    #[arg(long, requires = "case")]
    pub seed: Option<u64>,
    /// The index of a random case.
    #[arg(long, requires = "seed")]
    pub case: Option<u64>,
    /// A vector or regression id.
    #[arg(long, conflicts_with_all = ["seed", "case"])]
    pub vector: Option<String>,
    /// A canonical JSON entitlement.
    #[arg(long, conflicts_with_all = ["seed", "case", "vector"])]
    pub entitlement: Option<String>,
    /// A report.json to take the finding from (with `--finding`): its case,
    /// check, config (unless `--config` is given) and day.
    #[arg(long, value_name = "PATH", requires = "finding",
          conflicts_with_all = ["seed", "case", "vector", "entitlement"])]
    pub report: Option<std::path::PathBuf>,
    /// The id of a finding group of `--report` (`g-...`, as every report
    /// prints it).
    #[arg(long, value_name = "ID", requires = "report")]
    pub finding: Option<String>,
    /// Only this check.
    #[arg(long, value_parser = parse_check)]
    pub check: Option<crate::finding::Check>,
    /// The day waivers are judged on [default: today, UTC].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = Day::parse)]
    pub today: Option<Day>,
}

/// `--partition`: a shard, or `auto` (from the CI environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionArg {
    /// This shard.
    Fixed(crate::run::Partition),
    /// Whatever the CI environment says.
    Auto,
}

fn parse_partition(s: &str) -> Result<PartitionArg, String> {
    if s == "auto" {
        return Ok(PartitionArg::Auto);
    }
    crate::run::Partition::parse(s)
        .map(PartitionArg::Fixed)
        .map_err(|e| format!("{e}, or auto"))
}

fn parse_check(s: &str) -> Result<crate::finding::Check, String> {
    crate::finding::Check::parse(s).ok_or_else(|| {
        format!(
            "unknown check {s:?}; checks: {}",
            crate::finding::Check::ALL.map(|c| c.as_str()).join(", ")
        )
    })
}

/// Naming a system and overriding its settings.
#[derive(Debug, Args)]
pub struct SystemArgs {
    /// A system of keycompat.toml (`old`, `new`, ...), `builtin:acme-lk1`,
    /// `builtin:acme-ed1`, or the path of a plugin library.
    #[arg(long, short = 's', value_name = "NAME")]
    pub system: String,
    /// Set or override a setting of the system (repeatable).
    #[arg(long = "setting", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,
}

/// `keycompat generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub(crate) system: SystemArgs,
    /// JSON Lines file of entitlements; `-` or absent reads standard input.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// One JSON object per entitlement instead of text: `{"key": ...}`,
    /// `{"refused": {"field", "reason"}}`, `{"invalid": ...}` or
    /// `{"failed": ...}`; shows keys with line breaks exactly.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `keycompat validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub(crate) system: SystemArgs,
    /// The key; `-` reads it from standard input (exact bytes, for keys with
    /// newlines or invalid UTF-8).
    #[arg(long, short = 'k', allow_hyphen_values = true)]
    pub(crate) key: String,
    /// Context: the running product's slug.
    #[arg(long, value_name = "SLUG")]
    pub(crate) product: String,
    /// Context: the running product's version, MAJOR.MINOR.
    #[arg(long, value_name = "MAJOR.MINOR", value_parser = Version::parse)]
    pub(crate) version: Version,
    /// Context: today's date (UTC), YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = Day::parse)]
    pub(crate) today: Day,
    /// Context: the machine's host id.
    #[arg(long, value_name = "ID")]
    pub(crate) host_id: Option<String>,
    /// Print the validation as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `keycompat plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Load a plugin library, or start a process plugin and complete its
    /// hello, and print its name, version, ABI or protocol, capabilities and
    /// SHA-256. Exit 3 if it cannot be loaded or started.
    ///
    /// `keycompat plugin inspect lib.so`, `keycompat plugin inspect --system
    /// NAME` (a system of keycompat.toml), or `keycompat plugin inspect --
    /// python3 validator.py` (a process plugin's command line).
    Inspect {
        /// Path of the shared library.
        #[arg(required_unless_present_any = ["system", "command"])]
        path: Option<PathBuf>,
        /// A system of keycompat.toml: its library or process plugin, with
        /// its settings.
        #[arg(long, conflicts_with_all = ["path", "command"])]
        system: Option<String>,
        /// A process plugin's command line, after `--`; it runs in the
        /// current directory.
        #[arg(last = true, conflicts_with = "path")]
        command: Vec<String>,
        /// A setting handed to the plugin (repeatable).
        #[arg(long = "setting", value_name = "KEY=VALUE", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}
