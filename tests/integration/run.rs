//! `keycompat run` end to end: the demo's verdict, determinism across thread
//! counts, and the gates' exit codes.

use std::collections::BTreeSet;

use crate::common::*;

fn small(s: Scenario, cases: i64) -> Scenario {
    s.set("gates", "min_random_cases", toml::Value::Integer(cases))
}

#[test]
fn the_demo_finds_only_its_waived_incompatibilities() {
    let s = small(Scenario::demo(), 600);
    let (out, report) = s.run_report(&["--cases", "600", "--seed", "1", "--no-shrink"], "r");
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        unwaived_groups(&report).is_empty(),
        "{:?}",
        unwaived_groups(&report)
    );
    let groups = report["groups"].as_array().unwrap();
    let waived: Vec<(&str, &str)> = groups
        .iter()
        .map(|g| {
            (
                g["check"].as_str().unwrap(),
                g["waived_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(waived.contains(&("forward", "EMS-1042")), "{waived:?}");
    assert!(waived.contains(&("rollback", "EMS-1043")), "{waived:?}");
    assert_eq!(report["verdict"], "yellow");
    // The verdict and why, in one sentence, with the counts behind it.
    let waived = report["counts"]["waived_findings"].as_u64().unwrap();
    let grouped = waived
        .to_string()
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(",");
    let headline = format!(
        "verdict: GO with warnings: 0 unwaived outages or leaks; {grouped} findings waived \
         under 6 waivers, the first expiring 2027-06-30"
    );
    assert!(
        stdout(&out).contains(&headline),
        "{headline}\n{}",
        stdout(&out)
    );
}

#[test]
fn replay_reproduces_a_waived_finding_and_judges_its_waiver_as_the_run_did() {
    let s = small(Scenario::demo(), 300).without_sources();
    let (_, report) = s.run_report(&["--cases", "300", "--seed", "1", "--no-shrink"], "r");
    let rollback = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["check"] == "rollback" && g["waived_by"] == "EMS-1043")
        .expect("the demo's waived rollback group");
    let replay = rollback["replay"].as_str().unwrap();
    let out = s.run_printed(replay, "--today 2026-11-23");
    assert_eq!(
        code(&out),
        0,
        "waived: exit 0\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("waived:   EMS-1043"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains(", 0 not waived"), "{}", stdout(&out));
    // The day after the waiver expires, the same finding blocks again.
    let out = s.run_printed(replay, "--today 2027-07-01");
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("waiver EMS-1043 expired on 2027-06-30"),
        "{}",
        stdout(&out)
    );
}

/// A run given `--config` prints replay commands that name it: pasted in
/// the same directory, each reproduces its finding (the default
/// `keycompat.toml` there has no defect, so without `--config` they would
/// replay to nothing). Every format carries the same command.
#[test]
fn replay_commands_of_a_run_with_another_config_name_it_and_reproduce() {
    let s = Scenario::demo().without_sources().faulty_system(
        "new",
        "acme-ed1",
        &[("defect", "expiry-off-by-one")],
    );
    std::fs::rename(s.path(), s.dir.path().join("other config.toml")).unwrap();
    let healthy = Scenario::demo().without_sources();
    std::fs::copy(healthy.path(), s.path()).unwrap();
    let args = [
        "--config",
        "other config.toml",
        "run",
        "--cases",
        "60",
        "--seed",
        "2",
        "--no-shrink",
        "--report-dir",
        "r",
        "--today",
        "2026-11-23",
    ];
    let out = s.run(&args);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.path().join("r/report.json")).unwrap())
            .unwrap();
    let unwaived: Vec<&serde_json::Value> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["waived_by"].is_null())
        .collect();
    assert!(!unwaived.is_empty());
    let markdown = std::fs::read_to_string(s.dir.path().join("r/report.md")).unwrap();
    let junit = std::fs::read_to_string(s.dir.path().join("r/junit.xml"))
        .unwrap()
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    for g in unwaived.iter().take(3) {
        let replay = g["replay"].as_str().unwrap();
        assert!(
            replay.starts_with("keycompat --config 'other config.toml' "),
            "{replay}"
        );
        assert!(stdout(&out).contains(replay), "terminal: {replay}");
        assert!(markdown.contains(replay), "markdown: {replay}");
        assert!(junit.contains(replay), "junit: {replay}");
        let again = s.run_printed(replay, "--today 2026-11-23");
        assert_eq!(
            code(&again),
            1,
            "{replay}: {}{}",
            stdout(&again),
            stderr(&again)
        );
        assert!(
            stdout(&again).contains(g["cause"].as_str().unwrap()),
            "{replay} does not reproduce {}: {}",
            g["cause"],
            stdout(&again)
        );
    }
}

