//! The command line: flags, and one function per subcommand that turns
//! validated arguments into library calls.
//!
//! Every failure maps to one [`CliError`] and from there to the documented
//! exit code (see [`crate::exit`]), in one place.

mod bench;
mod keys;
mod replay;
mod run;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config, ConfigError};
use crate::date::Day;
use crate::exit;
use crate::plugin;
use crate::system::OpenError;
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
    /// Re-run one case (from a finding's replay command) and print what it
    /// finds. Exit 1 if a finding is not waived.
    Replay(ReplayArgs),
    /// Join the JSON reports of `run --partition k/n` shards into one report
    /// (identical to an unsharded run over the same cases) and write every format.
    Merge {
        /// The shards' report.json files.
        shards: Vec<PathBuf>,
        /// Directory for the merged reports [default: keycompat-report].
        #[arg(long, value_name = "DIR")]
        report_dir: Option<PathBuf>,
        /// Print only the verdict line.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
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
    /// How long each rate is measured, e.g. `500ms`, `2s`.
    #[arg(long, default_value = "1s", value_parser = config::parse_duration)]
    pub time: std::time::Duration,
    /// Thread counts, comma-separated [default: 1 and all cores].
    #[arg(long, short = 'j', value_delimiter = ',')]
    pub threads: Option<Vec<usize>>,
    /// Systems to measure, comma-separated: names in the config,
    /// `builtin:NAME` or plugin paths [default: every system a run opens].
    #[arg(long, value_delimiter = ',')]
    pub systems: Option<Vec<String>>,
    /// Cases through the check matrix (without TAMPER and TIME) and its bare
    /// loop, per hosting and thread count; 0 skips the matrix.
    #[arg(long, default_value_t = 2000)]
    pub matrix_cases: u64,
    /// Measure plugins in-process only (no worker processes).
    #[arg(long)]
    pub in_process_only: bool,
    /// Directory for bench.json [default: keycompat-report].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
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
    /// Print only the verdict line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `keycompat run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The flags `run` and `data` share.
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Number of random cases [default: `[run] cases`].
    #[arg(long)]
    pub cases: Option<u64>,
    /// Run only shard k of n (by stable case id), e.g. `2/3`.
    #[arg(long, value_name = "K/N", value_parser = crate::run::Partition::parse)]
    pub partition: Option<crate::run::Partition>,
    /// Do not shrink failing random cases or save them as regression vectors.
    #[arg(long)]
    pub no_shrink: bool,
    /// Do not add random cases steered into combinations the run has not
    /// covered (sharded runs never steer: each shard would steer differently).
    #[arg(long)]
    pub no_steer: bool,
    /// Include the throughput table of a `keycompat bench` result (its
    /// bench.json) in the reports.
    #[arg(long, value_name = "BENCH_JSON")]
    pub throughput: Option<PathBuf>,
}

/// `keycompat data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The flags `run` and `data` share.
    #[command(flatten)]
    pub judge: JudgeArgs,
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

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?}: expected a number of threads, 1 or more")),
    }
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("{s:?}: expected a fraction in (0, 1], e.g. 0.1")),
    }
}

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
    /// Only this check.
    #[arg(long, value_parser = parse_check)]
    pub check: Option<crate::finding::Check>,
    /// The day waivers are judged on [default: today, UTC].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = Day::parse)]
    pub today: Option<Day>,
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
    system: SystemArgs,
    /// JSON Lines file of entitlements; `-` or absent reads standard input.
    #[arg(long, short = 'i', value_name = "FILE")]
    input: Option<PathBuf>,
}

/// `keycompat validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    system: SystemArgs,
    /// The key; `-` reads it from standard input (exact bytes, for keys with
    /// newlines or invalid UTF-8).
    #[arg(long, short = 'k', allow_hyphen_values = true)]
    key: String,
    /// Context: the running product's slug.
    #[arg(long, value_name = "SLUG")]
    product: String,
    /// Context: the running product's version, MAJOR.MINOR.
    #[arg(long, value_name = "MAJOR.MINOR", value_parser = Version::parse)]
    version: Version,
    /// Context: today's date (UTC), YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = Day::parse)]
    today: Day,
    /// Context: the machine's host id.
    #[arg(long, value_name = "ID")]
    host_id: Option<String>,
    /// Print the validation as JSON.
    #[arg(long)]
    json: bool,
}

