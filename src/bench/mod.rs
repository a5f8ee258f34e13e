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
//! The machines this runs on are shared and noisy: one sample per figure
//! differed twofold between two measurements of the same library. So every
//! figure is measured in rounds, interleaved ([`rounds`]), and reported as
//! a median with its range; a ratio is taken within each round, between two
//! figures measured minutes apart at most, and reported with its range too.
//! [`baseline`] compares two such results figure by figure. Keys come from
//! the run's own random generator: the corpus has the same edges a run has.

pub mod baseline;
mod figures;
pub mod result;
mod rounds;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::check::{Case, Matrix, own_context};
use crate::entitlement::Entitlement;
use crate::implementation::Implementation;
use crate::random::Generator;
use crate::run::case_id;
use crate::verdict::{Context, Verdict};
use figures::{Figure, MatrixFigure, RateFigure, Work, batch_for, per_second, summary};

pub use result::{
    BenchResult, Comparison, Hosting, MatrixRate, Measurement, Op, SCHEMA_VERSION, Stats,
    human_number, human_rate, human_rate_stats, human_ratio_stats,
};

/// How to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Seed of the corpus.
    pub seed: u64,
    /// Entitlements in the corpus.
    pub corpus: usize,
    /// How long each rate is measured, in all: each round gets its share.
    pub time: Duration,
    /// Rounds (at least 1): every figure is measured once per round.
    pub rounds: usize,
    /// Thread counts to measure at (e.g. 1 and all cores).
    pub threads: Vec<usize>,
    /// Cases through the matrix per matrix sample (0: skip).
    pub matrix_cases: u64,
    /// The systems whose rates are measured; the others only issue the
    /// corpus (so a format the measured systems read but do not issue has
    /// keys). `None`: every system.
    pub measured: Option<BTreeSet<String>>,
}

/// A system opened as a run opens it by default, and where that put it.
pub struct Direct {
    /// In-process for builtins and plugin libraries; a process plugin runs
    /// in its own child process whatever the hosting.
    pub hosting: Hosting,
    /// The system.
    pub imp: Arc<dyn Implementation>,
}

/// The systems to measure, opened once per hosting.
pub struct Systems {
    /// Name -> the system as a run opens it by default.
    pub direct: BTreeMap<String, Direct>,
    /// Name -> implementation in worker processes; builtins and process
    /// plugins are absent.
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

/// Issues the corpus with every system that generates, and picks one key set
/// per format: the validators' own issuers first, so a format's keys come
/// from the system that defines it (old for the legacy format, new for the
/// new one).
fn issue_all(
    systems: &Systems,
    corpus: &[Entitlement],
    old: &str,
    new: &str,
    say: &dyn Fn(&str),
) -> (BTreeMap<String, Issued>, BTreeMap<String, KeySet>) {
    let validators: BTreeMap<String, Arc<dyn Implementation>> = systems
        .direct
        .iter()
        .filter(|(_, s)| s.imp.info().can_validate)
        .map(|(n, s)| (n.clone(), s.imp.clone()))
        .collect();
    let mut issued: BTreeMap<String, Issued> = BTreeMap::new();
    for (name, s) in &systems.direct {
        if s.imp.info().can_generate {
            say(&format!("issuing the corpus with {name}"));
            issued.insert(name.clone(), issue(s.imp.as_ref(), &validators, corpus));
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
    (issued, key_sets)
}

/// Every rate figure: each system (as a run opens it, then isolated), each
/// thread count, generate per format it issues, validate per format it
/// reads. Warms each system up on the way.
fn rate_figures<'a>(
    systems: &'a Systems,
    issued: &'a BTreeMap<String, Issued>,
    key_sets: &'a BTreeMap<String, KeySet>,
    options: &BenchOptions,
) -> Vec<RateFigure<'a>> {
    let measured = |name: &str| options.measured.as_ref().is_none_or(|m| m.contains(name));
    let direct = systems
        .direct
        .iter()
        .map(|(n, s)| (n.as_str(), s.hosting, s.imp.as_ref()));
    let isolated = systems
        .isolated
        .iter()
        .map(|(n, s)| (n.as_str(), Hosting::Isolated, s.as_ref()));
    let mut figures = Vec::new();
    for (name, hosting, imp) in direct.chain(isolated).filter(|(n, _, _)| measured(n)) {
        for &threads in &options.threads {
            let figure = |op, format: &'a str, work| RateFigure {
                op,
                system: name,
                format,
                hosting,
                threads,
                imp,
                work,
                samples: Vec::new(),
            };
            for (format, ents) in issued
                .get(name)
                .map(|i| &i.entitlements)
                .into_iter()
                .flatten()
            {
                let batches = ents
                    .chunks(batch_for(imp))
                    .map(|c| c.iter().collect())
                    .collect();
                let f = figure(Op::Generate, format, Work::Generate(batches));
                f.call(0);
                figures.push(f);
            }
            if !imp.info().can_validate {
                continue;
            }
            for (format, keys) in key_sets {
                let batches: Vec<Vec<(&[u8], &Context)>> = keys
                    .chunks(batch_for(imp))
                    .map(|c| c.iter().map(|(k, c)| (k.as_slice(), c)).collect())
                    .collect();
                // A system that does not read this format rejects every key:
                // its rate would measure a fast "no".
                let reads = batches.first().is_some_and(|b| {
                    imp.validate_batch(b)
                        .iter()
                        .any(|r| r.as_ref().is_ok_and(|v| v.verdict == Verdict::Valid))
                });
                if reads {
                    figures.push(figure(Op::Validate, format, Work::Validate(batches)));
                }
            }
        }
    }
    figures
}

