//! The systems and releases a run compares, and the vocabulary of the matrix:
//! cases, cells and their tallies, and what one case produced.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::hook::OpenHook;
use crate::entitlement::Entitlement;
use crate::finding::{Check, Finding, Source};
use crate::implementation::{GenerateFailure, Implementation};
use crate::verdict::{Context, Verdict, Version};

/// A shipped release: its validator can never change.
#[derive(Debug, Clone)]
pub struct Release {
    /// Display name.
    pub name: String,
    /// Product slug.
    pub product: String,
    /// Version (the validation context).
    pub version: Version,
    /// The system whose validator it embeds.
    pub validator: String,
    /// Features it knows; `None`: all.
    pub features: Option<BTreeSet<String>>,
}

/// One case: an entitlement and where it came from.
#[derive(Debug, Clone)]
pub struct Case {
    /// Stable id.
    pub id: String,
    /// Origin, for replay.
    pub source: Source,
    /// The entitlement.
    pub entitlement: Entitlement,
}

impl Case {
    /// The stable id of a case with entitlement `e`: derived from its
    /// canonical JSON, so every machine and shard names it alike.
    pub fn id_of(e: &Entitlement) -> String {
        case_id(e)
    }
}

/// The stable id of a case: derived from the entitlement's canonical JSON.
pub fn case_id(e: &Entitlement) -> String {
    let h = Sha256::digest(e.to_json().as_bytes());
    format!("c-{}", &hex::encode(h)[..12])
}

/// A cell of the matrix: check, generator, validator.
pub type Cell = (Check, String, Option<String>);

/// Pass/fail/skip counts of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Observations that agreed.
    pub pass: u64,
    /// Observations with a finding.
    pub fail: u64,
    /// Observations not made (a declared refusal upstream).
    pub skipped: u64,
}

impl Tally {
    /// Adds another tally.
    pub fn add(&mut self, o: &Tally) {
        self.pass += o.pass;
        self.fail += o.fail;
        self.skipped += o.skipped;
    }
}

/// What one case produced.
#[derive(Debug, Default)]
pub struct CaseOutcome {
    /// Findings, in a deterministic order.
    pub findings: Vec<Finding>,
    /// Observations per cell.
    pub tallies: BTreeMap<Cell, Tally>,
    /// The verdicts validators answered, by index into the matrix's systems
    /// (for scenario coverage).
    pub verdicts: Vec<(usize, Verdict)>,
}

/// A format with two or more generators, whose keys PARITY compares.
pub struct ParityFormat {
    /// The format's name.
    pub format: String,
    /// Its generators, as listed.
    pub generators: Vec<String>,
    /// For each generator, the index of the first one running the same code
    /// (builtin, library, script): one code is one vote in PARITY's majority.
    pub code: Vec<usize>,
    /// For each generator, whether it missed an entitlement vector's exact
    /// key or refusal (the vector phase, before any case): where no majority
    /// decides, a generator the vectors bear out is the reference.
    pub off_vector: Vec<bool>,
}

/// The systems and releases a run compares.
pub struct Matrix {
    /// Systems by name.
    pub systems: BTreeMap<String, Arc<dyn Implementation>>,
    /// The system being retired.
    pub old: String,
    /// The system going live.
    pub new: String,
    /// Shipped releases.
    pub releases: Vec<Release>,
    /// Formats with two or more generators, for PARITY.
    pub parity: Vec<ParityFormat>,
    /// Every format of `[formats]` with its generators: a key identical to
    /// one a format's generator issues is of that format, whatever the
    /// validator says.
    pub formats: Vec<(String, Vec<String>)>,
    /// Every configured generator of a format, other than old and new: the
    /// keys FORWARD tries when a release rejects the new system's key, to
    /// tell an avoidable outage from one the formats impose.
    pub issuers: Vec<String>,
    /// Checks to run (ROUNDTRIP always runs: other checks need its answers).
    pub checks: BTreeSet<Check>,
    /// The catalog's product slugs, for TAMPER's other-product context.
    pub products: Vec<String>,
    /// ENV's systems and their copies under other environments (each copy
    /// is also in [`Self::systems`], under its own name).
    pub env: super::env::copies::EnvCopies,
}

