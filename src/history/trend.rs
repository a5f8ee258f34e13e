//! The trend per day, as every report shows it: the day's verdict and
//! gates, finding groups new and fixed since the day before, unwaived
//! findings per severity, the day's shares of the exports and the
//! cumulative coverage since the clock started, against the targets.
//!
//! A day with several runs shows its worst verdict, every gate that was red
//! or yellow in any of them, and the counts and shares of its last run (the
//! best share for the dual-run, as the gate counts it). Built from records
//! only, so `keycompat history` draws the same trend from the file alone.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::config::RestartOn;
use super::criteria::same_system;
use super::ids::IdSet;
use super::record::Problem;
use super::record::{Record, percent_of};
use crate::date::Day;
use crate::finding::Severity;
use crate::gate::Status;

/// One day of the trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRow {
    /// The day.
    pub date: Day,
    /// Runs recorded that day.
    pub runs: u64,
    /// The worst verdict of the day.
    pub verdict: Status,
    /// Gates red in any run of the day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub red_gates: Vec<String>,
    /// Gates yellow (and never red) in the day's runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub yellow_gates: Vec<String>,
    /// Finding groups (by id) of the day not in the day before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_groups: Vec<String>,
    /// Finding groups of the day before that are gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_groups: Vec<String>,
    /// Unwaived findings per severity in the day's last run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unwaived: BTreeMap<Severity, u64>,
    /// Waived findings in the day's last run.
    pub waived: u64,
    /// The best share of the order export run clean that day, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders_percent: Option<f64>,
    /// The best share of the field-key export validated that day, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_keys_percent: Option<f64>,
    /// Distinct orders run clean since the clock started, in percent of the
    /// day's export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders_cumulative_percent: Option<f64>,
    /// Distinct field keys validated identically since the clock started, in
    /// percent of the day's export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_keys_cumulative_percent: Option<f64>,
    /// Whether the clock restarted that day (the new system changed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restarted: bool,
}

/// The history as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// The history file.
    pub file: String,
    /// Records read from it (not counting this run's).
    pub records: u64,
    /// Whether this run's record was appended to it.
    pub appended: bool,
    /// Lines of the file that are not records, skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Problem>,
    /// Notes: where the clock restarted, records left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The daily target of the dual-run: `[gates] min_orders_percent`.
    pub orders_target_percent: u32,
    /// The target of cumulative field-key coverage (`[gates.history]
    /// field_keys_percent`), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_keys_target_percent: Option<u32>,
    /// Days required clean in a row (`[gates.history] dual_run_days`), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dual_run_days: Option<u32>,
    /// One row per day with a run, oldest first.
    pub days: Vec<DayRow>,
}

/// The rows of `timeline` (runs in the order they happened), one per day.
pub fn days(timeline: &[&Record], restart_on: RestartOn) -> Vec<DayRow> {
    let mut rows: Vec<DayRow> = Vec::new();
    let mut field_keys = IdSet::default();
    let mut orders = IdSet::default();
    let mut previous_groups: BTreeSet<&str> = BTreeSet::new();
    let mut day_groups: BTreeSet<&str> = BTreeSet::new();
    let mut last: Option<&Record> = None;
    for r in timeline {
        let restarted =
            last.is_some_and(|l| !same_system(&l.new_system, &r.new_system, restart_on));
        if restarted {
            field_keys = IdSet::default();
            orders = IdSet::default();
        }
        last = Some(r);
        if let Some(fk) = &r.field_keys {
            field_keys.union(&fk.clean);
        }
        if let Some(o) = &r.orders {
            orders.union(&o.clean);
        }
        let new_day = rows.last().is_none_or(|row| row.date != r.date);
        if new_day {
            if !rows.is_empty() {
                previous_groups = std::mem::take(&mut day_groups);
            }
            rows.push(DayRow {
                date: r.date,
                runs: 0,
                verdict: Status::Green,
                red_gates: Vec::new(),
                yellow_gates: Vec::new(),
                new_groups: Vec::new(),
                fixed_groups: Vec::new(),
                unwaived: BTreeMap::new(),
                waived: 0,
                orders_percent: None,
                field_keys_percent: None,
                orders_cumulative_percent: None,
                field_keys_cumulative_percent: None,
                restarted: false,
            });
        }
        let first_day = rows.len() == 1;
        let Some(row) = rows.last_mut() else { break };
        day_groups.extend(r.groups.iter().map(|g| g.id.as_str()));
        row.runs += 1;
        row.verdict = row.verdict.max(r.verdict);
        row.restarted |= restarted;
        for g in &r.gates {
            let list = match g.status {
                Status::Red => &mut row.red_gates,
                Status::Yellow => &mut row.yellow_gates,
                _ => continue,
            };
            if !list.contains(&g.name) {
                list.push(g.name.clone());
            }
        }
        let red = row.red_gates.clone();
        row.yellow_gates.retain(|g| !red.contains(g));
        if !first_day {
            row.new_groups = day_groups
                .difference(&previous_groups)
                .map(|s| s.to_string())
                .collect();
            row.fixed_groups = previous_groups
                .difference(&day_groups)
                .map(|s| s.to_string())
                .collect();
        }
        row.unwaived = r.unwaived_by_severity();
        row.waived = r.waived();
        if let Some(o) = &r.orders {
            let p = o.clean_percent();
            row.orders_percent = Some(row.orders_percent.map_or(p, |q| q.max(p)));
            row.orders_cumulative_percent = Some(percent_of(orders.len(), o.rows));
        }
        if let Some(fk) = &r.field_keys {
            let p = fk.run_percent();
            row.field_keys_percent = Some(row.field_keys_percent.map_or(p, |q| q.max(p)));
            row.field_keys_cumulative_percent = Some(percent_of(field_keys.len(), fk.rows));
        }
    }
    rows
}
