//! What a run measured, mergeable across threads and shards: tallies per
//! cell, findings grouped by root cause (waivers applied), counts.
//!
//! Results never depend on the thread count or on sharding: every case is
//! judged alone, aggregation only sums counts and keeps, per group, the
//! example that is smallest by a total order (size, then source). That is
//! what lets `keycompat merge` rebuild an unsharded run from shards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::check::{Cell, Tally};
use crate::date::Day;
use crate::finding::{Check, Finding, Group, GroupKey, Severity, Source};
use crate::waiver::{self, Waiver};

use super::replay_command::replay_command;

/// Counts the gates and the summary need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Vector checks (exact keys, verdicts, decodes).
    pub vector_checks: u64,
    /// Vector checks that failed (unwaived).
    pub vector_failures: u64,
    /// Cases from vectors and regressions run through the matrix.
    pub vector_cases: u64,
    /// Of those, cases with an unwaived finding.
    pub vector_cases_failing: u64,
    /// Random cases run.
    pub random_cases: u64,
    /// Random cases with an unwaived finding.
    pub random_cases_failing: u64,
    /// Orders (from an order export) run through the matrix.
    #[serde(default)]
    pub order_cases: u64,
    /// Of those, orders with an unwaived finding.
    #[serde(default)]
    pub order_cases_failing: u64,
    /// Findings covered by an active waiver.
    pub waived_findings: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.vector_checks += o.vector_checks;
        self.vector_failures += o.vector_failures;
        self.vector_cases += o.vector_cases;
        self.vector_cases_failing += o.vector_cases_failing;
        self.random_cases += o.random_cases;
        self.random_cases_failing += o.random_cases_failing;
        self.order_cases += o.order_cases;
        self.order_cases_failing += o.order_cases_failing;
        self.waived_findings += o.waived_findings;
    }
}

/// Groups by (root cause, index of the waiver covering them).
pub type GroupMap = BTreeMap<(GroupKey, Option<usize>), Group>;

/// Everything a run measured: mergeable across shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Observations per cell.
    #[serde(with = "cells")]
    pub(super) tallies: BTreeMap<Cell, Tally>,
    /// Groups by (root cause, waiver index).
    #[serde(with = "groups")]
    pub(super) groups: GroupMap,
    /// Per waiver: (matched while active, matched after expiry).
    pub(super) waiver_uses: Vec<(u64, u64)>,
    /// Counts.
    pub(super) counts: Counts,
    /// Scenario coverage: what parts of the entitlement space were observed.
    #[serde(default, rename = "coverage_counts")]
    pub(super) coverage: crate::coverage::Coverage,
    /// Sizes of the group examples, so a new finding is compared without
    /// re-measuring the example it competes with.
    #[serde(skip)]
    example_sizes: SizeCache,
}

/// A cache that never makes two aggregates differ.
#[derive(Debug, Clone, Default)]
struct SizeCache(std::collections::HashMap<(GroupKey, Option<usize>), usize>);

impl PartialEq for SizeCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SizeCache {}

/// Serde for the tally map as a list (JSON maps need string keys).
mod cells {
    use super::*;
    #[derive(Serialize, Deserialize)]
    struct Row {
        check: Check,
        generator: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validator: Option<String>,
        #[serde(flatten)]
        tally: Tally,
    }
    pub fn serialize<S: serde::Serializer>(
        m: &BTreeMap<Cell, Tally>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let rows: Vec<Row> = m
            .iter()
            .map(|((c, g, v), t)| Row {
                check: *c,
                generator: g.clone(),
                validator: v.clone(),
                tally: *t,
            })
            .collect();
        rows.serialize(s)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Cell, Tally>, D::Error> {
        Ok(Vec::<Row>::deserialize(d)?
            .into_iter()
            .map(|r| ((r.check, r.generator, r.validator), r.tally))
            .collect())
    }
}

/// Serde for the group map as a list.
mod groups {
    use super::*;
    #[derive(Serialize, Deserialize)]
    struct Row {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waiver_index: Option<usize>,
        #[serde(flatten)]
        group: Group,
    }
    pub fn serialize<S: serde::Serializer>(m: &GroupMap, s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<Row> = m
            .iter()
            .map(|((_, w), g)| Row {
                waiver_index: *w,
                group: g.clone(),
            })
            .collect();
        rows.serialize(s)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<GroupMap, D::Error> {
        Ok(Vec::<Row>::deserialize(d)?
            .into_iter()
            .map(|r| ((r.group.key.clone(), r.waiver_index), r.group))
            .collect())
    }
}

/// The order in which examples compete: smaller first, then by source.
fn example_order(f: &Finding) -> (usize, &Source, &str) {
    (f.size(), &f.source, &f.case_id)
}

impl Aggregate {
    /// An empty aggregate for `n_waivers` waivers.
    pub fn new(n_waivers: usize) -> Self {
        Aggregate {
            waiver_uses: vec![(0, 0); n_waivers],
            ..Default::default()
        }
    }

    /// Adds another aggregate (another thread's, or another shard's).
    pub fn merge(&mut self, other: Aggregate) {
        for (cell, t) in other.tallies {
            self.tallies.entry(cell).or_default().add(&t);
        }
        for (key, g) in other.groups {
            self.add_group(key, g);
        }
        if self.waiver_uses.len() < other.waiver_uses.len() {
            self.waiver_uses.resize(other.waiver_uses.len(), (0, 0));
        }
        for (a, b) in self.waiver_uses.iter_mut().zip(other.waiver_uses) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.counts.add(&other.counts);
        self.coverage.merge(other.coverage);
    }

