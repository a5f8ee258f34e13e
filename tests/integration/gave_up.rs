//! A system that gives up mid-run (a plugin that fails every call until its
//! restarts run out): the run stops, but writes what it knows. Every report
//! exists, says it is incomplete, names the system, why and after how many
//! cases, keeps the findings made until then, and is NO-GO; the command
//! exits 3. No report of an earlier run is left to be read as this one's.
//! A shard that gave up makes its merge NO-GO, naming the shard.

use std::path::Path;
use std::process::Command;

use rstest::rstest;

use crate::common::{Scenario, assert_schema, bad_table, code, repo, run_in_env, stderr, stdout};

/// What an earlier run left in the report directory.
const STALE: &str = "stale: the report of an earlier run";

/// The files every report-writing command leaves.
const REPORTS: [&str; 4] = ["report.json", "junit.xml", "report.md", "report.html"];

/// The demo with its new system replaced by the fault plugin wrapping the
/// real acme-ed1, dying of SIGSEGV on every `generate` (after saying so on
/// stderr) wherever the variable `armed_by` names is set (always, for
/// `None`).
fn crashing_new_system(armed_by: Option<&str>) -> Scenario {
    let mut settings = vec![("fault", "segv-on-serial"), ("every", "1")];
    if let Some(var) = armed_by {
        settings.push(("armed_by", var));
    }
    Scenario::demo()
        .without_sources()
        .faulty_system("new", "acme-ed1", &settings)
        // Few cases are enough for a yellow demo: any red is the stop's.
        .set("gates", "min_random_cases", toml::Value::Integer(10))
        .set("gates", "min_coverage_percent", toml::Value::Integer(0))
}

/// Fills `dir` with reports an earlier run left.
fn plant_stale_reports(s: &Scenario, dir: &str) {
    let dir = s.dir.path().join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in REPORTS {
        std::fs::write(dir.join(f), STALE).unwrap();
    }
}

/// Every report of `dir`, read; none may be an earlier run's.
fn reports(s: &Scenario, dir: &str) -> Vec<(&'static str, String)> {
    REPORTS
        .iter()
        .map(|f| {
            let path = s.dir.path().join(dir).join(f);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!text.contains(STALE), "{f} is the earlier run's");
            // HTML escapes `/` and quotes.
            let text = text
                .replace("&#x2f;", "/")
                .replace("&quot;", "\"")
                .replace("&#x27;", "'");
            (*f, text)
        })
        .collect()
}

fn json(reports: &[(&str, String)]) -> serde_json::Value {
    serde_json::from_str(&reports[0].1).expect("report.json parses")
}

/// The message of the JUnit failure of test case `name`, `None` when it
/// does not fail; the file must satisfy the Jenkins/Ant schema CI servers
/// accept. Read with xmllint (as `reports::` validates JUnit): quick-junit's
/// reader cannot read `&quot;` in an attribute, which system names in
/// quotes put there.
fn junit_failure(xml: &Path, name: &str) -> Option<String> {
    let xmllint = |args: &[&str]| {
        Command::new("xmllint")
            .args(args)
            .arg(xml)
            .output()
            .expect("xmllint (apt-get install libxml2-utils)")
    };
    let xsd = repo().join("tests/data/junit-10.xsd");
    let valid = xmllint(&["--noout", "--schema", xsd.to_str().unwrap()]);
    assert!(
        valid.status.success(),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    let query = format!("string(//testcase[@name='{name}']/failure/@message)");
    let out = xmllint(&["--xpath", &query]);
    let message = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!message.is_empty()).then_some(message)
}

