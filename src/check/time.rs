//! TIME: verdicts on a grid of days around every expiry boundary: the day
//! before and the last valid day must validate, the day after must not.
//! Perpetual keys are tried on 9999-12-31. Old and new are asked about both
//! keys, and judged on those they read on the day of issue (a key rejected
//! then is ROUNDTRIP's, BACKWARD's or ROLLBACK's finding, once); every
//! shipped release the entitlement covers is asked about the new key in its
//! own context, when its validator is neither system (those are
//! asked already) and it reads the key (FORWARD): a release that locks
//! customers out on their last valid day is an outage its validator, which
//! can never change, brings to every new key.

use super::forward;
use super::matrix::{Matrix, Release, own_context};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, Words};
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::judge::{Expect, Miss};
use crate::verdict::{Context, Verdict};

/// The days TIME checks for an entitlement: (day, valid?, label).
fn grid(e: &Entitlement) -> Vec<(Day, bool, &'static str)> {
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

pub(super) fn plan(m: &Matrix, e: &Entitlement, plan: &mut Plan) {
    if !m.enabled(Check::Time) {
        return;
    }
    plan.days = grid(e);
    let ctx = own_context(e);
    for base in Base::BOTH {
        let key = match base {
            Base::Old => plan.old_key.clone(),
            Base::New => plan.distinct_new_key().cloned(),
        };
        let Some(key) = key else { continue };
        for d in 0..plan.days.len() {
            let ctx = Context {
                today: plan.days[d].0,
                ..ctx.clone()
            };
            for (by_old, validator) in [(true, &m.old), (false, &m.new)] {
                let purpose = Purpose::Time {
                    base,
                    day: d,
                    by_old,
                };
                plan.request(purpose, validator, key.as_bytes(), &ctx);
            }
        }
    }
    let Some(key) = plan.new_key.clone() else {
        return;
    };
    for (r, release) in m.releases.iter().enumerate() {
        if !asks_release(m, release, e) {
            continue;
        }
        let ctx = forward::release_context(release, e);
        for d in 0..plan.days.len() {
            let ctx = Context {
                today: plan.days[d].0,
                ..ctx.clone()
            };
            let purpose = Purpose::TimeRelease { release: r, day: d };
            plan.request(purpose, &release.validator, key.as_bytes(), &ctx);
        }
    }
}

/// Whether TIME asks `release` about the new key for `e`: it covers `e`, its
/// validator is neither the old nor the new system (TIME asks those anyway,
/// in the key's own context), and FORWARD runs (it says whether the release
/// reads the key at all: a key it cannot read is FORWARD's finding, once).
fn asks_release(m: &Matrix, release: &Release, e: &Entitlement) -> bool {
    m.enabled(Check::Forward)
        && forward::covers(release, e)
        && release.validator != m.old
        && release.validator != m.new
}

pub(super) fn judge(r: &mut Recorder<'_>) {
    let (m, plan) = (r.matrix, r.plan);
    for base in Base::BOTH {
        let generator = if base == Base::Old { &m.old } else { &m.new };
        let format = r.format(base);
        let reads = [
            reads_on_issue(r, base, true),
            reads_on_issue(r, base, false),
        ];
        for (d, &(_, valid, label)) in plan.days.iter().enumerate() {
            for (by_old, validator) in [(true, &m.old), (false, &m.new)] {
                let purpose = Purpose::Time {
                    base,
                    day: d,
                    by_old,
                };
                let Some((req, result)) = r.answered(purpose) else {
                    continue;
                };
                let at = At::request(Check::Time, generator, validator, req);
                if !reads[usize::from(!by_old)] {
                    r.failure(at, result);
                    continue;
                }
                let expect = if valid {
                    Expect::ACCEPTED
                } else {
                    Expect::Rejected
                };
                r.judge(at, expect, result, |miss| {
                    words(&format, label, valid, miss)
                });
            }
        }
    }
    judge_releases(r);
}

/// Whether the old (`by_old`) or new system reads `base`'s key in the key's
/// own context, where another check asked it: a key it rejects there is
/// that check's finding (ROUNDTRIP, BACKWARD), not one more per day of the
/// grid. The old system is asked about a new key only when it reads it
/// (ROLLBACK). Where the other check did not run, TIME judges every day.
fn reads_on_issue(r: &Recorder<'_>, base: Base, by_old: bool) -> bool {
    let purpose = match (base, by_old) {
        (Base::New, true) => return super::rollback::old_reads_new_key(r),
        (Base::Old, true) => Purpose::Roundtrip(Base::Old),
        (Base::Old, false) => Purpose::Backward,
        (Base::New, false) => Purpose::Roundtrip(Base::New),
    };
    match r.answered(purpose) {
        None => true,
        Some((_, Ok(v))) => v.verdict == Verdict::Valid,
        Some((_, Err(_))) => false,
    }
}

/// TIME's words for a miss on `label`.
fn words(format: &str, label: &str, valid: bool, miss: &Miss) -> Words {
    Words {
        cause: match miss {
            Miss::Rejected(_) => format!("{format} key rejected on {label}"),
            Miss::Accepted => format!("{format} key accepted on {label}"),
            other => format!("validate {}", other.cause()),
        },
        expected: if valid { "valid" } else { "expired" }.into(),
    }
}

/// The releases' answers about the new key: judged only where the release
/// reads the key on the day of issue (a key it rejects then is FORWARD's
/// finding, not one per day).
fn judge_releases(r: &mut Recorder<'_>) {
    let (m, plan) = (r.matrix, r.plan);
    let format = r.format(Base::New);
    for (i, release) in m.releases.iter().enumerate() {
        let reads = matches!(
            r.answered(Purpose::Forward(i)),
            Some((_, Ok(v))) if v.verdict == Verdict::Valid
        );
        for (d, &(_, valid, label)) in plan.days.iter().enumerate() {
            let purpose = Purpose::TimeRelease { release: i, day: d };
            let Some((req, result)) = r.answered(purpose) else {
                continue;
            };
            let at = At::request(Check::Time, &m.new, &release.name, req);
            if !reads {
                r.failure(at, result);
                continue;
            }
            let expect = if valid {
                Expect::ACCEPTED
            } else {
                Expect::Rejected
            };
            r.judge(at, expect, result, |miss| {
                words(&format, label, valid, miss)
            });
        }
    }
}
