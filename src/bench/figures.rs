//! The figures `keycompat bench` measures, each able to take one sample per
//! round: a system's rate for one operation, format, hosting and thread
//! count, or the check matrix against a bare loop of its calls.
//!
//! A figure is prepared once (its batches cut, its system warmed up) and then
//! sampled once per round by [`super::rounds::interleave`]; it keeps its own
//! samples, so a sample cannot land on the wrong figure.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::result::{Hosting, Op, Stats};
use crate::check::{Calls, Case, Matrix};
use crate::entitlement::Entitlement;
use crate::implementation::Implementation;
use crate::run::{RunOptions, Runner, pull_parallel};
use crate::verdict::Context;

/// Calls per batch: the unit a worker process is crossed with, as in a run.
pub(crate) const BATCH: usize = 64;
/// Calls per batch to a process plugin: the most one request carries
/// (`plugins/PROTOCOL.md`), so the fixed cost of a request (a line each
/// way, two wake-ups, often an interpreter's loop around them) is spread
/// as thin as the protocol allows.
pub(crate) const PROCESS_BATCH: usize = 256;

/// How many calls `imp` gets per batch.
pub(crate) fn batch_for(imp: &dyn Implementation) -> usize {
    match imp.info().origin {
        crate::implementation::Origin::Process { .. } => PROCESS_BATCH,
        _ => BATCH,
    }
}

/// Calls `work(i)` on `threads` threads until `time` has passed; `work`
/// returns the calls it made. Call `i` of thread `t` is `t + i * threads`.
/// Returns the calls made and the seconds taken.
fn timed(threads: usize, time: Duration, work: &(dyn Fn(usize) -> usize + Sync)) -> (u64, f64) {
    let start = Instant::now();
    let calls: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut calls = 0u64;
                    let mut i = t;
                    loop {
                        calls += work(i) as u64;
                        i += threads;
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

/// `count` per `seconds`, 0 for no time at all.
pub(crate) fn per_second(count: f64, seconds: f64) -> f64 {
    if seconds > 0.0 { count / seconds } else { 0.0 }
}

/// The median and range of samples that exist: every figure has one per
/// round and `run` measures at least one round.
pub(crate) fn summary(samples: &[f64]) -> Stats {
    Stats::of(samples).unwrap_or(Stats {
        median: 0.0,
        min: 0.0,
        max: 0.0,
    })
}

/// The batches a rate figure cycles through.
pub(crate) enum Work<'a> {
    /// Entitlements to issue keys for.
    Generate(Vec<Vec<&'a Entitlement>>),
    /// Keys to validate, each in the context it was issued for.
    Validate(Vec<Vec<(&'a [u8], &'a Context)>>),
}

impl Work<'_> {
    fn batches(&self) -> usize {
        match self {
            Work::Generate(b) => b.len(),
            Work::Validate(b) => b.len(),
        }
    }
}

/// One system's rate for one operation, format, hosting and thread count.
pub(crate) struct RateFigure<'a> {
    pub(crate) op: Op,
    pub(crate) system: &'a str,
    pub(crate) format: &'a str,
    pub(crate) hosting: Hosting,
    pub(crate) threads: usize,
    pub(crate) imp: &'a dyn Implementation,
    pub(crate) work: Work<'a>,
    /// (calls, seconds) per round.
    pub(crate) samples: Vec<(u64, f64)>,
}

impl RateFigure<'_> {
    /// Batch `i` (cycling), made once; returns the calls answered. A call
    /// that failed (a crash, a timeout, a refusal) carried no volume: a
    /// system that fails fast must not look fast.
    pub(crate) fn call(&self, i: usize) -> usize {
        match &self.work {
            Work::Generate(b) => self
                .imp
                .generate_batch(&b[i % b.len()])
                .iter()
                .filter(|r| r.is_ok())
                .count(),
            Work::Validate(b) => self
                .imp
                .validate_batch(&b[i % b.len()])
                .iter()
                .filter(|r| r.is_ok())
                .count(),
        }
    }

    /// Measures one round for `time`.
    fn sample(&mut self, time: Duration) {
        if self.work.batches() == 0 {
            self.samples.push((0, 0.0));
            return;
        }
        let this = &*self;
        let m = timed(self.threads, time, &|i| this.call(i));
        self.samples.push(m);
    }

    fn describe(&self) -> String {
        format!(
            "{} {} with {}, {}, {} thread(s)",
            self.op.as_str(),
            self.format,
            self.system,
            self.hosting.as_str(),
            self.threads
        )
    }
}

/// The same cases through the matrix (as `keycompat run` runs them: batches
/// on threads, judged and aggregated) and through a bare loop of its calls,
/// back to back in each round.
pub(crate) struct MatrixFigure<'a> {
    pub(crate) hosting: Hosting,
    pub(crate) matrix: &'a Matrix,
    cases: &'a [Case],
    calls: Vec<Calls>,
    options: RunOptions,
    /// (matrix seconds, bare-loop seconds) per round.
    pub(crate) samples: Vec<(f64, f64)>,
}

