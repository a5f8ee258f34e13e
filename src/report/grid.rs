//! The compatibility grid: the whole migration in one picture, one cell per
//! pair of systems (who issued the key, who validated it) over every check,
//! showing the worst unwaived finding, or that all findings are waived, that
//! everything passed, or that the pair was never exercised.
//!
//! It exists so a release manager sees at a glance where the migration
//! hurts without reading one matrix per check. It is built only from the
//! per-check [`CellView`]s the matrices by check show, so the two can never
//! disagree: a pair fails exactly when one of its checks' cells fails, is
//! waived exactly when none fails and one is waived, passes when none
//! fails or is waived and one passed. "Worst" is the order of
//! [`Severity::ALL`].
//!
//! The HTML and the Markdown report both draw the grid from here and add no
//! rule of their own; this module decides nothing about the run either (the
//! findings come judged and waived), it only summarises.

use std::collections::BTreeSet;

use crate::finding::{Check, Severity};
use crate::report::model::{self, CellState, CellView};
use crate::run::RunResult;

/// What a pair shows over every check (or a single check's cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairState {
    /// Unwaived findings: the worst severity among them and how many
    /// findings have it. `worst` is `None` only when failed observations
    /// came without a finding group (a report merged from partial shards).
    Unwaived {
        /// The worst severity, in the order of [`Severity::ALL`].
        worst: Option<Severity>,
        /// How many unwaived findings have it.
        count: u64,
    },
    /// Findings, every one covered by a waiver.
    Waived {
        /// How many findings.
        count: u64,
    },
    /// Observations made, none with a finding.
    Pass {
        /// How many observations.
        observations: u64,
    },
    /// Nothing observed: no check paired these systems, or it only skipped.
    NotExercised,
}

impl PairState {
    /// The CSS class of the cell: the worst severity of unwaived findings
    /// (`outage`, `leak`, ...), `fail` when that is unknown, `waived`,
    /// `pass` or `idle`. The legend's keys.
    pub(crate) fn class(self) -> &'static str {
        match self {
            PairState::Unwaived { worst: Some(s), .. } => s.as_str(),
            PairState::Unwaived { worst: None, .. } => "fail",
            PairState::Waived { .. } => "waived",
            PairState::Pass { .. } => "pass",
            PairState::NotExercised => "idle",
        }
    }

    /// The state in one word: the severity, `waived`, `pass` or
    /// `not exercised`.
    pub(crate) fn word(self) -> &'static str {
        match self {
            PairState::NotExercised => "not exercised",
            other => other.class(),
        }
    }

    /// The number the cell shows next to its word: findings of the worst
    /// severity, waived findings or passing observations.
    pub(crate) fn count(self) -> Option<u64> {
        match self {
            PairState::Unwaived { count, .. } | PairState::Waived { count } => Some(count),
            PairState::Pass { observations } => Some(observations),
            PairState::NotExercised => None,
        }
    }

    /// `outage 12`, `waived 1,920`, `pass 27,838`, `not exercised`.
    pub(crate) fn label(self) -> String {
        match self.count() {
            Some(n) => format!("{} {}", self.word(), model::count(n)),
            None => self.word().to_string(),
        }
    }

    /// The colour of a per-check cell this state corresponds to.
    pub(crate) fn cell_state(self) -> CellState {
        match self {
            PairState::Unwaived { .. } => CellState::Fail,
            PairState::Waived { .. } => CellState::Waived,
            PairState::Pass { .. } => CellState::Pass,
            PairState::NotExercised => CellState::Idle,
        }
    }
}

/// How bad a per-check state is, for taking the worst of a pair's cells.
fn badness(s: CellState) -> u8 {
    match s {
        CellState::Fail => 3,
        CellState::Waived => 2,
        CellState::Pass => 1,
        CellState::Idle => 0,
    }
}

/// One (generator, validator) pair over the checks that paired them.
#[derive(Debug)]
pub(crate) struct Pair<'c, 'a> {
    /// The system (or export) that issued the keys.
    pub(crate) generator: &'a str,
    /// The system or release that validated them; `None` for what a
    /// system does alone (vectors, refusals).
    pub(crate) validator: Option<&'a str>,
    /// What the cell shows.
    pub(crate) state: PairState,
    /// Unwaived findings of severities other than the worst.
    pub(crate) other_unwaived: u64,
    /// The per-check cells behind it, in check order.
    pub(crate) cells: Vec<&'c CellView<'a>>,
}

impl Pair<'_, '_> {
    /// The checks that gave the pair its state: those whose own cell is in
    /// the state the pair shows (for a failing pair, the checks that fail).
    pub(crate) fn deciding_checks(&self) -> Vec<Check> {
        let state = self.state.cell_state();
        self.cells
            .iter()
            .filter(|c| c.state() == state)
            .map(|c| c.check)
            .collect()
    }

