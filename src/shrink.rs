//! Shrinking: reduce a failing random case to a minimal entitlement that
//! still fails the same way (same check, severity, systems and cause).
//!
//! Greedy, like QuickCheck's and proptest's shrinkers: try simpler variants
//! one field at a time (drop optional fields, remove features, smaller
//! numbers, plainer names and dates), keep the first that still fails the same
//! way, repeat until nothing simpler fails or the budget is spent. Every
//! candidate must itself be a valid entitlement.

use std::collections::HashSet;

use crate::catalog::Catalog;
use crate::check::{Case, Matrix, case_id};
use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};
use crate::finding::{Finding, GroupKey};

/// Evaluations of the matrix one shrink may spend.
pub const DEFAULT_BUDGET: usize = 400;

/// Steps a hang's shrink may take: each simpler candidate that still hangs
/// costs a whole timeout (400 of them at 5 s would hold a run up for half
/// an hour), so a hang's example is shrunk this far and no further.
pub const HANG_STEPS: usize = 8;

/// Values between `target` and `v`, closest to `target` first, halving the
/// step each time (`target`, `v - d/2`, `v - d/4`, ..., `v - 1`): a binary
/// search for the boundary in a few rounds instead of a walk of `v` steps.
fn towards(v: u64, target: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut d = v.saturating_sub(target);
    while d > 0 {
        out.push(v - d);
        d /= 2;
    }
    out
}

/// Simpler variants of `e`, most aggressive first.
fn candidates(e: &Entitlement, catalog: &Catalog) -> Vec<Entitlement> {
    let mut out = Vec::new();
    let mut with = |f: &dyn Fn(&mut Entitlement)| {
        let mut c = e.clone();
        f(&mut c);
        if c != *e {
            out.push(c);
        }
    };
    with(&|c| c.customer = None);
    with(&|c| c.order_id = None);
    with(&|c| c.host_id = None);
    with(&|c| c.maintenance_until = None);
    with(&|c| c.features.clear());
    for f in &e.features {
        with(&|c| {
            c.features.remove(f);
        });
    }
    with(&|c| {
        if let Some(cu) = &mut c.customer {
            *cu = Customer {
                id: "C-1".into(),
                name: "A".into(),
            };
        }
    });
    with(&|c| c.order_id = c.order_id.as_ref().map(|_| "SO-1".into()));
    with(&|c| c.host_id = c.host_id.as_ref().map(|_| "H1".into()));
    if let Some(seats) = e.seats {
        for v in towards(u64::from(seats), 1) {
            with(&|c| c.seats = Some(v as u32));
        }
    }
    for v in towards(u64::from(e.serial), 0) {
        with(&|c| c.serial = v as u32);
    }
    for v in towards(u64::from(e.max_major), 0) {
        with(&|c| c.max_major = v as u8);
    }
    if let Some(first) = catalog.editions.first() {
        with(&|c| c.edition = first.clone());
    }
    with(&|c| c.expires = None);
    if let (Some(plain), Some(x)) = (Day::from_ymd(2026, 1, 1), e.expires) {
        with(&|c| {
            if plain <= x {
                c.issued = plain;
            }
        });
        with(&|c| {
            c.expires = Some(
                c.issued
                    .max(x.add_days(-(x.days_since(c.issued) / 2)).unwrap_or(x)),
            )
        });
    }
    if let Some(plain) = Day::from_ymd(2026, 1, 1) {
        with(&|c| {
            if c.expires.is_none_or(|x| plain <= x) {
                c.issued = plain;
            }
        });
    }
    out.retain(|c| c.check(catalog).is_ok());
    out
}

/// The finding of `key`'s group in `e`'s outcome, if it still fails that way.
fn fails_same_way(
    matrix: &Matrix,
    e: &Entitlement,
    key: &GroupKey,
    template: &Finding,
) -> Option<Finding> {
    let case = Case {
        id: case_id(e),
        source: template.source.clone(),
        entitlement: e.clone(),
    };
    let outcome = matrix.run_batch(std::slice::from_ref(&case)).pop()?;
    outcome.findings.into_iter().find(|f| f.key == *key)
}

/// Whether `example`, run again alone, fails the same way.
pub fn reproduces(matrix: &Matrix, example: &Finding) -> bool {
    example
        .entitlement
        .as_ref()
        .is_some_and(|e| fails_same_way(matrix, e, &example.key, example).is_some())
}

/// Shrinks the example of a group. Returns the minimal finding found, or
/// `None` when the example has no entitlement or nothing simpler fails.
/// Once `stopped()` (Ctrl-C), it returns what it had before the candidate
/// in flight, whose answers may have been cut short.
pub fn shrink(
    matrix: &Matrix,
    catalog: &Catalog,
    example: &Finding,
    budget: usize,
    stopped: &dyn Fn() -> bool,
) -> Option<Finding> {
    let mut current = example.entitlement.clone()?;
    let mut best: Option<Finding> = None;
    let mut tried: HashSet<String> = HashSet::new();
    let mut spent = 0;
    let mut steps_left = if crate::judge::cause_is_timeout(&example.key.cause) {
        HANG_STEPS
    } else {
        usize::MAX
    };
    'outer: loop {
        for candidate in candidates(&current, catalog) {
            if spent >= budget {
                break 'outer;
            }
            if !tried.insert(candidate.to_json()) {
                continue;
            }
            spent += 1;
            let found = fails_same_way(matrix, &candidate, &example.key, example);
            if stopped() {
                break 'outer;
            }
            if let Some(f) = found {
                current = candidate;
                best = Some(f);
                steps_left -= 1;
                if steps_left == 0 {
                    break 'outer;
                }
                continue 'outer;
            }
        }
        break;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::towards;

    #[test]
    fn towards_bisects() {
        assert_eq!(
            towards(1786, 1),
            [1, 894, 1340, 1563, 1675, 1731, 1759, 1773, 1780, 1783, 1785]
        );
        assert!(towards(5, 5).is_empty());
    }
}
