//! `keycompat run`: vectors, regressions and random cases through the check
//! matrix, in parallel, aggregated into a [`RunResult`] that gates judge.
//!
//! Results never depend on the thread count or on sharding: every case is
//! judged alone, aggregation only sums counts and keeps, per group, the
//! example that is smallest by a total order (size, then source), and each
//! case belongs to a partition by its content-derived id. That is what lets
//! `keycompat merge` rebuild an unsharded run from shards.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::finding::{Check, Finding, Group, GroupKey, Severity, Source};
use crate::gate::{self, Gate, GateInputs, GatesConfig, Scope, Status};
use crate::implementation::ImplInfo;
use crate::matrix::{Case, Cell, Matrix, Tally};
use crate::random::Generator;
use crate::waiver::{self, Waiver, WaiverUse};

/// `k/n`: this run handles the cases whose id falls in shard `k` of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// 1-based shard number.
    pub k: u64,
    /// Number of shards.
    pub n: u64,
}

impl Partition {
    /// Parses `k/n` with 1 <= k <= n.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a partition k/n with 1 <= k <= n (e.g. 2/3)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u64, u64) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Partition { k, n })
    }

    /// Whether the case with this id belongs here.
    pub fn contains(&self, case_id: &str) -> bool {
        let h = Sha256::digest(case_id.as_bytes());
        let v = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        v % self.n == self.k - 1
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// The stable id of a case: derived from the entitlement's canonical JSON.
pub fn case_id(e: &Entitlement) -> String {
    let h = Sha256::digest(e.to_json().as_bytes());
    format!("c-{}", &hex::encode(h)[..12])
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed of the random cases.
    pub seed: u64,
    /// Number of random cases (before partitioning).
    pub cases: u64,
    /// Worker threads.
    pub threads: usize,
    /// Cases per batch.
    pub batch: usize,
    /// This shard, if sharded.
    pub partition: Option<Partition>,
    /// The day waivers are judged on.
    pub today: Day,
}

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
    pub tallies: BTreeMap<Cell, Tally>,
    /// Groups by (root cause, waiver index).
    #[serde(with = "groups")]
    pub groups: GroupMap,
    /// Per waiver: (matched while active, matched after expiry).
    pub waiver_uses: Vec<(u64, u64)>,
    /// Counts.
    pub counts: Counts,
    /// Scenario coverage: what parts of the entitlement space were observed.
    #[serde(default, rename = "coverage_counts")]
    pub coverage: crate::coverage::Coverage,
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

    /// Records one case's findings, applying waivers. Returns whether any
    /// finding was left unwaived.
    pub fn record(&mut self, findings: Vec<Finding>, waivers: &[Waiver], today: Day) -> bool {
        let mut unwaived = false;
        for f in findings {
            let w = waiver::waive(waivers, &mut self.waiver_uses, &f, today);
            match w {
                Some(_) => self.counts.waived_findings += 1,
                None => unwaived = true,
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
                key: f.key.clone(),
                count: 1,
                replay,
                waived_by: w.map(|i| waivers[i].ticket.clone()),
                example: f,
                shrunk: None,
            };
            self.groups.insert(key, group);
        }
        unwaived
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

/// The one-line command that replays a finding's case.
pub fn replay_command(f: &Finding) -> String {
    match &f.source {
        Source::Random { seed, index } => format!(
            "keycompat replay --seed {seed} --case {index} --check {}",
            f.key.check.as_str()
        ),
        Source::Vector { id, .. } => format!(
            "keycompat replay --vector {id} --check {}",
            f.key.check.as_str()
        ),
        Source::Steered { .. } | Source::Order { .. } => match &f.entitlement {
            Some(e) => format!(
                "keycompat replay --entitlement {} --check {}",
                shell_quote(&e.to_json()),
                f.key.check.as_str()
            ),
            None => String::new(),
        },
        Source::FieldKey { .. } => match (&f.license_key, &f.context, &f.key.validator) {
            (Some(key), Some(c), Some(validator)) => {
                let mut cmd = format!(
                    "keycompat validate --system {} --key {} --product {} --version {} --today {}",
                    shell_quote(validator),
                    shell_quote(key),
                    shell_quote(&c.product),
                    c.version,
                    c.today
                );
                if let Some(h) = &c.host_id {
                    cmd.push_str(&format!(" --host-id {}", shell_quote(h)));
                }
                cmd
            }
            _ => String::new(),
        },
    }
}

/// Quotes `s` for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/=+,@".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Where the cases of a batch come from, for the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vector,
    Random,
    Order,
}

/// Feeds cases to threads in batches and aggregates their outcomes.
pub struct Runner<'a> {
    /// The systems and releases.
    pub matrix: &'a Matrix,
    /// Waivers in force.
    pub waivers: &'a [Waiver],
    /// Options.
    pub options: &'a RunOptions,
    /// Set to stop taking new batches (Ctrl-C).
    pub stop: &'a AtomicBool,
    /// The entitlement space whose coverage the run tracks, if any.
    pub coverage: Option<&'a crate::coverage::CoverageSpace>,
}

