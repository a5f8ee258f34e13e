//! Worker-process isolation: plugins that crash, abort, hang, spin, print to
//! stdout or answer garbage, run through `WorkerImpl`, become a failure of
//! the exact item that triggered the fault, and every other item still gets
//! its real answer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rstest::rstest;

use crate::common::{self, *};
use keycompat::catalog::Catalog;
use keycompat::date::Day;
use keycompat::entitlement::Entitlement;
use keycompat::implementation::{
    CallFailure, FailureKind, GenerateFailure, Implementation, Origin,
};
use keycompat::plugin::{self, PluginImpl, WorkerImpl, WorkerOptions};
use keycompat::random::Generator;
use keycompat::settings::Settings;
use keycompat::system::acme_demo_settings;
use keycompat::verdict::{Context, Validation, Verdict, Version};

/// Items per batch, and the one that triggers the fault.
const N: usize = 50;
const TRIGGER: usize = 17;

fn fault_plugin(name: &str) -> PathBuf {
    bad_table(name)
}

pub(crate) fn settings(pairs: &[(&str, &str)]) -> Settings {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn options() -> WorkerOptions {
    WorkerOptions {
        exe: bin(),
        ..WorkerOptions::default()
    }
}

fn spawn(path: &Path, s: &Settings, options: WorkerOptions) -> WorkerImpl {
    WorkerImpl::spawn(path, s, options).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Entitlements with serials 0..n.
pub(crate) fn entitlements(n: usize) -> Vec<Entitlement> {
    let g = Generator::new(11, Catalog::acme(), vec![5, 6, 7]);
    (0..n)
        .map(|i| Entitlement {
            serial: i as u32,
            ..g.entitlement(i as u64)
        })
        .collect()
}

pub(crate) fn context() -> Context {
    Context {
        product: "acme-cad".into(),
        version: Version { major: 5, minor: 4 },
        today: Day::from_ymd(2026, 11, 23).expect("a real day"),
        host_id: None,
    }
}

/// What the fault plugins answer when they behave.
pub(crate) fn fault_validation(i: usize) -> Validation {
    Validation {
        verdict: Verdict::Malformed,
        format: None,
        reason: Some(format!("key key-{i}")),
        decoded: None,
    }
}

fn generate_all(
    w: &dyn Implementation,
    es: &[Entitlement],
) -> Vec<Result<String, GenerateFailure>> {
    let refs: Vec<&Entitlement> = es.iter().collect();
    w.generate_batch(&refs)
}

fn validate_keys(w: &dyn Implementation, keys: &[String]) -> Vec<Result<Validation, CallFailure>> {
    let ctx = context();
    let reqs: Vec<(&[u8], &Context)> = keys.iter().map(|k| (k.as_bytes(), &ctx)).collect();
    w.validate_batch(&reqs)
}

pub(crate) fn fault_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("key-{i}")).collect()
}

/// Asserts that every generate answer but `TRIGGER`'s is the real key, and
/// returns `TRIGGER`'s failure.
fn only_trigger_fails_generate(answers: &[Result<String, GenerateFailure>]) -> CallFailure {
    assert_eq!(answers.len(), N);
    for (i, a) in answers.iter().enumerate() {
        if i != TRIGGER {
            assert_eq!(a.as_deref(), Ok(format!("K-{i}").as_str()), "item {i}");
        }
    }
    match &answers[TRIGGER] {
        Err(GenerateFailure::Failed(f)) => f.clone(),
        other => panic!("item {TRIGGER}: expected a failure, got {other:?}"),
    }
}