    fn add_group(&mut self, key: (GroupKey, Option<usize>), g: Group) {
        match self.groups.get_mut(&key) {
            None => {
                self.groups.insert(key, g);
            }
            Some(existing) => {
                existing.count += g.count;
                if example_order(&g.example) < example_order(&existing.example) {
                    existing.example = g.example;
                    existing.replay = g.replay;
                    existing.shrunk = g.shrunk;
                    self.example_sizes.0.remove(&key);
                }
            }
        }
    }

    /// Makes every group's replay command name the config (`--config PATH`),
    /// for a run given one: pasted in the same directory, it then replays
    /// the finding against the same config.
    pub fn set_replay_config(&mut self, config: &str) {
        for g in self.groups.values_mut() {
            g.replay = super::replay_command::with_config(&g.replay, config);
        }
    }

    /// Records one case's findings, applying waivers. Returns whether any
    /// finding was left unwaived.
    pub fn record(&mut self, findings: Vec<Finding>, waivers: &[Waiver], today: Day) -> bool {
        self.record_watched(findings, waivers, today, &mut |_| {})
    }

    /// [`Self::record`], telling `unwaived` the root cause of each finding
    /// no waiver covers.
    pub fn record_watched(
        &mut self,
        findings: Vec<Finding>,
        waivers: &[Waiver],
        today: Day,
        unwaived_group: &mut dyn FnMut(&GroupKey),
    ) -> bool {
        let mut unwaived = false;
        for f in findings {
            let w = waiver::waive(waivers, &mut self.waiver_uses, &f, today);
            match w {
                Some(_) => self.counts.waived_findings += 1,
                None => {
                    unwaived = true;
                    unwaived_group(&f.key);
                }
            }
            let key = (f.key.clone(), w);
            // Most findings join an existing group and only compete for its
            // example: build the group (its replay command) only when needed.
            if let Some(existing) = self.groups.get_mut(&key) {
                existing.count += 1;
                let size = f.size();
                let current = *self
                    .example_sizes
                    .0
                    .entry(key)
                    .or_insert_with(|| existing.example.size());
                if (size, &f.source, &f.case_id)
                    < (current, &existing.example.source, &existing.example.case_id)
                {
                    existing.replay = replay_command(&f);
                    existing.example = f;
                    existing.shrunk = None;
                    self.example_sizes.0.insert((existing.key.clone(), w), size);
                }
                continue;
            }
            let replay = replay_command(&f);
            let group = Group {
                id: f.key.id(),
                key: f.key.clone(),
                count: 1,
                replay,
                waived_by: w.map(|i| waivers[i].ticket.clone()),
                example: f,
                shrunk: None,
                unreproduced: false,
            };
            self.groups.insert(key, group);
        }
        unwaived
    }

    /// Records one observation at `cell`: a pass, or a failure.
    pub fn observe(&mut self, cell: Cell, passed: bool) {
        let t = self.tallies.entry(cell).or_default();
        if passed {
            t.pass += 1;
        } else {
            t.fail += 1;
        }
    }

    /// Adds a case's tallies.
    pub fn add_tallies(&mut self, tallies: BTreeMap<Cell, Tally>) {
        for (cell, t) in tallies {
            self.tallies.entry(cell).or_default().add(&t);
        }
    }

    /// Counts one checked vector, failing or not.
    pub fn count_vector_check(&mut self, failing: bool) {
        self.counts.vector_checks += 1;
        self.counts.vector_failures += u64::from(failing);
    }

    /// Observations per cell of the matrix.
    pub fn tallies(&self) -> &BTreeMap<Cell, Tally> {
        &self.tallies
    }

    /// Per waiver: (matched while active, matched after expiry).
    pub fn waiver_uses(&self) -> &[(u64, u64)] {
        &self.waiver_uses
    }

    /// Scenario coverage: what parts of the entitlement space were observed.
    pub fn coverage(&self) -> &crate::coverage::Coverage {
        &self.coverage
    }

    /// The finding groups, by (root cause, waiver index).
    pub fn groups(&self) -> &GroupMap {
        &self.groups
    }

    /// The counts.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Marks a group whose example did not fail the same way when run again.
    pub fn set_unreproduced(&mut self, key: &(GroupKey, Option<usize>)) {
        if let Some(g) = self.groups.get_mut(key) {
            g.unreproduced = true;
        }
    }

    /// Sets the shrunk example of a group; its replay command then replays
    /// the shrunk example, the one every report shows.
    pub fn set_shrunk(&mut self, key: &(GroupKey, Option<usize>), shrunk: Option<Finding>) {
        if let Some(g) = self.groups.get_mut(key) {
            if let Some(command) = shrunk
                .as_ref()
                .and_then(super::replay_command::shrunk_command)
            {
                g.replay = command;
            }
            g.shrunk = shrunk;
        }
    }

    /// Unwaived findings per (check, severity).
    pub fn unwaived(&self) -> Vec<(Check, Severity, u64)> {
        let mut m: BTreeMap<(Check, Severity), u64> = BTreeMap::new();
        for ((k, w), g) in &self.groups {
            if w.is_none() {
                *m.entry((k.check, k.severity)).or_default() += g.count;
            }
        }
        m.into_iter().map(|((c, s), n)| (c, s, n)).collect()
    }
}
