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

pub mod result;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::check::{Case, Matrix, own_context};
use crate::entitlement::Entitlement;
use crate::implementation::Implementation;
use crate::random::Generator;
use crate::run::{RunOptions, Runner, case_id, pull_parallel};
use crate::verdict::{Context, Verdict};

pub use result::{
    BenchResult, Comparison, Hosting, MatrixRate, Measurement, Op, SCHEMA_VERSION, human_rate,
};

/// Calls per batch: the unit a worker process is crossed with, as in a run.
const BATCH: usize = 64;

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
    let calls: Vec<crate::check::Calls> = batches.iter().map(|b| m.calls(b)).collect();
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
        events: None,
    };
    // The same work queue as the matrix's, so only the judging differs.
    let bare = || {
        let start = Instant::now();
        pull_parallel(
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