/// `replay --report PATH --finding ID` takes everything from the report:
/// the case, the check, the config the run used (here not the directory's
/// default) and the day: each group's id replays its finding.
#[test]
fn replay_from_a_report_by_finding_id_reproduces_it() {
    let s = Scenario::demo().without_sources().faulty_system(
        "new",
        "acme-ed1",
        &[("defect", "expiry-off-by-one")],
    );
    std::fs::rename(s.path(), s.dir.path().join("defect.toml")).unwrap();
    std::fs::copy(Scenario::demo().without_sources().path(), s.path()).unwrap();
    let out = s.run(&[
        "--config",
        "defect.toml",
        "run",
        "--cases",
        "60",
        "--seed",
        "4",
        "--no-shrink",
        "--report-dir",
        "r",
        "--today",
        "2026-11-23",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.path().join("r/report.json")).unwrap())
            .unwrap();
    let groups = report["groups"].as_array().unwrap();
    let ids: BTreeSet<&str> = groups.iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), groups.len(), "group ids are unique");
    let markdown = std::fs::read_to_string(s.dir.path().join("r/report.md")).unwrap();
    let mut replayed = 0;
    for g in groups.iter().filter(|g| g["waived_by"].is_null()) {
        let id = g["id"].as_str().unwrap();
        assert!(markdown.contains(id), "{id} not in report.md");
        if g["example"]["source"]["kind"] == "field_key" {
            continue;
        }
        let out = s.run(&["replay", "--report", "r/report.json", "--finding", id]);
        assert_eq!(code(&out), 1, "{id}: {}{}", stdout(&out), stderr(&out));
        assert!(
            stdout(&out).contains(g["cause"].as_str().unwrap()),
            "{id}: {}",
            stdout(&out)
        );
        replayed += 1;
    }
    assert!(replayed > 0);
    let out = s.run(&[
        "replay",
        "--report",
        "r/report.json",
        "--finding",
        "g-0000000000",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no finding \"g-0000000000\"; its findings are g-"),
        "{}",
        stderr(&out)
    );
}

