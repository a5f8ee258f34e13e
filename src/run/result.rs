//! A finished run: metadata, what was measured, the waivers, the gates and
//! the go-live verdict. What every report format renders, and what
//! `keycompat merge` reads back.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::aggregate::Aggregate;
use super::changes::Changes;
use super::gave_up::GaveUp;
use super::partition::Partition;
use crate::check::Matrix;
use crate::coverage::{CoverageReport, CoverageSpace};
use crate::date::Day;
use crate::finding::{Check, Group};
use crate::gate::{self, Gate, GateInputs, GatesConfig, Scope, Status};
use crate::implementation::ImplInfo;
use crate::sources::DataSummary;
use crate::waiver::{self, Waiver, WaiverUse};

/// The entitlement space of a config whose coverage runs track: its catalog,
/// shipped releases, and the validating systems.
pub fn coverage_space(config: &crate::config::Config) -> CoverageSpace {
    let releases = crate::check::releases(config);
    let mut validators = vec![config.run.old.clone(), config.run.new.clone()];
    validators.extend(config.releases.iter().map(|r| r.validator.clone()));
    crate::coverage::CoverageSpace::new(&config.catalog, &releases, &validators)
}

/// The coverage report of a run: its observed cases, plus every shipped
/// release that validated a new-issued key (FORWARD), read from the tallies
/// so that merged shards count each release once.
pub fn coverage_report(space: &CoverageSpace, aggregate: &Aggregate) -> CoverageReport {
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
    /// Seed of the random cases (a string in JSON: exact in every reader).
    #[serde(with = "crate::json_u64")]
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
    /// Shards of the run missing from a merge made with `--allow-partial`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_shards: Vec<Partition>,
    /// Systems that gave up mid-run (in a merge: in any shard), by shard
    /// and system: the run stopped there, so the result is incomplete and
    /// never GO.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gave_up: Vec<GaveUp>,
    /// The gate thresholds the run was judged by (merge re-judges with them).
    pub gates_config: GatesConfig,
    /// What the run set out to prove: `full` (`keycompat run`) or `data`
    /// (`keycompat data`, the exports alone).
    #[serde(default)]
    pub scope: Scope,
    /// What ENV checked under which environments, and which systems it
    /// could not (when ENV ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<crate::environment::EnvScope>,
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
    pub throughput: Option<crate::bench::result::BenchResult>,
    /// Field keys and orders from the vendor's exports, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSummary>,
    /// Scenario coverage per dimension, with the uncovered combinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageReport>,
    /// What changed since the baseline, when the run was given one
    /// (`--baseline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    /// What a `keycompat selftest` caught of the defects it planted, when
    /// this is a selftest's report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<crate::detection::Detection>,
    /// The run judged over its history (`[history]`, `--history`): the
    /// trend per day, when the run had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<crate::history::trend::Trend>,
    /// The go-live volume as judged (`[gates.volume]`): the figure each
    /// gate judged, its headroom, or why there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<crate::volume::judge::Volume>,
}

