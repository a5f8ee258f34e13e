//! `--baseline`: what changed since a previous run, as a pull request's CI
//! job shows it, in every format; and the gate lines' words (thresholds,
//! counts) that the comparison and the reports share.

use rstest::rstest;
use serde_json::Value;

use crate::common::*;

/// Cases per run: enough for the demo's waived groups, quick.
const CASES: &str = "300";

/// The demo, judged green on few random cases.
fn demo() -> Scenario {
    Scenario::demo().set_path(&["gates", "min_random_cases"], 100.into())
}

fn run_args(seed: &str) -> Vec<&str> {
    vec![
        "--cases",
        CASES,
        "--seed",
        seed,
        "--no-shrink",
        "--no-steer",
    ]
}

/// System `name` of the demo config, its plugin path resolved.
fn demo_system(name: &str) -> toml::Value {
    let demo: toml::Table = std::fs::read_to_string(repo().join("keycompat.toml"))
        .expect("demo config")
        .parse()
        .expect("demo config parses");
    let mut system = demo["systems"][name].as_table().expect("a system").clone();
    if let Some(plugin) = system.get("plugin").and_then(|p| p.as_str()) {
        let plugin = plugin.replace("${exe_dir}", &profile_dir().to_string_lossy());
        system.insert("plugin".into(), plugin.into());
    }
    toml::Value::Table(system)
}

/// The `changes.groups` entry of group `id`.
fn change<'r>(report: &'r Value, id: &str) -> Option<&'r Value> {
    report["changes"]["groups"]
        .as_array()
        .expect("changes.groups")
        .iter()
        .find(|g| g["id"] == id)
}

