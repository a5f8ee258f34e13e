//! The sections about what the cases were drawn from: the vendor's exports
//! run through both systems (Migration data: shares against the go-live
//! criteria, rows that did not fit, orders with findings), and how much of
//! the entitlement space the cases covered (Scenario coverage).

use serde::Serialize;

use super::page::status_class;
use crate::run::RunResult;

/// The vendor's exports: shares against the go-live criteria, rows that did
/// not fit, orders with findings.
#[derive(Serialize)]
pub(super) struct DataView {
    sources: Vec<SourceView>,
    failing_orders: Vec<crate::sources::FailingOrder>,
}

#[derive(Serialize)]
struct SourceView {
    what: &'static str,
    summary: crate::sources::SourceSummary,
    run_percent: String,
    clean_percent: String,
}

pub(super) fn data(r: &RunResult) -> Option<DataView> {
    let d = r.data.as_ref()?;
    let sources = [("Field keys", &d.field_keys), ("Orders", &d.orders)]
        .into_iter()
        .filter_map(|(what, s)| {
            s.as_ref().map(|s| SourceView {
                what,
                run_percent: format!("{:.1} %", s.run_percent()),
                clean_percent: format!("{:.1} %", s.clean_percent()),
                summary: s.clone(),
            })
        })
        .collect();
    Some(DataView {
        sources,
        failing_orders: d.failing_orders.clone(),
    })
}

/// Scenario coverage: one row per dimension with its uncovered values.
#[derive(Serialize)]
pub(super) struct ScenariosView {
    entitlements: u64,
    covered: u64,
    total: u64,
    percent: String,
    /// The coverage gate's colour, when the run was judged by one.
    class: &'static str,
    dimensions: Vec<DimensionView>,
}

#[derive(Serialize)]
struct DimensionView {
    name: String,
    covered: u64,
    total: u64,
    percent: String,
    /// Bar width in percent, for the meter.
    width: f64,
    uncovered: Vec<String>,
    /// Uncovered values neither listed here nor in the JSON report.
    more: u64,
}

pub(super) fn scenarios(r: &RunResult) -> Option<ScenariosView> {
    let c = r.coverage.as_ref()?;
    let class = r
        .gates
        .iter()
        .find(|g| g.name == crate::gate::COVERAGE_GATE)
        .map_or("", |g| status_class(g.status));
    Some(ScenariosView {
        entitlements: c.entitlements,
        covered: c.covered,
        total: c.total,
        percent: format!("{:.2} %", c.percent),
        class,
        dimensions: c
            .dimensions
            .iter()
            .map(|d| DimensionView {
                name: d.name.clone(),
                covered: d.covered,
                total: d.total,
                percent: format!("{:.2} %", d.percent),
                width: d.percent.clamp(0.0, 100.0),
                uncovered: d.uncovered.clone(),
                more: d.uncovered_more,
            })
            .collect(),
    })
}
