//! The one-line command that replays a finding, as every report prints it.

use crate::entitlement::Entitlement;
use crate::finding::{Check, Finding, Source};

/// The one-line command that replays a finding's case.
pub fn replay_command(f: &Finding) -> String {
    match &f.source {
        Source::Random { seed, index } => format!(
            "keycompat replay --seed {seed} --case {index} --check {}",
            f.key.check.as_str()
        ),
        Source::Vector { id, .. } => format!(
            "keycompat replay --vector {id} --check {}",
            f.key.check.as_str()
        ),
        Source::Steered { .. } | Source::Order { .. } => f
            .entitlement
            .as_ref()
            .map(|e| entitlement_command(e, f.key.check))
            .unwrap_or_default(),
        Source::FieldKey { .. } => match (&f.license_key, &f.context, &f.key.validator) {
            (Some(key), Some(c), Some(validator)) => {
                let mut cmd = format!(
                    "keycompat validate --system {} --key {} --product {} --version {} --today {}",
                    shell_quote(validator),
                    shell_quote(key),
                    shell_quote(&c.product),
                    c.version,
                    c.today
                );
                if let Some(h) = &c.host_id {
                    cmd.push_str(&format!(" --host-id {}", shell_quote(h)));
                }
                cmd
            }
            _ => String::new(),
        },
        // The system's start under the environment (variables a child
        // inherits; a config's own `env` for it still wins).
        Source::Start {
            system,
            environment,
        } => format!(
            "env {environment} keycompat plugin inspect --system {}",
            shell_quote(system)
        ),
    }
}

/// The command that replays a shrunk example: its entitlement, given in
/// full (a shrunk example is no longer the seeded case it came from).
pub fn shrunk_command(shrunk: &Finding) -> Option<String> {
    let e = shrunk.entitlement.as_ref()?;
    Some(entitlement_command(e, shrunk.key.check))
}

fn entitlement_command(e: &Entitlement, check: Check) -> String {
    format!(
        "keycompat replay --entitlement {} --check {}",
        shell_quote(&e.to_json()),
        check.as_str()
    )
}

/// `command` (a `keycompat ...` line) with `--config PATH` added, unless it
/// is empty or already names one.
pub fn with_config(command: &str, config: &str) -> String {
    match command.strip_prefix("keycompat ") {
        Some(rest) if !rest.starts_with("--config ") => {
            format!("keycompat --config {} {rest}", shell_quote(config))
        }
        _ => command.to_string(),
    }
}

/// Quotes `s` for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/=+,@".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
