//! A system that gave up mid-run: a plugin that failed every call until its
//! restarts ran out can no longer answer, so the run stops taking cases.
//!
//! The run still ends in a judged result, so every format is written and
//! nothing found before the stop is lost; [`GaveUp`] is what that result
//! says about the stop, in `meta.gave_up`. Such a result is *incomplete*: it
//! carries a red gate ([`crate::gate::GAVE_UP_GATE`]) and its verdict is
//! NO-GO whatever else it holds, and `keycompat run`, `data`, `selftest`
//! and `merge` exit 3 on it ([`crate::exit::PLUGIN`]). This module only
//! describes the stop; the gate and the verdict are decided in
//! [`crate::gate`] and [`super::result`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::partition::Partition;
use crate::words::counted;

/// A system that gave up, and when the run stopped because of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GaveUp {
    /// The shard whose run stopped (`None`: an unsharded run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Partition>,
    /// The system (or its copy under another environment, for ENV).
    pub system: String,
    /// Why, as the plugin host said it: how many calls failed in a row and
    /// the last failure, with what the plugin wrote on stderr.
    pub message: String,
    /// Cases judged when the run stopped (vector and regression cases,
    /// random and steered cases, orders), the batches under way included:
    /// everything they found is in the result.
    pub after_cases: u64,
}

impl GaveUp {
    /// Who stopped the run and when, without the why: `system "new" gave
    /// up after 128 cases` (`in shard 2/3` added for a shard).
    pub fn headline(&self) -> String {
        let shard = self
            .shard
            .map(|p| format!(" in shard {p}"))
            .unwrap_or_default();
        format!(
            "system {:?} gave up{shard} after {}",
            self.system,
            counted(self.after_cases, "case")
        )
    }
}

/// Sorts stops by shard, then system: the order every report lists them
/// in, whatever order a merge read its shards in.
pub(crate) fn sort(stops: &mut [GaveUp]) {
    stops.sort_by(|a, b| {
        let key = |g: &GaveUp| g.shard.map(|p| (p.n, p.k));
        (key(a), &a.system).cmp(&(key(b), &b.system))
    });
}

impl fmt::Display for GaveUp {
    /// The headline and the host's message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.headline(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_system_the_shard_and_the_cases() {
        let mut g = GaveUp {
            shard: None,
            system: "new".into(),
            message: "plugin x crashed 21 times in a row".into(),
            after_cases: 1,
        };
        assert_eq!(g.headline(), "system \"new\" gave up after 1 case");
        g.shard = Some(Partition { k: 2, n: 3 });
        g.after_cases = 1280;
        assert_eq!(
            g.to_string(),
            "system \"new\" gave up in shard 2/3 after 1,280 cases: plugin x crashed 21 times in a row"
        );
    }
}