/// The matrix's cases: the run's first `n` random cases.
fn matrix_cases(generator: &Generator, n: u64) -> Vec<Case> {
    (0..n)
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
        .collect()
}

/// The keys each validate figure cycles through, per key format, each
/// with the context it is validated in: what [`run`] measures with the
/// same systems, generator and options, so the same keys can be timed in
/// another program's own loop (`keycompat bench --write-keys`).
pub fn validate_keys(
    systems: &Systems,
    generator: &Generator,
    old: &str,
    new: &str,
    options: &BenchOptions,
) -> BTreeMap<String, Vec<(Vec<u8>, Context)>> {
    let corpus: Vec<Entitlement> = (0..options.corpus as u64)
        .map(|i| generator.entitlement(i))
        .collect();
    issue_all(systems, &corpus, old, new, &|_| {}).1
}

/// Measures every system, old vs new, and the matrix, in interleaved
/// rounds. `say` hears what is being measured (for a progress line).
pub fn run(
    systems: &Systems,
    matrices: &Matrices,
    generator: &Generator,
    old: &str,
    new: &str,
    options: &BenchOptions,
    say: &dyn Fn(&str),
) -> BenchResult {
    let rounds = options.rounds.max(1);
    let corpus: Vec<Entitlement> = (0..options.corpus as u64)
        .map(|i| generator.entitlement(i))
        .collect();
    let (issued, key_sets) = issue_all(systems, &corpus, old, new, say);
    let cases = matrix_cases(generator, options.matrix_cases);

    say("preparing and warming up every figure");
    let mut figures: Vec<Figure> = rate_figures(systems, &issued, &key_sets, options)
        .into_iter()
        .map(Figure::Rate)
        .collect();
    if !cases.is_empty() {
        for (hosting, m) in [
            (Hosting::InProcess, &matrices.in_process),
            (Hosting::Isolated, &matrices.isolated),
        ] {
            let Some(m) = m else { continue };
            for &threads in &options.threads {
                figures.push(Figure::Matrix(MatrixFigure::new(
                    m, hosting, threads, &cases,
                )));
            }
        }
    }

    let time = options.time.div_f64(rounds as f64);
    rounds::interleave(&mut figures, rounds, |f, round| {
        say(&format!("round {}/{rounds}: {}", round + 1, f.describe()));
        f.sample(round, time);
    });

    let mut measurements = Vec::new();
    let mut matrix = Vec::new();
    for f in figures {
        match f {
            Figure::Rate(f) => measurements.push(measurement(f)),
            Figure::Matrix(f) => matrix.push(matrix_rate(f)),
        }
    }
    let comparisons = compare(&measurements, old, new);
    BenchResult {
        schema: SCHEMA_VERSION.to_string(),
        keycompat_version: env!("CARGO_PKG_VERSION").to_string(),
        seed: generator.seed(),
        corpus: options.corpus,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rounds,
        old: old.to_string(),
        new: new.to_string(),
        systems: systems
            .direct
            .iter()
            .map(|(name, s)| (name.clone(), s.imp.info().clone()))
            .collect(),
        measurements,
        comparisons,
        matrix,
    }
}

