//! The report formats, on real runs: the demo migration and the demo with a
//! planted defect (the new system's validator treats the expiry day as
//! expired), both run by the real binary with a fixed seed and day.
//!
//! What a user relies on: the JSON report reads back to the same result and
//! satisfies the published schema; the JUnit XML satisfies the Jenkins/Ant
//! schema CI servers accept and fails exactly the failing cells; the HTML
//! loads nothing from the network and escapes user text; writing is atomic.
//! Markdown, JUnit and HTML are snapshot-tested (`cargo insta review`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common;
use keycompat::bench::{Op, Stats};
use keycompat::finding::Check;
use keycompat::gate::Status;
use keycompat::implementation::Origin;
use keycompat::report::{self, ReportError, Throughput, ThroughputRow};
use keycompat::run::RunResult;

/// Random cases per fixture run: enough to fill the matrix and to trip the
/// planted defect, few enough for a debug build.
const CASES: &str = "60";

/// The day the fixtures judge waivers on.
const TODAY: &str = "2026-11-23";

/// A scratch directory under the target directory, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = common::profile_dir().join("report-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The demo config with the new system swapped for the fault-injecting test
/// plugin, planted with `defect`.
fn defect_config(defect: &str) -> PathBuf {
    let demo = std::fs::read_to_string(common::repo().join("keycompat.toml")).expect("demo config");
    let start = demo
        .find("[systems.new]")
        .expect("[systems.new] in the demo");
    let plugin = "plugin = \"${exe_dir}/libacme_ed1.so\"";
    let at = start + demo[start..].find(plugin).expect("new system's plugin");
    let mut text = format!(
        "{}plugin = \"${{exe_dir}}/libkc_faulty.so\"{}",
        &demo[..at],
        &demo[at + plugin.len()..]
    );
    let settings = "[systems.new.settings]\n";
    let at = text.find(settings).expect("new system's settings") + settings.len();
    text.insert_str(
        at,
        &format!("scheme = \"acme-ed1\"\ndefect = \"{defect}\"\n"),
    );
    let dir = scratch(&format!("config-{defect}"));
    // A copy of the vectors and exports, at the same relative path, so
    // reports name them as the demo's do (snapshots must not depend on the
    // checkout's location) and the regressions this run saves stay out of
    // the repository (the demo fixture reads its vectors).
    common::copy_dir(&common::repo().join("vectors"), &dir.join("vectors"));
    // The demo's Python process plugin, at the path the config names.
    common::copy_dir(
        &common::repo().join("plugins/python"),
        &dir.join("plugins/python"),
    );
    let path = dir.join("keycompat.toml");
    std::fs::write(&path, text).expect("write defect config");
    path
}

/// Runs the real binary and reads its JSON report back.
fn run(config: &Path, name: &str) -> RunResult {
    common::ensure_built();
    let dir = scratch(&format!("run-{name}"));
    // Run where the config is, as `keycompat.toml`: replay commands then
    // name no machine-specific `--config` path.
    assert_eq!(
        config.file_name().and_then(|f| f.to_str()),
        Some("keycompat.toml")
    );
    let out = Command::new(common::bin())
        .args([
            "run", "--cases", CASES, "--seed", "5", "--today", TODAY, "-q",
        ])
        .arg("--report-dir")
        .arg(&dir)
        .current_dir(config.parent().expect("the config's directory"))
        .output()
        .expect("run keycompat");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "keycompat run exited {code}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).expect("report.json written");
    // `keycompat run` writes through report::write_all once the CLI adopts
    // it; until then its JSON is the bare RunResult.
    if text.contains("\"schema\"") {
        report::read_json(&path).expect("read the run's report")
    } else {
        serde_json::from_str(&text).expect("the run's report parses")
    }
}

