//! `keycompat replay`: re-runs one case from a finding's replay command and
//! prints what it finds, judged (waivers included) as the run judged it.

use super::output::outln;
use std::path::Path;

use super::args::ReplayArgs;
use super::error::CliError;
use super::setup::{hosting, require_config, today_utc};
use crate::entitlement::Entitlement;
use crate::exit;
use crate::run::{self, ReplayTarget, Replayed, WaiverDecision};

pub(super) fn replay(config_path: Option<&Path>, args: ReplayArgs) -> Result<i32, CliError> {
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
    let hosting = hosting(config.run.isolation, Some(config.run.timeout), 1);
    let replayed = run::replay(&config, &target, args.check, today, &hosting)?;
    print(&replayed, &config.waivers, today);
    Ok(if replayed.blocks() {
        exit::INCOMPATIBLE
    } else {
        exit::GO
    })
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
