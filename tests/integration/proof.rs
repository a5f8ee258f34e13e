//! The proof as a library call, the one judge seen from the binary, and the
//! exit code every way a command can fail maps to.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use rstest::rstest;

use keycompat::config::Config;
use keycompat::date::Day;
use keycompat::finding::Check;
use keycompat::gate::Status;
use keycompat::plugin::WorkerOptions;
use keycompat::run::{self, RunOptions, Settings, Silent};
use keycompat::system::Hosting;

use crate::common::{
    Scenario, WORKED_EXAMPLE, assert_schema, bad_table, bin, code, run as run_bin, stderr,
};

fn today() -> Day {
    Day::parse("2026-11-23").expect("a day")
}

/// The demo's settings for a small run, with plugins in worker processes of
/// the real binary (a test binary cannot serve as its own worker).
fn small_run(cases: u64) -> Settings {
    Settings {
        options: RunOptions {
            seed: 7,
            cases,
            threads: 2,
            batch: 64,
            partition: None,
            today: today(),
        },
        checks: Check::ALL.into_iter().collect(),
        hosting: Hosting::Workers(WorkerOptions {
            exe: bin(),
            workers: 2,
            ..WorkerOptions::default()
        }),
        shrink: true,
        steer: true,
        throughput: None,
        replay_config: None,
        hook: None,
    }
}

#[test]
fn a_full_small_proof_runs_as_a_library_call() {
    let s = Scenario::demo();
    let config = Config::load(&s.path()).expect("the demo config loads");
    let result = run::run(&config, &small_run(300), &Silent, &AtomicBool::new(false))
        .expect("the demo runs");
    let c = result.aggregate.counts();
    assert!(c.vector_checks > 100, "{c:?}");
    assert!(c.vector_cases > 0, "{c:?}");
    assert!(c.random_cases >= 300, "{c:?}");
    let data = result.data.as_ref().expect("the demo has exports");
    assert!(data.field_keys.as_ref().is_some_and(|f| f.run > 0));
    assert!(data.orders.as_ref().is_some_and(|o| o.run > 0));
    assert!(!result.meta.interrupted);
    // 300 random cases are far below the demo's gate of 100 000.
    assert_eq!(result.verdict, Status::Red);
    let red: Vec<&str> = result
        .gates
        .iter()
        .filter(|g| g.status == Status::Red)
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(red, ["random cases"], "{:?}", result.gates);
    let dir = s.dir.path().join("library-report");
    std::fs::create_dir_all(&dir).expect("report dir");
    let written = keycompat::report::write_all(&result, &dir).expect("reports written");
    assert_eq!(written.len(), 4, "{written:?}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("json"))
            .expect("report.json parses");
    assert_schema(&json);
}

#[test]
fn a_data_only_run_is_a_library_call_too() {
    let s = Scenario::demo();
    let config = Config::load(&s.path()).expect("the demo config loads");
    let result = run::data(&config, &small_run(0), &Silent, &AtomicBool::new(false))
        .expect("the exports run");
    assert_eq!(result.aggregate.counts().random_cases, 0);
    assert!(result.data.as_ref().is_some_and(|d| d.orders.is_some()));
}

/// A field key that the new system decodes to more than the old one grants
/// is a leak, as the matrix calls it (it was reported as drift before the
/// field-key export used the one judge).
#[test]
fn a_field_key_decoded_to_more_is_a_leak() {
    let s = Scenario::demo()
        .faulty_system("new", "acme-ed1", &[("defect", "date-epoch")])
        .set("run", "isolation", "none".into());
    let (out, r) = s.report("data", &["--only", "field-keys", "-q"], "rep");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = r["groups"].as_array().expect("groups");
    let leak = groups
        .iter()
        .find(|g| g["generator"] == "field-keys" && g["cause"] == "field key grants more: expires")
        .unwrap_or_else(|| panic!("no field-key leak in {groups:#?}"));
    assert_eq!(leak["severity"], "leak");
    assert_eq!(leak["check"], "backward");
}

fn fault(name: &str) -> PathBuf {
    bad_table(name)
}

/// `validate` and `generate` need the plugin's one answer: a plugin that
/// crashes, breaks the ABI or answers garbage makes them exit 3.
#[rstest]
#[case::segfault("segv_on_serial")]
#[case::status_outside_the_abi("bad_status")]
#[case::not_utf8("bad_utf8")]
#[case::abort("abort_on_serial")]
fn a_plugin_that_fails_the_call_a_command_needs_exits_3(#[case] plugin: &str) {
    let path = fault(plugin);
    let path = path.to_str().expect("utf-8 path");
    let out = run_bin(
        &[
            "validate",
            "--system",
            path,
            "--setting",
            "every=1",
            "--key",
            "key-1",
            "--product",
            "acme-cad",
            "--version",
            "5.0",
            "--today",
            "2026-11-23",
        ],
        b"",
    );
    assert_eq!(code(&out), 3, "validate: {}", stderr(&out));
    assert!(
        stderr(&out).contains("could not validate"),
        "{}",
        stderr(&out)
    );
    let out = run_bin(
        &["generate", "--system", path, "--setting", "every=1"],
        format!("{WORKED_EXAMPLE}\n").as_bytes(),
    );
    assert_eq!(code(&out), 3, "generate: {}", stderr(&out));
    assert!(
        stderr(&out).contains("could not generate"),
        "{}",
        stderr(&out)
    );
}

/// A run whose new system fails every call proves nothing: exit 3, naming it.
#[rstest]
#[case::segfault("segv_on_serial")]
#[case::abort("abort_on_serial")]
fn a_run_whose_system_fails_every_call_exits_3(#[case] plugin: &str) {
    let mut system = toml::Table::new();
    system.insert(
        "plugin".into(),
        fault(plugin).to_string_lossy().into_owned().into(),
    );
    let mut settings = toml::Table::new();
    settings.insert("every".into(), "1".into());
    system.insert("settings".into(), settings.into());
    let s = Scenario::demo()
        .without_sources()
        .set_path(&["systems", "new"], system.into());
    let (out, _) = (s.run(&["run", "--cases", "200", "--seed", "1", "-q"]), ());
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("system \"new\" gave up"),
        "{}",
        stderr(&out)
    );
}

