//! Go-live gates: criteria with thresholds, evaluated to red, yellow or green.
//!
//! The built-in gates are the go-live criteria of a key migration: every
//! vector passes, no unwaived outage or leak, enough random cases without a
//! finding, every shipped release exercised, rollback tested. Users add
//! thresholds of their own in `[gates]`. A red gate makes `keycompat run`
//! exit 1; yellow (waivers in use, drift, an unused waiver) does not.
//!
//! A run's [`Scope`] decides which gates apply: `keycompat data` runs the
//! vendor's exports alone, so the gates on vectors, random cases, releases,
//! rollback and coverage would only say it did not do what it never set out
//! to do.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::finding::{Check, Severity};
use crate::history::config::HistoryGates;
use crate::volume::config::VolumeGates;
use crate::words::{count, counted, percent};

/// What a run set out to prove, and so which gates judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// `keycompat run`: vectors, random and steered cases, and the exports.
    #[default]
    Full,
    /// `keycompat data`: the field-key and order exports only.
    Data,
}

/// A gate's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Met.
    Green,
    /// Met with waivers or warnings.
    Yellow,
    /// Not met: blocks go-live.
    Red,
    /// Only a run's verdict, never a gate's: the run was cut short (Ctrl-C,
    /// SIGTERM), so its partial results support neither GO nor NO-GO.
    Interrupted,
}

impl Status {
    /// A run's verdict as reports title it: `GO`, `GO with warnings`,
    /// `NO-GO`, `INTERRUPTED: no verdict`.
    pub fn verdict_title(self) -> &'static str {
        match self {
            Status::Green => "GO",
            Status::Yellow => "GO with warnings",
            Status::Red => "NO-GO",
            Status::Interrupted => "INTERRUPTED: no verdict",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Green => "green",
            Status::Yellow => "yellow",
            Status::Red => "red",
            Status::Interrupted => "interrupted",
        })
    }
}

fn default_min_cases() -> u64 {
    100_000
}

/// `[gates]` in `keycompat.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatesConfig {
    /// Random cases a run needs, without a finding, to be green.
    #[serde(default = "default_min_cases")]
    pub min_random_cases: u64,
    /// Share of the field-key export that must be validated by both
    /// systems, in percent (when `[sources.field_keys]` is configured).
    #[serde(default = "default_min_share")]
    pub min_field_keys_percent: u32,
    /// Share of the order export that must run through both systems with no
    /// unwaived finding, in percent (when `[sources.orders]` is configured).
    #[serde(default = "default_min_share")]
    pub min_orders_percent: u32,
    /// Scenario coverage the run must reach over all dimensions, in percent.
    #[serde(default)]
    pub min_coverage_percent: u32,
    /// The colour of the gate on finding groups new (or no longer waived)
    /// since the baseline, when a run is given one (`--baseline`): `yellow`
    /// (default) or `red`, which fails the run.
    #[serde(default = "default_new_since_baseline")]
    pub new_since_baseline: Status,
    /// Share of the applicable defect injectors `keycompat selftest` must
    /// see caught, in percent; absent: no gate (a plain `run` never
    /// evaluates it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_detection_percent: Option<u32>,
    /// User-defined thresholds.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// `[gates.history]`: criteria over the run history (two weeks of
    /// dual-run, field keys across runs, no red days).
    #[serde(default, skip_serializing_if = "HistoryGates::is_default")]
    pub history: HistoryGates,
    /// `[gates.volume]`: the go-live peak the new system must carry, judged
    /// on `keycompat bench` figures.
    #[serde(default, skip_serializing_if = "VolumeGates::is_default")]
    pub volume: VolumeGates,
}

fn default_new_since_baseline() -> Status {
    Status::Yellow
}

/// The go-live criteria this project is built around: 10 % of real data.
fn default_min_share() -> u32 {
    10
}

impl Default for GatesConfig {
    fn default() -> Self {
        GatesConfig {
            min_random_cases: default_min_cases(),
            min_field_keys_percent: default_min_share(),
            min_orders_percent: default_min_share(),
            min_coverage_percent: 0,
            new_since_baseline: default_new_since_baseline(),
            min_detection_percent: None,
            thresholds: Vec::new(),
            history: HistoryGates::default(),
            volume: VolumeGates::default(),
        }
    }
}

