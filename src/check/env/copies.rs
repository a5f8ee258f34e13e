//! ENV's copies: each checked system started again under each environment
//! of `[env]`, hosted as the system itself is. Knows nothing of the matrix,
//! which holds the copies ([`EnvCopies`]) beside its systems.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Config;
use crate::environment::{self, EnvScope, Environment, Unchecked};
use crate::finding::Source;
use crate::implementation::Implementation;
use crate::system::{Hosting, OpenError};

/// The systems ENV asks under other environments, and their copies.
#[derive(Debug, Default)]
pub struct EnvCopies {
    /// The environments, in words.
    pub environments: Vec<String>,
    /// The systems asked under every environment.
    pub systems: Vec<String>,
    /// One copy per (system, environment), by system then environment.
    pub copies: Vec<EnvCopy>,
    /// The systems that could not be copied, and why.
    pub unchecked: Vec<Unchecked>,
    /// Every `every`-th random case is checked.
    pub every: u64,
}

/// A system running under another environment.
#[derive(Debug, Clone)]
pub struct EnvCopy {
    /// Its name in the matrix, e.g. `new [TZ=Pacific/Kiritimati]`.
    pub name: String,
    /// Index into [`EnvCopies::systems`].
    pub system: usize,
    /// Index into [`EnvCopies::environments`].
    pub environment: usize,
}

/// A copy's name in the matrix and its implementation, opened.
pub(crate) type Opened = (String, Arc<dyn Implementation>);

/// The systems ENV checks unless `[env] systems` names them: every validator
/// of the run (old, new, the release validators), once each.
pub(crate) fn systems(config: &Config) -> Vec<String> {
    if let Some(named) = &config.env.systems {
        return named.clone();
    }
    let mut names = vec![config.run.old.clone(), config.run.new.clone()];
    names.extend(config.releases.iter().map(|r| r.validator.clone()));
    let mut seen = std::collections::BTreeSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

impl EnvCopies {
    /// Opens a copy of every system of `config`'s ENV check under every
    /// environment, hosted as `hosting` hosts the system itself; `opened`
    /// holds the systems, opened. Returns the copies to add to the matrix.
    pub(crate) fn open(
        config: &Config,
        hosting: &Hosting,
        opened: &BTreeMap<String, Arc<dyn Implementation>>,
        hook: Option<&dyn crate::check::hook::OpenHook>,
    ) -> Result<(Self, Vec<Opened>), OpenError> {
        let envs: &[Environment] = &config.env.environments;
        let mut out = EnvCopies {
            environments: envs.iter().map(environment::label).collect(),
            every: config.env.every,
            ..EnvCopies::default()
        };
        let mut implementations = Vec::new();
        for name in systems(config) {
            let system = &config.systems[&name];
            if opened.get(&name).is_some_and(|s| !s.info().can_validate) {
                out.unchecked.push(Unchecked {
                    system: name,
                    reason: "does not validate keys".into(),
                });
                continue;
            }
            let index = out.systems.len();
            let mut copies = Vec::new();
            for (e, env) in envs.iter().enumerate() {
                let copy_name = format!("{name} [{}]", out.environments[e]);
                let copy = crate::check::hook::open_hooked(hook, &copy_name, &mut || {
                    crate::system::open_configured_in_env(system, config, hosting, env)
                        .map(|c| c.map(Arc::from))
                })
                .map_err(|err| OpenError::InEnvironment {
                    system: name.clone(),
                    environment: out.environments[e].clone(),
                    source: Box::new(err),
                })?;
                let Some(copy) = copy else {
                    break;
                };
                copies.push((
                    EnvCopy {
                        name: copy_name.clone(),
                        system: index,
                        environment: e,
                    },
                    copy,
                ));
            }
            if copies.len() < envs.len() {
                let reason = if system.builtin.is_some() {
                    "a builtin: runs in keycompat's own process"
                } else {
                    "isolation = \"none\": runs in keycompat's own process"
                };
                out.unchecked.push(Unchecked {
                    system: name,
                    reason: reason.into(),
                });
                continue;
            }
            out.systems.push(name);
            for (copy, implementation) in copies {
                implementations.push((copy.name.clone(), implementation));
                out.copies.push(copy);
            }
        }
        Ok((out, implementations))
    }

    /// What the check covers, for the reports.
    pub fn scope(&self) -> EnvScope {
        EnvScope {
            environments: self.environments.clone(),
            checked: self.systems.clone(),
            unchecked: self.unchecked.clone(),
            every: self.every,
        }
    }

    /// Whether `name` is a copy, not a system of the config.
    pub fn is_copy(&self, name: &str) -> bool {
        self.copies.iter().any(|c| c.name == name)
    }

    /// Whether a case from `source` is checked: every `every`-th random
    /// case, every other case.
    pub(crate) fn samples(&self, source: &Source) -> bool {
        match source {
            Source::Random { index, .. } => index % self.every.max(1) == 0,
            _ => true,
        }
    }

    /// The copies of system `s`, with their indices.
    pub(crate) fn copies_of(&self, s: usize) -> impl Iterator<Item = (usize, &EnvCopy)> {
        self.copies
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.system == s)
    }
}
