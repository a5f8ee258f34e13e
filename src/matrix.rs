//! The check matrix: ROUNDTRIP, BACKWARD, FORWARD, ROLLBACK, PARITY, TAMPER and
//! TIME over one batch of cases.
//!
//! Work is done in three phases per batch so that implementations behind a
//! process boundary are crossed once per batch, not once per call: every
//! generator issues keys for the whole batch, then every validation the checks
//! need is planned and sent to each validator as one batch, then each case is
//! judged from its answers. Judging knows the expected outcome from the
//! entitlement alone (SCHEMES.md), and, where the check matrix asks for agreement
//! (BACKWARD's decode, TAMPER's accept/reject), from the old system's answer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::finding::{Check, Finding, GroupKey, Severity, Source};
use crate::implementation::{CallFailure, GenerateFailure, Implementation};
use crate::mutate;
use crate::verdict::{Context, Decoded, FieldDiff, Validation, Verdict, Version};

/// A shipped release: its validator can never change.
#[derive(Debug, Clone)]
pub struct Release {
    /// Display name.
    pub name: String,
    /// Product slug.
    pub product: String,
    /// Version (the validation context).
    pub version: Version,
    /// The system whose validator it embeds.
    pub validator: String,
    /// Features it knows; `None`: all.
    pub features: Option<BTreeSet<String>>,
}

/// One case: an entitlement and where it came from.
#[derive(Debug, Clone)]
pub struct Case {
    /// Stable id.
    pub id: String,
    /// Origin, for replay.
    pub source: Source,
    /// The entitlement.
    pub entitlement: Entitlement,
}

/// A cell of the matrix: check, generator, validator.
pub type Cell = (Check, String, Option<String>);

/// Pass/fail/skip counts of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Observations that agreed.
    pub pass: u64,
    /// Observations with a finding.
    pub fail: u64,
    /// Observations not made (a declared refusal upstream).
    pub skipped: u64,
}

impl Tally {
    /// Adds another tally.
    pub fn add(&mut self, o: &Tally) {
        self.pass += o.pass;
        self.fail += o.fail;
        self.skipped += o.skipped;
    }
}

/// What one case produced.
#[derive(Debug, Default)]
pub struct CaseOutcome {
    /// Findings, in a deterministic order.
    pub findings: Vec<Finding>,
    /// Observations per cell.
    pub tallies: BTreeMap<Cell, Tally>,
    /// The verdicts validators answered, by index into the matrix's systems
    /// (for scenario coverage).
    pub verdicts: Vec<(usize, Verdict)>,
}

/// The systems and releases a run compares.
pub struct Matrix {
    /// Systems by name.
    pub systems: BTreeMap<String, Arc<dyn Implementation>>,
    /// The system being retired.
    pub old: String,
    /// The system going live.
    pub new: String,
    /// Shipped releases.
    pub releases: Vec<Release>,
    /// Formats with two or more generators: (format, generators).
    pub parity: Vec<(String, Vec<String>)>,
    /// Checks to run (ROUNDTRIP always runs: other checks need its answers).
    pub checks: BTreeSet<Check>,
    /// The catalog's product slugs, for TAMPER's other-product context.
    pub products: Vec<String>,
}

/// Why a validation was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Roundtrip(Base),
    Backward,
    Forward(usize),
    Rollback,
    Tamper {
        base: Base,
        mutation: usize,
        by_old: bool,
    },
    Time {
        base: Base,
        day: usize,
        by_old: bool,
    },
}

/// Which issued key a request validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Old,
    New,
}

struct Request {
    purpose: Purpose,
    validator: String,
    key: Vec<u8>,
    context: Context,
}

