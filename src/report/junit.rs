//! JUnit XML: how CI systems (GitLab, GitHub reporters, Jenkins, Buildkite)
//! show a run as tests, so a broken cell of the matrix shows up where a
//! broken unit test would.
//!
//! One test suite per check with one test case per (check, generator ->
//! validator) cell, failing when the cell has an unwaived finding; waived
//! findings are listed in the case's `system-out` and never fail it. A last
//! suite, `gates`, has one case per go-live gate: red fails, yellow passes
//! with a note. No times or timestamps are written, so the file is
//! deterministic.
//!
//! The output validates against the Jenkins/Ant `junit-10.xsd` flavour
//! (tests/data/): quick-junit always writes a `skipped` count on the root
//! element, which that schema does not allow, so it is removed there (the
//! per-suite counts keep it).

use std::fmt::Write;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::model::{self, CellState, CellView};
use crate::finding::{Check, Group};
use crate::gate::{Gate, Status};
use crate::run::RunResult;

/// The JUnit XML report. Fails only if quick-junit cannot serialize, which
/// would be a bug.
pub fn render(r: &RunResult) -> Result<String, String> {
    let mut report = Report::new("keycompat");
    let cells = model::cells(r);
    let mut checks: Vec<Check> = cells.iter().map(|c| c.check).collect();
    checks.dedup();
    for check in checks {
        let mut suite = TestSuite::new(check.to_string());
        suite.add_test_cases(cells.iter().filter(|c| c.check == check).map(cell_case));
        report.add_test_suite(suite);
    }
    if let Some(d) = &r.detection {
        report.add_test_suite(detection_suite(d));
    }
    report.add_test_suite(gates_suite(r));
    let xml = report.to_string().map_err(|e| e.to_string())?;
    Ok(drop_root_skipped(xml))
}

fn cell_case(cell: &CellView<'_>) -> TestCase {
    let t = &cell.tally;
    let status = match cell.state() {
        CellState::Fail => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            if let Some(top) = cell.unwaived.first() {
                status
                    .set_message(top.key.cause.as_str())
                    .set_type(top.key.severity.as_str());
            } else {
                // Answers another check read first: their findings are
                // in that check's cell (one answer, one finding).
                status.set_message(format!(
                    "{} observations failed, each {}",
                    t.fail,
                    model::REPORTED_ELSEWHERE
                ));
            }
            let mut text = String::new();
            for g in &cell.unwaived {
                group_text(&mut text, g);
            }
            status.set_description(text);
            status
        }
        CellState::Idle => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!(
                "not exercised: {} observations skipped (declared refusals)",
                t.skipped
            ));
            status
        }
        CellState::Pass | CellState::Waived => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(format!("{} {}", cell.check, cell.pair()), status);
    case.set_classname(format!("keycompat.{}", cell.check.as_str()));
    let mut out = format!("pass {}, fail {}, skipped {}\n", t.pass, t.fail, t.skipped);
    if !cell.waived.is_empty() {
        out.push_str("\nwaived findings (do not fail this test):\n");
        for g in &cell.waived {
            group_text(&mut out, g);
        }
    }
    case.set_system_out(out);
    case
}