impl GatesConfig {
    /// Checks thresholds; the error names the field.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (field, v) in [
            ("min_field_keys_percent", self.min_field_keys_percent),
            ("min_orders_percent", self.min_orders_percent),
            ("min_coverage_percent", self.min_coverage_percent),
            (
                "min_detection_percent",
                self.min_detection_percent.unwrap_or(0),
            ),
        ] {
            if v > 100 {
                return Err((field.into(), format!("{v} is not a percentage (0 to 100)")));
            }
        }
        if !matches!(self.new_since_baseline, Status::Red | Status::Yellow) {
            return Err((
                "new_since_baseline".into(),
                "must be \"red\" or \"yellow\"".into(),
            ));
        }
        self.history
            .check()
            .map_err(|(field, m)| (format!("history.{field}"), m))?;
        self.volume
            .check()
            .map_err(|(field, m)| match field.as_str() {
                "" => ("volume".to_string(), m),
                _ => (format!("volume.{field}"), m),
            })?;
        for (i, t) in self.thresholds.iter().enumerate() {
            if t.name.trim().is_empty() {
                return Err((format!("thresholds[{i}].name"), "must not be empty".into()));
            }
            if let Some(j) = self.thresholds[..i].iter().position(|o| o.name == t.name) {
                return Err((
                    format!("thresholds[{i}].name"),
                    format!(
                        "{:?} is also the name of thresholds[{j}]: reports tell gates apart by name; \
                         hint: give each threshold its own name",
                        t.name
                    ),
                ));
            }
            if t.level == Status::Green {
                return Err((
                    format!("thresholds[{i}].level"),
                    "must be \"red\" or \"yellow\"".into(),
                ));
            }
        }
        Ok(())
    }
}

fn default_level() -> Status {
    Status::Red
}

/// A user-defined gate: at most `max` unwaived findings of a severity and/or check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The gate's name in reports.
    pub name: String,
    /// Count only findings of this severity.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Count only findings of this check.
    #[serde(default)]
    pub check: Option<Check>,
    /// The most findings allowed.
    pub max: u64,
    /// The colour when exceeded: `red` (default) or `yellow`.
    #[serde(default = "default_level")]
    pub level: Status,
}

/// One evaluated gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// The gate's name.
    pub name: String,
    /// Its colour.
    pub status: Status,
    /// The criterion, in words.
    pub criterion: String,
    /// What the run measured, in words.
    pub measured: String,
}

/// What the gates look at, gathered by the run.
#[derive(Debug, Clone, Default)]
pub struct GateInputs {
    /// What the run set out to prove.
    pub scope: Scope,
    /// Systems that gave up mid-run, each in words (who, where, after how
    /// many cases, why): the run stopped, so it is incomplete.
    pub gave_up: Vec<String>,
    /// Shards missing from a partial merge (`k/n`).
    pub missing_shards: Vec<String>,
    /// Vector checks plus vector cases run, and failed (unwaived).
    pub vectors: (u64, u64),
    /// Of `vectors`, the vector checks (one vector against one system); the
    /// rest are vector cases (a vector or regression through the matrix).
    pub vector_checks: u64,
    /// Checks of the matrix switched off (`--checks`, `[run] checks`).
    pub checks_off: Vec<Check>,
    /// The old and new systems and the release validators ENV ran for but
    /// could not ask under other environments (in keycompat's own process:
    /// a builtin, `--isolation none`).
    pub env_unchecked: Vec<String>,
    /// Random cases run.
    pub random_cases: u64,
    /// Random cases with at least one unwaived finding.
    pub random_cases_failing: u64,
    /// Unwaived findings as (check, severity, count).
    pub unwaived: Vec<(Check, Severity, u64)>,
    /// Waived findings.
    pub waived: u64,
    /// Shipped releases and how many FORWARD validations each got.
    pub releases: Vec<(String, u64)>,
    /// ROLLBACK validations performed.
    pub rollback_validations: u64,
    /// Waivers that matched nothing (cells that now pass).
    pub unused_waivers: u64,
    /// Expired waivers that would have matched findings.
    pub expired_waivers_hit: u64,
    /// The field-key export: (rows, keys validated by both, with a finding).
    pub field_keys: Option<(u64, u64, u64)>,
    /// The order export: (rows, orders run, with a finding).
    pub orders: Option<(u64, u64, u64)>,
    /// Scenario coverage over all dimensions, in percent.
    pub coverage_percent: Option<f64>,
}