impl Runner<'_> {
    /// A system that can no longer answer at all, and why.
    pub fn fatal(&self) -> Option<(String, String)> {
        self.matrix
            .systems
            .iter()
            .find_map(|(name, s)| s.fatal_error().map(|e| (name.clone(), e)))
    }

    /// Runs fixed cases (vectors, regressions) through the matrix.
    pub fn run_cases(&self, cases: &[Case], progress: &(dyn Fn(u64) + Sync)) -> Aggregate {
        self.run_fixed(cases, progress, Kind::Vector).0
    }

    /// Runs random cases steered into uncovered combinations.
    pub fn run_steered(&self, cases: &[Case]) -> Aggregate {
        self.run_fixed(cases, &|_| {}, Kind::Random).0
    }

    /// Runs cases from a data source (orders) through the matrix; returns
    /// the aggregate and, per case with an unwaived finding, its source and
    /// the checks that found something.
    pub fn run_sourced(&self, cases: &[Case]) -> (Aggregate, Vec<(Source, Vec<Check>)>) {
        self.run_fixed(cases, &|_| {}, Kind::Order)
    }

    /// Runs the cases of this partition, in batches, counted as `kind`.
    fn run_fixed(
        &self,
        cases: &[Case],
        progress: &(dyn Fn(u64) + Sync),
        kind: Kind,
    ) -> (Aggregate, Vec<(Source, Vec<Check>)>) {
        let cases: Vec<&Case> = cases
            .iter()
            .filter(|c| self.options.partition.is_none_or(|p| p.contains(&c.id)))
            .collect();
        let batches: Vec<Vec<Case>> = cases
            .chunks(self.options.batch.max(1))
            .map(|c| c.iter().map(|&x| x.clone()).collect())
            .collect();
        self.parallel(
            batches.len() as u64,
            progress,
            |b| batches[b as usize].clone(),
            |b| batches[b as usize].len() as u64,
            kind,
        )
    }

    /// Runs random cases `0..options.cases` of `generator`.
    pub fn run_random(&self, generator: &Generator, progress: &(dyn Fn(u64) + Sync)) -> Aggregate {
        let batch = self.options.batch.max(1) as u64;
        let n_batches = self.options.cases.div_ceil(batch);
        let seed = generator.seed();
        self.parallel(
            n_batches,
            progress,
            |b| {
                (b * batch..((b + 1) * batch).min(self.options.cases))
                    .filter_map(|index| {
                        let e = generator.entitlement(index);
                        let id = case_id(&e);
                        self.options
                            .partition
                            .is_none_or(|p| p.contains(&id))
                            .then_some(Case {
                                id,
                                source: Source::Random { seed, index },
                                entitlement: e,
                            })
                    })
                    .collect()
            },
            |b| ((b + 1) * batch).min(self.options.cases) - b * batch,
            Kind::Random,
        )
        .0
    }

    /// Runs batches `0..n_batches` on the threads; `span(b)` is how many
    /// cases batch `b` stands for in the progress count (before partitioning).
    fn parallel(
        &self,
        n_batches: u64,
        progress: &(dyn Fn(u64) + Sync),
        make: impl Fn(u64) -> Vec<Case> + Sync,
        span: impl Fn(u64) -> u64 + Sync,
        kind: Kind,
    ) -> (Aggregate, Vec<(Source, Vec<Check>)>) {
        let validators: Vec<&str> = self.matrix.systems.keys().map(String::as_str).collect();
        let parts = pull_parallel(
            self.options.threads,
            n_batches,
            || (Aggregate::new(self.waivers.len()), Vec::new()),
            |(agg, failing_sources), b| {
                if self.stop.load(Ordering::Relaxed) || self.fatal().is_some() {
                    return false;
                }
                let cases = make(b);
                let outcomes = self.matrix.run_batch(&cases);
                for (case, outcome) in cases.iter().zip(outcomes) {
                    if let Some(space) = self.coverage {
                        agg.coverage.observe_entitlement(space, &case.entitlement);
                        for &(v, verdict) in &outcome.verdicts {
                            if let Some(name) = validators.get(v) {
                                agg.coverage.observe_verdict(name, verdict);
                            }
                        }
                    }
                    for (cell, t) in outcome.tallies {
                        agg.tallies.entry(cell).or_default().add(&t);
                    }
                    let checks: Vec<Check> = if kind == Kind::Order {
                        let mut c: Vec<Check> =
                            outcome.findings.iter().map(|f| f.key.check).collect();
                        c.sort();
                        c.dedup();
                        c
                    } else {
                        Vec::new()
                    };
                    let failing = agg.record(outcome.findings, self.waivers, self.options.today);
                    let c = &mut agg.counts;
                    match kind {
                        Kind::Vector => {
                            c.vector_cases += 1;
                            c.vector_cases_failing += u64::from(failing);
                        }
                        Kind::Random => {
                            c.random_cases += 1;
                            c.random_cases_failing += u64::from(failing);
                        }
                        Kind::Order => {
                            c.order_cases += 1;
                            c.order_cases_failing += u64::from(failing);
                            if failing {
                                failing_sources.push((case.source.clone(), checks));
                            }
                        }
                    }
                }
                progress(span(b));
                true
            },
        );
        let mut total = Aggregate::new(self.waivers.len());
        let mut failing_sources = Vec::new();
        for (agg, failing) in parts {
            total.merge(agg);
            failing_sources.extend(failing);
        }
        (total, failing_sources)
    }
}

