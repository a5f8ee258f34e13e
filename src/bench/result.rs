//! What `keycompat bench` measured (`bench.json`, versioned): rates per
//! system, operation, hosting and thread count, old vs new, and the matrix
//! against its bare loop. Read back by `keycompat run --throughput`.

use serde::{Deserialize, Serialize};

/// The schema name of `bench.json`.
pub const SCHEMA_VERSION: &str = "keycompat-bench/2";

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
    /// Seed of the corpus (a string in JSON: exact in every reader).
    #[serde(with = "crate::json_u64")]
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
}
