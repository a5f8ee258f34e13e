//! Bad input everywhere: each gets a clear message naming what and where, the
//! documented exit code, and never a panic.

use crate::common::*;
use rstest::rstest;

const BASE: &str = "[systems.old]\nbuiltin = \"acme-lk1\"\nsettings = { secret = \"s\" }\n[systems.new]\nbuiltin = \"acme-lk1\"\nsettings = { secret = \"s\" }\n";

/// Runs keycompat in a temp dir holding `config` as keycompat.toml.
fn with_config(config: &str, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keycompat.toml"), config).unwrap();
    run_in(dir.path(), args, stdin)
}

fn check(out: &std::process::Output, exit: i32, needle: &str) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(code(out), exit, "stderr: {err}\nstdout: {}", stdout(out));
    let all = format!("{err}{}", stdout(out));
    assert!(all.contains(needle), "expected {needle:?} in:\n{all}");
}

#[rstest]
#[case::malformed_toml("[systems.old\n", "line 1")]
#[case::wrong_type("[run]\ncases = \"many\"\n", "line 2")]
#[case::unknown_section("[sistems.old]\nbuiltin = \"acme-lk1\"\n", "unknown field `sistems`")]
#[case::plugin_and_builtin(
    "[systems.old]\nbuiltin = \"acme-lk1\"\nplugin = \"x.so\"\n",
    "`systems.old`: set only one of `plugin`, `builtin` and `command`"
)]
#[case::neither_plugin_nor_builtin("[systems.old]\ndescription = \"?\"\n", "`systems.old`")]
#[case::unknown_release_validator(&format!("{BASE}[[releases]]\nname = \"R\"\nproduct = \"acme-cad\"\nversion = \"5.4\"\nvalidator = \"newer\"\n"), "releases[0].validator")]
#[case::unknown_release_product(&format!("{BASE}[[releases]]\nname = \"R\"\nproduct = \"acme-paint\"\nversion = \"5.4\"\nvalidator = \"old\"\n"), "releases[0].product")]
#[case::bad_release_version(&format!("{BASE}[[releases]]\nname = \"R\"\nproduct = \"acme-cad\"\nversion = \"5\"\nvalidator = \"old\"\n"), "not a version")]
#[case::unknown_format_generator(&format!("{BASE}[formats.acme-lk1]\ngenerators = [\"olden\"]\n"), "formats.acme-lk1.generators[0]")]
#[case::nul_in_command(
    "[systems.old]\ncommand = [\"python3\", \"a\\u0000b.py\"]\n",
    "`systems.old.command[1]`: contains a NUL byte"
)]
#[case::bad_env_name(
    "[systems.old]\ncommand = [\"python3\"]\nenv = { \"A=B\" = \"1\" }\n",
    "`systems.old.env`: \"A=B\" is not a variable name"
)]
#[case::nul_in_env_value(
    "[systems.old]\ncommand = [\"python3\"]\nenv = { A = \"x\\u0000y\" }\n",
    "`systems.old.env.A`: the value contains NUL"
)]
#[case::empty_plugin_path(
    "[systems.old]\nplugin = \"\"\n",
    "`systems.old.plugin`: the path is empty"
)]
#[case::env_checking_no_system(&format!("{BASE}[env]\nsystems = []\n"), "`env.systems`: an empty list checks no system")]
#[case::format_generator_twice(&format!("{BASE}[formats.acme-lk1]\ngenerators = [\"old\", \"new\", \"old\"]\n"), "formats.acme-lk1.generators[2]`: \"old\" is listed twice (also generators[0])")]
#[case::waiver_without_owner(&format!("{BASE}[[waivers]]\ncheck = \"forward\"\nreason = \"r\"\nowner = \"\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "waivers[0].owner")]
#[case::waiver_unknown_check(&format!("{BASE}[[waivers]]\ncheck = \"sideways\"\nreason = \"r\"\nowner = \"o\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "sideways")]
#[case::waiver_unknown_validator(&format!("{BASE}[[waivers]]\ncheck = \"forward\"\nvalidator = \"Acme CAD 5.5\"\nreason = \"r\"\nowner = \"o\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "waivers[0].validator")]
#[case::waiver_unknown_generator(&format!("{BASE}[[waivers]]\ncheck = \"forward\"\ngenerator = \"nwe\"\nreason = \"r\"\nowner = \"o\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "waivers[0].generator")]
#[case::waiver_unknown_feature(&format!("{BASE}[[waivers]]\ncheck = \"forward\"\nfeature = \"ai-asist\"\nreason = \"r\"\nowner = \"o\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "waivers[0].feature")]
#[case::bad_timeout(&format!("{BASE}[run]\ntimeout = \"5 parsecs\"\n"), "not a duration")]
#[case::bad_memory_limit(&format!("{BASE}[run]\nmemory_limit = \"lots\"\n"), "\"lots\" is not a memory size like \"512MiB\", \"2GiB\" or \"none\"")]
#[case::tiny_memory_limit(&format!("{BASE}[run]\nmemory_limit = \"1MiB\"\n"), "too small a memory limit")]
#[case::memory_limit_number(&format!("{BASE}[run]\nmemory_limit = 2048\n"), "line 8")]
#[case::legacy_bit_outside_the_bitmap(&format!("{BASE}[catalog]\neditions = [\"standard\"]\n[[catalog.products]]\nslug = \"acme-cad\"\nname = \"CAD\"\nlegacy_id = 17\n[[catalog.features]]\nslug = \"x\"\nlegacy_bit = 16\n"), "legacy_bit 16, outside the 16-bit legacy feature bitmap")]
#[case::green_threshold(&format!("{BASE}[[gates.thresholds]]\nname = \"x\"\nmax = 0\nlevel = \"green\"\n"), "gates.thresholds[0].level")]
#[case::unknown_run_system(&format!("{BASE}[run]\nold = \"legacy\"\n"), "`run.old`")]
#[case::old_is_new(&format!("{BASE}[run]\nold = \"new\"\nvectors = false\n"), "compared with itself")]
fn config_errors_exit_2(#[case] config: &str, #[case] needle: &str) {
    check(
        &with_config(config, &["run", "--cases", "1"], b""),
        2,
        needle,
    );
}