/// Work items `0..n` on `threads` scoped threads that each take the next
/// unclaimed item, so a slow batch never holds the others up. Each thread
/// folds its items into its own state (from `init`); `work` returns false to
/// stop that thread early. The states come back in thread order; a panic in
/// a worker is resumed here.
pub(crate) fn pull_parallel<S: Send>(
    threads: usize,
    n: u64,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, u64) -> bool + Sync,
) -> Vec<S> {
    let next = AtomicU64::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut state = init();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n || !work(&mut state, i) {
                            break;
                        }
                    }
                    state
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// The entitlement space of a config whose coverage runs track: its catalog,
/// shipped releases, and the validating systems.
pub fn coverage_space(config: &crate::config::Config) -> crate::coverage::CoverageSpace {
    let releases: Vec<crate::matrix::Release> = config
        .releases
        .iter()
        .map(|r| crate::matrix::Release {
            name: r.name.clone(),
            product: r.product.clone(),
            version: r.version,
            validator: r.validator.clone(),
            features: None,
        })
        .collect();
    let mut validators = vec![config.run.old.clone(), config.run.new.clone()];
    validators.extend(config.releases.iter().map(|r| r.validator.clone()));
    crate::coverage::CoverageSpace::new(&config.catalog, &releases, &validators)
}

/// The coverage report of a run: its observed cases, plus every shipped
/// release that validated a new-issued key (FORWARD), read from the tallies
/// so that merged shards count each release once.
pub fn coverage_report(
    space: &crate::coverage::CoverageSpace,
    aggregate: &Aggregate,
) -> crate::coverage::CoverageReport {
    let mut coverage = aggregate.coverage.clone();
    for ((check, _, validator), t) in &aggregate.tallies {
        if let (Check::Forward, Some(release)) = (check, validator)
            && t.pass + t.fail > 0
        {
            coverage.observe_release(release);
        }
    }
    space.report(&coverage)
}

