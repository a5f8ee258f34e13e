//! The vendor's exports in a run: field keys validated by old and new (the
//! BACKWARD check judges each), orders run through the check matrix as
//! cases. Rows stream in chunks (a few thousand rows in memory at a time,
//! whatever the export's size); rows that do not fit are counted, the first
//! of them kept with line, column and value for the report, and never stop
//! the run.

use std::collections::HashSet;
use std::path::Path;

use super::aggregate::Aggregate;
use super::runner::{Runner, pull_parallel};
use super::settings::{Events, RunError};
use crate::check::{Case, FieldKeyMiss, Matrix, backward, case_id};
use crate::config::Config;
use crate::date::Day;
use crate::export::{FieldKey, FieldKeyReader, OrderReader, RowError, SourceError};
use crate::fanout;
use crate::finding::{Check, Finding, GroupKey, Source};
use crate::history::ids::{self, IdSet};
use crate::implementation::CallFailure;
use crate::judge::Miss;
use crate::sources::{
    DataSummary, FailingOrder, MAX_FAILING_ORDERS, MAX_ROW_ERRORS, SourceSummary,
};
use crate::verdict::{Context, Validation};

/// Rows read per chunk and thread before the chunk is checked.
const CHUNK_PER_THREAD: usize = 512;

fn keep_problem(summary: &mut SourceSummary, e: RowError, events: &dyn Events) {
    if summary.problems.len() < 5 {
        events.warning(&e.to_string());
    }
    if summary.problems.len() < MAX_ROW_ERRORS {
        summary.problems.push(e.into());
    }
}

/// Validates every sampled field key with the old and the new system.
fn run_field_keys(
    runner: &Runner<'_>,
    mut reader: FieldKeyReader,
    file: &str,
    share: f64,
    events: &dyn Events,
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
                Err(e) => keep_problem(&mut summary, e, events),
            }
            if keys.len() == chunk {
                break;
            }
        }
        if keys.is_empty() || runner.halted() {
            break;
        }
        let batches: Vec<&[FieldKey]> = keys.chunks(runner.options.batch.max(1)).collect();
        let parts = pull_parallel(
            runner.options.threads,
            batches.len() as u64,
            || (Aggregate::new(runner.waivers.len()), 0u64, 0u64, Vec::new()),
            |(agg, run, failing, clean), b| {
                if runner.halted() {
                    return false;
                }
                let batch: Vec<&FieldKey> = batches[b as usize]
                    .iter()
                    .filter(|k| {
                        let id = field_key_id(file, k.line);
                        runner.options.partition.is_none_or(|p| p.contains(&id))
                    })
                    .collect();
                let compared = compare_keys(m, file, &batch);
                if crate::plugin::worker::calls_stopped() {
                    // Cut short by Ctrl-C or SIGTERM: not judged.
                    return false;
                }
                for (k, findings) in batch.iter().zip(compared) {
                    let cell = (
                        Check::Backward,
                        "field-keys".to_string(),
                        Some(m.new.clone()),
                    );
                    agg.observe(cell, findings.is_empty());
                    *run += 1;
                    let failed = runner.record(agg, findings);
                    *failing += u64::from(failed);
                    if !failed {
                        clean.push(ids::field_key_id(&k.key));
                    }
                }
                true
            },
        );
        let mut clean_ids = Vec::new();
        for (agg, run, failing, clean) in parts {
            total.merge(agg);
            summary.run += run;
            summary.with_findings += failing;
            clean_ids.extend(clean);
        }
        summary.clean_ids.union(&IdSet::from_ids(clean_ids));
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
    let requests: Vec<(&[u8], &Context)> = keys
        .iter()
        .map(|k| (k.key.as_bytes(), &k.context))
        .collect();
    // Old and new answer at once (see `fanout.rs`).
    let jobs = vec![
        (&*m.systems[&m.old], requests.as_slice()),
        (&*m.systems[&m.new], requests.as_slice()),
    ];
    let mut both = fanout::ask_each(jobs, |system, r| system.validate_batch(r)).into_iter();
    let (old, new) = (
        both.next().unwrap_or_default(),
        both.next().unwrap_or_default(),
    );
    let mut findings: Vec<Vec<Finding>> = keys
        .iter()
        .zip(old.into_iter().zip(new))
        .map(|(k, (o, n))| compare_key(m, file, k, o, n))
        .collect();
    // A batch failure no key reproduced alone: the batch's first key is the
    // example, so it is reported rather than dropped.
    if let (Some(first), Some(k)) = (findings.first_mut(), keys.first()) {
        for system in [&m.old, &m.new] {
            for f in m.systems[system].take_batch_failures() {
                let miss = FieldKeyMiss {
                    validator: system.clone(),
                    cause: format!("field key: batch {}", Miss::Failed(f.clone()).cause()),
                    miss: Miss::Failed(f),
                    expected: "every batch answered, or a failure one key reproduces alone".into(),
                    validation: None,
                };
                first.push(field_key_finding(file, k, miss));
            }
        }
    }
    findings
}

fn compare_key(
    m: &Matrix,
    file: &str,
    k: &FieldKey,
    old: Result<Validation, CallFailure>,
    new: Result<Validation, CallFailure>,
) -> Vec<Finding> {
    let today = k.context.today;
    let witness = backward::expiry_witness_day(&old, &new, today).and_then(|day| {
        let context = Context {
            today: day,
            ..k.context.clone()
        };
        m.systems[&m.old]
            .validate_batch(&[(k.key.as_bytes(), &context)])
            .pop()
    });
    let ask = |system: &str| {
        m.systems[system]
            .validate_batch(&[(k.key.as_bytes(), &k.context)])
            .pop()
    };
    let misses = backward::judge_field_key(m, old, new, today, witness, &ask);
    misses
        .into_iter()
        .map(|d| field_key_finding(file, k, d))
        .collect()
}