/// `run`, `data` and `selftest` all reach the stop: each writes its
/// reports, incomplete and NO-GO, naming the system and its last words,
/// replacing an earlier run's, and exits 3.
#[rstest]
#[case::run(&["run", "--cases", "400", "--no-steer"])]
#[case::data(&["data"])]
#[case::selftest(&["selftest", "--cases", "400", "--no-steer"])]
fn a_system_that_gives_up_leaves_incomplete_no_go_reports_and_exit_3(#[case] command: &[&str]) {
    // Without vectors: the new system's keys for the entitlement vectors
    // would kill it in the vector phase, before the cases this test counts.
    let mut s = crashing_new_system(None).without_vectors();
    if command[0] == "data" {
        // The demo's exports: orders go through new's generator too.
        s = Scenario::demo()
            .faulty_system(
                "new",
                "acme-ed1",
                &[("fault", "segv-on-serial"), ("every", "1")],
            )
            .set("gates", "min_coverage_percent", toml::Value::Integer(0));
    }
    plant_stale_reports(&s, "r");
    let args = [
        command,
        &[
            "--seed",
            "9",
            "--today",
            "2026-11-23",
            "--report-dir",
            "r",
            "--isolation",
            "worker",
        ],
    ]
    .concat();
    let out = run_in_env(s.dir.path(), &args, b"", &[]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: system \"new\" gave up after") && err.contains("incomplete"),
        "{err}"
    );
    // Its plugin ran in workers already: no hint to run it in one.
    assert!(!err.contains("--isolation worker"), "{err}");

    let reports = reports(&s, "r");
    let report = json(&reports);
    assert_schema(&report);
    assert_eq!(report["verdict"], "red");
    let stops = report["meta"]["gave_up"].as_array().expect("meta.gave_up");
    let stop = stops
        .iter()
        .find(|g| g["system"] == "new")
        .unwrap_or_else(|| panic!("new is not named: {stops:#?}"));
    assert!(stop.get("shard").is_none(), "{stop:#}");
    let message = stop["message"].as_str().unwrap();
    // The host's words, with the plugin's own last words on stderr.
    assert!(
        message.contains("crashed") && message.contains("in a row"),
        "{message}"
    );
    assert!(
        message.contains("kc-faulty: segv-on-serial: serial"),
        "the plugin's stderr is not quoted: {message}"
    );
    let c = &report["counts"];
    let judged = ["vector_cases", "random_cases", "order_cases"]
        .iter()
        .map(|k| c[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(stop["after_cases"].as_u64(), Some(judged), "{c:#}");
    assert!(judged > 0, "the stop came after the first batch: {c:#}");
    if command[0] != "data" {
        assert!(
            c["random_cases"].as_u64().unwrap() < 400,
            "the run did not stop: {c:#}"
        );
    }
    // The crash findings made until the stop are kept.
    assert!(
        report["groups"].as_array().unwrap().iter().any(|g| {
            g["severity"] == "crash" && g["generator"] == "new" && g["waived_by"].is_null()
        }),
        "{:#}",
        report["groups"]
    );
    let gate = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "no system gave up")
        .expect("the gate on the stop");
    assert_eq!(gate["status"], "red");
    // A selftest that stopped in its unchanged run has no score to show.
    assert!(report.get("detection").is_none());

    let headline = format!(
        "system \"new\" gave up after {}",
        if judged == 1 {
            "1 case".to_string()
        } else {
            format!("{} cases", fmt_count(judged))
        }
    );
    for (f, text) in &reports[1..] {
        assert!(text.contains(&headline), "{f} does not say {headline:?}");
        assert!(
            text.contains("kc-faulty: segv-on-serial"),
            "{f} does not quote the plugin"
        );
    }
    for (f, text) in [&reports[2], &reports[3]] {
        assert!(text.contains("NO-GO (incomplete)"), "{f}");
        assert!(!text.contains("GO with warnings"), "{f}");
    }
    let failure = junit_failure(&s.dir.path().join("r/junit.xml"), "no system gave up")
        .expect("a failing JUnit test case for the stop");
    assert!(failure.contains(&headline), "{failure}");
    assert!(
        stdout(&out).contains("NO-GO (incomplete)"),
        "{}",
        stdout(&out)
    );
}

