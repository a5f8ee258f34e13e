//! The top of the page: the verdict with the gates that decided it, the
//! headline counts, and the go-live gates table. What a release manager
//! reads first, and often only.

use serde::Serialize;

use super::page::status_class;
use crate::gate::Status;
use crate::report::model;
use crate::run::RunResult;

#[derive(Serialize)]
pub(super) struct VerdictView {
    class: &'static str,
    title: String,
    reason: String,
    red: Vec<String>,
    yellow: Vec<String>,
}

pub(super) fn verdict(r: &RunResult) -> VerdictView {
    let names = |s| {
        model::gate_names(r, s)
            .into_iter()
            .map(String::from)
            .collect()
    };
    VerdictView {
        class: status_class(r.verdict),
        title: model::verdict_heading(r),
        reason: model::verdict_reason(r),
        red: names(Status::Red),
        yellow: names(Status::Yellow),
    }
}

#[derive(Serialize)]
pub(super) struct SummaryView {
    old: String,
    new: String,
    old_impl: String,
    new_impl: String,
    random_cases: u64,
    random_failing: u64,
    vector_cases: u64,
    vector_checks: u64,
    waived_findings: u64,
    groups_unwaived: usize,
    groups_waived: usize,
    today: String,
    seed: u64,
    interrupted: bool,
    /// Systems that gave up, each as who and when, and why.
    gave_up: Vec<StopView>,
}

/// A system that gave up: who and when, then the host's message.
#[derive(Serialize)]
pub(super) struct StopView {
    headline: String,
    message: String,
}

fn impl_label(r: &RunResult, system: &str) -> String {
    r.meta
        .systems
        .get(system)
        .map(|i| format!("{} {}", i.name, i.version))
        .unwrap_or_default()
}

pub(super) fn summary(r: &RunResult) -> SummaryView {
    let c = r.aggregate.counts();
    let unwaived = r
        .aggregate
        .groups()
        .values()
        .filter(|g| g.waived_by.is_none())
        .count();
    SummaryView {
        old: r.meta.old.clone(),
        new: r.meta.new.clone(),
        old_impl: impl_label(r, &r.meta.old),
        new_impl: impl_label(r, &r.meta.new),
        random_cases: c.random_cases,
        random_failing: c.random_cases_failing,
        vector_cases: c.vector_cases,
        vector_checks: c.vector_checks,
        waived_findings: c.waived_findings,
        groups_unwaived: unwaived,
        groups_waived: r.aggregate.groups().len() - unwaived,
        today: r.meta.today.to_string(),
        seed: r.meta.seed,
        interrupted: r.meta.interrupted,
        gave_up: r
            .meta
            .gave_up
            .iter()
            .map(|g| StopView {
                headline: g.headline(),
                message: g.message.clone(),
            })
            .collect(),
    }
}

#[derive(Serialize)]
pub(super) struct GateView {
    class: &'static str,
    status: String,
    name: String,
    criterion: String,
    measured: String,
}

pub(super) fn gates(r: &RunResult) -> Vec<GateView> {
    r.gates
        .iter()
        .map(|g| GateView {
            class: status_class(g.status),
            status: g.status.to_string().to_uppercase(),
            name: g.name.clone(),
            criterion: g.criterion.clone(),
            measured: g.measured.clone(),
        })
        .collect()
}
