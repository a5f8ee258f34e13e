//! Throughput: keys per second each system generates and validates, and what
//! the check matrix costs on top of the calls it makes.
//!
//! Two audiences read these figures. Whoever runs the new EMS needs to know it
//! carries go-live volume, old vs new, per key format, in-process and behind a
//! worker process, on one core and on all. Whoever runs keycompat in CI needs
//! to know a million cases fit in minutes, which [`MatrixRate`] answers: the
//! same cases through the full matrix and through a bare loop that makes the
//! same calls and judges nothing.
//!
//! Every figure is measured side by side in one process, so ratios hold on a
//! noisy machine even when absolute rates drift. Keys come from the run's own
//! random generator: the corpus has the same edges a run has.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::entitlement::Entitlement;
use crate::implementation::Implementation;
use crate::matrix::{Case, Matrix, own_context};
use crate::random::Generator;
use crate::run::{RunOptions, Runner, case_id};
use crate::verdict::{Context, Verdict};

/// The schema name of `bench.json`.
pub const SCHEMA_VERSION: &str = "keycompat-bench/1";

/// Calls per batch: the unit a worker process is crossed with, as in a run.
const BATCH: usize = 64;

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Issuing keys.
    Generate,
    /// Validating valid keys in their own context.
    Validate,
}

impl Op {
    /// The word tables print.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Generate => "generate",
            Op::Validate => "validate",
        }
    }
}

/// Where the implementation ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hosting {
    /// In keycompat's process (builtins always are).
    InProcess,
    /// Plugins in worker processes, batches over pipes.
    Isolated,
}

impl Hosting {
    /// The word tables print.
    pub fn as_str(self) -> &'static str {
        match self {
            Hosting::InProcess => "in-process",
            Hosting::Isolated => "isolated",
        }
    }
}

/// One measured rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Generate or validate.
    pub op: Op,
    /// The system's name in the config.
    pub system: String,
    /// The key format.
    pub format: String,
    /// In-process or isolated.
    pub hosting: Hosting,
    /// Threads calling at once.
    pub threads: usize,
    /// Calls made.
    pub calls: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Calls per second.
    pub per_second: f64,
}

/// Old and new side by side for one (op, format, hosting, threads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Generate or validate.
    pub op: Op,
    /// The key format.
    pub format: String,
    /// In-process or isolated.
    pub hosting: Hosting,
    /// Threads.
    pub threads: usize,
    /// The old system's rate, when it handles this format.
    pub old: Option<f64>,
    /// The new system's rate, when it handles this format.
    pub new: Option<f64>,
    /// new / old.
    pub ratio: Option<f64>,
}

/// The check matrix against a bare loop making the same calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRate {
    /// In-process or isolated.
    pub hosting: Hosting,
    /// Threads.
    pub threads: usize,
    /// Cases run.
    pub cases: u64,
    /// Checks in the matrix.
    pub checks: Vec<String>,
    /// Cases per second through the matrix (judging and aggregation included).
    pub matrix_per_second: f64,
    /// Cases per second of the bare loop.
    pub bare_per_second: f64,
    /// Matrix time over bare-loop time: the matrix's own cost, as a factor.
    pub overhead: f64,
}

/// What `keycompat bench` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// [`SCHEMA_VERSION`].
    pub schema: String,
    /// keycompat's version.
    pub keycompat_version: String,
    /// Seed of the corpus.
    pub seed: u64,
    /// Entitlements in the corpus.
    pub corpus: usize,
    /// Cores available.
    pub cores: usize,
    /// The system being retired.
    pub old: String,
    /// The system going live.
    pub new: String,
    /// Every rate.
    pub measurements: Vec<Measurement>,
    /// Old vs new.
    pub comparisons: Vec<Comparison>,
    /// The check matrix's cost.
    pub matrix: Vec<MatrixRate>,
}

/// How to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Seed of the corpus.
    pub seed: u64,
    /// Entitlements in the corpus.
    pub corpus: usize,
    /// How long each rate is measured.
    pub time: Duration,
    /// Thread counts to measure at (e.g. 1 and all cores).
    pub threads: Vec<usize>,
    /// Cases through the matrix per matrix measurement (0: skip).
    pub matrix_cases: u64,
}

/// The systems to measure, opened once per hosting.
pub struct Systems {
    /// Name -> implementation, in-process.
    pub in_process: BTreeMap<String, Arc<dyn Implementation>>,
    /// Name -> implementation in worker processes; builtins are absent.
    pub isolated: BTreeMap<String, Arc<dyn Implementation>>,
}

