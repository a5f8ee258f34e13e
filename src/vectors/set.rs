//! The vectors of a directory, by kind.

use super::model::{EntitlementVector, KeyVector};
use super::regression::RegressionVector;

/// Every vector of a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VectorSet {
    /// `[[entitlement]]` vectors, in file (path) order, then file order.
    pub entitlements: Vec<EntitlementVector>,
    /// `[[key]]` vectors, in file (path) order, then file order.
    pub keys: Vec<KeyVector>,
    /// Saved regressions (`regressions/*.toml`), to run first.
    pub regressions: Vec<RegressionVector>,
}

impl VectorSet {
    /// The number of vectors of all kinds.
    pub fn len(&self) -> usize {
        self.entitlements.len() + self.keys.len() + self.regressions.len()
    }

    /// Whether there are no vectors at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