/// One case's keys and planned validations.
struct Plan {
    old_key: Option<String>,
    new_key: Option<String>,
    mutations: [Vec<mutate::Mutation>; 2],
    days: Vec<(Day, bool, &'static str)>,
    requests: Vec<Request>,
}

/// The context a key is issued for: its own product, the highest version it
/// covers, the day of issue, its own host.
pub fn own_context(e: &Entitlement) -> Context {
    Context {
        product: e.product.clone(),
        version: Version {
            major: u32::from(e.max_major),
            minor: 0,
        },
        today: e.issued,
        host_id: e.host_id.clone(),
    }
}

/// The days TIME checks for an entitlement: (day, valid?, label).
fn time_grid(e: &Entitlement) -> Vec<(Day, bool, &'static str)> {
    match e.expires {
        Some(x) => [
            (x.add_days(-1), true, "the day before expiry"),
            (Some(x), true, "the expiry day"),
            (x.add_days(1), false, "the day after expiry"),
        ]
        .into_iter()
        .filter_map(|(d, ok, label)| d.map(|d| (d, ok, label)))
        .collect(),
        None => Day::from_ymd(9999, 12, 31)
            .map(|d| vec![(d, true, "9999-12-31 (perpetual)")])
            .unwrap_or_default(),
    }
}

impl Matrix {
    /// The matrix of a config: opens old, new, every release validator and
    /// every generator of a format.
    pub fn open(
        config: &crate::config::Config,
        checks: BTreeSet<Check>,
        hosting: &crate::system::Hosting,
    ) -> Result<Self, crate::system::OpenError> {
        let mut names: BTreeSet<String> = [config.run.old.clone(), config.run.new.clone()].into();
        names.extend(config.releases.iter().map(|r| r.validator.clone()));
        let parity: Vec<(String, Vec<String>)> = config
            .formats
            .iter()
            .filter(|(_, f)| f.generators.len() >= 2)
            .map(|(name, f)| (name.clone(), f.generators.clone()))
            .collect();
        for f in config.formats.values() {
            names.extend(f.generators.iter().cloned());
        }
        let systems = crate::system::open_all(config, &names, hosting)?;
        let releases = config
            .releases
            .iter()
            .map(|r| Release {
                name: r.name.clone(),
                product: r.product.clone(),
                version: r.version,
                validator: r.validator.clone(),
                features: r.features.as_ref().map(|f| f.iter().cloned().collect()),
            })
            .collect();
        Ok(Matrix {
            systems,
            old: config.run.old.clone(),
            new: config.run.new.clone(),
            releases,
            parity,
            checks,
            products: config
                .catalog
                .products
                .iter()
                .map(|p| p.slug.clone())
                .collect(),
        })
    }

    fn enabled(&self, c: Check) -> bool {
        self.checks.contains(&c)
    }

    /// The generators a batch needs: old, new, and every parity generator.
    fn generators(&self) -> Vec<String> {
        let mut g = vec![self.old.clone(), self.new.clone()];
        if self.enabled(Check::Parity) {
            for (_, gens) in &self.parity {
                g.extend(gens.iter().cloned());
            }
        }
        let mut seen = BTreeSet::new();
        g.retain(|x| seen.insert(x.clone()));
        g
    }