/// Replaces what depends on the machine and the build (paths, hashes, the
/// version, measured rates) so snapshots compare across machines.
fn normalise(mut r: RunResult) -> RunResult {
    r.meta.config = "<config>/keycompat.toml".into();
    r.meta.config_sha256 = "<config-sha256>".into();
    r.meta.keycompat_version = "<version>".into();
    for info in r.meta.systems.values_mut() {
        normalise_info(info);
    }
    // The demo measures its new system's throughput for its volume gates:
    // fixed rates stand in for the machine's, and the gates are judged
    // again on them, in place.
    if let Some(t) = &mut r.throughput {
        t.keycompat_version = "<version>".into();
        t.cores = 2;
        for info in t.systems.values_mut() {
            normalise_info(info);
        }
        for m in &mut t.measurements {
            let v = fixed_rate(m.op, &m.format);
            m.samples = vec![v; t.rounds];
            m.per_second = fixed_stats(v);
            m.calls = 0;
            m.seconds = 0.0;
        }
        for c in &mut t.comparisons {
            let v = fixed_stats(fixed_rate(c.op, &c.format));
            c.old = c.old.map(|_| v);
            c.new = c.new.map(|_| v);
            c.ratio = c.ratio.map(|_| fixed_stats(1.0));
        }
    }
    let evidence = r.volume.as_ref().and_then(|v| v.evidence.clone());
    r.with_volume(evidence)
}

/// The rate snapshots show for a measured figure: about the demo's new
/// system on this project's machines.
fn fixed_rate(op: Op, format: &str) -> f64 {
    match (op, format) {
        (Op::Generate, "acme-ed1") => 30_000.0,
        (Op::Generate, _) => 90_000.0,
        (Op::Validate, "acme-ed1") => 20_000.0,
        (Op::Validate, _) => 60_000.0,
    }
}

fn fixed_stats(v: f64) -> Stats {
    Stats {
        median: v,
        min: v,
        max: v,
    }
}

/// An implementation's paths and hashes, as every machine prints them.
fn normalise_info(info: &mut keycompat::implementation::ImplInfo) {
    if let Origin::Plugin { path, sha256, .. } = &mut info.origin {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        *path = PathBuf::from(format!("<plugins>/{file}"));
        *sha256 = "<plugin-sha256>".into();
    }
    if let Origin::Process { file, sha256, .. } = &mut info.origin {
        if let Some(f) = file {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            *f = PathBuf::from(format!("<plugins>/{name}"));
        }
        if sha256.is_some() {
            *sha256 = Some("<script-sha256>".into());
        }
    }
}

fn demo_raw() -> &'static RunResult {
    static R: OnceLock<RunResult> = OnceLock::new();
    R.get_or_init(|| run(&common::repo().join("keycompat.toml"), "demo"))
}

fn defect_raw() -> &'static RunResult {
    static R: OnceLock<RunResult> = OnceLock::new();
    R.get_or_init(|| run(&defect_config("expiry-off-by-one"), "defect"))
}

fn demo() -> RunResult {
    normalise(demo_raw().clone())
}

fn defect() -> RunResult {
    normalise(defect_raw().clone())
}

/// The defect run as if its new system had given up after its last case
/// (the stop planted in the result, which is judged again): what an
/// incomplete report shows. Planted rather than run, so the snapshot does
/// not depend on which batches the threads had under way at the stop; and
/// so it has none of the crash findings a real stop brings, which shows
/// that the stop alone makes it NO-GO.
fn incomplete() -> RunResult {
    let r = defect();
    let c = r.aggregate.counts();
    let after_cases = c.vector_cases + c.random_cases + c.order_cases;
    let mut meta = r.meta.clone();
    meta.gave_up = vec![keycompat::run::GaveUp {
        shard: None,
        system: "new".into(),
        message: "plugin kc-faulty (<plugins>/libkc_faulty.so) crashed 21 times in a row; \
                  last: signal 11 (SIGSEGV); stderr: kc-faulty: segv-on-serial: serial 424242"
            .into(),
        after_cases,
    }];
    let waivers: Vec<_> = r.waivers.iter().map(|w| w.waiver.clone()).collect();
    let gates = meta.gates_config.clone();
    let mut judged = RunResult::judge(
        meta,
        r.aggregate.clone(),
        r.data.clone(),
        r.coverage.clone(),
        &waivers,
        &gates,
    );
    judged.throughput = r.throughput.clone();
    judged.with_volume(r.volume.as_ref().and_then(|v| v.evidence.clone()))
}

