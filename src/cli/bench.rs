//! `keycompat bench`: keys per second, old vs new, and the matrix's own cost,
//! optionally against an earlier run's `bench.json`.

use super::output::{errln, out};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::BenchArgs;
use super::error::{CliError, io};
use super::setup::{DEFAULT_REPORT_DIR, hosting, require_config};
use crate::bench::{self, BenchOptions, Direct, Matrices, Systems};
use crate::check::Matrix;
use crate::config::{Config, Isolation};
use crate::exit;
use crate::finding::Check;
use crate::implementation::Implementation;
use crate::random::Generator;
use crate::settings::Settings;
use crate::system::SystemRef;

/// Every system a run would open: old, new, release validators, generators.
fn run_systems(config: &Config) -> std::collections::BTreeSet<String> {
    let mut names: std::collections::BTreeSet<String> =
        [config.run.old.clone(), config.run.new.clone()].into();
    names.extend(config.releases.iter().map(|r| r.validator.clone()));
    for f in config.formats.values() {
        names.extend(f.generators.iter().cloned());
    }
    names
}

pub(super) fn bench(config_path: Option<&Path>, args: BenchArgs) -> Result<i32, CliError> {
    let config = require_config(config_path)?;
    // Before a minute of measuring: a baseline that cannot be read fails now.
    let baseline = args
        .baseline
        .as_deref()
        .map(|p| read(p, "--baseline").map(|r| (p, r)))
        .transpose()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = args.threads.clone().unwrap_or_else(|| vec![1, cores]);
    threads.sort_unstable();
    threads.dedup();
    let names = match &args.systems {
        Some(s) => s.iter().cloned().collect(),
        None => run_systems(&config),
    };
    let max_threads = threads.iter().copied().max().unwrap_or(1);
    let isolated_hosting = hosting(Isolation::Worker, Some(&config.run), max_threads);
    let open = |names: &mut dyn Iterator<Item = &String>, hosting: &crate::system::Hosting| {
        names
            .map(|name| {
                let reference = SystemRef::parse(name);
                let imp =
                    crate::system::open(&reference, Some(&config), &Settings::new(), hosting)?;
                Ok((name.clone(), Arc::from(imp)))
            })
            .collect::<Result<BTreeMap<String, Arc<dyn Implementation>>, CliError>>()
    };
    let configured = |n: &String| match SystemRef::parse(n) {
        SystemRef::Named(n) => config.systems.get(&n),
        SystemRef::Path(_) | SystemRef::Builtin(_) => None,
    };
    // A process plugin runs in its own child process however it is hosted.
    let is_process = |n: &String| configured(n).is_some_and(|s| s.command.is_some());
    let direct = open(&mut names.iter(), &crate::system::Hosting::InProcess)?
        .into_iter()
        .map(|(name, imp)| {
            let hosting = if is_process(&name) {
                bench::Hosting::Process
            } else {
                bench::Hosting::InProcess
            };
            (name, Direct { hosting, imp })
        })
        .collect();
    let isolated = if args.in_process_only {
        BTreeMap::new()
    } else {
        // Builtins and process plugins have no worker form: only plugin
        // libraries are measured isolated.
        let is_plugin = |n: &&String| match SystemRef::parse(n) {
            SystemRef::Named(_) => configured(n).is_some_and(|s| s.plugin.is_some()),
            SystemRef::Path(_) => true,
            SystemRef::Builtin(_) => false,
        };
        open(&mut names.iter().filter(is_plugin), &isolated_hosting)?
    };
    let checks: std::collections::BTreeSet<Check> = Check::ALL
        .into_iter()
        .filter(|c| !matches!(c, Check::Tamper | Check::Time | Check::Env | Check::Vector))
        .collect();
    let matrices = if args.matrix_cases == 0 {
        Matrices {
            in_process: None,
            isolated: None,
        }
    } else {
        Matrices {
            in_process: Some(Matrix::open(
                &config,
                checks.clone(),
                &crate::system::Hosting::InProcess,
            )?),
            isolated: (!args.in_process_only)
                .then(|| Matrix::open(&config, checks, &isolated_hosting))
                .transpose()?,
        }
    };
    let seed = args.seed.or(config.run.seed).unwrap_or(1);
    let generator = Generator::new(seed, config.catalog.clone(), config.release_majors());
    let options = BenchOptions {
        seed,
        corpus: args.corpus,
        time: args.time,
        rounds: args.rounds,
        threads,
        matrix_cases: args.matrix_cases,
        measured: None,
    };
    let systems = Systems { direct, isolated };
    if let Some(dir) = &args.write_keys {
        write_keys(
            dir,
            &bench::validate_keys(
                &systems,
                &generator,
                &config.run.old,
                &config.run.new,
                &options,
            ),
        )?;
    }
    let quiet = args.quiet;
    let say = |what: &str| {
        if !quiet {
            errln!("measuring: {what}");
        }
    };
    let result = bench::run(
        &systems,
        &matrices,
        &generator,
        &config.run.old,
        &config.run.new,
        &options,
        &say,
    );
    out!("{}", result.to_text());
    let regressed = baseline.map_or(0, |(path, base)| {
        let report = bench::baseline::compare(&base, &result, args.noise_threshold);
        out!("\n{}", report.to_text(&path.display().to_string()));
        report.count(bench::baseline::Verdict::Regressed)
    });
    let dir = args
        .report_dir
        .unwrap_or_else(|| PathBuf::from(DEFAULT_REPORT_DIR));
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let path = dir.join("bench.json");
    let json = serde_json::to_string_pretty(&result).expect("bench results serialize");
    crate::report::write_atomic(&path, json.as_bytes())
        .map_err(|e| CliError::Usage(format!("writing {}: {e}", path.display())))?;
    if !quiet {
        errln!("written: {}", path.display());
    }
    if args.fail_on_regression && regressed > 0 {
        errln!(
            "error: {regressed} figure(s) regressed against the baseline (--fail-on-regression)"
        );
        return Ok(exit::INCOMPATIBLE);
    }
    Ok(exit::GO)
}

