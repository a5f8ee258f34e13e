//! The compatibility grid (every generator x every validator, one cell per
//! pair over all checks), as the real binary writes it into report.md and
//! report.html, on a run with every kind of cell: the new system treats the
//! expiry day as expired (unwaived outages), the legacy emitter has two
//! feature bits swapped (unwaived PARITY drift), the demo's waivers cover
//! the keys old releases cannot read (waived), the rest passes, and old
//! keys never meet the shipped releases (not exercised).
//!
//! What a release manager relies on: a cell shows the worst unwaived
//! finding, "waived" only when every finding is, "pass" only when something
//! was observed, and it agrees with the matrices by check it summarises.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::common::{self, Scenario};

/// The run's report.md and report.html, written by the binary.
struct Reports {
    md: String,
    html: String,
}

fn reports() -> &'static Reports {
    static R: OnceLock<Reports> = OnceLock::new();
    R.get_or_init(|| {
        let s = Scenario::demo()
            .faulty_system("new", "acme-ed1", &[("defect", "expiry-off-by-one")])
            .faulty_system(
                "legacy-emitter",
                "acme-ed1",
                &[("defect", "feature-bit-moved"), ("emit", "acme-lk1")],
            )
            .without_sources();
        let (out, _) = s.run_report(&["--cases", "40", "--seed", "5", "--no-shrink", "-q"], "r");
        assert_eq!(common::code(&out), 1, "{}", common::stderr(&out));
        let read = |f: &str| {
            std::fs::read_to_string(s.dir.path().join("r").join(f)).expect("report written")
        };
        Reports {
            md: read("report.md"),
            html: read("report.html"),
        }
    })
}

