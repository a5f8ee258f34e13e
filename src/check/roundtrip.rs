//! ROUNDTRIP: each system validates its own keys and decodes what it
//! encoded. Also where a generator's failure to answer is recorded: every
//! other check starts from the keys it issues.

use std::collections::BTreeSet;

use super::matrix::{Generated, Matrix, own_context};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, Words, must_validate};
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::implementation::GenerateFailure;
use crate::judge::{Expect, Miss};
use crate::verdict::Decoded;

pub(super) fn plan(m: &Matrix, e: &Entitlement, plan: &mut Plan) {
    let ctx = own_context(e);
    for (base, system) in [(Base::Old, &m.old), (Base::New, &m.new)] {
        if let Some(k) = plan.key(base).cloned() {
            plan.request(Purpose::Roundtrip(base), system, k.as_bytes(), &ctx);
        }
    }
}

/// Records every generator's failure to answer (once per generator), and
/// the declared refusals of old and new as skipped observations.
pub(super) fn judge_generation(r: &mut Recorder<'_>, generated: &Generated, i: usize) {
    let m = r.matrix;
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
                let miss = Miss::Failed(f.clone());
                let words = Words {
                    cause: format!("generate {}", miss.cause()),
                    expected: "a key or a declared refusal".into(),
                };
                r.find(at, &miss, words, None);
            }
            Err(GenerateFailure::Refused { .. }) if *g == m.old || *g == m.new => {
                r.tally(Check::Roundtrip, g, None, |t| t.skipped += 1);
            }
            _ => {}
        }
    }
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
            r.set_format(base, v.format.clone());
        }
        let at = At::request(Check::Roundtrip, system, system, req);
        let expect = Expect::Valid {
            reference: Some(&expected),
            known_features: None,
        };
        let format = r.format(base);
        r.judge(at, expect, result, |miss| {
            must_validate(&format, &expect, miss)
        });
    }
}
