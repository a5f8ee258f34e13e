//! Go-live over time: the run history (`[history]`, `--history`), the gates
//! that look back over it (`[gates.history]`), and `keycompat history`.
//!
//! Every record here is written by a real `keycompat data`, `run` or
//! `merge` of the demo on its day (`--today`); the tests only choose the
//! days, the configs and the files, never a record's contents. What a user
//! relies on: two weeks of clean dual-run turn the gate green and a day
//! with unwaived findings turns it red naming that day; a new build of the
//! new system restarts the clock (unless configured not to) and the report
//! says so; field keys validated on different days add up; a damaged line
//! is reported with its number and skipped, never rewritten; a sharded run
//! adds one record, at its merge.

use std::path::Path;

use rstest::rstest;
use serde_json::Value;

use crate::common::*;

/// The file every test keeps its history in, in the scenario's directory.
const FILE: &str = "history.jsonl";

/// The demo with its exports sampled (12 % a day, as data migrates) and
/// the gates over time of `gates` (`[gates.history]`).
fn scenario(gates: &[(&str, toml::Value)]) -> Scenario {
    let mut s = Scenario::demo()
        .set("run", "isolation", "none".into())
        .set_path(&["sources", "orders", "share"], 0.12.into())
        .set_path(&["sources", "field_keys", "share"], 0.12.into());
    for (key, value) in gates {
        s = s.set_path(&["gates", "history", key], value.clone());
    }
    s
}

fn day(n: u32) -> String {
    format!("2026-11-{n:02}")
}

/// `keycompat data` of `--only` one export on day `n` (seed `n` unless
/// `extra` gives one), appending to [`FILE`]; returns the exit code and
/// report.json.
fn data_day(s: &Scenario, n: u32, only: &str, extra: &[&str]) -> (i32, Value) {
    let (today, seed, report) = (day(n), n.to_string(), format!("r{n}"));
    let mut args = vec![
        "data",
        "--only",
        only,
        "--today",
        &today,
        "--history",
        FILE,
        "--report-dir",
        &report,
        "-q",
    ];
    if !extra.contains(&"--seed") {
        args.extend_from_slice(&["--seed", &seed]);
    }
    args.extend_from_slice(extra);
    let out = s.run(&args);
    let code = code(&out);
    assert!(
        code == 0 || code == 1,
        "day {n}: exit {code}: {}",
        stderr(&out)
    );
    let path = s.dir.path().join(&report).join("report.json");
    let text = std::fs::read_to_string(&path).expect("report.json");
    let report: Value = serde_json::from_str(&text).expect("report.json parses");
    assert_schema(&report);
    (code, report)
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record"))
        .collect()
}

/// Days 1..=13 of clean dual-run, shared by the tests that go on from them
/// (each copies the file): 13 real data runs are the expensive part.
fn thirteen_clean_days() -> &'static str {
    static FILE13: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FILE13.get_or_init(|| {
        let s = scenario(&[("dual_run_days", 14.into())]);
        for n in 1..=13 {
            let (_, r) = data_day(&s, n, "orders", &[]);
            let g = gate(&r, "dual-run days");
            assert_eq!(g["status"], "red", "day {n}: {g}");
            assert!(
                g["measured"].as_str().unwrap().starts_with(&format!(
                    "{n} of 14 days clean in a row (2026-11-01 .. {})",
                    day(n)
                )),
                "day {n}: {g}"
            );
        }
        std::fs::read_to_string(s.dir.path().join(FILE)).expect("the history")
    })
}

#[test]
fn fourteen_clean_days_turn_the_dual_run_gate_green() {
    let s = scenario(&[("dual_run_days", 14.into())]);
    std::fs::write(s.dir.path().join(FILE), thirteen_clean_days()).unwrap();
    let (exit, r) = data_day(&s, 14, "orders", &[]);
    let g = gate(&r, "dual-run days");
    assert_eq!(g["status"], "green", "{g}");
    assert_eq!(
        g["measured"],
        "14 of 14 days clean in a row (2026-11-01 .. 2026-11-14)"
    );
    assert_eq!(
        exit, 0,
        "the demo's waived findings leave it GO with warnings"
    );
    assert_eq!(r["history"]["records"], 13);
    assert_eq!(r["history"]["appended"], true);
    assert_eq!(r["history"]["days"].as_array().map(Vec::len), Some(14));
    assert_eq!(records(&s.dir.path().join(FILE)).len(), 14);
}

