//! TAMPER: damaged or disguised keys ([`mutate`]) and valid keys shown
//! outside their licence (another product, a version above it, another
//! host). The new system must answer as the old one does where the old
//! system reads the key; elsewhere as the mutation requires (a benign change
//! validates, any other is rejected). Every call that fails, by either
//! system, is a crash finding whether or not the answers are compared.

pub mod mutate;

use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, Words};
use super::matrix::{Matrix, own_context};
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

pub(super) fn judge(r: &mut Recorder<'_>) {
    let (m, plan) = (r.matrix, r.plan);
    let old_reads_new = super::rollback::old_reads_new_key(r);
    for base in Base::BOTH {
        let generator = if base == Base::Old { &m.old } else { &m.new };
        let old_reads = base == Base::Old || old_reads_new;
        let format = r.format(base);
        for (i, mutation) in plan.mutations[base.index()].iter().enumerate() {
            let asked = |by_old| Purpose::Tamper {
                base,
                mutation: i,
                by_old,
            };
            let (Some(by_old), Some(by_new)) = (r.answered(asked(true)), r.answered(asked(false)))
            else {
                continue;
            };
            let at_old = At::request(Check::Tamper, generator, &m.old, by_old.0);
            let old_failed = r.failure(at_old, by_old.1);
            // The reference: the old system's answer where it reads the key
            // and answered, else what the mutation requires.
            let (accept, reference) = match by_old.1 {
                Ok(v) if old_reads && !old_failed => (
                    v.verdict == Verdict::Valid,
                    format!("{} answers {}", m.old, v.verdict),
                ),
                _ if mutation.benign => (true, "valid (a benign change)".to_string()),
                _ => (false, "rejected".to_string()),
            };
            let expect = if accept {
                Expect::ACCEPTED
            } else {
                Expect::Rejected
            };
            let at_new = At::request(Check::Tamper, generator, &m.new, by_new.0);
            r.judge(at_new, expect, by_new.1, |miss| Words {
                cause: match miss {
                    Miss::Accepted => {
                        format!("{format} key, {}: accepted by {}", mutation.family, m.new)
                    }
                    Miss::Rejected(_) => {
                        format!("{format} key, {}: rejected by {}", mutation.family, m.new)
                    }
                    other => format!("validate {}", other.cause()),
                },
                expected: reference,
            });
        }
    }
}