/// `--partition auto` takes the shard from the CI system's variables, says
/// which it used, and under Bazel touches the shard status file; with none
/// set it is a usage error listing what it looked for.
#[test]
fn partition_auto_reads_the_ci_environment() {
    let s = small(Scenario::demo().without_sources(), 10);
    let run = |vars: &[(&str, String)], report: &str| {
        let mut cmd = std::process::Command::new(bin());
        cmd.args([
            "run",
            "--cases",
            "30",
            "--seed",
            "6",
            "--no-shrink",
            "-q",
            "--partition",
            "auto",
            "--report-dir",
            report,
            "--today",
            "2026-11-23",
        ])
        .current_dir(s.dir.path());
        // This job's own CI variables must not decide the shard.
        for (_, index, count, _) in keycompat::run::CI_SHARD_VARIABLES {
            cmd.env_remove(index).env_remove(count);
        }
        cmd.env_remove("TEST_SHARD_STATUS_FILE");
        cmd.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
        cmd.output().unwrap()
    };
    let partitions = |report: &str| -> serde_json::Value {
        let r: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(s.dir.path().join(report).join("report.json")).unwrap(),
        )
        .unwrap();
        r["meta"]["partitions"].clone()
    };
    let gitlab = [
        ("CI_NODE_INDEX", "2".to_string()),
        ("CI_NODE_TOTAL", "3".to_string()),
    ];
    let out = run(&gitlab, "gitlab");
    assert!(code(&out) <= 1, "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("partition 2/3 from GitLab parallel: CI_NODE_INDEX=2, CI_NODE_TOTAL=3"),
        "{}",
        stderr(&out)
    );
    assert_eq!(partitions("gitlab"), serde_json::json!([{"k": 2, "n": 3}]));

    let status = s.dir.path().join("shard-status");
    let bazel = [
        ("TEST_SHARD_INDEX", "0".to_string()),
        ("TEST_TOTAL_SHARDS", "2".to_string()),
        (
            "TEST_SHARD_STATUS_FILE",
            status.to_string_lossy().into_owned(),
        ),
    ];
    let out = run(&bazel, "bazel");
    assert!(code(&out) <= 1, "{}", stderr(&out));
    assert_eq!(partitions("bazel"), serde_json::json!([{"k": 1, "n": 2}]));
    assert!(
        status.is_file(),
        "Bazel's shard status file was not touched"
    );

    let out = run(&[], "none");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no CI shard variables are set"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn too_few_cases_is_a_red_gate_and_exit_1() {
    let s = Scenario::demo();
    let (out, report) = s.run_report(&["--cases", "50", "--seed", "1", "--no-shrink"], "r");
    assert_eq!(code(&out), 1);
    let gate = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "random cases")
        .unwrap();
    assert_eq!(gate["status"], "red");
}

#[test]
fn the_same_seed_gives_the_same_findings_with_1_and_2_threads() {
    let s = Scenario::demo().faulty_system("new", "acme-ed1", &[("defect", "seats-wrapped")]);
    let args = ["--cases", "400", "--seed", "11", "--no-shrink"];
    let (_, one) = s.run_report(&[&args[..], &["-j", "1"]].concat(), "one");
    let (_, two) = s.run_report(&[&args[..], &["-j", "2"]].concat(), "two");
    assert!(
        !unwaived_groups(&one).is_empty(),
        "the defect must produce findings"
    );
    for field in ["groups", "tallies", "counts", "gates", "verdict"] {
        assert_eq!(
            one[field], two[field],
            "{field} differs between 1 and 2 threads"
        );
    }
}

#[test]
fn a_missing_config_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["run", "--cases", "1"], b"");
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no keycompat.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_shrunk_failure_is_saved_as_a_regression_vector_and_reproduces_on_the_next_run() {
    // Random cases only: an order export's example would win the group.
    let s = Scenario::demo().without_sources().faulty_system(
        "new",
        "acme-ed1",
        &[("defect", "seats-wrapped")],
    );
    let (out, first) = s.run_report(
        &["--cases", "300", "--seed", "4", "--checks", "roundtrip"],
        "first",
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("saved regression r-"),
        "{}",
        stderr(&out)
    );
    let saved =
        std::fs::read_to_string(s.dir.path().join("vectors/regressions/roundtrip.toml")).unwrap();
    assert!(
        saved.contains("seats = 1024"),
        "the shrunk case is the smallest failing one:\n{saved}"
    );
    assert!(!unwaived_groups(&first).is_empty());

    // No random cases at all: the regression alone reproduces the failure.
    let (out, second) = s.run_report(
        &["--cases", "0", "--checks", "roundtrip", "--no-shrink"],
        "second",
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("regression vectors from"),
        "{}",
        stderr(&out)
    );
    let from_regression = second["groups"].as_array().unwrap().iter().any(|g| {
        g["example"]["source"]["kind"] == "vector"
            && g["example"]["source"]["file"]
                .as_str()
                .unwrap_or("")
                .starts_with("regressions/")
            && g["cause"].as_str().unwrap_or("").contains("seats")
    });
    assert!(from_regression, "{:#}", second["groups"]);
}

