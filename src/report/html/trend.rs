//! The "Go-live over time" section: the run history drawn as one inline SVG
//! with a shared axis of days (the verdict's colour per day, unwaived
//! findings per severity and waived findings per day, cumulative dual-run
//! and field-key coverage against their targets), then the same per day as
//! a table, so nothing is said by colour alone. Drawn here, with no script
//! and nothing loaded; every label is escaped.

use std::fmt::Write;

use minijinja::HtmlEscape;
use minijinja::value::Value;
use serde::Serialize;

use super::page::status_class;
use crate::finding::Severity;
use crate::history::render;
use crate::history::trend::{DayRow, Trend};
use crate::words::{count, percent};

#[derive(Serialize)]
pub(super) struct TrendView {
    file: String,
    records: u64,
    appended: bool,
    notes: Vec<String>,
    skipped: Vec<String>,
    targets: String,
    svg: Value,
    days: Vec<DayView>,
}

#[derive(Serialize)]
struct DayView {
    date: String,
    class: &'static str,
    verdict: &'static str,
    restarted: bool,
    gates: String,
    new: u64,
    fixed: u64,
    findings: String,
    waived: String,
    orders: String,
    orders_cumulative: String,
    field_keys: String,
    field_keys_cumulative: String,
}

fn pct(p: Option<f64>) -> String {
    p.map(percent).unwrap_or_else(|| "-".into())
}

pub(super) fn trend(t: &Trend) -> TrendView {
    let mut targets = format!(
        "at least {} % of the orders clean each day",
        t.orders_target_percent
    );
    if let Some(days) = t.dual_run_days {
        let _ = write!(targets, ", {days} days in a row");
    }
    if let Some(p) = t.field_keys_target_percent {
        let _ = write!(targets, "; {p} % of the field keys validated across runs");
    }
    TrendView {
        file: t.file.clone(),
        records: t.records,
        appended: t.appended,
        notes: t.notes.clone(),
        skipped: t.skipped.iter().map(|p| p.to_string()).collect(),
        targets,
        svg: Value::from_safe_string(svg(t)),
        days: t
            .days
            .iter()
            .rev()
            .map(|d| DayView {
                date: d.date.to_string(),
                class: status_class(d.verdict),
                verdict: d.verdict.verdict_title(),
                restarted: d.restarted,
                gates: render::gates(d),
                new: d.new_groups.len() as u64,
                fixed: d.fixed_groups.len() as u64,
                findings: render::findings(d),
                waived: count(d.waived),
                orders: pct(d.orders_percent),
                orders_cumulative: pct(d.orders_cumulative_percent),
                field_keys: pct(d.field_keys_percent),
                field_keys_cumulative: pct(d.field_keys_cumulative_percent),
            })
            .collect(),
    }
}

const W: f64 = 760.0;
const LEFT: f64 = 118.0;
const RIGHT: f64 = 16.0;
/// The verdict strip.
const STRIP: (f64, f64) = (8.0, 30.0);
/// Findings per day.
const BARS: (f64, f64) = (48.0, 150.0);
/// Cumulative coverage, 0 to 100 %.
const LINES: (f64, f64) = (172.0, 292.0);
const H: f64 = 318.0;

const SEVERITIES: [Severity; 5] = [
    Severity::Outage,
    Severity::Leak,
    Severity::Crash,
    Severity::Error,
    Severity::Drift,
];

/// The whole chart: the three panels over one axis of days.
fn svg(t: &Trend) -> String {
    let n = t.days.len().max(1);
    let step = (W - LEFT - RIGHT) / n as f64;
    let x = |i: usize| LEFT + step * (i as f64 + 0.5);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart trend" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="Go-live over time: verdict, findings and cumulative coverage per day"><title>Go-live over time</title>"#
    );
    label(
        &mut s,
        LEFT - 8.0,
        (STRIP.0 + STRIP.1) / 2.0 + 4.0,
        "verdict",
    );
    for (i, d) in t.days.iter().enumerate() {
        let _ = write!(
            s,
            r#"<rect class="day {}" x="{:.1}" y="{}" width="{:.1}" height="{}" rx="3"><title>{}: {}</title></rect>"#,
            status_class(d.verdict),
            x(i) - step * 0.42,
            STRIP.0,
            step * 0.84,
            STRIP.1 - STRIP.0,
            d.date,
            HtmlEscape(d.verdict.verdict_title())
        );
        if d.restarted {
            let _ = write!(
                s,
                r#"<line class="restart" x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}"><title>{3}: the clock restarted (the new system changed)</title></line>"#,
                x(i) - step / 2.0,
                STRIP.0 - 4.0,
                LINES.1,
                d.date
            );
        }
    }
    bars(&mut s, t, &x, step);
    lines(&mut s, t, &x);
    let every = n.div_ceil(12).max(1);
    for (i, d) in t.days.iter().enumerate() {
        if i % every == 0 || i + 1 == t.days.len() {
            let (_, m, day) = d.date.ymd();
            let _ = write!(
                s,
                r#"<text class="chart-value" x="{:.1}" y="{}" text-anchor="middle">{m:02}-{day:02}</text>"#,
                x(i),
                LINES.1 + 16.0
            );
        }
    }
    s.push_str("</svg>");
    s.push_str(&legend());
    s
}

