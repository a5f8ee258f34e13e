//! Systems: names bound to implementations.
//!
//! A system is named on the command line as a system of `keycompat.toml`
//! (`old`, `new`, ...), as `builtin:NAME`, or as a plugin path. This module
//! turns such a name into a ready [`Implementation`], opening plugins with
//! their settings, and is the one place that decides how names resolve.

use std::path::PathBuf;

use crate::catalog::Catalog;
use crate::config::{Config, ConfigError, SystemConfig};
use crate::implementation::Implementation;
use crate::plugin::worker::ProcessCommand;
use crate::plugin::{self, PluginError, PluginImpl, WorkerImpl, WorkerOptions};
use crate::schemes::{self, BuiltinError};
use crate::settings::Settings;

/// How a system was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemRef {
    /// A system of the config file.
    Named(String),
    /// `builtin:NAME`.
    Builtin(String),
    /// A plugin library path.
    Path(PathBuf),
}

impl SystemRef {
    /// Reads a `--system` argument.
    pub fn parse(s: &str) -> Self {
        if let Some(name) = s.strip_prefix("builtin:") {
            SystemRef::Builtin(name.to_string())
        } else if s.contains('/') || s.ends_with(std::env::consts::DLL_SUFFIX) {
            SystemRef::Path(PathBuf::from(s))
        } else {
            SystemRef::Named(s.to_string())
        }
    }
}

/// Why a system cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The name is not a system of the config.
    #[error("no system named {name:?}{}; hint: use one of {known}, `builtin:acme-lk1`, `builtin:acme-ed1`, or a plugin path", .config.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    UnknownSystem {
        /// The name given.
        name: String,
        /// The config searched, if any.
        config: Option<PathBuf>,
        /// The systems it defines.
        known: String,
    },
    /// The config is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The plugin cannot be loaded or created.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// A system that issues no keys is named where keys must be issued.
    #[error(
        "system {system:?} ({implementation}) cannot issue keys, but it is {role}; hint: name a system that generates, or use this one as a release's validator"
    )]
    CannotGenerate {
        /// The system's name.
        system: String,
        /// Its implementation, as reports print it.
        implementation: String,
        /// Where the config names it, e.g. "`[run] old`".
        role: String,
    },
    /// A system that validates no keys is named where keys are validated.
    #[error(
        "system {system:?} ({implementation}) cannot validate keys, but it is {role}; hint: name a system that validates (a plugin declares it: KC_FLAG_VALIDATE, or \"validate\": true in its ready message)"
    )]
    CannotValidate {
        /// The system's name.
        system: String,
        /// Its implementation, as reports print it.
        implementation: String,
        /// Where the config names it, e.g. "`[run] old`".
        role: String,
    },
    /// The builtin does not exist or its settings are wrong.
    #[error("system {system:?}: {source}")]
    Builtin {
        /// The system's name.
        system: String,
        /// The problem.
        source: BuiltinError,
    },
}

