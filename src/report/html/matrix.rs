//! The matrices by check: one grid per check, systems that issued keys
//! down the side, systems and shipped releases that validated them across
//! the top, each cell passing, failing, waived or not exercised. The detail
//! behind the compatibility grid ([`super::grid`]), whose cells are these
//! cells summed over the checks; a failing cell has the colour of its worst
//! unwaived severity, as in the grid.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::page::{ColumnView, arrow, column};
use crate::finding::Check;
use crate::report::grid;
use crate::report::model::{self, CellState, CellView, system_rank};
use crate::run::RunResult;

/// What each check proves, in a release manager's words (README, "What it does").
fn check_blurb(c: Check) -> &'static str {
    match c {
        Check::Vector => "shared test vectors: exact keys, verdicts and decodes",
        Check::Roundtrip => "each system validates its own keys and decodes what it encoded",
        Check::Backward => "keys the old system issued validate in the new system, same decode",
        Check::Forward => {
            "keys the new system issues validate in every shipped release the entitlement covers"
        }
        Check::Rollback => "keys the new system issues validate in the old system",
        Check::Parity => "implementations of one format issue byte-identical keys",
        Check::Tamper => {
            "mutated keys, and keys shown to another product, version or host, get the same accept or reject from old and new"
        }
        Check::Time => "verdicts agree on days around every expiry boundary",
        Check::Env => {
            "validators in child processes answer the same under other time zones, locales and calendars as in keycompat's own environment"
        }
    }
}

#[derive(Serialize)]
struct CellHtml {
    class: &'static str,
    pass: u64,
    fail: u64,
    skipped: u64,
    word: String,
    title: String,
}

#[derive(Serialize)]
struct RowView {
    generator: String,
    cells: Vec<Option<CellHtml>>,
}

#[derive(Serialize)]
pub(super) struct MatrixView {
    check: String,
    anchor: &'static str,
    blurb: &'static str,
    columns: Vec<ColumnView>,
    rows: Vec<RowView>,
}

fn cell_html(cell: &CellView<'_>) -> CellHtml {
    let state = cell.state();
    let tickets: Vec<&str> = cell
        .waived
        .iter()
        .filter_map(|g| g.waived_by.as_deref())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let word = match state {
        CellState::Pass => "pass".to_string(),
        // Failures another check's cell reports (one answer, one finding).
        CellState::Fail if cell.unwaived.is_empty() => "reported with another check".to_string(),
        CellState::Fail => format!(
            "{} unwaived",
            cell.unwaived.iter().map(|g| g.count).sum::<u64>()
        ),
        CellState::Waived => format!("waived {}", tickets.join(", ")),
        CellState::Idle => "not exercised".to_string(),
    };
    let mut title = format!("{} {}", cell.check, arrow(&cell.pair()));
    match cell.unwaived.first() {
        Some(top) => title.push_str(&format!(": {}", top.key.cause)),
        None if state == CellState::Fail => {
            title.push_str(&format!(": each failure is {}", model::REPORTED_ELSEWHERE));
        }
        None => {}
    }
    let colour = grid::summarise(cell.generator, cell.validator, vec![cell]).state;
    CellHtml {
        class: colour.class(),
        pass: cell.tally.pass,
        fail: cell.tally.fail,
        skipped: cell.tally.skipped,
        word,
        title,
    }
}

pub(super) fn matrices(r: &RunResult, cells: &[CellView<'_>]) -> Vec<MatrixView> {
    let mut by_check: BTreeMap<Check, Vec<&CellView<'_>>> = BTreeMap::new();
    for c in cells {
        by_check.entry(c.check).or_default().push(c);
    }
    by_check
        .into_iter()
        .map(|(check, cells)| {
            let mut gens: Vec<&str> = cells.iter().map(|c| c.generator).collect();
            gens.sort_by_key(|g| system_rank(r, Some(g)));
            gens.dedup();
            let mut vals: Vec<Option<&str>> = cells.iter().map(|c| c.validator).collect();
            vals.sort_by_key(|v| system_rank(r, *v));
            vals.dedup();
            let columns = vals.iter().map(|v| column(r, *v)).collect();
            let rows = gens
                .iter()
                .map(|g| RowView {
                    generator: g.to_string(),
                    cells: vals
                        .iter()
                        .map(|v| {
                            cells
                                .iter()
                                .find(|c| c.generator == *g && c.validator == *v)
                                .map(|c| cell_html(c))
                        })
                        .collect(),
                })
                .collect();
            MatrixView {
                check: check.to_string(),
                anchor: check.as_str(),
                blurb: check_blurb(check),
                columns,
                rows,
            }
        })
        .collect()
}
