//! ROUNDTRIP: each system validates its own keys and decodes what it
//! encoded. Also where a generator's failure to answer is recorded: every
//! other check starts from the keys it issues.
//!
//! A refusal is judged against the other system: the new system refusing an
//! entitlement the old one issues leaves customers without a key (a
//! ROUNDTRIP outage of the new system); the old system refusing one the new
//! system issues leaves them without one after a rollback (a ROLLBACK
//! outage of the old system as a generator). Refusals on both sides are what the formats declare, and are
//! counted as skipped.

use std::collections::BTreeSet;

use super::matrix::{Generated, Matrix, own_context};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, Words, must_validate};
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::implementation::{CallFailure, GenerateFailure};
use crate::judge::{self, Expect, ExpectKey, Miss};
use crate::verdict::Decoded;

pub(super) fn plan(m: &Matrix, e: &Entitlement, plan: &mut Plan) {
    let ctx = own_context(e);
    for (base, system) in [(Base::Old, &m.old), (Base::New, &m.new)] {
        if let Some(k) = plan.key(base).cloned() {
            plan.request(Purpose::Roundtrip(base), system, k.as_bytes(), &ctx);
        }
    }
}

/// Records every generator's failure to answer (once per generator), a
/// refusal of old or new that the other system issues as a finding, a
/// refusal of new that old shares but a format's generator does not (it
/// issues a key, and no format refuses that field) as a finding, and other
/// refusals on both sides as skipped observations.
pub(super) fn judge_generation(r: &mut Recorder<'_>, generated: &Generated, i: usize) {
    let m = r.matrix;
    let mut seen = BTreeSet::new();
    for (g, results) in generated {
        match &results[i] {
            Err(GenerateFailure::Failed(f)) if seen.insert(g.clone()) => {
                let at = At::generation(Check::Roundtrip, g);
                let miss = Miss::Failed(f.clone());
                let words = Words {
                    cause: format!("generate {}", miss.cause()),
                    expected: "a key or a declared refusal".into(),
                };
                r.find(at, &miss, words, None);
            }
            Err(GenerateFailure::Refused { .. }) if *g == m.old || *g == m.new => {
                let (other, check) = if *g == m.new {
                    (&m.old, Check::Roundtrip)
                } else {
                    (&m.new, Check::Rollback)
                };
                let other_issued = generated[other][i].is_ok() && m.old != m.new;
                let miss = judge::generation(ExpectKey::Issued, &results[i]);
                // Where old refuses too, a format's other generator may
                // still decide: the new system refused what a format carries.
                let issuer = (*g == m.new && !other_issued)
                    .then(|| unexplained_refusal(m, generated, i, &results[i]))
                    .flatten();
                // The old system's own ROUNDTRIP was not made either way.
                if check == Check::Rollback || (!other_issued && issuer.is_none()) {
                    r.tally(Check::Roundtrip, g, None, |t| t.skipped += 1);
                }
                match (miss, issuer) {
                    (Some(miss), _) if other_issued => refused(r, check, g, other, &miss),
                    (Some(miss), Some(issuer)) => refused(r, check, g, &issuer, &miss),
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// The generator of a `[formats]` format (other than old and new, whose
/// refusals are what is judged) that issued a key for case `i` the new
/// system refused (`refusal`), where no such generator of any format
/// refused it naming the same field: no format the new system may issue in
/// explains the refusal, and one carries the entitlement. `None` when a
/// format refuses it alike (the new system may be issuing in that one) or
/// none of their generators issued.
fn unexplained_refusal(
    m: &Matrix,
    generated: &Generated,
    i: usize,
    refusal: &Result<String, GenerateFailure>,
) -> Option<String> {
    let Err(GenerateFailure::Refused { field, .. }) = refusal else {
        return None;
    };
    let answers = m
        .formats
        .iter()
        .flat_map(|(_, gens)| gens)
        .filter(|g| **g != m.new && **g != m.old)
        .filter_map(|g| Some((g, generated.get(g)?.get(i)?)));
    let mut issuer = None;
    for (g, answer) in answers {
        match answer {
            Err(GenerateFailure::Refused { field: f, .. }) if f == field => return None,
            Ok(_) if issuer.is_none() => issuer = Some(g.clone()),
            _ => {}
        }
    }
    issuer
}

/// Records each failure of a whole batch call that no item reproduced
/// alone ([`Implementation::take_batch_failures`]) as a crash finding of
/// its system, with the batch's first case as the example: no item is to
/// blame, but the system failed a call all the same, and a run that dropped
/// it would hide a batching bug. The cell is the system's role: a
/// generator's own ROUNDTRIP cell; a shipped release's validator, FORWARD's
/// cell of that release; a copy under another environment, ENV's cell of
/// its system, with the environment named.
///
/// [`Implementation::take_batch_failures`]: crate::implementation::Implementation::take_batch_failures
pub(super) fn judge_batch_failures(r: &mut Recorder<'_>, failures: &[(String, CallFailure)]) {
    let m = r.matrix;
    let generators = m.generators();
    for (system, failure) in failures {
        let miss = Miss::Failed(failure.clone());
        let mut cause = format!("batch {}", miss.cause());
        let copy = m.env.copies.iter().find(|c| c.name == *system);
        let release = m.releases.iter().find(|rel| rel.validator == *system);
        let at = match (copy, release) {
            (Some(copy), _) => {
                let home = &m.env.systems[copy.system];
                cause.push_str(&format!(" under {}", m.env.environments[copy.environment]));
                At::cell(Check::Env, home, Some(home))
            }
            (None, Some(release)) if !generators.contains(system) => {
                At::cell(Check::Forward, &m.new, Some(&release.name))
            }
            _ => At::generation(Check::Roundtrip, system),
        };
        let words = Words {
            cause,
            expected: "every batch answered, or a failure one item reproduces alone".into(),
        };
        r.find(at, &miss, words, None);
    }
}

/// Records `system`'s refusal of an entitlement `other` issues, at its
/// generation cell (no validator) of `check`: ROUNDTRIP for the new system,
/// ROLLBACK for the old one.
fn refused(r: &mut Recorder<'_>, check: Check, system: &str, other: &str, miss: &Miss) {
    let at = At::generation(check, system);
    let words = Words {
        cause: format!("{system} {}", miss.cause()),
        expected: format!("a key: {other} issues one for this entitlement"),
    };
    r.find(at, miss, words, None);
}

/// Each system's own key must validate with the entitlement's decode. Also
/// notes the format each system reports, which labels later causes.
pub(super) fn judge(r: &mut Recorder<'_>) {
    let m = r.matrix;
    let expected = Decoded::from_entitlement(&r.case.entitlement);
    for (base, system) in [(Base::Old, &m.old), (Base::New, &m.new)] {
        let Some((req, result)) = r.answered(Purpose::Roundtrip(base)) else {
            continue;
        };
        if let Ok(v) = result {
            let format = v.format.clone();
            let format = format.or_else(|| r.plan.issued_as[base.index()].clone());
            r.set_format(base, format);
        }
        let at = At::request(Check::Roundtrip, system, system, req);
        let expect = Expect::Valid {
            reference: Some(&expected),
            known_features: None,
            carries: None,
        };
        let format = r.format(base);
        r.judge(at, expect, result, |miss| {
            let why = "it issued this key itself, for this entitlement";
            must_validate(&format, &expect, why, miss)
        });
    }
}
