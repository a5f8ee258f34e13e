//! Process plugins (`plugins/PROTOCOL.md`): real children in Python, driven
//! through the same pool as worker-hosted libraries. Each fault class of a
//! misbehaving child (`tests/plugins/process/misbehave.py`) becomes a
//! failure of the exact item that triggered it, every other item keeps its
//! real answer, and a child that fails on every call is declared dead.

use std::path::PathBuf;
use std::time::Duration;

use rstest::rstest;

use crate::common::*;
use keycompat::implementation::{CallFailure, FailureKind, Implementation, Origin};
use keycompat::plugin::worker::ProcessCommand;
use keycompat::plugin::{PluginError, WorkerImpl, WorkerOptions};
use keycompat::settings::Settings;
use keycompat::verdict::{Context, Validation};

/// Items per batch, and the one that triggers the fault.
const N: usize = 40;
const TRIGGER: usize = 17;

/// `python3`, which the demo and these tests need: a clear failure, never a
/// silent pass, when it is missing.
pub fn python3() -> &'static str {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 is not on PATH: the process-plugin tests and the demo need Python 3"
    );
    "python3"
}

fn misbehave() -> ProcessCommand {
    let script = repo().join("tests/plugins/process/misbehave.py");
    ProcessCommand::new(
        vec![python3().into(), script.to_string_lossy().into_owned()],
        repo(),
    )
}

fn settings(fault: &str, on: Option<&str>) -> Settings {
    let mut s = Settings::new();
    s.insert("secret".into(), LK1_SECRET.into());
    s.insert("fault".into(), fault.into());
    if let Some(on) = on {
        s.insert("on".into(), on.into());
    }
    s
}

fn options(timeout: Duration) -> WorkerOptions {
    WorkerOptions {
        timeout,
        max_restarts: 3,
        ..WorkerOptions::default()
    }
}

fn start(fault: &str, on: Option<&str>) -> Result<WorkerImpl, PluginError> {
    WorkerImpl::spawn_command(
        &misbehave(),
        &settings(fault, on),
        &Default::default(),
        options(Duration::from_secs(2)),
    )
}

use crate::isolation::context;

/// Keys `key-0`..: distinct, none a substring of another's trigger.
fn keys() -> Vec<String> {
    (0..N).map(|i| format!("key-{i:02}")).collect()
}

fn validate(w: &dyn Implementation) -> Vec<Result<Validation, CallFailure>> {
    let ctx = context();
    let keys = keys();
    let reqs: Vec<(&[u8], &Context)> = keys.iter().map(|k| (k.as_bytes(), &ctx)).collect();
    w.validate_batch(&reqs)
}

/// What the correct plugin answers.
fn healthy() -> Vec<Result<Validation, CallFailure>> {
    validate(&start("", None).expect("the healthy plugin starts"))
}

/// Asserts every answer but `TRIGGER`'s is the healthy one; returns
/// `TRIGGER`'s failure.
fn only_trigger_fails(answers: &[Result<Validation, CallFailure>]) -> CallFailure {
    let good = healthy();
    assert_eq!(answers.len(), N);
    for (i, (a, g)) in answers.iter().zip(&good).enumerate() {
        if i != TRIGGER {
            assert_eq!(a, g, "item {i}");
        }
    }
    match &answers[TRIGGER] {
        Err(f) => f.clone(),
        Ok(v) => panic!("item {TRIGGER}: expected a failure, got {v:?}"),
    }
}

