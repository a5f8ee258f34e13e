//! `keycompat replay`: re-runs one case from a finding's replay command and
//! prints what it finds, judged (waivers included) as the run judged it.

use super::output::{errln, outln};
use std::path::Path;

use super::args::ReplayArgs;
use super::error::CliError;
use super::setup::{hosting, require_config, today_utc};
use crate::entitlement::Entitlement;
use crate::exit;
use crate::finding::Source;
use crate::run::{self, ReplayTarget, Replayed, WaiverDecision};

pub(super) fn replay(config_path: Option<&Path>, args: ReplayArgs) -> Result<i32, CliError> {
    if let (Some(report), Some(id)) = (&args.report, &args.finding) {
        return from_report(config_path, report, id, &args);
    }
    let config = require_config(config_path)?;
    let target = match (&args.seed, &args.case, &args.vector, &args.entitlement) {
        (Some(seed), Some(index), _, _) => ReplayTarget::Random {
            seed: *seed,
            index: *index,
        },
        (_, _, Some(id), _) => ReplayTarget::Vector(id.clone()),
        (_, _, _, Some(json)) => {
            let e = Entitlement::from_json(json)
                .map_err(|e| CliError::Usage(format!("--entitlement: {e}")))?;
            e.check(&config.catalog)
                .map_err(|e| CliError::Usage(format!("--entitlement: {e}")))?;
            ReplayTarget::Entitlement(e)
        }
        _ => {
            return Err(CliError::Usage(
                "name a case: --seed S --case I, --vector ID or --entitlement JSON".into(),
            ));
        }
    };
    let today = args.today.unwrap_or_else(today_utc);
    replay_target(&config, &target, args.check, today)
}

/// Replays `target` and prints it; the exit code says whether it blocks.
fn replay_target(
    config: &crate::config::Config,
    target: &ReplayTarget,
    check: Option<crate::finding::Check>,
    today: crate::date::Day,
) -> Result<i32, CliError> {
    let hosting = hosting(config.run.isolation, Some(&config.run), 1);
    let replayed = run::replay(config, target, check, today, &hosting)?;
    print(&replayed, &config.waivers, today);
    Ok(if replayed.blocks() {
        exit::INCOMPATIBLE
    } else {
        exit::GO
    })
}

/// `replay --report PATH --finding ID`: everything from the report: the
/// group's example case (the shrunk one, as shown) and check, the run's
/// config (unless `--config` names another) and the day it judged waivers
/// on (unless `--today`).
fn from_report(
    config_path: Option<&Path>,
    report: &Path,
    id: &str,
    args: &ReplayArgs,
) -> Result<i32, CliError> {
    let result = crate::report::read_json(report).map_err(|e| CliError::Usage(e.to_string()))?;
    let groups = result.aggregate.groups();
    let Some(group) = groups.values().find(|g| g.id == id) else {
        let ids: Vec<&str> = groups.values().map(|g| g.id.as_str()).collect();
        return Err(CliError::Usage(format!(
            "{}: no finding {id:?}; its findings are {}",
            report.display(),
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.join(", ")
            }
        )));
    };
    let config_file = config_path.map_or_else(
        || Path::new(&result.meta.config).to_path_buf(),
        Path::to_path_buf,
    );
    let config = require_config(Some(&config_file))?;
    if config.sha256 != result.meta.config_sha256 {
        errln!(
            "warning: {} changed since the run that wrote {} (its SHA-256 differs)",
            config_file.display(),
            report.display()
        );
    }
    // The example the reports show: the shrunk one when shrinking ran.
    let example = crate::report::model::example(group);
    let target = match (&example.source, &example.entitlement) {
        (Source::Random { .. }, Some(e)) if group.shrunk.is_some() => {
            ReplayTarget::Entitlement(e.clone())
        }
        (Source::Random { seed, index }, _) => ReplayTarget::Random {
            seed: *seed,
            index: *index,
        },
        (Source::Vector { id, .. }, _) => ReplayTarget::Vector(id.clone()),
        (Source::Steered { .. } | Source::Order { .. }, Some(e)) => {
            ReplayTarget::Entitlement(e.clone())
        }
        _ => {
            return Err(CliError::Usage(format!(
                "finding {id} is not a case to replay; run: {}",
                group.replay
            )));
        }
    };
    errln!("replaying {id} ({}) from {}", group.key, report.display());
    let today = args.today.unwrap_or(result.meta.today);
    replay_target(
        &config,
        &target,
        args.check.or(Some(group.key.check)),
        today,
    )
}

fn print(replayed: &Replayed, waivers: &[crate::waiver::Waiver], today: crate::date::Day) {
    match replayed {
        Replayed::KeyVector { vector: k, outcome } => {
            outln!("vector {} ({}:{}): {}", k.id, k.file, k.line, k.comment);
            for (system, passed) in &outcome.observations {
                outln!(
                    "  {system}: {}",
                    if *passed { "as expected" } else { "FAILED" }
                );
            }
            for f in &outcome.findings {
                outln!(
                    "{}\n  expected: {}\n  found:    {}",
                    f.key,
                    f.expected,
                    f.found
                );
            }
        }
        Replayed::Case {
            case,
            observations,
            findings,
        } => {
            outln!("case {}: {}", case.id, case.entitlement);
            if findings.is_empty() {
                outln!("no findings ({observations} observations)");
                return;
            }
            for (f, decision) in findings {
                outln!("{}", f.key);
                if let Some(k) = &f.license_key {
                    outln!("  key:      {k}");
                }
                if let Some(c) = &f.context {
                    outln!(
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
                outln!("  expected: {}", f.expected);
                outln!("  found:    {}", f.found);
                match *decision {
                    WaiverDecision::Waived(i) => {
                        let w = &waivers[i];
                        outln!(
                            "  waived:   {} (owner {}, until {})",
                            w.ticket,
                            w.owner,
                            w.expires
                        );
                    }
                    WaiverDecision::Expired(i) => {
                        let w = &waivers[i];
                        outln!(
                            "  waiver {} expired on {}: this finding blocks again",
                            w.ticket,
                            w.expires
                        );
                    }
                    WaiverDecision::Unwaived => {}
                }
            }
            let total = findings.len();
            let unwaived = findings.iter().filter(|(_, d)| d.blocks()).count();
            outln!(
                "{total} finding{}, {unwaived} not waived (waivers judged on {today})",
                if total == 1 { "" } else { "s" }
            );
        }
    }
}