#[test]
fn an_expired_waiver_stops_counting_and_an_unused_one_is_reported() {
    let s = small(Scenario::demo(), 300);
    // Judged after the demo waivers' expiry (2027-06-30): their findings block again.
    let out = s.run(&[
        "run",
        "--cases",
        "300",
        "--seed",
        "1",
        "--no-shrink",
        "--today",
        "2027-07-01",
        "--report-dir",
        "late",
    ]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.dir.path().join("late/report.json")).unwrap(),
    )
    .unwrap();
    let statuses: Vec<&str> = report["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["expired"; 6]);
    assert!(
        unwaived_groups(&report)
            .iter()
            .any(|g| g.0 == "forward" && g.1 == "outage")
    );

    // Only TAMPER runs: the FORWARD and ROLLBACK waivers match nothing.
    let (out, report) = s.run_report(
        &[
            "--cases",
            "300",
            "--seed",
            "1",
            "--no-shrink",
            "--checks",
            "tamper",
        ],
        "unused",
    );
    let statuses: Vec<&str> = report["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["unused"; 6]);
    let gate = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "waivers current")
        .unwrap();
    assert_eq!(gate["status"], "yellow", "{}", stdout(&out));
}

/// A new system that segfaults on some entitlements: each crash is a finding
/// naming the entitlement, and every other case keeps its result.
#[test]
fn a_segfaulting_plugin_becomes_crash_findings_and_the_run_goes_on() {
    let faulty = Scenario::demo().without_sources().faulty_system(
        "new",
        "acme-ed1",
        &[("fault", "segv-on-serial"), ("every", "1000")],
    );
    let healthy =
        Scenario::demo()
            .without_sources()
            .faulty_system("new", "acme-ed1", &[("fault", "none")]);
    let args = [
        "--cases",
        "300",
        "--seed",
        "21",
        "--no-shrink",
        "--isolation",
        "worker",
        // Steered cases follow coverage, which crashes change.
        "--no-steer",
    ];
    let (out, crashed) = faulty.run_report(&args, "r");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let (_, clean) = healthy.run_report(&args, "r");

    let crash: Vec<&serde_json::Value> = crashed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["severity"] == "crash")
        .collect();
    assert_eq!(crash.len(), 1, "{crash:#?}");
    let g = crash[0];
    assert_eq!(
        (g["check"].as_str(), g["cause"].as_str()),
        (Some("roundtrip"), Some("generate failed: crash"))
    );
    assert!(
        g["example"]["found"].as_str().unwrap().contains("SIGSEGV"),
        "{g:#}"
    );
    assert_eq!(
        g["example"]["entitlement"]["serial"].as_u64().unwrap() % 1000,
        0
    );

    // Exactly the cases with such a serial crashed: count them independently.
    let config = keycompat::config::Config::load(&faulty.path()).unwrap();
    let vectors =
        keycompat::vectors::load_dir(&faulty.dir.path().join("vectors"), &config.catalog).unwrap();
    let generator =
        keycompat::random::Generator::new(21, config.catalog.clone(), vec![1, 2, 3, 5, 6, 7]);
    let expected = (0..300)
        .filter(|&i| generator.entitlement(i).serial.is_multiple_of(1000))
        .count()
        + vectors
            .entitlements
            .iter()
            .filter(|v| v.entitlement.serial.is_multiple_of(1000))
            .count();
    assert!(expected > 0);
    assert_eq!(g["count"].as_u64().unwrap() as usize, expected);

    // Nothing else was lost: checks that do not need the new system's keys
    // observed exactly what a healthy run observes.
    let cells = |r: &serde_json::Value| -> Vec<serde_json::Value> {
        r["tallies"]
            .as_array()
            .unwrap()
            .iter()
            // ROLLBACK's `old` cell judges old's refusals of what new issues;
            // VECTOR's `new` cell, the keys new issues for the vectors.
            .filter(|t| {
                (t["generator"] == "old" && t["check"] != "rollback")
                    || t["check"] == "parity"
                    || (t["check"] == "vector" && t["generator"] != "new")
            })
            .cloned()
            .collect()
    };
    assert_eq!(cells(&crashed), cells(&clean));
    assert_eq!(crashed["counts"]["random_cases"], 300);
}

