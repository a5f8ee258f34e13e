//! The command line: flags, and one function per subcommand that turns
//! validated arguments into library calls.
//!
//! Every failure maps to one [`CliError`] and from there to the documented
//! exit code (see [`crate::exit`]), in one place.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config, ConfigError};
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::exit;
use crate::implementation::GenerateFailure;
use crate::plugin;
use crate::settings::Settings;
use crate::system::{self, OpenError, SystemRef};
use crate::verdict::{Context, Validation, Verdict, Version};

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
    /// Reading input or writing output failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl CliError {
    /// The documented exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Open(OpenError::Plugin(_)) | CliError::Plugin(_) => exit::PLUGIN,
            _ => exit::USAGE,
        }
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
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
        Command::Generate(args) => generate(cli.config.as_deref(), args),
        Command::Validate(args) => validate(cli.config.as_deref(), args),
        Command::Plugin(PluginCommand::Inspect { path, json }) => inspect(&path, json),
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

fn open_system(
    config: Option<&Config>,
    args: &SystemArgs,
) -> Result<Box<dyn crate::implementation::Implementation>, CliError> {
    let overrides: Settings = args.settings.iter().cloned().collect();
    Ok(system::open(
        &SystemRef::parse(&args.system),
        config,
        &overrides,
    )?)
}

fn generate(config_path: Option<&Path>, args: GenerateArgs) -> Result<i32, CliError> {
    let config = load_config(config_path)?;
    let catalog = config
        .as_ref()
        .map(|c| c.catalog.clone())
        .unwrap_or_else(crate::catalog::Catalog::acme);
    let implementation = open_system(config.as_ref(), &args.system)?;
    let (reader, source): (Box<dyn BufRead>, String) = match &args.input {
        Some(p) if p.as_os_str() != "-" => {
            let f = std::fs::File::open(p).map_err(io(format!("{}", p.display())))?;
            (
                Box::new(std::io::BufReader::new(f)),
                p.display().to_string(),
            )
        }
        _ => (Box::new(std::io::stdin().lock()), "<stdin>".to_string()),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut refused, mut invalid) = (0usize, 0usize);
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(io(format!("{source}: line {}", i + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        let entitlement = Entitlement::from_json(&line)
            .map_err(|e| e.to_string())
            .and_then(|e| e.check(&catalog).map(|()| e).map_err(|e| e.to_string()));
        let text = match entitlement {
            Err(message) => {
                invalid += 1;
                eprintln!("error: {source}:{}: {message}", i + 1);
                format!("error: invalid entitlement: {message}")
            }
            Ok(e) => match implementation.generate(&e) {
                Ok(key) => key,
                Err(GenerateFailure::Refused { field, reason }) => {
                    refused += 1;
                    format!("error: refused: {field}: {reason}")
                }
                Err(GenerateFailure::Failed(f)) => {
                    invalid += 1;
                    format!("error: generate failed: {f}")
                }
            },
        };
        writeln!(out, "{text}").map_err(io("standard output"))?;
    }
    out.flush().map_err(io("standard output"))?;
    Ok(if invalid > 0 {
        exit::USAGE
    } else if refused > 0 {
        exit::INCOMPATIBLE
    } else {
        exit::GO
    })
}

fn validate(config_path: Option<&Path>, args: ValidateArgs) -> Result<i32, CliError> {
    let config = load_config(config_path)?;
    let implementation = open_system(config.as_ref(), &args.system)?;
    let key: Vec<u8> = if args.key == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(io("standard input"))?;
        buf
    } else {
        args.key.into_bytes()
    };
    let context = Context {
        product: args.product,
        version: args.version,
        today: args.today,
        host_id: args.host_id,
    };
    let validation = implementation.validate(&key, &context).map_err(|f| {
        CliError::Usage(format!("{} could not validate: {f}", implementation.info()))
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&validation).expect("validations serialize")
        );
    } else {
        print_validation(&validation);
    }
    Ok(if validation.verdict == Verdict::Valid {
        exit::GO
    } else {
        exit::INCOMPATIBLE
    })
}

fn print_validation(v: &Validation) {
    println!("verdict: {}", v.verdict);
    if let Some(f) = &v.format {
        println!("format:  {f}");
    }
    if let Some(r) = &v.reason {
        println!("reason:  {r}");
    }
    if let Some(d) = &v.decoded {
        let value = serde_json::to_value(d).expect("decodes serialize");
        println!("decoded:");
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                println!("  {k}: {v}");
            }
        }
    }
}

fn inspect(path: &Path, json: bool) -> Result<i32, CliError> {
    let p = plugin::load(path)?;
    if json {
        let v = serde_json::json!({
            "path": p.path, "sha256": p.sha256, "name": p.name, "version": p.version,
            "abi": format!("{}.{}", p.abi.0, p.abi.1), "struct_size": p.struct_size,
            "flags": p.flags, "capabilities": p.describe_flags(),
        });
        println!("{v}");
    } else {
        println!("path:         {}", p.path.display());
        println!("sha256:       {}", p.sha256);
        println!("name:         {}", p.name);
        println!("version:      {}", p.version);
        println!(
            "abi:          {}.{} (struct_size {})",
            p.abi.0, p.abi.1, p.struct_size
        );
        println!(
            "flags:        0x{:x}: {}",
            p.flags,
            p.describe_flags().join(", ")
        );
    }
    Ok(exit::GO)
}