fn label(s: &mut String, x: f64, y: f64, text: &str) {
    let _ = write!(
        s,
        r#"<text class="chart-label" x="{x:.1}" y="{y:.1}" text-anchor="end">{}</text>"#,
        HtmlEscape(text)
    );
}

/// Unwaived findings per severity, then waived, stacked per day.
fn bars(s: &mut String, t: &Trend, x: &dyn Fn(usize) -> f64, step: f64) {
    let total = |d: &DayRow| d.unwaived.values().sum::<u64>() + d.waived;
    let max = t.days.iter().map(total).max().unwrap_or(0);
    label(s, LEFT - 8.0, BARS.0 + 10.0, "findings");
    label(s, LEFT - 8.0, BARS.0 + 24.0, &format!("max {}", count(max)));
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" x2="{:.1}" y1="{1}" y2="{1}"/>"#,
        W - RIGHT,
        BARS.1
    );
    if max == 0 {
        return;
    }
    let scale = (BARS.1 - BARS.0) / max as f64;
    for (i, d) in t.days.iter().enumerate() {
        let mut y = BARS.1;
        let segments = SEVERITIES
            .iter()
            .map(|sev| {
                (
                    d.unwaived.get(sev).copied().unwrap_or(0),
                    format!("sev-{}", sev.as_str()),
                    format!("unwaived {}", sev.as_str()),
                )
            })
            .chain([(d.waived, "seg-waived".to_string(), "waived".to_string())]);
        for (n, class, what) in segments {
            if n == 0 {
                continue;
            }
            let h = (n as f64 * scale).max(1.5);
            y -= h;
            let _ = write!(
                s,
                r#"<rect class="{class}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}"><title>{}: {} {what}</title></rect>"#,
                x(i) - step * 0.3,
                step * 0.6,
                d.date,
                count(n)
            );
        }
    }
}

/// A day's value of one coverage line.
type Series = fn(&DayRow) -> Option<f64>;

/// Cumulative coverage of orders and field keys, with their targets.
fn lines(s: &mut String, t: &Trend, x: &dyn Fn(usize) -> f64) {
    let y = |p: f64| LINES.1 - (LINES.1 - LINES.0) * p.clamp(0.0, 100.0) / 100.0;
    // Between the 100 % and 50 % ticks.
    label(s, LEFT - 8.0, y(75.0) - 2.0, "cumulative");
    label(s, LEFT - 8.0, y(75.0) + 12.0, "coverage");
    for p in [0.0, 50.0, 100.0] {
        let _ = write!(
            s,
            r#"<line class="grid-line" x1="{LEFT}" x2="{x2:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="chart-value" x="{tx:.1}" y="{ty:.1}" text-anchor="end">{p} %</text>"#,
            x2 = W - RIGHT,
            y = y(p),
            tx = LEFT - 8.0,
            ty = y(p) + 4.0
        );
    }
    let targets = [
        ("orders", Some(t.orders_target_percent), "line-orders"),
        ("field keys", t.field_keys_target_percent, "line-keys"),
    ];
    for (what, target, class) in targets {
        if let Some(p) = target {
            let _ = write!(
                s,
                r#"<line class="target {class}" x1="{LEFT}" x2="{:.1}" y1="{1:.1}" y2="{1:.1}"><title>target: {what} {p} %</title></line>"#,
                W - RIGHT,
                y(f64::from(p))
            );
        }
    }
    let series: [(&str, &str, Series); 2] = [
        ("orders", "line-orders", |d| d.orders_cumulative_percent),
        ("field keys", "line-keys", |d| {
            d.field_keys_cumulative_percent
        }),
    ];
    for (what, class, value) in series {
        let points: Vec<(usize, f64)> = t
            .days
            .iter()
            .enumerate()
            .filter_map(|(i, d)| value(d).map(|p| (i, p)))
            .collect();
        if points.is_empty() {
            continue;
        }
        let path: Vec<String> = points
            .iter()
            .map(|&(i, p)| format!("{:.1},{:.1}", x(i), y(p)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="series {class}" points="{}"/>"#,
            path.join(" ")
        );
        for &(i, p) in &points {
            let _ = write!(
                s,
                r#"<circle class="series {class}" cx="{:.1}" cy="{:.1}" r="3"><title>{}: {what} {}</title></circle>"#,
                x(i),
                y(p),
                t.days[i].date,
                percent(p)
            );
        }
    }
}

fn legend() -> String {
    let mut s = String::from(r#"<div class="legend">"#);
    let items = [
        ("GO", "day green"),
        ("GO with warnings", "day yellow"),
        ("NO-GO", "day red"),
        ("outage", "sev-outage"),
        ("leak", "sev-leak"),
        ("crash", "sev-crash"),
        ("drift", "sev-drift"),
        ("waived", "seg-waived"),
        ("orders run clean (cumulative)", "line-orders swatch-line"),
        ("field keys validated (cumulative)", "line-keys swatch-line"),
    ];
    for (text, class) in items {
        let _ = write!(
            s,
            r#"<span><svg width="10" height="10" aria-hidden="true"><rect class="{class}" width="10" height="10" rx="2"/></svg> {}</span>"#,
            HtmlEscape(text)
        );
    }
    s.push_str("</div>");
    s
}