fn only_trigger_fails_validate(answers: &[Result<Validation, CallFailure>]) -> CallFailure {
    assert_eq!(answers.len(), N);
    for (i, a) in answers.iter().enumerate() {
        if i != TRIGGER {
            assert_eq!(a.as_ref(), Ok(&fault_validation(i)), "item {i}");
        }
    }
    match &answers[TRIGGER] {
        Err(f) => f.clone(),
        Ok(v) => panic!("item {TRIGGER}: expected a failure, got {v:?}"),
    }
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// A fault plugin triggering on item `TRIGGER`, through both calls, gives
/// exactly one failure of `kind` whose message contains `needle`.
fn assert_fault(name: &str, timeout: Duration, kind: FailureKind, needle: &str) {
    let trigger = TRIGGER.to_string();
    let w = spawn(
        &fault_plugin(name),
        &settings(&[("trigger", &trigger)]),
        WorkerOptions {
            timeout,
            ..options()
        },
    );
    let f = only_trigger_fails_generate(&generate_all(&w, &entitlements(N)));
    assert_eq!(f.kind, kind, "{name} generate: {f}");
    assert!(f.message.contains(needle), "{name} generate: {f}");
    let f = only_trigger_fails_validate(&validate_keys(&w, &fault_keys(N)));
    assert_eq!(f.kind, kind, "{name} validate: {f}");
    assert!(f.message.contains(needle), "{name} validate: {f}");
    assert!(w.fatal_error().is_none(), "{:?}", w.fatal_error());
    // The worker still serves after the fault.
    assert_eq!(w.generate(&entitlements(1)[0]), Ok("K-0".to_string()));
}

#[test]
fn segfault_blames_the_exact_item() {
    assert_fault(
        "segv_on_serial",
        Duration::from_secs(5),
        FailureKind::Crash,
        "signal 11 (SIGSEGV)",
    );
}

#[test]
fn crash_messages_carry_the_stderr_tail() {
    let w = spawn(
        &fault_plugin("segv_on_serial"),
        &settings(&[("trigger", "3")]),
        options(),
    );
    let f = w.generate(&entitlements(4)[3]).unwrap_err();
    let GenerateFailure::Failed(f) = f else {
        panic!("{f:?}")
    };
    assert!(
        f.message
            .contains("stderr: fault plugin: segv_on_serial triggered"),
        "{f}"
    );
    assert_eq!(w.stats().deaths, 1);
    assert!(w.stats().unattributed.is_empty());
}

/// A plugin that allocates without bound meets the worker's memory limit:
/// the exact item is a crash that names the limit, every other item gets
/// its answer, and the machine keeps its memory.
#[test]
fn unbounded_allocation_is_a_crash_at_the_memory_limit() {
    let w = spawn(
        &fault_plugin("memory_hog"),
        &settings(&[("trigger", &TRIGGER.to_string())]),
        WorkerOptions {
            memory_limit: Some(256 << 20),
            ..options()
        },
    );
    let f = only_trigger_fails_generate(&generate_all(&w, &entitlements(N)));
    assert_eq!(f.kind, FailureKind::Crash, "{f}");
    for needle in [
        "abort (SIGABRT)",
        "its memory is limited to 256 MiB: `[run] memory_limit`",
        "memory_hog: out of memory after",
    ] {
        assert!(f.message.contains(needle), "{needle}: {f}");
    }
    let f = only_trigger_fails_validate(&validate_keys(&w, &fault_keys(N)));
    assert!(f.message.contains("its memory is limited"), "{f}");
    assert!(w.fatal_error().is_none(), "{:?}", w.fatal_error());
    assert_eq!(w.generate(&entitlements(1)[0]), Ok("K-0".to_string()));
}

#[test]
fn abort_blames_the_exact_item() {
    assert_fault(
        "abort_on_serial",
        Duration::from_secs(5),
        FailureKind::Crash,
        "abort (SIGABRT)",
    );
}

#[test]
fn hang_times_out_on_the_exact_item() {
    assert_fault(
        "hang_on_serial",
        Duration::from_millis(300),
        FailureKind::Timeout,
        "no answer within 300ms",
    );
}

/// A hang costs one timeout, once: the worker sees which item's call ran
/// past the timeout and ends that plugin life, so the item is not run again
/// alone into a second timeout, and the worker lives on.
#[rstest]
#[case::hang("hang_on_serial")]
#[case::busy_loop("spin_on_serial")]
fn a_hang_costs_one_timeout_once(#[case] name: &str) {
    let trigger = TRIGGER.to_string();
    let w = spawn(
        &fault_plugin(name),
        &settings(&[("trigger", &trigger)]),
        WorkerOptions {
            timeout: Duration::from_millis(300),
            ..options()
        },
    );
    let first = w.worker_pids();
    let f = only_trigger_fails_generate(&generate_all(&w, &entitlements(N)));
    assert_eq!(f.kind, FailureKind::Timeout, "{f}");
    let stats = w.stats();
    assert_eq!(stats.deaths, 1, "one death, the hang's: {stats:?}");
    assert!(stats.unattributed.is_empty(), "{stats:?}");
    assert_eq!(w.worker_pids(), first, "the worker itself was not replaced");
}

#[test]
fn busy_loop_times_out_on_the_exact_item() {
    assert_fault(
        "spin_on_serial",
        Duration::from_millis(300),
        FailureKind::Timeout,
        "no answer within 300ms",
    );
}

#[test]
fn absurd_length_is_a_protocol_failure() {
    assert_fault(
        "absurd_length",
        Duration::from_secs(5),
        FailureKind::Protocol,
        "output buffer",
    );
}

#[test]
fn bad_utf8_is_a_protocol_failure() {
    assert_fault(
        "bad_utf8",
        Duration::from_secs(5),
        FailureKind::Protocol,
        "UTF-8",
    );
}

#[test]
fn unknown_status_is_a_protocol_failure() {
    assert_fault(
        "bad_status",
        Duration::from_secs(5),
        FailureKind::Protocol,
        "status 42",
    );
}

#[test]
fn garbage_on_the_protocol_channel_blames_the_exact_item() {
    // The plugin writes junk to every descriptor >= 3, the worker's protocol
    // channel included: the frame that follows does not decode.
    let w = spawn(
        &fault_plugin("scribble_fds"),
        &settings(&[("trigger", "17")]),
        options(),
    );
    let f = only_trigger_fails_generate(&generate_all(&w, &entitlements(N)));
    assert_eq!(f.kind, FailureKind::Protocol, "{f}");
    assert!(f.message.starts_with("the worker sent "), "{f}");
    assert!(w.fatal_error().is_none());
}

#[test]
fn a_worker_answering_garbage_to_hello_is_a_load_error_and_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("fake-keycompat");
    // Records its pid, answers the hello with junk, then would sleep and
    // leave a mark if it were left to finish on its own.
    std::fs::write(
        &exe,
        "#!/bin/sh\necho $$ > \"$0.pid\"\nhead -c 4 >/dev/null\nprintf '\\005\\000\\000\\000\\377junk'\nsleep 30\ntouch \"$0.finished\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = WorkerImpl::spawn(
        &lk1_c(),
        &Settings::new(),
        WorkerOptions {
            exe: exe.clone(),
            ..options()
        },
    )
    .expect_err("garbage hello")
    .to_string();
    assert!(e.contains("sent a bad hello"), "{e}");
    assert!(!e.contains('\n'), "{e}");
    // Killed and reaped by the time spawn returns: neither left running nor
    // waited for until it ends by itself.
    let pid: u32 = std::fs::read_to_string(dir.path().join("fake-keycompat.pid"))
        .expect("the fake worker wrote its pid")
        .trim()
        .parse()
        .expect("a pid");
    assert!(!pid_alive(pid), "the fake worker {pid} is still there");
    assert!(
        !dir.path().join("fake-keycompat.finished").exists(),
        "the fake worker was waited for until it finished, not killed"
    );
}

