//! The README's CI examples (`examples/ci/`) work as written: each file is
//! read as its CI system reads it and run as it would run it, on one
//! workspace path emptied for every job (a fresh machine with the same
//! checkout), with the real binary. Every shard job runs with its own
//! variables, its artifacts travel to the merge job as the CI system carries
//! them, and the merge decides. The config has a planted defect, so the
//! merge is a NO-GO whose reports must be kept.
//!
//! The runners below know only what the examples use; anything else in a
//! file (an expression, a condition, an action) fails the test, so a change
//! to an example is either run faithfully or noticed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

const EXAMPLES: [&str; 2] = [
    "examples/ci/github-actions.yml",
    "examples/ci/gitlab-ci.yml",
];

/// `github.run_id` and `CI_PIPELINE_ID`: the seed of every shard.
const PIPELINE_ID: &str = "4242";
/// GitLab's `CI_PIPELINE_CREATED_AT`, whose day the shards judge waivers on.
const PIPELINE_CREATED_AT: &str = "2026-11-23T08:15:00Z";
/// The random cases of the config (the examples take them from it).
const CASES: i64 = 300;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_norway::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_readme_shows_each_ci_example_verbatim() {
    let readme = read("README.md");
    for path in EXAMPLES {
        let block = format!("`{path}`:\n\n```yaml\n{}```\n", read(path));
        assert!(
            readme.contains(&block),
            "README.md does not show {path} as it is; paste the file into its ```yaml block"
        );
    }
}

/// The migration the examples check out: the demo with a new system that
/// wraps seats instead of refusing them, few cases, no exports.
fn checkout() -> Scenario {
    Scenario::demo()
        .without_sources()
        .faulty_system("new", "acme-ed1", &[("defect", "seats-wrapped")])
        .set("run", "cases", CASES.into())
        .set("gates", "min_random_cases", CASES.into())
}

/// One workspace path for every job, a fake `cargo` whose `build --release`
/// puts the binary under test where the examples run it, and the artifacts
/// that jobs pass on.
struct Runner {
    root: tempfile::TempDir,
    checkout: Scenario,
}

/// What one job did.
#[derive(Debug)]
struct JobRun {
    /// The exit code of each command run, in order.
    codes: Vec<i32>,
    /// stdout and stderr of the commands.
    log: String,
    /// Whether every command succeeded.
    ok: bool,
    /// GitHub: each `run` step's command and the job summary it wrote.
    summaries: Vec<(String, String)>,
}

impl Runner {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let bin_dir = root.path().join("bin");
        std::fs::create_dir_all(&bin_dir).unwrap();
        let cargo = bin_dir.join("cargo");
        std::fs::write(
            &cargo,
            format!(
                "#!/bin/sh\n[ \"$*\" = \"build --release\" ] || {{ echo \"fake cargo: $*\" >&2; exit 97; }}\n\
                 mkdir -p target/release && ln -sf '{}' target/release/keycompat\n",
                bin().display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
        Runner {
            root,
            checkout: checkout(),
        }
    }

    /// The job's working directory, empty.
    fn workspace(&self) -> PathBuf {
        let w = self.root.path().join("workspace");
        let _ = std::fs::remove_dir_all(&w);
        std::fs::create_dir_all(&w).unwrap();
        w
    }

    fn check_out(&self, workspace: &Path) {
        copy_dir(self.checkout.dir.path(), workspace);
    }

    /// Where an artifact is kept between jobs.
    fn store(&self, name: &str) -> PathBuf {
        self.root.path().join("artifacts").join(name)
    }

    /// A clean environment: no CI variables of the machine running the test.
    fn command(&self, workspace: &Path, vars: &BTreeMap<String, String>) -> Command {
        ensure_built();
        let mut cmd = Command::new("bash");
        cmd.env_clear()
            .current_dir(workspace)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.root.path().join("bin").display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", self.root.path())
            .env("NO_COLOR", "1")
            .envs(vars);
        cmd
    }
}

fn text(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, found {v}"))
}

// ---------------------------------------------------------------- GitHub

/// `${{ ... }}` expressions filled in from `values`; any other fails.
fn github_expand(s: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    while let Some(start) = out.find("${{") {
        let end = start + out[start..].find("}}").expect("an expression ends") + 2;
        let expr = out[start + 3..end - 2].trim();
        let value = values
            .get(expr)
            .unwrap_or_else(|| panic!("the test does not know the expression `{expr}`"));
        out.replace_range(start..end, value);
    }
    out
}

/// `key=value` lines of a `$GITHUB_OUTPUT` file.
fn github_outputs(file: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Copies `from` (a file or a directory's contents) into `to`.
fn copy_into(from: &Path, to: &Path) {
    if from.is_dir() {
        copy_dir(from, to);
    } else {
        std::fs::create_dir_all(to).unwrap();
        std::fs::copy(from, to.join(from.file_name().unwrap())).unwrap();
    }
}

/// A glob with one `*` at most, as the examples' `pattern:`.
fn glob_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            assert!(!tail.contains('*'), "the test knows one `*`: {pattern}");
            name.len() >= head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail)
        }
    }
}

