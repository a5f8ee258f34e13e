//! `[env]`: the environments the ENV check runs validators under, and what a
//! run reports about them.
//!
//! Real validators have read the machine's time zone, locale and calendar
//! (a key expiring a day early east of UTC, a Thai Buddhist year breaking a
//! date parser). Only a validator in a child process (a process plugin, a
//! library hosted in worker processes) can be started under another
//! environment; one in keycompat's own process cannot, and is reported as
//! not checked. Nothing here opens a system: [`crate::check`] does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The variables of one environment, set over keycompat's own.
pub type Environment = BTreeMap<String, String>;

/// `[env]` of `keycompat.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    /// The environments, each a table of variables.
    #[serde(default = "default_environments")]
    pub environments: Vec<Environment>,
    /// The systems to check; absent: every validator of the run (old, new,
    /// the release validators).
    #[serde(default)]
    pub systems: Option<Vec<String>>,
    /// Check the random cases whose index is a multiple of this (1: all);
    /// vectors, regressions, steered cases and orders are always checked.
    #[serde(default = "default_every")]
    pub every: u64,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            environments: default_environments(),
            systems: None,
            every: default_every(),
        }
    }
}

/// Far east of UTC (UTC+14), far west (UTC-11), and a locale whose calendar
/// is not the Gregorian one (the Thai solar calendar: 2026 is 2569).
pub fn default_environments() -> Vec<Environment> {
    let env = |pairs: &[(&str, &str)]| -> Environment {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    vec![
        env(&[("TZ", "Pacific/Kiritimati")]),
        env(&[("TZ", "Pacific/Pago_Pago")]),
        env(&[("LANG", "th_TH.UTF-8"), ("LC_ALL", "th_TH.UTF-8")]),
    ]
}

fn default_every() -> u64 {
    DEFAULT_EVERY
}

/// The default of `[env] every`: every 4th random case. Asking every random
/// case made the demo run 1.6x as long (1.6 M more validations, each through
/// a worker); a quarter keeps it near 1.15x (README, "The ENV check").
pub const DEFAULT_EVERY: u64 = 4;

/// An environment in words, as findings and reports name it:
/// `TZ=Pacific/Kiritimati`, `LANG=th_TH.UTF-8 LC_ALL=th_TH.UTF-8`.
pub fn label(env: &Environment) -> String {
    env.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks one environment variable: a problem as (the variable's name when
/// the value is at fault, message).
pub fn check_variable(name: &str, value: &str) -> Result<(), (Option<String>, String)> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err((
            None,
            format!("{name:?} is not a variable name: it must be non-empty, without `=` or NUL"),
        ));
    }
    if value.contains('\0') {
        return Err((Some(name.to_string()), "the value contains NUL".into()));
    }
    Ok(())
}

/// Where glibc looks for time zone files: `$TZDIR`, else the system's.
fn zoneinfo_dir() -> PathBuf {
    std::env::var_os("TZDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/usr/share/zoneinfo"), PathBuf::from)
}

/// Checks a `TZ` value: glibc falls back to UTC without a word for a zone it
/// cannot find (`Asia/Tokio`), so such an environment would be keycompat's
/// own under another name. A value is a zone when it is a file under the
/// zoneinfo directory (or, after `:` or as an absolute path, a file), or a
/// POSIX TZ string (`UTC-14`, `EST5EDT`, `<+14>-14`). Where the zoneinfo
/// directory does not exist at all, nothing can be told and the value is
/// accepted ([`EnvConfig::warnings`] says so).
fn check_zone(value: &str, zoneinfo: &Path) -> Result<(), String> {
    let name = value.strip_prefix(':').unwrap_or(value);
    if value.is_empty() || is_posix_tz(value) {
        return Ok(());
    }
    let file = if Path::new(name).is_absolute() {
        PathBuf::from(name)
    } else if zoneinfo.is_dir() {
        zoneinfo.join(name)
    } else {
        return Ok(());
    };
    if file.is_file() {
        return Ok(());
    }
    Err(format!(
        "no time zone {value:?}: {} is not a file, and it is no POSIX TZ string (e.g. UTC-14, \
         EST5EDT, <+14>-14); glibc would silently use UTC; hint: name a zone under {} (e.g. \
         Asia/Tokyo)",
        file.display(),
        zoneinfo.display()
    ))
}

