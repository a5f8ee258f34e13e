//! `vectors forge`: opens the config's forging systems (its builtins: a
//! plugin cannot forge) and its old and new system, and writes the forged key
//! vectors the library makes of them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::error::CliError;
use super::output::{errln, out};
use super::setup::{hosting, require_config};
use crate::config::Config;
use crate::exit;
use crate::implementation::Implementation;
use crate::system::{self, Hosting};
use crate::vectors::{self, ForgeError};

/// Systems by name, opened.
type Systems = BTreeMap<String, Arc<dyn Implementation>>;

pub(super) fn forge(config_path: Option<&Path>, out_path: Option<&Path>) -> Result<i32, CliError> {
    let config = require_config(config_path)?;
    let forgers = open(&config, builtins(&config), &Hosting::InProcess)?;
    let plugins = hosting(config.run.isolation, Some(&config.run), 1);
    let judged = open(
        &config,
        [config.run.old.clone(), config.run.new.clone()],
        &plugins,
    )?;
    let bases = vectors::base_entitlements(&config.catalog);
    let forged = vectors::forge(&forgers, &judged, &bases)?;
    let text = vectors::forged_vectors_toml(&forged, &command_line(config_path, out_path));
    match out_path {
        None => out!("{text}"),
        Some(path) => {
            crate::report::write_atomic(path, text.as_bytes())
                .map_err(|e| CliError::Usage(format!("writing {}: {e}", path.display())))?;
            errln!("written: {} ({} vectors)", path.display(), forged.len());
        }
    }
    Ok(exit::GO)
}

/// The config's builtin systems, in name order.
fn builtins(config: &Config) -> Vec<String> {
    config
        .systems
        .iter()
        .filter(|(_, s)| s.builtin.is_some())
        .map(|(name, _)| name.clone())
        .collect()
}

fn open(
    config: &Config,
    names: impl IntoIterator<Item = String>,
    hosting: &Hosting,
) -> Result<Systems, CliError> {
    names
        .into_iter()
        .map(|name| {
            let s = config.systems.get(&name).ok_or_else(|| {
                CliError::Usage(format!("no system named {name:?} in the config"))
            })?;
            let imp = system::open_configured(&name, s, config, hosting)?;
            Ok((name, Arc::from(imp)))
        })
        .collect()
}

/// The command that makes the same file, for its header.
fn command_line(config_path: Option<&Path>, out_path: Option<&Path>) -> String {
    let mut line = String::from("keycompat");
    if let Some(c) = config_path {
        line.push_str(&format!(" --config {}", c.display()));
    }
    line.push_str(" vectors forge");
    if let Some(o) = out_path {
        line.push_str(&format!(" --out {}", o.display()));
    }
    line
}

impl From<ForgeError> for CliError {
    fn from(e: ForgeError) -> Self {
        match e {
            ForgeError::Call {
                system, failure, ..
            } => CliError::Call {
                system,
                what: "validate",
                failure,
            },
            other => CliError::Usage(other.to_string()),
        }
    }
}
