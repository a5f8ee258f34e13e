//! The compatibility grid as the page shows it, right after the gates: one
//! table, generators down the side, validators across the top, each cell
//! coloured and labelled by [`crate::report::grid`]'s summary of its pair,
//! naming the checks behind it, with every check's result in its tooltip.
//!
//! Colour is never the only signal: every cell says its state in words,
//! and the legend pairs each colour with its word. The colours themselves
//! are the page's CSS variables, one per state, shared with the matrices by
//! check and the charts.

use serde::Serialize;

use super::page::{ColumnView, arrow, column};
use crate::report::grid::{self, Pair};
use crate::report::model::{self, CellView};
use crate::run::RunResult;

/// One legend entry: the class that colours it and what it means.
#[derive(Serialize)]
struct LegendItem {
    class: &'static str,
    word: &'static str,
    meaning: &'static str,
}

/// The states a cell can show, worst first, with the class of each: the
/// legend of the grid and of the matrices by check.
const LEGEND: [(&str, &str, &str); 8] = [
    (
        "outage",
        "outage",
        "unwaived: keys that must validate are rejected",
    ),
    (
        "leak",
        "leak",
        "unwaived: keys that must be rejected are accepted",
    ),
    (
        "crash",
        "crash",
        "unwaived: an implementation crashed or hung",
    ),
    ("error", "error", "unwaived: setup or harness failure"),
    (
        "drift",
        "drift",
        "unwaived: accepted, but decoded differently",
    ),
    ("waived", "waived", "every finding covered by a waiver"),
    ("pass", "pass", "observations made, none failed"),
    ("idle", "not exercised", "no observation: nothing proven"),
];

#[derive(Serialize)]
struct GridCell {
    class: &'static str,
    word: &'static str,
    count: String,
    more: String,
    checks: String,
    title: String,
    generator: String,
    validator: String,
}

#[derive(Serialize)]
struct GridRow {
    generator: String,
    note: &'static str,
    cells: Vec<GridCell>,
}

/// The grid section's view.
#[derive(Serialize)]
pub(super) struct GridView {
    columns: Vec<ColumnView>,
    rows: Vec<GridRow>,
    legend: Vec<LegendItem>,
}

fn row_note(r: &RunResult, generator: &str) -> &'static str {
    if generator == r.meta.old {
        "old system"
    } else if generator == r.meta.new {
        "new system"
    } else if generator == "field-keys" {
        "keys in customers' hands"
    } else {
        "system"
    }
}

fn cell(pair: &Pair<'_, '_>) -> GridCell {
    let state = pair.state;
    let name = arrow(&model::pair(pair.generator, pair.validator));
    let mut title = format!("{name}: {}", state.label());
    for line in pair.check_lines() {
        title.push('\n');
        title.push_str(&line);
    }
    let checks: Vec<String> = pair
        .deciding_checks()
        .iter()
        .map(|c| c.to_string())
        .collect();
    GridCell {
        class: state.class(),
        word: state.word(),
        count: state.count().map(model::count).unwrap_or_default(),
        more: if pair.other_unwaived > 0 {
            format!("+{} less severe", model::count(pair.other_unwaived))
        } else {
            String::new()
        },
        checks: checks.join(" \u{b7} "),
        title,
        generator: pair.generator.to_string(),
        validator: pair.validator.unwrap_or_default().to_string(),
    }
}

pub(super) fn grid(r: &RunResult, cells: &[CellView<'_>]) -> GridView {
    let g = grid::grid(r, cells);
    GridView {
        columns: g.validators.iter().map(|v| column(r, *v)).collect(),
        rows: g
            .generators
            .iter()
            .zip(&g.rows)
            .map(|(name, pairs)| GridRow {
                generator: name.to_string(),
                note: row_note(r, name),
                cells: pairs.iter().map(cell).collect(),
            })
            .collect(),
        legend: LEGEND
            .iter()
            .map(|&(class, word, meaning)| LegendItem {
                class,
                word,
                meaning,
            })
            .collect(),
    }
}
