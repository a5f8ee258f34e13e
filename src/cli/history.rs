//! The run history on the command line: which file (`--history` or
//! `[history] path`), read before the run (a bad file costs no run), the run
//! judged over it, its record appended once the reports are written; and
//! `keycompat history`, the trend on the terminal.

use std::path::{Path, PathBuf};

use super::args::{HistoryArgs, HistoryCommandArgs};
use super::error::CliError;
use super::output::{errln, out};
use super::setup::load_config;
use crate::config::Config;
use crate::exit;
use crate::history::{self, History};
use crate::run::RunResult;

/// The history a command uses: the file, as reports name it, and whether
/// the command appends to it.
pub(super) struct Chosen {
    path: PathBuf,
    shown: String,
    append: bool,
    history: History,
}

/// The history file of `--history` (relative to the current directory) or
/// of `[history] path` (relative to the config), read; `None` when neither
/// names one. `--history` appends unless `--history-read-only`; the
/// config's path as `[history] append` says.
pub(super) fn choose(
    config: Option<&Config>,
    args: &HistoryArgs,
    warn: bool,
) -> Result<Option<Chosen>, CliError> {
    let (path, shown, append) = match (&args.history, config) {
        (Some(p), _) => (p.clone(), p.display().to_string(), true),
        (None, Some(c)) => match (c.history_path(), &c.history.path) {
            (Some(p), Some(shown)) => (p, shown.clone(), c.history.append),
            _ => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    let history = read(&path, &shown, warn)?;
    Ok(Some(Chosen {
        path,
        shown,
        append: append && !args.history_read_only,
        history,
    }))
}

/// Reads a history file; with `warn`, says on stderr which lines it
/// skipped (with `--quiet` too: a damaged history is news).
fn read(path: &Path, shown: &str, warn: bool) -> Result<History, CliError> {
    let history = history::read(path).map_err(|e| CliError::Usage(e.to_string()))?;
    if warn {
        for p in &history.problems {
            errln!("warning: history {shown}: {p}");
        }
    }
    Ok(history)
}

/// Judges `result` over the chosen history, or over none when the config
/// sets gates over time without a history file (they then see this run
/// alone, and say so).
pub(super) fn judge(result: RunResult, chosen: Option<&Chosen>) -> RunResult {
    let interrupted = result.meta.interrupted;
    match chosen {
        Some(c) => result.with_history(&c.history, &c.shown, c.append && !interrupted),
        None if !result.meta.gates_config.history.is_empty() => result.with_history(
            &History::default(),
            "none (set `[history] path` or pass `--history PATH`)",
            false,
        ),
        None => result,
    }
}

/// Appends the run's record to the chosen history (when it appends, and
/// the run was not interrupted); `shards` is how many reports a merge joined.
pub(super) fn append(
    result: &RunResult,
    chosen: Option<&Chosen>,
    shards: u32,
    quiet: bool,
) -> Result<(), CliError> {
    let Some(c) = chosen else { return Ok(()) };
    if !c.append {
        return Ok(());
    }
    if result.meta.interrupted {
        errln!("history: an interrupted run adds no record to {}", c.shown);
        return Ok(());
    }
    let record = history::record_of(result, shards);
    history::append(&c.path, &record).map_err(|e| CliError::Usage(e.to_string()))?;
    if !quiet {
        errln!(
            "history: appended the record of {} to {}",
            record.date,
            c.shown
        );
    }
    Ok(())
}

/// `keycompat history`: the trend of the history file, per day.
pub(super) fn show(config_path: Option<&Path>, args: &HistoryCommandArgs) -> Result<i32, CliError> {
    let config = match &args.history {
        Some(_) => None,
        None => load_config(config_path)?,
    };
    let chosen = choose(
        config.as_ref(),
        &HistoryArgs {
            history: args.history.clone(),
            history_read_only: true,
        },
        // The trend lists them.
        false,
    )?
    .ok_or_else(|| {
        CliError::Usage(
            "no history: pass --history PATH or set `[history] path` in keycompat.toml".into(),
        )
    })?;
    if !chosen.history.exists {
        return Err(CliError::Usage(format!(
            "{}: no such history file; hint: `keycompat run` or `data` with --history PATH \
             writes it",
            chosen.path.display()
        )));
    }
    let gates = config.map(|c| c.gates).unwrap_or_default();
    let trend = history::of_file(&chosen.history, &chosen.shown, &gates);
    out!("{}", history::render::terminal(&trend, args.days));
    Ok(exit::GO)
}