/// The matrices to measure (checks without TAMPER and TIME), per hosting.
pub struct Matrices {
    /// In-process.
    pub in_process: Option<Matrix>,
    /// Isolated.
    pub isolated: Option<Matrix>,
}

/// Keys of one format with the context each was issued for.
type KeySet = Vec<(Vec<u8>, Context)>;

/// Calls `work(round)` on `threads` threads until `time` has passed; `work`
/// returns the calls it made. Round `r` of thread `t` is `t + r * threads`.
fn timed(threads: usize, time: Duration, work: &(dyn Fn(usize) -> usize + Sync)) -> (u64, f64) {
    let start = Instant::now();
    let calls: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut calls = 0u64;
                    let mut round = t;
                    loop {
                        calls += work(round) as u64;
                        round += threads;
                        if start.elapsed() >= time {
                            return calls;
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .sum()
    });
    (calls, start.elapsed().as_secs_f64())
}

/// The entitlements one system issues keys of each format for, and those keys.
struct Issued {
    entitlements: BTreeMap<String, Vec<Entitlement>>,
    keys: BTreeMap<String, KeySet>,
}

/// Issues a key for every corpus entitlement and sorts them by the format the
/// issuer's own validator (else any validator) recognises.
fn issue(
    generator: &dyn Implementation,
    validators: &BTreeMap<String, Arc<dyn Implementation>>,
    corpus: &[Entitlement],
) -> Issued {
    let mut issued = Issued {
        entitlements: BTreeMap::new(),
        keys: BTreeMap::new(),
    };
    for e in corpus {
        let Ok(key) = generator.generate(e) else {
            continue;
        };
        let ctx = own_context(e);
        let format = validators.values().find_map(|v| {
            v.validate(key.as_bytes(), &ctx)
                .ok()
                .filter(|x| x.verdict == Verdict::Valid)
                .and_then(|x| x.format)
        });
        if let Some(format) = format {
            issued
                .entitlements
                .entry(format.clone())
                .or_default()
                .push(e.clone());
            issued
                .keys
                .entry(format)
                .or_default()
                .push((key.into_bytes(), ctx));
        }
    }
    issued
}

fn rate(
    op: Op,
    system: &str,
    format: &str,
    hosting: Hosting,
    threads: usize,
    m: (u64, f64),
) -> Measurement {
    Measurement {
        op,
        system: system.to_string(),
        format: format.to_string(),
        hosting,
        threads,
        calls: m.0,
        seconds: m.1,
        per_second: if m.1 > 0.0 { m.0 as f64 / m.1 } else { 0.0 },
    }
}