fn read(s: &Scenario, file: &str) -> String {
    std::fs::read_to_string(s.dir.path().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A defect planted in the new system after the baseline shows as a new
/// group in every format; the gate on it is yellow by default and red (and
/// named in the verdict) when `[gates] new_since_baseline = "red"`; the fix
/// shows as fixed.
#[rstest]
#[case::yellow_by_default(None, "yellow")]
#[case::red_when_configured(Some("red"), "red")]
fn a_defect_since_the_baseline_is_new_and_its_fix_is_fixed(
    #[case] level: Option<&str>,
    #[case] colour: &str,
) {
    let mut s = demo();
    if let Some(level) = level {
        s = s.set_path(&["gates", "new_since_baseline"], level.into());
    }
    let (out, base) = s.run_report(&run_args("11"), "base");
    assert_eq!(code(&out), 0, "baseline: {}", stderr(&out));
    assert!(base.get("changes").is_none(), "no baseline, no changes");

    let s = s.faulty_system("new", "acme-ed1", &[("defect", "seats-wrapped")]);
    let mut args = run_args("11");
    args.extend(["--baseline", "base/report.json"]);
    let (out, now) = s.run_report(&args, "now");
    assert_schema(&now);
    // The drift fails the random cases either way.
    assert_eq!(code(&out), 1, "{}\n{}", stdout(&out), stderr(&out));

    let new: Vec<&Value> = now["changes"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["change"] == "new")
        .collect();
    let drift = new
        .iter()
        .find(|g| g["severity"] == "drift" && g["cause"] == "drift: seats")
        .unwrap_or_else(|| panic!("no new seats drift in {:#}", now["changes"]));
    assert_eq!(drift["was"]["findings"], 0);
    assert!(drift["now"]["findings"].as_u64() > Some(0), "{drift:#}");
    let id = drift["id"].as_str().expect("id");
    let g = gate(&now, "nothing new since baseline");
    assert_eq!(g["status"], colour, "{g:#}");
    assert!(
        g["measured"].as_str().is_some_and(|m| m.contains(id)),
        "the gate names the new group: {g:#}"
    );
    assert!(
        g["criterion"]
            .as_str()
            .is_some_and(|c| c.contains("base/report.json")),
        "{g:#}"
    );
    // Changed colour: the drift gate went from green to yellow.
    let gates = now["changes"]["gates"].as_array().expect("gate changes");
    assert!(
        gates
            .iter()
            .any(|c| c["name"] == "no drift" && c["was"] == "green" && c["now"] == "yellow"),
        "{gates:#?}"
    );

    // Every format says so.
    let terminal = stdout(&out);
    assert!(
        terminal.contains("since baseline base/report.json") && terminal.contains(id),
        "{terminal}"
    );
    let verdict = terminal.lines().last().unwrap_or_default();
    assert_eq!(
        verdict.contains("nothing new since baseline"),
        colour == "red",
        "{verdict}"
    );
    assert!(
        terminal.contains("gate no drift: green -> yellow"),
        "{terminal}"
    );
    let md = read(&s, "now/report.md");
    let section = md
        .split("## Changes since baseline")
        .nth(1)
        .unwrap_or_else(|| panic!("no changes section in the Markdown:\n{md}"));
    let section = section.split("\n## ").next().unwrap_or_default();
    assert!(
        section.contains(&format!("| **new** | `{id}` |")),
        "{section}"
    );
    assert!(
        section.contains("| no drift | green | yellow |"),
        "{section}"
    );
    let html = read(&s, "now/report.html");
    let html_section = html
        .split("<section id=\"changes\">")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no changes section in the HTML"));
    assert!(html_section.contains(id), "{html_section}");
    let junit = read(&s, "now/junit.xml");
    assert!(
        junit.contains("name=\"since_baseline\"")
            && junit.contains("testcase name=\"nothing new since baseline\""),
        "{junit}"
    );

    // The fix: the group is fixed, nothing is new, the gate is green.
    let s = s.set_path(&["systems", "new"], demo_system("new"));
    let mut args = run_args("11");
    args.extend(["--baseline", "now/report.json"]);
    let (out, fixed) = s.run_report(&args, "fixed");
    assert_schema(&fixed);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let c = change(&fixed, id).unwrap_or_else(|| panic!("{:#}", fixed["changes"]));
    assert_eq!(c["change"], "fixed", "{c:#}");
    assert_eq!(c["now"]["findings"], 0);
    assert_eq!(
        gate(&fixed, "nothing new since baseline")["status"],
        "green"
    );
}

/// The same config, seed and cases compare exactly: a waived group with
/// half its findings in the baseline grew (a waived group that doubles is
/// news), one that was unwaived there is now waived, a group only the
/// baseline has is fixed, and a gate whose colour differs is listed.
#[test]
fn the_same_run_compares_exactly_and_waived_groups_count() {
    let s = demo();
    let (out, mut base) = s.run_report(&run_args("12"), "base");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let groups = base["groups"].as_array_mut().expect("groups");
    let waived: Vec<usize> = (0..groups.len())
        .filter(|&i| groups[i].get("waived_by").is_some() && groups[i]["count"].as_u64() > Some(3))
        .collect();
    assert!(waived.len() >= 2, "the demo has waived groups: {groups:#?}");
    let (halved, unwaived) = (waived[0], waived[1]);
    let count = groups[halved]["count"].as_u64().expect("count");
    groups[halved]["count"] = (count / 2).into();
    groups[unwaived]
        .as_object_mut()
        .expect("group")
        .remove("waived_by");
    let halved_id = groups[halved]["id"].as_str().expect("id").to_string();
    let unwaived_id = groups[unwaived]["id"].as_str().expect("id").to_string();
    let mut gone = groups[halved].clone();
    gone["cause"] = "a cause fixed since".into();
    gone["id"] = "g-00000000ff".into();
    groups.push(gone);
    base["gates"][0]["status"] = "red".into();
    let first_gate = base["gates"][0]["name"].as_str().expect("name").to_string();
    std::fs::write(
        s.dir.path().join("base/report.json"),
        serde_json::to_string_pretty(&base).expect("json"),
    )
    .expect("write baseline");

    let mut args = run_args("12");
    args.extend(["--baseline", "base/report.json"]);
    let (out, now) = s.run_report(&args, "now");
    assert_schema(&now);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let changes = &now["changes"];
    assert_eq!(changes["exact"], true, "{changes:#}");
    let grew = change(&now, &halved_id).unwrap_or_else(|| panic!("{changes:#}"));
    assert_eq!(grew["change"], "grew");
    assert_eq!(grew["was"]["findings"], count / 2);
    assert_eq!(grew["now"]["findings"], count);
    assert_eq!(grew["now"]["waived"], count);
    assert_eq!(
        change(&now, &unwaived_id).expect("waived")["change"],
        "waived"
    );
    assert_eq!(
        change(&now, "g-00000000ff").expect("fixed")["change"],
        "fixed"
    );
    let groups_now = now["groups"].as_array().expect("groups").len() as u64;
    assert_eq!(
        changes["unchanged"].as_u64(),
        Some(groups_now - 2),
        "every other group is unchanged: {changes:#}"
    );
    assert_eq!(
        changes["gates"],
        serde_json::json!([{ "name": first_gate, "was": "red", "now": "green" }])
    );
    assert!(
        stdout(&out).contains("1 grew, 1 now waived, 1 fixed"),
        "{}",
        stdout(&out)
    );
}

/// Shards merged with `--baseline` are compared as the whole run: against
/// the unsharded run of the same seed nothing changed, exactly.
#[test]
fn a_merge_compares_the_whole_run() {
    let s = demo();
    let (out, _) = s.run_report(&run_args("13"), "whole");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for k in ["1/2", "2/2"] {
        let mut args = run_args("13");
        args.extend(["--partition", k]);
        let (_, shard) = s.run_report(&args, &format!("shard{}", &k[..1]));
        assert!(shard.get("changes").is_none());
    }
    let out = s.run(&[
        "merge",
        "shard1/report.json",
        "shard2/report.json",
        "--baseline",
        "whole/report.json",
        "--report-dir",
        "merged",
    ]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let merged: Value = serde_json::from_str(&read(&s, "merged/report.json")).expect("json");
    assert_schema(&merged);
    assert_eq!(merged["changes"]["exact"], true, "{:#}", merged["changes"]);
    assert_eq!(merged["changes"]["groups"], serde_json::json!([]));
    assert!(
        stdout(&out).contains("no finding group changed"),
        "{}",
        stdout(&out)
    );
}

/// A baseline that cannot be read is a usage error before any work, naming
/// the file; no report is written.
#[rstest]
#[case::missing(None, "No such file")]
#[case::not_json(Some("{ not json"), "not a keycompat JSON report")]
#[case::another_format(Some("{\"schema\": \"keycompat-report/1\"}"), "keycompat-report/1")]
fn a_bad_baseline_fails_before_the_run(#[case] text: Option<&str>, #[case] why: &str) {
    let s = demo();
    if let Some(text) = text {
        std::fs::write(s.dir.path().join("old.json"), text).expect("write");
    }
    for command in [
        vec!["run", "--baseline", "old.json", "--report-dir", "out"],
        vec![
            "merge",
            "old.json",
            "--baseline",
            "old.json",
            "--report-dir",
            "out",
        ],
    ] {
        let out = s.run(&command);
        assert_eq!(code(&out), 2, "{command:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("old.json") && err.contains(why),
            "{command:?}: {err}"
        );
        assert!(
            !s.dir.path().join("out").exists(),
            "{command:?} wrote reports"
        );
    }
}

/// Gate lines say what was required beside what was measured, and count in
/// the same words and numbers as the summary lines of the terminal and the
/// Markdown.
#[test]
fn gate_lines_show_threshold_and_measure_in_shared_words() {
    let s = demo();
    let (out, report) = s.run_report(&run_args("14"), "r");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let random = report["counts"]["random_cases"]
        .as_u64()
        .expect("random cases");
    let checks = report["counts"]["vector_checks"]
        .as_u64()
        .expect("vector checks");
    let cases = report["counts"]["vector_cases"]
        .as_u64()
        .expect("vector cases");
    let grouped = keycompat::words::count;
    let measured = |name: &str| {
        gate(&report, name)["measured"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        measured("random cases"),
        format!("{random} of the 100 required, {random} clean, 0 with unwaived findings")
    );
    assert_eq!(
        measured("vectors"),
        format!(
            "0 of {} failed ({} vector checks, {cases} vector cases)",
            grouped(checks + cases),
            grouped(checks)
        )
    );
    assert!(measured("scenario coverage").ends_with("(80 % required)"));
    let terminal = stdout(&out);
    let cases_line = format!(
        "{random} random cases (0 with unwaived findings), {cases} vector cases, {} vector checks",
        grouped(checks)
    );
    assert!(terminal.contains(&cases_line), "{cases_line}\n{terminal}");
    let md = read(&s, "r/report.md");
    let md_line = format!(
        "{random} random cases (0 with unwaived findings), {cases} vector cases, {} vector checks",
        grouped(checks)
    );
    assert!(md.contains(&md_line), "{md_line}\n{md}");
    let waived = report["counts"]["waived_findings"]
        .as_u64()
        .expect("waived");
    assert!(
        measured("no outage or leak").contains(&format!("{} findings waived", grouped(waived))),
        "{}",
        measured("no outage or leak")
    );
}

/// A group only partly waived in the baseline (one id, a waived and an
/// unwaived part) whose waiver expired since: the same findings, all
/// unwaived now. Its total did not move, but it is "no longer waived", and
/// the gate on the comparison is not green.
#[test]
fn a_partly_waived_group_losing_its_waiver_is_no_longer_waived() {
    let s = demo();
    let (out, mut base) = s.run_report(&run_args("12"), "base");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let groups = base["groups"].as_array_mut().expect("groups");
    let i = groups
        .iter()
        .position(|g| g.get("waived_by").is_some() && g["count"].as_u64() > Some(30))
        .unwrap_or_else(|| panic!("the demo has a waived group of 30 or more: {groups:#?}"));
    let count = groups[i]["count"].as_u64().expect("count");
    let id = groups[i]["id"].as_str().expect("id").to_string();
    // Split it: all but one finding waived, one unwaived, one id.
    groups[i]["count"] = (count - 1).into();
    let mut part = groups[i].clone();
    let fields = part.as_object_mut().expect("group");
    fields.remove("waived_by");
    fields.remove("waiver_index");
    part["count"] = 1.into();
    groups.push(part);
    std::fs::write(
        s.dir.path().join("base/report.json"),
        serde_json::to_string_pretty(&base).expect("json"),
    )
    .expect("write baseline");

    // The waivers expire on 2027-06-30.
    let mut args = vec!["run", "--report-dir", "now", "--today", "2027-07-01"];
    args.extend(run_args("12"));
    args.extend(["--baseline", "base/report.json"]);
    s.run(&args);
    let now: Value = serde_json::from_str(&read(&s, "now/report.json")).expect("report.json");
    let c = change(&now, &id).unwrap_or_else(|| panic!("{:#}", now["changes"]));
    assert_eq!(c["change"], "unwaived", "{c:#}");
    assert_eq!(c["was"]["waived"], count - 1, "{c:#}");
    assert_eq!(c["now"]["waived"], 0, "{c:#}");
    let gate = gate(&now, "nothing new since baseline");
    assert_eq!(gate["status"], "yellow", "{gate:#}");
}
