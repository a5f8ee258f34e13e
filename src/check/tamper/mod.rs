//! TAMPER: damaged or disguised keys ([`mutate`]), forged keys (a payload
//! changed and correctly re-authenticated by a system of the matrix that
//! holds the secret, [`crate::forgery`]) and valid keys shown outside their
//! licence (another product, a version above it, another host). The
//! expected answer is known without asking either system: a changed or
//! forged key, or a key outside its licence, must be rejected; a benign
//! change (a spelling the format folds, SCHEMES.md) must validate wherever
//! the unchanged key does. Old and new are each judged against that, so a
//! finding blames the system that deviates, never the one that is right.
//! Every call that fails, by either system, is a crash finding.

pub mod mutate;

use std::collections::HashSet;

use super::matrix::{Matrix, own_context};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, Words};
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::forgery::{self, Pick};
use crate::judge::{Expect, Miss};
use crate::verdict::{Context, Verdict};
use mutate::Mutation;

/// Forgeries of each key that each forging system makes per case: TAMPER
/// runs for every random case, and each forgery costs a MAC or a signature
/// and a validation by old and new. Which ones rotate with the key (see
/// [`Pick::Sample`]); the vectors of `keycompat vectors forge` carry all.
pub const FORGERIES_PER_KEY: usize = 2;

/// TAMPER's presentations of `key`: damaged keys in its own context, forged
/// keys, then the key itself in contexts outside (or, for the host, beside)
/// its licence.
fn tampered(m: &Matrix, key: &str, e: &Entitlement, ctx: &Context) -> Vec<Mutation> {
    let at = m.products.iter().position(|p| *p == e.product);
    let other = at
        .map(|i| &m.products[(i + 1) % m.products.len()])
        .filter(|p| **p != e.product);
    let mut out = mutate::mutations(key);
    out.extend(forged(m, key));
    out.extend(mutate::context_mutations(
        key,
        ctx,
        e.max_major,
        other.map(String::as_str),
    ));
    out
}

/// The forgeries of `key` that the systems of the matrix offer, asked in
/// name order, each forged key once. The same key always gets the same ones.
fn forged(m: &Matrix, key: &str) -> Vec<Mutation> {
    let pick = Pick::Sample {
        seed: forgery::seed_of(key.as_bytes()),
        count: FORGERIES_PER_KEY,
    };
    let mut seen = HashSet::new();
    m.systems
        .values()
        .flat_map(|system| system.forgeries(key, pick))
        .filter(|f| seen.insert(f.key.clone()))
        .map(Mutation::forged)
        .collect()
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

/// Whether `by_old`'s system reads the unmutated key of `base` as locked to no
/// host although it was issued for a node-locked entitlement: the key lost
/// its lock (a generator that should have refused, which ROUNDTRIP reports)
/// or the system misreads it (which ROUNDTRIP or BACKWARD report), so
/// accepting it on another host follows from the decode and is no leak of
/// its own.
fn reads_unlocked(r: &Recorder<'_>, base: Base, by_old: bool) -> bool {
    matches!(
        r.answered(Purpose::TamperBase { base, by_old }),
        Some((_, Ok(v))) if v.verdict == Verdict::Valid
            && v.decoded.as_ref().is_some_and(|d| d.host_id == Some(None))
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
        let unlocked = [
            reads_unlocked(r, base, true),
            reads_unlocked(r, base, false),
        ];
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
                let system_index = usize::from(!by_old);
                let expect = match (mutation.benign, reads[system_index]) {
                    (false, _)
                        if !(mutation.family == mutate::OTHER_HOST && unlocked[system_index]) =>
                    {
                        Expect::Rejected
                    }
                    (true, true) => Expect::ACCEPTED,
                    // A benign change of a key this system cannot read, or
                    // a key it reads as unlocked on another host: nothing
                    // to expect but an answer.
                    (true, false) | (false, _) => {
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
    if let Some(verdict) = mutation.forged {
        return format!(
            "rejected ({verdict}): a {format} key, {}, correctly authenticated",
            mutation.family
        );
    }
    match (mutation.benign, mutation.context.is_some()) {
        (true, false) => format!("valid: {} is a spelling {format} accepts", mutation.family),
        (true, true) => format!("valid: {} is within the licence", mutation.family),
        (false, false) => format!("rejected: a {format} key changed by {}", mutation.family),
        (false, true) => format!("rejected: {} is outside the licence", mutation.family),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    use super::*;
    use crate::catalog::Catalog;
    use crate::implementation::Implementation;
    use crate::schemes::demo;
    use crate::schemes::lk1::Lk1System;
    use crate::schemes::new_system::NewSystemImpl;

    fn cad() -> Entitlement {
        Entitlement::from_json(
            r#"{"product":"acme-cad","edition":"professional","max_major":7,"features":["export-dwg"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":4242,"customer":null,"order_id":null,"host_id":null}"#,
        )
        .unwrap()
    }

    #[test]
    fn forgeries_come_once_from_whichever_system_holds_the_secret() {
        // The old and the new builtin: both hold the acme-lk1 secret, only
        // the new one the signing key.
        let old = Lk1System::from_settings(&Catalog::acme(), &demo::lk1()).unwrap();
        let new = NewSystemImpl::from_settings(&Catalog::acme(), &demo::new_system()).unwrap();
        let e = cad();
        let lk1 = old.generate(&e).unwrap();
        let ed1 = new.system().ed1().encode(&e).unwrap();
        let systems: BTreeMap<String, Arc<dyn Implementation>> = BTreeMap::from([
            ("new".to_string(), Arc::new(new) as Arc<dyn Implementation>),
            ("old".to_string(), Arc::new(old) as Arc<dyn Implementation>),
        ]);
        let m = Matrix {
            systems,
            old: "old".into(),
            new: "new".into(),
            releases: Vec::new(),
            parity: Vec::new(),
            formats: Vec::new(),
            issuers: Vec::new(),
            checks: BTreeSet::from([Check::Tamper]),
            products: Vec::new(),
            env: Default::default(),
        };
        let ctx = own_context(&e);
        for (key, first) in [(lk1, "forged ver=2"), (ed1, "forged v=2")] {
            let forged = forged(&m, &key);
            assert_eq!(forged.len(), FORGERIES_PER_KEY, "{key}");
            assert_eq!(forged[0].family, first);
            assert_eq!(
                forged,
                super::forged(&m, &key),
                "the same key, the same forgeries"
            );
            for f in &forged {
                assert!(!f.benign && f.context.is_none(), "{}", f.family);
                let v = m.systems["new"].validate(&f.key, &ctx).unwrap();
                assert_eq!(Some(v.verdict), f.forged, "{}", f.family);
            }
            let all = tampered(&m, &key, &e, &ctx);
            assert!(forged.iter().all(|f| all.contains(f)));
        }
    }
}
