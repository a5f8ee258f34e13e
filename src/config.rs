//! `keycompat.toml`: the systems, shipped releases and catalog of one migration.
//!
//! Parsing is two-phase: serde reads the raw TOML (errors carry line and
//! column), then [`Config::load`] checks cross-references (a release naming an
//! unknown system, a feature not in the catalog) with the dotted path of the
//! offending field. Nothing here opens a plugin; see [`crate::system`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::catalog::Catalog;
use crate::environment::EnvConfig;
use crate::finding::Check;
use crate::gate::GatesConfig;
use crate::history::config::HistoryConfig;
use crate::settings::Settings;
use crate::verdict::Version;
use crate::waiver::Waiver;

/// The file name looked for in the working directory.
pub const DEFAULT_FILE: &str = "keycompat.toml";

/// A config problem, naming the file and the field or line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TOML does not parse or does not fit the schema.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and the offending text.
        message: String,
    },
    /// A value is inconsistent with the rest of the file.
    #[error("{path}: `{field}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted path of the field, e.g. `releases[2].validator`.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// How a system is implemented.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    /// Path of a plugin library (`${exe_dir}` expands to the directory of the
    /// keycompat binary; relative paths are relative to the config file).
    #[serde(default)]
    pub plugin: Option<String>,
    /// Name of a builtin implementation (`acme-lk1`, `acme-ed1`).
    #[serde(default)]
    pub builtin: Option<String>,
    /// A process plugin's command line (`plugins/PROTOCOL.md`): the program
    /// and its arguments; `${exe_dir}` expands as in `plugin`.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// A process plugin's working directory, relative to the config file's
    /// directory (the default).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Variables added to a process plugin's environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Settings passed to the implementation's `create`.
    #[serde(default)]
    pub settings: Settings,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: Option<String>,
}

/// A product release already in customers' hands: its validator never changes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    /// Display name, e.g. `Acme CAD 5.4`.
    pub name: String,
    /// Product slug.
    pub product: String,
    /// The release's version (the validation context's version).
    pub version: Version,
    /// The system whose validator the release embeds.
    pub validator: String,
    /// Features the release knows; `None` means every feature in the catalog.
    #[serde(default)]
    pub features: Option<Vec<String>>,
}

/// The implementations of one key format: PARITY requires them to issue
/// byte-identical keys, and vectors' exact keys are checked against each.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatConfig {
    /// Systems that issue this format.
    #[serde(default)]
    pub generators: Vec<String>,
}

/// Where plugins run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Each plugin in its own worker process: a crash is a finding.
    #[default]
    Worker,
    /// In-process: fastest, but a crashing plugin takes keycompat down.
    None,
}

fn default_old() -> String {
    "old".into()
}
fn default_new() -> String {
    "new".into()
}
fn default_cases() -> u64 {
    100_000
}
fn default_vectors() -> Option<String> {
    Some("vectors".into())
}

/// Reads `[run] vectors`: a directory, or `false` for no shared vectors.
fn vectors_setting<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Setting;
    impl serde::de::Visitor<'_> for Setting {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the vectors directory (a path relative to this file), or `false` for none")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.trim().is_empty() {
                return Err(E::custom(
                    "an empty path; write `vectors = false` to run without shared vectors",
                ));
            }
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            if v {
                Err(E::custom(
                    "`true` names no directory: write its path (e.g. `vectors = \"vectors\"`), \
                     or `vectors = false` to run without shared vectors",
                ))
            } else {
                Ok(None)
            }
        }
    }
    d.deserialize_any(Setting)
}