    /// Runs every enabled check on a batch of cases.
    pub fn run_batch(&self, cases: &[Case]) -> Vec<CaseOutcome> {
        let entitlements: Vec<&Entitlement> = cases.iter().map(|c| &c.entitlement).collect();
        let generated: BTreeMap<String, Vec<Result<String, GenerateFailure>>> = self
            .generators()
            .into_iter()
            .map(|g| {
                let keys = self.systems[&g].generate_batch(&entitlements);
                (g, keys)
            })
            .collect();
        let plans: Vec<Plan> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.plan(
                    &c.entitlement,
                    ok_key(&generated[&self.old][i]),
                    ok_key(&generated[&self.new][i]),
                )
            })
            .collect();
        let answers = self.validate_all(&plans);
        cases
            .iter()
            .zip(&plans)
            .zip(answers)
            .enumerate()
            .map(|(i, ((case, plan), answers))| {
                let mut verdicts: Vec<(usize, Verdict)> = plan
                    .requests
                    .iter()
                    .zip(&answers)
                    .filter_map(|(req, a)| match a {
                        Some(Ok(v)) => self
                            .systems
                            .keys()
                            .position(|n| *n == req.validator)
                            .map(|i| (i, v.verdict)),
                        _ => None,
                    })
                    .collect();
                verdicts.sort_unstable();
                verdicts.dedup();
                let mut judge = Judge::new(self, case);
                judge.generation(&generated, i);
                judge.validations(plan, &answers);
                let mut outcome = judge.finish();
                outcome.verdicts = verdicts;
                outcome
            })
            .collect()
    }

    /// The implementation calls [`Self::run_batch`] makes for `cases`, without
    /// judging: what a bare loop repeats to measure the matrix's own cost.
    pub fn calls(&self, cases: &[Case]) -> Calls {
        let entitlements: Vec<Entitlement> = cases.iter().map(|c| c.entitlement.clone()).collect();
        let refs: Vec<&Entitlement> = entitlements.iter().collect();
        let old = self.systems[&self.old].generate_batch(&refs);
        let new = self.systems[&self.new].generate_batch(&refs);
        let plans: Vec<Plan> = entitlements
            .iter()
            .enumerate()
            .map(|(i, e)| self.plan(e, ok_key(&old[i]), ok_key(&new[i])))
            .collect();
        let validations = batches(&plans)
            .into_iter()
            .map(|(v, b)| {
                let calls = b.calls.iter().map(|(k, c)| (k.to_vec(), (*c).clone()));
                (v.to_string(), calls.collect())
            })
            .collect();
        Calls {
            generators: self.generators(),
            entitlements,
            validations,
        }
    }

    /// TAMPER's presentations of `key`: damaged keys in its own context,
    /// then the key itself in contexts outside (or, for the host, beside)
    /// its licence.
    fn tampered(&self, key: &str, e: &Entitlement, ctx: &Context) -> Vec<mutate::Mutation> {
        let at = self.products.iter().position(|p| *p == e.product);
        let other = at
            .map(|i| &self.products[(i + 1) % self.products.len()])
            .filter(|p| **p != e.product);
        let mut out = mutate::mutations(key);
        out.extend(mutate::context_mutations(
            key,
            ctx,
            e.max_major,
            other.map(String::as_str),
        ));
        out
    }

    fn plan(&self, e: &Entitlement, old_key: Option<String>, new_key: Option<String>) -> Plan {
        let ctx = own_context(e);
        let mut plan = Plan {
            mutations: if self.enabled(Check::Tamper) {
                [
                    old_key
                        .as_deref()
                        .map(|k| self.tampered(k, e, &ctx))
                        .unwrap_or_default(),
                    new_key
                        .as_deref()
                        .filter(|k| Some(*k) != old_key.as_deref())
                        .map(|k| self.tampered(k, e, &ctx))
                        .unwrap_or_default(),
                ]
            } else {
                Default::default()
            },
            days: if self.enabled(Check::Time) {
                time_grid(e)
            } else {
                Vec::new()
            },
            old_key,
            new_key,
            requests: Vec::new(),
        };
        let mut req = |purpose, validator: &str, key: &[u8], context: &Context| {
            plan.requests.push(Request {
                purpose,
                validator: validator.to_string(),
                key: key.to_vec(),
                context: context.clone(),
            })
        };
        let (old, new) = (self.old.as_str(), self.new.as_str());
        if let Some(k) = &plan.old_key {
            req(Purpose::Roundtrip(Base::Old), old, k.as_bytes(), &ctx);
            if self.enabled(Check::Backward) {
                req(Purpose::Backward, new, k.as_bytes(), &ctx);
            }
        }
        if let Some(k) = &plan.new_key {
            req(Purpose::Roundtrip(Base::New), new, k.as_bytes(), &ctx);
            if self.enabled(Check::Rollback) {
                req(Purpose::Rollback, old, k.as_bytes(), &ctx);
            }
            if self.enabled(Check::Forward) {
                for (r, release) in self.releases.iter().enumerate() {
                    if release.product == e.product
                        && release.version.major <= u32::from(e.max_major)
                    {
                        let rctx = Context {
                            product: release.product.clone(),
                            version: release.version,
                            today: e.issued,
                            host_id: e.host_id.clone(),
                        };
                        req(Purpose::Forward(r), &release.validator, k.as_bytes(), &rctx);
                    }
                }
            }
        }
        for (b, base) in [Base::Old, Base::New].into_iter().enumerate() {
            if self.enabled(Check::Tamper) {
                for (m, mutation) in plan.mutations[b].iter().enumerate() {
                    let mctx = mutation.context.as_ref().unwrap_or(&ctx);
                    req(
                        Purpose::Tamper {
                            base,
                            mutation: m,
                            by_old: true,
                        },
                        old,
                        &mutation.key,
                        mctx,
                    );
                    req(
                        Purpose::Tamper {
                            base,
                            mutation: m,
                            by_old: false,
                        },
                        new,
                        &mutation.key,
                        mctx,
                    );
                }
            }
            let key = match base {
                Base::Old => plan.old_key.as_ref(),
                Base::New => plan
                    .new_key
                    .as_ref()
                    .filter(|k| Some(*k) != plan.old_key.as_ref()),
            };
            if let (true, Some(key)) = (self.enabled(Check::Time), key) {
                for (d, &(day, _, _)) in plan.days.iter().enumerate() {
                    let tctx = Context {
                        today: day,
                        ..ctx.clone()
                    };
                    req(
                        Purpose::Time {
                            base,
                            day: d,
                            by_old: true,
                        },
                        old,
                        key.as_bytes(),
                        &tctx,
                    );
                    req(
                        Purpose::Time {
                            base,
                            day: d,
                            by_old: false,
                        },
                        new,
                        key.as_bytes(),
                        &tctx,
                    );
                }
            }
        }
        plan
    }

    /// Sends each validator its share of every plan's requests as one batch.
    fn validate_all(&self, plans: &[Plan]) -> Vec<Vec<Option<Result<Validation, CallFailure>>>> {
        let mut answers: Vec<Vec<Option<Result<Validation, CallFailure>>>> =
            plans.iter().map(|p| vec![None; p.requests.len()]).collect();
        for (validator, batch) in batches(plans) {
            let mut results: Vec<Option<Result<Validation, CallFailure>>> = self.systems[validator]
                .validate_batch(&batch.calls)
                .into_iter()
                .map(Some)
                .collect();
            let mut uses = vec![0usize; results.len()];
            for &(_, _, call) in &batch.slots {
                uses[call] += 1;
            }
            for &(p, r, call) in &batch.slots {
                uses[call] -= 1;
                // The last request of a call takes its answer; repeats get copies.
                answers[p][r] = if uses[call] == 0 {
                    results[call].take()
                } else {
                    results[call].clone()
                };
            }
        }
        answers
    }
}

