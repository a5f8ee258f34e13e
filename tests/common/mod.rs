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

/// Builds the workspace's plugin libraries once per test binary.
///
/// `cargo test` compiles the `cdylib` plugin crates only as far as tests need
/// their Rust code, and does not place the libraries next to the binary; so
/// the tests build them the way a user does, with `cargo build --workspace`
/// in the same profile (cargo releases its lock while tests run).
pub fn ensure_built() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--workspace", "--quiet"])
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
    ensure_built();
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
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