#[test]
fn three_merged_shards_equal_the_unsharded_run() {
    let s = Scenario::demo().faulty_system("new", "acme-ed1", &[("defect", "seats-wrapped")]);
    let args = ["--cases", "300", "--seed", "8", "--no-shrink"];
    // Shards never steer toward uncovered combinations; neither may the whole.
    let (_, whole) = s.run_report(
        &["--cases", "300", "--seed", "8", "--no-shrink", "--no-steer"],
        "whole",
    );
    for k in 1..=3 {
        let (out, shard) = s.run_report(
            &[&args[..], &["--partition", &format!("{k}/3")]].concat(),
            &format!("shard{k}"),
        );
        assert!(code(&out) <= 1, "{}", stderr(&out));
        assert!(shard["counts"]["random_cases"].as_u64().unwrap() < 300);
    }
    let out = s.run(&[
        "merge",
        "shard1/report.json",
        "shard2/report.json",
        "shard3/report.json",
        "--report-dir",
        "merged",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let merged: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.dir.path().join("merged/report.json")).unwrap(),
    )
    .unwrap();
    assert!(!unwaived_groups(&whole).is_empty());
    assert_eq!(merged, whole, "merged shards differ from the unsharded run");
    for f in ["junit.xml", "report.md", "report.html"] {
        assert_eq!(
            std::fs::read(s.dir.path().join("merged").join(f)).unwrap(),
            std::fs::read(s.dir.path().join("whole").join(f)).unwrap(),
            "{f} differs"
        );
    }

    // Refused, naming what is doubled, missing or mixed: exit 2, no report.
    for (shards, says) in [
        (
            &["shard1/report.json", "shard1/report.json"][..],
            "shard 1/3 appears twice: in shard1/report.json and in shard1/report.json",
        ),
        (
            &["shard1/report.json", "shard3/report.json"][..],
            "incomplete: shard 2/3 missing",
        ),
        (
            &["shard1/report.json"][..],
            "incomplete: shards 2/3, 3/3 missing",
        ),
        (
            &["shard1/report.json", "whole/report.json"][..],
            "whole/report.json is an unsharded (or already merged) report",
        ),
    ] {
        let out = s.run(&[&["merge"][..], shards, &["--report-dir", "refused"]].concat());
        assert_eq!(code(&out), 2, "{shards:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{shards:?}: {}", stderr(&out));
        assert!(!s.dir.path().join("refused").exists(), "{shards:?}");
    }

    // --allow-partial merges what exists, and says so in every format; never GO.
    let out = s.run(&[
        "merge",
        "shard1/report.json",
        "shard3/report.json",
        "--allow-partial",
        "--report-dir",
        "partial",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let says = "partial: shards 2/3 missing";
    assert!(stdout(&out).contains(says), "{}", stdout(&out));
    for f in ["report.json", "junit.xml", "report.md", "report.html"] {
        let text = std::fs::read_to_string(s.dir.path().join("partial").join(f)).unwrap();
        // HTML escapes `/`.
        let text = text.replace("&#x2f;", "/");
        assert!(text.contains(says), "{f} does not say it is partial");
    }
    let partial: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.dir.path().join("partial/report.json")).unwrap(),
    )
    .unwrap();
    crate::common::assert_schema(&partial);
    assert_eq!(partial["verdict"], "red");
    assert_eq!(
        partial["meta"]["missing_shards"],
        serde_json::json!([{"k": 2, "n": 3}])
    );
}

