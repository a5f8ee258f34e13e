//! Turning the judge's word into the matrix's record: a pass or a finding at
//! a cell (check, generator, validator), with the key and context that make
//! it replayable. Decides nothing itself: [`crate::judge`] does.

use std::collections::HashSet;

use super::matrix::{Case, CaseOutcome, Matrix, Tally};
use super::plan::{Answer, Base, Plan, Purpose, Request};
use crate::entitlement::Entitlement;
use crate::finding::{Check, Finding, GroupKey, Severity};
use crate::implementation::CallFailure;
use crate::judge::{self, Expect, Miss};
use crate::verdict::{Context, Decoded, Validation};

/// Where an observation was made: its cell of the matrix and, for a
/// validation, the key and the context the validator was shown.
#[derive(Clone, Copy)]
pub(super) struct At<'k> {
    pub(super) check: Check,
    pub(super) generator: &'k str,
    pub(super) validator: Option<&'k str>,
    pub(super) key: Option<&'k [u8]>,
    pub(super) context: Option<&'k Context>,
}

impl<'k> At<'k> {
    /// A validation of `request`'s key in its context by `validator`.
    pub(super) fn request(
        check: Check,
        generator: &'k str,
        validator: &'k str,
        request: &'k Request,
    ) -> Self {
        At {
            check,
            generator,
            validator: Some(validator),
            key: Some(&request.key),
            context: Some(&request.context),
        }
    }

    /// `generator`'s own cell of `check`, with no validation: where its
    /// failures and refusals to issue are recorded.
    pub(super) fn generation(check: Check, generator: &'k str) -> Self {
        Self::cell(check, generator, None)
    }

    /// The cell (`check`, `generator`, `validator`), with no key or context:
    /// an observation no single call holds.
    pub(super) fn cell(check: Check, generator: &'k str, validator: Option<&'k str>) -> Self {
        At {
            check,
            generator,
            validator,
            key: None,
            context: None,
        }
    }
}

/// A finding's words: the cause (its group) and what was expected.
pub(super) struct Words {
    pub(super) cause: String,
    pub(super) expected: String,
}

/// Records one case's observations.
pub(super) struct Recorder<'a> {
    pub(super) matrix: &'a Matrix,
    pub(super) case: &'a Case,
    pub(super) plan: &'a Plan,
    answers: &'a [Answer],
    outcome: CaseOutcome,
    /// Format each system reported for its own key (from ROUNDTRIP).
    formats: [Option<String>; 2],
    /// The field of the old system's refusal, where its format may impose
    /// it (see [`format_may_refuse`]): what a waiver's `old_refuses` scopes.
    old_refused: Option<String>,
    /// Failed calls recorded as crash findings and ROUNDTRIP's misses, by
    /// call (validator system, key, context) and the miss's cause (`None`
    /// for a failed call): one answer, one finding (see [`Self::push`]);
    /// [`Self::finish`] records every failed call not yet recorded.
    judged: HashSet<(String, Vec<u8>, Context, Option<String>)>,
}

impl<'a> Recorder<'a> {
    pub(super) fn new(
        matrix: &'a Matrix,
        case: &'a Case,
        plan: &'a Plan,
        answers: &'a [Answer],
    ) -> Self {
        let old_refused = plan
            .old_refused
            .clone()
            .filter(|_| format_may_refuse(plan, answers, &case.entitlement))
            .or_else(|| {
                // Where old crashed instead of answering, what its format
                // refuses is still known from the format's other generators.
                plan.format_refused.clone().filter(|_| {
                    plan.old_failed || old_key_misreads(plan, answers, &case.entitlement)
                })
            });
        Recorder {
            matrix,
            case,
            plan,
            answers,
            outcome: CaseOutcome::default(),
            formats: [None, None],
            old_refused,
            judged: HashSet::new(),
        }
    }