/// One validator's share of a batch: distinct calls, and which call answers
/// each request.
struct ValidatorBatch<'a> {
    calls: Vec<(&'a [u8], &'a Context)>,
    /// (plan, request, index into `calls`).
    slots: Vec<(usize, usize, usize)>,
}

/// Groups the plans' requests by validator. A validator answers the same
/// (key, context) the same way (the ABI makes validation a pure function of
/// its inputs), so a request repeated within a batch is sent once: when the
/// new system issues the legacy format its key equals the old one, and
/// ROUNDTRIP, BACKWARD and ROLLBACK would otherwise validate it twice.
fn batches(plans: &[Plan]) -> BTreeMap<&str, ValidatorBatch<'_>> {
    let mut out: BTreeMap<&str, ValidatorBatch<'_>> = BTreeMap::new();
    let mut seen: std::collections::HashMap<(&str, &[u8], &Context), usize> =
        std::collections::HashMap::new();
    for (p, plan) in plans.iter().enumerate() {
        for (r, req) in plan.requests.iter().enumerate() {
            let batch = out
                .entry(req.validator.as_str())
                .or_insert_with(|| ValidatorBatch {
                    calls: Vec::new(),
                    slots: Vec::new(),
                });
            let call = *seen
                .entry((req.validator.as_str(), req.key.as_slice(), &req.context))
                .or_insert_with(|| {
                    batch.calls.push((req.key.as_slice(), &req.context));
                    batch.calls.len() - 1
                });
            batch.slots.push((p, r, call));
        }
    }
    out
}

/// A batch's generate and validate calls, replayable with no bookkeeping.
pub struct Calls {
    entitlements: Vec<Entitlement>,
    generators: Vec<String>,
    validations: BTreeMap<String, Vec<(Vec<u8>, Context)>>,
}

