//! What every format derives from a [`RunResult`] the same way: the matrix
//! cells with their findings and colour, the verdict in words, the example
//! a group shows. Kept in one place so the Markdown, the JUnit XML and the
//! HTML can never disagree about whether a cell failed.

use std::collections::BTreeMap;

use crate::check::{Cell, Tally};
use crate::finding::{Check, Finding, Group, Severity};
use crate::gate::Status;
use crate::run::RunResult;
pub(crate) use crate::words::{count, noun};

/// The colour of a matrix cell (the grid's [`super::grid::PairState`]
/// adds the worst severity and the counts).
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

/// Where a failing cell with no finding of its own has its failures: a
/// check read first the same answer, and reports it (one answer, one
/// finding).
pub(crate) const REPORTED_ELSEWHERE: &str =
    "reported once, in the cell of the first check that read the same answer";

/// `generator -> validator`, or the generator alone when nothing validated.
pub(crate) fn pair(generator: &str, validator: Option<&str>) -> String {
    match validator {
        Some(v) => format!("{generator} -> {v}"),
        None => generator.to_string(),
    }
}

/// Rank of a system or release in rows and columns: old, new, other
/// systems by name, then releases in the config's order, then "none" (what
/// a system does alone). Every format orders its rows and columns by it.
pub(crate) fn system_rank(r: &RunResult, name: Option<&str>) -> (usize, usize, String) {
    let Some(name) = name else {
        return (4, 0, String::new());
    };
    if name == r.meta.old {
        (0, 0, String::new())
    } else if name == r.meta.new {
        (1, 0, String::new())
    } else if let Some(i) = r.meta.releases.iter().position(|(n, _)| n == name) {
        (3, i, String::new())
    } else {
        (2, 0, name.to_string())
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

/// The verdict's title: see [`Status::verdict_title`].
pub(crate) fn verdict_title(s: Status) -> &'static str {
    s.verdict_title()
}

/// The verdict's title as a report heads it: [`verdict_title`], marked
/// `(incomplete)` when a system gave up and the run stopped.
pub(crate) fn verdict_heading(r: &RunResult) -> String {
    let title = verdict_title(r.verdict);
    if r.meta.gave_up.is_empty() {
        title.to_string()
    } else {
        format!("{title} (incomplete)")
    }
}

/// Why a run is incomplete, in one clause, when a system gave up: `system
/// "new" gave up after 128 cases and the run stopped there`.
pub(crate) fn incomplete_words(r: &RunResult) -> Option<String> {
    if r.meta.gave_up.is_empty() {
        return None;
    }
    let who: Vec<String> = r.meta.gave_up.iter().map(|g| g.headline()).collect();
    Some(format!("{} and the run stopped there", who.join("; ")))
}

/// One sentence on why the verdict is what it is, with the counts behind
/// it: what is unwaived, what is waived and under how many waivers until
/// when (e.g. "0 unwaived outages or leaks; 94,951 findings waived under 2
/// waivers, the first expiring 2027-06-30"). A data-only run says so first,
/// since its GO covers the exports alone.
pub(crate) fn verdict_reason(r: &RunResult) -> String {
    let why = match r.verdict {
        Status::Interrupted => {
            "the run was cut short: its partial results decide nothing; run it again".to_string()
        }
        Status::Green | Status::Yellow | Status::Red => {
            let mut parts: Vec<String> = incomplete_words(r).into_iter().collect();
            parts.push(unwaived_words(r));
            if let Some(w) = waived_words(r) {
                parts.push(w);
            }
            if r.verdict == Status::Red {
                parts.push(format!("red: {}", gate_names(r, Status::Red).join(", ")));
            }
            parts.join("; ")
        }
    };
    match r.meta.scope {
        crate::gate::Scope::Full => why,
        crate::gate::Scope::Data => format!(
            "the vendor's exports alone (keycompat data; vectors and random cases are \
             keycompat run's): {why}"
        ),
    }
}

/// "0 unwaived outages or leaks", or the unwaived findings by severity,
/// worst first ("3 unwaived outages, 1 leak, 2 crashes").
fn unwaived_words(r: &RunResult) -> String {
    let unwaived = r.aggregate.unwaived();
    let by: Vec<(u64, &str)> = Severity::ALL
        .iter()
        .map(|sev| {
            let n = unwaived
                .iter()
                .filter(|(_, s, _)| s == sev)
                .map(|(.., n)| n)
                .sum();
            (n, sev.as_str())
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    let Some(((n, first), rest)) = by.split_first() else {
        return "0 unwaived outages or leaks".into();
    };
    let mut out = format!("{} unwaived {}", count(*n), noun(*n, first));
    for (n, word) in rest {
        out.push_str(&format!(", {} {}", count(*n), noun(*n, word)));
    }
    out
}

/// "N findings waived under K waivers, the first expiring D", when any were.
fn waived_words(r: &RunResult) -> Option<String> {
    let n = r.aggregate.counts().waived_findings;
    if n == 0 {
        return None;
    }
    let used: Vec<&crate::waiver::WaiverUse> = r.waivers.iter().filter(|w| w.matched > 0).collect();
    let first = used.iter().map(|w| w.waiver.expires).min()?;
    let k = used.len() as u64;
    Some(format!(
        "{} {} waived under {} {}, the first expiring {first}",
        count(n),
        noun(n, "finding"),
        count(k),
        noun(k, "waiver")
    ))
}

/// The gates of a colour, by name.
pub(crate) fn gate_names(r: &RunResult, status: Status) -> Vec<&str> {
    r.gates
        .iter()
        .filter(|g| g.status == status)
        .map(|g| g.name.as_str())
        .collect()
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
