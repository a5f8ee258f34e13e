//! The go-live criteria over time, judged over the history and this run:
//! orders dual-run clean day after day, field keys validated across runs,
//! no red gate lately.
//!
//! Days are calendar days of the runs' `--today`. A day is *clean* for the
//! dual-run when at least one of its runs ran orders with at least `[gates]
//! min_orders_percent` of the export clean and none of its runs had an order
//! with an unwaived finding. The clock of the dual-run and of the
//! cumulative field-key coverage starts again after the last run whose new
//! system differs from this run's ([`RestartOn`]): evidence about another
//! build does not prove this one. "No red days" looks at every run in its
//! window whatever the system, and never at the history gates themselves
//! (a red history gate would otherwise keep itself red).

use std::collections::{BTreeMap, BTreeSet};

use super::config::{Level, RestartOn};
use super::ids::IdSet;
use super::record::{Record, SystemId, percent_of};
use crate::date::Day;
use crate::gate::{Gate, GatesConfig, Status};
use crate::words::{count, counted, percent};

/// The name of the gate on [`super::config::HistoryGates::dual_run_days`].
pub const DUAL_RUN_GATE: &str = "dual-run days";
/// The name of the gate on [`super::config::HistoryGates::field_keys_percent`].
pub const FIELD_KEYS_GATE: &str = "field keys across runs";
/// The name of the gate on [`super::config::HistoryGates::no_red_days`].
pub const NO_RED_GATE: &str = "no red days";
/// Every history gate.
pub const GATES: [&str; 3] = [DUAL_RUN_GATE, FIELD_KEYS_GATE, NO_RED_GATE];

/// Whether two records' new systems are the same for `on`.
pub fn same_system(a: &SystemId, b: &SystemId, on: RestartOn) -> bool {
    match on {
        RestartOn::Never => true,
        RestartOn::Version => a.name == b.name && a.version == b.version,
        RestartOn::Hash => match (&a.sha256, &b.sha256) {
            (Some(x), Some(y)) => x == y,
            (None, None) => a.name == b.name && a.version == b.version,
            _ => false,
        },
    }
}

/// The runs up to `now`'s day in the order they happened (by day, then as
/// recorded), ending with `now`; and how many were left out for being
/// dated after it.
pub fn timeline<'a>(past: &[&'a Record], now: &'a Record) -> (Vec<&'a Record>, u64) {
    let mut t: Vec<&Record> = past
        .iter()
        .copied()
        .filter(|r| r.date <= now.date)
        .collect();
    let later = (past.len() - t.len()) as u64;
    t.sort_by_key(|r| r.date);
    t.push(now);
    (t, later)
}

/// Where the clock started again: the first run with `now`'s system after
/// the last run with another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    /// The day of the first run with the current system.
    pub day: Day,
    /// The system before.
    pub from: SystemId,
    /// The system now.
    pub to: SystemId,
}

impl Restart {
    /// In words, for gates and notes: `the new system changed (a 1.0 ->
    /// b 2.0)`, with each one's SHA-256 only when a rebuild is all that
    /// tells them apart.
    pub fn describe(&self) -> String {
        let (from, to) = if self.from.name == self.to.name && self.from.version == self.to.version {
            (self.from.short(), self.to.short())
        } else {
            (
                format!("{} {}", self.from.name, self.from.version),
                format!("{} {}", self.to.name, self.to.version),
            )
        };
        format!("the new system changed ({from} -> {to})")
    }
}

/// The index in `timeline` where the clock starts under `on`, and the
/// change that started it, if any.
pub fn clock_start(timeline: &[&Record], on: RestartOn) -> (usize, Option<Restart>) {
    let Some(now) = timeline.last() else {
        return (0, None);
    };
    match timeline
        .iter()
        .rposition(|r| !same_system(&r.new_system, &now.new_system, on))
    {
        Some(i) => (
            i + 1,
            Some(Restart {
                day: timeline[i + 1].date,
                from: timeline[i].new_system.clone(),
                to: now.new_system.clone(),
            }),
        ),
        None => (0, None),
    }
}

