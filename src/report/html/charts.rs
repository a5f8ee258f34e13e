//! The Coverage section's charts: observations per check, cases per
//! source, findings per severity and, after `keycompat bench`, throughput of
//! old vs new. The bars are drawn as inline SVG by [`crate::report::svg`];
//! this file decides what they show. The throughput figures it is handed
//! ([`Throughput`], re-exported as `report::Throughput`) are defined here,
//! next to the one chart that draws them.

use std::collections::BTreeMap;

use minijinja::value::Value;
use serde::Serialize;

use crate::finding::{Check, Severity};
use crate::report::svg::{self, Bar, Chart, Segment};
use crate::run::RunResult;

/// Key generation and validation throughput, old vs new (from `keycompat
/// bench`), for the optional throughput chart.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Throughput {
    /// The unit of every value, e.g. `keys/s`.
    pub unit: String,
    /// One row per measurement (operation, mode, threads).
    pub rows: Vec<ThroughputRow>,
}

/// One throughput measurement of the old and the new system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThroughputRow {
    /// What was measured, e.g. `validate, plugin, 4 threads`.
    pub label: String,
    /// The old system's rate (0: not measured, no bar).
    pub old: f64,
    /// The new system's rate (0: not measured, no bar).
    pub new: f64,
}

#[derive(Serialize)]
pub(super) struct ChartView {
    title: String,
    svg: Value,
    legend: Value,
}

fn chart_view(chart: Chart) -> ChartView {
    ChartView {
        svg: Value::from_safe_string(svg::render(&chart)),
        legend: Value::from_safe_string(svg::legend(&chart)),
        title: chart.title,
    }
}

fn seg(value: u64, class: &'static str) -> Segment {
    Segment {
        value: value as f64,
        class,
    }
}

pub(super) fn charts(r: &RunResult, throughput: Option<&Throughput>) -> Vec<ChartView> {
    let mut per_check: BTreeMap<Check, (u64, u64, u64)> = BTreeMap::new();
    for ((check, _, _), t) in r.aggregate.tallies() {
        let e = per_check.entry(*check).or_default();
        e.0 += t.pass;
        e.1 += t.fail;
        e.2 += t.skipped;
    }
    let observations = Chart {
        title: "Observations per check".into(),
        unit: "observations".into(),
        bars: per_check
            .iter()
            .map(|(c, (p, f, s))| Bar {
                label: c.to_string(),
                segments: vec![
                    seg(*p, "seg-pass"),
                    seg(*f, "seg-fail"),
                    seg(*s, "seg-idle"),
                ],
            })
            .collect(),
        legend: vec![
            ("pass", "seg-pass"),
            ("fail", "seg-fail"),
            ("skipped", "seg-idle"),
        ],
    };
    let c = r.aggregate.counts();
    let sources = Chart {
        title: "Cases per source".into(),
        unit: "cases".into(),
        bars: [
            (
                "random cases",
                c.random_cases - c.random_cases_failing,
                c.random_cases_failing,
            ),
            (
                "vector cases",
                c.vector_cases - c.vector_cases_failing,
                c.vector_cases_failing,
            ),
            (
                "vector checks",
                c.vector_checks - c.vector_failures,
                c.vector_failures,
            ),
        ]
        .into_iter()
        .map(|(label, clean, failing)| Bar {
            label: label.into(),
            segments: vec![seg(clean, "seg-pass"), seg(failing, "seg-fail")],
        })
        .collect(),
        legend: vec![
            ("clean", "seg-pass"),
            ("with unwaived findings", "seg-fail"),
        ],
    };
    let mut per_severity: BTreeMap<Severity, (u64, u64)> = BTreeMap::new();
    for g in r.aggregate.groups().values() {
        let e = per_severity.entry(g.key.severity).or_default();
        match g.waived_by {
            Some(_) => e.1 += g.count,
            None => e.0 += g.count,
        }
    }
    let severities = Chart {
        title: "Findings per severity".into(),
        unit: "findings".into(),
        bars: Severity::ALL
            .iter()
            .map(|s| {
                let (u, w) = per_severity.get(s).copied().unwrap_or_default();
                Bar {
                    label: s.to_string(),
                    segments: vec![seg(u, "seg-fail"), seg(w, "seg-waived")],
                }
            })
            .collect(),
        legend: vec![("unwaived", "seg-fail"), ("waived", "seg-waived")],
    };
    let mut out = vec![
        chart_view(observations),
        chart_view(sources),
        chart_view(severities),
    ];
    if let Some(t) = throughput.filter(|t| !t.rows.is_empty()) {
        out.push(chart_view(Chart {
            title: format!("Throughput ({})", t.unit),
            unit: t.unit.clone(),
            bars: t
                .rows
                .iter()
                .flat_map(|row| {
                    // A system that does not handle the format (or was not
                    // measured: a run measures the new system alone) has no
                    // rate, shown as no bar rather than a bar of 0.
                    [("old", row.old, "seg-old"), ("new", row.new, "seg-new")]
                        .into_iter()
                        .filter(|(_, value, _)| *value > 0.0)
                        .map(|(side, value, class)| Bar {
                            label: format!("{}: {side}", row.label),
                            segments: vec![Segment { value, class }],
                        })
                })
                .collect(),
            legend: vec![("old", "seg-old"), ("new", "seg-new")],
        }));
    }
    out
}
