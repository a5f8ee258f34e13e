//! A finished run survives its plugins' teardown: with `--isolation none`, a
//! plugin whose `destroy` hangs, aborts or calls `_exit(3)` must not take
//! the verdict with it. Every report is written, and the command exits with
//! its verdict's code, in bounded time.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rstest::rstest;

use crate::common::{Scenario, bin};

/// Longer than any of these runs takes on a loaded machine; a run still going
/// then is hanging in teardown.
const DEADLINE: Duration = Duration::from_secs(180);

/// Runs keycompat in `s` with `args`; `None` when it is still running at
/// [`DEADLINE`] (it is then killed), else its exit code (or `-signal`),
/// stdout and stderr.
fn run_bounded(s: &Scenario, args: &[&str]) -> Option<(i32, String, String)> {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(s.dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keycompat");
    // Read both pipes on threads: a full pipe must not block the child.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for keycompat") {
            break Some(status);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let status = status?;
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| -status.signal().unwrap_or(0));
    Some((code, out, err))
}

/// The demo (without exports) with its new system the fault plugin wrapping
/// the real acme-ed1, answering every call right and misbehaving in
/// `destroy` as `fault` says; plugins in-process.
fn bad_teardown(fault: &str) -> Scenario {
    Scenario::demo()
        .without_sources()
        .faulty_system("new", "acme-ed1", &[("fault", fault)])
        .set("run", "isolation", "none".into())
        .set("gates", "min_random_cases", toml::Value::Integer(10))
        .set("gates", "min_coverage_percent", toml::Value::Integer(0))
}

#[rstest]
#[case::hang("hang-on-destroy")]
#[case::abort("abort-on-destroy")]
#[case::exit("exit-on-destroy")]
fn a_destroy_that_hangs_or_ends_the_process_keeps_the_reports(#[case] fault: &str) {
    let s = bad_teardown(fault);
    let args = [
        "run",
        "--cases",
        "20",
        "--no-shrink",
        "--no-steer",
        "--report-dir",
        "r",
    ];
    let (code, out, err) = run_bounded(&s, &args)
        .unwrap_or_else(|| panic!("{fault}: keycompat still running after {DEADLINE:?}"));
    let reports = s.dir.path().join("r");
    for f in ["report.json", "junit.xml", "report.md", "report.html"] {
        assert!(
            reports.join(f).is_file(),
            "{fault}: no {f} (exit {code})\nstdout: {out}\nstderr: {err}"
        );
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .expect("report.json parses");
    // The exit code is the verdict's (the demo's new system is compatible
    // with its old one: yellow or green), not the plugin's 3 nor SIGABRT.
    let verdict = report["verdict"].as_str().unwrap_or_default().to_string();
    let expected = if verdict == "red" { 1 } else { 0 };
    assert_eq!(
        code, expected,
        "{fault}: verdict {verdict}\nstdout: {out}\nstderr: {err}"
    );
    assert!(out.contains("verdict"), "{fault}: {out}");
}
