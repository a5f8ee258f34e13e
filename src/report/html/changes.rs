//! The "Changes since baseline" section: what a pull request changed, for
//! the reviewer who opens the report from the CI job.

use serde::Serialize;

use crate::report::model;
use crate::run::changes::{Change, Changes, colour};
use crate::words::count;

#[derive(Serialize)]
pub(super) struct ChangesView {
    against: String,
    headline: String,
    notes: Vec<String>,
    groups: Vec<GroupChangeView>,
    gates: Vec<GateChangeView>,
}

#[derive(Serialize)]
struct GroupChangeView {
    /// CSS class: `red` (news that needs a look), `green` (better), or ``.
    class: &'static str,
    change: &'static str,
    id: String,
    check: String,
    severity: String,
    pair: String,
    cause: String,
    was: String,
    now: String,
    waived_by: Option<String>,
}

#[derive(Serialize)]
struct GateChangeView {
    name: String,
    was: String,
    now: String,
}

pub(super) fn changes(c: &Changes) -> ChangesView {
    ChangesView {
        against: c.against(),
        headline: c.headline(),
        notes: c.notes.clone(),
        groups: c
            .groups
            .iter()
            .map(|g| GroupChangeView {
                class: match g.change {
                    Change::New | Change::Unwaived | Change::Grew => "red",
                    Change::Fixed | Change::Shrank => "green",
                    Change::Waived => "waived",
                },
                change: g.change.as_str(),
                id: g.id.clone(),
                check: g.key.check.to_string(),
                severity: g.key.severity.to_string(),
                pair: model::pair(&g.key.generator, g.key.validator.as_deref()),
                cause: g.key.cause.clone(),
                was: count(g.was.findings),
                now: count(g.now.findings),
                waived_by: g.waived_by.clone(),
            })
            .collect(),
        gates: c
            .gates
            .iter()
            .map(|g| GateChangeView {
                name: g.name.clone(),
                was: colour(g.was),
                now: colour(g.now),
            })
            .collect(),
    }
}
