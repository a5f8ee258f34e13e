//! The self-contained HTML report, for release managers deciding go-live.
//!
//! One file with everything inline (CSS, a few lines of script for the copy
//! buttons and for printing, SVG charts drawn in [`super::svg`]); it loads
//! nothing, so it opens from a CI artifact, an e-mail or an air-gapped
//! laptop, and prints cleanly.
//!
//! Rendering uses a minijinja template (`template.html`) over a view model
//! built here: a template keeps the page's structure readable in one place,
//! and minijinja escapes every value by default (`<>&'"/`), which matters
//! because customer names, waiver reasons and plugin paths are user text.
//! The only unescaped insertions are the SVG charts, which escape their own
//! labels. minijinja is small, has no dependencies we do not already have
//! and compiles the template at run time, so no build step is involved.
//!
//! The view model is built per section of the page: [`overview`] (verdict,
//! counts, gates), [`matrix`], [`charts`], [`findings`] (with the waivers),
//! [`data`] (migration data and scenario coverage) and [`run`] (how the
//! run was made). Each turns the [`RunResult`] into plain, serializable
//! views and decides nothing: the verdict, gates and waivers come judged.

mod charts;
mod data;
mod findings;
mod matrix;
mod overview;
mod run;

use minijinja::Environment;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use super::model;
use crate::gate::Status;
use crate::run::RunResult;

const TEMPLATE: &str = include_str!("template.html");

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
    /// The old system's rate.
    pub old: f64,
    /// The new system's rate.
    pub new: f64,
}

/// The HTML report. `throughput`, when given, adds a throughput chart.
/// Fails only if the built-in template does not render, which would be a bug.
pub fn render(r: &RunResult, throughput: Option<&Throughput>) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let template = env.get_template("report.html").map_err(|e| e.to_string())?;
    let cells = model::cells(r);
    let page = Page {
        verdict: overview::verdict(r),
        summary: overview::summary(r),
        gates: overview::gates(r),
        matrices: matrix::matrices(r, &cells),
        charts: charts::charts(r, throughput),
        findings: findings::findings(r),
        waivers: findings::waivers(r),
        data: data::data(r),
        scenarios: data::scenarios(r),
        meta: run::meta(r),
        systems: run::systems(r),
    };
    template
        .render(Value::from(Serde(&page)))
        .map_err(|e| e.to_string())
}

/// Everything the template shows.
#[derive(Serialize)]
struct Page {
    verdict: overview::VerdictView,
    summary: overview::SummaryView,
    gates: Vec<overview::GateView>,
    matrices: Vec<matrix::MatrixView>,
    charts: Vec<charts::ChartView>,
    findings: Vec<findings::FindingView>,
    waivers: Vec<findings::WaiverView>,
    data: Option<data::DataView>,
    scenarios: Option<data::ScenariosView>,
    meta: run::MetaView,
    systems: Vec<run::SystemView>,
}

/// `a -> b` as the page shows it: `a → b`.
fn arrow(pair: &str) -> String {
    pair.replace(" -> ", " \u{2192} ")
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Green => "green",
        Status::Yellow => "yellow",
        Status::Red => "red",
    }
}

/// Rank of a system or release in rows and columns: old, new, other
/// systems by name, then releases in the config's order, then "none".
fn rank(r: &RunResult, name: Option<&str>) -> (usize, usize, String) {
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