/// Measures every system, old vs new, and the matrix. `say` hears what is
/// being measured (for a progress line).
pub fn run(
    systems: &Systems,
    matrices: &Matrices,
    generator: &Generator,
    old: &str,
    new: &str,
    options: &BenchOptions,
    say: &dyn Fn(&str),
) -> BenchResult {
    let corpus: Vec<Entitlement> = (0..options.corpus as u64)
        .map(|i| generator.entitlement(i))
        .collect();
    let validators: BTreeMap<String, Arc<dyn Implementation>> = systems
        .in_process
        .iter()
        .filter(|(_, s)| s.info().can_validate)
        .map(|(n, s)| (n.clone(), s.clone()))
        .collect();
    // The validators' own issuers first, so a format's keys come from the
    // system that defines it (old for the legacy format, new for the new one).
    let mut issued: BTreeMap<String, Issued> = BTreeMap::new();
    for (name, s) in &systems.in_process {
        if s.info().can_generate {
            say(&format!("issuing the corpus with {name}"));
            issued.insert(name.clone(), issue(s.as_ref(), &validators, &corpus));
        }
    }
    let mut key_sets: BTreeMap<String, KeySet> = BTreeMap::new();
    for name in [old, new]
        .into_iter()
        .chain(issued.keys().map(String::as_str))
    {
        if let Some(i) = issued.get(name) {
            for (format, keys) in &i.keys {
                key_sets
                    .entry(format.clone())
                    .or_insert_with(|| keys.clone());
            }
        }
    }

    let mut measurements = Vec::new();
    let hostings = [
        (Hosting::InProcess, &systems.in_process),
        (Hosting::Isolated, &systems.isolated),
    ];
    for (hosting, opened) in hostings {
        for (name, imp) in opened {
            for &threads in &options.threads {
                if let Some(i) = issued.get(name) {
                    for (format, ents) in &i.entitlements {
                        say(&format!(
                            "generate {format} with {name}, {}, {threads} thread(s)",
                            hosting.as_str()
                        ));
                        let batches: Vec<Vec<&Entitlement>> =
                            ents.chunks(BATCH).map(|c| c.iter().collect()).collect();
                        let work = |round: usize| {
                            imp.generate_batch(&batches[round % batches.len()]).len()
                        };
                        work(0);
                        let m = timed(threads, options.time, &work);
                        measurements.push(rate(Op::Generate, name, format, hosting, threads, m));
                    }
                }
                if imp.info().can_validate {
                    for (format, keys) in &key_sets {
                        say(&format!(
                            "validate {format} with {name}, {}, {threads} thread(s)",
                            hosting.as_str()
                        ));
                        let batches: Vec<Vec<(&[u8], &Context)>> = keys
                            .chunks(BATCH)
                            .map(|c| c.iter().map(|(k, c)| (k.as_slice(), c)).collect())
                            .collect();
                        // A system that does not read this format rejects
                        // every key: its rate would measure a fast "no".
                        let reads = imp
                            .validate_batch(&batches[0])
                            .iter()
                            .any(|r| r.as_ref().is_ok_and(|v| v.verdict == Verdict::Valid));
                        if !reads {
                            continue;
                        }
                        let work = |round: usize| {
                            imp.validate_batch(&batches[round % batches.len()]).len()
                        };
                        let m = timed(threads, options.time, &work);
                        measurements.push(rate(Op::Validate, name, format, hosting, threads, m));
                    }
                }
            }
        }
    }

    let mut matrix = Vec::new();
    if options.matrix_cases > 0 {
        let cases: Vec<Case> = (0..options.matrix_cases)
            .map(|index| {
                let e = generator.entitlement(index);
                Case {
                    id: case_id(&e),
                    source: crate::finding::Source::Random {
                        seed: generator.seed(),
                        index,
                    },
                    entitlement: e,
                }
            })
            .collect();
        for (hosting, m) in [
            (Hosting::InProcess, &matrices.in_process),
            (Hosting::Isolated, &matrices.isolated),
        ] {
            let Some(m) = m else { continue };
            for &threads in &options.threads {
                say(&format!(
                    "check matrix, {}, {threads} thread(s)",
                    hosting.as_str()
                ));
                matrix.push(matrix_rate(m, hosting, threads, &cases));
            }
        }
    }

    let comparisons = compare(&measurements, old, new);
    BenchResult {
        schema: SCHEMA_VERSION.to_string(),
        keycompat_version: env!("CARGO_PKG_VERSION").to_string(),
        seed: generator.seed(),
        corpus: options.corpus,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        old: old.to_string(),
        new: new.to_string(),
        measurements,
        comparisons,
        matrix,
    }
}

/// The same cases through the matrix (as `keycompat run` runs them: batches
/// on threads, judged and aggregated) and through a bare loop of its calls,
/// alternated three times; the best of each counts.
pub fn matrix_rate(m: &Matrix, hosting: Hosting, threads: usize, cases: &[Case]) -> MatrixRate {
    let batches: Vec<&[Case]> = cases.chunks(BATCH).collect();
    let calls: Vec<crate::matrix::Calls> = batches.iter().map(|b| m.calls(b)).collect();
    let options = RunOptions {
        seed: 0,
        cases: 0,
        threads,
        batch: BATCH,
        partition: None,
        // No waivers: the day they would be judged on does not matter.
        today: cases.first().map_or_else(
            || crate::date::Day::parse("2000-01-01").expect("a valid date"),
            |c| c.entitlement.issued,
        ),
    };
    let stop = AtomicBool::new(false);
    let runner = Runner {
        matrix: m,
        waivers: &[],
        options: &options,
        stop: &stop,
        coverage: None,
    };
    // The same work queue as the matrix's, so only the judging differs.
    let bare = || {
        let start = Instant::now();
        crate::run::pull_parallel(
            threads,
            calls.len() as u64,
            || (),
            |_, b| {
                std::hint::black_box(calls[b as usize].replay(m));
                true
            },
        );
        start.elapsed().as_secs_f64()
    };
    let full = || {
        let start = Instant::now();
        std::hint::black_box(runner.run_cases(cases, &|_| {}));
        start.elapsed().as_secs_f64()
    };
    let (mut best_bare, mut best_full) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        best_bare = best_bare.min(bare());
        best_full = best_full.min(full());
    }
    let n = cases.len() as f64;
    MatrixRate {
        hosting,
        threads,
        cases: cases.len() as u64,
        checks: m.checks.iter().map(|c| c.as_str().to_string()).collect(),
        matrix_per_second: n / best_full,
        bare_per_second: n / best_bare,
        overhead: best_full / best_bare,
    }
}