impl OpenError {
    /// `name` is not a system of `config`.
    pub fn unknown_system(name: &str, config: &Config) -> Self {
        OpenError::UnknownSystem {
            name: name.to_string(),
            config: Some(config.path.clone()),
            known: config
                .systems
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// The settings of the Acme demo (SCHEMES.md) for a builtin: public test
/// keys, used when `builtin:NAME` is named without a config entry.
pub fn acme_demo_settings(builtin: &str) -> Settings {
    const LK1_SECRET: &str = "acme-legacy-demo-secret-DO-NOT-SHIP";
    let pairs: &[(&str, &str)] = match builtin {
        "acme-lk1" => &[("secret", LK1_SECRET)],
        "acme-ed1" => &[
            ("lk1_secret", LK1_SECRET),
            (
                "signing_key",
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            ),
            ("kid", "acme-demo-2026"),
            (
                "trusted_keys",
                "acme-demo-2026:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a,\
                 acme-demo-2025:3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            ),
            ("lk1_products", "acme-cad,acme-viewer,acme-sim"),
        ],
        _ => &[],
    };
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// How plugins are opened.
#[derive(Debug, Clone, Default)]
pub enum Hosting {
    /// In this process: fastest; a crashing plugin takes keycompat down.
    #[default]
    InProcess,
    /// In worker processes (`exe __worker`): crashes and hangs are findings.
    Workers(WorkerOptions),
}

/// Opens a system of the config by its definition.
pub fn open_configured(
    name: &str,
    system: &SystemConfig,
    config: &Config,
    hosting: &Hosting,
) -> Result<Box<dyn Implementation>, OpenError> {
    if let Some(command) = process_command(system, config) {
        return open_command(&command, &system.settings, hosting);
    }
    match (&system.plugin, &system.builtin) {
        (Some(path), _) => open_plugin(config.plugin_path(path), &system.settings, hosting),
        (None, Some(builtin)) => open_builtin(name, builtin, &config.catalog, &system.settings),
        (None, None) => unreachable!("Config::check requires plugin, builtin or command"),
    }
}

/// A system of the config opened again with `env` set over the environment
/// its processes run in (the ENV check), or `None` when the system runs in
/// keycompat's own process (a builtin, an in-process library), whose
/// environment cannot differ.
pub fn open_configured_in_env(
    system: &SystemConfig,
    config: &Config,
    hosting: &Hosting,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<Option<Box<dyn Implementation>>, OpenError> {
    if let Some(command) = process_command(system, config) {
        return Ok(Some(Box::new(WorkerImpl::spawn_command(
            &command,
            &system.settings,
            env,
            command_options(hosting),
        )?)));
    }
    match (&system.plugin, hosting) {
        (Some(path), Hosting::Workers(options)) => Ok(Some(Box::new(WorkerImpl::spawn_in_env(
            &config.plugin_path(path),
            &system.settings,
            env,
            options.clone(),
        )?))),
        _ => Ok(None),
    }
}

/// Starts a process plugin. It always runs in child processes: in-process
/// hosting only decides how many (one), and the default timeout.
pub fn open_command(
    command: &ProcessCommand,
    settings: &Settings,
    hosting: &Hosting,
) -> Result<Box<dyn Implementation>, OpenError> {
    Ok(Box::new(WorkerImpl::spawn_command(
        command,
        settings,
        &Default::default(),
        command_options(hosting),
    )?))
}

/// A process plugin's command, if the system is one.
pub fn process_command(system: &SystemConfig, config: &Config) -> Option<ProcessCommand> {
    system.command.as_ref().map(|argv| ProcessCommand {
        argv: config.command_argv(argv),
        cwd: config.command_cwd(system),
        env: system.env.clone(),
    })
}

/// How a process plugin's processes run: as workers do, or one at a time
/// with the default timeout when plugins are hosted in-process.
fn command_options(hosting: &Hosting) -> WorkerOptions {
    match hosting {
        Hosting::InProcess => WorkerOptions::default(),
        Hosting::Workers(options) => options.clone(),
    }
}

/// Opens a plugin library, in-process or in workers.
pub fn open_plugin(
    path: PathBuf,
    settings: &Settings,
    hosting: &Hosting,
) -> Result<Box<dyn Implementation>, OpenError> {
    match hosting {
        Hosting::InProcess => {
            let loaded = plugin::load(&path)?;
            Ok(Box::new(PluginImpl::new(loaded, settings)?))
        }
        Hosting::Workers(options) => Ok(Box::new(WorkerImpl::spawn(
            &path,
            settings,
            options.clone(),
        )?)),
    }
}

fn open_builtin(
    system: &str,
    builtin: &str,
    catalog: &Catalog,
    settings: &Settings,
) -> Result<Box<dyn Implementation>, OpenError> {
    schemes::builtin(builtin, catalog, settings).map_err(|source| OpenError::Builtin {
        system: system.to_string(),
        source,
    })
}

/// Opens the system named by a `--system` argument. `overrides` (from
/// `--setting KEY=VALUE`) replace or add settings.
pub fn open(
    reference: &SystemRef,
    config: Option<&Config>,
    overrides: &Settings,
    hosting: &Hosting,
) -> Result<Box<dyn Implementation>, OpenError> {
    let merged = |base: &Settings| -> Settings {
        let mut s = base.clone();
        s.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        s
    };
    match reference {
        SystemRef::Named(name) => {
            let Some(cfg) = config else {
                return Err(OpenError::UnknownSystem {
                    name: name.clone(),
                    config: None,
                    known: "the systems of a keycompat.toml (none found here; pass --config)"
                        .into(),
                });
            };
            let Some(system) = cfg.systems.get(name) else {
                return Err(OpenError::UnknownSystem {
                    name: name.clone(),
                    config: Some(cfg.path.clone()),
                    known: cfg.systems.keys().cloned().collect::<Vec<_>>().join(", "),
                });
            };
            let system = SystemConfig {
                settings: merged(&system.settings),
                ..system.clone()
            };
            open_configured(name, &system, cfg, hosting)
        }
        SystemRef::Builtin(name) => {
            let catalog = config
                .map(|c| c.catalog.clone())
                .unwrap_or_else(Catalog::acme);
            let settings = merged(&acme_demo_settings(name));
            open_builtin(&format!("builtin:{name}"), name, &catalog, &settings)
        }
        SystemRef::Path(path) => {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            open_plugin(path, &merged(&Settings::new()), hosting)
        }
    }
}

/// Opens every named system of the config, once each, shared between threads.
pub fn open_all(
    config: &Config,
    names: &std::collections::BTreeSet<String>,
    hosting: &Hosting,
) -> Result<std::collections::BTreeMap<String, std::sync::Arc<dyn Implementation>>, OpenError> {
    names
        .iter()
        .map(|name| {
            let system = config
                .systems
                .get(name)
                .ok_or_else(|| OpenError::unknown_system(name, config))?;
            let imp: std::sync::Arc<dyn Implementation> =
                open_configured(name, system, config, hosting)?.into();
            Ok((name.clone(), imp))
        })
        .collect()
}
