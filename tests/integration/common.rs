//! Shared helpers for the integration tests: the real binary, the real
//! plugins, and temporary files.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The keycompat binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keycompat"))
}

/// The directory the binary and the workspace's plugins are built into.
pub fn profile_dir() -> PathBuf {
    bin()
        .parent()
        .expect("binary has a directory")
        .to_path_buf()
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the workspace's plugin libraries once per test run.
///
/// `cargo test` compiles the `cdylib` plugin crates only as far as tests need
/// their Rust code, and does not place the libraries next to the binary; so
/// the tests build them with `cargo build` in the same profile (cargo
/// releases its lock while tests run).
///
/// `--examples` (the workspace has none) makes cargo resolve features the way
/// `cargo test` does, dev-dependencies included. A plain `cargo build
/// --workspace` resolves them without, so shared dependencies (serde and
/// everything above it) get other features and cargo compiles a second copy
/// of most of the dependency tree and of keycompat itself: that was most of
/// the first test's run time on a fresh clone. With `--examples` only the
/// plugin libraries are new; the rest is what `cargo test` just built.
pub fn ensure_built() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args([
            "build",
            "--workspace",
            "--lib",
            "--bins",
            "--examples",
            "--quiet",
        ])
        .current_dir(repo());
        if profile_dir().file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let out = cmd.output().expect("run cargo build");
        assert!(
            out.status.success(),
            "cargo build --workspace failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// A plugin library built by the workspace, by file name, e.g. `libacme_ed1.so`.
pub fn plugin(file: &str) -> PathBuf {
    ensure_built();
    let p = profile_dir().join(file);
    assert!(
        p.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        p.display()
    );
    p
}

/// The old system's C plugin.
pub fn lk1_c() -> PathBuf {
    PathBuf::from(acme_lk1_c::PLUGIN_PATH)
}

/// The new system's Rust plugin.
pub fn ed1() -> PathBuf {
    plugin("libacme_ed1.so")
}

/// The fault-injecting test plugin.
pub fn faulty() -> PathBuf {
    plugin("libkc_faulty.so")
}

/// A test plugin with a broken table, e.g. `bad_magic`.
pub fn bad_table(name: &str) -> PathBuf {
    ensure_built();
    let p = profile_dir()
        .join("test-plugins")
        .join(format!("lib{name}.so"));
    assert!(p.is_file(), "{} is missing", p.display());
    p
}

/// Runs keycompat in `dir` with `args` and `stdin`.
pub fn run_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    run_in_env(dir, args, stdin, &[])
}

/// [`run_in`] with variables set in keycompat's environment (e.g. `TZ`).
pub fn run_in_env(dir: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    ensure_built();
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keycompat");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait for keycompat")
}

/// Runs keycompat in the repository root (with the default keycompat.toml).
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_in(&repo(), args, stdin)
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit code (a signal death fails the test with the signal).
pub fn code(o: &Output) -> i32 {
    match o.status.code() {
        Some(c) => c,
        None => panic!(
            "keycompat died by a signal: {:?}\nstderr: {}",
            o.status,
            stderr(o)
        ),
    }
}

/// The worked example of SCHEMES.md as canonical JSON.
pub const WORKED_EXAMPLE: &str = r#"{"product":"acme-cad","edition":"professional","max_major":5,"features":["export-dwg","export-pdf","plugins-sdk","render-gpu"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":null,"order_id":null,"host_id":null}"#;

/// The worked example's acme-lk1 key.
pub const WORKED_EXAMPLE_KEY: &str = "24A0M-02T1K-7Y9KS-689RQ-7B450";

/// A throwaway copy of the demo (config and vectors) to run keycompat in,
/// with systems swapped for test plugins.
pub struct Scenario {
    /// The directory holding keycompat.toml and vectors/.
    pub dir: tempfile::TempDir,
    config: toml::Table,
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy file");
        }
    }
}

