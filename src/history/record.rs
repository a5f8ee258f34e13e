//! One line of the run history: what a later run needs to judge criteria
//! over time and draw the trend, and nothing more (no keys, no
//! entitlements, no paths), so the file stays small and safe to commit.
//!
//! The format is versioned by [`SCHEMA`]; fields are only ever added, with
//! defaults, so an older keycompat's lines stay readable.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::IdSet;
use crate::date::Day;
use crate::finding::{Check, Severity};
use crate::gate::{Scope, Status};

/// The `schema` of every record this keycompat writes.
pub const SCHEMA: &str = "keycompat-history/1";

/// The implementation of a system, as far as the history needs to tell a
/// change of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemId {
    /// The implementation's own name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// SHA-256 of its plugin library or script, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl SystemId {
    /// A short form for reports: `acme-ed1 1.0.0 (sha256 3f2a9c01b7e4)`.
    pub fn short(&self) -> String {
        match &self.sha256 {
            Some(h) => format!(
                "{} {} (sha256 {})",
                self.name,
                self.version,
                &h[..h.len().min(12)]
            ),
            None => format!("{} {}", self.name, self.version),
        }
    }
}

/// A gate's colour in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateStatus {
    /// The gate's name.
    pub name: String,
    /// Its colour.
    pub status: Status,
}

/// A finding group in one run, by its stable id: all its findings and how
/// many were waived (a root cause partly waived is one entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCount {
    /// The group's stable id (`g-...`).
    pub id: String,
    /// Its check.
    pub check: Check,
    /// Its severity.
    pub severity: Severity,
    /// Findings.
    pub findings: u64,
    /// Of those, waived.
    #[serde(default)]
    pub waived: u64,
}

/// What one run did with one export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// Rows in the export.
    pub rows: u64,
    /// Rows run through both systems.
    pub run: u64,
    /// Of those, with an unwaived finding.
    pub with_findings: u64,
    /// The ids of the rows run with no unwaived finding.
    #[serde(default)]
    pub clean: IdSet,
}

impl Share {
    /// Rows run with no unwaived finding, in percent of the export.
    pub fn clean_percent(&self) -> f64 {
        percent_of(self.run - self.with_findings.min(self.run), self.rows)
    }

    /// Rows run, in percent of the export.
    pub fn run_percent(&self) -> f64 {
        percent_of(self.run, self.rows)
    }
}

/// `n` in percent of `of` (0 when `of` is 0).
pub fn percent_of(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

/// One run in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`SCHEMA`].
    pub schema: String,
    /// The run's day (`--today`).
    pub date: Day,
    /// `full` (`keycompat run`, or a merge of its shards) or `data`.
    pub scope: Scope,
    /// Shards merged into this run (0: unsharded).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shards: u32,
    /// Seed of the random cases and of export sampling.
    #[serde(with = "crate::json_u64")]
    pub seed: u64,
    /// Random cases run.
    pub random_cases: u64,
    /// keycompat's version.
    pub keycompat_version: String,
    /// SHA-256 of the config file.
    pub config_sha256: String,
    /// The system going live (its role's name in the config).
    pub new: String,
    /// Its implementation.
    pub new_system: SystemId,
    /// SHA-256 of every system's plugin library or script, by system.
    #[serde(default)]
    pub plugins: BTreeMap<String, String>,
    /// The verdict.
    pub verdict: Status,
    /// Every gate's colour.
    pub gates: Vec<GateStatus>,
    /// Every finding group, waived ones too.
    pub groups: Vec<GroupCount>,
    /// The field-key export, when the run had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_keys: Option<Share>,
    /// The order export, when the run had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders: Option<Share>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Record {
    /// The record as one line of JSON (no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Unwaived findings per severity.
    pub fn unwaived_by_severity(&self) -> BTreeMap<Severity, u64> {
        let mut m = BTreeMap::new();
        for g in &self.groups {
            let n = g.findings - g.waived.min(g.findings);
            if n > 0 {
                *m.entry(g.severity).or_default() += n;
            }
        }
        m
    }

    /// The ids of groups with unwaived findings.
    pub fn unwaived_groups(&self) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|g| g.findings > g.waived)
            .map(|g| g.id.as_str())
            .collect()
    }

    /// Waived findings.
    pub fn waived(&self) -> u64 {
        self.groups.iter().map(|g| g.waived.min(g.findings)).sum()
    }
}

/// A line of the file that is not a record, and was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The line number, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: skipped", self.line, self.message)
    }
}
