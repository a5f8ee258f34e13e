//! BACKWARD: keys the old system issued validate in the new system, with the
//! decode the old system gives (or, when the old system cannot read its own
//! key, the entitlement's). Where, in a field, the old decode departs from
//! what was sold and the new decode does not, the old decoder misreads the
//! key: that is ROUNDTRIP's finding on the old system, not a deviation of
//! the new one, which is judged on the other fields alone.

use std::collections::BTreeSet;

use super::matrix::{Matrix, own_context};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, must_validate};
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::implementation::CallFailure;
use crate::judge::{self, Expect, Miss};
use crate::verdict::{Decoded, Field, Validation, Verdict};

pub(super) fn plan(m: &Matrix, e: &Entitlement, plan: &mut Plan) {
    if !m.enabled(Check::Backward) {
        return;
    }
    if let Some(k) = plan.key(Base::Old).cloned() {
        plan.request(Purpose::Backward, &m.new, k.as_bytes(), &own_context(e));
    }
}

pub(super) fn judge(r: &mut Recorder<'_>) {
    let m = r.matrix;
    let Some((req, result)) = r.answered(Purpose::Backward) else {
        return;
    };
    let old_decode = match r.answered(Purpose::Roundtrip(Base::Old)) {
        Some((_, Ok(v))) if v.verdict == Verdict::Valid => v.decoded.clone(),
        _ => None,
    };
    let at = At::request(Check::Backward, &m.old, &m.new, req);
    // The old system's decode of this very key: every field it carries, the
    // new system must carry too (a field left out is drift, not a match).
    // Without it, the entitlement's fields that both sides carry.
    let sold = Decoded::from_entitlement(&r.case.entitlement);
    let new_decode = match result {
        Ok(v) if v.verdict == Verdict::Valid => v.decoded.as_ref(),
        _ => None,
    };
    let reference = old_decode.map(|old| match new_decode {
        Some(new) => corrected(old, new, &sold),
        None => old,
    });
    let expect = match &reference {
        Some(reference) => Expect::Exactly {
            verdict: Verdict::Valid,
            decoded: Some(reference),
        },
        None => Expect::Valid {
            reference: Some(&sold),
            known_features: None,
            carries: None,
        },
    };
    let format = r.format(Base::Old);
    r.judge(at, expect, result, |miss| {
        let why = "old issued it for this entitlement (customers hold such keys)";
        must_validate(&format, &expect, why, miss)
    });
}

/// The old decode as the new one is judged against: field by field, where
/// the two differ and the old one departs from what was `sold` while the new
/// one does not, the key carries the entitlement and the old decoder
/// misreads it (ROUNDTRIP's finding on old), so the new reading stands
/// there. Every other field keeps the old reading: where both decodes agree
/// with each other but not with the sale, the key itself carries something
/// else (the old generator's doing), and customers hold that key.
fn corrected(old: Decoded, new: &Decoded, sold: &Decoded) -> Decoded {
    let wrong_new: BTreeSet<Field> = sold.diff(new, None).iter().map(|d| d.field).collect();
    let wrong_old: BTreeSet<Field> = sold.diff(&old, None).iter().map(|d| d.field).collect();
    let misread: Vec<Field> = old
        .diff(new, None)
        .iter()
        .map(|d| d.field)
        .filter(|f| wrong_old.contains(f) && !wrong_new.contains(f))
        .collect();
    let mut reference = old;
    for f in misread {
        reference.copy_field(new, f);
    }
    reference
}

/// A field key (a key already in a customer's hands) that the new system
/// answers differently from the old one.
pub struct FieldKeyMiss {
    /// The system that deviates (or failed to answer).
    pub validator: String,
    /// The judge's word.
    pub miss: Miss,
    /// The cause, naming the key as a field key.
    pub cause: String,
    /// What was expected, in words.
    pub expected: String,
    /// The deviating system's answer, when it answered.
    pub validation: Option<Validation>,
}

/// Where the old system calls a field key expired on `today` and the new
/// one valid, decoding an expiry on or after `today` (a key is valid through
/// its expiry day): the day before `today`, on which the old system's own
/// decode settles which of them is wrong (see [`judge_field_key`]).
pub fn expiry_witness_day(
    old: &Result<Validation, CallFailure>,
    new: &Result<Validation, CallFailure>,
    today: Day,
) -> Option<Day> {
    let (Ok(o), Ok(n)) = (old, new) else {
        return None;
    };
    if o.verdict != Verdict::Expired || n.verdict != Verdict::Valid {
        return None;
    }
    let expires = n.decoded.as_ref()?.expires.flatten()?;
    (expires >= today).then(|| today.add_days(-1)).flatten()
}