impl GateInputs {
    fn unwaived_count(&self, severity: Option<Severity>, check: Option<Check>) -> u64 {
        self.unwaived
            .iter()
            .filter(|(c, s, _)| severity.is_none_or(|x| x == *s) && check.is_none_or(|x| x == *c))
            .map(|(_, _, n)| n)
            .sum()
    }
}

/// The name of the gate that a system which gave up mid-run turns red
/// (present only then, like the gate on missing shards).
pub const GAVE_UP_GATE: &str = "no system gave up";

/// The name of the gate on [`GatesConfig::min_coverage_percent`].
pub const COVERAGE_GATE: &str = "scenario coverage";

/// Evaluates the built-in gates and the user's thresholds.
pub fn evaluate(config: &GatesConfig, i: &GateInputs) -> Vec<Gate> {
    let mut gates = Vec::new();
    let mut gate = |name: &str, status, criterion: String, measured: String| {
        gates.push(Gate {
            name: name.into(),
            status,
            criterion,
            measured,
        })
    };
    if !i.gave_up.is_empty() {
        gate(
            GAVE_UP_GATE,
            Status::Red,
            "every system answered until the run's end (one that fails every call until its \
             restarts run out stops the run: the report is incomplete, never GO)"
                .into(),
            format!("incomplete: {}", i.gave_up.join("; ")),
        );
    }
    if !i.missing_shards.is_empty() {
        gate(
            "all shards merged",
            Status::Red,
            "every shard of the run is merged (a partial merge is never GO)".into(),
            format!("partial: shards {} missing", i.missing_shards.join(", ")),
        );
    }
    let share_of = |n: u64, of: u64| {
        if of == 0 {
            0.0
        } else {
            100.0 * n as f64 / of as f64
        }
    };
    if let Some((rows, run, failing)) = i.field_keys {
        let share = share_of(run, rows);
        gate(
            "field keys validated",
            if share >= f64::from(config.min_field_keys_percent) && failing == 0 {
                Status::Green
            } else {
                Status::Red
            },
            format!(
                "at least {} % of the field-key export validated by old and new, identically",
                config.min_field_keys_percent
            ),
            format!(
                "{} of {} validated ({}; {} % required), {} behave differently",
                count(run),
                counted(rows, "key"),
                percent(share),
                config.min_field_keys_percent,
                count(failing)
            ),
        );
    }
    if let Some((rows, run, failing)) = i.orders {
        let clean = share_of(run - failing.min(run), rows);
        gate(
            "orders dual-run",
            if clean >= f64::from(config.min_orders_percent) {
                Status::Green
            } else {
                Status::Red
            },
            format!(
                "at least {} % of the order export through both systems with no unwaived finding",
                config.min_orders_percent
            ),
            format!(
                "{} of {} run, {} with findings: {} clean ({} % required)",
                count(run),
                counted(rows, "order"),
                count(failing),
                percent(clean),
                config.min_orders_percent
            ),
        );
    }
    if let (Some(c), Scope::Full) = (i.coverage_percent, i.scope) {
        gate(
            COVERAGE_GATE,
            if c >= f64::from(config.min_coverage_percent) {
                Status::Green
            } else {
                Status::Red
            },
            format!(
                "at least {} % of the entitlement space's values and pairs covered",
                config.min_coverage_percent
            ),
            format!(
                "{} covered ({} % required)",
                percent(c),
                config.min_coverage_percent
            ),
        );
    }
    let full = i.scope == Scope::Full;
    let (vectors_run, vectors_failed) = i.vectors;
    if full {
        // The migration's promises (old keys in the new system, new keys in
        // old and shipped validators) are ROUNDTRIP, BACKWARD, FORWARD and
        // ROLLBACK: without one of them a run proves no go-live. The others
        // hunt leaks and environment faults: without them, a warning.
        let core = [
            Check::Roundtrip,
            Check::Backward,
            Check::Forward,
            Check::Rollback,
        ];
        let off = |c: &&Check| i.checks_off.contains(c);
        let core_off: Vec<&Check> = core.iter().filter(off).collect();
        gate(
            "every check",
            if !core_off.is_empty() {
                Status::Red
            } else if !i.checks_off.is_empty() || !i.env_unchecked.is_empty() {
                Status::Yellow
            } else {
                Status::Green
            },
            "every check of the matrix ran (a go-live proof needs ROUNDTRIP, BACKWARD, FORWARD and ROLLBACK)".into(),
            {
                let mut measured = if i.checks_off.is_empty() {
                    "all ran".to_string()
                } else {
                    format!(
                        "not run: {}",
                        i.checks_off
                            .iter()
                            .map(Check::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                if !i.env_unchecked.is_empty() {
                    measured.push_str(&format!(
                        "; ENV could not ask {} (in keycompat's own process)",
                        i.env_unchecked.join(", ")
                    ));
                }
                measured
            },
        );
        gate(
            "vectors",
            if vectors_failed == 0 && vectors_run > 0 {
                Status::Green
            } else {
                Status::Red
            },
            "every vector check and vector case passes (and at least one ran)".into(),
            format!(
                "{} of {} failed ({}, {})",
                count(vectors_failed),
                count(vectors_run),
                counted(i.vector_checks, "vector check"),
                counted(vectors_run.saturating_sub(i.vector_checks), "vector case")
            ),
        );
    }
    let outage = i.unwaived_count(Some(Severity::Outage), None);
    let leak = i.unwaived_count(Some(Severity::Leak), None);
    let waived_note = if i.expired_waivers_hit > 0 {
        format!(
            "; {} under expired waivers",
            counted(i.expired_waivers_hit, "finding")
        )
    } else {
        String::new()
    };
    gate(
        "no outage or leak",
        if outage + leak > 0 {
            Status::Red
        } else if i.waived > 0 {
            Status::Yellow
        } else {
            Status::Green
        },
        "zero unwaived outage or leak findings".into(),
        format!(
            "{} and {} unwaived; {} waived{waived_note}",
            counted(outage, "outage"),
            counted(leak, "leak"),
            counted(i.waived, "finding")
        ),
    );
    let crash_error = i.unwaived_count(Some(Severity::Crash), None)
        + i.unwaived_count(Some(Severity::Error), None);
    gate(
        "no crash or error",
        if crash_error > 0 {
            Status::Red
        } else {
            Status::Green
        },
        "no implementation crashed and the harness raised no error".into(),
        // Crashes and errors are never waived (a waiver covers an
        // incompatibility, not a failure to answer).
        counted(crash_error, "crash or error finding"),
    );
    let drift = i.unwaived_count(Some(Severity::Drift), None);
    gate(
        "no drift",
        if drift > 0 {
            Status::Yellow
        } else {
            Status::Green
        },
        "accepted keys decode to the same fields everywhere (warning only)".into(),
        format!("{} unwaived", counted(drift, "drift finding")),
    );
    if full {
        let clean = i.random_cases - i.random_cases_failing;
        // VECTOR alone judges no random case: a case no check looked at is
        // not clean.
        let judged = Check::ALL
            .into_iter()
            .any(|c| c != Check::Vector && !i.checks_off.contains(&c));
        gate(
            "random cases",
            if i.random_cases_failing > 0 || i.random_cases < config.min_random_cases || !judged {
                Status::Red
            } else {
                Status::Green
            },
            format!(
                "at least {} random cases, none with an unwaived finding",
                count(config.min_random_cases)
            ),
            if judged {
                format!(
                    "{} of the {} required, {} clean, {} with unwaived findings",
                    count(i.random_cases),
                    count(config.min_random_cases),
                    count(clean),
                    count(i.random_cases_failing)
                )
            } else {
                format!(
                    "{} run, none judged: every check of the matrix was off ({} required)",
                    counted(i.random_cases, "random case"),
                    count(config.min_random_cases)
                )
            },
        );
        let unexercised: Vec<&str> = i
            .releases
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(r, _)| r.as_str())
            .collect();
        gate(
            "shipped releases exercised",
            if unexercised.is_empty() {
                Status::Green
            } else {
                Status::Red
            },
            "every shipped release validated new-issued keys (FORWARD)".into(),
            {
                let all = i.releases.len() as u64;
                let exercised = all - unexercised.len() as u64;
                let mut m = format!(
                    "{} of {} exercised",
                    count(exercised),
                    counted(all, "release")
                );
                if !unexercised.is_empty() {
                    m.push_str(&format!("; not exercised: {}", unexercised.join(", ")));
                }
                m
            },
        );
        gate(
            "rollback tested",
            if i.rollback_validations > 0 {
                Status::Green
            } else {
                Status::Red
            },
            "new-issued keys were validated by the old system (ROLLBACK)".into(),
            format!(
                "{} (at least 1 required)",
                counted(i.rollback_validations, "rollback validation")
            ),
        );
    }
    // A data-only run touches few cells: unused waivers say nothing there.
    let unused_waivers = if full { i.unused_waivers } else { 0 };
    gate(
        "waivers current",
        if unused_waivers > 0 || i.expired_waivers_hit > 0 {
            Status::Yellow
        } else {
            Status::Green
        },
        "every waiver still matches a finding and none has expired".into(),
        if full {
            format!(
                "{}, {} under expired waivers",
                counted(i.unused_waivers, "unused waiver"),
                counted(i.expired_waivers_hit, "finding")
            )
        } else {
            format!(
                "{} under expired waivers (unused waivers are judged by a full run)",
                counted(i.expired_waivers_hit, "finding")
            )
        },
    );
    for t in &config.thresholds {
        let n = i.unwaived_count(t.severity, t.check);
        let what = match (t.severity, t.check) {
            (Some(s), Some(c)) => format!("{s} findings in {c}"),
            (Some(s), None) => format!("{s} findings"),
            (None, Some(c)) => format!("findings in {c}"),
            (None, None) => "findings".into(),
        };
        // A check that did not run found nothing because it looked for
        // nothing: under the limit, but not proof of it.
        let off = t.check.filter(|c| i.checks_off.contains(c));
        let mut measured = format!(
            "{} unwaived {what} (at most {} allowed)",
            count(n),
            count(t.max)
        );
        if let Some(c) = off {
            measured.push_str(&format!("; {c} did not run, so none were looked for"));
        }
        gate(
            &t.name,
            if n > t.max {
                t.level
            } else if off.is_some() {
                Status::Yellow
            } else {
                Status::Green
            },
            format!("at most {} unwaived {what}", count(t.max)),
            measured,
        );
    }
    gates
}

/// The name of the gate on [`GatesConfig::new_since_baseline`].
pub const BASELINE_GATE: &str = "nothing new since baseline";

/// The gate on a comparison with a baseline: finding groups with unwaived
/// findings now that had none in the baseline (new, or no longer waived),
/// by id, and how many groups were fixed.
pub fn since_baseline(
    config: &GatesConfig,
    file: &str,
    newly_unwaived: &[&str],
    fixed: u64,
) -> Gate {
    let n = newly_unwaived.len() as u64;
    let mut measured = format!("{} new or no longer waived", counted(n, "group"));
    if n > 0 {
        const SHOWN: usize = 5;
        let mut ids = newly_unwaived[..newly_unwaived.len().min(SHOWN)].join(", ");
        if newly_unwaived.len() > SHOWN {
            ids.push_str(&format!(" and {} more", count(n - SHOWN as u64)));
        }
        measured.push_str(&format!(" ({ids})"));
    }
    measured.push_str(&format!("; {} fixed", count(fixed)));
    Gate {
        name: BASELINE_GATE.into(),
        status: if n > 0 {
            config.new_since_baseline
        } else {
            Status::Green
        },
        criterion: format!(
            "no finding group with unwaived findings that had none in the baseline {file}"
        ),
        measured,
    }
}

/// The name of the gate on `keycompat selftest`'s detection score.
pub const DETECTION_GATE: &str = "detection power";

/// The gate on a selftest's detection score (`[gates]
/// min_detection_percent`): `caught` of `applicable` injectors. `None`
/// when the config sets no minimum.
pub fn detection(config: &GatesConfig, caught: u64, applicable: u64) -> Option<Gate> {
    let min = config.min_detection_percent?;
    let score = if applicable == 0 {
        100.0
    } else {
        caught as f64 * 100.0 / applicable as f64
    };
    Some(Gate {
        name: DETECTION_GATE.into(),
        status: if score + 1e-9 >= f64::from(min) {
            Status::Green
        } else {
            Status::Red
        },
        criterion: format!("at least {min} % of the applicable defect injectors caught"),
        measured: format!(
            "{} of {} caught ({})",
            count(caught),
            counted(applicable, "applicable injector"),
            percent(score)
        ),
    })
}

/// The overall verdict: the worst gate.
pub fn overall(gates: &[Gate]) -> Status {
    gates
        .iter()
        .map(|g| g.status)
        .max()
        .unwrap_or(Status::Green)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(gates: &[Gate]) -> Vec<&str> {
        gates.iter().map(|g| g.name.as_str()).collect()
    }

    fn inputs(scope: Scope) -> GateInputs {
        GateInputs {
            scope,
            missing_shards: Vec::new(),
            field_keys: Some((100, 100, 0)),
            orders: Some((100, 100, 0)),
            coverage_percent: Some(10.0),
            unused_waivers: 2,
            ..GateInputs::default()
        }
    }

    #[test]
    fn a_full_run_is_judged_on_everything_it_set_out_to_do() {
        let gates = evaluate(&GatesConfig::default(), &inputs(Scope::Full));
        let names = names(&gates);
        for want in [
            "vectors",
            "random cases",
            "rollback tested",
            "shipped releases exercised",
            COVERAGE_GATE,
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        // Nothing ran: the full-run gates say so.
        assert_eq!(overall(&gates), Status::Red);
        let waivers = gates.iter().find(|g| g.name == "waivers current");
        assert_eq!(waivers.map(|g| g.status), Some(Status::Yellow));
    }

    #[test]
    fn a_data_run_is_judged_by_the_data_and_finding_gates_only() {
        let gates = evaluate(&GatesConfig::default(), &inputs(Scope::Data));
        assert_eq!(
            names(&gates),
            [
                "field keys validated",
                "orders dual-run",
                "no outage or leak",
                "no crash or error",
                "no drift",
                "waivers current",
            ]
        );
        assert_eq!(overall(&gates), Status::Green, "{gates:#?}");
        let mut failing = inputs(Scope::Data);
        failing.unwaived = vec![(Check::Backward, Severity::Outage, 1)];
        failing.field_keys = Some((100, 100, 1));
        assert_eq!(
            overall(&evaluate(&GatesConfig::default(), &failing)),
            Status::Red
        );
    }

    #[test]
    fn the_every_check_gate_is_yellow_when_env_could_not_ask_old_or_new() {
        let every = |i: &GateInputs| {
            evaluate(&GatesConfig::default(), i)
                .into_iter()
                .find(|g| g.name == "every check")
                .expect("the gate")
        };
        let mut i = inputs(Scope::Full);
        let g = every(&i);
        assert_eq!((g.status, g.measured.as_str()), (Status::Green, "all ran"));
        i.env_unchecked = vec!["old".into(), "new".into()];
        let g = every(&i);
        assert_eq!(g.status, Status::Yellow);
        assert_eq!(
            g.measured,
            "all ran; ENV could not ask old, new (in keycompat's own process)"
        );
        i.checks_off = vec![Check::Rollback];
        assert_eq!(every(&i).status, Status::Red);
    }

    /// Gates on what a check found say so when the check did not run.
    #[test]
    fn nothing_found_by_a_check_that_did_not_run_is_not_green() {
        let config = GatesConfig {
            min_random_cases: 10,
            thresholds: vec![Threshold {
                name: "no parity drift".into(),
                severity: None,
                check: Some(Check::Parity),
                max: 0,
                level: Status::Red,
            }],
            ..GatesConfig::default()
        };
        let find = |i: &GateInputs, name: &str| {
            evaluate(&config, i)
                .into_iter()
                .find(|g| g.name == name)
                .expect("the gate")
        };
        let mut i = inputs(Scope::Full);
        i.random_cases = 20;
        assert_eq!(find(&i, "no parity drift").status, Status::Green);
        assert_eq!(find(&i, "random cases").status, Status::Green);
        i.checks_off = vec![Check::Parity];
        let g = find(&i, "no parity drift");
        assert_eq!(g.status, Status::Yellow);
        assert!(
            g.measured
                .ends_with("PARITY did not run, so none were looked for"),
            "{g:?}"
        );
        assert_eq!(find(&i, "random cases").status, Status::Green);
        // Only VECTOR on: the random cases ran, but nothing judged them.
        i.checks_off = Check::ALL
            .into_iter()
            .filter(|c| *c != Check::Vector)
            .collect();
        let g = find(&i, "random cases");
        assert_eq!(g.status, Status::Red);
        assert_eq!(
            g.measured,
            "20 random cases run, none judged: every check of the matrix was off (10 required)"
        );
    }
}