/// Old vs new for every (op, format, hosting, threads) either measured.
fn compare(measurements: &[Measurement], old: &str, new: &str) -> Vec<Comparison> {
    let find = |system: &str, op, format: &str, hosting, threads| {
        measurements
            .iter()
            .find(|m| {
                m.system == system
                    && m.op == op
                    && m.format == format
                    && m.hosting == hosting
                    && m.threads == threads
            })
            .map(|m| m.per_second)
    };
    let keys: BTreeSet<(Op, String, Hosting, usize)> = measurements
        .iter()
        .filter(|m| m.system == old || m.system == new)
        .map(|m| (m.op, m.format.clone(), m.hosting, m.threads))
        .collect();
    keys.into_iter()
        .map(|(op, format, hosting, threads)| {
            let o = find(old, op, &format, hosting, threads);
            let n = find(new, op, &format, hosting, threads);
            Comparison {
                ratio: o.zip(n).filter(|(o, _)| *o > 0.0).map(|(o, n)| n / o),
                op,
                format,
                hosting,
                threads,
                old: o,
                new: n,
            }
        })
        .collect()
}

/// A rate for a table: `93.6k/s`.
pub fn human_rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2}M/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.1}k/s", per_second / 1e3)
    } else {
        format!("{per_second:.0}/s")
    }
}

impl BenchResult {
    /// The terminal table: old vs new, then every system, then the matrix.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "old `{}` vs new `{}` ({} cores, corpus of {} entitlements, seed {})",
            self.old, self.new, self.cores, self.corpus, self.seed
        );
        let _ = writeln!(
            out,
            "{:<9} {:<10} {:<11} {:>7} {:>11} {:>11} {:>9}",
            "op", "format", "hosting", "threads", "old", "new", "new/old"
        );
        let cell = |r: Option<f64>| r.map_or("-".to_string(), human_rate);
        for c in &self.comparisons {
            let _ = writeln!(
                out,
                "{:<9} {:<10} {:<11} {:>7} {:>11} {:>11} {:>9}",
                c.op.as_str(),
                c.format,
                c.hosting.as_str(),
                c.threads,
                cell(c.old),
                cell(c.new),
                c.ratio.map_or("-".to_string(), |r| format!("{r:.2}x")),
            );
        }
        let _ = writeln!(out, "\nevery system:");
        let _ = writeln!(
            out,
            "{:<16} {:<9} {:<10} {:<11} {:>7} {:>11}",
            "system", "op", "format", "hosting", "threads", "rate"
        );
        for m in &self.measurements {
            let _ = writeln!(
                out,
                "{:<16} {:<9} {:<10} {:<11} {:>7} {:>11}",
                m.system,
                m.op.as_str(),
                m.format,
                m.hosting.as_str(),
                m.threads,
                human_rate(m.per_second)
            );
        }
        if !self.matrix.is_empty() {
            let _ = writeln!(
                out,
                "\ncheck matrix ({}) vs a bare loop of the same calls:",
                self.matrix[0].checks.join(",")
            );
            let _ = writeln!(
                out,
                "{:<11} {:>7} {:>7} {:>13} {:>13} {:>9}",
                "hosting", "threads", "cases", "matrix", "bare loop", "overhead"
            );
            for m in &self.matrix {
                let _ = writeln!(
                    out,
                    "{:<11} {:>7} {:>7} {:>13} {:>13} {:>8.2}x",
                    m.hosting.as_str(),
                    m.threads,
                    m.cases,
                    human_rate(m.matrix_per_second),
                    human_rate(m.bare_per_second),
                    m.overhead
                );
            }
        }
        out
    }

    /// Old vs new as the HTML report's throughput chart.
    pub fn chart(&self) -> crate::report::Throughput {
        crate::report::Throughput {
            unit: "keys/s".to_string(),
            rows: self
                .comparisons
                .iter()
                .filter(|c| c.old.is_some() || c.new.is_some())
                .map(|c| crate::report::ThroughputRow {
                    label: format!(
                        "{} {}, {}, {} thr",
                        c.op.as_str(),
                        c.format,
                        c.hosting.as_str(),
                        c.threads
                    ),
                    old: c.old.unwrap_or(0.0),
                    new: c.new.unwrap_or(0.0),
                })
                .collect(),
        }
    }
}