/// The context a key is issued for: its own product, the highest version it
/// covers, the day of issue, its own host.
pub fn own_context(e: &Entitlement) -> Context {
    Context {
        product: e.product.clone(),
        version: Version {
            major: u32::from(e.max_major),
            minor: 0,
        },
        today: e.issued,
        host_id: e.host_id.clone(),
    }
}

impl Matrix {
    /// The matrix of a config: opens old, new, every release validator and
    /// every generator of a format.
    pub fn open(
        config: &crate::config::Config,
        checks: BTreeSet<Check>,
        hosting: &crate::system::Hosting,
    ) -> Result<Self, crate::system::OpenError> {
        Self::open_with(config, checks, hosting, None)
    }

    /// [`Self::open`], with every system (and ENV copy) opened through
    /// `hook` when one is given.
    pub fn open_with(
        config: &crate::config::Config,
        checks: BTreeSet<Check>,
        hosting: &crate::system::Hosting,
        hook: Option<&dyn OpenHook>,
    ) -> Result<Self, crate::system::OpenError> {
        let mut names: BTreeSet<String> = [config.run.old.clone(), config.run.new.clone()].into();
        names.extend(config.releases.iter().map(|r| r.validator.clone()));
        let parity_formats: Vec<(String, Vec<String>)> = config
            .formats
            .iter()
            .filter(|(_, f)| f.generators.len() >= 2)
            .map(|(name, f)| (name.clone(), f.generators.clone()))
            .collect();
        for f in config.formats.values() {
            names.extend(f.generators.iter().cloned());
        }
        let env_enabled = checks.contains(&Check::Env);
        if env_enabled {
            names.extend(super::env::copies::systems(config));
        }
        let opened = match hook {
            None => crate::system::open_all(config, &names, hosting)?,
            Some(hook) => open_all_hooked(config, &names, hosting, hook)?,
        };
        // Every role a system plays where it must issue keys (`true`) or
        // validate them (`false`): issuing roles first, then validating.
        let run_roles = [
            (&config.run.old, "`[run] old`"),
            (&config.run.new, "`[run] new`"),
        ];
        let mut roles: Vec<(&String, String, bool)> = run_roles
            .iter()
            .map(|(name, role)| (*name, role.to_string(), true))
            .collect();
        for (format, f) in &config.formats {
            roles.extend(
                f.generators
                    .iter()
                    .map(|g| (g, format!("a generator of `[formats.{format}]`"), true)),
            );
        }
        roles.extend(run_roles.map(|(name, role)| (name, role.to_string(), false)));
        roles.extend(config.releases.iter().map(|r| {
            let role = format!("the validator of release {:?}", r.name);
            (&r.validator, role, false)
        }));
        for (name, role, issues) in roles {
            let Some(imp) = opened.get(name) else {
                continue;
            };
            let info = imp.info();
            if issues && info.can_generate || !issues && info.can_validate {
                continue;
            }
            let (system, implementation) = (name.clone(), info.to_string());
            return Err(if issues {
                crate::system::OpenError::CannotGenerate {
                    system,
                    implementation,
                    role,
                }
            } else {
                crate::system::OpenError::CannotValidate {
                    system,
                    implementation,
                    role,
                }
            });
        }
        let mut systems: BTreeMap<String, Arc<dyn Implementation>> = opened
            .into_iter()
            .map(|(name, s)| (name, super::counted::Counted::wrap(s)))
            .collect();
        let env = if env_enabled {
            let (env, copies) =
                super::env::copies::EnvCopies::open(config, hosting, &systems, hook);
            for (name, copy) in copies {
                systems.insert(name, super::counted::Counted::wrap(copy));
            }
            env
        } else {
            super::env::copies::EnvCopies::default()
        };
        let parity = parity_formats
            .into_iter()
            .map(|(format, generators)| {
                let origin = |g: &String| &systems[g].info().origin;
                let code = generators
                    .iter()
                    .map(|g| {
                        generators
                            .iter()
                            .position(|o| origin(o).same_code(origin(g)))
                            .unwrap_or(0)
                    })
                    .collect();
                ParityFormat {
                    off_vector: vec![false; generators.len()],
                    format,
                    generators,
                    code,
                }
            })
            .collect();
        let mut issuers: Vec<String> = Vec::new();
        for f in config.formats.values() {
            for g in &f.generators {
                if *g != config.run.old && *g != config.run.new && !issuers.contains(g) {
                    issuers.push(g.clone());
                }
            }
        }
        Ok(Matrix {
            systems,
            old: config.run.old.clone(),
            new: config.run.new.clone(),
            releases: releases(config),
            parity,
            formats: config
                .formats
                .iter()
                .map(|(name, f)| (name.clone(), f.generators.clone()))
                .collect(),
            issuers,
            checks,
            products: config
                .catalog
                .products
                .iter()
                .map(|p| p.slug.clone())
                .collect(),
            env,
        })
    }

