//! The terminal summary of a run: the verdict, the gates, the matrix per
//! check and system pair, and the top findings. Plain text, readable without
//! colour; written to stdout so CI logs keep it.

use std::fmt::Write;

use crate::gate::{Scope, Status};
use crate::run::RunResult;
use crate::run::changes::{Changes, colour};
use crate::words::{UNREPRODUCED, count, counted, waived_tag};

/// How many finding groups the summary lists.
const TOP: usize = 12;

/// Renders the summary.
pub fn render(r: &RunResult) -> String {
    let mut s = String::new();
    let m = &r.meta;
    let c = r.aggregate.counts();
    let _ = writeln!(
        s,
        "keycompat {} | config {} | seed {}",
        m.keycompat_version, m.config, m.seed
    );
    let mut interrupted = if m.interrupted {
        " | INTERRUPTED: partial results".to_string()
    } else {
        String::new()
    };
    for g in &m.gave_up {
        let _ = write!(interrupted, " | INCOMPLETE: {}", g.headline());
    }
    match m.scope {
        Scope::Full => {
            let _ = writeln!(
                s,
                "cases: {} ({} with unwaived findings), {}, {}{interrupted}",
                counted(c.random_cases, "random case"),
                count(c.random_cases_failing),
                counted(c.vector_cases, "vector case"),
                counted(c.vector_checks, "vector check"),
            );
        }
        Scope::Data => {
            let _ = writeln!(
                s,
                "data only: the exports of [sources]; vectors and random cases are `keycompat run`'s{interrupted}"
            );
        }
    }
    let _ = writeln!(s, "\nmatrix (pass / fail / skipped):");
    let mut last = None;
    for ((check, g, v), t) in r.aggregate.tallies() {
        if last != Some(*check) {
            let _ = writeln!(s, "  {check}");
            last = Some(*check);
        }
        let pair = match v {
            Some(v) => format!("{g} -> {v}"),
            None => g.clone(),
        };
        let _ = writeln!(
            s,
            "    {pair:<40} {:>9} {:>7} {:>7}",
            t.pass, t.fail, t.skipped
        );
    }
    if let Some(env) = &m.env {
        let _ = writeln!(s, "  ENV {}", env.describe());
    }
    let groups = r.groups_by_importance();
    let _ = writeln!(s, "\nfindings: {}", counted(groups.len() as u64, "group"));
    for g in groups.iter().take(TOP) {
        let waived = waived_tag(g.waived_by.as_deref());
        let _ = writeln!(s, "  {:>7}x {}{waived}", g.count, g.key);
        let ex = g.shrunk.as_ref().unwrap_or(&g.example);
        if let Some(e) = &ex.entitlement {
            let _ = writeln!(s, "           example: {e}");
        }
        let _ = writeln!(s, "           expected {}, found {}", ex.expected, ex.found);
        let _ = writeln!(s, "           replay: {}  (finding {})", g.replay, g.id);
        if g.unreproduced {
            let _ = writeln!(s, "           {UNREPRODUCED}");
        }
    }
    if groups.len() > TOP {
        let _ = writeln!(s, "  ... {} more groups in the reports", groups.len() - TOP);
    }
    if let Some(c) = &r.changes {
        changes(&mut s, c);
    }
    if let Some(d) = &r.detection {
        detection(&mut s, d);
    }
    if let Some(t) = &r.history {
        history(&mut s, t);
    }
    let _ = writeln!(s, "\ngates:");
    for g in &r.gates {
        let _ = writeln!(
            s,
            "  {:<8} {:<28} {}",
            format!("[{}]", g.status),
            g.name,
            g.measured
        );
    }
    // The verdict and why, in one sentence, with the counts behind it.
    let verdict = match r.verdict {
        Status::Interrupted => "INTERRUPTED: partial results, no verdict (run it again)".into(),
        _ => format!(
            "{}: {}",
            crate::report::model::verdict_heading(r),
            crate::report::model::verdict_reason(r)
        ),
    };
    let _ = writeln!(s, "\nverdict: {verdict}");
    s
}

/// What changed since the baseline: the headline, then each changed group
/// and gate, worst change first.
fn changes(s: &mut String, c: &Changes) {
    let _ = writeln!(s, "\nsince baseline {}: {}", c.against(), c.headline());
    for note in &c.notes {
        let _ = writeln!(s, "  note: {note}");
    }
    for (i, g) in c.groups.iter().enumerate() {
        if i == TOP {
            let _ = writeln!(
                s,
                "  ... {} more changed groups in the reports",
                c.groups.len() - TOP
            );
            break;
        }
        let waived = waived_tag(g.waived_by.as_deref());
        let _ = writeln!(
            s,
            "  {:<16} {}{waived}  (finding {})\n                   {}",
            g.change.as_str(),
            g.key,
            g.id,
            g.counts()
        );
    }
    for g in &c.gates {
        let _ = writeln!(
            s,
            "  gate {}: {} -> {}",
            g.name,
            colour(g.was),
            colour(g.now)
        );
    }
}

/// The history's last days (the whole trend: `keycompat history`).
fn history(s: &mut String, t: &crate::history::trend::Trend) {
    s.push('\n');
    s.push_str(&crate::history::render::terminal(t, 3));
}

/// What a selftest caught: the score, then each injector.
fn detection(s: &mut String, d: &crate::detection::Detection) {
    use crate::detection::Outcome;
    let _ = writeln!(s, "\ndetection power: {}", d.headline());
    if let Some(ratio) = d.cost_ratio() {
        let _ = writeln!(
            s,
            "  cost: {:.1} s, {ratio:.1}x the unchanged run ({:.1} s)",
            d.total_seconds, d.baseline_seconds
        );
    }
    for m in &d.mutants {
        let word = match m.outcome {
            Outcome::Caught => "caught",
            Outcome::Missed => "MISSED",
            Outcome::NotApplicable => "n/a",
        };
        let _ = writeln!(
            s,
            "  {word:<7} {:<36} in {}: {}",
            m.injector,
            m.system,
            m.how()
        );
        if let Some(e) = m.example.as_ref().and_then(|e| e.entitlement.as_ref()) {
            let _ = writeln!(s, "          example: {e}");
        }
    }
}