/// Whether `tz` is a POSIX TZ string: `std offset [dst [offset] [,rule]]`,
/// each name three or more letters or `<...>`.
fn is_posix_tz(tz: &str) -> bool {
    fn name(s: &str) -> Option<&str> {
        if let Some(rest) = s.strip_prefix('<') {
            let end = rest.find('>')?;
            let inner = &rest[..end];
            let ok = inner.len() >= 3
                && inner
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-');
            return ok.then(|| &rest[end + 1..]);
        }
        let end = s
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(s.len());
        (end >= 3).then(|| &s[end..])
    }
    fn offset(s: &str) -> Option<&str> {
        let s = s.strip_prefix(['+', '-']).unwrap_or(s);
        let mut rest = s;
        for part in 0..3 {
            if part > 0 {
                match rest.strip_prefix(':') {
                    Some(r) => rest = r,
                    None => break,
                }
            }
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if !(1..=2).contains(&digits) {
                return None;
            }
            rest = &rest[digits..];
        }
        Some(rest)
    }
    let Some(rest) = name(tz).and_then(offset) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = name(rest) else {
        return false;
    };
    let rest = offset(rest).unwrap_or(rest);
    rest.is_empty()
        || rest.strip_prefix(',').is_some_and(|rule| {
            rule.chars()
                .all(|c| c.is_ascii_digit() || ",./:+-MJ".contains(c))
        })
}

/// Whether variable `name` selects a locale (`LANG`, `LC_ALL`, `LC_TIME`...).
fn is_locale_variable(name: &str) -> bool {
    name == "LANG" || name.starts_with("LC_")
}

/// A locale name as `locale -a` compares: the codeset lower case and without
/// punctuation (`th_TH.UTF-8` and `th_TH.utf8` are one locale).
fn normalise_locale(name: &str) -> String {
    let (base, modifier) = name
        .split_once('@')
        .map_or((name, None), |(b, m)| (b, Some(m)));
    let mut out = match base.split_once('.') {
        Some((lang, codeset)) => {
            let codeset: String = codeset
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            format!("{lang}.{codeset}")
        }
        None => base.to_string(),
    };
    if let Some(m) = modifier {
        out.push('@');
        out.push_str(m);
    }
    out
}

/// The locales installed on this machine (`locale -a`), normalised; `None`
/// when `locale` cannot be run (nothing can then be told).
fn installed_locales() -> Option<Vec<String>> {
    let out = std::process::Command::new("locale")
        .arg("-a")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| normalise_locale(l.trim()))
            .collect()
    })
}

impl EnvConfig {
    /// What the environments may not do on this machine, one warning each,
    /// naming the field: a locale `locale -a` does not list (C programs fall
    /// back to the C locale under it, while runtimes with their own locale
    /// data, Java or Node, still read the variable, so it is not an error),
    /// and time zones that cannot be checked without a zoneinfo directory.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let zoneinfo = zoneinfo_dir();
        let mut installed = None;
        for (i, env) in self.environments.iter().enumerate() {
            for (name, value) in env {
                let field = format!("env.environments[{i}].{name}");
                if name == "TZ"
                    && !value.is_empty()
                    && !is_posix_tz(value)
                    && !Path::new(value.strip_prefix(':').unwrap_or(value)).is_absolute()
                    && !zoneinfo.is_dir()
                {
                    out.push(format!(
                        "{field}: time zone {value:?} cannot be checked: {} does not exist, and \
                         glibc uses UTC for a zone it cannot find; hint: install the time zone \
                         database (tzdata) or set TZDIR",
                        zoneinfo.display()
                    ));
                }
                if !is_locale_variable(name)
                    || value.is_empty()
                    || ["C", "POSIX"].contains(&value.as_str())
                {
                    continue;
                }
                let Some(locales) = installed.get_or_insert_with(installed_locales) else {
                    continue;
                };
                if !locales.contains(&normalise_locale(value)) {
                    out.push(format!(
                        "{field}: locale {value:?} is not installed on this machine (`locale -a` \
                         does not list it): C programs under it fall back to the C locale, \
                         runtimes with their own locale data (Java, Node) still read it; hint: \
                         install it (e.g. `locale-gen {value}`)"
                    ));
                }
            }
        }
        out
    }

    /// Checks the section against the config's `systems`: a problem as
    /// (field below `env`, message).
    pub fn check<T>(&self, systems: &BTreeMap<String, T>) -> Result<(), (String, String)> {
        if self.environments.is_empty() {
            return Err((
                "environments".into(),
                "an empty list checks nothing; hint: leave `environments` out for the defaults, \
                 or leave \"env\" out of `run.checks`"
                    .into(),
            ));
        }
        for (i, env) in self.environments.iter().enumerate() {
            let field = format!("environments[{i}]");
            if env.is_empty() {
                return Err((
                    field,
                    "an environment without variables is keycompat's own: set at least one, e.g. { TZ = \"Asia/Tokyo\" }".into(),
                ));
            }
            for (name, value) in env {
                check_variable(name, value).map_err(|(sub, m)| {
                    (sub.map_or(field.clone(), |n| format!("{field}.{n}")), m)
                })?;
                if name == "TZ" {
                    check_zone(value, &zoneinfo_dir()).map_err(|m| (format!("{field}.TZ"), m))?;
                }
            }
            if self.environments[..i].contains(env) {
                return Err((field, format!("{} appears twice", label(env))));
            }
        }
        if self.systems.as_ref().is_some_and(Vec::is_empty) {
            return Err((
                "systems".into(),
                "an empty list checks no system; hint: leave `systems` out for the defaults \
                 (old, new and every release's validator), or leave \"env\" out of `run.checks`"
                    .into(),
            ));
        }
        for (i, name) in self.systems.iter().flatten().enumerate() {
            let field = format!("systems[{i}]");
            if !systems.contains_key(name) {
                let known: Vec<&str> = systems.keys().map(String::as_str).collect();
                return Err((
                    field,
                    format!("no system named {name:?}; defined: {}", known.join(", ")),
                ));
            }
            if self.systems.iter().flatten().take(i).any(|s| s == name) {
                return Err((field, format!("{name:?} appears twice")));
            }
        }
        if self.every == 0 {
            return Err((
                "every".into(),
                "must be at least 1 (1: every random case)".into(),
            ));
        }
        Ok(())
    }
}

