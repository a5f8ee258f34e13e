//! A finished run and its history: the run's [`Record`], and the run judged
//! over time ([`RunResult::with_history`]): the history gates added, the
//! verdict re-derived, the trend attached for the reports.

use std::collections::BTreeMap;

use super::criteria::{self, GATES};
use super::file::History;
use super::record::{GateStatus, GroupCount, Record, SCHEMA, Share, SystemId};
use super::trend::{self, Trend};
use crate::gate::GatesConfig;
use crate::implementation::{ImplInfo, Origin};
use crate::run::RunResult;
use crate::sources::SourceSummary;

fn system_id(info: Option<&ImplInfo>) -> SystemId {
    match info {
        Some(i) => SystemId {
            name: i.name.clone(),
            version: i.version.clone(),
            sha256: sha256(i),
        },
        None => SystemId {
            name: String::new(),
            version: String::new(),
            sha256: None,
        },
    }
}

fn sha256(info: &ImplInfo) -> Option<String> {
    match &info.origin {
        Origin::Plugin { sha256, .. } => Some(sha256.clone()),
        Origin::Process { sha256, .. } => sha256.clone(),
        Origin::Builtin { .. } => None,
    }
}

fn share(s: &SourceSummary) -> Share {
    Share {
        rows: s.rows,
        run: s.run,
        with_findings: s.with_findings,
        clean: s.clean_ids.clone(),
    }
}

/// The history record of a finished run; `shards` is how many shard
/// reports a merge joined (0 for a run).
pub fn record_of(r: &RunResult, shards: u32) -> Record {
    let m = &r.meta;
    let mut groups: BTreeMap<String, GroupCount> = BTreeMap::new();
    for g in r.aggregate.groups().values() {
        let id = if g.id.is_empty() {
            g.key.id()
        } else {
            g.id.clone()
        };
        let entry = groups.entry(id.clone()).or_insert_with(|| GroupCount {
            id,
            check: g.key.check,
            severity: g.key.severity,
            findings: 0,
            waived: 0,
        });
        entry.findings += g.count;
        if g.waived_by.is_some() {
            entry.waived += g.count;
        }
    }
    Record {
        schema: SCHEMA.to_string(),
        date: m.today,
        scope: m.scope,
        shards,
        seed: m.seed,
        random_cases: r.aggregate.counts().random_cases,
        keycompat_version: m.keycompat_version.clone(),
        config_sha256: m.config_sha256.clone(),
        new: m.new.clone(),
        new_system: system_id(m.systems.get(&m.new)),
        plugins: m
            .systems
            .iter()
            .filter_map(|(name, info)| sha256(info).map(|h| (name.clone(), h)))
            .collect(),
        verdict: r.verdict,
        gates: r
            .gates
            .iter()
            .map(|g| GateStatus {
                name: g.name.clone(),
                status: g.status,
            })
            .collect(),
        groups: groups.into_values().collect(),
        field_keys: r
            .data
            .as_ref()
            .and_then(|d| d.field_keys.as_ref())
            .map(share),
        orders: r.data.as_ref().and_then(|d| d.orders.as_ref()).map(share),
    }
}

impl RunResult {
    /// Judges the run over its `history` (read before the run): adds the
    /// gates of `[gates.history]`, re-derives the verdict, and attaches the
    /// trend; `appended` says whether the caller will append this run's
    /// record ([`record_of`] of the result). Judged afresh if judged before.
    pub fn with_history(mut self, history: &History, file: &str, appended: bool) -> Self {
        self.gates.retain(|g| !GATES.contains(&g.name.as_str()));
        let config = self.meta.gates_config.clone();
        let past: Vec<&Record> = history.records().collect();
        let before = record_of(&self, 0);
        let judged = criteria::judge(&config, &past, &before);
        self.gates.extend(judged.gates);
        self.verdict = self.meta.verdict(&self.gates);
        let now = record_of(&self, 0);
        let (timeline, _) = criteria::timeline(&past, &now);
        self.history = Some(Trend {
            file: file.to_string(),
            records: history.records.len() as u64,
            appended,
            skipped: history.problems.clone(),
            notes: judged.notes,
            orders_target_percent: config.min_orders_percent,
            field_keys_target_percent: config.history.field_keys_percent,
            dual_run_days: config.history.dual_run_days,
            days: trend::days(&timeline, config.history.restart_on_new_system),
        });
        self
    }
}

/// The trend of a history file alone (`keycompat history`), judged with the
/// config's `gates`: its last run stands for "now".
pub fn of_file(h: &History, file: &str, gates: &GatesConfig) -> Trend {
    let on = gates.history.restart_on_new_system;
    let mut timeline: Vec<&Record> = h.records().collect();
    timeline.sort_by_key(|r| r.date);
    let mut notes = Vec::new();
    if let (_, Some(r)) = criteria::clock_start(&timeline, on) {
        notes.push(format!(
            "the clock restarted on {}: {}",
            r.day,
            r.describe()
        ));
    }
    Trend {
        file: file.to_string(),
        records: h.records.len() as u64,
        appended: false,
        skipped: h.problems.clone(),
        notes,
        orders_target_percent: gates.min_orders_percent,
        field_keys_target_percent: gates.history.field_keys_percent,
        dual_run_days: gates.history.dual_run_days,
        days: trend::days(&timeline, on),
    }
}