#[rstest]
#[case::unknown_builtin(
    "[systems.old]\nbuiltin = \"acme-xx\"\n[systems.new]\nbuiltin = \"acme-lk1\"\nsettings = { secret = \"s\" }\n",
    2,
    "unknown builtin `acme-xx`"
)]
#[case::missing_setting(
    "[systems.old]\nbuiltin = \"acme-lk1\"\n[systems.new]\nbuiltin = \"acme-lk1\"\nsettings = { secret = \"s\" }\n",
    2,
    "setting `secret`"
)]
#[case::missing_plugin_file(
    "[systems.old]\nplugin = \"no/such/lib.so\"\n[systems.new]\nbuiltin = \"acme-lk1\"\nsettings = { secret = \"s\" }\n",
    3,
    "cannot read the file"
)]
fn systems_that_cannot_open(#[case] config: &str, #[case] exit: i32, #[case] needle: &str) {
    let config = format!("{config}[run]\nvectors = false\n");
    check(
        &with_config(&config, &["run", "--cases", "1"], b""),
        exit,
        needle,
    );
}

/// A vectors directory that is not there is an error naming it and the
/// key, before anything runs (a typo must not silently drop every
/// vector); `vectors = false` says "none" and runs.
#[rstest]
#[case::default_missing("", "the vectors directory <dir>/vectors does not exist")]
#[case::named_missing(
    "[run]\nvectors = \"vectrs\"\n",
    "the vectors directory <dir>/vectrs does not exist"
)]
#[case::a_file(
    "[run]\nvectors = \"keycompat.toml\"\n",
    "<dir>/keycompat.toml is not a directory"
)]
#[case::empty(
    "[run]\nvectors = \"\"\n",
    "write `vectors = false` to run without shared vectors"
)]
#[case::true_("[run]\nvectors = true\n", "`true` names no directory")]
fn a_vectors_directory_that_is_not_there_is_a_config_error(
    #[case] run: &str,
    #[case] needle: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keycompat.toml"), format!("{BASE}{run}")).unwrap();
    let needle = needle.replace("<dir>", &dir.path().display().to_string());
    for args in [&["run", "--cases", "1"][..], &["vectors", "check"]] {
        let out = run_in(dir.path(), args, b"");
        check(&out, 2, &needle);
        if needle.contains("exist") {
            check(&out, 2, "`run.vectors`");
        }
    }
}

