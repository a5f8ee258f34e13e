//! `keycompat merge`: shard results of one run joined into the result an
//! unsharded run over the same cases gives.

use super::gave_up;
use super::partition::Partition;
use super::result::{RunResult, coverage_report, coverage_space};
use crate::bench::result::BenchResult;
use crate::volume::judge::Evidence;
use crate::waiver::Waiver;

/// Why shard results cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(String);

impl RunResult {
    /// Merges the shard results of one run (same config, seed, cases,
    /// checks), each labelled (its file) for errors, and judges the whole.
    ///
    /// The shards must be `k/n` shards of one `n`, each at most once, and
    /// no unsharded report among them; then the result is the one an
    /// unsharded run over the same cases gives. A set missing shards is
    /// refused, naming them, unless `allow_partial`: then the result says
    /// which are missing and a red gate keeps it from ever being GO. A
    /// shard in which a system gave up is merged with what it found; the
    /// result names the shard and the system, and is never GO either.
    pub fn merge(
        shards: Vec<(String, RunResult)>,
        allow_partial: bool,
    ) -> Result<RunResult, MergeError> {
        let missing = check_shards(&shards, allow_partial)?;
        let mut iter = shards.into_iter();
        let (_, first) = iter
            .next()
            .ok_or_else(|| MergeError("no reports to merge".into()))?;
        let mut meta = first.meta.clone();
        let waivers: Vec<Waiver> = first.waivers.iter().map(|w| w.waiver.clone()).collect();
        // The first shard's figures stand for the run, with where they came
        // from (each shard measured its own, or read the same file).
        let mut throughput = figures(&first);
        let mut aggregate = first.aggregate;
        let mut data = first.data;
        for (which, shard) in iter {
            if throughput.is_none() {
                throughput = figures(&shard);
            }
            match (data.as_mut(), shard.data) {
                (Some(d), Some(o)) => d.merge(o),
                (None, o) => data = o,
                (Some(_), None) => {}
            }
            let m = &shard.meta;
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
            meta.partitions.extend(m.partitions.iter().copied());
            meta.interrupted |= m.interrupted;
            meta.gave_up.extend(m.gave_up.iter().cloned());
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
        gave_up::sort(&mut meta.gave_up);
        if missing.is_empty() {
            meta.partitions.clear();
        }
        meta.missing_shards = missing;
        let gates = meta.gates_config.clone();
        // Coverage needs the config's entitlement space: re-read it.
        let coverage = crate::config::Config::load(std::path::Path::new(&meta.config))
            .ok()
            .map(|c| coverage_report(&coverage_space(&c), &aggregate));
        let mut merged = RunResult::judge(meta, aggregate, data, coverage, &waivers, &gates);
        let evidence = throughput.as_ref().map(|(_, e)| e.clone());
        merged.throughput = throughput.map(|(t, _)| t);
        Ok(merged.with_volume(evidence))
    }
}

/// A shard's throughput figures and where they came from (a shard of a run
/// without volume gates: its `--throughput` file, unnamed).
fn figures(r: &RunResult) -> Option<(BenchResult, Evidence)> {
    let t = r.throughput.clone()?;
    let evidence = r
        .volume
        .as_ref()
        .and_then(|v| v.evidence.clone())
        .unwrap_or_else(|| Evidence::File {
            path: "a shard's --throughput file".into(),
        });
    Some((t, evidence))
}

/// The shards `1..=n` of `partitions`' run that it lacks.
fn missing(partitions: &[Partition]) -> Vec<Partition> {
    let Some(n) = partitions.first().map(|p| p.n) else {
        return Vec::new();
    };
    (1..=n)
        .filter(|&k| !partitions.iter().any(|p| p.k == k))
        .map(|k| Partition { k, n })
        .collect()
}

/// Refuses a set of reports that is not shards of one partitioning, each
/// once, and (unless `allow_partial`) all of them; returns the shards missing.
fn check_shards(
    shards: &[(String, RunResult)],
    allow_partial: bool,
) -> Result<Vec<Partition>, MergeError> {
    let mut seen: Vec<(Partition, &str)> = Vec::new();
    let mut n = None;
    for (which, shard) in shards {
        let parts = &shard.meta.partitions;
        if parts.is_empty() {
            return Err(MergeError(format!(
                "{which} is an unsharded (or already merged) report: merge only the shards of one \
                 `keycompat run --partition k/n` run; merging it with shards would count its cases twice"
            )));
        }
        for p in parts {
            if let Some((_, other)) = seen.iter().find(|(q, _)| q == p) {
                return Err(MergeError(format!(
                    "shard {p} appears twice: in {other} and in {which}"
                )));
            }
            match n {
                Some((n, first)) if n != p.n => {
                    return Err(MergeError(format!(
                        "{which} is a shard of {} (shard {p}), {first} one of {n}: \
                         merge the shards of one partitioning",
                        p.n
                    )));
                }
                None => n = Some((p.n, which.as_str())),
                _ => {}
            }
            seen.push((*p, which));
        }
    }
    let all: Vec<Partition> = seen.iter().map(|(p, _)| *p).collect();
    let missing = missing(&all);
    if !missing.is_empty() && !allow_partial {
        let names: Vec<String> = missing.iter().map(Partition::to_string).collect();
        return Err(MergeError(format!(
            "incomplete: shard{} {} missing; merge every shard, or pass --allow-partial to merge \
             what exists (the report then says it is partial, and is never GO)",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        )));
    }
    Ok(missing)
}