impl Calls {
    /// Makes every call again, batched per system as `run_batch` does, and
    /// returns how many calls were made.
    pub fn replay(&self, matrix: &Matrix) -> usize {
        let refs: Vec<&Entitlement> = self.entitlements.iter().collect();
        let mut calls = 0;
        for g in &self.generators {
            calls += matrix.systems[g].generate_batch(&refs).len();
        }
        for (validator, requests) in &self.validations {
            let batch: Vec<(&[u8], &Context)> =
                requests.iter().map(|(k, c)| (k.as_slice(), c)).collect();
            calls += matrix.systems[validator].validate_batch(&batch).len();
        }
        calls
    }
}

fn ok_key(r: &Result<String, GenerateFailure>) -> Option<String> {
    r.as_ref().ok().cloned()
}

/// Where an observation was made: its cell of the matrix and, for a
/// validation, the key and the context the validator was shown.
#[derive(Clone, Copy)]
struct At<'k> {
    check: Check,
    generator: &'k str,
    validator: Option<&'k str>,
    key: Option<&'k [u8]>,
    context: Option<&'k Context>,
}

impl<'k> At<'k> {
    /// A validation of `key` in `context` by `validator`.
    fn validation(
        check: Check,
        generator: &'k str,
        validator: &'k str,
        key: &'k [u8],
        context: &'k Context,
    ) -> Self {
        At {
            check,
            generator,
            validator: Some(validator),
            key: Some(key),
            context: Some(context),
        }
    }
}

/// What an observation expected and found instead.
struct Mismatch {
    severity: Severity,
    cause: String,
    expected: String,
    found: String,
    validation: Option<Validation>,
    diffs: Vec<FieldDiff>,
}

/// Judges one case from its keys and answers.
struct Judge<'a> {
    matrix: &'a Matrix,
    case: &'a Case,
    outcome: CaseOutcome,
    /// Format each system reported for its own key (from ROUNDTRIP).
    formats: [Option<String>; 2],
}

impl<'a> Judge<'a> {
    fn new(matrix: &'a Matrix, case: &'a Case) -> Self {
        Judge {
            matrix,
            case,
            outcome: CaseOutcome::default(),
            formats: [None, None],
        }
    }

    fn finish(self) -> CaseOutcome {
        self.outcome
    }

    fn tally(
        &mut self,
        check: Check,
        generator: &str,
        validator: Option<&str>,
        f: impl FnOnce(&mut Tally),
    ) {
        let cell = (check, generator.to_string(), validator.map(String::from));
        f(self.outcome.tallies.entry(cell).or_default());
    }

    fn pass(&mut self, check: Check, generator: &str, validator: Option<&str>) {
        self.tally(check, generator, validator, |t| t.pass += 1);
    }

    fn find(&mut self, at: At<'_>, mismatch: Mismatch) {
        self.tally(at.check, at.generator, at.validator, |t| t.fail += 1);
        if !self.matrix.enabled(at.check) {
            return;
        }
        self.outcome.findings.push(Finding {
            key: GroupKey {
                check: at.check,
                severity: mismatch.severity,
                generator: at.generator.to_string(),
                validator: at.validator.map(String::from),
                cause: mismatch.cause,
            },
            case_id: self.case.id.clone(),
            source: self.case.source.clone(),
            entitlement: Some(self.case.entitlement.clone()),
            license_key: at.key.map(|k| String::from_utf8_lossy(k).into_owned()),
            context: at.context.cloned(),
            expected: mismatch.expected,
            found: mismatch.found,
            validation: mismatch.validation,
            diffs: mismatch.diffs,
        });
    }

    /// A call that did not answer: a crash or an error finding.
    fn failure(&mut self, at: At<'_>, what: &str, f: &CallFailure) {
        let severity = if f.kind.is_crash() {
            Severity::Crash
        } else {
            Severity::Error
        };
        let kind = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        self.find(
            at,
            Mismatch {
                severity,
                cause: format!("{what} failed: {kind}"),
                expected: format!("an answer from {what}"),
                found: f.message.clone(),
                validation: None,
                diffs: Vec::new(),
            },
        );
    }