/// What the history gates found, besides the gates: for the report's notes.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    /// The gates, in the order of the config.
    pub gates: Vec<Gate>,
    /// Notes on the clock: where it restarted, or a change that did not
    /// restart it.
    pub notes: Vec<String>,
}

/// Judges the history gates of `config` over `past` (any order) and `now`
/// (this run, before these gates are added to it).
pub fn judge(config: &GatesConfig, past: &[&Record], now: &Record) -> Judged {
    let h = &config.history;
    let (timeline, later) = timeline(past, now);
    let (start, restart) = clock_start(&timeline, h.restart_on_new_system);
    let mut notes = Vec::new();
    match (&restart, h.restart_on_new_system) {
        (Some(r), _) => notes.push(format!(
            "the clock restarted on {}: {} (restart_on_new_system = \"{}\")",
            r.day,
            r.describe(),
            h.restart_on_new_system.as_str()
        )),
        // "version" says a rebuild is no change; "never" still wants to know.
        (None, RestartOn::Never) => {
            if let (_, Some(r)) = clock_start(&timeline, RestartOn::Hash) {
                notes.push(format!(
                    "{} on {}; restart_on_new_system = \"never\": the clock runs on",
                    r.describe(),
                    r.day
                ));
            }
        }
        _ => {}
    }
    if later > 0 {
        notes.push(format!(
            "{} dated after {} left out",
            counted(later, "record"),
            now.date
        ));
    }
    let failed = match h.level {
        Level::Red => Status::Red,
        Level::Yellow => Status::Yellow,
    };
    let mut gates = Vec::new();
    if let (Some(days), Some(_)) = (h.dual_run_days, &now.orders) {
        gates.push(dual_run(
            days,
            config.min_orders_percent,
            &timeline,
            start,
            restart.as_ref(),
            failed,
        ));
    }
    if let (Some(p), Some(fk)) = (h.field_keys_percent, &now.field_keys) {
        gates.push(field_keys(p, fk.rows, &timeline[start..], failed));
    }
    if let Some(days) = h.no_red_days {
        gates.push(no_red(days, &timeline, failed));
    }
    Judged { gates, notes }
}

/// Whether a day's runs (with the current system) ran its orders clean.
fn day_fault(runs: &[&Record], min_percent: u32) -> Option<String> {
    let with_orders: Vec<&Record> = runs
        .iter()
        .copied()
        .filter(|r| r.orders.is_some())
        .collect();
    if runs.is_empty() {
        return Some("no run".into());
    }
    if with_orders.is_empty() {
        return Some("no orders run".into());
    }
    let dirty: Vec<&Record> = with_orders
        .iter()
        .copied()
        .filter(|r| r.orders.as_ref().is_some_and(|o| o.with_findings > 0))
        .collect();
    if !dirty.is_empty() {
        let n: u64 = dirty
            .iter()
            .filter_map(|r| r.orders.as_ref())
            .map(|o| o.with_findings)
            .sum();
        let groups: BTreeSet<&str> = dirty.iter().flat_map(|r| r.unwaived_groups()).collect();
        let groups: Vec<&str> = groups.into_iter().collect();
        let mut s = format!("{} with unwaived findings", counted(n, "order"));
        if !groups.is_empty() {
            s.push_str(&format!(" (unwaived groups {})", shorten(&groups, 5)));
        }
        return Some(s);
    }
    let best = with_orders
        .iter()
        .filter_map(|r| r.orders.as_ref())
        .map(|o| o.clean_percent())
        .fold(0.0_f64, f64::max);
    if best + 1e-9 < f64::from(min_percent) {
        return Some(format!(
            "{} of the orders run clean, {min_percent} % required",
            percent(best)
        ));
    }
    None
}

/// `ids` joined, at most `n` of them, then "and N more".
fn shorten(ids: &[&str], n: usize) -> String {
    let mut s = ids[..ids.len().min(n)].join(", ");
    if ids.len() > n {
        s.push_str(&format!(" and {} more", count((ids.len() - n) as u64)));
    }
    s
}

