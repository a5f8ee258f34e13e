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
//! counts, gates), [`grid`] (every pair of systems over every check),
//! [`matrix`] (the same cells, one grid per check), [`charts`],
//! [`findings`] (with the waivers), [`trend`] (the run history), [`data`] (migration data and scenario
//! coverage) and [`run`] (how the run was made). Each turns the
//! [`RunResult`] into plain, serializable views and decides nothing: the
//! verdict, gates and waivers come judged. What several sections write the
//! same way (arrows, status colours, column headers) is in [`page`]; this file only puts the sections
//! together into the one page the template renders, and no section refers
//! back to it.

mod changes;
mod charts;
mod data;
mod detection;
mod findings;
mod grid;
mod matrix;
mod overview;
mod page;
mod run;
mod trend;

use minijinja::Environment;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use super::model;
use crate::run::RunResult;

pub use charts::{Throughput, ThroughputRow};

const TEMPLATE: &str = include_str!("template.html");

/// The HTML report. `throughput`, when given, adds a throughput chart.
/// Fails only if the built-in template does not render, which would be a bug.
pub fn render(r: &RunResult, throughput: Option<&Throughput>) -> Result<String, String> {
    let mut env = Environment::new();
    // Numbers read the same as in the terminal and Markdown: `94,951`.
    env.add_filter("count", crate::words::count);
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let template = env.get_template("report.html").map_err(|e| e.to_string())?;
    let cells = model::cells(r);
    let page = Page {
        verdict: overview::verdict(r),
        summary: overview::summary(r),
        gates: overview::gates(r),
        changes: r.changes.as_ref().map(changes::changes),
        trend: r.history.as_ref().map(trend::trend),
        detection: r.detection.as_ref().map(detection::detection),
        grid: grid::grid(r, &cells),
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
    changes: Option<changes::ChangesView>,
    trend: Option<trend::TrendView>,
    detection: Option<detection::DetectionView>,
    grid: grid::GridView,
    matrices: Vec<matrix::MatrixView>,
    charts: Vec<charts::ChartView>,
    findings: Vec<findings::FindingView>,
    waivers: Vec<findings::WaiverView>,
    data: Option<data::DataView>,
    scenarios: Option<data::ScenariosView>,
    meta: run::MetaView,
    systems: Vec<run::SystemView>,
}