    /// One line per check, e.g. `TIME: outage 987` or `ROLLBACK: waived
    /// 1,920 (EMS-1043)`, for a tooltip that says everything behind the
    /// cell.
    pub(crate) fn check_lines(&self) -> Vec<String> {
        self.cells
            .iter()
            .map(|c| {
                let one = summarise(c.generator, c.validator, vec![c]);
                let mut line = format!("{}: {}", c.check, one.state.label());
                if one.other_unwaived > 0 {
                    line.push_str(&format!(" (+{} other)", model::count(one.other_unwaived)));
                }
                let tickets = tickets(c);
                if !tickets.is_empty() {
                    line.push_str(&format!(" ({})", tickets.join(", ")));
                }
                if c.tally.skipped > 0 {
                    line.push_str(&format!(", {} skipped", model::count(c.tally.skipped)));
                }
                line
            })
            .collect()
    }
}

/// The waivers (tickets) that cover a cell's findings, each once.
fn tickets<'a>(c: &CellView<'a>) -> Vec<&'a str> {
    c.waived
        .iter()
        .filter_map(|g| g.waived_by.as_deref())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The pair of `generator` and `validator` over `cells` (theirs, any
/// checks; none for a pair no check paired).
pub(crate) fn summarise<'c, 'a>(
    generator: &'a str,
    validator: Option<&'a str>,
    cells: Vec<&'c CellView<'a>>,
) -> Pair<'c, 'a> {
    let worst_cell = cells.iter().map(|c| c.state()).max_by_key(|s| badness(*s));
    let unwaived = || cells.iter().flat_map(|c| c.unwaived.iter());
    let (state, other_unwaived) = match worst_cell {
        Some(CellState::Fail) => {
            let worst = Severity::ALL
                .into_iter()
                .find(|s| unwaived().any(|g| g.key.severity == *s));
            let total: u64 = unwaived().map(|g| g.count).sum();
            match worst {
                Some(s) => {
                    let count = unwaived()
                        .filter(|g| g.key.severity == s)
                        .map(|g| g.count)
                        .sum();
                    (
                        PairState::Unwaived {
                            worst: Some(s),
                            count,
                        },
                        total - count,
                    )
                }
                None => {
                    let count = cells
                        .iter()
                        .filter(|c| c.state() == CellState::Fail)
                        .map(|c| c.tally.fail)
                        .sum();
                    (PairState::Unwaived { worst: None, count }, 0)
                }
            }
        }
        Some(CellState::Waived) => {
            let count = cells.iter().flat_map(|c| &c.waived).map(|g| g.count).sum();
            (PairState::Waived { count }, 0)
        }
        Some(CellState::Pass) => {
            let observations = cells.iter().map(|c| c.tally.pass).sum();
            (PairState::Pass { observations }, 0)
        }
        Some(CellState::Idle) | None => (PairState::NotExercised, 0),
    };
    Pair {
        generator,
        validator,
        state,
        other_unwaived,
        cells,
    }
}

/// The grid: systems that issued keys down the side, systems and releases
/// that validated them across the top, every pair a cell.
#[derive(Debug)]
pub(crate) struct Grid<'c, 'a> {
    /// The rows: every generator of a cell, old and new first
    /// ([`model::system_rank`]).
    pub(crate) generators: Vec<&'a str>,
    /// The columns: every validator of a cell, in the same order, releases
    /// after systems and "none" (what a system does alone) last.
    pub(crate) validators: Vec<Option<&'a str>>,
    /// `rows[i][j]` is `generators[i]` x `validators[j]`.
    pub(crate) rows: Vec<Vec<Pair<'c, 'a>>>,
}

/// The grid of a run's cells ([`model::cells`]).
pub(crate) fn grid<'c, 'a>(r: &RunResult, cells: &'c [CellView<'a>]) -> Grid<'c, 'a> {
    let mut generators: Vec<&'a str> = cells.iter().map(|c| c.generator).collect();
    generators.sort_by_key(|g| model::system_rank(r, Some(g)));
    generators.dedup();
    let mut validators: Vec<Option<&'a str>> = cells.iter().map(|c| c.validator).collect();
    validators.sort_by_key(|v| model::system_rank(r, *v));
    validators.dedup();
    let rows = generators
        .iter()
        .map(|g| {
            validators
                .iter()
                .map(|v| {
                    let mine = cells
                        .iter()
                        .filter(|c| c.generator == *g && c.validator == *v)
                        .collect();
                    summarise(g, *v, mine)
                })
                .collect()
        })
        .collect();
    Grid {
        generators,
        validators,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Tally;
    use crate::finding::{Finding, Group, GroupKey, Source};

    fn group(check: Check, severity: Severity, count: u64, waiver: Option<&str>) -> Group {
        let key = GroupKey {
            check,
            severity,
            generator: "new".into(),
            validator: Some("old".into()),
            cause: format!("{check} {severity}"),
        };
        Group {
            id: key.id(),
            count,
            example: Finding {
                key: key.clone(),
                case_id: "c".into(),
                source: Source::Random { seed: 1, index: 0 },
                entitlement: None,
                license_key: None,
                context: None,
                expected: String::new(),
                found: String::new(),
                validation: None,
                diffs: Vec::new(),
                old_refused: None,
                avoidable: None,
            },
            key,
            shrunk: None,
            unreproduced: false,
            replay: String::new(),
            waived_by: waiver.map(String::from),
        }
    }

    fn cell<'a>(check: Check, pass: u64, skipped: u64, groups: &'a [Group]) -> CellView<'a> {
        let fail = groups.iter().map(|g| g.count).sum();
        CellView {
            check,
            generator: "new",
            validator: Some("old"),
            tally: Tally {
                pass,
                fail,
                skipped,
            },
            unwaived: groups.iter().filter(|g| g.waived_by.is_none()).collect(),
            waived: groups.iter().filter(|g| g.waived_by.is_some()).collect(),
        }
    }

    #[test]
    fn the_worst_unwaived_severity_wins_in_the_order_of_severity_all() {
        // Drift sorts before crash as an enum, but a crash is worse.
        let drift = [group(Check::Roundtrip, Severity::Drift, 5, None)];
        let crash = [
            group(Check::Tamper, Severity::Crash, 2, None),
            group(Check::Tamper, Severity::Crash, 1, None),
        ];
        let waived = [group(Check::Rollback, Severity::Outage, 100, Some("T-1"))];
        let cells = [
            cell(Check::Roundtrip, 10, 0, &drift),
            cell(Check::Rollback, 0, 0, &waived),
            cell(Check::Tamper, 7, 0, &crash),
        ];
        let pair = summarise("new", Some("old"), cells.iter().collect());
        assert_eq!(
            pair.state,
            PairState::Unwaived {
                worst: Some(Severity::Crash),
                count: 3
            }
        );
        assert_eq!(pair.other_unwaived, 5);
        assert_eq!(pair.state.label(), "crash 3");
        assert_eq!(pair.deciding_checks(), [Check::Roundtrip, Check::Tamper]);
        assert_eq!(
            pair.check_lines(),
            [
                "ROUNDTRIP: drift 5",
                "ROLLBACK: waived 100 (T-1)",
                "TAMPER: crash 3"
            ]
        );
    }

    #[test]
    fn waived_only_when_every_finding_is_waived_and_pass_counts_observations() {
        let waived = [group(Check::Forward, Severity::Outage, 1_920, Some("T-1"))];
        let cells = [
            cell(Check::Forward, 30, 0, &waived),
            cell(Check::Env, 9_477, 0, &[]),
        ];
        let pair = summarise("new", Some("old"), cells.iter().collect());
        assert_eq!(pair.state, PairState::Waived { count: 1_920 });
        assert_eq!(pair.state.label(), "waived 1,920");
        assert_eq!(pair.deciding_checks(), [Check::Forward]);

        let pass = summarise("new", Some("old"), cells[1..].iter().collect());
        assert_eq!(pass.state.label(), "pass 9,477");
    }

    #[test]
    fn a_pair_without_observations_is_not_exercised_never_pass() {
        let skipped = [cell(Check::Roundtrip, 0, 1_920, &[])];
        let pair = summarise("new", Some("old"), skipped.iter().collect());
        assert_eq!(pair.state, PairState::NotExercised);
        assert_eq!(pair.state.class(), "idle");
        assert_eq!(
            pair.check_lines(),
            ["ROUNDTRIP: not exercised, 1,920 skipped"]
        );
        let none = summarise("new", Some("old"), Vec::new());
        assert_eq!(none.state, PairState::NotExercised);
        assert_eq!(none.state.label(), "not exercised");
    }

    #[test]
    fn a_pair_is_as_bad_as_its_worst_check_cell() {
        let outage = [group(Check::Time, Severity::Outage, 1, None)];
        let waived = [group(Check::Forward, Severity::Leak, 1, Some("T"))];
        let all = [
            cell(Check::Roundtrip, 0, 3, &[]),
            cell(Check::Env, 4, 0, &[]),
            cell(Check::Forward, 0, 0, &waived),
            cell(Check::Time, 1, 0, &outage),
        ];
        // Every prefix: the pair's colour is the worst of its cells'.
        for n in 0..=all.len() {
            let pair = summarise("new", Some("old"), all[..n].iter().collect());
            let worst = all[..n]
                .iter()
                .map(|c| c.state())
                .max_by_key(|s| badness(*s))
                .unwrap_or(CellState::Idle);
            assert_eq!(pair.state.cell_state(), worst, "first {n} cells");
        }
    }
}