#[test]
fn vectors_false_runs_without_shared_vectors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keycompat.toml"),
        format!("{BASE}[run]\nvectors = false\n"),
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &["run", "--cases", "20", "--seed", "1", "--report-dir", "r"],
        b"",
    );
    let err = stderr(&out);
    assert!(code(&out) <= 1, "{err}");
    assert!(
        err.contains("vectors: none (`[run] vectors = false`)"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/report.json")).unwrap())
            .unwrap();
    for count in ["vector_checks", "vector_cases"] {
        assert_eq!(report["counts"][count], 0, "{:#}", report["counts"]);
    }
    // Nothing to lint: a usage error that says how to name a directory.
    check(
        &run_in(dir.path(), &["vectors", "check"], b""),
        2,
        "hint: name a directory: keycompat vectors check DIR",
    );
}

#[rstest]
#[case::bad_partition(&["run", "--partition", "4/3"], "not a partition")]
#[case::unknown_check(&["run", "--checks", "forward,banana"], "unknown check \"banana\"")]
#[case::bad_isolation(&["run", "--isolation", "maybe"], "expected `worker` or `none`")]
#[case::bad_version(&["validate", "-s", "old", "--key", "K", "--product", "acme-cad", "--version", "7", "--today", "2026-01-01"], "not a version")]
#[case::unreal_date(&["validate", "-s", "old", "--key", "K", "--product", "acme-cad", "--version", "7.0", "--today", "2026-02-30"], "not a real calendar date")]
#[case::unknown_system(&["generate", "-s", "olde"], "no system named \"olde\"")]
#[case::unknown_builtin(&["generate", "-s", "builtin:acme-xx"], "unknown builtin `acme-xx`")]
#[case::bad_setting(&["generate", "-s", "old", "--setting", "secret"], "is not KEY=VALUE")]
#[case::missing_config(&["--config", "missing.toml", "run"], "missing.toml: cannot read")]
#[case::replay_without_case(&["replay"], "name a case")]
#[case::merge_missing_file(&["merge", "nothing.json"], "nothing.json")]
#[case::unknown_subcommand(&["frobnicate"], "unrecognized subcommand")]
#[case::zero_threads(&["run", "-j", "0"], "expected a number of threads from 1 to 1024")]
#[case::report_dir_checked_before_the_run(&["run", "--report-dir", "/dev/null/reports"], "creating the report directory /dev/null/reports")]
#[case::unwritable_report_dir_checked_before_the_run(&["run", "--cases", "100000000", "--report-dir", "/proc/self/fdinfo"], "the report directory /proc/self/fdinfo cannot be written")]
fn argument_errors_exit_2(#[case] args: &[&str], #[case] needle: &str) {
    check(&run(args, b""), 2, needle);
}

#[rstest]
#[case::not_json("hello\n", "<stdin>:1:")]
#[case::unknown_field("{\"prodct\":\"acme-cad\"}\n", "unknown field `prodct`")]
#[case::max_major_out_of_range(&WORKED_EXAMPLE.replace("\"max_major\":5", "\"max_major\":256"), "<stdin>:1:")]
#[case::impossible_date(&WORKED_EXAMPLE.replace("2027-12-31", "2027-13-01"), "not a real calendar date")]
#[case::nfd_name(&WORKED_EXAMPLE.replace("\"customer\":null", "\"customer\":{\"id\":\"C-1\",\"name\":\"Zoe\u{0308}\"}"), "customer.name: is not in Unicode NFC")]
#[case::seats_zero(&WORKED_EXAMPLE.replace("\"seats\":25", "\"seats\":0"), "seats: 0 is not a seat count")]
#[case::wrong_type(&WORKED_EXAMPLE.replace("\"seats\":25", "\"seats\":\"25\""), "<stdin>:1:")]
fn bad_entitlements_exit_2_and_name_the_line(#[case] input: &str, #[case] needle: &str) {
    check(
        &run(&["generate", "-s", "old-rust"], input.as_bytes()),
        2,
        needle,
    );
}

#[rstest]
#[case::empty(b"".to_vec())]
#[case::one_mebibyte(vec![b'A'; 1 << 20])]
#[case::nul_and_invalid_utf8(b"24A0M\0-02T1K-\xff\xfe-7Y9KS".to_vec())]
#[case::only_whitespace(b" \t\r\n".to_vec())]
fn garbage_keys_are_malformed_in_every_system(#[case] key: Vec<u8>) {
    for system in ["old", "new", "old-rust", "builtin:acme-ed1"] {
        let out = run(
            &[
                "validate",
                "-s",
                system,
                "--key",
                "-",
                "--product",
                "acme-cad",
                "--version",
                "7.0",
                "--today",
                "2026-01-01",
                "--json",
            ],
            &key,
        );
        check(&out, 1, "\"verdict\":\"malformed\"");
    }
}

#[test]
fn a_broken_vector_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("vectors")).unwrap();
    std::fs::write(dir.path().join("vectors/bad.toml"), "[[key]]\ncomment = \"x\"\nresult = \"valid\"\nkey = \"K\"\ncontext = { product = \"acme-cad\", version = \"7.0\", today = \"2026-13-01\" }\nexpect = { old = \"valid\" }\n").unwrap();
    std::fs::write(dir.path().join("keycompat.toml"), BASE).unwrap();
    let out = run_in(dir.path(), &["vectors", "check"], b"");
    check(&out, 2, "bad.toml:5:");
    let out = run_in(dir.path(), &["run", "--cases", "1"], b"");
    check(&out, 2, "bad.toml:5:");
}