/// One group as plain text: what a CI log shows under a failed test.
fn group_text(out: &mut String, g: &Group) {
    let ex = model::example(g);
    let waived = crate::words::waived_tag(g.waived_by.as_deref());
    let _ = writeln!(
        out,
        "{}x {}: {}{waived}",
        g.count, g.key.severity, g.key.cause
    );
    let _ = writeln!(out, "  expected: {}", ex.expected);
    let _ = writeln!(out, "  found:    {}", ex.found);
    if let Some(e) = &ex.entitlement {
        let label = if g.shrunk.is_some() {
            "shrunk example"
        } else {
            "example"
        };
        let _ = writeln!(out, "  {label}: {e}");
    }
    if g.unreproduced {
        let _ = writeln!(out, "  note:     {}", crate::words::UNREPRODUCED);
    }
    if let Some(k) = &ex.license_key {
        let _ = writeln!(out, "  key:      {}", model::shown_key(k));
    }
    if let Some(c) = &ex.context {
        let host = c
            .host_id
            .as_ref()
            .map(|h| format!(" host {h}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  context:  {} {} on {}{host}",
            c.product, c.version, c.today
        );
    }
    let _ = writeln!(out, "  replay:   {}", g.replay);
    let _ = writeln!(out, "  finding:  {}", g.id);
}

/// A selftest's injectors: caught passes, missed fails (a blind spot of
/// the run), not applicable is skipped with its reason.
fn detection_suite(d: &crate::detection::Detection) -> TestSuite {
    use crate::detection::Outcome;
    let mut suite = TestSuite::new("detection");
    suite.add_property(Property::new("detection", d.headline()));
    suite.add_test_cases(d.mutants.iter().map(|m| {
        let status = match m.outcome {
            Outcome::Caught => TestCaseStatus::success(),
            Outcome::Missed => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(format!("missed: {}", m.what))
                    .set_type("missed")
                    .set_description(m.how());
                status
            }
            Outcome::NotApplicable => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(m.how());
                status
            }
        };
        let mut case = TestCase::new(format!("{} in {}", m.injector, m.system), status);
        case.set_classname("keycompat.detection");
        if m.outcome == Outcome::Caught {
            case.set_system_out(format!("{}: caught {}\n", m.what, m.how()));
        }
        case
    }));
    suite
}

fn gates_suite(r: &RunResult) -> TestSuite {
    let m = &r.meta;
    let mut suite = TestSuite::new("gates");
    suite.add_properties([
        Property::new("verdict", model::verdict_heading(r)),
        Property::new("seed", m.seed.to_string()),
        Property::new("cases", m.cases.to_string()),
        Property::new("today", m.today.to_string()),
        Property::new("config_sha256", m.config_sha256.as_str()),
        Property::new("keycompat_version", m.keycompat_version.as_str()),
    ]);
    if let Some(c) = &r.changes {
        suite.add_properties([
            Property::new("baseline", c.against()),
            Property::new("since_baseline", c.headline()),
        ]);
    }
    if r.verdict == Status::Interrupted {
        // An interrupted run is never a pass: one errored case says why.
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message("interrupted: partial results, no verdict")
            .set_type("interrupted")
            .set_description(model::verdict_reason(r));
        let mut case = TestCase::new("run complete", status);
        case.set_classname("keycompat.gates");
        suite.add_test_case(case);
    }
    suite.add_test_cases(r.gates.iter().map(gate_case));
    suite
}

fn gate_case(g: &Gate) -> TestCase {
    let status = match g.status {
        Status::Red => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(g.measured.as_str())
                .set_type("red")
                .set_description(format!(
                    "red gate blocks go-live\ncriterion: {}\nmeasured:  {}\n",
                    g.criterion, g.measured
                ));
            status
        }
        Status::Yellow | Status::Green | Status::Interrupted => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(g.name.as_str(), status);
    case.set_classname("keycompat.gates");
    let note = match g.status {
        Status::Yellow => "yellow: passes, with a warning to review\n",
        _ => "",
    };
    case.set_system_out(format!(
        "{note}criterion: {}\nmeasured:  {}\n",
        g.criterion, g.measured
    ));
    case
}

/// Removes the `skipped` attribute of the root `<testsuites>` element.
fn drop_root_skipped(xml: String) -> String {
    let Some(start) = xml.find("<testsuites") else {
        return xml;
    };
    let end = xml[start..].find('>').map_or(xml.len(), |e| start + e);
    // Attribute values are escaped (`"` is `&quot;`), so ` skipped="` can
    // only be the attribute itself.
    match xml[start..end].find(" skipped=\"") {
        Some(at) => {
            let at = start + at;
            let value_end = xml[at + 10..end].find('"').map_or(end, |q| at + 10 + q + 1);
            format!("{}{}", &xml[..at], &xml[value_end..])
        }
        None => xml,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_skipped_is_removed_and_suite_skipped_kept() {
        let xml = "<?xml?>\n<testsuites name=\"a skipped=&quot;1\" tests=\"2\" skipped=\"1\" failures=\"0\">\n<testsuite name=\"x\" skipped=\"1\">".to_string();
        assert_eq!(
            drop_root_skipped(xml),
            "<?xml?>\n<testsuites name=\"a skipped=&quot;1\" tests=\"2\" failures=\"0\">\n<testsuite name=\"x\" skipped=\"1\">"
        );
    }
}