/// The finding of field key `k`'s miss `d`.
fn field_key_finding(file: &str, k: &FieldKey, d: FieldKeyMiss) -> Finding {
    Finding {
        key: GroupKey {
            check: Check::Backward,
            severity: d.miss.severity(),
            generator: "field-keys".to_string(),
            validator: Some(d.validator),
            cause: d.cause,
        },
        case_id: field_key_id(file, k.line),
        source: Source::FieldKey {
            file: file.to_string(),
            line: k.line,
        },
        entitlement: None,
        license_key: Some(k.key.clone()),
        context: Some(k.context.clone()),
        expected: d.expected,
        found: d.miss.found(d.validation.as_ref()),
        diffs: d.miss.diffs().to_vec(),
        validation: d.validation,
        old_refused: None,
        avoidable: None,
    }
}

/// Runs every sampled order through the check matrix, as cases.
fn run_orders(
    runner: &Runner<'_>,
    mut reader: OrderReader,
    file: &str,
    share: f64,
    events: &dyn Events,
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
                Err(e) => keep_problem(&mut summary, e, events),
            }
            if cases.len() == chunk {
                break;
            }
        }
        if cases.is_empty() || runner.halted() {
            break;
        }
        let (agg, failing) = runner.run_sourced(&cases);
        summary.run += agg.counts().order_cases;
        summary.with_findings += agg.counts().order_cases_failing;
        total.merge(agg);
        let failed_lines: HashSet<u64> = failing
            .iter()
            .filter_map(|(source, _)| match source {
                Source::Order { line, .. } => Some(*line),
                _ => None,
            })
            .collect();
        let clean: Vec<u32> = cases
            .iter()
            .filter(|c| runner.options.partition.is_none_or(|p| p.contains(&c.id)))
            .filter_map(|c| match &c.source {
                Source::Order { line, order_id, .. } if !failed_lines.contains(line) => {
                    Some(ids::order_id(order_id))
                }
                _ => None,
            })
            .collect();
        summary.clean_ids.union(&IdSet::from_ids(clean));
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

/// The exports of the config, opened: each file's encoding and header are
/// checked when it opens, before any case runs, so a bad export costs no run.
pub(super) struct Exports {
    field_keys: Option<(FieldKeyReader, String, f64)>,
    orders: Option<(OrderReader, String, f64)>,
}

impl Exports {
    /// Opens both exports of the config, if configured.
    pub(super) fn open(config: &Config, seed: u64, today: Day) -> Result<Self, RunError> {
        let base = config.path.parent().unwrap_or(Path::new("."));
        let field_keys = match &config.sources.field_keys {
            Some(src) => Some((
                FieldKeyReader::open(src, base, &config.catalog, seed, today)?,
                src.path.display().to_string(),
                src.share,
            )),
            None => None,
        };
        let orders = match &config.sources.orders {
            Some(src) => Some((
                OrderReader::open(src, base, &config.catalog, seed)?,
                src.path.display().to_string(),
                src.share,
            )),
            None => None,
        };
        Ok(Exports { field_keys, orders })
    }

    /// Whether the config has no exports.
    pub(super) fn is_empty(&self) -> bool {
        self.field_keys.is_none() && self.orders.is_none()
    }
}

/// Runs both opened exports into `aggregate`.
pub(super) fn run_all(
    runner: &Runner<'_>,
    exports: Exports,
    config: &Config,
    aggregate: &mut Aggregate,
    events: &dyn Events,
) -> Result<DataSummary, RunError> {
    warn_about_shares(config, events);
    let mut data = DataSummary::default();
    if let Some((reader, file, share)) = exports.field_keys {
        let (agg, summary) = run_field_keys(runner, reader, &file, share, events)?;
        aggregate.merge(agg);
        events.source_done("field keys", &summary);
        data.field_keys = Some(summary);
    }
    if let Some((reader, file, share)) = exports.orders {
        let (agg, summary, failing) = run_orders(runner, reader, &file, share, events)?;
        aggregate.merge(agg);
        events.source_done("orders", &summary);
        data.orders = Some(summary);
        data.failing_orders = failing;
    }
    Ok(data)
}

/// A sampled share not above its gate's minimum turns the gate red as soon
/// as one sampled row does not fit: say so before the run.
fn warn_about_shares(config: &Config, events: &dyn Events) {
    let shares = [
        (
            "field_keys",
            config.sources.field_keys.as_ref().map(|s| s.share),
            config.gates.min_field_keys_percent,
        ),
        (
            "orders",
            config.sources.orders.as_ref().map(|s| s.share),
            config.gates.min_orders_percent,
        ),
    ];
    for (name, share, min) in shares {
        if let Some(share) = share.filter(|s| *s < 1.0 && s * 100.0 <= f64::from(min)) {
            events.warning(&format!(
                "[sources.{name}] share {share} is not above the gate's {min} %: \
                 sampled rows that do not fit count against it and turn the gate red; \
                 hint: ask for a little more, e.g. {:.2}",
                (f64::from(min) / 100.0 + 0.02).min(1.0)
            ));
        }
    }
}