impl Scenario {
    /// The Acme demo as shipped, without saved regressions.
    pub fn demo() -> Self {
        ensure_built();
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(&repo().join("vectors"), &dir.path().join("vectors"));
        let _ = std::fs::remove_dir_all(dir.path().join("vectors/regressions"));
        let text = std::fs::read_to_string(repo().join("keycompat.toml")).expect("demo config");
        let mut config: toml::Table = text.parse().expect("demo config parses");
        // Plugins live next to the binary under test, not next to this copy.
        let exe_dir = profile_dir().to_string_lossy().into_owned();
        if let Some(toml::Value::Table(systems)) = config.get_mut("systems") {
            for (_, system) in systems.iter_mut() {
                if let Some(toml::Value::String(p)) = system.get_mut("plugin") {
                    *p = p.replace("${exe_dir}", &exe_dir);
                }
                // Process plugins' scripts are in the repository, not here.
                if let Some(system) = system.as_table_mut()
                    && system.contains_key("command")
                    && !system.contains_key("cwd")
                {
                    system.insert("cwd".into(), repo().to_string_lossy().into_owned().into());
                }
            }
        }
        // The demo's run history and its gates over time are for the
        // demo's own report (its history ends on the day these tests
        // judge); every other test judges one run alone. `history::` tests
        // put them back with `with_history`.
        config.remove("history");
        // Likewise its volume gates, which measure the new system for some
        // seconds after every run: `volume::` tests set their own.
        if let Some(toml::Value::Table(gates)) = config.get_mut("gates") {
            gates.remove("history");
            gates.remove("volume");
        }
        let s = Scenario { dir, config };
        s.save();
        s
    }

    /// Replaces system `name` with the fault plugin, wrapping builtin `scheme`,
    /// with extra settings (e.g. `defect`).
    pub fn faulty_system(self, name: &str, scheme: &str, settings: &[(&str, &str)]) -> Self {
        let mut all = vec![("scheme", scheme)];
        all.extend_from_slice(settings);
        self.plugin_system(name, &faulty(), &all)
    }

    /// Replaces system `name` with the plugin library at `path`, with
    /// `settings`.
    pub fn plugin_system(self, name: &str, path: &Path, settings: &[(&str, &str)]) -> Self {
        let mut s = toml::Table::new();
        for (k, v) in settings {
            s.insert((*k).into(), (*v).into());
        }
        let mut system = toml::Table::new();
        system.insert("plugin".into(), path.to_string_lossy().into_owned().into());
        system.insert("settings".into(), toml::Value::Table(s));
        self.set_path(&["systems", name], toml::Value::Table(system))
    }

    /// Replaces system `name` with the faulty process plugin
    /// `tests/plugins/process/misbehave.py` in mode `fault` (the demo's
    /// acme-lk1 underneath).
    pub fn misbehaving(self, name: &str, fault: &str) -> Self {
        self.python_system(
            name,
            "tests/plugins/process/misbehave.py",
            &[("secret", LK1_SECRET), ("fault", fault)],
        )
    }

    /// Replaces system `name` with a process plugin: `script` (relative to
    /// the repository) run by `python3`, with `settings`.
    pub fn python_system(self, name: &str, script: &str, settings: &[(&str, &str)]) -> Self {
        let mut s = toml::Table::new();
        for (k, v) in settings {
            s.insert((*k).into(), (*v).into());
        }
        let mut system = toml::Table::new();
        system.insert(
            "command".into(),
            toml::Value::Array(vec!["python3".into(), script.into()]),
        );
        system.insert("cwd".into(), repo().to_string_lossy().into_owned().into());
        system.insert("settings".into(), toml::Value::Table(s));
        self.set_path(&["systems", name], toml::Value::Table(system))
    }

    /// Sets a top-level value, e.g. `("run", "isolation", "none")`.
    pub fn set(mut self, table: &str, key: &str, value: toml::Value) -> Self {
        self.config
            .entry(table)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("a table")
            .insert(key.into(), value);
        self.save();
        self
    }

    /// Without shared vectors (`[run] vectors = false`): nothing but random
    /// cases (and exports), and shrunk examples are not saved.
    pub fn without_vectors(self) -> Self {
        self.set("run", "vectors", false.into())
    }

    /// Vectors in `name`, a new and empty directory: no shared vectors yet,
    /// and regressions are saved there.
    pub fn fresh_vectors(self, name: &str) -> Self {
        std::fs::create_dir_all(self.dir.path().join(name)).expect("create vectors dir");
        self.set("run", "vectors", name.into())
    }