fn fixtures() -> [(&'static str, RunResult); 3] {
    [
        ("demo", demo()),
        ("defect", defect()),
        ("incomplete", incomplete()),
    ]
}

/// The HTML without its stylesheet and script, which are not content: style
/// tweaks should not churn the snapshot.
fn html_content(html: &str) -> String {
    let mut s = html.to_string();
    for (open, close) in [("<style>", "</style>"), ("<script>", "</script>")] {
        if let (Some(a), Some(b)) = (s.find(open), s.find(close)) {
            s.replace_range(a + open.len()..b, "...");
        }
    }
    s
}

#[test]
fn the_defect_fixture_has_unwaived_findings_and_the_demo_has_waived_ones() {
    let d = defect();
    assert_eq!(d.verdict, Status::Red);
    assert!(
        d.aggregate
            .groups()
            .values()
            .any(|g| g.waived_by.is_none() && g.key.check == Check::Time),
        "the planted expiry defect must show as an unwaived TIME finding"
    );
    assert!(
        demo()
            .aggregate
            .groups()
            .values()
            .all(|g| g.waived_by.is_some())
    );
}

/// The demo measures its new system for its volume gates in the run; the
/// snapshots show those gates judged on fixed figures (the machine's are
/// not reproducible), so this checks the real measurement behind them.
#[test]
fn the_demo_measures_its_go_live_volume_in_the_run() {
    let raw = demo_raw();
    let volume = raw.volume.as_ref().expect("the demo has volume gates");
    assert_eq!(volume.evidence, Some(keycompat::volume::Evidence::Measured));
    assert_eq!(volume.ops.len(), 2);
    for op in &volume.ops {
        let figure = op.figure.as_ref().unwrap_or_else(|| panic!("{op:?}"));
        assert_eq!(figure.threads, 2);
        assert!(figure.per_second.median > 0.0, "{figure:?}");
    }
    let names: Vec<&str> = raw.gates.iter().map(|g| g.name.as_str()).collect();
    assert!(
        names.contains(&"issue volume") && names.contains(&"validate volume"),
        "{names:?}"
    );
    // Normalised, the gates are judged again in place, on the fixed rates.
    let normalised: Vec<String> = demo().gates.iter().map(|g| g.name.clone()).collect();
    assert_eq!(names, normalised);
}

#[test]
fn an_incomplete_report_is_no_go_and_says_why_in_every_format() {
    let r = incomplete();
    assert_eq!(r.verdict, Status::Red);
    let red: Vec<&str> = r
        .gates
        .iter()
        .filter(|g| g.status == Status::Red)
        .map(|g| g.name.as_str())
        .collect();
    assert!(red.contains(&"no system gave up"), "{red:?}");
    let cases = r.meta.gave_up[0].after_cases;
    assert!(cases > 0);
    let says = format!(
        "system \"new\" gave up after {} cases",
        keycompat::words::count(cases)
    );
    let md = report::render_markdown(&r);
    assert!(
        md.starts_with("# keycompat: **NO-GO (incomplete)**"),
        "{md}"
    );
    assert!(md.contains(&says));
    let quoted = says.replace('"', "&quot;");
    let html = report::render_html(&r, None).expect("html");
    assert!(html.contains("NO-GO (incomplete)"));
    assert!(html.contains(&quoted));
    let xml = report::render_junit(&r).expect("junit");
    assert!(
        xml.contains("<testcase name=\"no system gave up\""),
        "{xml}"
    );
    assert!(xml.contains(&quoted));
    let json = report::render_json(&r);
    let back = report::parse_json(&json, Path::new("incomplete.json")).expect("reads back");
    assert_eq!(back, r);
    let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    common::assert_schema(&value);
    assert_eq!(value["meta"]["gave_up"][0]["after_cases"], cases);
}

#[test]
fn markdown_snapshots() {
    for (name, r) in fixtures() {
        insta::assert_snapshot!(format!("{name}_markdown"), report::render_markdown(&r));
    }
}

#[test]
fn junit_snapshots() {
    for (name, r) in fixtures() {
        let xml = report::render_junit(&r).expect("junit renders");
        insta::assert_snapshot!(format!("{name}_junit"), xml);
    }
}

#[test]
fn html_snapshots() {
    for (name, r) in fixtures() {
        let html = report::render_html(&r, None).expect("html renders");
        insta::assert_snapshot!(format!("{name}_html"), html_content(&html));
    }
}

#[test]
fn json_round_trips_through_write_all_and_read_json() {
    for (name, r) in [("demo", demo_raw()), ("defect", defect_raw())] {
        let dir = scratch(&format!("roundtrip-{name}"));
        let paths = report::write_all(r, &dir).expect("write reports");
        assert_eq!(paths[0], dir.join("report.json"));
        let back = report::read_json(&paths[0]).expect("read back");
        assert_eq!(
            &back, r,
            "{name}: the JSON report must read back to the same result"
        );
        // Rendering is deterministic: the same result, the same bytes.
        assert_eq!(
            std::fs::read_to_string(&paths[0]).expect("read"),
            report::render_json(&back)
        );
    }
}

#[test]
fn json_reports_satisfy_the_published_schema() {
    let schema_path = common::repo().join("schema/keycompat-report-2.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("schema file"))
            .expect("schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    for (name, r) in [("demo", demo_raw()), ("defect", defect_raw())] {
        let json: serde_json::Value =
            serde_json::from_str(&report::render_json(r)).expect("report is JSON");
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    // The schema is not vacuous: an unknown field or a wrong type fails it.
    let mut json: serde_json::Value =
        serde_json::from_str(&report::render_json(defect_raw())).expect("JSON");
    json["verdict"] = "blue".into();
    assert!(!validator.is_valid(&json));
    json["verdict"] = "red".into();
    json["meta"]["surprise"] = true.into();
    assert!(!validator.is_valid(&json));
    json["meta"]
        .as_object_mut()
        .expect("meta")
        .remove("surprise");
    json["groups"][0]["example"]["entitlement"]["seats"] = "many".into();
    assert!(!validator.is_valid(&json));
}

#[test]
fn read_json_names_the_file_and_the_schema_it_found() {
    let dir = scratch("read-json-errors");
    let json = report::render_json(demo_raw());
    let cases = [
        (
            "old.json",
            json.replace("keycompat-report/2", "keycompat-report/0"),
            "\"keycompat-report/0\"",
        ),
        (
            "bare.json",
            json.replacen("\"schema\": \"keycompat-report/2\",", "", 1),
            "missing",
        ),
        (
            "garbage.json",
            "{ not json".to_string(),
            "not a keycompat JSON report",
        ),
    ];
    for (file, text, expect) in cases {
        let path = dir.join(file);
        std::fs::write(&path, text).expect("write");
        let err = report::read_json(&path).expect_err(file);
        let msg = err.to_string();
        assert!(msg.contains(file), "{msg}");
        assert!(msg.contains(expect), "{msg}");
        if file != "garbage.json" {
            assert!(matches!(err, ReportError::SchemaVersion { .. }), "{err:?}");
            assert!(msg.contains("keycompat-report/2"), "{msg}");
        }
    }
    let missing = report::read_json(&dir.join("nope.json")).expect_err("no file");
    assert!(matches!(missing, ReportError::Io { .. }));
}

/// The XSDs to validate against: ours (tests/data), and the upstream file if
/// `KEYCOMPAT_JUNIT_XSD` points at one.
fn junit_schemas() -> Vec<PathBuf> {
    let mut v = vec![common::repo().join("tests/data/junit-10.xsd")];
    if let Some(p) = std::env::var_os("KEYCOMPAT_JUNIT_XSD") {
        v.push(PathBuf::from(p));
    }
    v
}

#[test]
fn junit_validates_against_the_jenkins_junit_10_schema() {
    assert!(
        Command::new("xmllint").arg("--version").output().is_ok(),
        "xmllint not found: this test validates the JUnit XML with it; \
         install it with `apt-get install libxml2-utils`"
    );
    let dir = scratch("junit-xsd");
    for (name, r) in [("demo", demo_raw()), ("defect", defect_raw())] {
        let path = dir.join(format!("{name}.xml"));
        std::fs::write(&path, report::render_junit(r).expect("junit")).expect("write");
        for xsd in junit_schemas() {
            let out = Command::new("xmllint")
                .arg("--noout")
                .arg("--schema")
                .arg(&xsd)
                .arg(&path)
                .output()
                .expect("run xmllint");
            assert!(
                out.status.success(),
                "{name} against {}:\n{}",
                xsd.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn junit_parses_back_and_fails_exactly_the_failing_cells_and_red_gates() {
    for (name, r) in [("demo", demo()), ("defect", defect())] {
        let xml = report::render_junit(&r).expect("junit");
        let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("parses back");
        let suites: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(suites.last(), Some(&"gates"), "{name}");
        let mut checks: Vec<String> = r.checks_run().iter().map(|c| c.to_string()).collect();
        checks.extend(
            r.aggregate
                .groups()
                .keys()
                .map(|(k, _)| k.check.to_string())
                .filter(|c| !r.checks_run().iter().any(|x| x.to_string() == *c)),
        );
        for c in &checks {
            assert!(suites.contains(&c.as_str()), "{name}: no suite {c}");
        }
        // Cells with an unwaived group fail, with the top group's cause.
        let mut failing_cells: Vec<(String, String)> = Vec::new();
        for g in r.groups_by_importance() {
            if g.waived_by.is_some() {
                continue;
            }
            let case = match &g.key.validator {
                Some(v) => format!("{} {} -> {v}", g.key.check, g.key.generator),
                None => format!("{} {}", g.key.check, g.key.generator),
            };
            if !failing_cells.iter().any(|(c, _)| *c == case) {
                failing_cells.push((case, g.key.cause.clone()));
            }
        }
        // A cell whose failures another check's cell reports (one answer,
        // one finding) fails too, pointing there.
        for ((check, generator, validator), t) in r.aggregate.tallies() {
            let case = match validator {
                Some(v) => format!("{check} {generator} -> {v}"),
                None => format!("{check} {generator}"),
            };
            let grouped = r.aggregate.groups().keys().any(|(k, _)| {
                k.check == *check && k.generator == *generator && k.validator == *validator
            });
            if t.fail > 0 && !grouped {
                let message = format!(
                    "{} observations failed, each reported once, in the cell of the first \
                     check that read the same answer",
                    t.fail
                );
                failing_cells.push((case, message));
            }
        }
        let red_gates = r.gates.iter().filter(|g| g.status == Status::Red).count();
        assert_eq!(
            parsed.failures,
            failing_cells.len() + red_gates,
            "{name}: failures"
        );
        for suite in &parsed.test_suites {
            for case in &suite.test_cases {
                if let quick_junit::TestCaseStatus::NonSuccess { message, .. } = &case.status {
                    if suite.name.as_str() == "gates" {
                        continue;
                    }
                    let expected = failing_cells
                        .iter()
                        .find(|(c, _)| c == case.name.as_str())
                        .unwrap_or_else(|| panic!("{name}: {} failed", case.name.as_str()));
                    assert_eq!(
                        message.as_ref().map(|m| m.as_str()),
                        Some(expected.1.as_str())
                    );
                }
            }
        }
    }
}

#[test]
fn waived_findings_never_fail_a_junit_case() {
    let r = demo();
    let xml = report::render_junit(&r).expect("junit");
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("parses");
    let red_gates = r.gates.iter().filter(|g| g.status == Status::Red).count();
    assert_eq!(parsed.failures, red_gates, "only red gates fail the demo");
    assert!(xml.contains("waived findings (do not fail this test)"));
    assert!(xml.contains("EMS-1042"));
}

/// Markdown text with its code spans (a run of n backticks up to the next
/// run of exactly n) removed.
fn strip_code_spans(md: &str) -> String {
    let mut out = String::new();
    let mut rest = md;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let fence_len = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + fence_len..];
        let mut search = 0;
        let mut end = None;
        while let Some(i) = after[search..].find('`') {
            let at = search + i;
            let run = after[at..].chars().take_while(|&c| c == '`').count();
            if run == fence_len {
                end = Some(at + run);
                break;
            }
            search = at + run;
        }
        match end {
            Some(e) => rest = &after[e..],
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A result whose user text is hostile: markup, quotes, URLs.
fn hostile() -> RunResult {
    let mut r = defect();
    let nasty = "<script>alert('x')</script> & \"Zoë\" https://cdn.example/x.js //cdn.evil";
    // Findings are read-only outside a run: rewrite them in the JSON form.
    let mut json = serde_json::to_value(&r).expect("a result serializes");
    for g in json["groups"].as_array_mut().expect("groups") {
        for which in ["example", "shrunk"] {
            if !g.get(which).is_some_and(|f| f.is_object()) {
                continue;
            }
            let e = &mut g[which]["entitlement"];
            if e.is_object() {
                e["customer"] = serde_json::json!({"id": "C-<1>", "name": nasty});
                e["order_id"] = "SO-1|2`3".into();
            }
        }
    }
    r = serde_json::from_value(json).expect("the rewritten result reads back");
    if let Some(w) = r.waivers.first_mut() {
        w.waiver.owner = nasty.into();
        w.waiver.reason = format!("{nasty}\n| broken | table |");
    }
    r.gates[0].measured = nasty.into();
    r
}

#[test]
fn html_is_self_contained() {
    for (name, r) in [
        ("demo", demo()),
        ("defect", defect()),
        ("hostile", hostile()),
    ] {
        let html = report::render_html(&r, None).expect("html");
        for needle in [
            "http://", "https://", "//cdn", "<link", "@import", "url(", " src=",
        ] {
            assert!(!html.contains(needle), "{name}: HTML contains {needle:?}");
        }
    }
}

#[test]
fn user_text_is_escaped_in_every_format() {
    let r = hostile();
    let html = report::render_html(&r, None).expect("html");
    assert!(!html.contains("<script>alert"), "raw script in HTML");
    assert!(
        html.contains(
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; &amp; &quot;Zoë&quot;"
        )
    );
    let md = report::render_markdown(&r);
    // Markup is inert inside code spans; outside them it must be escaped.
    let outside_code = strip_code_spans(&md);
    let bytes = outside_code.as_bytes();
    assert!(
        outside_code
            .match_indices('<')
            .all(|(i, _)| i > 0 && bytes[i - 1] == b'\\'),
        "an unescaped < outside code spans in Markdown"
    );
    assert!(md.contains("\\<script>"));
    // Every row of a table has as many cells as its header.
    let cells = |line: &str| {
        let b = line.as_bytes();
        (0..b.len())
            .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
            .count()
    };
    let mut header: Option<usize> = None;
    for line in md.lines().filter(|l| !l.starts_with("|-")) {
        if !line.starts_with("| ") {
            header = None;
            continue;
        }
        let n = cells(line);
        match header {
            None => header = Some(n),
            Some(h) => assert_eq!(n, h, "a table row was split by user text: {line}"),
        }
    }
    let xml = report::render_junit(&r).expect("junit");
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("hostile junit parses");
    assert!(parsed.tests > 0);
    assert!(!xml.contains("<script>"));
}

#[test]
fn html_draws_the_throughput_chart_when_given_one() {
    let r = demo();
    let without = report::render_html(&r, None).expect("html");
    assert!(!without.contains("Throughput"));
    let t = Throughput {
        unit: "keys/s".into(),
        rows: vec![ThroughputRow {
            label: "validate, plugin, 4 threads".into(),
            old: 182_000.0,
            new: 41_500.0,
        }],
    };
    let with = report::render_html(&r, Some(&t)).expect("html");
    assert!(with.contains("Throughput (keys&#x2f;s)"));
    assert!(with.contains("182.0k"));
}

#[test]
fn write_all_is_atomic_and_leaves_only_the_four_reports() {
    let dir = scratch("atomic");
    std::fs::write(dir.join("report.json"), "stale").expect("stale file");
    // A second name for the old file, as a reader that opened it holds it:
    // an atomic replacement (a new file renamed over the name) leaves it
    // whole; rewriting in place would change it under the reader.
    let reader = scratch("atomic-reader").join("held-open.json");
    std::fs::hard_link(dir.join("report.json"), &reader).expect("hard link");
    let r = defect();
    let paths = report::write_all(&r, &dir).expect("write");
    assert_eq!(
        std::fs::read_to_string(&reader).expect("old file"),
        "stale",
        "report.json was rewritten in place, not replaced"
    );
    assert_eq!(
        std::fs::read_to_string(&paths[0]).expect("new file"),
        report::render_json(&r),
        "report.json was not replaced"
    );
    let again = report::write_all(&r, &dir).expect("rewrite");
    assert_eq!(paths, again);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["junit.xml", "report.html", "report.json", "report.md"]
    );
    for (path, file) in paths.iter().zip(report::FILES) {
        assert_eq!(path.file_name().and_then(|f| f.to_str()), Some(file));
        assert!(std::fs::metadata(path).expect("written").len() > 0);
    }
    // A directory that cannot be created is named in the error.
    let blocked = dir.join("report.md").join("sub");
    let err = report::write_all(&r, &blocked).expect_err("a file is in the way");
    assert!(err.to_string().contains("report.md"), "{err}");
}

/// What the browser drew, measured in the page itself: appended to a copy
/// of the report, this script writes the grid's size and position and the
/// colours the browser computed for each use of "waived" into `#probe`,
/// which `--dump-dom` prints.
const PROBE: &str = r##"<script>
(function () {
  function css(sel, prop) { var e = document.querySelector(sel); return e ? getComputedStyle(e)[prop] : null; }
  function box(sel) { var e = document.querySelector(sel); return e ? e.getBoundingClientRect() : null; }
  var grid = box("table.pairgrid"), matrix = box("#matrix");
  var cells = [].slice.call(document.querySelectorAll("td.pc"));
  var out = {
    grid: grid && { width: grid.width, height: grid.height, top: grid.top },
    matrix_top: matrix && matrix.top,
    cells: cells.length,
    cells_without_text: cells.filter(function (c) { return !c.innerText.trim(); }).length,
    waived: [css("td.pc.waived", "borderLeftColor"), css(".cell.waived", "borderTopColor"),
             css("rect.seg-waived", "fill"), css(".swatch.waived", "borderTopColor"),
             css(".finding.waived", "borderLeftColor")],
    outage: css("td.pc.outage", "borderLeftColor"),
    pass: css("td.pc.pass", "borderLeftColor"),
    changes: box("#changes") && { top: box("#changes").top, height: box("#changes").height,
      rows: document.querySelectorAll("#changes tr.change").length,
      news: document.querySelectorAll("#changes tr.change.red").length,
      marker: css("#changes tr.change.red td", "borderLeftColor"),
      red_gate: css("tr.gate.red td", "borderLeftColor") },
    trend: box("#trend") && { top: box("#trend").top, width: box("#trend").width,
      svg: box("#trend svg.trend"),
      days: document.querySelectorAll("#trend svg.trend rect.day").length,
      rows: document.querySelectorAll("#trend tr.trend-day").length,
      lines: document.querySelectorAll("#trend polyline.series").length,
      points: document.querySelectorAll("#trend circle.series").length,
      bars: document.querySelectorAll("#trend svg.trend rect.seg-waived").length,
      red: css("#trend rect.day.red", "fill"), yellow: css("#trend rect.day.yellow", "fill"),
      red_gate: css("tr.gate.red td", "borderLeftColor"),
      yellow_gate: css("tr.gate.yellow td", "borderLeftColor") }
  };
  var p = document.createElement("pre"); p.id = "probe"; p.textContent = JSON.stringify(out);
  document.body.appendChild(p);
})();
</script>"##;

/// Loads `html` in headless `browser` with [`PROBE`] and returns what it
/// measured.
fn probe_in(browser: &str, html: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(html).expect("read html");
    let probed = html.with_extension("probe.html");
    std::fs::write(&probed, text.replace("</body>", &format!("{PROBE}</body>"))).expect("write");
    let profile = tempfile::tempdir().expect("profile dir");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--window-size=1366,2400",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", probed.display()))
        .output()
        .expect("run the browser");
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split_once(r#"<pre id="probe">"#)
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| json)
        .unwrap_or_else(|| {
            panic!(
                "the probe did not run:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    serde_json::from_str(json).expect("the probe's JSON")
}

#[test]
fn html_renders_in_headless_chromium() {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok());
    let browser = browser.unwrap_or_else(|| {
        panic!(
            "chromium not found: this test renders the HTML report in it; \
             install it with `apt-get install chromium`"
        )
    });
    let dir = scratch("screenshot");
    // The defect run compared with the demo as its baseline: what a pull
    // request that planted the defect shows.
    let changed = defect().with_baseline(&demo(), "main/report.json");
    for (name, r) in [("defect", defect()), ("demo", demo()), ("changed", changed)] {
        let html = dir.join(format!("{name}.html"));
        std::fs::write(&html, report::render_html(&r, None).expect("html")).expect("write");
        let png = dir.join(format!("{name}.png"));
        let out = Command::new("bash")
            .arg(common::repo().join("scripts/screenshot-report.sh"))
            .arg(&html)
            .arg(&png)
            .output()
            .expect("run the screenshot script");
        assert!(
            out.status.success(),
            "screenshot failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&png).expect("png written");
        assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
        println!("screenshot: {}", png.display());

        // The compatibility grid is drawn, above the matrices by check,
        // every cell with words, not colour alone.
        let p = probe_in(browser, &html);
        let grid = &p["grid"];
        assert!(grid["width"].as_f64() > Some(300.0), "{name}: {p}");
        assert!(grid["height"].as_f64() > Some(100.0), "{name}: {p}");
        assert!(
            grid["top"].as_f64() < p["matrix_top"].as_f64(),
            "{name}: {p}"
        );
        assert!(p["cells"].as_u64() > Some(10), "{name}: {p}");
        assert_eq!(p["cells_without_text"], 0, "{name}: {p}");
        // "waived" is drawn in one colour in the grid, the matrices by
        // check, the charts, the legend and the findings.
        let waived = p["waived"].as_array().expect("waived colours");
        assert!(waived[0].is_string(), "{name}: no waived grid cell: {p}");
        assert!(waived.iter().all(|c| *c == waived[0]), "{name}: {p}");
        assert_ne!(p["pass"], waived[0], "{name}: {p}");
        if name != "demo" {
            assert!(p["outage"].is_string(), "{name}: no outage cell: {p}");
            assert_ne!(p["outage"], waived[0], "{name}: {p}");
        }
        // With a baseline, what changed is drawn between the gates and the
        // grid, news marked in the red of a red gate; without, nothing.
        let changes = &p["changes"];
        if name == "changed" {
            assert!(changes["height"].as_f64() > Some(100.0), "{p}");
            assert!(changes["top"].as_f64() < grid["top"].as_f64(), "{p}");
            assert!(changes["news"].as_u64() > Some(0), "{p}");
            assert_eq!(changes["marker"], p["changes"]["red_gate"], "{p}");
        } else {
            assert!(changes.is_null(), "{name}: {p}");
        }
        // The run history (the demo's 13 days and this run's), drawn after
        // the gates and before the grid: one verdict square per day in the
        // colours of the gates, findings per day, both cumulative coverage
        // lines with a point per day, inside the page; and the same per day
        // in words.
        let trend = &p["trend"];
        assert!(trend["top"].as_f64() < grid["top"].as_f64(), "{name}: {p}");
        assert_eq!(trend["days"], 14, "{name}: {p}");
        assert_eq!(trend["rows"], 14, "{name}: {p}");
        assert_eq!(trend["lines"], 2, "{name}: {p}");
        assert_eq!(trend["points"], 28, "{name}: {p}");
        assert_eq!(trend["bars"], 14, "{name}: waived findings every day: {p}");
        let svg = &trend["svg"];
        assert!(svg["width"].as_f64() > Some(600.0), "{name}: {p}");
        assert!(svg["height"].as_f64() > Some(200.0), "{name}: {p}");
        assert!(
            svg["width"].as_f64() <= trend["width"].as_f64(),
            "{name}: the chart overflows its section: {p}"
        );
        // This run is NO-GO (too few random cases): the last day is red,
        // the red of a red gate; the demo's earlier days the yellow of a
        // yellow gate.
        assert!(trend["red"].is_string(), "{name}: {p}");
        assert_eq!(trend["red"], trend["red_gate"], "{name}: {p}");
        assert_eq!(trend["yellow"], trend["yellow_gate"], "{name}: {p}");
        assert_ne!(trend["red"], trend["yellow"], "{name}: {p}");
    }
}

/// Seeds are 64-bit: JSON carries them as strings, so jq and JavaScript
/// read them exactly, and the JSON reads back into the same seed.
#[test]
fn seeds_are_exact_strings_in_json() {
    let s = common::Scenario::demo().without_sources().faulty_system(
        "new",
        "acme-ed1",
        &[("defect", "expiry-off-by-one")],
    );
    let seed = "18446744073709551615";
    let (out, r) = s.run_report(&["--cases", "30", "--seed", seed, "--no-shrink", "-q"], "r");
    assert_eq!(common::code(&out), 1, "{}", common::stderr(&out));
    assert_eq!(r["meta"]["seed"], seed);
    let random = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["example"]["source"]["kind"] == "random")
        .expect("a random case's finding");
    assert_eq!(random["example"]["source"]["seed"], seed);
    common::assert_schema(&r);
    let back = report::read_json(&s.dir.path().join("r/report.json")).expect("reads back");
    assert_eq!(back.meta.seed, u64::MAX);
}