/// Runs one GitHub Actions job instance (a matrix entry), with the
/// expressions in `values`; returns what it did, with the
/// `$GITHUB_STEP_SUMMARY` each `run` step wrote.
fn github_job(
    r: &Runner,
    job: &Value,
    values: &BTreeMap<String, String>,
    outputs: &mut BTreeMap<String, String>,
) -> JobRun {
    let workspace = r.workspace();
    let temp = r.root.path().join("runner-temp");
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(&temp).unwrap();
    let mut values = values.clone();
    let mut run = JobRun {
        codes: Vec::new(),
        log: String::new(),
        ok: true,
        summaries: Vec::new(),
    };
    for (i, step) in job["steps"].as_array().expect("steps").iter().enumerate() {
        match step.get("if").map(text) {
            None if !run.ok => continue,
            None => {}
            Some("always()") => {}
            Some(other) => panic!("the test does not know the condition `if: {other}`"),
        }
        let with = |key: &str| {
            step["with"]
                .get(key)
                .map(|v| github_expand(text(v), &values))
        };
        if let Some(action) = step.get("uses").map(text) {
            match action {
                "actions/checkout@v4" => r.check_out(&workspace),
                "actions/upload-artifact@v4" => {
                    let name = with("name").expect("an artifact name");
                    let path = workspace.join(with("path").expect("an artifact path"));
                    let store = r.store(&name);
                    assert!(
                        !store.exists(),
                        "two jobs upload the artifact {name:?}: GitHub refuses the second"
                    );
                    if path.exists() {
                        copy_into(&path, &store);
                    }
                }
                "actions/download-artifact@v4" => {
                    let into = workspace.join(with("path").unwrap_or_default());
                    assert!(with("name").is_none() && with("merge-multiple").is_none());
                    let pattern = with("pattern").expect("a pattern");
                    for entry in std::fs::read_dir(r.root.path().join("artifacts")).unwrap() {
                        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                        if glob_matches(&pattern, &name) {
                            // Several artifacts: each into a directory of its name.
                            copy_dir(&r.store(&name), &into.join(&name));
                        }
                    }
                }
                other => panic!("the test does not know the action {other}"),
            }
            continue;
        }
        let script = github_expand(text(&step["run"]), &values);
        let summary = temp.join(format!("step_summary_{i}"));
        let output = temp.join(format!("output_{i}"));
        let vars = BTreeMap::from([
            (
                "GITHUB_STEP_SUMMARY".to_string(),
                summary.display().to_string(),
            ),
            ("GITHUB_OUTPUT".to_string(), output.display().to_string()),
        ]);
        let out = r
            .command(&workspace, &vars)
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .output()
            .unwrap();
        run.log += &format!("$ {script}\n{}{}", stdout(&out), stderr(&out));
        run.codes.push(code(&out));
        run.ok &= out.status.success();
        run.summaries.push((
            script,
            std::fs::read_to_string(&summary).unwrap_or_default(),
        ));
        if let Some(id) = step.get("id").map(text) {
            for (k, v) in github_outputs(&output) {
                values.insert(format!("steps.{id}.outputs.{k}"), v);
            }
        }
    }
    if let Some(declared) = job.get("outputs").and_then(Value::as_object) {
        for (k, v) in declared {
            outputs.insert(k.clone(), github_expand(text(v), &values));
        }
    }
    run
}

