//! Inline SVG bar charts for the HTML report, drawn here so the report needs
//! no script library and no network: horizontal bars, optionally stacked,
//! one row per label, the value at the end of each bar.
//!
//! Colours come from CSS classes (`seg-pass`, `seg-fail`, ...) that the page
//! styles, so the print stylesheet can adjust them. Labels are escaped.

use std::fmt::Write;

use minijinja::HtmlEscape;

/// One segment of a bar: a value and the CSS class that colours it.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) value: f64,
    pub(crate) class: &'static str,
}

/// One bar: a label and its segments, stacked left to right.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) segments: Vec<Segment>,
}

/// A chart: title, the unit of its values, bars and a legend.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    pub(crate) title: String,
    pub(crate) unit: String,
    pub(crate) bars: Vec<Bar>,
    pub(crate) legend: Vec<(&'static str, &'static str)>,
}

const WIDTH: f64 = 560.0;
const LABEL_W: f64 = 170.0;
const VALUE_W: f64 = 80.0;
const ROW_H: f64 = 26.0;
const BAR_H: f64 = 16.0;
const TOP: f64 = 8.0;

/// A compact number: 1234 -> `1,234`, 12345.6 -> `12.3k`, 2.5e6 -> `2.5M`.
pub(crate) fn number(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 {
        super::model::count(v as u64)
    } else {
        format!("{v:.1}")
    }
}

/// Renders the chart as an `<svg>` element (no XML namespace needed inline).
pub(crate) fn render(chart: &Chart) -> String {
    let max = chart
        .bars
        .iter()
        .map(|b| b.segments.iter().map(|s| s.value.max(0.0)).sum::<f64>())
        .fold(0.0_f64, f64::max);
    let height = TOP * 2.0 + ROW_H * chart.bars.len().max(1) as f64;
    let scale = if max > 0.0 {
        (WIDTH - LABEL_W - VALUE_W) / max
    } else {
        0.0
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{}">"#,
        HtmlEscape(&chart.title)
    );
    let _ = write!(s, "<title>{}</title>", HtmlEscape(&chart.title));
    for (i, bar) in chart.bars.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        let text_y = y + ROW_H / 2.0 + 4.0;
        let _ = write!(
            s,
            r#"<text class="chart-label" x="{:.1}" y="{text_y:.1}" text-anchor="end">{}</text>"#,
            LABEL_W - 8.0,
            HtmlEscape(&truncate(&bar.label, 26))
        );
        let mut x = LABEL_W;
        let bar_y = y + (ROW_H - BAR_H) / 2.0;
        for seg in &bar.segments {
            let w = seg.value.max(0.0) * scale;
            if w <= 0.0 {
                continue;
            }
            // Keep tiny non-zero values visible.
            let w = w.max(1.5);
            let _ = write!(
                s,
                r#"<rect class="{}" x="{x:.1}" y="{bar_y:.1}" width="{w:.1}" height="{BAR_H}" rx="2"><title>{}: {} {}</title></rect>"#,
                seg.class,
                HtmlEscape(&bar.label),
                number(seg.value),
                HtmlEscape(&chart.unit)
            );
            x += w;
        }
        let total: f64 = bar.segments.iter().map(|s| s.value.max(0.0)).sum();
        let _ = write!(
            s,
            r#"<text class="chart-value" x="{:.1}" y="{text_y:.1}">{}</text>"#,
            x + 6.0,
            number(total)
        );
    }
    s.push_str("</svg>");
    s
}

/// The chart's legend as HTML (swatches share the bars' classes).
pub(crate) fn legend(chart: &Chart) -> String {
    let mut s = String::from(r#"<div class="legend">"#);
    for (label, class) in &chart.legend {
        let _ = write!(
            s,
            r#"<span><svg width="10" height="10" aria-hidden="true"><rect class="{class}" width="10" height="10" rx="2"/></svg> {}</span>"#,
            HtmlEscape(label)
        );
    }
    s.push_str("</div>");
    s
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(999.0), "999");
        assert_eq!(number(1234.0), "1,234");
        assert_eq!(number(12345.0), "12.3k");
        assert_eq!(number(2_500_000.0), "2.5M");
        assert_eq!(number(2.3), "2.3");
    }

    #[test]
    fn labels_are_escaped() {
        let chart = Chart {
            title: "t<".into(),
            unit: "x".into(),
            bars: vec![Bar {
                label: "<b>&'\"".into(),
                segments: vec![Segment {
                    value: 1.0,
                    class: "seg-pass",
                }],
            }],
            legend: vec![],
        };
        let svg = render(&chart);
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;b&gt;&amp;"), "{svg}");
    }
}
