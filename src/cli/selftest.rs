//! `keycompat selftest`: resolve the flags like `run`, choose the injectors
//! and the systems to plant them in, call [`crate::selftest::run`], print
//! each injector as it is decided, and write the reports.

use std::path::{Path, PathBuf};

use super::args::SelftestArgs;
use super::error::CliError;
use super::output::errln;
use super::run::{JobSummary, Printer, compared, finish, read_baseline, report_dir_or, settings};
use super::setup::{DEFAULT_REPORT_DIR, require_config};
use crate::detection::Mutant;
use crate::inject::Injector;

pub(super) fn selftest(config_path: Option<&Path>, args: SelftestArgs) -> Result<i32, CliError> {
    let config = require_config(config_path)?;
    super::run::two_systems(&config)?;
    let injectors = match &args.injectors {
        Some(names) => Injector::select(&config.catalog, names)
            .map_err(|e| CliError::Usage(format!("--injectors: {e}")))?,
        None => Injector::all(&config.catalog),
    };
    let baseline = read_baseline(args.judge.baseline.as_deref())?;
    let cases = args.cases.unwrap_or(config.run.cases);
    let mut settings = settings(&config, config_path, &args.judge, cases, None);
    settings.steer = !args.no_steer;
    let dir = report_dir_or(
        &args.judge,
        PathBuf::from(DEFAULT_REPORT_DIR).join("selftest"),
    )?;
    let mut systems = vec![config.run.new.clone()];
    if args.old {
        systems.push(config.run.old.clone());
    }
    let quiet = args.judge.quiet;
    if !quiet {
        errln!(
            "keycompat selftest: {} injectors in {}; the unchanged run first",
            injectors.len(),
            systems.join(" and ")
        );
    }
    let printer = Printer::new(quiet, cases);
    let print = |m: &Mutant| {
        if !quiet {
            errln!(
                "selftest: {} in {}: {} {}",
                m.injector,
                m.system,
                m.outcome.as_str(),
                m.how()
            );
        }
    };
    let result = crate::selftest::run(
        &config,
        &settings,
        &injectors,
        &systems,
        &printer,
        &print,
        super::run::stop_flag(),
    )?;
    finish(
        &compared(result, baseline),
        &dir,
        quiet,
        JobSummary::Append,
        &settings.hosting,
    )
}
