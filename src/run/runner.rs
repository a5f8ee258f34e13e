//! Feeds cases to threads in batches through the check matrix and folds
//! their outcomes into [`Aggregate`]s, one per thread, merged at the end.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::aggregate::Aggregate;
use super::settings::{Events, RunOptions};
use crate::check::{Case, Matrix, case_id};
use crate::coverage::CoverageSpace;
use crate::finding::{Check, Finding, Source};
use crate::random::Generator;
use crate::waiver::Waiver;

/// Where the cases of a batch come from, for the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vector,
    Random,
    Order,
}

/// Feeds cases to threads in batches and aggregates their outcomes.
pub struct Runner<'a> {
    /// The systems and releases.
    pub matrix: &'a Matrix,
    /// Waivers in force.
    pub waivers: &'a [Waiver],
    /// Options.
    pub options: &'a RunOptions,
    /// Set to stop taking new batches (Ctrl-C).
    pub stop: &'a AtomicBool,
    /// The entitlement space whose coverage the run tracks, if any.
    pub coverage: Option<&'a CoverageSpace>,
    /// Told of every unwaived finding, if given.
    pub events: Option<&'a dyn Events>,
}

impl Runner<'_> {
    /// Records a case's findings in `agg` (see [`Aggregate::record`]),
    /// telling the events of each unwaived one.
    pub(crate) fn record(&self, agg: &mut Aggregate, findings: Vec<Finding>) -> bool {
        let (waivers, today) = (self.waivers, self.options.today);
        match self.events {
            Some(events) => {
                agg.record_watched(findings, waivers, today, &mut |g| events.unwaived(g))
            }
            None => agg.record(findings, waivers, today),
        }
    }

    /// A system that can no longer answer at all, and why.
    pub fn fatal(&self) -> Option<(String, String)> {
        self.matrix.fatal()
    }

    /// Whether the run takes no more cases: it was stopped (Ctrl-C), or a
    /// system gave up (every later call of it would fail at once, so more
    /// cases would add crash findings and prove nothing).
    pub fn halted(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.fatal().is_some()
    }

    /// Runs fixed cases (vectors, regressions) through the matrix.
    pub fn run_cases(&self, cases: &[Case], progress: &(dyn Fn(u64) + Sync)) -> Aggregate {
        self.run_fixed(cases, progress, Kind::Vector).0
    }

    /// Runs random cases steered into uncovered combinations.
    pub fn run_steered(&self, cases: &[Case]) -> Aggregate {
        self.run_fixed(cases, &|_| {}, Kind::Random).0
    }

    /// Runs cases from a data source (orders) through the matrix; returns
    /// the aggregate and, per case with an unwaived finding, its source and
    /// the checks that found something.
    pub fn run_sourced(&self, cases: &[Case]) -> (Aggregate, Vec<(Source, Vec<Check>)>) {
        self.run_fixed(cases, &|_| {}, Kind::Order)
    }

    /// Runs the cases of this partition, in batches, counted as `kind`.
    fn run_fixed(
        &self,
        cases: &[Case],
        progress: &(dyn Fn(u64) + Sync),
        kind: Kind,
    ) -> (Aggregate, Vec<(Source, Vec<Check>)>) {
        let cases: Vec<&Case> = cases
            .iter()
            .filter(|c| self.options.partition.is_none_or(|p| p.contains(&c.id)))
            .collect();
        let batches: Vec<Vec<Case>> = cases
            .chunks(self.options.batch.max(1))
            .map(|c| c.iter().map(|&x| x.clone()).collect())
            .collect();
        self.parallel(
            batches.len() as u64,
            progress,
            |b| batches[b as usize].clone(),
            |b| batches[b as usize].len() as u64,
            kind,
        )
    }

    /// Runs random cases `0..options.cases` of `generator`.
    pub fn run_random(&self, generator: &Generator, progress: &(dyn Fn(u64) + Sync)) -> Aggregate {
        let batch = self.options.batch.max(1) as u64;
        let n_batches = self.options.cases.div_ceil(batch);
        let seed = generator.seed();
        self.parallel(
            n_batches,
            progress,
            |b| {
                (b * batch..((b + 1) * batch).min(self.options.cases))
                    .filter_map(|index| {
                        let e = generator.entitlement(index);
                        let id = case_id(&e);
                        self.options
                            .partition
                            .is_none_or(|p| p.contains(&id))
                            .then_some(Case {
                                id,
                                source: Source::Random { seed, index },
                                entitlement: e,
                            })
                    })
                    .collect()
            },
            |b| ((b + 1) * batch).min(self.options.cases) - b * batch,
            Kind::Random,
        )
        .0
    }

    /// Runs batches `0..n_batches` on the threads; `span(b)` is how many
    /// cases batch `b` stands for in the progress count (before partitioning).
    fn parallel(
        &self,
        n_batches: u64,
        progress: &(dyn Fn(u64) + Sync),
        make: impl Fn(u64) -> Vec<Case> + Sync,
        span: impl Fn(u64) -> u64 + Sync,
        kind: Kind,
    ) -> (Aggregate, Vec<(Source, Vec<Check>)>) {
        let validators: Vec<&str> = self.matrix.systems.keys().map(String::as_str).collect();
        let parts = pull_parallel(
            self.options.threads,
            n_batches,
            || (Aggregate::new(self.waivers.len()), Vec::new()),
            |(agg, failing_sources), b| {
                if self.halted() {
                    return false;
                }
                let cases = make(b);
                let outcomes = self.matrix.run_batch(&cases);
                if crate::plugin::worker::calls_stopped() {
                    // Ctrl-C or SIGTERM during the batch: calls in flight
                    // were cut short, so its answers are not all real. The
                    // report holds whole batches.
                    return false;
                }
                for (case, outcome) in cases.iter().zip(outcomes) {
                    if let Some(space) = self.coverage {
                        agg.coverage.observe_entitlement(space, &case.entitlement);
                        for &(v, verdict) in &outcome.verdicts {
                            if let Some(name) = validators.get(v) {
                                agg.coverage.observe_verdict(name, verdict);
                            }
                        }
                    }
                    for (cell, t) in outcome.tallies {
                        agg.tallies.entry(cell).or_default().add(&t);
                    }
                    let checks: Vec<Check> = if kind == Kind::Order {
                        let mut c: Vec<Check> =
                            outcome.findings.iter().map(|f| f.key.check).collect();
                        c.sort();
                        c.dedup();
                        c
                    } else {
                        Vec::new()
                    };
                    let failing = self.record(agg, outcome.findings);
                    let c = &mut agg.counts;
                    match kind {
                        Kind::Vector => {
                            c.vector_cases += 1;
                            c.vector_cases_failing += u64::from(failing);
                        }
                        Kind::Random => {
                            c.random_cases += 1;
                            c.random_cases_failing += u64::from(failing);
                        }
                        Kind::Order => {
                            c.order_cases += 1;
                            c.order_cases_failing += u64::from(failing);
                            if failing {
                                failing_sources.push((case.source.clone(), checks));
                            }
                        }
                    }
                }
                progress(span(b));
                true
            },
        );
        let mut total = Aggregate::new(self.waivers.len());
        let mut failing_sources = Vec::new();
        for (agg, failing) in parts {
            total.merge(agg);
            failing_sources.extend(failing);
        }
        (total, failing_sources)
    }
}

/// Work items `0..n` on `threads` scoped threads that each take the next
/// unclaimed item, so a slow batch never holds the others up. Each thread
/// folds its items into its own state (from `init`); `work` returns false to
/// stop that thread early. The states come back in thread order; a panic in
/// a worker is resumed here.
pub(crate) fn pull_parallel<S: Send>(
    threads: usize,
    n: u64,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, u64) -> bool + Sync,
) -> Vec<S> {
    let next = AtomicU64::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut state = init();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n || !work(&mut state, i) {
                            break;
                        }
                    }
                    state
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}