/// A healthy demo's shards, merged partially, are still never GO.
#[test]
fn a_partial_merge_of_a_healthy_run_is_never_go() {
    let s = small(Scenario::demo().without_sources(), 10).set(
        "gates",
        "min_coverage_percent",
        toml::Value::Integer(0),
    );
    let (out, shard) = s.run_report(
        &["--cases", "100", "--seed", "3", "--partition", "1/2", "-q"],
        "shard1",
    );
    assert_eq!(code(&out), 0, "the shard alone is GO: {}", stderr(&out));
    assert_eq!(shard["verdict"], "yellow");
    let out = s.run(&["merge", "shard1/report.json", "--allow-partial", "-q"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "verdict: red");
}

/// Ctrl-C and SIGTERM (how CI cancels a job) stop the run and write a
/// partial report marked interrupted in every format, with no GO / NO-GO
/// verdict, and exit 130 / 143.
#[rstest::rstest]
#[case::ctrl_c(libc::SIGINT, 130)]
#[case::sigterm(libc::SIGTERM, 143)]
fn an_interrupt_writes_a_partial_report_with_no_verdict(#[case] signal: i32, #[case] exit: i32) {
    let s = Scenario::demo();
    let child = std::process::Command::new(bin())
        .args([
            "run",
            "--cases",
            "10000000",
            "--seed",
            "1",
            "--report-dir",
            "partial",
            "--today",
            "2026-11-23",
        ])
        .current_dir(s.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Past start-up (plugins, process plugins and their ENV copies open)
    // and into the random cases.
    std::thread::sleep(std::time::Duration::from_secs(10));
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, signal) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(exit),
        "{:?}: {}",
        out.status,
        stderr(&out)
    );
    let dir = s.dir.path().join("partial");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_schema(&report);
    assert_eq!(report["meta"]["interrupted"], true);
    assert_eq!(report["verdict"], "interrupted");
    let done = report["counts"]["random_cases"].as_u64().unwrap();
    assert!(done > 0 && done < 10_000_000, "{done}");
    assert!(stderr(&out).contains("interrupted"));
    assert!(
        stdout(&out).contains("INTERRUPTED: partial results, no verdict"),
        "{}",
        stdout(&out)
    );
    for f in ["report.md", "report.html", "junit.xml"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(
            text.contains("INTERRUPTED"),
            "{f} does not say it was interrupted"
        );
        assert!(
            !text.contains("NO-GO") && !text.contains(">GO<"),
            "{f} carries a verdict"
        );
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<error") && junit.contains("run complete"),
        "{junit}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// SIGTERM while a process plugin hangs (a 600 s timeout): the call in
/// flight is cut short, the run writes its partial report and exits 143
/// long before the timeout, and what the cut-short calls "answered" is not
/// judged: no crash finding.
#[test]
fn sigterm_cuts_short_a_hanging_plugin_call() {
    let s = Scenario::demo()
        .without_sources()
        .python_system(
            "old",
            "tests/plugins/process/misbehave.py",
            &[
                ("secret", "acme-legacy-demo-secret-DO-NOT-SHIP"),
                ("fault", "hang"),
            ],
        )
        .set("run", "timeout", "600s".into());
    let child = std::process::Command::new(bin())
        .args(["run", "--cases", "1000", "--report-dir", "partial"])
        .current_dir(s.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Past start-up, into the first calls of the old system, which hang.
    std::thread::sleep(std::time::Duration::from_secs(8));
    let sent = std::time::Instant::now();
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    assert!(
        took < std::time::Duration::from_secs(120),
        "the run ended {took:?} after SIGTERM: it waited on the plugin's timeout"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.dir.path().join("partial/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["verdict"], "interrupted");
    let crashes: Vec<&serde_json::Value> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["severity"] == "crash")
        .collect();
    assert!(
        crashes.is_empty(),
        "calls cut short were judged: {crashes:#?}"
    );
}

#[test]
fn a_plugin_that_crashes_on_every_call_ends_the_run_with_exit_3() {
    let s = Scenario::demo()
        .faulty_system(
            "new",
            "acme-ed1",
            &[("fault", "segv-on-serial"), ("every", "1")],
        )
        .without_vectors();
    let out = s.run(&[
        "run",
        "--cases",
        "2000",
        "--seed",
        "1",
        "--no-shrink",
        "--isolation",
        "worker",
    ]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("system \"new\" gave up") && err.contains("SIGSEGV"),
        "{err}"
    );
}