/// Findings the run judged before the stop are all in the report: here a
/// shipped release's validator gives up (it aborts on every key), while the
/// new system, which answers but has a planted expiry bug, is caught in the
/// same batches.
#[test]
fn findings_judged_before_the_stop_are_kept() {
    let s = Scenario::demo()
        .without_sources()
        .faulty_system("new", "acme-ed1", &[("defect", "expiry-off-by-one")])
        .faulty_system(
            "viewer-py",
            "acme-lk1",
            &[("fault", "abort-on-key"), ("every", "1")],
        );
    let (out, report) = s.run_report(
        &[
            "--cases",
            "2000",
            "--seed",
            "4",
            "--no-shrink",
            "--isolation",
            "worker",
        ],
        "r",
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_schema(&report);
    assert_eq!(report["verdict"], "red");
    let stop = report["meta"]["gave_up"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["system"] == "viewer-py")
        .unwrap_or_else(|| panic!("{:#}", report["meta"]["gave_up"]))
        .clone();
    assert!(
        stop["message"]
            .as_str()
            .unwrap()
            .contains("kc-faulty: abort-on-key"),
        "{stop:#}"
    );
    let random = report["counts"]["random_cases"].as_u64().unwrap();
    assert!(random < 2000, "the run did not stop: {random}");
    let groups = report["groups"].as_array().unwrap();
    // The planted bug, found before the stop and kept: an unwaived outage
    // that is not a crash, in the new system.
    assert!(
        groups.iter().any(|g| {
            g["severity"] == "outage"
                && g["waived_by"].is_null()
                && (g["validator"] == "new" || g["generator"] == "new")
                && g["cause"].as_str().unwrap_or("").contains("expired")
        }),
        "{groups:#?}"
    );
    // And the crashes of the release's validator, under the release or
    // the system (one failed call is one finding, whichever check read it).
    assert!(
        groups.iter().any(|g| g["severity"] == "crash"
            && (g["validator"] == "Acme Viewer 3.1" || g["validator"] == "viewer-py")),
        "{groups:#?}"
    );
}

/// A run that fails before it writes anything (a plugin that cannot be
/// loaded) leaves no report of an earlier run behind to be read as its own.
#[test]
fn a_run_that_writes_no_report_leaves_no_earlier_one_behind() {
    let mut system = toml::Table::new();
    system.insert(
        "plugin".into(),
        bad_table("bad_magic").to_string_lossy().into_owned().into(),
    );
    let s = Scenario::demo()
        .without_sources()
        .set_path(&["systems", "new"], system.into());
    plant_stale_reports(&s, "r");
    let out = s.run(&["run", "--cases", "10", "--report-dir", "r", "-q"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    for f in REPORTS {
        assert!(
            !s.dir.path().join("r").join(f).exists(),
            "{f} of the earlier run is still there"
        );
    }
}

/// A sharded run whose new system gives up on one machine only: the
/// complete shard alone is GO, the incomplete one exits 3 with its report,
/// and their merge is NO-GO, exits 3, and names the shard and the system.
#[test]
fn a_merge_with_a_shard_that_gave_up_is_no_go_and_names_the_shard() {
    const ARMED: &str = "KEYCOMPAT_TEST_GIVE_UP";
    let s = crashing_new_system(Some(ARMED));
    let shard = |k: u32, env: &[(&str, &str)]| {
        let dir = format!("shard{k}");
        let args = [
            "run",
            "--cases",
            "100",
            "--seed",
            "3",
            "--today",
            "2026-11-23",
            "--partition",
            &format!("{k}/2"),
            "--isolation",
            "worker",
            "--no-shrink",
            "--report-dir",
            &dir,
            "-q",
        ];
        let out = run_in_env(s.dir.path(), &args, b"", env);
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(s.dir.path().join(&dir).join("report.json"))
                .unwrap_or_else(|e| panic!("shard {k}: {e}: {}", stderr(&out))),
        )
        .unwrap();
        (out, report)
    };
    let (out, one) = shard(1, &[]);
    assert_eq!(code(&out), 0, "shard 1 alone is GO: {}", stderr(&out));
    assert!(one["meta"].get("gave_up").is_none());
    let (out, two) = shard(2, &[(ARMED, "1")]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(
        two["meta"]["gave_up"][0]["shard"],
        serde_json::json!({"k": 2, "n": 2})
    );

    let out = s.run(&[
        "merge",
        "shard1/report.json",
        "shard2/report.json",
        "--report-dir",
        "merged",
    ]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let says = "system \"new\" gave up in shard 2/2 after";
    assert!(stderr(&out).contains(says), "{}", stderr(&out));
    let reports = reports(&s, "merged");
    let merged = json(&reports);
    assert_schema(&merged);
    assert_eq!(merged["verdict"], "red");
    let stops = merged["meta"]["gave_up"].as_array().unwrap();
    assert_eq!(stops.len(), 1, "{stops:#?}");
    assert_eq!(stops[0]["system"], "new");
    assert_eq!(stops[0]["shard"], serde_json::json!({"k": 2, "n": 2}));
    assert_eq!(
        stops[0]["after_cases"],
        two["meta"]["gave_up"][0]["after_cases"]
    );
    // JSON names it in fields (above), and in its gate (quotes escaped).
    for (f, text) in &reports[1..] {
        assert!(text.contains(says), "{f} does not name the shard");
    }
    let failure = junit_failure(&s.dir.path().join("merged/junit.xml"), "no system gave up");
    assert!(failure.is_some_and(|m| m.contains(says)));
    // Merged with a complete second shard, the same run is GO: the NO-GO
    // above is the stop's.
    let (out, _) = shard(2, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = s.run(&[
        "merge",
        "shard1/report.json",
        "shard2/report.json",
        "--report-dir",
        "merged",
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!reports_of(&s, "merged").contains("gave up"));
}

fn reports_of(s: &Scenario, dir: &str) -> String {
    std::fs::read_to_string(s.dir.path().join(dir).join("report.json")).unwrap()
}

/// `n` with thousands separators, as reports print it.
fn fmt_count(n: u64) -> String {
    keycompat::words::count(n)
}
