//! Real migration data in a run: keys already in customers' hands (field
//! keys) and real orders, streamed from the vendor's exports.
//!
//! Random cases prove the schemes; the go-live criteria also ask for a share
//! of the real data: at least 10 % of migrated keys validated by both
//! systems, at least 10 % of orders pushed through both with no issue. Each
//! field key is validated by the old and the new system in its own context;
//! any difference is a BACKWARD finding (the customer's key behaves
//! differently after go-live). Each order becomes a case of the check matrix,
//! like a random case, so every check runs on it.
//!
//! This module holds what the reports show of the exports; running them is
//! part of a run (`run/sources.rs`).

use serde::{Deserialize, Serialize};

use crate::export::{RowError, Stats};
use crate::finding::Check;
use crate::history::ids::IdSet;

/// Row errors kept per source for the report (all are counted).
pub const MAX_ROW_ERRORS: usize = 50;
/// Orders with findings listed per run (all are counted).
pub const MAX_FAILING_ORDERS: usize = 100;

/// A row that did not fit, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    /// The row's first line.
    pub line: u64,
    /// The export's column, when one is at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The offending value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl From<RowError> for RowProblem {
    fn from(e: RowError) -> Self {
        RowProblem {
            line: e.line,
            column: e.column,
            value: e.value,
            message: e.message,
        }
    }
}

/// What a run did with one export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceSummary {
    /// The export file, as configured.
    pub file: String,
    /// The share of rows asked for (sampled with the run's seed), in percent.
    pub share_asked_percent: f64,
    /// Data rows in the export.
    pub rows: u64,
    /// Rows in the sample.
    pub sampled: u64,
    /// Sampled rows that did not fit the mapping.
    pub row_errors: u64,
    /// Rows run through both systems (in this shard).
    pub run: u64,
    /// Of those, rows with an unwaived finding.
    pub with_findings: u64,
    /// The first row errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<RowProblem>,
    /// The stable ids of the rows run with no unwaived finding (field keys
    /// by their text, orders by their order id; see
    /// [`crate::history::ids`]): what the run history accumulates.
    #[serde(default, skip_serializing_if = "IdSet::is_empty")]
    pub clean_ids: IdSet,
}

impl SourceSummary {
    /// Rows run through both systems, as a share of all rows, in percent.
    pub fn run_percent(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            100.0 * self.run as f64 / self.rows as f64
        }
    }

    /// Rows run without an unwaived finding, as a share of all rows, in percent.
    pub fn clean_percent(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            100.0 * (self.run - self.with_findings) as f64 / self.rows as f64
        }
    }

    pub(crate) fn add_stats(&mut self, s: Stats) {
        self.rows = s.rows;
        self.sampled = s.sampled;
        self.row_errors = s.errors;
    }

    /// Joins the summaries of two shards of one run: both read every row, each
    /// ran its own.
    pub fn merge(&mut self, other: SourceSummary) {
        self.run += other.run;
        self.with_findings += other.with_findings;
        self.clean_ids.union(&other.clean_ids);
        for p in other.problems {
            if !self.problems.contains(&p) {
                self.problems.push(p);
            }
        }
        self.problems.sort_by_key(|p| p.line);
        self.problems.truncate(MAX_ROW_ERRORS);
    }
}

/// An order with an unwaived finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FailingOrder {
    /// The order id.
    pub order_id: String,
    /// The row's first line.
    pub line: u64,
    /// The checks that found something.
    pub checks: Vec<Check>,
}

/// The real-data part of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// The field-key export, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_keys: Option<SourceSummary>,
    /// The order export, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders: Option<SourceSummary>,
    /// The first orders with unwaived findings, by order id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failing_orders: Vec<FailingOrder>,
}

impl DataSummary {
    /// Joins two shards' summaries.
    pub fn merge(&mut self, other: DataSummary) {
        fn join(a: &mut Option<SourceSummary>, b: Option<SourceSummary>) {
            match (a.as_mut(), b) {
                (Some(a), Some(b)) => a.merge(b),
                (None, b) => *a = b,
                (Some(_), None) => {}
            }
        }
        join(&mut self.field_keys, other.field_keys);
        join(&mut self.orders, other.orders);
        self.failing_orders.extend(other.failing_orders);
        self.failing_orders.sort();
        self.failing_orders.dedup();
        self.failing_orders.truncate(MAX_FAILING_ORDERS);
    }
}
