//! `keycompat run` end to end: the demo's verdict, determinism across thread
//! counts, and the gates' exit codes.

mod common;

use common::*;

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
    assert!(
        stdout(&out).contains("verdict: GO with warnings"),
        "{}",
        stdout(&out)
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
