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

use std::collections::BTreeMap;

use minijinja::Environment;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use super::model::{self, CellState, CellView};
use super::svg::{self, Bar, Chart, Segment};
use crate::finding::{Check, Finding, Group, Severity, Source};
use crate::gate::Status;
use crate::implementation::{ImplInfo, Origin};
use crate::run::RunResult;
use crate::verdict::Decoded;

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
        verdict: verdict(r),
        summary: summary(r),
        gates: gates(r),
        matrices: matrices(r, &cells),
        charts: charts(r, throughput),
        findings: findings(r),
        waivers: waivers(r),
        data: data(r),
        scenarios: scenarios(r),
        meta: meta(r),
        systems: systems(r),
    };
    template
        .render(Value::from(Serde(&page)))
        .map_err(|e| e.to_string())
}

/// Everything the template shows.
#[derive(Serialize)]
struct Page {
    verdict: VerdictView,
    summary: SummaryView,
    gates: Vec<GateView>,
    matrices: Vec<MatrixView>,
    charts: Vec<ChartView>,
    findings: Vec<FindingView>,
    waivers: Vec<WaiverView>,
    data: Option<DataView>,
    scenarios: Option<ScenariosView>,
    meta: MetaView,
    systems: Vec<SystemView>,
}

/// The vendor's exports: shares against the go-live criteria, rows that did
/// not fit, orders with findings.
#[derive(Serialize)]
struct DataView {
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

fn data(r: &RunResult) -> Option<DataView> {
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
struct ScenariosView {
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

fn scenarios(r: &RunResult) -> Option<ScenariosView> {
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

#[derive(Serialize)]
struct VerdictView {
    class: &'static str,
    title: &'static str,
    reason: String,
    red: Vec<String>,
    yellow: Vec<String>,
}

fn verdict(r: &RunResult) -> VerdictView {
    let names = |s| {
        model::gate_names(r, s)
            .into_iter()
            .map(String::from)
            .collect()
    };
    VerdictView {
        class: status_class(r.verdict),
        title: model::verdict_title(r.verdict),
        reason: model::verdict_reason(r),
        red: names(Status::Red),
        yellow: names(Status::Yellow),
    }
}

#[derive(Serialize)]
struct SummaryView {
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
}

fn impl_label(r: &RunResult, system: &str) -> String {
    r.meta
        .systems
        .get(system)
        .map(|i| format!("{} {}", i.name, i.version))
        .unwrap_or_default()
}

fn summary(r: &RunResult) -> SummaryView {
    let c = &r.aggregate.counts;
    let unwaived = r
        .aggregate
        .groups
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
        groups_waived: r.aggregate.groups.len() - unwaived,
        today: r.meta.today.to_string(),
        seed: r.meta.seed,
        interrupted: r.meta.interrupted,
    }
}

#[derive(Serialize)]
struct GateView {
    class: &'static str,
    status: String,
    name: String,
    criterion: String,
    measured: String,
}

fn gates(r: &RunResult) -> Vec<GateView> {
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
    }
}

#[derive(Serialize)]
struct ColumnView {
    name: String,
    note: String,
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
struct MatrixView {
    check: String,
    anchor: &'static str,
    blurb: &'static str,
    columns: Vec<ColumnView>,
    rows: Vec<RowView>,
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

fn cell_html(cell: &CellView<'_>) -> CellHtml {
    let state = cell.state();
    let tickets: Vec<&str> = cell
        .waived
        .iter()
        .filter_map(|g| g.waived_by.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let word = match state {
        CellState::Pass => "pass".to_string(),
        CellState::Fail => format!(
            "{} unwaived",
            cell.unwaived.iter().map(|g| g.count).sum::<u64>()
        ),
        CellState::Waived => format!("waived {}", tickets.join(", ")),
        CellState::Idle => "not exercised".to_string(),
    };
    let mut title = format!("{} {}", cell.check, arrow(&cell.pair()));
    if let Some(top) = cell.unwaived.first() {
        title.push_str(&format!(": {}", top.key.cause));
    }
    CellHtml {
        class: state.as_str(),
        pass: cell.tally.pass,
        fail: cell.tally.fail,
        skipped: cell.tally.skipped,
        word,
        title,
    }
}

fn matrices(r: &RunResult, cells: &[CellView<'_>]) -> Vec<MatrixView> {
    let mut by_check: BTreeMap<Check, Vec<&CellView<'_>>> = BTreeMap::new();
    for c in cells {
        by_check.entry(c.check).or_default().push(c);
    }
    by_check
        .into_iter()
        .map(|(check, cells)| {
            let mut gens: Vec<&str> = cells.iter().map(|c| c.generator).collect();
            gens.sort_by_key(|g| rank(r, Some(g)));
            gens.dedup();
            let mut vals: Vec<Option<&str>> = cells.iter().map(|c| c.validator).collect();
            vals.sort_by_key(|v| rank(r, *v));
            vals.dedup();
            let columns = vals
                .iter()
                .map(|v| match v {
                    None => ColumnView {
                        name: "no validation".into(),
                        note: "issuing only".into(),
                    },
                    Some(v) => ColumnView {
                        name: v.to_string(),
                        note: r
                            .meta
                            .releases
                            .iter()
                            .find(|(n, _)| n == v)
                            .map(|(_, sys)| format!("release, validator {sys}"))
                            .unwrap_or_else(|| "system".into()),
                    },
                })
                .collect();
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

#[derive(Serialize)]
struct ChartView {
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

fn charts(r: &RunResult, throughput: Option<&Throughput>) -> Vec<ChartView> {
    let mut per_check: BTreeMap<Check, (u64, u64, u64)> = BTreeMap::new();
    for ((check, _, _), t) in &r.aggregate.tallies {
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
    let c = &r.aggregate.counts;
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
    for g in r.aggregate.groups.values() {
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
                    [
                        Bar {
                            label: format!("{}: old", row.label),
                            segments: vec![Segment {
                                value: row.old,
                                class: "seg-old",
                            }],
                        },
                        Bar {
                            label: format!("{}: new", row.label),
                            segments: vec![Segment {
                                value: row.new,
                                class: "seg-new",
                            }],
                        },
                    ]
                })
                .collect(),
            legend: vec![("old", "seg-old"), ("new", "seg-new")],
        }));
    }
    out
}

#[derive(Serialize)]
struct FieldRow {
    name: &'static str,
    expected: String,
    decoded: Option<String>,
    differs: bool,
}

#[derive(Serialize)]
struct FindingView {
    id: String,
    severity: &'static str,
    check: String,
    pair: String,
    count: u64,
    cause: String,
    waived_by: Option<String>,
    shrunk: bool,
    expected: String,
    found: String,
    verdict: Option<String>,
    format: Option<String>,
    reason: Option<String>,
    fields: Vec<FieldRow>,
    diffs: Vec<(String, String, String)>,
    license_key: Option<String>,
    context: Option<String>,
    source: String,
    case_id: String,
    replay: String,
}

/// The canonical fields, in SCHEMES.md's order.
const FIELDS: [&str; 12] = [
    "product",
    "edition",
    "max_major",
    "features",
    "seats",
    "issued",
    "expires",
    "maintenance_until",
    "serial",
    "customer",
    "order_id",
    "host_id",
];

fn json_map<T: Serialize>(v: &T) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// Shows a JSON value the way a person reads it: strings without quotes,
/// lists comma-separated, `null` as a dash.
fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) if a.is_empty() => "(none)".into(),
        serde_json::Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join(", "),
        serde_json::Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}: {}", show(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn field_rows(f: &Finding) -> (Vec<FieldRow>, Vec<(String, String, String)>) {
    let Some(e) = &f.entitlement else {
        return (Vec::new(), Vec::new());
    };
    let expected = json_map(e);
    let decoded = f
        .validation
        .as_ref()
        .and_then(|v| v.decoded.as_ref())
        .map(json_map::<Decoded>);
    let differs = |name: &str| f.diffs.iter().any(|d| d.field.as_str() == name);
    let rows = FIELDS
        .iter()
        .map(|name| FieldRow {
            name,
            expected: expected.get(*name).map(show).unwrap_or_default(),
            decoded: decoded.as_ref().map(|d| {
                d.get(*name)
                    .map(show)
                    .unwrap_or_else(|| "not carried".into())
            }),
            differs: differs(name),
        })
        .collect();
    let diffs = f
        .diffs
        .iter()
        .map(|d| (d.field.to_string(), d.expected.clone(), d.found.clone()))
        .collect();
    (rows, diffs)
}

fn finding_view(i: usize, g: &Group) -> FindingView {
    let ex = model::example(g);
    let (fields, diffs) = field_rows(ex);
    FindingView {
        id: format!("finding-{}", i + 1),
        severity: g.key.severity.as_str(),
        check: g.key.check.to_string(),
        pair: arrow(&model::pair(&g.key.generator, g.key.validator.as_deref())),
        count: g.count,
        cause: g.key.cause.clone(),
        waived_by: g.waived_by.clone(),
        shrunk: g.shrunk.is_some(),
        expected: ex.expected.clone(),
        found: ex.found.clone(),
        verdict: ex.validation.as_ref().map(|v| v.verdict.to_string()),
        format: ex.validation.as_ref().and_then(|v| v.format.clone()),
        reason: ex.validation.as_ref().and_then(|v| v.reason.clone()),
        fields,
        diffs,
        license_key: ex.license_key.as_deref().map(model::shown_key),
        context: ex.context.as_ref().map(|c| {
            let host = c
                .host_id
                .as_ref()
                .map(|h| format!(", host {h}"))
                .unwrap_or_default();
            format!("{} {}, today {}{host}", c.product, c.version, c.today)
        }),
        source: match &ex.source {
            Source::Random { seed, index } => format!("random case {index} of seed {seed}"),
            Source::Vector { id, file } => format!("vector {id} ({file})"),
            Source::Steered { index, target, .. } => {
                format!("random case {index} steered into {target}")
            }
            Source::Order {
                file,
                line,
                order_id,
            } => format!("order {order_id} ({file}:{line})"),
            Source::FieldKey { file, line } => format!("field key ({file}:{line})"),
        },
        case_id: ex.case_id.clone(),
        replay: g.replay.clone(),
    }
}

fn findings(r: &RunResult) -> Vec<FindingView> {
    r.groups_by_importance()
        .into_iter()
        .enumerate()
        .map(|(i, g)| finding_view(i, g))
        .collect()
}

#[derive(Serialize)]
struct WaiverView {
    cell: String,
    reason: String,
    owner: String,
    ticket: String,
    expires: String,
    status: String,
    class: &'static str,
    matched: u64,
    expired_matches: u64,
}

fn waivers(r: &RunResult) -> Vec<WaiverView> {
    r.waivers
        .iter()
        .map(|w| WaiverView {
            cell: w.waiver.cell(),
            reason: w.waiver.reason.clone(),
            owner: w.waiver.owner.clone(),
            ticket: w.waiver.ticket.clone(),
            expires: w.waiver.expires.to_string(),
            class: match w.status.as_str() {
                "active" => "green",
                "expired" => "red",
                _ => "yellow",
            },
            status: w.status.clone(),
            matched: w.matched,
            expired_matches: w.expired_matches,
        })
        .collect()
}

#[derive(Serialize)]
struct MetaView {
    keycompat_version: String,
    config: String,
    config_sha256: String,
    seed: u64,
    cases: u64,
    partitions: Vec<String>,
    checks: Vec<String>,
    today: String,
    releases: Vec<(String, String)>,
    /// A `keycompat data` run: the exports alone.
    data_only: bool,
}

fn meta(r: &RunResult) -> MetaView {
    let m = &r.meta;
    MetaView {
        keycompat_version: m.keycompat_version.clone(),
        config: m.config.clone(),
        config_sha256: m.config_sha256.clone(),
        seed: m.seed,
        cases: m.cases,
        partitions: m.partitions.iter().map(|p| p.to_string()).collect(),
        checks: m.checks.iter().map(|c| c.to_string()).collect(),
        today: m.today.to_string(),
        releases: m.releases.clone(),
        data_only: m.scope == crate::gate::Scope::Data,
    }
}

#[derive(Serialize)]
struct SystemView {
    role: String,
    name: String,
    version: String,
    origin: String,
    path: Option<String>,
    sha256: Option<String>,
    capabilities: String,
}

fn system_view(role: &str, i: &ImplInfo) -> SystemView {
    let caps: Vec<&str> = [(i.can_generate, "generates"), (i.can_validate, "validates")]
        .into_iter()
        .filter_map(|(ok, w)| ok.then_some(w))
        .collect();
    let (origin, path, sha256) = match &i.origin {
        Origin::Builtin { scheme } => (format!("builtin {scheme}"), None, None),
        Origin::Plugin {
            path,
            sha256,
            abi,
            flags,
        } => (
            format!("plugin, ABI {abi}, flags 0x{flags:x}"),
            Some(path.display().to_string()),
            Some(sha256.clone()),
        ),
    };
    SystemView {
        role: role.to_string(),
        name: i.name.clone(),
        version: i.version.clone(),
        origin,
        path,
        sha256,
        capabilities: caps.join(", "),
    }
}

fn systems(r: &RunResult) -> Vec<SystemView> {
    let mut v: Vec<(&String, &ImplInfo)> = r.meta.systems.iter().collect();
    v.sort_by_key(|(name, _)| rank(r, Some(name)));
    v.into_iter().map(|(n, i)| system_view(n, i)).collect()
}