/// The rows of the Markdown table that follows `heading`, split into cells
/// (header row first, the `|---|` rule dropped).
fn md_table(md: &str, heading: &str) -> Vec<Vec<String>> {
    let start = md
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in report.md"));
    md[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| !l.starts_with("|---") && !l.starts_with("|--:"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The Markdown grid: (generator, validator) -> cell text.
fn md_grid(md: &str) -> BTreeMap<(String, String), String> {
    let table = md_table(md, "## Compatibility grid");
    let (header, rows) = table.split_first().expect("a header row");
    let mut out = BTreeMap::new();
    for row in rows {
        assert_eq!(row.len(), header.len(), "a ragged grid row: {row:?}");
        let generator = row[0].trim_matches('*').to_string();
        for (v, cell) in header.iter().zip(row).skip(1) {
            out.insert((generator.clone(), v.clone()), cell.clone());
        }
    }
    out
}

/// The Markdown matrix by check: (generator, validator) -> [(check, result)].
fn md_matrix(md: &str) -> BTreeMap<(String, String), Vec<(String, String)>> {
    let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for row in md_table(md, "## Matrix by check").iter().skip(1) {
        let (generator, validator) = match row[1].split_once(" -> ") {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (row[1].clone(), "no validation".to_string()),
        };
        out.entry((generator, validator))
            .or_default()
            .push((row[0].clone(), row[5].clone()));
    }
    out
}

/// The HTML grid: (generator, validator) -> (class, visible text).
fn html_grid(html: &str) -> BTreeMap<(String, String), (String, String)> {
    let start = html.find(r#"<section id="grid">"#).expect("a grid section");
    let end = start + html[start..].find("</section>").expect("its end");
    let mut out = BTreeMap::new();
    for td in html[start..end].split(r#"<td class="pc "#).skip(1) {
        let attr = |name: &str| {
            let from = td.find(&format!(r#"{name}=""#)).expect(name) + name.len() + 2;
            td[from..from + td[from..].find('"').expect("quote")].to_string()
        };
        let class = td[..td.find('"').expect("class")].to_string();
        let body = &td[td.find('>').expect("tag end") + 1..td.find("</td>").expect("</td>")];
        let mut text = String::new();
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    text.push(' ');
                }
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let validator = match attr("data-validator") {
            v if v.is_empty() => "no validation".to_string(),
            v => v,
        };
        out.insert((attr("data-generator"), validator), (class, text));
    }
    out
}

fn pair(g: &str, v: &str) -> (String, String) {
    (g.to_string(), v.to_string())
}

#[test]
fn cells_show_the_worst_unwaived_finding_waived_pass_or_not_exercised() {
    let md = md_grid(&reports().md);
    let html = html_grid(&reports().html);
    // (generator, validator, Markdown cell starts with, HTML class, HTML text starts with)
    let expected = [
        // TIME: the new system rejects old keys on their expiry day.
        ("old", "new", "🟥 outage ", "outage", "outage "),
        // ROLLBACK's findings are all waived; TAMPER and ENV pass.
        ("new", "old", "🟨 waived ", "waived", "waived "),
        // FORWARD: acme-ed1 keys old releases cannot read, waived.
        ("new", "Acme CAD 5.4", "🟨 waived ", "waived", "waived "),
        // PARITY: the emitter's keys differ from the old system's: the
        // emitter's row, against its reference.
        ("legacy-emitter", "old", "🟫 drift ", "drift", "drift "),
        ("old", "old", "🟩 pass ", "pass", "pass "),
        // Old keys never meet a shipped release.
        ("old", "Acme CAD 5.4", "—", "idle", "not exercised"),
    ];
    for (g, v, md_start, class, html_start) in expected {
        let cell = md
            .get(&pair(g, v))
            .unwrap_or_else(|| panic!("no {g} x {v}"));
        assert!(
            cell.starts_with(md_start),
            "Markdown {g} x {v}: {cell:?}, expected {md_start:?}..."
        );
        let (c, text) = html
            .get(&pair(g, v))
            .unwrap_or_else(|| panic!("no HTML {g} x {v}"));
        assert_eq!(c, class, "HTML {g} x {v}: {text}");
        assert!(text.starts_with(html_start), "HTML {g} x {v}: {text:?}");
    }
    // The checks behind a cell are named in it.
    let old_new = &md[&pair("old", "new")];
    assert!(old_new.ends_with("TIME"), "{old_new}");
    assert!(md[&pair("new", "old")].ends_with("ROLLBACK"));
    let (_, html_old_new) = &html[&pair("old", "new")];
    assert!(html_old_new.contains("TIME"), "{html_old_new}");
}

#[test]
fn the_grid_agrees_with_the_matrices_by_check() {
    let md = &reports().md;
    let grid = md_grid(md);
    let matrix = md_matrix(md);
    for p in matrix.keys() {
        assert!(
            grid.contains_key(p),
            "{p:?} is in the matrix by check, not in the grid"
        );
    }
    for (p, cell) in &grid {
        let rows = matrix.get(p).map(Vec::as_slice).unwrap_or_default();
        let with = |word: &str| -> Vec<&str> {
            rows.iter()
                .filter(|(_, result)| result.starts_with(word))
                .map(|(check, _)| check.as_str())
                .collect()
        };
        let (fail, waived, pass) = (with("**FAIL**"), with("waived"), with("pass"));
        let (expect, deciding) = if !fail.is_empty() {
            ("🟥🟪🟧⬛🟫", fail)
        } else if !waived.is_empty() {
            ("🟨", waived)
        } else if !pass.is_empty() {
            ("🟩", pass)
        } else {
            assert_eq!(cell, "—", "{p:?}: nothing observed by check: {rows:?}");
            continue;
        };
        let symbol = cell.chars().next().expect("a symbol");
        assert!(
            expect.contains(symbol),
            "{p:?}: {cell:?}, by check {rows:?}"
        );
        // The checks named after the count: the upper-case words.
        let named: Vec<&str> = cell
            .split([' ', ','])
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase()))
            .collect();
        assert_eq!(named, deciding, "{p:?}: {cell:?}, by check {rows:?}");
    }
    // The HTML grid is the same grid.
    let html = html_grid(&reports().html);
    assert_eq!(
        html.keys().collect::<Vec<_>>(),
        grid.keys().collect::<Vec<_>>()
    );
}

#[test]
fn the_html_grid_follows_the_gates_with_a_legend_and_one_waived_colour() {
    let html = &reports().html;
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    assert!(at(r#"<section id="gates">"#) < at(r#"<section id="grid">"#));
    assert!(at(r#"<section id="grid">"#) < at(r#"<section id="matrix">"#));
    let grid = &html[at(r#"<section id="grid">"#)..at(r#"<section id="matrix">"#)];
    for needle in [
        r#"<th scope="col""#,
        r#"<th scope="row">"#,
        "<caption",
        r#"class="swatch waived""#,
        r#"class="swatch idle""#,
        "not exercised",
    ] {
        assert!(grid.contains(needle), "the grid has no {needle}");
    }
    // "waived" is one colour, defined once, used by the grid, the matrices
    // by check and the charts alike (the browser test compares them drawn).
    assert_eq!(html.matches("--waived:").count(), 1, "waived defined once");
    assert!(html.contains(".waived { --state: var(--waived); }"));
    assert!(html.contains(".seg-waived { fill: var(--waived); }"));
    assert!(html.contains(r#"class="cell waived""#));
    assert!(html.contains(r#"class="seg-waived""#));
}
