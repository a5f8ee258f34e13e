//! Targets: uncovered combinations an entitlement can be steered into.
//!
//! After the main random pass the run adds one case per target, each a
//! random entitlement changed just enough to land in the gap. Steering must
//! keep the entitlement valid ([`Entitlement::check`]), or the extra case
//! would test the harness's input checks instead of the key systems.

use serde::{Deserialize, Serialize};

use super::class::mix;
use super::class::{ExpiryClass, MaintenanceClass, NodeLock, SeatsClass};
use super::space::{Axis, Coverage, CoverageSpace, Dimension};
use crate::entitlement::Entitlement;

/// One change to an entitlement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// Set the product (a catalog slug).
    Product(String),
    /// Set the edition (a catalog edition).
    Edition(String),
    /// Grant a catalog feature.
    Feature(String),
    /// Move seats into a class.
    Seats(SeatsClass),
    /// Move the expiry into a class.
    Expiry(ExpiryClass),
    /// Move the maintenance end into a class.
    Maintenance(MaintenanceClass),
    /// Lock or unlock.
    NodeLock(NodeLock),
}

impl Setting {
    fn apply(&self, e: &mut Entitlement, r: u64) {
        match self {
            Setting::Product(p) => e.product.clone_from(p),
            Setting::Edition(x) => e.edition.clone_from(x),
            Setting::Feature(f) => {
                if !e.features.contains(f) {
                    e.features.insert(f.clone());
                }
            }
            Setting::Seats(c) => c.apply(e, r),
            Setting::Expiry(c) => c.apply(e, r),
            Setting::Maintenance(c) => c.apply(e, r),
            Setting::NodeLock(c) => c.apply(e, r),
        }
    }
}

/// An uncovered value of an entitlement dimension. Targets sort in the
/// space's order (dimension, then value).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Target {
    /// The dimension.
    pub dimension: Dimension,
    /// The value's index in the dimension.
    pub value: usize,
    /// The value's label, e.g. `acme-cloud × seats 1001–1023`.
    pub label: String,
    /// The changes that land an entitlement on the value.
    pub settings: Vec<Setting>,
}

impl Target {
    /// Changes `e` minimally so it lands on this target: only the fields the
    /// target names, plus `issued` or `expires` where a date class needs them
    /// moved to stay ordered. `rng_value` picks the value within each class
    /// (often a class edge); the same value always gives the same result. A
    /// valid entitlement stays valid.
    pub fn steer(&self, e: &mut Entitlement, rng_value: u64) {
        for (i, s) in self.settings.iter().enumerate() {
            s.apply(e, mix(rng_value, i as u64));
        }
    }
}

impl CoverageSpace {
    /// Every value of every entitlement dimension that `coverage` has not
    /// observed, in the space's order. Releases and verdicts are not targets:
    /// an entitlement alone cannot reach them.
    pub fn targets(&self, coverage: &Coverage) -> Vec<Target> {
        let mut out = Vec::new();
        for d in Dimension::ALL {
            let Some((a, b)) = d.axes() else { continue };
            for v in 0..self.total(d) {
                if self.count(coverage, d, v) > 0 {
                    continue;
                }
                let settings = match b {
                    None => self.setting(a, v).into_iter().collect(),
                    Some(b) => {
                        let n = self.axis_len(b).max(1);
                        [self.setting(a, v / n), self.setting(b, v % n)]
                            .into_iter()
                            .flatten()
                            .collect()
                    }
                };
                out.push(Target {
                    dimension: d,
                    value: v,
                    label: self.label(d, v),
                    settings,
                });
            }
        }
        out
    }

    fn setting(&self, axis: Axis, v: usize) -> Option<Setting> {
        Some(match axis {
            Axis::Product => Setting::Product(self.products.get(v)?.clone()),
            Axis::Edition => Setting::Edition(self.editions.get(v)?.clone()),
            Axis::Feature => Setting::Feature(self.features.get(v)?.clone()),
            Axis::Seats => Setting::Seats(*SeatsClass::ALL.get(v)?),
            Axis::Expiry => Setting::Expiry(*ExpiryClass::ALL.get(v)?),
            Axis::Maintenance => Setting::Maintenance(*MaintenanceClass::ALL.get(v)?),
            Axis::NodeLock => Setting::NodeLock(*NodeLock::ALL.get(v)?),
        })
    }
}
