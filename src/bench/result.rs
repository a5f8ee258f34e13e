//! What `keycompat bench` measured (`bench.json`, versioned): every figure's
//! samples, one per round, with their median and range; old vs new and the
//! matrix against its bare loop as per-round ratios with their range. Read
//! back by `keycompat run --throughput` and by `keycompat bench --baseline`.
//!
//! A rate alone says little on a shared machine: the same library measured
//! twice can differ twofold. So no figure here is a single number: each is a
//! [`Stats`] (median, min, max over the rounds), and [`BenchResult::check`]
//! refuses a file whose figures could not have come from a measurement.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::implementation::ImplInfo;

/// The schema name of `bench.json`. `/3`: figures are [`Stats`] over rounds
/// with their samples (in `/2` they were single numbers).
pub const SCHEMA_VERSION: &str = "keycompat-bench/3";

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
    /// A process plugin (`command = [...]`): its own child process, spoken
    /// to over the process protocol, however plugins are hosted.
    Process,
}

impl Hosting {
    /// The word tables print.
    pub fn as_str(self) -> &'static str {
        match self {
            Hosting::InProcess => "in-process",
            Hosting::Isolated => "isolated",
            Hosting::Process => "process",
        }
    }
}

/// A figure over the rounds: the median of its samples and their range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The median sample (the mean of the middle two for an even count).
    pub median: f64,
    /// The lowest sample.
    pub min: f64,
    /// The highest sample.
    pub max: f64,
}

impl Stats {
    /// The median and range of `samples`; `None` when there are none or one
    /// is not a finite number.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Stats {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }

    /// Whether the two ranges share a value.
    pub fn overlaps(&self, other: &Stats) -> bool {
        self.min <= other.max && other.min <= self.max
    }

    /// Why these numbers cannot be a measurement's, if they cannot.
    fn problem(&self) -> Option<&'static str> {
        let all = [self.min, self.median, self.max];
        if all.iter().any(|x| !x.is_finite() || *x < 0.0) {
            Some("a negative or non-finite number")
        } else if !(self.min <= self.median && self.median <= self.max) {
            Some("not min <= median <= max")
        } else {
            None
        }
    }
}

/// One measured rate: one system, operation, format, hosting and thread
/// count, once per round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Generate or validate.
    pub op: Op,
    /// The system's name in the config.
    pub system: String,
    /// The key format.
    pub format: String,
    /// In-process, isolated or a process plugin.
    pub hosting: Hosting,
    /// Threads calling at once.
    pub threads: usize,
    /// Calls answered (failed calls are not counted), all rounds.
    pub calls: u64,
    /// Wall time, seconds, all rounds.
    pub seconds: f64,
    /// Calls answered per second over the rounds.
    pub per_second: Stats,
    /// Calls answered per second of each round, in round order.
    pub samples: Vec<f64>,
}

/// Old and new side by side for one (op, format, hosting, threads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Generate or validate.
    pub op: Op,
    /// The key format.
    pub format: String,
    /// Where both ran.
    pub hosting: Hosting,
    /// Threads.
    pub threads: usize,
    /// The old system's rate, when it handles this format.
    pub old: Option<Stats>,
    /// The new system's rate, when it handles this format.
    pub new: Option<Stats>,
    /// new / old, taken within each round (both measured in it), over the
    /// rounds: not the ratio of the medians.
    pub ratio: Option<Stats>,
}

/// The check matrix against a bare loop making the same calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRate {
    /// In-process or isolated.
    pub hosting: Hosting,
    /// Threads.
    pub threads: usize,
    /// Cases per run.
    pub cases: u64,
    /// Checks in the matrix.
    pub checks: Vec<String>,
    /// Cases per second through the matrix (judging and aggregation included).
    pub matrix_per_second: Stats,
    /// Cases per second of the bare loop.
    pub bare_per_second: Stats,
    /// Matrix time over bare-loop time within each round, over the rounds:
    /// the matrix's own cost, as a factor.
    pub overhead: Stats,
    /// Matrix cases per second of each round, in round order.
    pub matrix_samples: Vec<f64>,
    /// Bare-loop cases per second of each round, in round order.
    pub bare_samples: Vec<f64>,
}

/// What `keycompat bench` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// [`SCHEMA_VERSION`].
    pub schema: String,
    /// keycompat's version.
    pub keycompat_version: String,
    /// Seed of the corpus (a string in JSON: exact in every reader).
    #[serde(with = "crate::json_u64")]
    pub seed: u64,
    /// Entitlements in the corpus.
    pub corpus: usize,
    /// Cores available.
    pub cores: usize,
    /// Rounds: every figure was measured once per round, interleaved.
    pub rounds: usize,
    /// The system being retired.
    pub old: String,
    /// The system going live.
    pub new: String,
    /// Every system measured or issuing the corpus, by name: which build
    /// was measured (its SHA-256), so a run's volume gates can refuse
    /// figures of another build. Absent in files written before the volume
    /// gates, which those gates therefore refuse.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub systems: BTreeMap<String, ImplInfo>,
    /// Every rate.
    pub measurements: Vec<Measurement>,
    /// Old vs new.
    pub comparisons: Vec<Comparison>,
    /// The check matrix's cost.
    pub matrix: Vec<MatrixRate>,
}

/// A rate for a table: `93.6k/s`.
pub fn human_rate(per_second: f64) -> String {
    format!("{}/s", human_number(per_second))
}