#[test]
fn a_finding_on_day_10_turns_the_dual_run_gate_red_and_says_why() {
    let s = scenario(&[("dual_run_days", 14.into())]);
    // Days 1 to 9 as recorded; day 10 run without the waivers (they were
    // narrowed that day, say): the demo's waived findings on orders count.
    let nine: Vec<&str> = thirteen_clean_days().lines().take(9).collect();
    std::fs::write(s.dir.path().join(FILE), nine.join("\n") + "\n").unwrap();
    let mut config: toml::Table = std::fs::read_to_string(s.path()).unwrap().parse().unwrap();
    config.remove("waivers");
    std::fs::write(
        s.dir.path().join("no-waivers.toml"),
        toml::to_string(&config).unwrap(),
    )
    .unwrap();
    let (exit, r10) = data_day(&s, 10, "orders", &["--config", "no-waivers.toml"]);
    assert_eq!(exit, 1, "unwaived outages on day 10");
    let orders_failing = r10["data"]["orders"]["with_findings"].as_u64().unwrap();
    assert!(orders_failing > 0);
    let mut groups: Vec<&str> = r10["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    groups.sort_unstable();
    for n in 11..=13 {
        data_day(&s, n, "orders", &[]);
    }
    let (exit, r) = data_day(&s, 14, "orders", &[]);
    let g = gate(&r, "dual-run days");
    assert_eq!(g["status"], "red", "{g}");
    assert_eq!(exit, 1, "a red gate over time is NO-GO");
    let measured = g["measured"].as_str().unwrap();
    let why = format!(
        "4 of 14 days clean in a row (2026-11-11 .. 2026-11-14); 2026-11-10: {orders_failing} orders with unwaived findings (unwaived groups {}",
        groups[0]
    );
    assert!(measured.starts_with(&why), "{measured}\nexpected: {why}");
    // The trend shows the day as NO-GO, every format says so.
    let days = r["history"]["days"].as_array().unwrap();
    let d10 = days.iter().find(|d| d["date"] == "2026-11-10").unwrap();
    assert_eq!(d10["verdict"], "red");
    assert!(d10["unwaived"]["outage"].as_u64() > Some(0), "{d10}");
    let md = std::fs::read_to_string(s.dir.path().join("r14/report.md")).unwrap();
    assert!(md.contains("## Go-live over time"), "{md}");
    assert!(md.contains("| 2026-11-10 | **RED** |"), "{md}");
    assert!(md.contains("2026-11-10: "), "the gate's reason: {md}");
    let history = run_in(s.dir.path(), &["history", "--history", FILE], b"");
    assert_eq!(code(&history), 0, "{}", stderr(&history));
    assert!(
        stdout(&history).contains("2026-11-10  NO-GO"),
        "{}",
        stdout(&history)
    );
}

/// The new system's plugin rebuilt: the same code, another SHA-256 (bytes
/// after the ELF image, which the loader ignores).
fn rebuilt_new_system(s: Scenario) -> Scenario {
    let copy = s.dir.path().join("libacme_ed1-rebuilt.so");
    let mut bytes = std::fs::read(ed1()).expect("the new system's plugin");
    bytes.extend_from_slice(b"\0rebuilt");
    std::fs::write(&copy, bytes).unwrap();
    s.set_path(
        &["systems", "new", "plugin"],
        copy.to_string_lossy().into_owned().into(),
    )
}

#[rstest]
#[case::by_default_any_new_build("hash", "red")]
#[case::on_a_new_version_only("version", "green")]
#[case::never("never", "green")]
fn a_new_plugin_hash_of_the_new_system_restarts_the_clock(
    #[case] restart: &str,
    #[case] status: &str,
) {
    let mut gates = vec![("dual_run_days", toml::Value::from(14))];
    if restart != "hash" {
        gates.push(("restart_on_new_system", restart.into()));
    }
    let s = rebuilt_new_system(scenario(&gates));
    std::fs::write(s.dir.path().join(FILE), thirteen_clean_days()).unwrap();
    let (_, r) = data_day(&s, 14, "orders", &[]);
    let g = gate(&r, "dual-run days");
    assert_eq!(g["status"], status, "{g}");
    let notes = r["history"]["notes"].to_string();
    let measured = g["measured"].as_str().unwrap();
    match restart {
        "hash" => {
            assert!(
                measured.starts_with(
                    "1 of 14 days clean in a row (2026-11-14 .. 2026-11-14); the clock restarted on 2026-11-14: the new system changed (acme-ed1"
                ),
                "{measured}"
            );
            assert!(
                notes.contains("the clock restarted on 2026-11-14"),
                "{notes}"
            );
            let days = r["history"]["days"].as_array().unwrap();
            assert_eq!(days.last().unwrap()["restarted"], true);
            let md = std::fs::read_to_string(s.dir.path().join("r14/report.md")).unwrap();
            assert!(md.contains("2026-11-14 (clock restarted)"), "{md}");
        }
        "version" => assert!(
            !notes.contains("changed"),
            "a rebuild is no change: {notes}"
        ),
        _ => assert!(
            notes.contains("restart_on_new_system = \\\"never\\\": the clock runs on"),
            "the report says the system changed: {notes}"
        ),
    }
}

#[test]
fn field_keys_validated_on_different_days_add_up_to_the_target() {
    let s = scenario(&[("field_keys_percent", 30.into())]);
    let mut shares = Vec::new();
    for n in 1..=4 {
        let (_, r) = data_day(&s, n, "field-keys", &[]);
        let g = gate(&r, "field keys across runs");
        let day = r["history"]["days"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        let cumulative = day["field_keys_cumulative_percent"].as_f64().unwrap();
        let today = day["field_keys_percent"].as_f64().unwrap();
        assert!((11.0..13.0).contains(&today), "12 % a day: {today}");
        shares.push((cumulative, g["status"].as_str().unwrap().to_string()));
        assert!(
            g["measured"]
                .as_str()
                .unwrap()
                .contains(&format!("across {n} run")),
            "{g}"
        );
    }
    // Each day samples other keys (its own seed): coverage grows, and
    // crosses 30 % on the third day (12 %, then about 23 %, 32 %, 40 %).
    assert!(shares.windows(2).all(|w| w[1].0 > w[0].0), "{shares:?}");
    assert_eq!(shares[0].1, "red");
    assert_eq!(shares[1].1, "red");
    assert_eq!(shares[2].1, "green", "{shares:?}");
    assert_eq!(shares[3].1, "green");
    // The same sample again (day 5 with day 4's seed) adds nothing.
    let (_, r) = data_day(&s, 5, "field-keys", &["--seed", "4"]);
    let again =
        r["history"]["days"].as_array().unwrap().last().unwrap()["field_keys_cumulative_percent"]
            .as_f64()
            .unwrap();
    assert_eq!(again, shares[3].0);
}

#[test]
fn a_corrupted_history_line_is_reported_with_its_number_and_skipped() {
    let s = scenario(&[("dual_run_days", 14.into())]);
    let lines: Vec<&str> = thirteen_clean_days().lines().take(3).collect();
    let mut damaged = Vec::new();
    damaged.extend_from_slice(format!("{}\n", lines[0]).as_bytes());
    damaged.extend_from_slice(b"<<<<<<< HEAD\n");
    damaged.extend_from_slice(format!("{}\n", lines[1]).as_bytes());
    damaged.extend_from_slice(b"{\"schema\":\"keycompat-history/1\",\"date\":\"\xff\"}\n");
    damaged.extend_from_slice(b"{\"some\": \"other tool\"}\n");
    // A torn last line: half of a record, no newline.
    damaged.extend_from_slice(&lines[2].as_bytes()[..40]);
    let path = s.dir.path().join(FILE);
    std::fs::write(&path, &damaged).unwrap();
    let (_, r) = data_day(&s, 4, "orders", &[]);
    let skipped: Vec<(u64, String)> = r["history"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    let lines_skipped: Vec<u64> = skipped.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines_skipped, [2, 4, 5, 6], "{skipped:?}");
    assert!(skipped[0].1.starts_with("not a JSON record"), "{skipped:?}");
    assert!(skipped[1].1.starts_with("not UTF-8"), "{skipped:?}");
    assert!(
        skipped[2].1.starts_with("not a keycompat history record"),
        "{skipped:?}"
    );
    assert_eq!(r["history"]["records"], 2, "the two whole records count");
    // Days 1 and 2 are read, day 3 is lost: the streak is today's alone.
    let g = gate(&r, "dual-run days");
    assert!(
        g["measured"]
            .as_str()
            .unwrap()
            .contains("2026-11-03: no run"),
        "{g}"
    );
    // The run went on, said so, and appended; the damaged lines are left
    // as they were, byte for byte.
    let out = s.run(&[
        "data",
        "--only",
        "orders",
        "--today",
        "2026-11-05",
        "--history",
        FILE,
        "--report-dir",
        "r5",
    ]);
    assert!(
        stderr(&out).contains(&format!(
            "warning: history {FILE}: line 2: not a JSON record"
        )),
        "{}",
        stderr(&out)
    );
    let after = std::fs::read(&path).unwrap();
    assert!(after.starts_with(&damaged), "the history was rewritten");
    let appended = String::from_utf8_lossy(&after[damaged.len()..]).into_owned();
    let appended: Vec<&str> = appended.lines().collect();
    assert_eq!(
        appended.len(),
        3,
        "a newline after the torn line, then two records"
    );
    assert_eq!(appended[0], "");
    assert!(appended[1].contains("\"date\":\"2026-11-04\""));
    assert!(appended[2].contains("\"date\":\"2026-11-05\""));
    let shown = run_in(s.dir.path(), &["history", "--history", FILE], b"");
    assert_eq!(code(&shown), 0);
    assert!(
        stdout(&shown).contains("line 2: not a JSON record"),
        "{}",
        stdout(&shown)
    );
    // A history that is not a file at all stops the run before any work.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let out = s.run(&[
        "data",
        "--only",
        "orders",
        "--history",
        FILE,
        "--report-dir",
        "r6",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains(FILE), "{}", stderr(&out));
}

#[test]
fn merged_shards_add_one_record_not_three() {
    let s = scenario(&[
        ("dual_run_days", 14.into()),
        ("field_keys_percent", 10.into()),
    ])
    .set("gates", "min_random_cases", 30.into());
    let common = [
        "--cases",
        "30",
        "--seed",
        "7",
        "--today",
        "2026-11-23",
        "--no-shrink",
        "--no-steer",
        "-q",
    ];
    for k in 1..=3 {
        let partition = format!("{k}/3");
        let dir = format!("shard{k}");
        let mut args = vec!["run", "--partition", &partition, "--report-dir", &dir];
        args.extend_from_slice(&common);
        args.extend_from_slice(&["--history", FILE]);
        let out = s.run(&args);
        assert!(code(&out) <= 1, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("a shard adds no record"),
            "{}",
            stderr(&out)
        );
        assert!(!s.dir.path().join(FILE).exists(), "shard {k} appended");
    }
    let out = s.run(&[
        "merge",
        "shard1/report.json",
        "shard2/report.json",
        "shard3/report.json",
        "--report-dir",
        "merged",
        "--history",
        FILE,
        "-q",
    ]);
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let merged = records(&s.dir.path().join(FILE));
    assert_eq!(merged.len(), 1, "one record for the merged run");
    assert_eq!(merged[0]["shards"], 3);
    // The record is the unsharded run's: the same groups, shares and ids.
    let mut args = vec!["run", "--report-dir", "whole"];
    args.extend_from_slice(&common);
    args.extend_from_slice(&["--history", "whole.jsonl"]);
    let out = s.run(&args);
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let whole = records(&s.dir.path().join("whole.jsonl"));
    assert_eq!(whole.len(), 1);
    for key in [
        "groups",
        "field_keys",
        "orders",
        "verdict",
        "gates",
        "random_cases",
    ] {
        assert_eq!(merged[0][key], whole[0][key], "{key}");
    }
    assert!(
        whole[0]["field_keys"]["clean"]
            .as_str()
            .is_some_and(|c| c.len() > 100)
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(s.dir.path().join("merged/report.json")).unwrap(),
    )
    .unwrap();
    assert_schema(&report);
    assert_eq!(gate(&report, "dual-run days")["status"], "red");
}

#[test]
fn the_demo_ships_a_history_whose_two_week_gate_the_demo_run_meets() {
    // The committed history is what scripts/demo-history.sh writes: 13 data
    // runs, 2026-11-10 .. 2026-11-22.
    let history = records(&repo().join("vectors/acme/history.jsonl"));
    let days: Vec<&str> = history
        .iter()
        .map(|r| r["date"].as_str().unwrap())
        .collect();
    assert_eq!(days.first(), Some(&"2026-11-10"));
    assert_eq!(days.last(), Some(&"2026-11-22"));
    assert_eq!(days.len(), 13);
    assert!(history.iter().all(|r| r["scope"] == "data"));
    let script = std::fs::read_to_string(repo().join("scripts/demo-history.sh")).unwrap();
    assert!(script.contains("vectors/acme/history.jsonl"));
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains("scripts/demo-history.sh"));
}