    fn generation(
        &mut self,
        generated: &BTreeMap<String, Vec<Result<String, GenerateFailure>>>,
        i: usize,
    ) {
        let m = self.matrix;
        let mut seen = BTreeSet::new();
        for (g, results) in generated {
            match &results[i] {
                Err(GenerateFailure::Failed(f)) if seen.insert(g.clone()) => {
                    let at = At {
                        check: Check::Roundtrip,
                        generator: g,
                        validator: None,
                        key: None,
                        context: None,
                    };
                    self.failure(at, "generate", f);
                }
                Err(GenerateFailure::Refused { .. }) if *g == m.old || *g == m.new => {
                    self.tally(Check::Roundtrip, g, None, |t| t.skipped += 1);
                }
                _ => {}
            }
        }
        if m.enabled(Check::Parity) {
            for (format, gens) in &m.parity {
                let first = &gens[0];
                for other in &gens[1..] {
                    self.parity(
                        format,
                        first,
                        other,
                        &generated[first][i],
                        &generated[other][i],
                    );
                }
            }
        }
    }

    fn parity(
        &mut self,
        format: &str,
        a: &str,
        b: &str,
        ka: &Result<String, GenerateFailure>,
        kb: &Result<String, GenerateFailure>,
    ) {
        use GenerateFailure::*;
        let describe = |r: &Result<String, GenerateFailure>| match r {
            Ok(k) => k.clone(),
            Err(Refused { field, reason }) => format!("refused: {field}: {reason}"),
            Err(Failed(f)) => format!("failed: {f}"),
        };
        let cause = match (ka, kb) {
            (Ok(x), Ok(y)) if x == y => None,
            (Err(Refused { field: f1, .. }), Err(Refused { field: f2, .. })) if f1 == f2 => None,
            (Err(Failed(_)), _) | (_, Err(Failed(_))) => return, // reported as generate failures
            (Ok(_), Ok(_)) => Some(format!("{format} keys differ")),
            (Err(Refused { field: f1, .. }), Err(Refused { field: f2, .. })) => {
                Some(format!("refuse different fields ({f1} vs {f2})"))
            }
            (Ok(_), Err(Refused { field, .. })) => Some(format!("only {b} refuses ({field})")),
            (Err(Refused { field, .. }), Ok(_)) => Some(format!("only {a} refuses ({field})")),
        };
        match cause {
            None => self.pass(Check::Parity, a, Some(b)),
            Some(cause) => {
                let at = At {
                    check: Check::Parity,
                    generator: a,
                    validator: Some(b),
                    key: kb.as_ref().ok().map(|k| k.as_bytes()),
                    context: None,
                };
                self.find(
                    at,
                    Mismatch {
                        severity: Severity::Drift,
                        cause,
                        expected: describe(ka),
                        found: describe(kb),
                        validation: None,
                        diffs: Vec::new(),
                    },
                );
            }
        }
    }

