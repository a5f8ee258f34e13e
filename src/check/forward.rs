//! FORWARD: keys the new system issued validate in every shipped release the
//! entitlement covers (same product, a major version the licence includes),
//! decoding what that release knows. A release's validator can never change,
//! so a miss here locks out customers who do not upgrade.
//!
//! Each covered release is also shown the keys other generators (the old
//! system, every configured generator of a format) issue for the same
//! entitlement: when the release accepts one of them, the new system could
//! have issued a key the release reads, and rejecting its key is an
//! *avoidable* outage (a policy regression), which no waiver covers unless it
//! says so. Only a key the release reads as the entitlement, and its own
//! generator reads as the whole entitlement (the release sees only the
//! features it knows), counts: one that drops or changes a field (a
//! generator that should have refused) is no key the new system could have
//! issued.

use super::matrix::{Matrix, Release, own_context};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, Words, must_validate};
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::judge::{self, Expect, Miss};
use crate::verdict::{Context, Decoded, Verdict};

/// Whether `release` must accept keys for `e`.
pub(super) fn covers(release: &Release, e: &Entitlement) -> bool {
    release.product == e.product && release.version.major <= u32::from(e.max_major)
}

pub(super) fn plan(m: &Matrix, e: &Entitlement, plan: &mut Plan) {
    if !m.enabled(Check::Forward) {
        return;
    }
    let Some(k) = plan.key(Base::New).cloned() else {
        return;
    };
    if m.releases.iter().any(|release| covers(release, e)) {
        // Each alternative's own generator reads it (the old system's is
        // ROUNDTRIP's call, asked once): whether it carries the entitlement.
        let own = own_context(e);
        for j in 0..plan.alternatives.len() {
            let (g, key) = plan.alternatives[j].clone();
            if m.systems.get(&g).is_some_and(|s| s.info().can_validate) {
                plan.request(Purpose::AlternativeOwn(j), &g, key.as_bytes(), &own);
            }
        }
    }
    for (r, release) in m.releases.iter().enumerate() {
        if covers(release, e) {
            let ctx = release_context(release, e);
            plan.request(Purpose::Forward(r), &release.validator, k.as_bytes(), &ctx);
            for j in 0..plan.alternatives.len() {
                let key = plan.alternatives[j].1.clone();
                let purpose = Purpose::ForwardAlternative(r, j);
                plan.request(purpose, &release.validator, key.as_bytes(), &ctx);
            }
        }
    }
}

/// Where `release` runs a key for `e`: its product and version, on the day of
/// issue, on the entitlement's host.
pub(super) fn release_context(release: &Release, e: &Entitlement) -> Context {
    Context {
        product: release.product.clone(),
        version: release.version,
        today: e.issued,
        host_id: e.host_id.clone(),
    }
}

pub(super) fn judge(r: &mut Recorder<'_>) {
    let m = r.matrix;
    let expected = Decoded::from_entitlement(&r.case.entitlement);
    // The new system's own decode of its key (ROUNDTRIP's): a release's
    // validator that accepts the key must carry every field it carries (a
    // field left out is one the release cannot be seeing). Only when that
    // decode reads the entitlement itself: a wrong one is ROUNDTRIP's.
    let own = match r.answered(Purpose::Roundtrip(Base::New)) {
        Some((_, Ok(v))) if v.verdict == Verdict::Valid => v
            .decoded
            .clone()
            .filter(|d| expected.diff(d, None).is_empty()),
        _ => None,
    };
    let format = r.format(Base::New);
    for (i, release) in m.releases.iter().enumerate() {
        let Some((req, result)) = r.answered(Purpose::Forward(i)) else {
            continue;
        };
        let at = At::request(Check::Forward, &m.new, &release.name, req);
        let expect = Expect::Valid {
            reference: Some(&expected),
            known_features: release.features.as_ref(),
            carries: own.as_ref(),
        };
        // Another generator's key may be of another format, carrying other
        // fields: it is held to the entitlement only.
        let plain = Expect::Valid {
            reference: Some(&expected),
            known_features: release.features.as_ref(),
            carries: None,
        };
        let accepted = accepted_alternative(r, i, release, plain, &expected);
        r.judge_avoidable(at, expect, result, |miss| {
            let why = "new issued it for an entitlement this release covers";
            let words = must_validate(&format, &expect, why, miss);
            match (miss, accepted) {
                (Miss::Rejected(_), Some((g, alt_format))) => avoidable(words, &g, &alt_format),
                _ => (words, None),
            }
        });
    }
}

/// The first other generator whose key for the entitlement release `i`
/// accepts as the entitlement (`expect`), with that key's format; every
/// alternative call that failed is recorded as a crash of its validator.
/// The release reads only the features it knows, so the key must also read
/// as the whole entitlement (`sold`) in its own generator: a key that drops
/// a feature the release does not know (an old generator that should have
/// refused) is no key the new system could have issued. A generator that
/// does not validate gives no such evidence, and its key does not count.
fn accepted_alternative(
    r: &mut Recorder<'_>,
    i: usize,
    release: &Release,
    expect: Expect<'_>,
    sold: &Decoded,
) -> Option<(String, String)> {
    let whole = Expect::Valid {
        reference: Some(sold),
        known_features: None,
        carries: None,
    };
    let mut accepted = None;
    for (j, (g, _)) in r.plan.alternatives.iter().enumerate() {
        let Some((req, result)) = r.answered(Purpose::ForwardAlternative(i, j)) else {
            continue;
        };
        let at = At::request(Check::Forward, g, &release.name, req);
        if r.failure(at, result) {
            continue;
        }
        let carries = matches!(
            r.answered(Purpose::AlternativeOwn(j)),
            Some((_, own)) if judge::validation(whole, own).is_none()
        );
        if let Ok(v) = result
            && accepted.is_none()
            && carries
            && judge::validation(expect, result).is_none()
        {
            let format = v.format.clone().unwrap_or_else(|| "unrecognised".into());
            accepted = Some((g.clone(), format));
        }
    }
    accepted
}

/// Words for an outage another generator's key shows was avoidable.
pub(super) fn avoidable(words: Words, generator: &str, format: &str) -> (Words, Option<String>) {
    let words = Words {
        cause: format!("avoidable: {}", words.cause),
        expected: format!(
            "{}: {generator} issues a {format} key for this entitlement that this validator accepts",
            words.expected
        ),
    };
    (words, Some(format!("{generator} ({format})")))
}