#[test]
fn protocol_failures_do_not_restart_the_worker() {
    let w = spawn(
        &fault_plugin("bad_status"),
        &settings(&[("trigger", "17")]),
        options(),
    );
    let pids = w.worker_pids();
    only_trigger_fails_generate(&generate_all(&w, &entitlements(N)));
    assert_eq!(w.worker_pids(), pids);
    assert_eq!(w.stats().deaths, 0);
}

#[test]
fn caught_panics_are_panic_failures() {
    let w = spawn(
        &faulty(),
        &settings(&[("fault", "panic-on-generate")]),
        options(),
    );
    let es = entitlements(5);
    for a in generate_all(&w, &es) {
        match a {
            Err(GenerateFailure::Failed(f)) => {
                assert_eq!(f.kind, FailureKind::Panic, "{f}");
                assert!(f.message.contains("planted panic"), "{f}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(w.stats().deaths, 0);
}

#[test]
fn stdout_noise_cannot_corrupt_the_protocol() {
    let w = spawn(&fault_plugin("stdout_noise"), &Settings::new(), options());
    for _ in 0..3 {
        let answers = generate_all(&w, &entitlements(N));
        for (i, a) in answers.iter().enumerate() {
            assert_eq!(a.as_deref(), Ok(format!("K-{i}").as_str()), "item {i}");
        }
        let answers = validate_keys(&w, &fault_keys(N));
        for (i, a) in answers.iter().enumerate() {
            assert_eq!(a.as_ref(), Ok(&fault_validation(i)), "item {i}");
        }
    }
    assert_eq!(w.stats().deaths, 0);
}

#[test]
fn a_plugin_crashing_on_every_call_becomes_fatal() {
    let w = spawn(
        &fault_plugin("segv_on_serial"),
        &settings(&[("every", "1")]),
        WorkerOptions {
            max_restarts: 3,
            ..options()
        },
    );
    let answers = generate_all(&w, &entitlements(10));
    let fatal = w.fatal_error().expect("declared dead");
    assert!(
        fatal.contains("segv_on_serial") && fatal.contains("crashed 4 times in a row"),
        "{fatal}"
    );
    assert!(fatal.contains("SIGSEGV"), "{fatal}");
    for a in &answers {
        match a {
            Err(GenerateFailure::Failed(f)) => assert_eq!(f.kind, FailureKind::Crash, "{f}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(w.stats().deaths, 4);
    // Later calls fail fast, without starting workers.
    let spawned = w.stats().spawned;
    let later = validate_keys(&w, &fault_keys(100));
    assert!(later.iter().all(|a| {
        a.as_ref()
            .is_err_and(|f| f.kind == FailureKind::Crash && f.message == fatal)
    }));
    assert_eq!(w.stats().spawned, spawned);
}

/// A crash ends the worker's plugin process, not the worker: the worker
/// forks a fresh one, and each crashing item is blamed (it fails again
/// alone), every other item gets its real answer, and a crash quotes only
/// what its own plugin process wrote.
#[test]
fn crashes_restart_the_plugin_process_not_the_worker() {
    let w = spawn(
        &fault_plugin("segv_on_serial"),
        &settings(&[("every", "7")]),
        options(),
    );
    let pids = w.worker_pids();
    let answers = generate_all(&w, &entitlements(60));
    for (i, a) in answers.iter().enumerate() {
        if i % 7 == 0 {
            let Err(GenerateFailure::Failed(f)) = a else {
                panic!("item {i}: {a:?}")
            };
            assert_eq!(f.kind, FailureKind::Crash, "{f}");
            assert!(f.message.starts_with("signal 11 (SIGSEGV)"), "{f}");
            // One crash's words, not every earlier life's.
            assert_eq!(
                f.message.matches("segv_on_serial triggered").count(),
                1,
                "{f}"
            );
        } else {
            assert_eq!(a.as_deref(), Ok(format!("K-{i}").as_str()), "item {i}");
        }
    }
    assert_eq!(w.worker_pids(), pids, "the worker itself was restarted");
    let stats = w.stats();
    // Each of the 9 crashing items died in the batch and again alone.
    assert_eq!(stats.deaths, 18, "{stats:?}");
    assert!(stats.unattributed.is_empty(), "{stats:?}");
    assert!(w.fatal_error().is_none());
}

/// The processes `pid` started, and theirs, as (pid, parent) pairs.
fn descendants(pid: u32) -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push((child, parent));
                queue.push(child);
            }
        }
    }
    found
}

/// Runs a crashing batch, then says whether the plugin lives are the
/// worker's grandchildren (forked by its first plugin process, the
/// zygote), and returns every plugin process the worker had.
fn crash_and_look(w: &WorkerImpl) -> (bool, Vec<u32>) {
    let answers = generate_all(w, &entitlements(30));
    for (i, a) in answers.iter().enumerate() {
        if i % 7 == 0 {
            assert!(
                matches!(a, Err(GenerateFailure::Failed(f)) if f.kind == FailureKind::Crash),
                "item {i}: {a:?}"
            );
        } else {
            assert_eq!(a.as_deref(), Ok(format!("K-{i}").as_str()), "item {i}");
        }
    }
    assert_eq!(w.stats().deaths, 10, "{:?}", w.stats());
    let [worker] = w.worker_pids()[..] else {
        panic!("{:?}", w.worker_pids())
    };
    let tree = descendants(worker);
    let forked_by_zygote = tree.iter().any(|&(_, parent)| parent != worker);
    (
        forked_by_zygote,
        tree.into_iter().map(|(pid, _)| pid).collect(),
    )
}

/// Waits up to two seconds for every pid in `pids` to be gone.
fn all_gone(pids: &[u32]) -> bool {
    for _ in 0..200 {
        if pids.iter().all(|&p| !pid_alive(p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// A plugin life after a crash is forked by the worker's first plugin
/// process (which loaded the plugin once), not loaded again; and no plugin
/// process outlives the worker.
#[test]
fn plugin_lives_come_from_a_zygote_and_end_with_the_worker() {
    let w = spawn(
        &fault_plugin("segv_on_serial"),
        &settings(&[("every", "7")]),
        options(),
    );
    let (forked_by_zygote, plugin_processes) = crash_and_look(&w);
    assert!(forked_by_zygote, "{plugin_processes:?}");
    drop(w);
    assert!(all_gone(&plugin_processes), "{plugin_processes:?}");
}

/// A plugin that starts a thread when created cannot be forked safely:
/// every life loads it again, and the blame is the same.
#[test]
fn a_plugin_with_a_thread_is_loaded_by_every_life() {
    let w = spawn(
        &fault_plugin("segv_on_serial"),
        &settings(&[("every", "7"), ("thread", "1")]),
        options(),
    );
    let (forked_by_zygote, plugin_processes) = crash_and_look(&w);
    assert!(!forked_by_zygote, "{plugin_processes:?}");
    drop(w);
    assert!(all_gone(&plugin_processes), "{plugin_processes:?}");
}

/// A crash that depends on what earlier calls did (here: the 5th call of
/// a plugin process, whatever its input) is blamed on no item: the item
/// being called when it died does not fail alone, in a fresh plugin
/// process, and neither does any other. Every item gets its real answer and
/// the crash is kept as a failure of the batch.
#[test]
fn a_crash_no_item_reproduces_alone_is_blamed_on_none() {
    let w = spawn(
        &fault_plugin("segv_on_serial"),
        &settings(&[("nth", "5")]),
        options(),
    );
    let answers = generate_all(&w, &entitlements(8));
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a.as_deref(), Ok(format!("K-{i}").as_str()), "item {i}");
    }
    let stats = w.stats();
    assert_eq!(stats.deaths, 1, "{stats:?}");
    let [f] = &stats.unattributed[..] else {
        panic!("{stats:?}")
    };
    assert!(
        f.message.starts_with("signal 11 (SIGSEGV)")
            && f.message
                .contains("(during a batch of 8; no item reproduces it alone)"),
        "{f}"
    );
}

#[test]
fn a_success_resets_the_restart_count() {
    // Crashes on every 2nd serial: never more than one death in a row.
    let w = spawn(
        &fault_plugin("segv_on_serial"),
        &settings(&[("every", "2")]),
        WorkerOptions {
            max_restarts: 1,
            ..options()
        },
    );
    let es = entitlements(12);
    for (i, e) in es.iter().enumerate() {
        let a = w.generate(e);
        if i % 2 == 0 {
            assert!(a.is_err(), "{i}: {a:?}");
        } else {
            assert_eq!(a, Ok(format!("K-{i}")));
        }
    }
    assert!(w.fatal_error().is_none(), "{:?}", w.fatal_error());
}

#[test]
fn load_errors_are_the_in_process_errors() {
    for name in [
        "bad_magic",
        "bad_major",
        "bad_truncated",
        "bad_null_fn",
        "bad_null_table",
        "bad_no_entry",
        "bad_batch_null",
        "bad_batch_truncated",
        "bad_typed_null",
        "bad_typed_truncated",
    ] {
        let path = bad_table(name);
        let in_process = plugin::load(&path).expect_err(name).to_string();
        let isolated = WorkerImpl::spawn(&path, &Settings::new(), options())
            .expect_err(name)
            .to_string();
        assert_eq!(isolated, in_process, "{name}");
        assert!(!isolated.contains('\n'), "{isolated}");
    }
    let missing = Path::new("/nonexistent/libnothing.so");
    assert_eq!(
        WorkerImpl::spawn(missing, &Settings::new(), options())
            .expect_err("missing")
            .to_string(),
        plugin::load(missing).expect_err("missing").to_string()
    );
    // `create` failing on bad settings.
    let path = fault_plugin("segv_on_serial");
    let bad = settings(&[("trigger", "soon")]);
    let Err(in_process) = plugin::load(&path).and_then(|p| PluginImpl::new(p, &bad)) else {
        panic!("bad setting accepted in-process");
    };
    let in_process = in_process.to_string();
    let isolated = WorkerImpl::spawn(&path, &bad, options())
        .expect_err("bad setting")
        .to_string();
    assert_eq!(isolated, in_process);
}

#[test]
fn a_worker_that_cannot_start_is_a_load_error() {
    let e = WorkerImpl::spawn(
        &lk1_c(),
        &Settings::new(),
        WorkerOptions {
            exe: PathBuf::from("/nonexistent/keycompat"),
            ..options()
        },
    )
    .expect_err("no such binary")
    .to_string();
    assert!(e.contains("cannot start the worker process"), "{e}");
    // A binary that does not speak the protocol.
    let e = WorkerImpl::spawn(
        &lk1_c(),
        &Settings::new(),
        WorkerOptions {
            exe: PathBuf::from("/bin/true"),
            ..options()
        },
    )
    .expect_err("not a worker")
    .to_string();
    assert!(e.contains("the worker process"), "{e}");
}

#[test]
fn info_is_the_in_process_info() {
    let s = settings(&[("secret", "acme-legacy-demo-secret-DO-NOT-SHIP")]);
    let path = lk1_c();
    let in_process = PluginImpl::new(plugin::load(&path).unwrap(), &s).unwrap();
    let isolated = spawn(&path, &s, options());
    assert_eq!(isolated.info(), in_process.info());
    assert!(matches!(isolated.info().origin, Origin::Plugin { .. }));
}

#[test]
fn isolated_answers_equal_in_process_answers() {
    for (path, s) in [
        (
            lk1_c(),
            settings(&[("secret", "acme-legacy-demo-secret-DO-NOT-SHIP")]),
        ),
        (ed1(), acme_demo_settings("acme-ed1")),
    ] {
        let in_process = PluginImpl::new(plugin::load(&path).unwrap(), &s).unwrap();
        let isolated = spawn(&path, &s, options());
        let g = Generator::new(5, Catalog::acme(), vec![5, 6, 7]);
        let es: Vec<Entitlement> = (0..300).map(|i| g.entitlement(i)).collect();
        let a = generate_all(&in_process, &es);
        let b = generate_all(&isolated, &es);
        assert_eq!(a, b, "{}", path.display());
        let mut keys: Vec<Vec<u8>> = a
            .iter()
            .filter_map(|k| k.as_ref().ok())
            .map(|k| k.as_bytes().to_vec())
            .collect();
        keys.push(b"garbage \xFF\x00 key".to_vec());
        keys.push(Vec::new());
        let contexts: Vec<Context> = es
            .iter()
            .map(|e| Context {
                product: e.product.clone(),
                version: Version { major: 5, minor: 4 },
                today: e.issued,
                host_id: e.host_id.clone(),
            })
            .collect();
        let reqs: Vec<(&[u8], &Context)> = keys
            .iter()
            .zip(contexts.iter().cycle())
            .map(|(k, c)| (k.as_slice(), c))
            .collect();
        assert_eq!(
            in_process.validate_batch(&reqs),
            isolated.validate_batch(&reqs),
            "{}",
            path.display()
        );
    }
}

/// Calls from 6 threads at once all get their own answers, served by at
/// most the 3 workers allowed. (Whether the threads overlap enough to need a
/// second worker is up to the scheduler, so that is not asserted.)
#[test]
fn concurrent_calls_share_at_most_the_configured_workers() {
    let w = spawn(
        &fault_plugin("segv_on_serial"),
        &settings(&[("trigger", "17")]),
        WorkerOptions {
            workers: 3,
            ..options()
        },
    );
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                for _ in 0..5 {
                    only_trigger_fails_generate(&generate_all(&w, &entitlements(N)));
                }
            });
        }
    });
    assert!(w.fatal_error().is_none());
    let pids = w.worker_pids();
    assert!(!pids.is_empty() && pids.len() <= 3, "{pids:?}");
}

