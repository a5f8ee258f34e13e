//! Process plugins (`plugins/PROTOCOL.md`): real children in Python, driven
//! through the same pool as worker-hosted libraries. Each fault class of a
//! misbehaving child (`tests/plugins/process/misbehave.py`) becomes a
//! failure of the exact item that triggered it, every other item keeps its
//! real answer, and a child that fails on every call is declared dead.

use std::path::PathBuf;
use std::time::Duration;

use rstest::rstest;

use crate::common::*;
use keycompat::date::Day;
use keycompat::implementation::{CallFailure, FailureKind, Implementation, Origin};
use keycompat::plugin::worker::ProcessCommand;
use keycompat::plugin::{PluginError, WorkerImpl, WorkerOptions};
use keycompat::settings::Settings;
use keycompat::verdict::{Context, Validation, Version};

/// Items per batch, and the one that triggers the fault.
const N: usize = 40;
const TRIGGER: usize = 17;
const LK1_SECRET: &str = "acme-legacy-demo-secret-DO-NOT-SHIP";

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

fn context() -> Context {
    Context {
        product: "acme-cad".into(),
        version: Version { major: 5, minor: 4 },
        today: Day::from_ymd(2026, 11, 23).expect("a real day"),
        host_id: None,
    }
}

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
#[case::old_protocol("old-protocol", "speaks process protocol 99, keycompat speaks 1")]
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