// ------------------------------------------------ the README's CI examples

const EXAMPLES: [&str; 3] = [
    "examples/ci/history-committed.sh",
    "examples/ci/history-artifact.sh",
    "examples/ci/history-pull-request.sh",
];

fn example(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_readme_shows_each_history_example_verbatim() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for path in EXAMPLES {
        let block = format!("`{path}`:\n\n```sh\n{}```\n", example(path));
        assert!(
            readme.contains(&block),
            "README.md does not show {path} as it is; paste the file into its ```sh block"
        );
    }
}

/// A CI job's shell: `keycompat` on the PATH (the binary under test), a
/// git identity, nothing else of the machine's environment.
fn job(dir: &Path, bin_dir: &Path, script: &str) -> std::process::Output {
    ensure_built();
    std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .envs([
            ("GIT_AUTHOR_NAME", "ci"),
            ("GIT_AUTHOR_EMAIL", "ci@example.com"),
            ("GIT_COMMITTER_NAME", "ci"),
            ("GIT_COMMITTER_EMAIL", "ci@example.com"),
        ])
        .output()
        .expect("run sh")
}

/// A directory holding `keycompat`, the binary under test.
fn bin_dir(root: &Path) -> std::path::PathBuf {
    let dir = root.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(bin(), dir.join("keycompat")).unwrap();
    dir
}