#[rstest]
#[case::exit("exit", FailureKind::Crash, "exited with status 3")]
#[case::kill("kill", FailureKind::Crash, "signal 9 (SIGKILL)")]
#[case::segv("segv", FailureKind::Crash, "SIGSEGV")]
#[case::hang("hang", FailureKind::Timeout, "no answer within 2s")]
#[case::garbage("garbage", FailureKind::Protocol, "not JSON")]
#[case::wrong_id("wrong-id", FailureKind::Protocol, "when request")]
#[case::wrong_count("wrong-count", FailureKind::Protocol, "0 results to request")]
#[case::too_many("too-many", FailureKind::Protocol, "2 results to request")]
#[case::error_message("error-message", FailureKind::Protocol, "the plugin sent an error")]
#[case::internal("internal", FailureKind::Internal, "ZeroDivisionError")]
#[case::empty_more("empty-more", FailureKind::Protocol, "an empty results message")]
#[case::no_decode("no-decode", FailureKind::Protocol, "without the decoded entitlement")]
fn a_misbehaving_child_fails_only_the_item_that_triggered_it(
    #[case] fault: &str,
    #[case] kind: FailureKind,
    #[case] says: &str,
) {
    let w = start(fault, Some("key-17")).expect("the plugin starts");
    let f = only_trigger_fails(&validate(&w));
    assert_eq!(f.kind, kind, "{f:?}");
    assert!(f.message.contains(says), "{fault}: {}", f.message);
    if kind != FailureKind::Internal {
        // What the child said on stderr is quoted with the failure.
        assert!(
            f.message.contains("stderr: ") && f.message.contains("misbehave"),
            "{}",
            f.message
        );
    }
    // The pool goes on with a fresh child: the next batch is whole.
    let again = validate(&w);
    assert_eq!(again.iter().filter(|a| a.is_err()).count(), 1);
}

/// A child that answers a request in full, then ends on reading the next
/// one (a plugin exiting between requests) costs no item its answer: a
/// request of one item or of many runs again in a fresh child, and the
/// death is kept as a batch failure, not pinned on an item that did nothing.
#[test]
fn a_child_ending_between_requests_is_blamed_on_no_item() {
    let w = start("exit-next", Some("key-17")).expect("the plugin starts");
    let good = healthy();
    let ctx = context();
    for round in 0..2 {
        assert_eq!(validate(&w), good, "round {round}: the arming request");
        let one = w.validate_batch(&[(b"key-03".as_slice(), &ctx)]);
        assert_eq!(one[0], good[3], "round {round}: a request of one item");
    }
    assert_eq!(validate(&w), good);
    assert_eq!(validate(&w), good, "a request of many items");
    // One death per arming request, each kept once, none pinned on an item.
    let failures = w.take_batch_failures();
    assert_eq!(failures.len(), 3, "{failures:?}");
    for f in &failures {
        assert!(
            f.message.contains("exited with status 0") && f.message.contains("passed"),
            "{}",
            f.message
        );
    }
}

/// A batching bug no single item reproduces (one result too few for any
/// request of several items): every item still gets its real answer, and
/// the batch's failure is kept for the run to report, once.
#[test]
fn a_batch_failure_no_item_reproduces_is_kept_not_dropped() {
    let w = start("short-batch", None).expect("the plugin starts");
    assert_eq!(validate(&w), healthy());
    let failures = w.take_batch_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let f = &failures[0];
    assert_eq!(f.kind, FailureKind::Protocol, "{f:?}");
    assert!(
        f.message.contains("no item reproduces it alone") && f.message.contains("results"),
        "{}",
        f.message
    );
    assert!(w.take_batch_failures().is_empty());
}