/// A rate without its unit: `93.6k`.
pub fn human_number(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// A rate with its range: `93.6k/s (90.1k..95.0k)`.
pub fn human_rate_stats(s: &Stats) -> String {
    format!(
        "{} ({}..{})",
        human_rate(s.median),
        human_number(s.min),
        human_number(s.max)
    )
}

/// A ratio with its range: `1.31x (1.25..1.40)`.
pub fn human_ratio_stats(s: &Stats) -> String {
    format!("{:.2}x ({:.2}..{:.2})", s.median, s.min, s.max)
}

impl BenchResult {
    /// Checks what serde cannot: every figure is a possible measurement
    /// (finite, not negative, min <= median <= max) and every sample list
    /// has one sample per round. Says which figure is wrong, and how.
    pub fn check(&self) -> Result<(), String> {
        let stats = |what: String, s: &Stats| match s.problem() {
            Some(p) => Err(format!("{what}: {p}")),
            None => Ok(()),
        };
        let samples = |what: String, v: &[f64]| {
            if v.len() != self.rounds {
                Err(format!(
                    "{what}: {} samples for {} rounds",
                    v.len(),
                    self.rounds
                ))
            } else if v.iter().any(|x| !x.is_finite() || *x < 0.0) {
                Err(format!("{what}: a negative or non-finite sample"))
            } else {
                Ok(())
            }
        };
        if self.rounds == 0 {
            return Err("\"rounds\" is 0".into());
        }
        for m in &self.measurements {
            let what = format!(
                "measurement {} {} {} {} {} thr",
                m.system,
                m.op.as_str(),
                m.format,
                m.hosting.as_str(),
                m.threads
            );
            stats(what.clone(), &m.per_second)?;
            samples(what, &m.samples)?;
        }
        for c in &self.comparisons {
            let what = format!(
                "comparison {} {} {} {} thr",
                c.op.as_str(),
                c.format,
                c.hosting.as_str(),
                c.threads
            );
            for s in [&c.old, &c.new, &c.ratio].into_iter().flatten() {
                stats(what.clone(), s)?;
            }
        }
        for m in &self.matrix {
            let what = format!("matrix {} {} thr", m.hosting.as_str(), m.threads);
            for s in [&m.matrix_per_second, &m.bare_per_second, &m.overhead] {
                stats(what.clone(), s)?;
            }
            samples(what.clone(), &m.matrix_samples)?;
            samples(what, &m.bare_samples)?;
        }
        Ok(())
    }

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
            "median of {} interleaved rounds (min..max across rounds); new/old is taken within each round",
            self.rounds
        );
        let rate = |r: Option<Stats>| r.as_ref().map_or("-".to_string(), human_rate_stats);
        let ratio = |r: Option<Stats>| r.as_ref().map_or("-".to_string(), human_ratio_stats);
        if self.comparisons.is_empty() {
            // `--systems` without both old and new: nothing to compare.
            let _ = writeln!(
                out,
                "no old vs new comparison: old and new were not both measured"
            );
        } else {
            let _ = writeln!(
                out,
                "{:<9} {:<10} {:<11} {:>7} {:>26} {:>26} {:>22}",
                "op", "format", "hosting", "threads", "old", "new", "new/old"
            );
        }
        for c in &self.comparisons {
            let _ = writeln!(
                out,
                "{:<9} {:<10} {:<11} {:>7} {:>26} {:>26} {:>22}",
                c.op.as_str(),
                c.format,
                c.hosting.as_str(),
                c.threads,
                rate(c.old),
                rate(c.new),
                ratio(c.ratio),
            );
        }
        let _ = writeln!(out, "\nevery system:");
        let _ = writeln!(
            out,
            "{:<16} {:<9} {:<10} {:<11} {:>7} {:>26}",
            "system", "op", "format", "hosting", "threads", "rate"
        );
        for m in &self.measurements {
            let _ = writeln!(
                out,
                "{:<16} {:<9} {:<10} {:<11} {:>7} {:>26}",
                m.system,
                m.op.as_str(),
                m.format,
                m.hosting.as_str(),
                m.threads,
                human_rate_stats(&m.per_second)
            );
        }
        if let Some(first) = self.matrix.first() {
            let _ = writeln!(
                out,
                "\ncheck matrix ({}) vs a bare loop of the same calls:",
                first.checks.join(",")
            );
            let _ = writeln!(
                out,
                "{:<11} {:>7} {:>7} {:>26} {:>26} {:>22}",
                "hosting", "threads", "cases", "matrix", "bare loop", "overhead"
            );
            for m in &self.matrix {
                let _ = writeln!(
                    out,
                    "{:<11} {:>7} {:>7} {:>26} {:>26} {:>22}",
                    m.hosting.as_str(),
                    m.threads,
                    m.cases,
                    human_rate_stats(&m.matrix_per_second),
                    human_rate_stats(&m.bare_per_second),
                    human_ratio_stats(&m.overhead)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_the_median_and_range() {
        let s = Stats::of(&[3.0, 1.0, 2.0]).expect("stats");
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let even = Stats::of(&[4.0, 1.0, 2.0, 10.0]).expect("stats");
        assert_eq!((even.median, even.min, even.max), (3.0, 1.0, 10.0));
        assert!(Stats::of(&[]).is_none());
        assert!(Stats::of(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn ranges_overlap_when_they_share_a_value() {
        let a = Stats::of(&[1.0, 2.0]).expect("a");
        let b = Stats::of(&[2.0, 3.0]).expect("b");
        let c = Stats::of(&[2.5, 3.0]).expect("c");
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c) && !c.overlaps(&a));
    }

    #[test]
    fn impossible_stats_are_named() {
        let bad = Stats {
            median: 5.0,
            min: 6.0,
            max: 7.0,
        };
        assert_eq!(bad.problem(), Some("not min <= median <= max"));
        let negative = Stats {
            median: -1.0,
            min: -1.0,
            max: -1.0,
        };
        assert!(negative.problem().is_some());
    }
}