impl<'a> MatrixFigure<'a> {
    /// Prepares the bare loop's calls (made once here, which also warms the
    /// systems up).
    pub(crate) fn new(
        matrix: &'a Matrix,
        hosting: Hosting,
        threads: usize,
        cases: &'a [Case],
    ) -> Self {
        let calls = cases.chunks(BATCH).map(|b| matrix.calls(b)).collect();
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
        MatrixFigure {
            hosting,
            matrix,
            cases,
            calls,
            options,
            samples: Vec::new(),
        }
    }

    pub(crate) fn threads(&self) -> usize {
        self.options.threads
    }

    pub(crate) fn cases(&self) -> u64 {
        self.cases.len() as u64
    }

    /// Seconds for the bare loop: the same work queue as the matrix's, so
    /// only the judging differs.
    fn bare(&self) -> f64 {
        let start = Instant::now();
        pull_parallel(
            self.options.threads,
            self.calls.len() as u64,
            || (),
            |_, b| {
                std::hint::black_box(self.calls[b as usize].replay(self.matrix));
                true
            },
        );
        start.elapsed().as_secs_f64()
    }

    /// Seconds for the full matrix.
    fn full(&self) -> f64 {
        let stop = AtomicBool::new(false);
        let runner = Runner {
            matrix: self.matrix,
            waivers: &[],
            options: &self.options,
            stop: &stop,
            coverage: None,
            events: None,
        };
        let start = Instant::now();
        std::hint::black_box(runner.run_cases(self.cases, &|_| {}));
        start.elapsed().as_secs_f64()
    }

    /// Measures one round: both loops, which first alternating by round.
    fn sample(&mut self, round: usize) {
        let (full, bare) = if round.is_multiple_of(2) {
            let bare = self.bare();
            (self.full(), bare)
        } else {
            let full = self.full();
            (full, self.bare())
        };
        self.samples.push((full, bare));
    }

    fn describe(&self) -> String {
        format!(
            "check matrix, {}, {} thread(s)",
            self.hosting.as_str(),
            self.options.threads
        )
    }
}

/// Any figure.
pub(crate) enum Figure<'a> {
    /// A system's rate.
    Rate(RateFigure<'a>),
    /// The matrix against its bare loop.
    Matrix(MatrixFigure<'a>),
}

impl Figure<'_> {
    /// Takes this round's sample; a rate is measured for `time`.
    pub(crate) fn sample(&mut self, round: usize, time: Duration) {
        match self {
            Figure::Rate(f) => f.sample(time),
            Figure::Matrix(f) => f.sample(round),
        }
    }

    /// What is being measured, for a progress line.
    pub(crate) fn describe(&self) -> String {
        match self {
            Figure::Rate(f) => f.describe(),
            Figure::Matrix(f) => f.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::implementation::{CallFailure, FailureKind, GenerateFailure, ImplInfo};
    use crate::verdict::Validation;

    /// The builtin acme-lk1, failing every other call.
    struct Flaky(Box<dyn Implementation>);

    impl Implementation for Flaky {
        fn info(&self) -> &ImplInfo {
            self.0.info()
        }
        fn generate(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
            if e.serial % 2 == 1 {
                return Err(GenerateFailure::Failed(CallFailure::new(
                    FailureKind::Crash,
                    "odd serial",
                )));
            }
            self.0.generate(e)
        }
        fn validate(&self, key: &[u8], c: &Context) -> Result<Validation, CallFailure> {
            if key.len() % 2 == 1 {
                return Err(CallFailure::new(FailureKind::Crash, "odd length"));
            }
            self.0.validate(key, c)
        }
    }

    #[test]
    fn only_answered_calls_count() {
        let settings = crate::system::acme_demo_settings("acme-lk1");
        let catalog = crate::catalog::Catalog::acme();
        let flaky = Flaky(crate::schemes::builtin("acme-lk1", &catalog, &settings).unwrap());
        let base = Entitlement::from_json(r#"{"product":"acme-cad","edition":"professional","max_major":5,"features":["export-dwg"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":null,"order_id":null,"host_id":null}"#).unwrap();
        let es: Vec<Entitlement> = (0..10)
            .map(|i| Entitlement {
                serial: 1000 + i,
                ..base.clone()
            })
            .collect();
        let ctx = crate::check::own_context(&base);
        let keys: Vec<Vec<u8>> = (0..10).map(|i| vec![b'k'; 20 + i]).collect();
        let figure = |op, work| RateFigure {
            op,
            system: "new",
            format: "acme-lk1",
            hosting: Hosting::InProcess,
            threads: 1,
            imp: &flaky,
            work,
            samples: Vec::new(),
        };
        let generate = figure(Op::Generate, Work::Generate(vec![es.iter().collect()]));
        assert_eq!(generate.call(0), 5);
        let requests = keys.iter().map(|k| (k.as_slice(), &ctx)).collect();
        let validate = figure(Op::Validate, Work::Validate(vec![requests]));
        assert_eq!(validate.call(0), 5);
    }
}