#[test]
fn a_directory_is_not_a_plugin() {
    check(
        &run(&["plugin", "inspect", "plugins"], b""),
        3,
        "cannot read the file: Is a directory",
    );
}

/// A file saved in another encoding is named with the line and column of
/// its first bad byte: the config and vector files (exit 2, before the run).
#[test]
fn a_config_or_vector_file_that_is_not_utf8_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BASE.as_bytes().to_vec();
    config.extend_from_slice(b"description = \"M\xFCller\"\n");
    std::fs::write(dir.path().join("keycompat.toml"), &config).unwrap();
    let line = BASE.lines().count() + 1;
    let out = run_in(dir.path(), &["run", "--cases", "1"], b"");
    check(
        &out,
        2,
        &format!("keycompat.toml: line {line}, column 17: byte 0xFC is not UTF-8"),
    );

    std::fs::write(dir.path().join("keycompat.toml"), BASE).unwrap();
    std::fs::create_dir(dir.path().join("vectors")).unwrap();
    std::fs::write(
        dir.path().join("vectors/latin1.toml"),
        b"[[key]]\ncomment = \"caf\xE9\"\n",
    )
    .unwrap();
    for args in [&["vectors", "check"][..], &["run", "--cases", "1"]] {
        let out = run_in(dir.path(), args, b"");
        check(&out, 2, "latin1.toml:2:15: byte 0xE9 is not UTF-8");
    }
}

