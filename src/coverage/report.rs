//! The coverage report: per dimension what was covered and what was not, for
//! the JSON and Markdown reports.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::space::{Coverage, CoverageSpace, Dimension};

/// Uncovered values listed per dimension; the rest are only counted.
const LISTED: usize = 50;

/// Coverage of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionCoverage {
    /// Stable key, e.g. `product_edition`.
    pub dimension: Dimension,
    /// Human name, e.g. `product × edition`.
    pub name: String,
    /// Values observed at least once.
    pub covered: u64,
    /// Values in the space.
    pub total: u64,
    /// `covered / total` in percent, rounded down to 0.01 (100 when the
    /// dimension is empty), so nothing short of full coverage reads 100.
    pub percent: f64,
    /// Labels of the first uncovered values, in the space's order.
    pub uncovered: Vec<String>,
    /// Uncovered values beyond those listed.
    pub uncovered_more: u64,
}

/// Coverage of every dimension, in a fixed order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageReport {
    /// Entitlements observed.
    pub entitlements: u64,
    /// Values covered, over all dimensions.
    pub covered: u64,
    /// Values, over all dimensions.
    pub total: u64,
    /// Overall percent, as [`DimensionCoverage::percent`].
    pub percent: f64,
    /// Per dimension, in [`Dimension::ALL`] order.
    pub dimensions: Vec<DimensionCoverage>,
}

pub(super) fn percent(covered: u64, total: u64) -> f64 {
    match total {
        0 => 100.0,
        t => (u128::from(covered) * 10_000 / u128::from(t)) as f64 / 100.0,
    }
}

impl CoverageSpace {
    /// The report of `coverage` over this space.
    pub fn report(&self, coverage: &Coverage) -> CoverageReport {
        let dimensions: Vec<DimensionCoverage> = Dimension::ALL
            .into_iter()
            .map(|d| self.dimension_report(coverage, d))
            .collect();
        let covered = dimensions.iter().map(|d| d.covered).sum();
        let total = dimensions.iter().map(|d| d.total).sum();
        CoverageReport {
            entitlements: coverage.entitlements(),
            covered,
            total,
            percent: percent(covered, total),
            dimensions,
        }
    }

    fn dimension_report(&self, coverage: &Coverage, d: Dimension) -> DimensionCoverage {
        let total = self.total(d);
        let mut uncovered = Vec::new();
        let mut missing = 0u64;
        for v in 0..total {
            if self.count(coverage, d, v) == 0 {
                missing += 1;
                if uncovered.len() < LISTED {
                    uncovered.push(self.label(d, v));
                }
            }
        }
        let total = total as u64;
        DimensionCoverage {
            dimension: d,
            name: d.name().to_string(),
            covered: total - missing,
            total,
            percent: percent(total - missing, total),
            uncovered_more: missing - uncovered.len() as u64,
            uncovered,
        }
    }
}

/// A Markdown table: dimension | covered | total | % | first uncovered.
pub fn render_markdown(report: &CoverageReport) -> String {
    let mut out = String::from(
        "| dimension | covered | total | % | first uncovered |\n|---|---:|---:|---:|---|\n",
    );
    for d in &report.dimensions {
        let first = match d.uncovered.first() {
            None => String::new(),
            Some(label) => {
                let rest = d.uncovered.len() as u64 - 1 + d.uncovered_more;
                match rest {
                    0 => cell(label),
                    n => format!("{} (+{n} more)", cell(label)),
                }
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {first} |",
            cell(&d.name),
            d.covered,
            d.total,
            d.percent
        );
    }
    let _ = writeln!(
        out,
        "| **all** | {} | {} | {:.2} | |",
        report.covered, report.total, report.percent
    );
    out
}

/// A label made safe for a table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}