impl RunResult {
    /// Judges an aggregate: waiver summaries, gates, verdict.
    pub fn judge(
        meta: RunMeta,
        aggregate: Aggregate,
        data: Option<DataSummary>,
        coverage: Option<CoverageReport>,
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
            .filter(|((c, _, v), _)| *c == Check::Rollback && v.is_some())
            .map(|(_, t)| t.pass + t.fail)
            .sum();
        let c = &aggregate.counts;
        let inputs = GateInputs {
            scope: meta.scope,
            gave_up: meta.gave_up.iter().map(GaveUp::to_string).collect(),
            missing_shards: meta.missing_shards.iter().map(|p| p.to_string()).collect(),
            vectors: (
                c.vector_checks + c.vector_cases,
                c.vector_failures + c.vector_cases_failing,
            ),
            vector_checks: c.vector_checks,
            checks_off: Check::ALL
                .into_iter()
                .filter(|c| !meta.checks.contains(c))
                .collect(),
            env_unchecked: meta
                .env
                .iter()
                .flat_map(|e| &e.unchecked)
                .filter(|u| {
                    u.system == meta.old
                        || u.system == meta.new
                        || meta.releases.iter().any(|(_, v)| *v == u.system)
                })
                .map(|u| u.system.clone())
                .collect(),
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
        let verdict = meta.verdict(&gates);
        RunResult {
            meta,
            aggregate,
            waivers: waiver_uses,
            gates,
            verdict,
            throughput: None,
            data,
            coverage,
            changes: None,
            detection: None,
            history: None,
            volume: None,
        }
    }

    /// Adds a selftest's detection section and its gate (`[gates]
    /// min_detection_percent`, when set), and re-derives the verdict.
    pub fn with_detection(mut self, detection: crate::detection::Detection) -> Self {
        self.gates.retain(|g| g.name != gate::DETECTION_GATE);
        if let Some(g) = gate::detection(
            &self.meta.gates_config,
            detection.caught,
            detection.caught + detection.missed,
        ) {
            self.gates.push(g);
        }
        self.verdict = self.meta.verdict(&self.gates);
        self.detection = Some(detection);
        self
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

impl RunMeta {
    /// The verdict of a run with these `gates`: the worst gate, unless the
    /// run was cut short (no verdict). A run a system gave up in is NO-GO
    /// even when it was also cut short: the stop is a finding of its own,
    /// whatever the cases that did not run would have shown.
    pub fn verdict(&self, gates: &[Gate]) -> Status {
        if !self.gave_up.is_empty() {
            Status::Red
        } else if self.interrupted {
            Status::Interrupted
        } else {
            gate::overall(gates)
        }
    }
}

/// Options shared with systems: the systems of a matrix, by name, for reports.
pub fn system_infos(m: &Matrix) -> BTreeMap<String, ImplInfo> {
    // ENV's copies are the same implementations under other environments:
    // `RunMeta::env` names them.
    m.systems
        .iter()
        .filter(|(name, _)| !m.env.is_copy(name))
        .map(|(k, v)| (k.clone(), v.info().clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Partition;

    /// A data-only run that found nothing: green, so any red is the stop's.
    fn clean(partitions: Vec<Partition>) -> RunResult {
        let meta = RunMeta {
            keycompat_version: "0".into(),
            config: "/nonexistent/keycompat.toml".into(),
            config_sha256: "sha".into(),
            seed: 1,
            cases: 0,
            partitions,
            checks: Vec::new(),
            today: Day::from_ymd(2026, 11, 23).expect("a day"),
            systems: BTreeMap::new(),
            old: "old".into(),
            new: "new".into(),
            releases: Vec::new(),
            interrupted: false,
            missing_shards: Vec::new(),
            gave_up: Vec::new(),
            gates_config: GatesConfig::default(),
            scope: Scope::Data,
            env: None,
        };
        let gates = meta.gates_config.clone();
        RunResult::judge(meta, Aggregate::new(0), None, None, &[], &gates)
    }

    fn stopped(mut r: RunResult, shard: Option<Partition>) -> RunResult {
        r.meta.gave_up.push(GaveUp {
            shard,
            system: "new".into(),
            message: "plugin x crashed 21 times in a row; last: SIGSEGV".into(),
            after_cases: 64,
        });
        let gates = r.meta.gates_config.clone();
        RunResult::judge(r.meta, r.aggregate, None, None, &[], &gates)
    }

    fn gave_up_gate(r: &RunResult) -> Option<&Gate> {
        r.gates.iter().find(|g| g.name == gate::GAVE_UP_GATE)
    }

    #[test]
    fn a_run_a_system_gave_up_in_is_no_go_whatever_else_it_found() {
        let r = clean(Vec::new());
        assert_eq!(r.verdict, Status::Green, "{:#?}", r.gates);
        assert!(gave_up_gate(&r).is_none());
        let r = stopped(r, None);
        assert_eq!(r.verdict, Status::Red);
        let gate = gave_up_gate(&r).expect("the gate");
        assert_eq!(gate.status, Status::Red);
        assert!(
            gate.measured
                .contains("system \"new\" gave up after 64 cases")
                && gate.measured.contains("SIGSEGV"),
            "{}",
            gate.measured
        );
        // Cut short as well: still NO-GO, never "no verdict".
        let mut both = r.clone();
        both.meta.interrupted = true;
        assert_eq!(both.meta.verdict(&both.gates), Status::Red);
        let mut interrupted = clean(Vec::new());
        interrupted.meta.interrupted = true;
        assert_eq!(
            interrupted.meta.verdict(&interrupted.gates),
            Status::Interrupted
        );
        // Judged again (volume, a baseline, a selftest's score), it stays so.
        let again = r.clone().with_volume(None);
        assert_eq!(again.verdict, Status::Red);
        let compared = r.clone().with_baseline(&clean(Vec::new()), "base.json");
        assert_eq!(compared.verdict, Status::Red);
        let notes = &compared.changes.as_ref().expect("changes").notes;
        assert!(
            notes.iter().any(|n| n.contains("this run is incomplete")),
            "{notes:?}"
        );
    }

    #[test]
    fn a_merge_with_a_shard_a_system_gave_up_in_is_no_go_and_names_the_shard() {
        let (one, two) = (Partition { k: 1, n: 2 }, Partition { k: 2, n: 2 });
        let complete = |p| clean(vec![p]);
        let merged = RunResult::merge(
            vec![
                ("2.json".into(), stopped(complete(two), Some(two))),
                ("1.json".into(), complete(one)),
            ],
            false,
        )
        .expect("merges");
        assert_eq!(merged.verdict, Status::Red);
        assert_eq!(merged.meta.gave_up.len(), 1);
        assert_eq!(merged.meta.gave_up[0].shard, Some(two));
        let gate = gave_up_gate(&merged).expect("the gate");
        assert!(gate.measured.contains("in shard 2/2"), "{}", gate.measured);
        // The same shards, none stopped: the merge is not red.
        let fine = RunResult::merge(
            vec![
                ("1.json".into(), complete(one)),
                ("2.json".into(), complete(two)),
            ],
            false,
        )
        .expect("merges");
        assert_eq!(fine.verdict, Status::Green, "{:#?}", fine.gates);
    }
}
