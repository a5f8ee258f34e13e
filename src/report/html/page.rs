//! What the sections of the HTML page write the same way: a pair of systems
//! with an arrow, a gate's status as a CSS colour class, and the order in
//! which systems and releases appear in rows and columns.
//!
//! They live here, not in `mod.rs`, so no section refers back to the file
//! that assembles the sections into the page. Nothing here judges anything:
//! it only spells and orders what the run decided.

use crate::gate::Status;
use crate::run::RunResult;

/// `a -> b` as the page shows it: `a → b`.
pub(super) fn arrow(pair: &str) -> String {
    pair.replace(" -> ", " \u{2192} ")
}

/// The CSS class of a gate status: `green`, `yellow` or `red`.
pub(super) fn status_class(s: Status) -> &'static str {
    match s {
        Status::Green => "green",
        Status::Yellow => "yellow",
        Status::Red => "red",
        Status::Interrupted => "interrupted",
    }
}

/// Rank of a system or release in rows and columns: old, new, other
/// systems by name, then releases in the config's order, then "none".
pub(super) fn rank(r: &RunResult, name: Option<&str>) -> (usize, usize, String) {
    let Some(name) = name else {
        return (4, 0, String::new());
    };
    if name == r.meta.old {
        (0, 0, String::new())
    } else if name == r.meta.new {
        (1, 0, String::new())
    } else if let Some(i) = r.meta.releases.iter().position(|(n, _)| n == name) {
        (3, i, String::new())
    } else {
        (2, 0, name.to_string())
    }
}
