//! What every format derives from a [`RunResult`] the same way: the matrix
//! cells with their findings and colour, the verdict in words, the example
//! a group shows. Kept in one place so the Markdown, the JUnit XML and the
//! HTML can never disagree about whether a cell failed.

use std::collections::BTreeMap;

use crate::check::{Cell, Tally};
use crate::finding::{Check, Finding, Group};
use crate::gate::Status;
use crate::run::RunResult;

/// The colour of a matrix cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellState {
    /// Observations made, none with a finding.
    Pass,
    /// At least one unwaived finding.
    Fail,
    /// Findings, all covered by waivers.
    Waived,
    /// Nothing observed (only skips, e.g. declared refusals).
    Idle,
}

impl CellState {
    /// The CSS class and Markdown word.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CellState::Pass => "pass",
            CellState::Fail => "fail",
            CellState::Waived => "waived",
            CellState::Idle => "idle",
        }
    }
}

/// One (check, generator, validator) cell with its findings, worst first.
#[derive(Debug)]
pub(crate) struct CellView<'a> {
    pub(crate) check: Check,
    pub(crate) generator: &'a str,
    pub(crate) validator: Option<&'a str>,
    pub(crate) tally: Tally,
    pub(crate) unwaived: Vec<&'a Group>,
    pub(crate) waived: Vec<&'a Group>,
}

impl CellView<'_> {
    /// The cell's colour.
    pub(crate) fn state(&self) -> CellState {
        if !self.unwaived.is_empty() || (self.tally.fail > 0 && self.waived.is_empty()) {
            CellState::Fail
        } else if !self.waived.is_empty() {
            CellState::Waived
        } else if self.tally.pass + self.tally.fail == 0 {
            CellState::Idle
        } else {
            CellState::Pass
        }
    }

    /// `generator -> validator`, or the generator alone.
    pub(crate) fn pair(&self) -> String {
        pair(self.generator, self.validator)
    }
}

/// `generator -> validator`, or the generator alone when nothing validated.
pub(crate) fn pair(generator: &str, validator: Option<&str>) -> String {
    match validator {
        Some(v) => format!("{generator} -> {v}"),
        None => generator.to_string(),
    }
}

/// Every cell that was observed or has findings, in report order (check,
/// generator, validator).
pub(crate) fn cells(r: &RunResult) -> Vec<CellView<'_>> {
    let mut map: BTreeMap<Cell, CellView<'_>> = BTreeMap::new();
    fn entry<'m, 'a>(
        map: &'m mut BTreeMap<Cell, CellView<'a>>,
        check: Check,
        generator: &'a str,
        validator: Option<&'a str>,
    ) -> &'m mut CellView<'a> {
        map.entry((check, generator.to_string(), validator.map(String::from)))
            .or_insert_with(|| CellView {
                check,
                generator,
                validator,
                tally: Tally::default(),
                unwaived: Vec::new(),
                waived: Vec::new(),
            })
    }
    for ((check, g, v), t) in r.aggregate.tallies() {
        entry(&mut map, *check, g, v.as_deref()).tally = *t;
    }
    for group in r.groups_by_importance() {
        let k = &group.key;
        let cell = entry(&mut map, k.check, &k.generator, k.validator.as_deref());
        match group.waived_by {
            Some(_) => cell.waived.push(group),
            None => cell.unwaived.push(group),
        }
    }
    map.into_values().collect()
}

/// The example a group shows: the shrunk one when shrinking ran.
pub(crate) fn example(g: &Group) -> &Finding {
    g.shrunk.as_ref().unwrap_or(&g.example)
}

/// The verdict as a release manager reads it.
pub(crate) fn verdict_title(s: Status) -> &'static str {
    match s {
        Status::Green => "GO",
        Status::Yellow => "GO with warnings",
        Status::Red => "NO-GO",
        Status::Interrupted => "INTERRUPTED: no verdict",
    }
}

/// One line on why the verdict is what it is; a data-only run says so first,
/// since its GO covers the exports alone.
pub(crate) fn verdict_reason(r: &RunResult) -> String {
    let why = match r.verdict {
        Status::Green => "every go-live gate is green",
        Status::Yellow => "no gate is red; yellow gates carry waivers, drift or warnings to review",
        Status::Red => "a red gate blocks go-live",
        Status::Interrupted => {
            "the run was cut short: its partial results decide nothing; run it again"
        }
    };
    match r.meta.scope {
        crate::gate::Scope::Full => why.to_string(),
        crate::gate::Scope::Data => format!(
            "the vendor's exports alone (keycompat data; vectors and random cases are \
             keycompat run's): {why}"
        ),
    }
}

/// The gates of a colour, by name.
pub(crate) fn gate_names(r: &RunResult, status: Status) -> Vec<&str> {
    r.gates
        .iter()
        .filter(|g| g.status == status)
        .map(|g| g.name.as_str())
        .collect()
}

/// `1 finding`, `12 findings`.
pub(crate) fn findings_count(n: u64) -> String {
    if n == 1 {
        "1 finding".into()
    } else {
        format!("{n} findings")
    }
}

/// A key as reports print it: as is, or quoted with escapes when it holds
/// whitespace or control characters (TAMPER's mutations), which would
/// otherwise vanish on screen.
pub(crate) fn shown_key(key: &str) -> String {
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        format!("{key:?}")
    } else {
        key.to_string()
    }
}