/// What the ENV check covered, as every report says it: a system that could
/// not be checked is listed, never counted as passing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnvScope {
    /// The environments, in words ([`label`]).
    pub environments: Vec<String>,
    /// The systems asked under every environment.
    pub checked: Vec<String>,
    /// The systems that could not be, and why.
    pub unchecked: Vec<Unchecked>,
    /// The share of random cases checked: every `every`-th.
    pub every: u64,
}

/// A system the ENV check could not run under other environments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unchecked {
    /// The system.
    pub system: String,
    /// Why, e.g. `a builtin: runs in keycompat's own process`.
    pub reason: String,
}

impl EnvScope {
    /// One line for the terminal and Markdown: what was checked under what.
    pub fn describe(&self) -> String {
        let mut s = format!("under {}: ", self.environments.join(", "));
        if self.checked.is_empty() {
            s.push_str("no system checked");
        } else {
            s.push_str(&format!("checked {}", self.checked.join(", ")));
        }
        if self.every > 1 {
            s.push_str(&format!(" (1 random case in {})", self.every));
        }
        if !self.unchecked.is_empty() {
            let list: Vec<String> = self
                .unchecked
                .iter()
                .map(|u| format!("{} ({})", u.system, u.reason))
                .collect();
            s.push_str(&format!("; NOT checked: {}", list.join(", ")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn systems() -> BTreeMap<String, ()> {
        [("old".to_string(), ()), ("new".to_string(), ())].into()
    }

    fn parse(text: &str) -> EnvConfig {
        toml::from_str(text).expect("parses")
    }

    #[test]
    fn defaults_are_far_east_far_west_and_a_thai_calendar() {
        let c = parse("");
        let labels: Vec<String> = c.environments.iter().map(label).collect();
        assert_eq!(
            labels,
            [
                "TZ=Pacific/Kiritimati",
                "TZ=Pacific/Pago_Pago",
                "LANG=th_TH.UTF-8 LC_ALL=th_TH.UTF-8"
            ]
        );
        assert_eq!(c.every, DEFAULT_EVERY);
        assert_eq!(c.check(&systems()), Ok(()));
    }

    #[test]
    fn problems_name_the_field() {
        let field = |text: &str| parse(text).check(&systems()).unwrap_err().0;
        assert_eq!(field("environments = []"), "environments");
        assert_eq!(field("environments = [{}]"), "environments[0]");
        assert_eq!(
            field("environments = [{ TZ = \"UTC\" }, { \"A=B\" = \"x\" }]"),
            "environments[1]"
        );
        assert_eq!(
            field("environments = [{ \"\" = \"x\" }]"),
            "environments[0]"
        );
        assert_eq!(
            field("environments = [{ TZ = \"UTC\" }, { TZ = \"UTC\" }]"),
            "environments[1]"
        );
        assert_eq!(field("systems = [\"new\", \"nope\"]"), "systems[1]");
        assert_eq!(field("systems = [\"new\", \"new\"]"), "systems[1]");
        assert_eq!(field("every = 0"), "every");
        let (_, message) = parse("systems = [\"nope\"]").check(&systems()).unwrap_err();
        assert!(message.contains("defined: new, old"), "{message}");
        assert!(toml::from_str::<EnvConfig>("environment = []").is_err());
    }
}

#[cfg(test)]
/// Time zones and locales: the checks that need no machine state.
mod zone_and_locale_tests {
    use super::*;

    #[test]
    fn posix_tz_strings() {
        for tz in [
            "UTC-14",
            "EST5EDT",
            "<+14>-14",
            "CET-1CEST,M3.5.0,M10.5.0/3",
            "UTC0",
            "JST-9",
        ] {
            assert!(is_posix_tz(tz), "{tz}");
        }
        for tz in ["Asia/Tokio", "UTC", "Tokio", "X5", "UTC+123", "<+1>-1"] {
            assert!(!is_posix_tz(tz), "{tz}");
        }
    }

    #[test]
    fn locales_compare_normalised() {
        assert_eq!(
            normalise_locale("th_TH.UTF-8"),
            normalise_locale("th_TH.utf8")
        );
        assert_eq!(normalise_locale("de_DE.UTF-8@euro"), "de_DE.utf8@euro");
        assert_ne!(normalise_locale("th_TH.UTF-8"), normalise_locale("th_TH"));
    }
}