#[test]
fn the_github_actions_example_shards_then_merges_a_no_go_and_keeps_its_reports() {
    let workflow = yaml(EXAMPLES[0]);
    let jobs = workflow["jobs"].as_object().expect("jobs");
    let r = Runner::new();
    let mut values = BTreeMap::from([("github.run_id".to_string(), PIPELINE_ID.to_string())]);
    let mut runs: BTreeMap<String, Vec<JobRun>> = BTreeMap::new();
    // Jobs in the order their `needs` allow, each after what it needs.
    let mut pending: Vec<&String> = jobs.keys().collect();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|name| {
                needs(&jobs[*name])
                    .iter()
                    .all(|n| runs.contains_key(n.as_str()))
            })
            .expect("a job whose needs have run");
        let name = pending.remove(ready);
        let job = &jobs[name];
        assert!(
            job.get("if").is_none(),
            "{name}: the test does not know job conditions"
        );
        let needed_ok = needs(job)
            .iter()
            .all(|n| runs[n.as_str()].iter().all(|run| run.ok));
        assert!(needed_ok, "{name} would not run: {runs:#?}");
        let matrix = job["strategy"]["matrix"].as_object();
        let instances: Vec<BTreeMap<String, String>> = match matrix {
            None => vec![BTreeMap::new()],
            Some(m) => {
                assert_eq!(m.len(), 1, "{name}: the test knows one matrix key");
                let (key, list) = m.iter().next().unwrap();
                list.as_array()
                    .expect("a matrix list")
                    .iter()
                    .map(|v| {
                        let v = v.as_u64().expect("the test knows numbers in a matrix");
                        BTreeMap::from([(format!("matrix.{key}"), v.to_string())])
                    })
                    .collect()
            }
        };
        let mut outputs = BTreeMap::new();
        let done = instances
            .iter()
            .map(|matrix| {
                let mut v = values.clone();
                v.extend(matrix.clone());
                github_job(&r, job, &v, &mut outputs)
            })
            .collect();
        for (k, v) in outputs {
            values.insert(format!("needs.{name}.outputs.{k}"), v);
        }
        runs.insert(name.clone(), done);
    }

    // The shards: each ran, each its own artifact; none wrote a job summary.
    let shards = &runs["shard"];
    assert_eq!(shards.len(), 4);
    for run in shards {
        assert!(run.ok, "a shard's NO-GO is not a failed job:\n{}", run.log);
        assert!(run.codes.iter().all(|c| *c == 0), "{}", run.log);
        for (step, summary) in &run.summaries {
            assert!(
                summary.is_empty(),
                "a shard wrote a job summary in `{step}`"
            );
        }
    }
    let day = &values["needs.plan.outputs.today"];
    for k in 1..=4 {
        let report = json(&r.store(&format!("shard-{k}")).join("report.json"));
        assert_eq!(
            report["meta"]["partitions"],
            serde_json::json!([{"k": k, "n": 4}])
        );
        assert_eq!(report["meta"]["today"], day.as_str());
    }

    // The merge: NO-GO (exit 1), the only job summary, reports kept.
    let merge = &runs["merge"][0];
    assert!(!merge.ok, "a NO-GO merge fails its job:\n{}", merge.log);
    assert_eq!(merge.codes.last(), Some(&1), "{}", merge.log);
    let written: Vec<&(String, String)> = merge
        .summaries
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .collect();
    assert_eq!(written.len(), 1, "{:#?}", merge.summaries);
    assert!(written[0].0.contains("keycompat merge"), "{written:?}");
    assert!(written[0].1.contains("NO-GO"), "{}", written[0].1);
    assert_merged_no_go(&r.store("keycompat-report"));
}

