//! What every subcommand sets up alike: the config, how plugins are hosted,
//! where reports go, and today's date.

use std::path::Path;

use super::error::CliError;
use crate::config::{self, Config};
use crate::date::Day;

/// Where reports go without `--report-dir`.
pub(crate) const DEFAULT_REPORT_DIR: &str = "keycompat-report";

/// Today's date in UTC, from the clock: only ever used to judge waiver expiry.
pub(crate) fn today_utc() -> Day {
    let now = time::OffsetDateTime::now_utc().date();
    Day::from_ymd(now.year(), now.month() as u8, now.day())
        .expect("the clock's date is a real date")
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

/// How plugins are hosted: worker processes of this very binary, or
/// in-process; workers take the timeout and memory limit of `run` (the
/// config's `[run]`; `None`: the defaults).
pub(crate) fn hosting(
    isolation: config::Isolation,
    run: Option<&config::RunConfig>,
    workers: usize,
) -> crate::system::Hosting {
    match isolation {
        config::Isolation::None => crate::system::Hosting::InProcess,
        config::Isolation::Worker => {
            let mut options = crate::plugin::WorkerOptions {
                workers: workers.max(1),
                ..Default::default()
            };
            if let Some(run) = run {
                options.timeout = run.timeout;
                options.memory_limit = run.memory_limit;
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