/// An export in another encoding (CSV or JSON Lines) is refused before any
/// case runs, at its first bad byte, not counted as a row error per accent.
#[rstest]
#[case::csv_in_a_full_run("run", "vectors/acme/data/orders.csv")]
#[case::jsonl_in_a_data_run("data", "vectors/acme/data/keys.jsonl")]
fn an_export_that_is_not_utf8_is_an_error_before_the_run(
    #[case] command: &str,
    #[case] export: &str,
) {
    let s = Scenario::demo();
    let path = s.dir.path().join(export);
    let (line, column) = if export.ends_with(".csv") {
        // A vendor's customer name in Latin-1, as a spreadsheet may save it.
        let text = std::fs::read_to_string(&path).unwrap();
        let (i, row) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains("Zoë"))
            .expect("a row with Zoë");
        let column = row[..row.find("Zoë").unwrap()].chars().count() + 3;
        let at = text.find("Zoë").unwrap() + "Zo".len();
        let mut bytes = text.as_bytes().to_vec();
        bytes.splice(at..at + 'ë'.len_utf8(), [0xEB]);
        std::fs::write(&path, bytes).unwrap();
        (i + 1, column)
    } else {
        std::fs::write(
            &path,
            b"{\"License Key\":\"K\",\"Product Name\":\"Acme CAD\"}\n{\"License Key\":\"K\",\"Customer\":\"M\xFCller\"}\n",
        )
        .unwrap();
        (2, 33)
    };
    let mut args = vec![command, "--report-dir", "r"];
    match command {
        // Millions of random cases: it fails at once, or the test hangs.
        "run" => args.extend(["--cases", "100000000"]),
        _ => args.extend(["--only", "field-keys", "--field-keys", export]),
    }
    let out = s.run(&args);
    check(&out, 2, &format!("{export}:{line}:{column}: byte 0x"));
    check(&out, 2, "is not UTF-8; hint: export the file as UTF-8");
}

/// More threads than the machine lets keycompat use are not more worker
/// processes per plugin: capped, with a note; in-process plugins are not.
#[test]
fn threads_beyond_the_cpus_are_capped_for_worker_hosted_plugins() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    let s = Scenario::demo().without_sources().without_vectors();
    let j = (cpus + 3).to_string();
    let args = [
        "run",
        "--cases",
        "40",
        "--seed",
        "1",
        "--no-shrink",
        "-j",
        &j,
    ];
    let note = format!(
        "note: -j {j} is more than the {cpus} CPUs this machine lets keycompat use: \
         each worker-hosted plugin runs in at most {cpus} worker processes"
    );
    let out = s.run(&[&args[..], &["--isolation", "worker", "--report-dir", "w"]].concat());
    let err = stderr(&out);
    assert!(code(&out) <= 1, "{err}");
    assert!(err.contains(&note), "{err}");
    let out = s.run(&[&args[..], &["--isolation", "none", "--report-dir", "n"]].concat());
    assert!(code(&out) <= 1, "{}", stderr(&out));
    assert!(!stderr(&out).contains("note: -j"), "{}", stderr(&out));
}

/// A reader of stderr that has gone away (`keycompat run 2>&1 | head -1`)
/// is not a panic: the error is dropped and the command exits with its own
/// code.
#[test]
fn a_closed_stderr_is_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keycompat.toml"),
        format!("{BASE}[run]\ntimeout = \"0s\"\n"),
    )
    .unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = std::process::Command::new(bin())
        .current_dir(dir.path())
        .arg("run")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2), "{status}");
}