    /// The outcome, with the verdicts every validator answered. Every call
    /// that failed and that no check judged (a TAMPER reference whose check
    /// of record is switched off, ...) becomes a crash finding here, at the
    /// cell of the check that asked: nothing a system does is dropped.
    pub(super) fn finish(mut self) -> CaseOutcome {
        for (req, answer) in self.plan.requests.iter().zip(self.answers) {
            let Some(result @ Err(_)) = answer else {
                continue;
            };
            let m = self.matrix;
            // A copy's call counts as its system's (see `push`).
            let system = match req.purpose {
                Purpose::Env { copy, .. } => &m.env.systems[m.env.copies[copy].system],
                _ => &req.validator,
            };
            let call = (system.clone(), req.key.clone(), req.context.clone(), None);
            if self.judged.contains(&call) {
                continue;
            }
            let generator = match req.purpose {
                Purpose::ForwardAlternative(_, j) | Purpose::AlternativeOwn(j) => {
                    self.plan.alternatives[j].0.as_str()
                }
                Purpose::Roundtrip(b) | Purpose::TamperBase { base: b, .. } => base_system(m, b),
                Purpose::Tamper { base, .. } | Purpose::Time { base, .. } => base_system(m, base),
                Purpose::Env { base, .. } | Purpose::EnvHome { base, .. } => base_system(m, base),
                Purpose::Backward => m.old.as_str(),
                Purpose::Forward(_) | Purpose::Rollback | Purpose::TimeRelease { .. } => {
                    m.new.as_str()
                }
            };
            // A copy under another environment is blamed as its system,
            // with the environment named.
            let (validator, under) = match req.purpose {
                Purpose::Forward(r) | Purpose::ForwardAlternative(r, _) => {
                    (m.releases[r].name.as_str(), None)
                }
                Purpose::Env { copy, .. } => {
                    let copy = &m.env.copies[copy];
                    let env = &m.env.environments[copy.environment];
                    (
                        m.env.systems[copy.system].as_str(),
                        Some(format!("under {env}")),
                    )
                }
                _ => (req.validator.as_str(), None),
            };
            let at = At::request(req.purpose.check(), generator, validator, req);
            self.failure_under(at, result, under.as_deref());
        }
        let systems = &self.matrix.systems;
        let mut verdicts: Vec<(usize, crate::verdict::Verdict)> = self
            .plan
            .requests
            .iter()
            .zip(self.answers)
            // Copies under other environments are not validators of the run.
            .filter(|(req, _)| !matches!(req.purpose, Purpose::Env { .. }))
            .filter_map(|(req, a)| match a {
                Some(Ok(v)) => systems
                    .keys()
                    .position(|n| *n == req.validator)
                    .map(|i| (i, v.verdict)),
                _ => None,
            })
            .collect();
        verdicts.sort_unstable();
        verdicts.dedup();
        self.outcome.verdicts = verdicts;
        self.outcome
    }

    /// The request for `purpose` and its answer, if it was made.
    pub(super) fn answered(
        &self,
        purpose: Purpose,
    ) -> Option<(&'a Request, &'a Result<Validation, CallFailure>)> {
        self.plan.answered(self.answers, purpose)
    }

    /// Every request's answer, in the order of the plan's requests.
    pub(super) fn answers(&self) -> &'a [Answer] {
        self.answers
    }

    /// Remembers the format a system reported for its own key.
    pub(super) fn set_format(&mut self, base: Base, format: Option<String>) {
        self.formats[base.index()] = format;
    }

    /// The format of `base`'s key, as its own system reported it.
    pub(super) fn format(&self, base: Base) -> String {
        self.formats[base.index()]
            .clone()
            .unwrap_or_else(|| "unrecognised".into())
    }

    pub(super) fn tally(
        &mut self,
        check: Check,
        generator: &str,
        validator: Option<&str>,
        f: impl FnOnce(&mut Tally),
    ) {
        let cell = (check, generator.to_string(), validator.map(String::from));
        f(self.outcome.tallies.entry(cell).or_default());
    }

    pub(super) fn pass(&mut self, check: Check, generator: &str, validator: Option<&str>) {
        self.tally(check, generator, validator, |t| t.pass += 1);
    }

    /// Judges a validation against `expect` and records a pass or a finding;
    /// `words` names a miss. Returns the miss, if any.
    pub(super) fn judge(
        &mut self,
        at: At<'_>,
        expect: Expect<'_>,
        result: &Result<Validation, CallFailure>,
        words: impl FnOnce(&Miss) -> Words,
    ) -> Option<Miss> {
        self.judge_avoidable(at, expect, result, |miss| (words(miss), None))
    }

    /// [`Self::judge`], where `words` also says whether a miss was avoidable
    /// (the generator whose key the same validator accepts).
    pub(super) fn judge_avoidable(
        &mut self,
        at: At<'_>,
        expect: Expect<'_>,
        result: &Result<Validation, CallFailure>,
        words: impl FnOnce(&Miss) -> (Words, Option<String>),
    ) -> Option<Miss> {
        match judge::validation(expect, result) {
            None => {
                self.pass(at.check, at.generator, at.validator);
                None
            }
            Some(miss) => {
                let (w, avoidable) = words(&miss);
                self.push(at, &miss, w, result.as_ref().ok(), avoidable);
                Some(miss)
            }
        }
    }

    /// Records `result` as a crash finding at `at` when the call failed (for
    /// answers no check compares, which must still not be dropped). Returns
    /// whether it failed.
    pub(super) fn failure(&mut self, at: At<'_>, result: &Result<Validation, CallFailure>) -> bool {
        self.failure_under(at, result, None)
    }

    /// [`Self::failure`], with where the call was made (`under TZ=...`)
    /// added to the cause.
    pub(super) fn failure_under(
        &mut self,
        at: At<'_>,
        result: &Result<Validation, CallFailure>,
        under: Option<&str>,
    ) -> bool {
        let Err(f) = result else {
            return false;
        };
        let miss = Miss::Failed(f.clone());
        let words = Words {
            cause: match under {
                Some(under) => format!("validate {} {under}", miss.cause()),
                None => format!("validate {}", miss.cause()),
            },
            expected: "an answer".into(),
        };
        self.find(at, &miss, words, None);
        true
    }

    /// Records a finding at `at`.
    pub(super) fn find(
        &mut self,
        at: At<'_>,
        miss: &Miss,
        words: Words,
        validation: Option<&Validation>,
    ) {
        self.push(at, miss, words, validation, None);
    }

    fn push(
        &mut self,
        at: At<'_>,
        miss: &Miss,
        words: Words,
        validation: Option<&Validation>,
        avoidable: Option<String>,
    ) {
        self.tally(at.check, at.generator, at.validator, |t| t.fail += 1);
        // A crash is recorded even for a check switched off: the call was
        // made (other checks need its answer), and its failure is a finding.
        if !self.matrix.enabled(at.check) && miss.severity() != Severity::Crash {
            return;
        }
        // A failed call is one crash finding, however many checks read it
        // (a copy under another environment (ENV) counts as its system, so
        // an input it fails on everywhere is one finding too). And where the
        // new system issues the old system's very key, ROUNDTRIP's answer
        // is BACKWARD's (new reading it) or ROLLBACK's (old reading it): a
        // miss ROUNDTRIP recorded is not recorded again for the same cause.
        // The later cell still counts the failure.
        let cause = match (miss, at.check) {
            (Miss::Failed(_), _) => Some(None),
            (_, Check::Roundtrip | Check::Backward | Check::Rollback) => Some(Some(miss.cause())),
            _ => None,
        };
        if let (Some(cause), Some(validator), Some(key), Some(context)) =
            (cause, at.validator, at.key, at.context)
        {
            let system = self
                .matrix
                .releases
                .iter()
                .find(|r| r.name == validator)
                .map_or(validator, |r| r.validator.as_str());
            let failed = cause.is_none();
            let call = (system.to_string(), key.to_vec(), context.clone(), cause);
            let seen = if failed || at.check == Check::Roundtrip {
                !self.judged.insert(call)
            } else {
                self.judged.contains(&call)
            };
            if seen {
                return;
            }
        }
        self.outcome.findings.push(Finding {
            key: GroupKey {
                check: at.check,
                severity: miss.severity(),
                generator: at.generator.to_string(),
                validator: at.validator.map(String::from),
                cause: words.cause,
            },
            case_id: self.case.id.clone(),
            source: self.case.source.clone(),
            entitlement: Some(self.case.entitlement.clone()),
            license_key: at.key.map(|k| String::from_utf8_lossy(k).into_owned()),
            context: at.context.cloned(),
            expected: words.expected,
            found: miss.found(validation),
            validation: validation.cloned(),
            diffs: miss.diffs().to_vec(),
            old_refused: self.old_refused.clone(),
            avoidable,
        });
    }
}