fn dual_run(
    days: u32,
    min_percent: u32,
    timeline: &[&Record],
    start: usize,
    restart: Option<&Restart>,
    failed: Status,
) -> Gate {
    let now = timeline.last().map(|r| r.date);
    let first = timeline.first().map(|r| r.date);
    let mut by_day: BTreeMap<Day, Vec<&Record>> = BTreeMap::new();
    for r in &timeline[start..] {
        by_day.entry(r.date).or_default().push(r);
    }
    let mut streak = 0u32;
    let mut fault = None;
    let mut day = now;
    while let Some(d) = day {
        if streak >= days {
            break;
        }
        if let Some(r) = restart.filter(|r| d < r.day) {
            fault = Some(format!(
                "the clock restarted on {}: {}",
                r.day,
                r.describe()
            ));
            break;
        }
        if first.is_some_and(|f| d < f) {
            fault = Some(format!(
                "the history starts on {}",
                first.map(|f| f.to_string()).unwrap_or_default()
            ));
            break;
        }
        let runs = by_day.get(&d).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(why) = day_fault(runs, min_percent) {
            fault = Some(format!("{d}: {why}"));
            break;
        }
        streak += 1;
        day = d.add_days(-1);
    }
    let met = streak >= days;
    let since = now.and_then(|n| n.add_days(1 - i64::from(streak)));
    let span = match (since, now, streak) {
        (_, _, 0) => String::new(),
        (Some(s), Some(n), _) => format!(" ({s} .. {n})"),
        _ => String::new(),
    };
    let mut measured = format!(
        "{} of {} clean in a row{span}",
        count(u64::from(streak)),
        counted(u64::from(days), "day")
    );
    if !met && let Some(f) = fault {
        measured.push_str(&format!("; {f}"));
    }
    Gate {
        name: DUAL_RUN_GATE.into(),
        status: if met { Status::Green } else { failed },
        criterion: format!(
            "orders run through both systems with no unwaived finding on each of the last {} \
             days, at least {min_percent} % of the order export clean each day",
            count(u64::from(days))
        ),
        measured,
    }
}

fn field_keys(min_percent: u32, rows: u64, since_clock: &[&Record], failed: Status) -> Gate {
    let mut covered = IdSet::default();
    let mut runs = 0u64;
    let mut first = None;
    for r in since_clock {
        if let Some(fk) = &r.field_keys {
            covered.union(&fk.clean);
            runs += 1;
            first.get_or_insert(r.date);
        }
    }
    let share = percent_of(covered.len(), rows);
    let met = share + 1e-9 >= f64::from(min_percent);
    Gate {
        name: FIELD_KEYS_GATE.into(),
        status: if met { Status::Green } else { failed },
        criterion: format!(
            "distinct field keys validated identically across runs: at least {min_percent} % of \
             the field-key export"
        ),
        measured: format!(
            "{} across {}{}: {} of the {} in this run's export ({min_percent} % required)",
            counted(covered.len(), "distinct key"),
            counted(runs, "run"),
            first.map(|d| format!(" since {d}")).unwrap_or_default(),
            percent(share),
            count(rows)
        ),
    }
}

