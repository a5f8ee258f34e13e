//! The vector phase of a run: every shared vector checked against the
//! systems it names (VECTOR), then regressions and entitlement vectors run
//! through the whole matrix like random cases.

use std::collections::{BTreeMap, BTreeSet};

use super::aggregate::Aggregate;
use super::settings::{RunError, RunOptions};
use crate::check::vector::{self, GeneratorsByFormat, SystemsByName};
use crate::check::{Case, Matrix};
use crate::config::Config;
use crate::finding::{Check, Source};
use crate::vectors::{self as vector_files, EntitlementVector, KeyVector, VectorSet};

/// Loads the vectors directory of the config; `vectors = false` is an
/// empty set (the vectors gate then says so), a missing directory or a
/// broken file an error.
pub fn load_vectors(config: &Config) -> Result<VectorSet, RunError> {
    let Some(dir) = config.vectors_dir() else {
        return Ok(VectorSet::default());
    };
    vector_files::load_dir(&dir, &config.catalog)
        .map_err(|errors| RunError::Vectors { dir, errors })
}

/// A warning per system that key vectors' `expect` names but the config
/// does not define, with where: those expectations are checked by no one
/// (`keycompat vectors check` reports them as errors).
pub(super) fn unknown_systems(config: &Config, v: &VectorSet) -> Vec<String> {
    let mut unknown: BTreeMap<&str, (usize, &KeyVector)> = BTreeMap::new();
    for k in &v.keys {
        for system in k.expect.keys() {
            if !config.systems.contains_key(system) {
                unknown.entry(system).or_insert((0, k)).0 += 1;
            }
        }
    }
    unknown
        .into_iter()
        .map(|(system, (n, first))| {
            format!(
                "{}:{}: `expect` names system {system:?}, which the config does not define: \
                 not checked in {n} key vector(s); hint: `keycompat vectors check` lists them",
                first.file, first.line
            )
        })
        .collect()
}

/// Regressions first, then the entitlements of entitlement vectors: each
/// goes through the whole matrix like a random case.
pub(super) fn cases(v: &VectorSet) -> Vec<Case> {
    let regressions = v.regressions.iter().map(|r| Case {
        id: r.id.clone(),
        source: Source::Vector {
            id: r.id.clone(),
            file: r.file(),
        },
        entitlement: r.entitlement.clone(),
    });
    let entitlements = v.entitlements.iter().map(|e| Case {
        id: e.id.clone(),
        source: Source::Vector {
            id: e.id.clone(),
            file: e.file.clone(),
        },
        entitlement: e.entitlement.clone(),
    });
    regressions.chain(entitlements).collect()
}

/// The generators of each format, opened.
pub(crate) fn generators(matrix: &Matrix, config: &Config) -> GeneratorsByFormat {
    config
        .formats
        .iter()
        .map(|(format, f)| {
            let gens = f
                .generators
                .iter()
                .filter_map(|g| matrix.systems.get(g).map(|s| (g.clone(), s.clone())))
                .collect();
            (format.clone(), gens)
        })
        .collect::<BTreeMap<_, _>>()
}

/// Checks exact keys (entitlement vectors) and verdicts (key vectors).
/// Returns the `[formats]` generators that missed an entitlement vector.
pub(super) fn check(
    matrix: &Matrix,
    config: &Config,
    v: &VectorSet,
    options: &RunOptions,
    aggregate: &mut Aggregate,
) -> BTreeSet<String> {
    let generators = generators(matrix, config);
    let mine = |id: &str| options.partition.is_none_or(|p| p.contains(id));
    let entitlements: Vec<&EntitlementVector> =
        v.entitlements.iter().filter(|e| mine(&e.id)).collect();
    let keys: Vec<&KeyVector> = v.keys.iter().filter(|k| mine(&k.id)).collect();
    // The old and new systems where no `[formats]` entry lists them: their
    // keys are checked in whatever format they choose.
    let listed: BTreeSet<&str> = generators
        .values()
        .flatten()
        .map(|(s, _)| s.as_str())
        .collect();
    let issuers: SystemsByName = [&matrix.old, &matrix.new]
        .into_iter()
        .filter(|s| !listed.contains(s.as_str()))
        .filter_map(|s| Some((s.clone(), matrix.systems.get(s)?.clone())))
        .filter(|(_, i)| i.info().can_generate)
        .collect();
    let exact = vector::check_entitlement_vectors(&entitlements, &generators);
    let off_vector: BTreeSet<String> = exact
        .iter()
        .flat_map(|o| &o.observations)
        .filter(|(_, passed)| !passed)
        .map(|(system, _)| system.clone())
        .collect();
    let outcomes = exact
        .into_iter()
        .chain(vector::check_issued_keys(&entitlements, &issuers))
        .chain(vector::check_key_vectors(&keys, &matrix.systems));
    for outcome in outcomes {
        for (system, passed) in &outcome.observations {
            aggregate.observe((Check::Vector, system.clone(), None), *passed);
        }
        if outcome.observations.is_empty() {
            continue;
        }
        let failing = aggregate.record(outcome.findings, &config.waivers, options.today);
        aggregate.count_vector_check(failing);
    }
    off_vector
}