fn needs(job: &Value) -> Vec<String> {
    match job.get("needs") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().map(|v| text(v).to_string()).collect(),
        Some(other) => panic!("needs: {other}"),
    }
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("report.json parses")
}

/// The kept reports of the merge: every format, a complete merge of every
/// shard (no shard missing, every case counted once), red for the defect.
fn assert_merged_no_go(dir: &Path) {
    for f in ["report.json", "junit.xml", "report.md", "report.html"] {
        assert!(dir.join(f).is_file(), "the merge's {f} was not kept");
    }
    let report = json(&dir.join("report.json"));
    assert_schema(&report);
    assert_eq!(report["verdict"], "red");
    assert!(
        report["meta"].get("missing_shards").is_none(),
        "{:#}",
        report["meta"]
    );
    assert_eq!(report["meta"]["partitions"], serde_json::json!([]));
    assert_eq!(report["meta"]["seed"], PIPELINE_ID);
    assert_eq!(report["counts"]["random_cases"], CASES);
    let caught = unwaived_groups(&report)
        .iter()
        .any(|(_, severity, generator, _, cause)| {
            severity == "drift" && generator == "new" && cause.contains("seats")
        });
    assert!(caught, "{:#?}", unwaived_groups(&report));
}

// ---------------------------------------------------------------- GitLab

/// `$NAME` and `${NAME}` from `vars`, as the runner expands artifact paths.
fn gitlab_expand(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out += &rest[..i];
        let after = &rest[i + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(braced) => {
                let end = braced.find('}').expect("${ ends");
                (&braced[..end], end + 2)
            }
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        out += vars.get(name).map(String::as_str).unwrap_or("");
        rest = &after[len..];
    }
    out + rest
}

/// Runs one GitLab job instance: a fresh clone, the artifacts of the jobs
/// it needs extracted into it (one after the other, as the runner does),
/// its script, then its artifacts collected by `when`.
fn gitlab_job(
    r: &Runner,
    name: &str,
    job: &Value,
    vars: &BTreeMap<String, String>,
    artifacts_of: &[PathBuf],
) -> (JobRun, PathBuf) {
    let workspace = r.workspace();
    r.check_out(&workspace);
    for archive in artifacts_of {
        copy_dir(archive, &workspace);
    }
    let script = job["script"]
        .as_array()
        .expect("a script list")
        .iter()
        .map(|l| text(l).to_string())
        .collect::<Vec<_>>();
    let mut run = JobRun {
        codes: Vec::new(),
        log: String::new(),
        ok: true,
        summaries: Vec::new(),
    };
    for line in &script {
        let out = r
            .command(&workspace, vars)
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", line])
            .output()
            .unwrap();
        run.log += &format!("$ {line}\n{}{}", stdout(&out), stderr(&out));
        run.codes.push(code(&out));
        if !out.status.success() {
            run.ok = false;
            break;
        }
    }
    let artifacts = &job["artifacts"];
    let when = artifacts.get("when").map_or("on_success", text);
    let keep = match when {
        "always" => true,
        "on_success" => run.ok,
        "on_failure" => !run.ok,
        other => panic!("artifacts:when {other}"),
    };
    let index = vars.get("CI_NODE_INDEX").cloned().unwrap_or_default();
    let archive = r.store(&format!("{name}-{index}"));
    std::fs::create_dir_all(&archive).unwrap();
    if keep {
        for path in artifacts["paths"].as_array().into_iter().flatten() {
            let rel = gitlab_expand(text(path), vars);
            let rel = rel.trim_end_matches('/');
            let from = workspace.join(rel);
            if from.exists() {
                let to = archive.join(rel);
                if from.is_dir() {
                    copy_dir(&from, &to);
                } else {
                    copy_into(&from, to.parent().unwrap());
                }
            }
        }
    }
    (run, archive)
}