/// Whether the old system's refusal of `e` may be one its format imposes:
/// not when the old system itself reads the new system's key for `e`
/// (ROLLBACK) as `e`. A key the old validator reads as the entitlement is
/// one its format carries, so the old generator refusing it is a defect of
/// its own, and a waiver scoped to what the old format cannot carry
/// (`old_refuses = true`) must not cover it.
fn format_may_refuse(plan: &Plan, answers: &[Answer], e: &Entitlement) -> bool {
    !matches!(
        plan.answered(answers, Purpose::Rollback),
        Some((_, answer)) if reads_as_sold(answer, e)
    )
}

/// Whether `answer` validates a key as entitlement `e`.
fn reads_as_sold(answer: &Result<Validation, CallFailure>, e: &Entitlement) -> bool {
    let sold = Decoded::from_entitlement(e);
    let expect = Expect::Valid {
        reference: Some(&sold),
        known_features: None,
        carries: None,
    };
    judge::validation(expect, answer).is_none()
}

/// Whether the old system's own key for `e` reads back as something else
/// than `e` (ROUNDTRIP): an old generator that issued where another
/// generator of its format refused, and whose key does not carry the
/// entitlement, wrapped or dropped what its format cannot carry instead of
/// refusing. That is its own ROUNDTRIP finding; for waivers the entitlement
/// is one the old format refuses.
fn old_key_misreads(plan: &Plan, answers: &[Answer], e: &Entitlement) -> bool {
    matches!(
        plan.answered(answers, Purpose::Roundtrip(Base::Old)),
        Some((_, answer @ Ok(_))) if !reads_as_sold(answer, e)
    )
}

/// The system that issued `base`'s key.
fn base_system(m: &Matrix, base: Base) -> &str {
    match base {
        Base::Old => &m.old,
        Base::New => &m.new,
    }
}

/// The words of a miss where a key of `format` was expected to validate
/// (ROUNDTRIP, BACKWARD, FORWARD, ROLLBACK).
/// `why` says why the key must validate (who issued it, for what), so the
/// finding names the expectation's source, not just its value.
pub(super) fn must_validate(format: &str, expected: &Expect<'_>, why: &str, miss: &Miss) -> Words {
    let (cause, expected) = match miss {
        Miss::Rejected(_) | Miss::Accepted => (
            format!("{format} key {}", miss.cause()),
            format!("{}: {why}", expected.describe()),
        ),
        Miss::Failed(_) => (format!("validate {}", miss.cause()), "an answer".into()),
        _ => (miss.cause(), format!("the same decode: {why}")),
    };
    Words { cause, expected }
}