    /// Without `[sources]`: random cases and vectors only.
    pub fn without_sources(mut self) -> Self {
        self.config.remove("sources");
        self.save();
        self
    }

    /// Without one export of `[sources]` (`field_keys` or `orders`).
    pub fn without_source(mut self, which: &str) -> Self {
        if let Some(toml::Value::Table(sources)) = self.config.get_mut("sources") {
            sources.remove(which);
        }
        self.save();
        self
    }

    /// Sets a nested value, e.g. `(&["sources", "orders", "share"], 0.1)`.
    pub fn set_path(mut self, path: &[&str], value: toml::Value) -> Self {
        let (last, parents) = path.split_last().expect("a non-empty path");
        let mut table = &mut self.config;
        for p in parents {
            table = table
                .entry(*p)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .expect("a table");
        }
        table.insert((*last).into(), value);
        self.save();
        self
    }

    fn save(&self) {
        std::fs::write(
            self.path(),
            toml::to_string(&self.config).expect("serialize config"),
        )
        .expect("write config");
    }

    /// The config file.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("keycompat.toml")
    }

    /// Runs keycompat in the scenario's directory.
    pub fn run(&self, args: &[&str]) -> Output {
        run_in(self.dir.path(), args, b"")
    }

    /// Runs a command line a report printed (`keycompat replay ...`) through
    /// `sh`, as a user pasting it would, with `extra` arguments appended.
    pub fn run_printed(&self, line: &str, extra: &str) -> Output {
        ensure_built();
        let rest = line
            .strip_prefix("keycompat ")
            .unwrap_or_else(|| panic!("not a keycompat command: {line}"));
        let bin = bin().to_string_lossy().replace('\'', "'\\''");
        Command::new("sh")
            .arg("-c")
            .arg(format!("'{bin}' {rest} {extra}"))
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run sh")
    }

    /// `keycompat run` with a report directory; returns the output and report.json.
    pub fn run_report(&self, args: &[&str], report: &str) -> (Output, serde_json::Value) {
        self.report("run", args, report)
    }

    /// `keycompat COMMAND` (`run` or `data`) with a report directory and a
    /// fixed day; returns the output and report.json.
    pub fn report(
        &self,
        command: &str,
        args: &[&str],
        report: &str,
    ) -> (Output, serde_json::Value) {
        self.report_in_env(command, args, report, &[])
    }

    /// [`Self::report`] with variables set in keycompat's environment.
    pub fn report_in_env(
        &self,
        command: &str,
        args: &[&str],
        report: &str,
        env: &[(&str, &str)],
    ) -> (Output, serde_json::Value) {
        let mut all = vec![command, "--report-dir", report, "--today", "2026-11-23"];
        all.extend_from_slice(args);
        let out = run_in_env(self.dir.path(), &all, b"", env);
        let path = self.dir.path().join(report).join("report.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}\nstderr: {}", path.display(), stderr(&out)));
        (
            out,
            serde_json::from_str(&text).expect("report.json parses"),
        )
    }
}

/// The demo's acme-lk1 secret (a public test key, as in keycompat.toml).
pub const LK1_SECRET: &str = "acme-legacy-demo-secret-DO-NOT-SHIP";

/// The gate `name` of a report, or a panic listing the report's gates.
pub fn gate<'r>(report: &'r serde_json::Value, name: &str) -> &'r serde_json::Value {
    report["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no gate {name:?} in {:#}", report["gates"]))
}

/// Validates a report.json against the published schema; panics listing
/// every violation.
pub fn assert_schema(report: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schema/keycompat-report-2.schema.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations:\n{}",
        errors.join("\n")
    );
}

/// The unwaived finding groups of a report as (check, severity, generator, validator, cause).
pub fn unwaived_groups(
    report: &serde_json::Value,
) -> Vec<(String, String, String, String, String)> {
    report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g.get("waived_by").is_none_or(|w| w.is_null()))
        .map(|g| {
            let s = |k: &str| g[k].as_str().unwrap_or("").to_string();
            (
                s("check"),
                s("severity"),
                s("generator"),
                s("validator"),
                s("cause"),
            )
        })
        .collect()
}
