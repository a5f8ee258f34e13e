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
    "`systems.old`: set either `plugin` or `builtin`"
)]
#[case::neither_plugin_nor_builtin("[systems.old]\ndescription = \"?\"\n", "`systems.old`")]
#[case::unknown_release_validator(&format!("{BASE}[[releases]]\nname = \"R\"\nproduct = \"acme-cad\"\nversion = \"5.4\"\nvalidator = \"newer\"\n"), "releases[0].validator")]
#[case::unknown_release_product(&format!("{BASE}[[releases]]\nname = \"R\"\nproduct = \"acme-paint\"\nversion = \"5.4\"\nvalidator = \"old\"\n"), "releases[0].product")]
#[case::bad_release_version(&format!("{BASE}[[releases]]\nname = \"R\"\nproduct = \"acme-cad\"\nversion = \"5\"\nvalidator = \"old\"\n"), "not a version")]
#[case::unknown_format_generator(&format!("{BASE}[formats.acme-lk1]\ngenerators = [\"olden\"]\n"), "formats.acme-lk1.generators[0]")]
#[case::waiver_without_owner(&format!("{BASE}[[waivers]]\ncheck = \"forward\"\nreason = \"r\"\nowner = \"\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "waivers[0].owner")]
#[case::waiver_unknown_check(&format!("{BASE}[[waivers]]\ncheck = \"sideways\"\nreason = \"r\"\nowner = \"o\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "sideways")]
#[case::waiver_unknown_validator(&format!("{BASE}[[waivers]]\ncheck = \"forward\"\nvalidator = \"Acme CAD 5.5\"\nreason = \"r\"\nowner = \"o\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "waivers[0].validator")]
#[case::waiver_unknown_generator(&format!("{BASE}[[waivers]]\ncheck = \"forward\"\ngenerator = \"nwe\"\nreason = \"r\"\nowner = \"o\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "waivers[0].generator")]
#[case::waiver_unknown_feature(&format!("{BASE}[[waivers]]\ncheck = \"forward\"\nfeature = \"ai-asist\"\nreason = \"r\"\nowner = \"o\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n"), "waivers[0].feature")]
#[case::bad_timeout(&format!("{BASE}[run]\ntimeout = \"5 parsecs\"\n"), "not a duration")]
#[case::legacy_bit_outside_the_bitmap(&format!("{BASE}[catalog]\neditions = [\"standard\"]\n[[catalog.products]]\nslug = \"acme-cad\"\nname = \"CAD\"\nlegacy_id = 17\n[[catalog.features]]\nslug = \"x\"\nlegacy_bit = 16\n"), "legacy_bit 16, outside the 16-bit legacy feature bitmap")]
#[case::green_threshold(&format!("{BASE}[[gates.thresholds]]\nname = \"x\"\nmax = 0\nlevel = \"green\"\n"), "gates.thresholds[0].level")]
#[case::unknown_run_system(&format!("{BASE}[run]\nold = \"legacy\"\n"), "`run.old`")]
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
    check(
        &with_config(config, &["run", "--cases", "1"], b""),
        exit,
        needle,
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
#[case::zero_threads(&["run", "-j", "0"], "expected a number of threads, 1 or more")]
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