fn no_red(days: u32, timeline: &[&Record], failed: Status) -> Gate {
    let Some(now) = timeline.last().map(|r| r.date) else {
        return Gate {
            name: NO_RED_GATE.into(),
            status: Status::Green,
            criterion: String::new(),
            measured: String::new(),
        };
    };
    // A window reaching before year 0 starts there.
    let from = now
        .add_days(1 - i64::from(days))
        .or_else(|| Day::from_ymd(0, 1, 1))
        .unwrap_or(now);
    let window: Vec<&Record> = timeline
        .iter()
        .copied()
        .filter(|r| r.date >= from)
        .collect();
    let mut red: BTreeMap<Day, BTreeSet<&str>> = BTreeMap::new();
    for r in &window {
        for g in &r.gates {
            if g.status == Status::Red && !GATES.contains(&g.name.as_str()) {
                red.entry(r.date).or_default().insert(&g.name);
            }
        }
    }
    let covered_days: BTreeSet<Day> = window.iter().map(|r| r.date).collect();
    let measured = if red.is_empty() {
        format!(
            "no red gate in {} over {} ({from} .. {now})",
            counted(window.len() as u64, "run"),
            counted(covered_days.len() as u64, "day")
        )
    } else {
        let listed: Vec<String> = red
            .iter()
            .rev()
            .take(3)
            .map(|(d, g)| format!("{d}: {}", g.iter().copied().collect::<Vec<_>>().join(", ")))
            .collect();
        let more = red.len().saturating_sub(3);
        format!(
            "red gates on {} of the last {} days: {}{}",
            count(red.len() as u64),
            count(u64::from(days)),
            listed.join("; "),
            if more > 0 {
                format!(" and {} more", counted(more as u64, "day"))
            } else {
                String::new()
            }
        )
    };
    Gate {
        name: NO_RED_GATE.into(),
        status: if red.is_empty() {
            Status::Green
        } else {
            failed
        },
        criterion: format!(
            "no red gate in any run of the last {} days",
            count(u64::from(days))
        ),
        measured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::Scope;
    use crate::history::record::{SCHEMA, Share};

    fn system(version: &str, sha: &str) -> SystemId {
        SystemId {
            name: "acme-ed1".into(),
            version: version.into(),
            sha256: Some(sha.into()),
        }
    }

    fn record(day: u8, orders: Option<(u64, u64)>, new: SystemId) -> Record {
        Record {
            schema: SCHEMA.into(),
            date: Day::from_ymd(2026, 11, day).expect("a day"),
            scope: Scope::Data,
            shards: 0,
            seed: 1,
            random_cases: 0,
            keycompat_version: "0".into(),
            config_sha256: String::new(),
            new: "new".into(),
            new_system: new,
            plugins: Default::default(),
            verdict: Status::Green,
            gates: Vec::new(),
            groups: Vec::new(),
            field_keys: None,
            orders: orders.map(|(run, with_findings)| Share {
                rows: 100,
                run,
                with_findings,
                clean: IdSet::default(),
            }),
        }
    }

    fn config(days: u32, restart: RestartOn) -> GatesConfig {
        let mut c = GatesConfig::default();
        c.history.dual_run_days = Some(days);
        c.history.restart_on_new_system = restart;
        c
    }

    #[test]
    fn a_gap_a_short_share_or_a_new_build_breaks_the_streak() {
        let a = system("1.0", "aa");
        let past: Vec<Record> = [1, 2, 4, 5]
            .into_iter()
            .map(|d| record(d, Some((20, 0)), a.clone()))
            .collect();
        let past: Vec<&Record> = past.iter().collect();
        let now = record(6, Some((20, 0)), a.clone());
        let g = &judge(&config(3, RestartOn::Hash), &past, &now).gates[0];
        assert_eq!(g.status, Status::Green, "{g:?}");
        let g = &judge(&config(4, RestartOn::Hash), &past, &now).gates[0];
        assert_eq!(g.status, Status::Red);
        assert!(g.measured.ends_with("2026-11-03: no run"), "{g:?}");
        // 5 % of the orders is not the 10 % required.
        let short = record(6, Some((5, 0)), a.clone());
        let g = &judge(&config(1, RestartOn::Hash), &past, &short).gates[0];
        assert!(
            g.measured.contains("5.00 % of the orders run clean"),
            "{g:?}"
        );
        // A rebuild restarts the clock unless the version is what counts.
        let rebuilt = record(6, Some((20, 0)), system("1.0", "bb"));
        let g = &judge(&config(2, RestartOn::Hash), &past, &rebuilt).gates[0];
        assert!(
            g.measured.contains("the clock restarted on 2026-11-06"),
            "{g:?}"
        );
        let g = &judge(&config(2, RestartOn::Version), &past, &rebuilt).gates[0];
        assert_eq!(g.status, Status::Green, "{g:?}");
    }

    #[test]
    fn records_after_today_are_left_out_and_said_so() {
        let a = system("1.0", "aa");
        let later = record(9, Some((20, 20)), a.clone());
        let now = record(6, Some((20, 0)), a);
        let judged = judge(&config(1, RestartOn::Hash), &[&later], &now);
        assert_eq!(judged.gates[0].status, Status::Green);
        assert_eq!(judged.notes, ["1 record dated after 2026-11-06 left out"]);
    }
}
