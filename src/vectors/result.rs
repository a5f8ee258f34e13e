//! A vector's `result`, Wycheproof's classification: read as-is from the
//! files (it needs no checking) and kept in the checked vectors, so both the
//! raw tables and the model use it.

use serde::{Deserialize, Serialize};

/// Wycheproof's classification of a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VectorResult {
    /// A genuine license: some expectation is `valid` (for entitlement
    /// vectors: the keys must be exactly as given).
    Valid,
    /// Must be rejected: no expectation is `valid` (for entitlement vectors:
    /// every format refuses).
    Invalid,
    /// Behaviour may legitimately differ: verdict, decode and key differences
    /// are recorded as passed observations, never findings; crashes and
    /// harness errors still are.
    Acceptable,
}

impl VectorResult {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            VectorResult::Valid => "valid",
            VectorResult::Invalid => "invalid",
            VectorResult::Acceptable => "acceptable",
        }
    }
}