fn measurement(f: RateFigure) -> Measurement {
    let samples: Vec<f64> = f
        .samples
        .iter()
        .map(|&(calls, seconds)| per_second(calls as f64, seconds))
        .collect();
    Measurement {
        op: f.op,
        system: f.system.to_string(),
        format: f.format.to_string(),
        hosting: f.hosting,
        threads: f.threads,
        calls: f.samples.iter().map(|s| s.0).sum(),
        seconds: f.samples.iter().map(|s| s.1).sum(),
        per_second: summary(&samples),
        samples,
    }
}

fn matrix_rate(f: MatrixFigure) -> MatrixRate {
    let cases = f.cases() as f64;
    let matrix_samples: Vec<f64> = f.samples.iter().map(|s| per_second(cases, s.0)).collect();
    let bare_samples: Vec<f64> = f.samples.iter().map(|s| per_second(cases, s.1)).collect();
    let overheads: Vec<f64> = f
        .samples
        .iter()
        .filter(|s| s.1 > 0.0)
        .map(|s| s.0 / s.1)
        .collect();
    MatrixRate {
        hosting: f.hosting,
        threads: f.threads(),
        cases: f.cases(),
        checks: f
            .matrix
            .checks
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        matrix_per_second: summary(&matrix_samples),
        bare_per_second: summary(&bare_samples),
        overhead: summary(&overheads),
        matrix_samples,
        bare_samples,
    }
}

/// Old vs new for every (op, format, hosting, threads) either measured; the
/// ratio is taken round by round.
fn compare(measurements: &[Measurement], old: &str, new: &str) -> Vec<Comparison> {
    let find = |system: &str, op, format: &str, hosting, threads| {
        measurements.iter().find(|m| {
            m.system == system
                && m.op == op
                && m.format == format
                && m.hosting == hosting
                && m.threads == threads
        })
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
            let ratio = o.zip(n).and_then(|(o, n)| {
                let per_round: Vec<f64> = n
                    .samples
                    .iter()
                    .zip(&o.samples)
                    .filter(|(_, o)| **o > 0.0)
                    .map(|(n, o)| n / o)
                    .collect();
                Stats::of(&per_round)
            });
            Comparison {
                old: o.map(|m| m.per_second),
                new: n.map(|m| m.per_second),
                ratio,
                op,
                format,
                hosting,
                threads,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(system: &str, samples: &[f64]) -> Measurement {
        Measurement {
            op: Op::Validate,
            system: system.into(),
            format: "f".into(),
            hosting: Hosting::InProcess,
            threads: 1,
            calls: 0,
            seconds: 0.0,
            per_second: summary(samples),
            samples: samples.to_vec(),
        }
    }

    #[test]
    fn ratios_pair_samples_of_the_same_round() {
        // Round 2 was slow for both: per round new is 1.5x and 2x old; the
        // ratio of the medians (85 / 55) would be neither.
        let old = measured("old", &[100.0, 10.0]);
        let new = measured("new", &[150.0, 20.0]);
        let c = compare(&[old, new], "old", "new");
        let r = c[0].ratio.expect("ratio");
        assert_eq!((r.median, r.min, r.max), (1.75, 1.5, 2.0));
    }

    #[test]
    fn a_system_alone_has_no_ratio() {
        let c = compare(&[measured("new", &[1.0])], "old", "new");
        assert!(c[0].old.is_none() && c[0].ratio.is_none() && c[0].new.is_some());
    }
}