/// `keycompat plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Load a plugin and print its name, version, ABI, capabilities,
    /// thread safety and SHA-256. Exit 3 if it cannot be loaded.
    Inspect {
        /// Path of the shared library.
        path: PathBuf,
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

/// Every way a command fails, each with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or input.
    #[error("{0}")]
    Usage(String),
    /// The config is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A system cannot be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A plugin cannot be loaded.
    #[error(transparent)]
    Plugin(#[from] plugin::PluginError),
    /// A plugin's call failed (crashed, hung, broke the ABI) where a command
    /// needed its answer.
    #[error("{system} could not {what}: {failure}; hint: `keycompat plugin inspect` checks the library")]
    Call {
        /// The system.
        system: String,
        /// `generate` or `validate`.
        what: &'static str,
        /// What went wrong.
        failure: crate::implementation::CallFailure,
    },
    /// The run could not reach a verdict.
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    /// Shard reports cannot be merged.
    #[error(transparent)]
    Merge(#[from] crate::run::MergeError),
    /// Reading input or writing output failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl From<crate::run::ReplayError> for CliError {
    fn from(e: crate::run::ReplayError) -> Self {
        match e {
            crate::run::ReplayError::Run(e) => CliError::Run(e),
            e @ crate::run::ReplayError::NoSuchVector { .. } => CliError::Usage(e.to_string()),
        }
    }
}

impl CliError {
    /// The documented exit code: the one place that chooses it.
    pub fn exit_code(&self) -> i32 {
        use crate::run::RunError;
        match self {
            CliError::Usage(_) | CliError::Config(_) | CliError::Merge(_) | CliError::Io { .. } => {
                exit::USAGE
            }
            CliError::Open(e) | CliError::Run(RunError::Open(e)) => open_code(e),
            CliError::Plugin(_)
            | CliError::Call { .. }
            | CliError::Run(RunError::PluginGaveUp { .. }) => exit::PLUGIN,
            CliError::Run(
                RunError::Vectors { .. }
                | RunError::Source(_)
                | RunError::SaveRegression { .. },
            ) => exit::USAGE,
        }
    }
}

/// A system that cannot be opened: the plugin's fault (3) or the user's (2).
fn open_code(e: &OpenError) -> i32 {
    match e {
        OpenError::Plugin(_) => exit::PLUGIN,
        OpenError::UnknownSystem { .. } | OpenError::Config(_) | OpenError::Builtin { .. } => {
            exit::USAGE
        }
    }
}

/// The config named by `--config`, or `./keycompat.toml`; an error when
/// there is neither.
pub(crate) fn require_config(explicit: Option<&Path>) -> Result<Config, CliError> {
    load_config(explicit)?.ok_or_else(|| {
        CliError::Usage(format!(
            "no {} in this directory; hint: run from the repository root or pass --config PATH",
            config::DEFAULT_FILE
        ))
    })
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
    let what = what.into();
    move |source| CliError::Io { what, source }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::GO
            };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Command::Generate(args) => keys::generate(cli.config.as_deref(), args),
        Command::Validate(args) => keys::validate(cli.config.as_deref(), args),
        Command::Plugin(PluginCommand::Inspect { path, json }) => keys::inspect(&path, json),
        Command::Run(args) => run::run(cli.config.as_deref(), args),
        Command::Data(args) => run::data(cli.config.as_deref(), args),
        Command::Replay(args) => replay::replay(cli.config.as_deref(), args),
        Command::Merge {
            shards,
            report_dir,
            quiet,
        } => run::merge(&shards, report_dir.as_deref(), quiet),
        Command::Vectors(VectorsCommand::Check { dir }) => {
            run::lint_vectors(cli.config.as_deref(), dir.as_deref())
        }
        Command::Bench(args) => bench::bench(cli.config.as_deref(), args),
        Command::SampleData {
            dir,
            keys,
            orders,
            seed,
        } => keys::sample_data(cli.config.as_deref(), &dir, keys, orders, seed),
    }
}

/// How plugins are hosted: worker processes of this very binary, or in-process.
pub(crate) fn hosting(
    isolation: config::Isolation,
    timeout: Option<std::time::Duration>,
    workers: usize,
) -> crate::system::Hosting {
    match isolation {
        config::Isolation::None => crate::system::Hosting::InProcess,
        config::Isolation::Worker => {
            let mut options = crate::plugin::WorkerOptions {
                workers: workers.max(1),
                ..Default::default()
            };
            if let Some(t) = timeout {
                options.timeout = t;
            }
            crate::system::Hosting::Workers(options)
        }
    }
}

/// The config named by `--config`, or `./keycompat.toml` when present.
pub fn load_config(explicit: Option<&Path>) -> Result<Option<Config>, CliError> {
    match explicit {
        Some(path) => Ok(Some(Config::load(path)?)),
        None => {
            let default = Path::new(config::DEFAULT_FILE);
            if default.is_file() {
                Ok(Some(Config::load(default)?))
            } else {
                Ok(None)
            }
        }
    }
}