/// The demo as the examples' repository holds it: few random cases (its
/// gate judged on them), exports sampled.
fn ci_checkout() -> Scenario {
    scenario(&[("dual_run_days", 14.into())])
        .set("run", "cases", 30.into())
        .set("run", "seed", 3.into())
        .set("gates", "min_random_cases", 30.into())
}

/// A job that ran to its verdict: GO (0) or NO-GO (1). These examples'
/// first runs are NO-GO, rightly: two weeks of dual-run are not met yet.
fn verdict(o: &std::process::Output, what: &str) -> i32 {
    let c = o.status.code();
    assert!(
        c == Some(0) || c == Some(1),
        "{what} failed ({:?}):\n{}{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    c.unwrap_or(-1)
}

fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\n{}{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

#[test]
fn the_committed_history_example_pushes_one_record_a_night_and_pull_requests_read_it() {
    let root = tempfile::tempdir().unwrap();
    let bin = bin_dir(root.path());
    let checkout = ci_checkout();
    let git = |dir: &Path, script: &str| {
        let out = job(dir, &bin, script);
        ok(&out, script);
        stdout(&out)
    };
    git(root.path(), "git init --quiet --bare -b main origin.git");
    let origin = root.path().join("origin.git").display().to_string();
    git(
        checkout.dir.path(),
        &format!(
            "git init --quiet -b main && git add -A && git commit --quiet -m demo && \
             git push --quiet '{origin}' main"
        ),
    );
    for night in 1..=2 {
        let work = root.path().join(format!("night-{night}"));
        git(
            root.path(),
            &format!("git clone --quiet '{origin}' '{}'", work.display()),
        );
        let out = job(&work, &bin, &example(EXAMPLES[0]));
        // NO-GO: one night of the fourteen; the record is pushed all the same.
        assert_eq!(verdict(&out, "the committed-history example"), 1);
        assert!(
            stderr(&out).contains("history: appended the record of"),
            "{}",
            stderr(&out)
        );
    }
    // Each night's clone started from the last night's push.
    let pr = root.path().join("pull-request");
    git(
        root.path(),
        &format!("git clone --quiet '{origin}' '{}'", pr.display()),
    );
    let kept = records(&pr.join("keycompat-history.jsonl"));
    assert_eq!(kept.len(), 2, "one record a night");
    let log = git(&pr, "git log --format=%s");
    assert_eq!(log.matches("keycompat history: ").count(), 2, "{log}");
    let out = job(&pr, &bin, &example(EXAMPLES[2]));
    verdict(&out, "the pull-request example");
    assert_eq!(
        git(&pr, "git status --porcelain -- keycompat-history.jsonl"),
        "",
        "a pull request adds nothing to the history"
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(pr.join("keycompat-report/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["history"]["records"], 2);
    assert_eq!(report["history"]["appended"], false);
}

#[test]
fn the_artifact_history_example_carries_the_history_from_run_to_run() {
    let root = tempfile::tempdir().unwrap();
    let bin = bin_dir(root.path());
    let checkout = ci_checkout();
    let mut artifact: Option<std::path::PathBuf> = None;
    for run in 1..=2 {
        // A fresh machine: the checkout, and the last run's artifact.
        let work = root.path().join(format!("run-{run}"));
        copy_dir(checkout.dir.path(), &work);
        if let Some(a) = &artifact {
            copy_dir(a, &work.join("previous"));
        }
        let out = job(&work, &bin, &example(EXAMPLES[1]));
        verdict(&out, "the artifact example");
        let report: Value = serde_json::from_str(
            &std::fs::read_to_string(work.join("keycompat-report/report.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(report["history"]["records"], run - 1);
        let kept = root.path().join(format!("artifact-{run}"));
        copy_dir(&work.join("history"), &kept);
        assert_eq!(
            records(&kept.join("keycompat-history.jsonl")).len(),
            run as usize
        );
        artifact = Some(kept);
    }
}