/// Metadata every report carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMeta {
    /// keycompat's version.
    pub keycompat_version: String,
    /// The config file.
    pub config: String,
    /// SHA-256 of the config file.
    pub config_sha256: String,
    /// Seed of the random cases.
    pub seed: u64,
    /// Random cases asked for (before partitioning).
    pub cases: u64,
    /// Shards this result covers (`None`: unsharded or fully merged).
    #[serde(default)]
    pub partitions: Vec<Partition>,
    /// Checks run.
    pub checks: Vec<Check>,
    /// The day waivers were judged on.
    pub today: Day,
    /// Every system: name and implementation.
    pub systems: BTreeMap<String, ImplInfo>,
    /// The roles: old and new.
    pub old: String,
    /// The system going live.
    pub new: String,
    /// Shipped releases: name and validating system.
    pub releases: Vec<(String, String)>,
    /// Whether the run was cut short (Ctrl-C).
    pub interrupted: bool,
    /// The gate thresholds the run was judged by (merge re-judges with them).
    pub gates_config: GatesConfig,
    /// What the run set out to prove: `full` (`keycompat run`) or `data`
    /// (`keycompat data`, the exports alone).
    #[serde(default)]
    pub scope: Scope,
}

/// A finished run: what the report formats render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Metadata.
    pub meta: RunMeta,
    /// What was measured.
    #[serde(flatten)]
    pub aggregate: Aggregate,
    /// Waivers and what became of them.
    pub waivers: Vec<WaiverUse>,
    /// Evaluated gates.
    pub gates: Vec<Gate>,
    /// The go-live verdict: the worst gate.
    pub verdict: Status,
    /// Key throughput from `keycompat bench`, when the run was given one
    /// (`--throughput bench.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<crate::bench::BenchResult>,
    /// Field keys and orders from the vendor's exports, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<crate::sources::DataSummary>,
    /// Scenario coverage per dimension, with the uncovered combinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<crate::coverage::CoverageReport>,
}

/// Why shard results cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(String);