    fn validations(&mut self, plan: &Plan, answers: &[Option<Result<Validation, CallFailure>>]) {
        let answer = |purpose: Purpose| -> Option<&Result<Validation, CallFailure>> {
            plan.requests
                .iter()
                .position(|r| r.purpose == purpose)
                .and_then(|i| answers[i].as_ref())
        };
        let m = self.matrix;
        let e = &self.case.entitlement;
        let expected = Decoded::from_entitlement(e);
        // ROUNDTRIP first: the formats it reports label later causes.
        for (b, base, system) in [(0, Base::Old, &m.old), (1, Base::New, &m.new)] {
            if let Some(Ok(v)) = answer(Purpose::Roundtrip(base)) {
                self.formats[b] = v.format.clone();
            }
            let key = if b == 0 { &plan.old_key } else { &plan.new_key };
            if let (Some(key), Some(result)) = (key, answer(Purpose::Roundtrip(base))) {
                let ctx = own_context(e);
                let at = At::validation(Check::Roundtrip, system, system, key.as_bytes(), &ctx);
                self.expect_valid(at, result, &expected, None, b);
            }
        }
        let old_decode = match answer(Purpose::Roundtrip(Base::Old)) {
            Some(Ok(v)) if v.verdict == Verdict::Valid => v.decoded.clone(),
            _ => None,
        };
        if let (Some(key), Some(result)) = (&plan.old_key, answer(Purpose::Backward)) {
            let reference = old_decode.clone().unwrap_or_else(|| expected.clone());
            let ctx = own_context(e);
            let at = At::validation(Check::Backward, &m.old, &m.new, key.as_bytes(), &ctx);
            self.expect_valid(at, result, &reference, None, 0);
        }
        if let Some(key) = &plan.new_key {
            for (r, release) in m.releases.iter().enumerate() {
                if let Some(result) = answer(Purpose::Forward(r)) {
                    let ctx = plan
                        .requests
                        .iter()
                        .find(|q| q.purpose == Purpose::Forward(r))
                        .map(|q| q.context.clone())
                        .unwrap_or_else(|| own_context(e));
                    let at =
                        At::validation(Check::Forward, &m.new, &release.name, key.as_bytes(), &ctx);
                    self.expect_valid(at, result, &expected, release.features.as_ref(), 1);
                }
            }
            if let Some(result) = answer(Purpose::Rollback) {
                let ctx = own_context(e);
                let at = At::validation(Check::Rollback, &m.new, &m.old, key.as_bytes(), &ctx);
                self.expect_valid(at, result, &expected, None, 1);
            }
        }
        let old_accepts_new_key = plan.new_key.is_some()
            && (plan.new_key == plan.old_key
                || matches!(answer(Purpose::Rollback), Some(Ok(v)) if v.verdict == Verdict::Valid));
        for (b, base) in [Base::Old, Base::New].into_iter().enumerate() {
            let generator = if b == 0 { &m.old } else { &m.new };
            let agreement = b == 0 || old_accepts_new_key;
            for (i, mutation) in plan.mutations[b].iter().enumerate() {
                let by_old = answer(Purpose::Tamper {
                    base,
                    mutation: i,
                    by_old: true,
                });
                let by_new = answer(Purpose::Tamper {
                    base,
                    mutation: i,
                    by_old: false,
                });
                if let (Some(o), Some(n)) = (by_old, by_new) {
                    self.tamper(generator, mutation, agreement, o, n, b);
                }
            }
            for (d, &(day, valid, label)) in plan.days.iter().enumerate() {
                for (by_old, validator) in [(true, &m.old), (false, &m.new)] {
                    if by_old && !agreement {
                        continue;
                    }
                    let req = plan.requests.iter().position(|q| {
                        q.purpose
                            == Purpose::Time {
                                base,
                                day: d,
                                by_old,
                            }
                    });
                    if let Some((q, Some(result))) = req.map(|i| (&plan.requests[i], &answers[i])) {
                        let at =
                            At::validation(Check::Time, generator, validator, &q.key, &q.context);
                        self.time(at, result, (day, valid, label), b);
                    }
                }
            }
        }
    }

