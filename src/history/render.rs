//! The trend as plain text, for `keycompat history` and the terminal
//! summary: one line per day, readable without colour, numbers and words as
//! every other output writes them.

use std::fmt::Write;

use super::trend::{DayRow, Trend};
use crate::words::{count, counted, percent};

/// `p` as a percentage, or `-`.
fn share(p: Option<f64>) -> String {
    p.map(percent).unwrap_or_else(|| "-".into())
}

/// The unwaived findings of a day: `2 outages, 1 drift`, or `none`.
pub fn findings(row: &DayRow) -> String {
    if row.unwaived.is_empty() {
        return "none".into();
    }
    row.unwaived
        .iter()
        .map(|(s, n)| counted(*n, s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The gates of a day in words: `red: vectors; yellow: no drift`.
pub fn gates(row: &DayRow) -> String {
    let mut parts = Vec::new();
    if !row.red_gates.is_empty() {
        parts.push(format!("red: {}", row.red_gates.join(", ")));
    }
    if !row.yellow_gates.is_empty() {
        parts.push(format!("yellow: {}", row.yellow_gates.join(", ")));
    }
    if parts.is_empty() {
        "all green".into()
    } else {
        parts.join("; ")
    }
}

/// The trend, one block per day (most recent last), at most `last` days.
pub fn terminal(t: &Trend, last: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "history {}: {} over {}",
        t.file,
        counted(t.records, "record"),
        counted(t.days.len() as u64, "day")
    );
    for p in &t.skipped {
        let _ = writeln!(s, "  {p}");
    }
    for n in &t.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    let targets = match t.field_keys_target_percent {
        Some(f) => format!(
            "targets: orders {} % clean each day, field keys {f} % across runs",
            t.orders_target_percent
        ),
        None => format!(
            "target: orders {} % clean each day",
            t.orders_target_percent
        ),
    };
    let _ = writeln!(s, "  {targets}\n");
    let skip = t.days.len().saturating_sub(last);
    if skip > 0 {
        let _ = writeln!(s, "({} earlier days not shown)", count(skip as u64));
    }
    for row in &t.days[skip..] {
        let runs = if row.runs == 1 {
            String::new()
        } else {
            format!(" ({} runs)", count(row.runs))
        };
        let restarted = if row.restarted {
            " [clock restarted: new system changed]"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "{}  {}{runs}{restarted}",
            row.date,
            row.verdict.verdict_title()
        );
        let _ = writeln!(s, "    gates: {}", gates(row));
        let _ = writeln!(
            s,
            "    groups: {} new, {} fixed{}; unwaived findings: {}; {} waived",
            count(row.new_groups.len() as u64),
            count(row.fixed_groups.len() as u64),
            list_ids(&row.new_groups, &row.fixed_groups),
            findings(row),
            count(row.waived)
        );
        let _ = writeln!(
            s,
            "    orders clean {} (cumulative {}), field keys {} (cumulative {})",
            share(row.orders_percent),
            share(row.orders_cumulative_percent),
            share(row.field_keys_percent),
            share(row.field_keys_cumulative_percent)
        );
    }
    s
}

fn list_ids(new: &[String], fixed: &[String]) -> String {
    let show = |ids: &[String]| {
        let mut v = ids[..ids.len().min(3)].join(", ");
        if ids.len() > 3 {
            v.push_str(", ...");
        }
        v
    };
    match (new.is_empty(), fixed.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" (new {})", show(new)),
        (true, false) => format!(" (fixed {})", show(fixed)),
        (false, false) => format!(" (new {}; fixed {})", show(new), show(fixed)),
    }
}