#[test]
fn the_gitlab_example_shards_then_merges_a_no_go_and_keeps_its_reports() {
    let pipeline = yaml(EXAMPLES[1]);
    let jobs: BTreeMap<String, Value> = pipeline
        .as_object()
        .expect("a mapping")
        .iter()
        .filter(|(_, v)| v.get("script").is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let r = Runner::new();
    let mut done: BTreeMap<String, Vec<(JobRun, PathBuf)>> = BTreeMap::new();
    let mut pending: Vec<&String> = jobs.keys().collect();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|name| needs(&jobs[*name]).iter().all(|n| done.contains_key(n)))
            .expect("a job whose needs have run");
        let name = pending.remove(ready);
        let job = &jobs[name];
        let needed = needs(job);
        for n in &needed {
            assert!(
                done[n].iter().all(|(run, _)| run.ok),
                "{name} would not run: {n} failed: {:#?}",
                done[n]
            );
        }
        let artifacts_of: Vec<PathBuf> = needed
            .iter()
            .flat_map(|n| done[n].iter().map(|(_, a)| a.clone()))
            .collect();
        let parallel = job
            .get("parallel")
            .map(|p| p.as_u64().expect("parallel: N"));
        let instances: Vec<Option<u64>> = match parallel {
            None => vec![None],
            Some(n) => (1..=n).map(Some).collect(),
        };
        let runs = instances
            .iter()
            .map(|index| {
                let mut vars = BTreeMap::from([
                    ("CI".to_string(), "true".to_string()),
                    ("GITLAB_CI".to_string(), "true".to_string()),
                    ("CI_PIPELINE_ID".to_string(), PIPELINE_ID.to_string()),
                    (
                        "CI_PIPELINE_CREATED_AT".to_string(),
                        PIPELINE_CREATED_AT.to_string(),
                    ),
                    (
                        "CI_NODE_TOTAL".to_string(),
                        parallel.unwrap_or(1).to_string(),
                    ),
                ]);
                if let Some(k) = index {
                    vars.insert("CI_NODE_INDEX".to_string(), k.to_string());
                }
                gitlab_job(&r, name, job, &vars, &artifacts_of)
            })
            .collect();
        done.insert(name.clone(), runs);
    }

    // The shards: each ran, each kept its reports under its own path.
    let shards = &done["keycompat"];
    assert_eq!(shards.len(), 4);
    for (k, (run, archive)) in shards.iter().enumerate() {
        assert!(run.ok, "a shard's NO-GO is not a failed job:\n{}", run.log);
        let k = k + 1;
        assert!(
            run.log.contains(&format!(
                "partition {k}/4 from GitLab parallel: CI_NODE_INDEX={k}, CI_NODE_TOTAL=4"
            )),
            "{}",
            run.log
        );
        let report = json(&archive.join(format!("reports/shard-{k}/report.json")));
        assert_eq!(report["meta"]["today"], &PIPELINE_CREATED_AT[..10]);
    }
    // Only the merge's JUnit is a report GitLab shows.
    for (name, job) in &jobs {
        let junit = job["artifacts"]["reports"].get("junit");
        assert_eq!(junit.is_some(), *name == "keycompat-merge", "{name}");
    }

    // The merge: NO-GO (exit 1), reports kept.
    let (merge, archive) = &done["keycompat-merge"][0];
    assert!(!merge.ok, "a NO-GO merge fails its job:\n{}", merge.log);
    assert_eq!(merge.codes.last(), Some(&1), "{}", merge.log);
    let junit = text(&jobs["keycompat-merge"]["artifacts"]["reports"]["junit"]);
    assert!(
        archive.join(junit).is_file(),
        "the JUnit report was not kept"
    );
    assert_merged_no_go(&archive.join("keycompat-report"));
}