    /// The validator's answer, or `None` once its failure is recorded as a finding.
    fn answer<'r>(
        &mut self,
        at: At<'_>,
        result: &'r Result<Validation, CallFailure>,
    ) -> Option<&'r Validation> {
        match result {
            Ok(v) => Some(v),
            Err(f) => {
                self.failure(at, "validate", f);
                None
            }
        }
    }

    fn format_label(&self, base: usize) -> String {
        self.formats[base]
            .clone()
            .unwrap_or_else(|| "unrecognised".into())
    }

    fn expect_valid(
        &mut self,
        at: At<'_>,
        result: &Result<Validation, CallFailure>,
        reference: &Decoded,
        known_features: Option<&BTreeSet<String>>,
        base: usize,
    ) {
        let Some(v) = self.answer(at, result) else {
            return;
        };
        if v.verdict != Verdict::Valid {
            let mismatch = Mismatch {
                severity: Severity::Outage,
                cause: format!("{} key rejected: {}", self.format_label(base), v.verdict),
                expected: "valid".into(),
                found: verdict_text(v),
                validation: Some(v.clone()),
                diffs: Vec::new(),
            };
            return self.find(at, mismatch);
        }
        let diffs = v
            .decoded
            .as_ref()
            .map(|d| reference.diff(d, known_features))
            .unwrap_or_default();
        if diffs.is_empty() {
            self.pass(at.check, at.generator, at.validator);
        } else {
            let fields: Vec<&str> = diffs.iter().map(|d| d.field.as_str()).collect();
            let grants_more = v
                .decoded
                .as_ref()
                .is_some_and(|d| d.grants_more_than(reference, known_features));
            let (severity, what) = if grants_more {
                (Severity::Leak, "grants more")
            } else {
                (Severity::Drift, "drift")
            };
            let cause = format!("{what}: {}", fields.join(", "));
            let found = diffs
                .iter()
                .map(|d| format!("{} {} (expected {})", d.field, d.found, d.expected))
                .collect::<Vec<_>>()
                .join("; ");
            let mismatch = Mismatch {
                severity,
                cause,
                expected: "the same decode".into(),
                found,
                validation: Some(v.clone()),
                diffs,
            };
            self.find(at, mismatch);
        }
    }

    fn tamper(
        &mut self,
        generator: &str,
        mutation: &mutate::Mutation,
        agreement: bool,
        by_old: &Result<Validation, CallFailure>,
        by_new: &Result<Validation, CallFailure>,
        base: usize,
    ) {
        let (m, e) = (self.matrix, &self.case.entitlement);
        let ctx = mutation.context.clone().unwrap_or_else(|| own_context(e));
        let at = At::validation(Check::Tamper, generator, &m.new, &mutation.key, &ctx);
        let Some(new_v) = self.answer(at, by_new) else {
            return;
        };
        let new_ok = new_v.verdict == Verdict::Valid;
        let (reference_ok, reference) = if agreement {
            let by = At::validation(Check::Tamper, generator, &m.old, &mutation.key, &ctx);
            let Some(v) = self.answer(by, by_old) else {
                return;
            };
            (
                v.verdict == Verdict::Valid,
                format!("{} answers {}", m.old, v.verdict),
            )
        } else {
            (
                mutation.benign,
                if mutation.benign {
                    "valid (a benign change)".into()
                } else {
                    "rejected".into()
                },
            )
        };
        if new_ok == reference_ok {
            return self.pass(Check::Tamper, generator, Some(&m.new));
        }
        let label = self.format_label(base);
        let (severity, cause) = if new_ok {
            (
                Severity::Leak,
                format!("{label} key, {}: accepted by {}", mutation.family, m.new),
            )
        } else {
            (
                Severity::Outage,
                format!("{label} key, {}: rejected by {}", mutation.family, m.new),
            )
        };
        let mismatch = Mismatch {
            severity,
            cause,
            expected: reference,
            found: verdict_text(new_v),
            validation: Some(new_v.clone()),
            diffs: Vec::new(),
        };
        self.find(at, mismatch);
    }

    /// TIME: `result` on `day` of the grid, which should be `valid` or not.
    fn time(
        &mut self,
        at: At<'_>,
        result: &Result<Validation, CallFailure>,
        (day, valid, label): (Day, bool, &str),
        base: usize,
    ) {
        let Some(v) = self.answer(at, result) else {
            return;
        };
        let accepted = v.verdict == Verdict::Valid;
        if accepted == valid {
            return self.pass(at.check, at.generator, at.validator);
        }
        let fmt = self.format_label(base);
        let (severity, cause, expected) = if valid {
            (
                Severity::Outage,
                format!("{fmt} key rejected on {label}"),
                "valid".to_string(),
            )
        } else {
            (
                Severity::Leak,
                format!("{fmt} key accepted on {label}"),
                "expired".to_string(),
            )
        };
        let mismatch = Mismatch {
            severity,
            cause,
            expected,
            found: format!("{} on {day}", verdict_text(v)),
            validation: Some(v.clone()),
            diffs: Vec::new(),
        };
        self.find(at, mismatch);
    }
}

fn verdict_text(v: &Validation) -> String {
    match &v.reason {
        Some(r) => format!("{} ({r})", v.verdict),
        None => v.verdict.to_string(),
    }
}
