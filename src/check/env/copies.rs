//! ENV's copies: each checked system started again under each environment
//! of `[env]`, hosted as the system itself is. Knows nothing of the matrix,
//! which holds the copies ([`EnvCopies`]) beside its systems.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Config;
use crate::environment::{self, EnvScope, Environment, Unchecked};
use crate::finding::{Check, Finding, GroupKey, Severity, Source};
use crate::implementation::Implementation;
use crate::system::Hosting;

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
    /// The copies that did not start: each is a finding
    /// ([`EnvCopies::start_findings`]), and the system is checked under the
    /// other environments.
    pub failed: Vec<FailedStart>,
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

/// A system that opens in keycompat's environment but did not start under
/// one of ENV's (a plugin that cannot load a locale's data).
#[derive(Debug, Clone)]
pub struct FailedStart {
    /// The system's name.
    pub system: String,
    /// Index into [`EnvCopies::environments`].
    pub environment: usize,
    /// Why it did not start, in the opening error's words.
    pub error: String,
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
    ) -> (Self, Vec<Opened>) {
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
            let mut in_process = false;
            for (e, env) in envs.iter().enumerate() {
                let copy_name = format!("{name} [{}]", out.environments[e]);
                let opened = crate::check::hook::open_hooked(hook, &copy_name, &mut || {
                    crate::system::open_configured_in_env(system, config, hosting, env)
                        .map(|c| c.map(Arc::from))
                });
                let copy = match opened {
                    Ok(Some(copy)) => copy,
                    Ok(None) => {
                        in_process = true;
                        break;
                    }
                    // The system itself opened: failing here is the
                    // environment's doing, ENV's finding.
                    Err(err) => {
                        out.failed.push(FailedStart {
                            system: name.clone(),
                            environment: e,
                            error: err.to_string(),
                        });
                        continue;
                    }
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
            if in_process {
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
            if copies.is_empty() {
                // It started under none of them: its findings say so.
                continue;
            }
            out.systems.push(name);
            for (copy, implementation) in copies {
                implementations.push((copy.name.clone(), implementation));
                out.copies.push(copy);
            }
        }
        (out, implementations)
    }

    /// One ENV crash finding per copy that did not start, blaming its
    /// system and naming the environment: customers there cannot start
    /// what validates their keys.
    pub fn start_findings(&self) -> Vec<Finding> {
        self.failed
            .iter()
            .map(|f| {
                let environment = self.environments[f.environment].clone();
                Finding {
                    key: GroupKey {
                        check: Check::Env,
                        severity: Severity::Crash,
                        generator: f.system.clone(),
                        validator: Some(f.system.clone()),
                        cause: format!("did not start under {environment}"),
                    },
                    case_id: format!("start {} [{environment}]", f.system),
                    source: Source::Start {
                        system: f.system.clone(),
                        environment,
                    },
                    entitlement: None,
                    license_key: None,
                    context: None,
                    expected: "to start, as it does in keycompat's own environment".into(),
                    found: f.error.clone(),
                    validation: None,
                    diffs: Vec::new(),
                    old_refused: None,
                    avoidable: None,
                }
            })
            .collect()
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