impl RunResult {
    /// Merges shard results of one run (same config, seed, cases, checks)
    /// and judges the whole. When the shards cover every partition `1..=n`,
    /// the result is the one an unsharded run over the same cases gives.
    pub fn merge(shards: Vec<RunResult>) -> Result<RunResult, MergeError> {
        let mut iter = shards.into_iter();
        let first = iter
            .next()
            .ok_or_else(|| MergeError("no reports to merge".into()))?;
        let mut meta = first.meta.clone();
        let waivers: Vec<Waiver> = first.waivers.iter().map(|w| w.waiver.clone()).collect();
        let mut aggregate = first.aggregate;
        let mut throughput = first.throughput;
        let mut data = first.data;
        for shard in iter {
            throughput = throughput.or(shard.throughput);
            match (data.as_mut(), shard.data) {
                (Some(d), Some(o)) => d.merge(o),
                (None, o) => data = o,
                (Some(_), None) => {}
            }
            let m = &shard.meta;
            let parts = m
                .partitions
                .iter()
                .map(Partition::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let which = if parts.is_empty() {
                "an unsharded report".to_string()
            } else {
                format!("shard {parts}")
            };
            let same = m.config_sha256 == meta.config_sha256
                && m.seed == meta.seed
                && m.cases == meta.cases
                && m.checks == meta.checks
                && m.today == meta.today
                && m.scope == meta.scope;
            if !same {
                return Err(MergeError(format!(
                    "{which} is from another run (config, seed, cases, checks, scope or --today differ): \
                     merge only the shards of one `keycompat run --partition k/n` invocation"
                )));
            }
            if meta.partitions.iter().any(|p| m.partitions.contains(p)) {
                return Err(MergeError(format!("{which} appears twice")));
            }
            meta.partitions.extend(m.partitions.iter().copied());
            meta.interrupted |= m.interrupted;
            for (name, info) in &m.systems {
                if meta.systems.get(name).is_some_and(|i| i != info) {
                    return Err(MergeError(format!(
                        "system {name:?} differs between shards (another plugin build?)"
                    )));
                }
            }
            aggregate.merge(shard.aggregate);
        }
        meta.partitions.sort_by_key(|p| (p.n, p.k));
        let n = meta.partitions.first().map(|p| p.n);
        let complete = n.is_some_and(|n| {
            meta.partitions.len() as u64 == n
                && meta
                    .partitions
                    .iter()
                    .enumerate()
                    .all(|(i, p)| p.n == n && p.k == i as u64 + 1)
        });
        if complete {
            meta.partitions.clear();
        }
        let gates = meta.gates_config.clone();
        // Coverage needs the config's entitlement space: re-read it.
        let coverage = crate::config::Config::load(std::path::Path::new(&meta.config))
            .ok()
            .map(|c| coverage_report(&coverage_space(&c), &aggregate));
        let mut merged = RunResult::judge(meta, aggregate, data, coverage, &waivers, &gates);
        merged.throughput = throughput;
        Ok(merged)
    }

    /// Judges an aggregate: waiver summaries, gates, verdict.
    pub fn judge(
        meta: RunMeta,
        aggregate: Aggregate,
        data: Option<crate::sources::DataSummary>,
        coverage: Option<crate::coverage::CoverageReport>,
        waivers: &[Waiver],
        gates_config: &GatesConfig,
    ) -> Self {
        let waiver_uses = waiver::summarize(waivers, &aggregate.waiver_uses, meta.today);
        let forward: BTreeMap<&str, u64> = aggregate
            .tallies
            .iter()
            .filter(|((c, _, _), _)| *c == Check::Forward)
            .filter_map(|((_, _, v), t)| v.as_deref().map(|v| (v, t.pass + t.fail)))
            .fold(BTreeMap::new(), |mut m, (v, n)| {
                *m.entry(v).or_default() += n;
                m
            });
        let rollback = aggregate
            .tallies
            .iter()
            .filter(|((c, _, _), _)| *c == Check::Rollback)
            .map(|(_, t)| t.pass + t.fail)
            .sum();
        let c = &aggregate.counts;
        let inputs = GateInputs {
            scope: meta.scope,
            vectors: (
                c.vector_checks + c.vector_cases,
                c.vector_failures + c.vector_cases_failing,
            ),
            random_cases: c.random_cases,
            random_cases_failing: c.random_cases_failing,
            unwaived: aggregate.unwaived(),
            waived: c.waived_findings,
            releases: meta
                .releases
                .iter()
                .map(|(r, _)| (r.clone(), forward.get(r.as_str()).copied().unwrap_or(0)))
                .collect(),
            rollback_validations: rollback,
            unused_waivers: waiver_uses.iter().filter(|w| w.status == "unused").count() as u64,
            expired_waivers_hit: waiver_uses.iter().map(|w| w.expired_matches).sum(),
            field_keys: data
                .as_ref()
                .and_then(|d| d.field_keys.as_ref())
                .map(|s| (s.rows, s.run, s.with_findings)),
            orders: data
                .as_ref()
                .and_then(|d| d.orders.as_ref())
                .map(|s| (s.rows, s.run, s.with_findings)),
            coverage_percent: coverage.as_ref().map(|c| c.percent),
        };
        let gates = gate::evaluate(gates_config, &inputs);
        let verdict = gate::overall(&gates);
        RunResult {
            meta,
            aggregate,
            waivers: waiver_uses,
            gates,
            verdict,
            throughput: None,
            data,
            coverage,
        }
    }

    /// Groups, worst first: unwaived before waived, then severity, check, count.
    pub fn groups_by_importance(&self) -> Vec<&Group> {
        let mut v: Vec<&Group> = self.aggregate.groups.values().collect();
        v.sort_by(|a, b| {
            (
                a.waived_by.is_some(),
                a.key.severity,
                a.key.check,
                std::cmp::Reverse(a.count),
                &a.key,
            )
                .cmp(&(
                    b.waived_by.is_some(),
                    b.key.severity,
                    b.key.check,
                    std::cmp::Reverse(b.count),
                    &b.key,
                ))
        });
        v
    }

    /// Checks in the order of the report, with their summed tallies per pair.
    pub fn checks_run(&self) -> BTreeSet<Check> {
        self.aggregate.tallies.keys().map(|(c, _, _)| *c).collect()
    }
}

/// Options shared with systems: the systems of a matrix, by name, for reports.
pub fn system_infos(m: &Matrix) -> BTreeMap<String, ImplInfo> {
    m.systems
        .iter()
        .map(|(k, v)| (k.clone(), v.info().clone()))
        .collect()
}