/// A new system that allocates without bound on 2 % of entitlements meets
/// `[run] memory_limit`: each such entitlement is a `crash` finding that
/// names the limit, and the run goes on to its verdict.
#[test]
fn a_plugin_that_allocates_without_bound_is_a_crash_at_the_memory_limit() {
    let mut system = toml::Table::new();
    system.insert(
        "plugin".into(),
        fault("memory_hog").to_string_lossy().into_owned().into(),
    );
    let mut settings = toml::Table::new();
    settings.insert("every".into(), "50".into());
    system.insert("settings".into(), settings.into());
    let s = Scenario::demo()
        .without_vectors()
        .without_sources()
        .set_path(&["systems", "new"], system.into())
        .set("run", "memory_limit", "256MiB".into());
    let args = [
        "--cases",
        "200",
        "--seed",
        "1",
        "--no-shrink",
        "--checks",
        "roundtrip",
        "-q",
    ];
    let (out, report) = s.report("run", &args, "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let crashes: Vec<&serde_json::Value> = report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["check"] == "roundtrip" && g["severity"] == "crash")
        .collect();
    assert!(!crashes.is_empty(), "{report}");
    let text = serde_json::to_string(&crashes).unwrap();
    assert!(
        text.contains("its memory is limited to 256 MiB: `[run] memory_limit`"),
        "{text}"
    );
    assert!(text.contains("memory_hog: out of memory after"), "{text}");
}

/// Usage errors exit 2, whatever the command.
#[rstest]
#[case::unknown_system(&["validate", "--system", "nope", "--key", "K", "--product", "acme-cad", "--version", "5.0", "--today", "2026-11-23"])]
#[case::unknown_vector(&["replay", "--vector", "no-such-id"])]
#[case::bad_partition(&["run", "--partition", "4/3"])]
#[case::missing_shards(&["merge"])]
fn usage_errors_exit_2(#[case] args: &[&str]) {
    let s = Scenario::demo();
    let out = s.run(args);
    assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
}

/// In-process, a plugin that ends the process with `exit(0)` must not read
/// as GO: keycompat exits 3 naming the plugin.
#[test]
fn an_in_process_plugin_that_exits_cannot_exit_0() {
    let path = fault("exit_on_serial");
    let p = path.to_str().expect("utf-8 path");
    let out = run_bin(
        &[
            "validate",
            "--system",
            p,
            "--setting",
            "every=1",
            "--key",
            "key-1",
            "--product",
            "acme-cad",
            "--version",
            "5.0",
            "--today",
            "2026-11-23",
        ],
        b"",
    );
    // Isolated (the default): the worker's death is the call's failure.
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let mut system = toml::Table::new();
    system.insert("plugin".into(), p.into());
    let mut settings = toml::Table::new();
    settings.insert("every".into(), "1".into());
    system.insert("settings".into(), settings.into());
    let s = Scenario::demo()
        .without_sources()
        .set_path(&["systems", "new"], system.into())
        .set("run", "isolation", "none".into());
    let out = s.run(&["run", "--cases", "50", "--seed", "1"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("exit_on_serial"), "{}", stderr(&out));
    assert!(stderr(&out).contains("in-process"), "{}", stderr(&out));
}

/// A plugin whose `create` crashes is named as one that died while loading
/// (in its constructors, entry point or create), with its stderr, by the run
/// and by `plugin inspect`: not as a file that is no shared library.
#[test]
fn a_plugin_crashing_in_create_is_named_as_dying_while_loading() {
    let path = fault("segv_on_serial");
    let p = path.to_str().expect("utf-8 path");
    let s = Scenario::demo()
        .without_sources()
        .plugin_system("new", &path, &[("create", "1")]);
    let out = s.run(&["run", "--cases", "20", "--seed", "1"]);
    let inspect = run_bin(&["plugin", "inspect", p, "--setting", "create=1"], b"");
    for out in [out, inspect] {
        let err = stderr(&out);
        assert_eq!(code(&out), 3, "{err}");
        assert!(err.contains(p), "{err}");
        assert!(!err.contains("not a loadable shared library"), "{err}");
        assert!(
            err.contains("create") && err.contains("SIGSEGV"),
            "says it died loading: {err}"
        );
    }
}

/// A plugin whose `create` fails with a status is named with the status's
/// constant, in-process and in a worker, and no message points at stderr
/// the plugin never wrote. A process plugin's ready line over the size
/// limit is named as too large, not as a plugin that ended.
#[test]
fn a_failed_start_says_what_the_plugin_did() {
    let path = fault("segv_on_serial");
    let p = path.to_str().expect("utf-8 path");
    let inspect = run_bin(&["plugin", "inspect", p, "--setting", "create=3"], b"");
    let err = stderr(&inspect);
    assert_eq!(code(&inspect), 3, "{err}");
    assert!(err.contains("KC_ERR_INTERNAL"), "{err}");
    assert!(!err.contains("see the plugin's stderr above"), "{err}");
    let huge = "import sys; sys.stdin.readline(); \
                sys.stdout.write('{\"type\":\"ready\",\"name\":\"' + 'x' * (80 << 20)); \
                sys.stdout.flush(); import time; time.sleep(30)";
    let inspect = run_bin(&["plugin", "inspect", "--", "python3", "-c", huge], b"");
    let err = stderr(&inspect);
    assert_eq!(code(&inspect), 3, "{err}");
    assert!(err.contains("more than the limit"), "{err}");
    assert!(!err.contains("ended before its ready"), "{err}");
}

/// A reader that goes away early is not an error: no panic, the command's
/// own exit code.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(bin())
        .args(["vectors", "check"])
        .current_dir(crate::common::repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let status = child.wait().expect("wait");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
}

/// An argument that is not UTF-8 (a key typed in another encoding) is a
/// usage error, not a panic.
#[test]
fn a_non_utf8_argument_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let out = std::process::Command::new(bin())
        .arg("validate")
        .arg("--key")
        .arg(std::ffi::OsStr::from_bytes(b"ab\xffcd"))
        .args(["--system", "builtin:acme-lk1", "--product", "acme-cad"])
        .args(["--version", "5.0", "--today", "2026-11-23"])
        .output()
        .expect("run keycompat");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