/// Through a whole run: the batch failure of a shipped release's validator
/// (a system that issues nothing) is a crash finding at FORWARD's cell of
/// that release, and each of its copies under another environment one at
/// ENV's cell of the system, naming the environment; the run is not GO.
#[test]
fn a_run_reports_a_batch_failure_no_item_reproduces() {
    let s = Scenario::demo()
        .without_vectors()
        .without_sources()
        .misbehaving("viewer-py", "short-batch");
    let args = ["--cases", "200", "--seed", "1", "--no-shrink", "-q"];
    let (out, report) = s.report("run", &args, "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let groups = report["groups"].as_array().expect("groups");
    let batch = |check: &str, generator: &str, validator: &str| -> Vec<&serde_json::Value> {
        groups
            .iter()
            .filter(|g| {
                g["check"] == check
                    && g["severity"] == "crash"
                    && g["generator"] == generator
                    && g["validator"] == validator
                    && g["cause"]
                        .as_str()
                        .unwrap_or("")
                        .contains("batch failed: protocol")
            })
            .collect()
    };
    let forward = batch("forward", "new", "Acme Viewer 3.1");
    assert_eq!(forward.len(), 1, "{report}");
    let text = serde_json::to_string(&forward).unwrap();
    assert!(text.contains("no item reproduces it alone"), "{text}");
    let env = batch("env", "viewer-py", "viewer-py");
    assert!(
        env.iter().any(|g| g["cause"]
            .as_str()
            .unwrap()
            .contains("under TZ=Pacific/Kiritimati")),
        "{report}"
    );
    let as_generator: Vec<&serde_json::Value> = groups
        .iter()
        .filter(|g| g["generator"] == "viewer-py" && g["check"] != "env")
        .collect();
    assert!(as_generator.is_empty(), "{as_generator:#?}");
}

/// The same for the field-key export, validated outside the matrix: the
/// batch failure is a BACKWARD field-key finding of the system.
#[test]
fn a_data_run_reports_a_batch_failure_of_the_field_keys() {
    let s = Scenario::demo().misbehaving("new", "short-batch");
    let args = [
        "--seed",
        "1",
        "--only",
        "field-keys",
        "--share",
        "0.02",
        "-q",
    ];
    let (out, report) = s.report("data", &args, "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = serde_json::to_string(&report["groups"]).unwrap();
    assert!(text.contains("field key: batch failed: protocol"), "{text}");
    assert!(text.contains("no item reproduces it alone"), "{text}");
}

/// A process plugin says nothing of the item it died or hung on, so the
/// request's items run one per request, in turn, in one fresh child: the
/// blame costs a few children (the culprit confirmed alone, a fresh one
/// for the rest), not a child per item (a start of Python each), and a
/// hang one more timeout, not one per item.
#[rstest]
#[case::segv("segv", FailureKind::Crash)]
#[case::hang("hang", FailureKind::Timeout)]
fn a_process_plugin_failure_costs_a_few_children_not_one_per_item(
    #[case] fault: &str,
    #[case] kind: FailureKind,
) {
    let w = WorkerImpl::spawn_command(
        &misbehave(),
        &settings(fault, Some("key-17")),
        &Default::default(),
        options(Duration::from_millis(500)),
    )
    .expect("the plugin starts");
    let f = only_trigger_fails(&validate(&w));
    assert_eq!(f.kind, kind, "{f:?}");
    let stats = w.stats();
    // The batch's child, the one the items ran in turn in, the culprit's
    // own when it failed after others there, the one for the rest.
    assert!(stats.spawned <= 4, "{stats:?}");
    // The batch's death and the culprit's (twice when confirmed alone).
    assert!((2..=3).contains(&stats.deaths), "{stats:?}");
    assert!(w.take_batch_failures().is_empty());
}

#[test]
fn a_chatty_stderr_never_blocks_the_child() {
    let w = start("stderr-chatter", None).expect("the plugin starts");
    for _ in 0..5 {
        assert_eq!(validate(&w), healthy());
    }
    assert_eq!(w.stats().deaths, 0);
}

#[rstest]
#[case::bad_settings("bad-settings", "refused the hello: settings: fault")]
#[case::old_protocol(
    "old-protocol",
    "the hello with a ready message of process protocol 99, where keycompat speaks 1"
)]
#[case::banner("banner", "not JSON")]
fn a_botched_hello_is_a_clear_error_at_start(#[case] fault: &str, #[case] says: &str) {
    let Err(e) = start(fault, None) else {
        panic!("{fault}: the hello must fail")
    };
    let text = e.to_string();
    assert!(text.contains(says), "{fault}: {text}");
    assert!(text.contains("misbehave.py"), "names the command: {text}");
}