/// Reads a `bench.json` written by `keycompat bench` of this version, as a
/// baseline or for a run's reports; every error names the file.
pub(super) fn read(path: &Path, flag: &str) -> Result<bench::BenchResult, CliError> {
    let bad = |what: String| CliError::Usage(format!("{flag} {}: {what}", path.display()));
    if path.is_dir() {
        return Err(bad(
            "is a directory; hint: name the bench.json that `keycompat bench` wrote".into(),
        ));
    }
    let text =
        crate::utf8::read_file(path).map_err(io(format!("{flag} {}: reading", path.display())))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(bench::SCHEMA_VERSION) => {}
        Some(other) if other.starts_with("keycompat-bench/") => {
            return Err(bad(format!(
                "a {other} result; this keycompat reads {}; hint: re-run `keycompat bench` to write one",
                bench::SCHEMA_VERSION
            )));
        }
        _ => {
            return Err(bad(format!(
                "not a keycompat bench result (expected \"schema\": \"{}\")",
                bench::SCHEMA_VERSION
            )));
        }
    }
    let result: bench::BenchResult =
        serde_json::from_value(value).map_err(|e| bad(format!("malformed: {e}")))?;
    result.check().map_err(|e| bad(format!("malformed: {e}")))?;
    Ok(result)
}

/// Writes `DIR/keys-FORMAT.jsonl` per format: one validate item a line, the
/// key as a string (`key_base64` when it is not UTF-8) and its context.
fn write_keys(
    dir: &Path,
    sets: &BTreeMap<String, Vec<(Vec<u8>, crate::verdict::Context)>>,
) -> Result<(), CliError> {
    #[derive(serde::Serialize)]
    struct Item<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_base64: Option<String>,
        context: &'a crate::verdict::Context,
    }
    use base64::Engine as _;
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    for (format, keys) in sets {
        let mut text = String::new();
        for (key, context) in keys {
            let utf8 = std::str::from_utf8(key).ok();
            let item = Item {
                key: utf8,
                key_base64: utf8
                    .is_none()
                    .then(|| base64::engine::general_purpose::STANDARD.encode(key)),
                context,
            };
            text.push_str(&serde_json::to_string(&item).expect("items serialize"));
            text.push('\n');
        }
        let path = dir.join(format!("keys-{format}.jsonl"));
        std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))?;
    }
    Ok(())
}