#[test]
fn workers_are_gone_after_drop() {
    let w = spawn(
        &fault_plugin("hang_on_serial"),
        &settings(&[("trigger", "17")]),
        WorkerOptions {
            workers: 2,
            timeout: Duration::from_millis(200),
            ..options()
        },
    );
    let first = w.worker_pids();
    assert_eq!(first.len(), 1);
    // A hang costs the plugin life that hung (the worker kills it), not
    // the worker.
    only_trigger_fails_generate(&generate_all(&w, &entitlements(N)));
    assert!(
        pid_alive(first[0]),
        "worker {} ended with its hung life",
        first[0]
    );
    // Two workers busy at once.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| generate_all(&w, &entitlements(5)));
        }
    });
    let pids = w.worker_pids();
    assert!(!pids.is_empty());
    assert!(pids.iter().all(|&p| pid_alive(p)));
    drop(w);
    for p in pids {
        assert!(!pid_alive(p), "worker {p} survived the drop");
    }
}

/// A plugin that does not declare itself thread-safe is never called
/// concurrently, however many threads the host uses.
#[test]
fn a_plugin_that_is_not_thread_safe_is_never_called_concurrently() {
    let path = common::profile_dir().join("test-plugins/libnot_thread_safe.so");
    common::ensure_built();
    let plugin = keycompat::plugin::PluginImpl::new(
        keycompat::plugin::load(&path).unwrap(),
        &Settings::new(),
    )
    .unwrap();
    let ctx = keycompat::verdict::Context {
        product: "acme-cad".into(),
        version: keycompat::verdict::Version { major: 7, minor: 0 },
        today: keycompat::date::Day::parse("2026-01-01").unwrap(),
        host_id: None,
    };
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let v = plugin.validate(b"K", &ctx).unwrap();
                    assert_eq!(
                        v.verdict,
                        keycompat::verdict::Verdict::Malformed,
                        "two calls overlapped"
                    );
                }
            });
        }
    });
}

