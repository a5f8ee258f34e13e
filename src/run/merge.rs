//! `keycompat merge`: shard results of one run joined into the result an
//! unsharded run over the same cases gives.

use super::partition::Partition;
use super::result::{RunResult, coverage_report, coverage_space};
use crate::waiver::Waiver;

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
}
