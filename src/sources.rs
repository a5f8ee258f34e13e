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
//! Rows stream in chunks (a few thousand rows in memory at a time, whatever
//! the export's size); rows that do not fit are counted, the first of them
//! kept with line, column and value for the report, and never stop the run.

use std::path::Path;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use crate::export::{FieldKey, FieldKeyReader, OrderReader, RowError, SourceError, Stats};
use crate::finding::{Check, Finding, GroupKey, Severity, Source};
use crate::matrix::{Case, Matrix};
use crate::run::{Aggregate, Runner, case_id};
use crate::verdict::{Validation, Verdict};

/// Row errors kept per source for the report (all are counted).
pub const MAX_ROW_ERRORS: usize = 50;
/// Orders with findings listed per run (all are counted).
pub const MAX_FAILING_ORDERS: usize = 100;
/// Rows read per chunk and thread before the chunk is checked.
const CHUNK_PER_THREAD: usize = 512;

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

    fn add_stats(&mut self, s: Stats) {
        self.rows = s.rows;
        self.sampled = s.sampled;
        self.row_errors = s.errors;
    }

    /// Joins the summaries of two shards of one run: both read every row, each
    /// ran its own.
    pub fn merge(&mut self, other: SourceSummary) {
        self.run += other.run;
        self.with_findings += other.with_findings;
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

fn keep_problem(summary: &mut SourceSummary, e: RowError, quiet: bool) {
    if !quiet && summary.problems.len() < 5 {
        eprintln!("warning: {e}");
    }
    if summary.problems.len() < MAX_ROW_ERRORS {
        summary.problems.push(e.into());
    }
}

/// Validates every sampled field key with the old and the new system.
pub fn run_field_keys(
    runner: &Runner<'_>,
    mut reader: FieldKeyReader,
    file: &str,
    share: f64,
    quiet: bool,
) -> Result<(Aggregate, SourceSummary), SourceError> {
    let m = runner.matrix;
    let mut summary = SourceSummary {
        file: file.to_string(),
        share_asked_percent: share * 100.0,
        ..SourceSummary::default()
    };
    let mut total = Aggregate::new(runner.waivers.len());
    let chunk = CHUNK_PER_THREAD * runner.options.threads.max(1);
    loop {
        let mut keys: Vec<FieldKey> = Vec::with_capacity(chunk);
        for item in reader.by_ref() {
            match item? {
                Ok(k) => keys.push(k),
                Err(e) => keep_problem(&mut summary, e, quiet),
            }
            if keys.len() == chunk {
                break;
            }
        }
        if keys.is_empty() || runner.stop.load(Ordering::Relaxed) {
            break;
        }
        let batches: Vec<&[FieldKey]> = keys.chunks(runner.options.batch.max(1)).collect();
        let parts = crate::run::pull_parallel(
            runner.options.threads,
            batches.len() as u64,
            || (Aggregate::new(runner.waivers.len()), 0u64, 0u64),
            |(agg, run, failing), b| {
                let batch: Vec<&FieldKey> = batches[b as usize]
                    .iter()
                    .filter(|k| {
                        let id = field_key_id(file, k.line);
                        runner.options.partition.is_none_or(|p| p.contains(&id))
                    })
                    .collect();
                for findings in compare_keys(m, file, &batch) {
                    let cell = (
                        Check::Backward,
                        "field-keys".to_string(),
                        Some(m.new.clone()),
                    );
                    let t = agg.tallies.entry(cell).or_default();
                    if findings.is_empty() {
                        t.pass += 1;
                    } else {
                        t.fail += 1;
                    }
                    *run += 1;
                    *failing +=
                        u64::from(agg.record(findings, runner.waivers, runner.options.today));
                }
                true
            },
        );
        for (agg, run, failing) in parts {
            total.merge(agg);
            summary.run += run;
            summary.with_findings += failing;
        }
    }
    summary.add_stats(reader.stats());
    Ok((total, summary))
}

/// The stable id of a field key for partitioning: its file and line.
fn field_key_id(file: &str, line: u64) -> String {
    format!("{file}:{line}")
}

/// Validates a batch of field keys with old and new; returns each key's findings.
fn compare_keys(m: &Matrix, file: &str, keys: &[&FieldKey]) -> Vec<Vec<Finding>> {
    let requests: Vec<(&[u8], &crate::verdict::Context)> = keys
        .iter()
        .map(|k| (k.key.as_bytes(), &k.context))
        .collect();
    let old = m.systems[&m.old].validate_batch(&requests);
    let new = m.systems[&m.new].validate_batch(&requests);
    keys.iter()
        .zip(old.into_iter().zip(new))
        .map(|(k, (o, n))| compare_key(m, file, k, o, n).into_iter().collect())
        .collect()
}

fn compare_key(
    m: &Matrix,
    file: &str,
    k: &FieldKey,
    old: Result<Validation, crate::implementation::CallFailure>,
    new: Result<Validation, crate::implementation::CallFailure>,
) -> Option<Finding> {
    let finding = |severity,
                   validator: &str,
                   cause: String,
                   expected: String,
                   found: String,
                   validation: Option<Validation>,
                   diffs| Finding {
        key: GroupKey {
            check: Check::Backward,
            severity,
            generator: "field-keys".to_string(),
            validator: Some(validator.to_string()),
            cause,
        },
        case_id: field_key_id(file, k.line),
        source: Source::FieldKey {
            file: file.to_string(),
            line: k.line,
        },
        entitlement: None,
        license_key: Some(k.key.clone()),
        context: Some(k.context.clone()),
        expected,
        found,
        validation,
        diffs,
    };
    let (old, new) = match (old, new) {
        (_, Err(f)) => {
            return Some(finding(
                Severity::Crash,
                &m.new,
                format!("field key: {:?}", f.kind),
                "an answer".into(),
                f.message,
                None,
                Vec::new(),
            ));
        }
        (Err(f), _) => {
            return Some(finding(
                Severity::Crash,
                &m.old,
                format!("field key: {:?}", f.kind),
                "an answer".into(),
                f.message,
                None,
                Vec::new(),
            ));
        }
        (Ok(o), Ok(n)) => (o, n),
    };
    if old.verdict != new.verdict {
        let severity = if old.verdict == Verdict::Valid {
            Severity::Outage
        } else if new.verdict == Verdict::Valid {
            Severity::Leak
        } else {
            Severity::Drift
        };
        return Some(finding(
            severity,
            &m.new,
            format!("field key {} by old, {} by new", old.verdict, new.verdict),
            format!("{} (as the old system says)", old.verdict),
            format!("{}", new.verdict),
            Some(new),
            Vec::new(),
        ));
    }
    if let (Some(a), Some(b)) = (&old.decoded, &new.decoded) {
        let diffs = a.diff(b, None);
        if !diffs.is_empty() {
            let fields: Vec<&str> = diffs.iter().map(|d| d.field.as_str()).collect();
            return Some(finding(
                Severity::Drift,
                &m.new,
                format!("field key decodes differently: {}", fields.join(", ")),
                "the old system's decode".into(),
                "a different decode".into(),
                Some(new),
                diffs,
            ));
        }
    }
    None
}

/// Runs every sampled order through the check matrix, as cases.
pub fn run_orders(
    runner: &Runner<'_>,
    mut reader: OrderReader,
    file: &str,
    share: f64,
    quiet: bool,
) -> Result<(Aggregate, SourceSummary, Vec<FailingOrder>), SourceError> {
    let mut summary = SourceSummary {
        file: file.to_string(),
        share_asked_percent: share * 100.0,
        ..SourceSummary::default()
    };
    let mut total = Aggregate::new(runner.waivers.len());
    let mut failing_orders: Vec<FailingOrder> = Vec::new();
    let chunk = CHUNK_PER_THREAD * runner.options.threads.max(1);
    loop {
        let mut cases: Vec<Case> = Vec::with_capacity(chunk);
        for item in reader.by_ref() {
            match item? {
                Ok(order) => cases.push(Case {
                    id: case_id(&order.entitlement),
                    source: Source::Order {
                        file: file.to_string(),
                        line: order.line,
                        order_id: order.order_id,
                    },
                    entitlement: order.entitlement,
                }),
                Err(e) => keep_problem(&mut summary, e, quiet),
            }
            if cases.len() == chunk {
                break;
            }
        }
        if cases.is_empty() || runner.stop.load(Ordering::Relaxed) {
            break;
        }
        let (agg, failing) = runner.run_sourced(&cases);
        summary.run += agg.counts.order_cases;
        summary.with_findings += agg.counts.order_cases_failing;
        total.merge(agg);
        for (source, checks) in failing {
            if let Source::Order { line, order_id, .. } = source {
                failing_orders.push(FailingOrder {
                    order_id,
                    line,
                    checks,
                });
            }
        }
        // The first by order id, whatever the order of threads and shards.
        failing_orders.sort();
        failing_orders.truncate(MAX_FAILING_ORDERS);
    }
    summary.add_stats(reader.stats());
    failing_orders.sort();
    Ok((total, summary, failing_orders))
}

/// Opens and runs both exports of the config, if configured.
pub fn run_all(
    runner: &Runner<'_>,
    config: &crate::config::Config,
    seed: u64,
    quiet: bool,
) -> Result<(Aggregate, DataSummary), SourceError> {
    let base = config.path.parent().unwrap_or(Path::new("."));
    let mut total = Aggregate::new(runner.waivers.len());
    let mut data = DataSummary::default();
    if let Some(src) = &config.sources.field_keys {
        let reader = FieldKeyReader::open(src, base, &config.catalog, seed, runner.options.today)?;
        let file = src.path.display().to_string();
        let (agg, summary) = run_field_keys(runner, reader, &file, src.share, quiet)?;
        total.merge(agg);
        data.field_keys = Some(summary);
    }
    if let Some(src) = &config.sources.orders {
        let reader = OrderReader::open(src, base, &config.catalog, seed)?;
        let file = src.path.display().to_string();
        let (agg, summary, failing) = run_orders(runner, reader, &file, src.share, quiet)?;
        total.merge(agg);
        data.orders = Some(summary);
        data.failing_orders = failing;
    }
    Ok((total, data))
}