/// BACKWARD on a field key: the old system's answer is the reference (the
/// key is in a customer's hands and works there today), so the new system
/// must give the same verdict and, for a valid key, the same decode. A call
/// failure of either system is a crash finding of its own.
///
/// Except where the expiry the key carries decides, as SCHEMES.md does (valid
/// through the expiry day): an old system that accepts a key past the expiry
/// its own decode reads is the one leaking; one that calls a key expired
/// although it decoded the same expiry as the new system the day before
/// (`witness`: the old system's answer on [`expiry_witness_day`]) is the one
/// locking customers out. And except where the format's other validators,
/// each asked with `ask` (its answer on the key, `None` if it gave none),
/// settle that the old system misreads the key ([`settle_field_key`]).
pub fn judge_field_key(
    m: &Matrix,
    old: Result<Validation, CallFailure>,
    new: Result<Validation, CallFailure>,
    today: Day,
    witness: Option<Result<Validation, CallFailure>>,
    ask: &dyn Fn(&str) -> Option<Result<Validation, CallFailure>>,
) -> Vec<FieldKeyMiss> {
    let mut out = Vec::new();
    if let Err(f) = &old {
        out.push(field_key_failure(&m.old, f));
    }
    if let Err(f) = &new {
        out.push(field_key_failure(&m.new, f));
    }
    let (Ok(old), Ok(new)) = (old, new) else {
        return out;
    };
    if let Some(miss) = old_misjudges_expiry(m, &old, &new, today, witness) {
        out.push(miss);
        return out;
    }
    let expect = read_as(&old);
    let answer = Ok(new);
    let (Some(miss), Ok(new)) = (judge::validation(expect, &answer), answer) else {
        return out;
    };
    let witnesses: Vec<(String, Result<Validation, CallFailure>)> = field_key_witnesses(m)
        .into_iter()
        .filter_map(|w| Some((w.clone(), ask(&w)?)))
        .collect();
    match settle_field_key(m, &old, &new, &witnesses) {
        Some(settled) => out.extend(settled),
        None => out.push(new_misreads(m, old.verdict, expect, new, miss)),
    }
    out.extend(
        witnesses
            .iter()
            .filter_map(|(w, answer)| answer.as_ref().err().map(|f| field_key_failure(w, f))),
    );
    out
}

/// The new system's miss on a field key, judged by `expect` (the old
/// system's reading, where witnesses left it standing).
fn new_misreads(
    m: &Matrix,
    old_verdict: Verdict,
    expect: Expect<'_>,
    new: Validation,
    miss: Miss,
) -> FieldKeyMiss {
    let cause = match &miss {
        Miss::Rejected(_) | Miss::Accepted | Miss::OtherVerdict { .. } => {
            format!("field key {old_verdict} by old, {} by new", new.verdict)
        }
        _ => format!("field key {}", miss.cause()),
    };
    FieldKeyMiss {
        validator: m.new.clone(),
        expected: format!("{} (as the old system says)", expect.describe()),
        cause,
        miss,
        validation: Some(new),
    }
}

/// A system's failure to answer on a field key: a crash finding of its own.
fn field_key_failure(system: &str, f: &CallFailure) -> FieldKeyMiss {
    let miss = Miss::Failed(f.clone());
    FieldKeyMiss {
        validator: system.to_string(),
        cause: format!("field key: validate {}", miss.cause()),
        miss,
        expected: "an answer".into(),
        validation: None,
    }
}

/// The validators that settle a field key old and new read differently:
/// every other generator of the old system's format in `[formats]` that
/// validates (implementations of the format old's keys are in), and runs
/// other code than old and new (a legacy emitter built from the new
/// system's library shares its defects: no independent witness).
fn field_key_witnesses(m: &Matrix) -> Vec<String> {
    let sides = [&m.systems[&m.old], &m.systems[&m.new]];
    m.old_format_peers()
        .filter(|g| {
            m.systems.get(*g).is_some_and(|s| {
                s.info().can_validate
                    && sides
                        .iter()
                        .all(|side| !side.info().origin.same_code(&s.info().origin))
            })
        })
        .cloned()
        .collect()
}

