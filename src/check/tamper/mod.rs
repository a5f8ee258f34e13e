//! TAMPER: damaged or disguised keys ([`mutate`]) and valid keys shown
//! outside their licence (another product, a version above it, another
//! host). The expected answer is known without asking either system: a
//! changed key, or a key outside its licence, must be rejected; a benign
//! change (a spelling the format folds, SCHEMES.md) must validate wherever
//! the unchanged key does. Old and new are each judged against that, so a
//! finding blames the system that deviates, never the one that is right.
//! Every call that fails, by either system, is a crash finding.

pub mod mutate;

use super::matrix::{Matrix, own_context};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, Words};
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::judge::{Expect, Miss};
use crate::verdict::{Context, Verdict};
use mutate::Mutation;

/// TAMPER's presentations of `key`: damaged keys in its own context, then
/// the key itself in contexts outside (or, for the host, beside) its licence.
fn tampered(m: &Matrix, key: &str, e: &Entitlement, ctx: &Context) -> Vec<Mutation> {
    let at = m.products.iter().position(|p| *p == e.product);
    let other = at
        .map(|i| &m.products[(i + 1) % m.products.len()])
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

pub(super) fn plan(m: &Matrix, e: &Entitlement, plan: &mut Plan) {
    if !m.enabled(Check::Tamper) {
        return;
    }
    let ctx = own_context(e);
    let keys = [plan.old_key.clone(), plan.distinct_new_key().cloned()];
    for (base, key) in Base::BOTH.into_iter().zip(keys) {
        let Some(key) = key else { continue };
        for (by_old, validator) in [(true, &m.old), (false, &m.new)] {
            let purpose = Purpose::TamperBase { base, by_old };
            plan.request(purpose, validator, key.as_bytes(), &ctx);
        }
        let mutations = tampered(m, &key, e, &ctx);
        for (i, mutation) in mutations.iter().enumerate() {
            let mctx = mutation.context.as_ref().unwrap_or(&ctx);
            for (by_old, validator) in [(true, &m.old), (false, &m.new)] {
                let purpose = Purpose::Tamper {
                    base,
                    mutation: i,
                    by_old,
                };
                plan.request(purpose, validator, &mutation.key, mctx);
            }
        }
        plan.mutations[base.index()] = mutations;
    }
}

/// Whether `by_old`'s system reads the unmutated key of `base` in its own
/// context: only then must it accept a benign change of it.
fn reads(r: &Recorder<'_>, base: Base, by_old: bool) -> bool {
    matches!(
        r.answered(Purpose::TamperBase { base, by_old }),
        Some((_, Ok(v))) if v.verdict == Verdict::Valid
    )
}

/// Each system is judged against what the mutation requires, whatever the
/// other answers: a changed key, or a key outside its licence, must be
/// rejected (accepting it leaks); a benign change (a spelling the format
/// folds) must be accepted by a system that reads the key (rejecting it
/// locks the customer out). The finding blames the system that deviates.
pub(super) fn judge(r: &mut Recorder<'_>) {
    let (m, plan) = (r.matrix, r.plan);
    for base in Base::BOTH {
        let generator = if base == Base::Old { &m.old } else { &m.new };
        let format = r.format(base);
        let reads = [reads(r, base, true), reads(r, base, false)];
        for (i, mutation) in plan.mutations[base.index()].iter().enumerate() {
            for (by_old, system) in [(true, &m.old), (false, &m.new)] {
                let purpose = Purpose::Tamper {
                    base,
                    mutation: i,
                    by_old,
                };
                let Some((req, result)) = r.answered(purpose) else {
                    continue;
                };
                let at = At::request(Check::Tamper, generator, system, req);
                let expect = match (mutation.benign, reads[usize::from(!by_old)]) {
                    (false, _) => Expect::Rejected,
                    (true, true) => Expect::ACCEPTED,
                    // A benign change of a key this system cannot read:
                    // nothing to expect but an answer.
                    (true, false) => {
                        if !r.failure(at, result) {
                            r.pass(Check::Tamper, generator, Some(system));
                        }
                        continue;
                    }
                };
                r.judge(at, expect, result, |miss| Words {
                    cause: match miss {
                        Miss::Accepted => {
                            format!("{format} key, {}: accepted by {system}", mutation.family)
                        }
                        Miss::Rejected(_) => {
                            format!("{format} key, {}: rejected by {system}", mutation.family)
                        }
                        other => format!("validate {}", other.cause()),
                    },
                    expected: expected_words(mutation, &format),
                });
            }
        }
    }
}

/// Why the mutation's answer is what it is, for the finding.
fn expected_words(mutation: &Mutation, format: &str) -> String {
    match (mutation.benign, mutation.context.is_some()) {
        (true, false) => format!("valid: {} is a spelling {format} accepts", mutation.family),
        (true, true) => format!("valid: {} is within the licence", mutation.family),
        (false, false) => format!("rejected: a {format} key changed by {}", mutation.family),
        (false, true) => format!("rejected: {} is outside the licence", mutation.family),
    }
}
