//! ROLLBACK: keys the new system issued still validate in the old system,
//! should go-live be reversed. When the old system rejects the new key but
//! issued a key for the same entitlement that it reads as the entitlement
//! (ROUNDTRIP), the outage was avoidable and is reported as such.

use super::forward::avoidable;
use super::matrix::{Matrix, own_context};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, must_validate};
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::judge::{self, Expect, Miss};
use crate::verdict::{Decoded, Verdict};

pub(super) fn plan(m: &Matrix, e: &Entitlement, plan: &mut Plan) {
    if !m.enabled(Check::Rollback) {
        return;
    }
    if let Some(k) = plan.key(Base::New).cloned() {
        plan.request(Purpose::Rollback, &m.old, k.as_bytes(), &own_context(e));
    }
}

pub(super) fn judge(r: &mut Recorder<'_>) {
    let m = r.matrix;
    let Some((req, result)) = r.answered(Purpose::Rollback) else {
        return;
    };
    let expected = Decoded::from_entitlement(&r.case.entitlement);
    let at = At::request(Check::Rollback, &m.new, &m.old, req);
    let expect = Expect::Valid {
        reference: Some(&expected),
        known_features: None,
        carries: None,
    };
    let format = r.format(Base::New);
    // A key of its own that drops or changes a field (a key it should have
    // refused) shows no avoidable outage.
    let old_reads_own = matches!(
        r.answered(Purpose::Roundtrip(Base::Old)),
        Some((_, own)) if judge::validation(expect, own).is_none()
    );
    let old_format = r.format(Base::Old);
    r.judge_avoidable(at, expect, result, |miss| {
        let why = "new issued it; after a rollback the old system must read it";
        let words = must_validate(&format, &expect, why, miss);
        match miss {
            Miss::Rejected(_) if old_reads_own => avoidable(words, &m.old, &old_format),
            _ => (words, None),
        }
    });
}

/// Whether the old system reads the new system's key (the same key, or
/// ROLLBACK found it valid): only then is its answer a reference for it.
pub(super) fn old_reads_new_key(r: &Recorder<'_>) -> bool {
    let plan = r.plan;
    plan.new_key.is_some()
        && (plan.new_key == plan.old_key
            || matches!(r.answered(Purpose::Rollback), Some((_, Ok(v))) if v.verdict == Verdict::Valid))
}
