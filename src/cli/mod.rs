//! The command line: flags, and one function per subcommand that turns
//! validated arguments into library calls.
//!
//! Every failure maps to one [`CliError`] and from there to the documented
//! exit code (see [`crate::exit`]), in one place.

mod args;
mod bench;
mod error;
mod forge;
mod history;
mod keys;
mod output;
mod replay;
mod run;
mod selftest;
mod setup;

use clap::Parser;

use crate::exit;
use output::errln;

pub use args::{
    BenchArgs, Cli, Command, DataArgs, DataSource, GenerateArgs, HistoryArgs, HistoryCommandArgs,
    JudgeArgs, PluginCommand, ReplayArgs, RunArgs, SelftestArgs, SystemArgs, ValidateArgs,
    VectorsCommand,
};
pub use error::CliError;
pub use setup::load_config;

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
            errln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Command::Generate(args) => keys::generate(cli.config.as_deref(), args),
        Command::Validate(args) => keys::validate(cli.config.as_deref(), args),
        Command::Plugin(PluginCommand::Inspect {
            path,
            system,
            command,
            settings,
            json,
        }) => {
            let target = match (path, system) {
                (Some(path), _) => keys::Inspected::Library(path),
                (None, Some(system)) => keys::Inspected::System(system),
                (None, None) => keys::Inspected::Command(command),
            };
            keys::inspect(
                cli.config.as_deref(),
                target,
                settings.into_iter().collect(),
                json,
            )
        }
        Command::Run(args) => run::run(cli.config.as_deref(), args),
        Command::Data(args) => run::data(cli.config.as_deref(), args),
        Command::Selftest(args) => selftest::selftest(cli.config.as_deref(), args),
        Command::Replay(args) => replay::replay(cli.config.as_deref(), args),
        Command::Merge {
            shards,
            allow_partial,
            report_dir,
            baseline,
            quiet,
            history,
        } => run::merge(
            cli.config.as_deref(),
            &shards,
            allow_partial,
            report_dir.as_deref(),
            baseline.as_deref(),
            quiet,
            &history,
        ),
        Command::History(args) => history::show(cli.config.as_deref(), &args),
        Command::Vectors(VectorsCommand::Check { dir }) => {
            run::lint_vectors(cli.config.as_deref(), dir.as_deref())
        }
        Command::Vectors(VectorsCommand::Forge { out }) => {
            forge::forge(cli.config.as_deref(), out.as_deref())
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