/// `[run]`: what `keycompat run` does by default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The system being retired.
    #[serde(default = "default_old")]
    pub old: String,
    /// The system going live.
    #[serde(default = "default_new")]
    pub new: String,
    /// Seed of the random cases; absent: a fresh seed, printed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Number of random cases.
    #[serde(default = "default_cases")]
    pub cases: u64,
    /// Directory of test vectors, relative to this file (default
    /// `vectors`); `None` (`vectors = false`): no shared vectors, and no
    /// regression vectors saved.
    #[serde(default = "default_vectors", deserialize_with = "vectors_setting")]
    pub vectors: Option<String>,
    /// Checks to run; absent: all.
    #[serde(default)]
    pub checks: Option<Vec<Check>>,
    /// Where plugins run.
    #[serde(default)]
    pub isolation: Isolation,
    /// How long one call may take in a worker before it is killed and
    /// reported as a `crash` (e.g. `"500ms"`, `"5s"`).
    #[serde(default = "default_timeout", deserialize_with = "duration")]
    pub timeout: std::time::Duration,
    /// The most data memory one worker process or process plugin may hold
    /// before its allocations fail (`"2GiB"`, `"512MiB"`, `"none"`): a
    /// plugin that allocates without bound becomes a `crash` finding instead
    /// of taking the machine's memory. `None`: no limit.
    #[serde(default = "default_memory_limit", deserialize_with = "memory_limit")]
    pub memory_limit: Option<u64>,
}

fn default_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(5)
}

fn default_memory_limit() -> Option<u64> {
    Some(crate::plugin::DEFAULT_MEMORY_LIMIT)
}

/// Reads `"2GiB"` / `"512MiB"` / `"none"`.
fn memory_limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s = String::deserialize(d)?;
    parse_memory_limit(&s).map_err(serde::de::Error::custom)
}

/// Parses a memory size like `512MiB`, `2GiB` or `1500MB`, or `none`.
pub fn parse_memory_limit(s: &str) -> Result<Option<u64>, String> {
    let bad = || format!("{s:?} is not a memory size like \"512MiB\", \"2GiB\" or \"none\"");
    if s == "none" {
        return Ok(None);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let scale: u64 = match unit.trim_start() {
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "PiB" => 1 << 50,
        "EiB" => 1 << 60,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "PB" => 1_000_000_000_000_000,
        "EB" => 1_000_000_000_000_000_000,
        _ => return Err(bad()),
    };
    let too_large = || {
        format!(
            "{s:?} is too large a memory limit: at most 15EiB (2^64-1 bytes); hint: \"none\" sets no limit"
        )
    };
    let n: u64 = match n.parse() {
        Ok(n) => n,
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => return Err(too_large()),
        Err(_) => return Err(bad()),
    };
    let bytes = n.checked_mul(scale).ok_or_else(too_large)?;
    if bytes < 16 << 20 {
        return Err(format!(
            "{s:?} is too small a memory limit: a worker needs at least 16MiB to start"
        ));
    }
    Ok(Some(bytes))
}

/// Reads `"500ms"` / `"5s"` / `"2m"`.
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

/// The longest duration [`parse_duration`] accepts: 24 hours.
const MAX_DURATION_MS: u64 = 24 * 60 * 60 * 1000;

/// Parses `500ms`, `5s` or `2m`, above 0 and at most 24 hours.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like \"500ms\", \"5s\" or \"2m\""))?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        _ => {
            return Err(format!(
                "{s:?} is not a duration like \"500ms\", \"5s\" or \"2m\""
            ));
        }
    };
    // A day is far beyond any sensible timeout; more would overflow the
    // arithmetic of deadlines (and a wrapped product would be a tiny one).
    let ms = ms
        .filter(|ms| *ms <= MAX_DURATION_MS)
        .ok_or_else(|| format!("{s:?} is longer than the limit of 24h"))?;
    if ms == 0 {
        return Err("a timeout must be longer than 0".into());
    }
    Ok(std::time::Duration::from_millis(ms))
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            old: default_old(),
            new: default_new(),
            seed: None,
            cases: default_cases(),
            vectors: default_vectors(),
            checks: None,
            isolation: Isolation::default(),
            timeout: default_timeout(),
            memory_limit: default_memory_limit(),
        }
    }
}

/// The raw file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    catalog: Option<Catalog>,
    #[serde(default)]
    systems: BTreeMap<String, SystemConfig>,
    #[serde(default)]
    releases: Vec<ReleaseConfig>,
    #[serde(default)]
    formats: BTreeMap<String, FormatConfig>,
    #[serde(default)]
    run: RunConfig,
    #[serde(default)]
    gates: GatesConfig,
    #[serde(default)]
    waivers: Vec<Waiver>,
    #[serde(default)]
    sources: Sources,
    #[serde(default)]
    env: EnvConfig,
    #[serde(default)]
    history: HistoryConfig,
}

