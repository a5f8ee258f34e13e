//! What a pool's processes run: a C-ABI plugin library inside
//! `keycompat __worker`, or a process plugin's own command.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::command::ProcessCommand;
use crate::settings::Settings;

/// What each process of a pool runs, and with which settings.
#[derive(Debug, Clone)]
pub(super) enum Target {
    /// `keycompat __worker` loading the library at `plugin`, with `env`
    /// over keycompat's environment.
    Library {
        plugin: PathBuf,
        settings: Settings,
        env: BTreeMap<String, String>,
    },
    /// A process plugin, with `env` over its configured environment (the
    /// ENV check runs copies under other time zones and locales).
    Command {
        command: ProcessCommand,
        settings: Settings,
        env: BTreeMap<String, String>,
    },
}

impl Target {
    /// The library path or the command line, for messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Target::Library { plugin, env, .. } => {
                format!("{}{}", plugin.display(), under(env))
            }
            Target::Command { command, env, .. } => {
                format!("`{}`{}", command.display(), under(env))
            }
        }
    }

    /// Whether the processes speak the process protocol (JSON Lines).
    pub(super) fn is_command(&self) -> bool {
        matches!(self, Target::Command { .. })
    }
}

/// " under TZ=... LC_ALL=..." for an environment that is not keycompat's own.
fn under(env: &BTreeMap<String, String>) -> String {
    if env.is_empty() {
        return String::new();
    }
    let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(" under {}", vars.join(" "))
}