#[test]
fn a_child_failing_every_call_is_declared_dead_after_its_restarts() {
    let w = start("exit", None).expect("the plugin starts");
    for _ in 0..6 {
        let _ = validate(&w);
        if w.fatal_error().is_some() {
            break;
        }
    }
    let fatal = w.fatal_error().expect("declared dead");
    assert!(fatal.contains("crashed 4 times in a row"), "{fatal}");
    assert!(fatal.contains("misbehave.py"), "{fatal}");
}

#[test]
fn a_hung_child_is_killed_with_everything_it_started() {
    let w = start("spawn-child", Some("key-17")).expect("the plugin starts");
    let f = only_trigger_fails(&validate(&w));
    assert_eq!(f.kind, FailureKind::Timeout, "{}", f.message);
    let pid: u32 = f
        .message
        .split("grandchild")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .find(|s| !s.is_empty())
        })
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the grandchild's pid is quoted: {}", f.message));
    // Killed with its process group; reaped by init, so give it a moment.
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while alive(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "the grandchild {pid} outlived its group");
}

#[test]
fn keys_that_are_not_utf8_reach_the_child_as_base64() {
    let w = start("", None).expect("the plugin starts");
    let ctx = context();
    let answers = w.validate_batch(&[(b"\xff\xfe-not-utf8", &ctx)]);
    let v = answers[0].as_ref().expect("an answer");
    assert_eq!(v.verdict.as_str(), "malformed", "{v:?}");
}

#[test]
fn the_report_names_the_command_and_the_hash_of_its_script() {
    let w = start("", None).expect("the plugin starts");
    let Origin::Process {
        command,
        file,
        sha256,
        protocol,
        ..
    } = &w.info().origin
    else {
        panic!("a process origin: {:?}", w.info().origin)
    };
    assert_eq!(*protocol, 1);
    assert!(command.last().is_some_and(|a| a.ends_with("misbehave.py")));
    let file: &PathBuf = file.as_ref().expect("the script is named");
    assert!(file.ends_with("tests/plugins/process/misbehave.py"));
    assert_eq!(
        sha256.as_deref(),
        Some(keycompat::plugin::sha256_file(file).unwrap().as_str())
    );
}