/// `[sources]`: the vendor's exports a run reads besides vectors and random
/// cases.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    /// Keys already in customers' hands.
    #[serde(default)]
    pub field_keys: Option<crate::export::FieldKeysSource>,
    /// Real orders, dual-run through both systems.
    #[serde(default)]
    pub orders: Option<crate::export::OrdersSource>,
}

/// A loaded and cross-checked config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (absolute).
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, hex: reports name the exact config.
    pub sha256: String,
    /// The catalog (the Acme demo's when the file has none).
    pub catalog: Catalog,
    /// Systems by name.
    pub systems: BTreeMap<String, SystemConfig>,
    /// Shipped releases, in file order.
    pub releases: Vec<ReleaseConfig>,
    /// Key formats and their generators.
    pub formats: BTreeMap<String, FormatConfig>,
    /// `[run]` defaults.
    pub run: RunConfig,
    /// Go-live gate thresholds.
    pub gates: GatesConfig,
    /// Accepted incompatibilities.
    pub waivers: Vec<Waiver>,
    /// Field-key and order exports.
    pub sources: Sources,
    /// `[env]`: the environments of the ENV check.
    pub env: EnvConfig,
    /// `[history]`: the run history's file.
    pub history: HistoryConfig,
}

impl Config {
    /// Reads and checks a config file, and the paths it names (the vectors
    /// directory must exist).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = crate::utf8::decode(bytes).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let config = Self::parse(&text, &abs)?;
        config.check_paths()?;
        Ok(config)
    }

    /// Parses config text as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        use sha2::Digest;
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let config = Config {
            path: path.to_path_buf(),
            sha256: hex::encode(sha2::Sha256::digest(text.as_bytes())),
            catalog: raw.catalog.unwrap_or_else(Catalog::acme),
            systems: raw.systems,
            releases: raw.releases,
            formats: raw.formats,
            run: raw.run,
            gates: raw.gates,
            waivers: raw.waivers,
            sources: raw.sources,
            env: raw.env,
            history: raw.history,
        };
        config.check()?;
        Ok(config)
    }

    fn invalid(&self, field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            field: field.into(),
            message: message.into(),
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.catalog
            .check()
            .map_err(|m| self.invalid("catalog", m))?;
        if let Some(s) = &self.sources.field_keys {
            s.check(&self.catalog)
                .map_err(|e| self.invalid(format!("sources.field_keys.{}", e.field), e.message))?;
        }
        if let Some(s) = &self.sources.orders {
            s.check(&self.catalog)
                .map_err(|e| self.invalid(format!("sources.orders.{}", e.field), e.message))?;
        }
        for (name, s) in &self.systems {
            let field = format!("systems.{name}");
            let kinds = [s.plugin.is_some(), s.builtin.is_some(), s.command.is_some()];
            match kinds.iter().filter(|&&k| k).count() {
                1 => {}
                0 => {
                    return Err(self.invalid(
                        field,
                        "set `plugin = \"path/to/lib.so\"`, `builtin = \"acme-lk1\"` or `command = [\"python3\", \"validator.py\"]`",
                    ));
                }
                _ => {
                    return Err(
                        self.invalid(field, "set only one of `plugin`, `builtin` and `command`")
                    );
                }
            }
            if let Some(command) = &s.command {
                if command.first().is_none_or(|p| p.trim().is_empty()) {
                    return Err(self.invalid(
                        format!("{field}.command"),
                        "the command is empty: give the program and its arguments, e.g. [\"python3\", \"validator.py\"]",
                    ));
                }
                if let Some(i) = command.iter().position(|a| a.contains('\0')) {
                    return Err(self.invalid(
                        format!("{field}.command[{i}]"),
                        "contains a NUL byte, which no command line can carry",
                    ));
                }
                for (name, value) in &s.env {
                    crate::environment::check_variable(name, value).map_err(|(sub, m)| {
                        let at = sub.map_or(format!("{field}.env"), |n| format!("{field}.env.{n}"));
                        self.invalid(at, m)
                    })?;
                }
                let cwd = self.command_cwd(s);
                if !cwd.is_dir() {
                    return Err(self.invalid(
                        format!("{field}.cwd"),
                        format!("{} is not a directory", cwd.display()),
                    ));
                }
            } else if s.plugin.as_deref().is_some_and(|p| p.trim().is_empty()) {
                return Err(self.invalid(
                    format!("{field}.plugin"),
                    "the path is empty: give the plugin library's path, e.g. \"${exe_dir}/libacme_lk1_c.so\"",
                ));
            } else if s.cwd.is_some() || !s.env.is_empty() {
                return Err(self.invalid(
                    field,
                    "`cwd` and `env` apply to process plugins (`command`) only",
                ));
            }
        }
        for (i, r) in self.releases.iter().enumerate() {
            let field = |f: &str| format!("releases[{i}].{f}");
            if self.catalog.product(&r.product).is_none() {
                return Err(
                    self.invalid(field("product"), format!("unknown product {:?}", r.product))
                );
            }
            if !self.systems.contains_key(&r.validator) {
                return Err(self.invalid(
                    field("validator"),
                    format!(
                        "no system named {:?}; defined: {}",
                        r.validator,
                        self.systems.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            for f in r.features.iter().flatten() {
                if self.catalog.feature(f).is_none() {
                    return Err(self.invalid(field("features"), format!("unknown feature {f:?}")));
                }
            }
            if self.releases[..i].iter().any(|o| o.name == r.name) {
                return Err(
                    self.invalid(field("name"), format!("release {:?} appears twice", r.name))
                );
            }
        }
        self.check_system_refs()
    }

    fn check_system_refs(&self) -> Result<(), ConfigError> {
        let known = |name: &str, field: String| -> Result<(), ConfigError> {
            if self.systems.contains_key(name) {
                Ok(())
            } else {
                Err(self.invalid(
                    field,
                    format!(
                        "no system named {name:?}; defined: {}",
                        self.systems.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        };
        for (format, f) in &self.formats {
            for (i, g) in f.generators.iter().enumerate() {
                known(g, format!("formats.{format}.generators[{i}]"))?;
                if let Some(first) = f.generators[..i].iter().position(|x| x == g) {
                    return Err(self.invalid(
                        format!("formats.{format}.generators[{i}]"),
                        format!("{g:?} is listed twice (also generators[{first}])"),
                    ));
                }
            }
        }
        if !self.systems.is_empty() {
            known(&self.run.old, "run.old".into())?;
            known(&self.run.new, "run.new".into())?;
        }
        for (i, w) in self.waivers.iter().enumerate() {
            w.check(&self.catalog)
                .map_err(|(field, m)| self.invalid(format!("waivers[{i}].{field}"), m))?;
            if self.systems.is_empty() {
                continue;
            }
            // A waiver naming nothing that exists would silently cover nothing.
            if let Some(g) = &w.generator
                && !self.systems.contains_key(g)
                && g != "field-keys"
            {
                known(g, format!("waivers[{i}].generator"))?;
            }
            if let Some(v) = &w.validator
                && !self.systems.contains_key(v)
                && !self.releases.iter().any(|r| r.name == *v)
            {
                return Err(self.invalid(
                    format!("waivers[{i}].validator"),
                    format!(
                        "no system or release named {v:?}; systems: {}; releases: {}",
                        self.systems.keys().cloned().collect::<Vec<_>>().join(", "),
                        self.releases
                            .iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        self.gates
            .check()
            .map_err(|(field, m)| self.invalid(format!("gates.{field}"), m))?;
        self.env
            .check(&self.systems)
            .map_err(|(field, m)| self.invalid(format!("env.{field}"), m))?;
        Ok(())
    }

    /// The directories and files the config names exist: a vectors
    /// directory that does not is an error, never an empty set of vectors
    /// (a typo would silently drop every vector).
    fn check_paths(&self) -> Result<(), ConfigError> {
        let Some(dir) = self.vectors_dir() else {
            return Ok(());
        };
        if !dir.is_dir() {
            let what = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return Err(self.invalid(
                "run.vectors",
                format!(
                    "the vectors directory {} {what} (`vectors` is relative to this file; \
                     absent, it is \"vectors\"); hint: set `[run] vectors = \"PATH\"` to your \
                     vectors, or `vectors = false` to run without shared vectors",
                    dir.display()
                ),
            ));
        }
        Ok(())
    }

    /// The history file of `[history] path`, relative to this file's
    /// directory; `None` when not configured.
    pub fn history_path(&self) -> Option<PathBuf> {
        let base = self.path.parent().unwrap_or(Path::new("."));
        self.history.path.as_ref().map(|p| base.join(p))
    }

    /// The absolute directory of test vectors; `None` with `vectors = false`.
    pub fn vectors_dir(&self) -> Option<PathBuf> {
        let base = self.path.parent().unwrap_or(Path::new("."));
        self.run.vectors.as_ref().map(|v| base.join(v))
    }

    /// The major versions of the shipped releases, sorted and distinct
    /// (random cases favour them).
    pub fn release_majors(&self) -> Vec<u8> {
        let mut majors: Vec<u8> = self
            .releases
            .iter()
            .filter_map(|r| u8::try_from(r.version.major).ok())
            .collect();
        majors.sort_unstable();
        majors.dedup();
        majors
    }

    /// The absolute path of a system's plugin, with `${exe_dir}` expanded and
    /// relative paths taken from the config file's directory.
    pub fn plugin_path(&self, plugin: &str) -> PathBuf {
        let base = self.path.parent().unwrap_or(Path::new("."));
        expand_plugin_path(plugin, base)
    }

    /// The working directory of a process plugin: its `cwd` relative to the
    /// config file's directory, or that directory.
    pub fn command_cwd(&self, system: &SystemConfig) -> PathBuf {
        let base = self.path.parent().unwrap_or(Path::new("."));
        let base = if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base
        };
        match &system.cwd {
            Some(cwd) => expand_plugin_path(cwd, base),
            None => base.to_path_buf(),
        }
    }

    /// A process plugin's argv, with `${exe_dir}` expanded.
    pub fn command_argv(&self, command: &[String]) -> Vec<String> {
        command.iter().map(|a| expand_exe_dir(a)).collect()
    }
}

/// Expands `${exe_dir}` to the directory of the running binary.
fn expand_exe_dir(text: &str) -> String {
    if !text.contains("${exe_dir}") {
        return text.to_string();
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    text.replace("${exe_dir}", &exe_dir.to_string_lossy())
}

/// Expands `${exe_dir}` and resolves `plugin` against `base`.
pub fn expand_plugin_path(plugin: &str, base: &Path) -> PathBuf {
    let p = PathBuf::from(expand_exe_dir(plugin));
    if p.is_absolute() { p } else { base.join(p) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/x/keycompat.toml"))
    }

    #[test]
    fn durations_past_a_day_are_refused_not_wrapped() {
        assert_eq!(
            parse_duration("24h"),
            Err(r#""24h" is not a duration like "500ms", "5s" or "2m""#.into())
        );
        assert_eq!(
            parse_duration("1440m"),
            Ok(std::time::Duration::from_secs(86_400))
        );
        for huge in [
            "1441m",
            "2066035336255469781s",
            "307445734561825861m",
            "18446744073709551615ms",
        ] {
            assert_eq!(
                parse_duration(huge),
                Err(format!("{huge:?} is longer than the limit of 24h")),
            );
        }
    }

    #[test]
    fn errors_name_the_field_or_line() {
        let e = parse("[systems.old]\nbuiltin = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = parse("[systems.old]\n").unwrap_err().to_string();
        assert!(e.contains("systems.old"), "{e}");
        let e = parse("[systems.old]\nbuiltin='acme-lk1'\n[[releases]]\nname='a'\nproduct='acme-cad'\nversion='5.4'\nvalidator='nope'\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("releases[0].validator") && e.contains("old"),
            "{e}"
        );
        let e = parse("[systems.old]\nbuiltin='acme-lk1'\nsettings={secret=1}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3"), "{e}");
        let e = parse("[sistems]\n").unwrap_err().to_string();
        assert!(e.contains("sistems"), "{e}");
    }

    #[test]
    fn plugin_paths_are_relative_to_the_config() {
        let c = parse("").unwrap();
        assert_eq!(c.plugin_path("lib/x.so"), PathBuf::from("/x/lib/x.so"));
        assert_eq!(c.plugin_path("/abs/x.so"), PathBuf::from("/abs/x.so"));
        assert!(
            !c.plugin_path("${exe_dir}/x.so")
                .to_string_lossy()
                .contains('$')
        );
    }
}