/// A plugin process that dies between calls (here: killed from outside,
/// as the OOM killer or an operator would) is a death of no item: the
/// next batch is answered in fresh lives, every item keeps its real
/// answer, and the death is kept as a failure of none, never dropped.
#[test]
fn a_plugin_process_dying_between_calls_is_blamed_on_no_item() {
    let w = spawn(&fault_plugin("segv_on_serial"), &settings(&[]), options());
    let es = entitlements(10);
    let expect = |answers: &[Result<String, GenerateFailure>]| {
        for (i, a) in answers.iter().enumerate() {
            assert_eq!(a.as_deref(), Ok(format!("K-{i}").as_str()), "item {i}");
        }
    };
    expect(&generate_all(&w, &es));
    let [worker] = w.worker_pids()[..] else {
        panic!("{:?}", w.worker_pids())
    };
    // The lives the zygote forked (the current one and the spares); the
    // zygote itself is the worker's child.
    let lives: Vec<u32> = descendants(worker)
        .into_iter()
        .filter(|&(_, parent)| parent != worker)
        .map(|(pid, _)| pid)
        .collect();
    assert!(!lives.is_empty(), "no plugin life under worker {worker}");
    for &pid in &lives {
        // SAFETY: SIGKILL to a plugin process of this test's worker.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
    // Dead: gone, or a zombie its parent has not reaped yet.
    let dead = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z'))
        })
    };
    for _ in 0..200 {
        if lives.iter().all(|&p| dead(p)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(lives.iter().all(|&p| dead(p)), "{lives:?}");
    expect(&generate_all(&w, &es));
    let stats = w.stats();
    assert!(stats.deaths >= 1, "{stats:?}");
    assert_eq!(stats.unattributed.len() as u64, stats.deaths, "{stats:?}");
    for f in &stats.unattributed {
        assert_eq!(f.kind, FailureKind::Crash, "{f}");
        assert!(
            f.message
                .starts_with("the plugin process died between calls (no item was being called): signal 9 (SIGKILL)"),
            "{f}"
        );
    }
    assert!(w.fatal_error().is_none(), "{:?}", w.fatal_error());
}