/// A runtime the reference plugins need, or a clear failure naming what to
/// install (`.ci/run` installs them): never a silent pass.
fn runtime(program: &str, version_arg: &str) -> String {
    let ok = std::process::Command::new(program)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{program}` is not on PATH: the tests of the reference process plugins need it (.ci/run installs Node.js and a JDK)"
    );
    program.to_string()
}

/// The demo settings of the new system (both formats' secrets and keys).
fn new_settings() -> Settings {
    keycompat::system::acme_demo_settings("acme-ed1")
}

fn lk1_settings() -> Settings {
    keycompat::system::acme_demo_settings("acme-lk1")
}

/// Every key of the shared vectors, with its context; then keys the builtins
/// issue for random entitlements, in their own context and on the days
/// around their expiry, and one-symbol mutations of them.
fn conformance_keys() -> Vec<(Vec<u8>, Context)> {
    use keycompat::catalog::Catalog;
    use keycompat::random::Generator;
    let catalog = Catalog::acme();
    let set = keycompat::vectors::load_dir(&repo().join("vectors"), &catalog)
        .unwrap_or_else(|e| panic!("the shared vectors load: {e:?}"));
    let mut keys: Vec<(Vec<u8>, Context)> = set
        .keys
        .iter()
        .map(|v| (v.key.clone(), v.context.clone()))
        .collect();
    let lk1 = keycompat::schemes::builtin("acme-lk1", &catalog, &lk1_settings()).unwrap();
    let mut ed1_settings = new_settings();
    ed1_settings.insert("emit".into(), "acme-ed1".into());
    let ed1 = keycompat::schemes::builtin("acme-ed1", &catalog, &ed1_settings).unwrap();
    let generator = Generator::new(29, catalog.clone(), vec![1, 2, 3, 5, 6, 7]);
    for i in 0..400u64 {
        let e = generator.entitlement(i);
        for issuer in [&lk1, &ed1] {
            let Ok(key) = issuer.generate(&e) else {
                continue;
            };
            let own = keycompat::check::own_context(&e);
            let mut contexts = vec![own.clone()];
            if let Some(x) = e.expires {
                for d in [0, 1] {
                    if let Some(today) = x.add_days(d) {
                        contexts.push(Context {
                            today,
                            ..own.clone()
                        });
                    }
                }
            }
            for c in contexts {
                keys.push((key.clone().into_bytes(), c));
            }
            let mut bytes = key.into_bytes();
            let at = (i as usize * 7) % bytes.len();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            keys.push((bytes, own));
        }
    }
    keys
}

/// The same answer, but for the free-text reason.
fn without_reason(a: &Result<Validation, CallFailure>) -> Result<Validation, CallFailure> {
    a.clone().map(|v| Validation { reason: None, ..v })
}

#[rstest]
#[case::python_lk1(&["python3", "plugins/python/acme_lk1.py"], "acme-lk1")]
#[case::perl_lk1(&["perl", "plugins/perl/acme_lk1_validator.pl"], "acme-lk1")]
#[case::node(&["node", "plugins/node/acme_validator.js"], "acme-ed1")]
#[case::java(&["java", "plugins/java/AcmeValidator.java"], "acme-ed1")]
fn a_reference_plugin_in_another_language_answers_as_the_builtin(
    #[case] argv: &[&str],
    #[case] builtin: &str,
) {
    let program = runtime(
        argv[0],
        if argv[0] == "java" {
            "-version"
        } else {
            "--version"
        },
    );
    let settings = if builtin == "acme-lk1" {
        lk1_settings()
    } else {
        new_settings()
    };
    let catalog = keycompat::catalog::Catalog::acme();
    let reference = keycompat::schemes::builtin(builtin, &catalog, &settings).unwrap();
    let mut command_line: Vec<String> = vec![program];
    command_line.extend(argv[1..].iter().map(|a| a.to_string()));
    let plugin = WorkerImpl::spawn_command(
        &ProcessCommand::new(command_line, repo()),
        &settings,
        &Default::default(),
        WorkerOptions {
            timeout: Duration::from_secs(30),
            ..WorkerOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{argv:?} starts: {e}"));
    let keys = conformance_keys();
    let requests: Vec<(&[u8], &Context)> = keys.iter().map(|(k, c)| (k.as_slice(), c)).collect();
    let expected = reference.validate_batch(&requests);
    let got = plugin.validate_batch(&requests);
    let mut differ = 0;
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        if without_reason(g) != without_reason(e) {
            differ += 1;
            if differ <= 3 {
                eprintln!(
                    "{argv:?} differs on {:?} in {:?}:\n  plugin:  {g:?}\n  builtin: {e:?}",
                    String::from_utf8_lossy(&keys[i].0),
                    keys[i].1
                );
            }
        }
    }
    assert!(keys.len() > 1500, "{} keys", keys.len());
    assert_eq!(
        differ,
        0,
        "{argv:?}: {differ} of {} answers differ",
        keys.len()
    );
    assert_eq!(plugin.stats().deaths, 0);
}

#[test]
fn the_python_generator_issues_the_builtins_keys_and_refusals() {
    use keycompat::random::Generator;
    let catalog = keycompat::catalog::Catalog::acme();
    let reference = keycompat::schemes::builtin("acme-lk1", &catalog, &lk1_settings()).unwrap();
    let plugin = WorkerImpl::spawn_command(
        &ProcessCommand::new(
            vec![python3().into(), "plugins/python/acme_lk1.py".into()],
            repo(),
        ),
        &lk1_settings(),
        &Default::default(),
        WorkerOptions::default(),
    )
    .expect("the Python plugin starts");
    let generator = Generator::new(31, catalog, vec![1, 2, 3, 5, 6, 7]);
    let es: Vec<_> = (0..1000).map(|i| generator.entitlement(i)).collect();
    let refs: Vec<_> = es.iter().collect();
    let got = plugin.generate_batch(&refs);
    let expected = reference.generate_batch(&refs);
    assert_eq!(got, expected);
    let refused = got.iter().filter(|g| g.is_err()).count();
    assert!(
        refused > 50 && refused < 950,
        "{refused} refusals: both kinds are exercised"
    );
}

/// A directory holding a `keycompat.toml` whose one system, `name` (old and
/// new), is misbehave.py with `fault` firing `on` matching items.
fn misbehave_config(name: &str, fault: &str, on: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = repo().join("tests/plugins/process/misbehave.py");
    let config = format!(
        "[systems.{name}]\ncommand = [{:?}, {:?}]\n\
         settings = {{ secret = \"{LK1_SECRET}\", fault = \"{fault}\", on = \"{on}\" }}\n\
         [run]\nold = \"{name}\"\nnew = \"{name}\"\nvectors = false\n",
        python3(),
        script.to_string_lossy()
    );
    std::fs::write(dir.path().join("keycompat.toml"), config).unwrap();
    dir
}

/// A grandchild that left the plugin's process group (a daemon's `setsid`)
/// is out of reach of the group kill, yet does not outlive keycompat.
#[test]
fn a_daemon_the_plugin_started_does_not_outlive_keycompat() {
    let dir = misbehave_config("d", "daemon", "key-17");
    let args = [
        "validate",
        "-s",
        "d",
        "--key",
        "key-17",
        "--product",
        "acme-cad",
        "--version",
        "7.0",
        "--today",
        "2026-11-23",
    ];
    let out = run_in(dir.path(), &args, b"");
    let err = stderr(&out);
    assert_eq!(code(&out), 3, "{err}");
    assert!(err.contains("exited with status 3"), "{err}");
    let pid: u32 = err
        .split("grandchild pid ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the grandchild's pid is quoted: {err}"));
    let alive =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
    if alive {
        // End the leak before failing.
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    assert!(!alive, "the daemon {pid} outlived keycompat");
}

/// A key with a line break (a writer ending keys in `\r\n`) cannot be one
/// line of `generate`'s text output: that line says so and the exit code is
/// 2; `--json` prints the key exactly.
#[test]
fn generate_shows_a_key_with_a_line_break_only_as_json() {
    let dir = misbehave_config("w", "crlf-key", "424242");
    let entitlement = |serial: u32| {
        format!(
            r#"{{"product":"acme-cad","edition":"professional","max_major":5,"features":["export-dwg"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":{serial},"customer":null,"order_id":null,"host_id":null}}"#
        )
    };
    let input = format!("{}\n{}\n", entitlement(7), entitlement(424242));

    let out = run_in(dir.path(), &["generate", "-s", "w"], input.as_bytes());
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "one line per entitlement: {text:?}");
    assert!(!lines[0].starts_with("error"), "{text}");
    assert!(
        lines[1].starts_with("error: the key has a line break (use --json): \"")
            && lines[1].ends_with("\\r\\n\""),
        "{text}"
    );
    assert!(
        stderr(&out).contains(":2: the key has a line break"),
        "{}",
        stderr(&out)
    );

    let out = run_in(
        dir.path(),
        &["generate", "-s", "w", "--json"],
        input.as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let answers: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2);
    let first = answers[0]["key"].as_str().unwrap();
    let second = answers[1]["key"].as_str().unwrap();
    assert!(!first.contains(['\r', '\n']), "{first:?}");
    assert!(second.ends_with("\r\n"), "{second:?}");
    // The real key before the line break: an acme-lk1 key like the first.
    assert_eq!(second.trim_end().len(), first.len(), "{second:?}");
}