/// Where old and new read a field key differently: what the format's other
/// validators (`witnesses`, see [`field_key_witnesses`]) settle, as the
/// misses that replace the one judged against the old reading; `None` when
/// they settle nothing. A reading is the old system's misreading where a
/// strict majority of old, new and the witnesses that answered side with
/// the new system: on the verdict, or, field by field, on each field the two
/// decodes differ in (a witness voting on a field it carries). The old
/// system is then judged against the new reading on those fields, and the
/// new system against the old reading on the rest.
fn settle_field_key(
    m: &Matrix,
    old: &Validation,
    new: &Validation,
    witnesses: &[(String, Result<Validation, CallFailure>)],
) -> Option<Vec<FieldKeyMiss>> {
    let answered: Vec<(&str, &Validation)> = witnesses
        .iter()
        .filter_map(|(name, r)| r.as_ref().ok().map(|v| (name.as_str(), v)))
        .collect();
    let majority = |with_new: usize, voters: usize| with_new > 0 && 2 * (with_new + 1) > voters;
    if old.verdict != new.verdict || old.verdict != Verdict::Valid {
        let with_new: Vec<&str> = answered
            .iter()
            .filter(|(_, v)| reads_alike(v, new))
            .map(|(name, _)| *name)
            .collect();
        if !majority(with_new.len(), answered.len() + 2) {
            return None;
        }
        let expect = read_as(new);
        return Some(vec![misread_by_old(m, old, expect, &with_new)?]);
    }
    let (Some(old_decode), Some(new_decode)) = (&old.decoded, &new.decoded) else {
        return None;
    };
    let mut misread = Decoded::default();
    let mut corrected = old_decode.clone();
    let mut any = false;
    let mut sided: BTreeSet<&str> = BTreeSet::new();
    for d in old_decode.diff(new_decode, None) {
        let mut only = Decoded::default();
        only.copy_field(new_decode, d.field);
        let (mut voters, mut with_new) = (2, Vec::new());
        for (name, v) in &answered {
            let Some(w) = v.decoded.as_ref().filter(|_| v.verdict == Verdict::Valid) else {
                continue;
            };
            let mut theirs = Decoded::default();
            theirs.copy_field(w, d.field);
            if theirs == Decoded::default() {
                continue; // it does not carry the field: no vote
            }
            voters += 1;
            if theirs == only {
                with_new.push(*name);
            }
        }
        if majority(with_new.len(), voters) {
            misread.copy_field(new_decode, d.field);
            corrected.copy_field(new_decode, d.field);
            sided.extend(with_new);
            any = true;
        }
    }
    if !any {
        return None;
    }
    let sided: Vec<&str> = sided.into_iter().collect();
    let expect = Expect::Exactly {
        verdict: Verdict::Valid,
        decoded: Some(&misread),
    };
    let mut out: Vec<FieldKeyMiss> = misread_by_old(m, old, expect, &sided).into_iter().collect();
    let expect = Expect::Valid {
        reference: Some(&corrected),
        known_features: None,
        carries: None,
    };
    let answer = Ok(new.clone());
    if let (Some(miss), Ok(new)) = (judge::validation(expect, &answer), answer) {
        out.push(new_misreads(m, old.verdict, expect, new, miss));
    }
    Some(out)
}

/// The old system's miss on a field key, judged by `expect` (the reading
/// the new system and `sided` share).
fn misread_by_old(
    m: &Matrix,
    old: &Validation,
    expect: Expect<'_>,
    sided: &[&str],
) -> Option<FieldKeyMiss> {
    let answer = Ok(old.clone());
    let miss = judge::validation(expect, &answer)?;
    Some(FieldKeyMiss {
        validator: m.old.clone(),
        cause: format!("field key misread by old: {}", miss.cause()),
        expected: format!(
            "{}, as {} and {} read it",
            expect.describe(),
            m.new,
            sided.join(" and ")
        ),
        miss,
        validation: answer.ok(),
    })
}

/// What a validator is expected to answer on a field key read as `v`
/// reads it: its verdict, and for a valid key its decode.
fn read_as(v: &Validation) -> Expect<'_> {
    match v.verdict {
        Verdict::Valid => Expect::Valid {
            reference: v.decoded.as_ref(),
            known_features: None,
            carries: None,
        },
        verdict => Expect::Exactly {
            verdict,
            decoded: None,
        },
    }
}

/// Whether two validators read a key alike: the same verdict and, for a
/// valid key, the same decode.
fn reads_alike(a: &Validation, b: &Validation) -> bool {
    a.verdict == b.verdict
        && (a.verdict != Verdict::Valid
            || match (&a.decoded, &b.decoded) {
                (Some(x), Some(y)) => x.diff(y, None).is_empty(),
                (x, y) => x.is_none() && y.is_none(),
            })
}

/// The old system's own miss on a field key where the expiry the key
/// carries decides against it (see [`judge_field_key`]).
fn old_misjudges_expiry(
    m: &Matrix,
    old: &Validation,
    new: &Validation,
    today: Day,
    witness: Option<Result<Validation, CallFailure>>,
) -> Option<FieldKeyMiss> {
    let expiry = |v: &Validation| v.decoded.as_ref().and_then(|d| d.expires.flatten());
    match (old.verdict, new.verdict) {
        (Verdict::Valid, Verdict::Expired) => {
            let carried = expiry(old)?;
            (today > carried).then(|| FieldKeyMiss {
                validator: m.old.clone(),
                miss: Miss::Accepted,
                cause: "field key valid by old after the expiry it decodes".into(),
                expected: format!("expired: old decodes the expiry {carried}, before {today}"),
                validation: Some(old.clone()),
            })
        }
        (Verdict::Expired, Verdict::Valid) => {
            let carried = expiry(new)?;
            let before = witness?.ok()?;
            let agreed = before.verdict == Verdict::Valid && expiry(&before) == Some(carried);
            (agreed && carried >= today).then(|| FieldKeyMiss {
                validator: m.old.clone(),
                miss: Miss::Rejected(Verdict::Expired),
                cause: "field key expired by old before the expiry it decodes".into(),
                expected: format!(
                    "valid through {carried}, the expiry old and new both decode (old read it the day before)"
                ),
                validation: Some(old.clone()),
            })
        }
        _ => None,
    }
}
