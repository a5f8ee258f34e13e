//! FORWARD: keys the new system issued validate in every shipped release the
//! entitlement covers (same product, a major version the licence includes),
//! decoding what that release knows. A release's validator can never change,
//! so a miss here locks out customers who do not upgrade.

use super::matrix::{Matrix, Release};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, must_validate};
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::judge::Expect;
use crate::verdict::{Context, Decoded};

/// Whether `release` must accept keys for `e`.
fn covers(release: &Release, e: &Entitlement) -> bool {
    release.product == e.product && release.version.major <= u32::from(e.max_major)
}

pub(super) fn plan(m: &Matrix, e: &Entitlement, plan: &mut Plan) {
    if !m.enabled(Check::Forward) {
        return;
    }
    let Some(k) = plan.key(Base::New).cloned() else {
        return;
    };
    for (r, release) in m.releases.iter().enumerate() {
        if covers(release, e) {
            let ctx = Context {
                product: release.product.clone(),
                version: release.version,
                today: e.issued,
                host_id: e.host_id.clone(),
            };
            plan.request(Purpose::Forward(r), &release.validator, k.as_bytes(), &ctx);
        }
    }
}

pub(super) fn judge(r: &mut Recorder<'_>) {
    let m = r.matrix;
    let expected = Decoded::from_entitlement(&r.case.entitlement);
    let format = r.format(Base::New);
    for (i, release) in m.releases.iter().enumerate() {
        let Some((req, result)) = r.answered(Purpose::Forward(i)) else {
            continue;
        };
        let at = At::request(Check::Forward, &m.new, &release.name, req);
        let expect = Expect::Valid {
            reference: Some(&expected),
            known_features: release.features.as_ref(),
        };
        r.judge(at, expect, result, |miss| {
            must_validate(&format, &expect, miss)
        });
    }
}
