//! The Run section: how the report was made (keycompat version, config
//! and its SHA-256, seed, partitions, checks, the day the run took as today)
//! and every system's implementation, with each plugin's path, ABI and
//! SHA-256, so a reader can tell exactly what was compared and reproduce it.

use serde::Serialize;

use crate::implementation::{ImplInfo, Origin};
use crate::report::model::system_rank;
use crate::run::RunResult;

#[derive(Serialize)]
pub(super) struct MetaView {
    keycompat_version: String,
    config: String,
    config_sha256: String,
    seed: u64,
    cases: u64,
    partitions: Vec<String>,
    checks: Vec<String>,
    today: String,
    releases: Vec<(String, String)>,
    /// A `keycompat data` run: the exports alone.
    data_only: bool,
    /// What ENV checked under which environments, and what it could not.
    env: Option<crate::environment::EnvScope>,
}

pub(super) fn meta(r: &RunResult) -> MetaView {
    let m = &r.meta;
    MetaView {
        keycompat_version: m.keycompat_version.clone(),
        config: m.config.clone(),
        config_sha256: m.config_sha256.clone(),
        seed: m.seed,
        cases: m.cases,
        partitions: m.partitions.iter().map(|p| p.to_string()).collect(),
        checks: m.checks.iter().map(|c| c.to_string()).collect(),
        today: m.today.to_string(),
        releases: m.releases.clone(),
        data_only: m.scope == crate::gate::Scope::Data,
        env: m.env.clone(),
    }
}

#[derive(Serialize)]
pub(super) struct SystemView {
    role: String,
    name: String,
    version: String,
    origin: String,
    path: Option<String>,
    sha256: Option<String>,
    capabilities: String,
}

fn system_view(role: &str, i: &ImplInfo) -> SystemView {
    let caps: Vec<&str> = [(i.can_generate, "generates"), (i.can_validate, "validates")]
        .into_iter()
        .filter_map(|(ok, w)| ok.then_some(w))
        .collect();
    let (origin, path, sha256) = match &i.origin {
        Origin::Builtin { scheme } => (format!("builtin {scheme}"), None, None),
        Origin::Plugin {
            path,
            sha256,
            abi,
            flags,
        } => (
            format!("plugin, ABI {abi}, flags 0x{flags:x}"),
            Some(path.display().to_string()),
            Some(sha256.clone()),
        ),
        Origin::Process {
            command,
            file,
            sha256,
            protocol,
            ..
        } => (
            format!("process plugin, protocol {protocol}: {}", command.join(" ")),
            file.as_ref().map(|f| f.display().to_string()),
            sha256.clone(),
        ),
    };
    SystemView {
        role: role.to_string(),
        name: i.name.clone(),
        version: i.version.clone(),
        origin,
        path,
        sha256,
        capabilities: caps.join(", "),
    }
}

pub(super) fn systems(r: &RunResult) -> Vec<SystemView> {
    let mut v: Vec<(&String, &ImplInfo)> = r.meta.systems.iter().collect();
    v.sort_by_key(|(name, _)| system_rank(r, Some(name)));
    v.into_iter().map(|(n, i)| system_view(n, i)).collect()
}