/// A JSON file keycompat reads back (a baseline report, a bench.json) that
/// is not UTF-8 names the line and column of its first bad byte.
#[rstest]
#[case::baseline("--baseline")]
#[case::throughput("--throughput")]
fn a_json_input_that_is_not_utf8_names_where(#[case] flag: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{BASE}[run]\nvectors = false\n");
    std::fs::write(dir.path().join("keycompat.toml"), config).unwrap();
    std::fs::write(
        dir.path().join("in.json"),
        b"{\n  \"schema\": \"\xff\"\n}\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &["run", "--cases", "1", flag, "in.json", "--report-dir", "r"],
        b"",
    );
    check(
        &out,
        2,
        "line 2, column 14: byte 0xFF is not UTF-8; hint: save the file as UTF-8",
    );
}

/// A key vector whose `expect` names a system the config does not define (a
/// typo) checks nothing for it: the run says so, naming the file and line,
/// rather than drop the expectation in silence.
#[test]
fn a_vector_expecting_an_unknown_system_is_named_in_a_warning() {
    let s = Scenario::demo().without_sources().fresh_vectors("typo");
    std::fs::write(
        s.dir.path().join("typo/typo.toml"),
        r#"[[key]]
comment = "an Acme CAD key in Acme Viewer 3.1"
result = "invalid"
key = "24A0M-02T1K-7Y9KS-689RQ-7B450"
context = { product = "acme-viewer", version = "3.1", today = "2026-11-23" }
expect = { olld = "wrong_product", new = "wrong_product" }
"#,
    )
    .unwrap();
    let out = s.run(&["run", "--cases", "20", "--seed", "1", "--report-dir", "r"]);
    let err = stderr(&out);
    assert!(
        err.contains(
            "typo.toml:1: `expect` names system \"olld\", which the config does not define: \
             not checked in 1 key vector(s)"
        ),
        "{err}"
    );
}

/// Each flag or config value that cannot work says what it is and which
/// flag or field it came from, with exit 2, before any run.
#[rstest]
#[case::an_export_that_is_a_directory(&["data", "--field-keys", "vectors"], None, "--field-keys vectors: is a directory")]
#[case::a_report_dir_that_is_a_file(&["run", "--cases", "1", "--report-dir", "keycompat.toml"], None, "--report-dir keycompat.toml: is a file, not a directory")]
#[case::throughput_that_is_a_directory(&["run", "--cases", "1", "--throughput", "vectors"], None, "--throughput vectors: is a directory")]
#[case::a_share_too_small_to_print(&["data", "--share", "1e-300"], None, "below the smallest share, 1e-9")]
#[case::a_memory_limit_too_large(&["run", "--cases", "1"], Some(("run", "memory_limit", "16EiB")), "too large a memory limit: at most 15EiB")]
#[case::a_memory_limit_past_u64(&["run", "--cases", "1"], Some(("run", "memory_limit", "99999999999999999999KiB")), "too large a memory limit")]
#[case::duplicate_threshold_names(&["run", "--cases", "1"], Some(("gates", "thresholds", "")), "`gates.thresholds[1].name`: \"no parity drift\" is also the name of thresholds[0]")]
fn a_flag_or_value_that_cannot_work_names_itself(
    #[case] args: &[&str],
    #[case] config: Option<(&str, &str, &str)>,
    #[case] needle: &str,
) {
    let mut s = Scenario::demo();
    if let Some((table, key, value)) = config {
        let value = if key == "thresholds" {
            let t: toml::Table =
                toml::from_str("name = \"no parity drift\"\nseverity = \"drift\"\nmax = 0")
                    .expect("a threshold");
            let first: toml::Table =
                toml::from_str("name = \"no parity drift\"\ncheck = \"parity\"\nmax = 0")
                    .expect("a threshold");
            toml::Value::Array(vec![first.into(), t.into()])
        } else {
            value.into()
        };
        s = s.set_path(&[table, key], value);
    }
    let out = s.run(args);
    check(&out, 2, needle);
    assert!(
        !stderr(&out).contains("File exists") && !stderr(&out).contains("no such file"),
        "{}",
        stderr(&out)
    );
}