    /// Whether `c` runs.
    pub fn enabled(&self, c: Check) -> bool {
        self.checks.contains(&c)
    }

    /// The other generators of the old system's `[formats]` format, neither
    /// old nor new: implementations of the format old's keys are in.
    pub fn old_format_peers(&self) -> impl Iterator<Item = &String> {
        self.formats
            .iter()
            .find(|(_, g)| g.contains(&self.old))
            .into_iter()
            .flat_map(|(_, g)| g.iter())
            .filter(move |g| **g != self.old && **g != self.new)
    }

    /// The generators a batch needs: old, new, every parity generator, and
    /// for FORWARD every other issuer.
    pub(super) fn generators(&self) -> Vec<String> {
        let mut g = vec![self.old.clone(), self.new.clone()];
        if self.enabled(Check::Parity) {
            for p in &self.parity {
                g.extend(p.generators.iter().cloned());
            }
        }
        if self.enabled(Check::Forward) {
            g.extend(self.issuers.iter().cloned());
        }
        let mut seen = BTreeSet::new();
        g.retain(|x| seen.insert(x.clone()));
        g
    }

    /// Marks the generators that missed an entitlement vector (`failed`),
    /// for PARITY's reference where no majority decides.
    pub fn set_off_vector(&mut self, failed: &BTreeSet<String>) {
        for p in &mut self.parity {
            p.off_vector = p.generators.iter().map(|g| failed.contains(g)).collect();
        }
    }

    /// A system that can no longer answer at all, and why.
    pub fn fatal(&self) -> Option<(String, String)> {
        self.systems
            .iter()
            .find_map(|(name, s)| s.fatal_error().map(|e| (name.clone(), e)))
    }

    /// Every system that can no longer answer at all, and why, by name.
    pub fn fatal_all(&self) -> Vec<(String, String)> {
        self.systems
            .iter()
            .filter_map(|(name, s)| s.fatal_error().map(|e| (name.clone(), e)))
            .collect()
    }
}

/// Every named system of the config, each opened through `hook`.
fn open_all_hooked(
    config: &crate::config::Config,
    names: &BTreeSet<String>,
    hosting: &crate::system::Hosting,
    hook: &dyn OpenHook,
) -> Result<BTreeMap<String, Arc<dyn Implementation>>, crate::system::OpenError> {
    let mut out = BTreeMap::new();
    for name in names {
        let system = config
            .systems
            .get(name)
            .ok_or_else(|| crate::system::OpenError::unknown_system(name, config))?;
        let opened = hook.system(name, &mut || {
            crate::system::open_configured(name, system, config, hosting).map(|s| Some(s.into()))
        })?;
        if let Some(imp) = opened {
            out.insert(name.clone(), imp);
        }
    }
    Ok(out)
}

/// Every generator's answers for a batch, by system name.
pub(crate) type Generated = BTreeMap<String, Vec<Result<String, GenerateFailure>>>;

/// The shipped releases of a config.
pub fn releases(config: &crate::config::Config) -> Vec<Release> {
    config
        .releases
        .iter()
        .map(|r| Release {
            name: r.name.clone(),
            product: r.product.clone(),
            version: r.version,
            validator: r.validator.clone(),
            features: r.features.as_ref().map(|f| f.iter().cloned().collect()),
        })
        .collect()
}
