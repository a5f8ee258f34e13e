//! What the sections of the HTML page write the same way: a pair of systems
//! with an arrow, a gate's status as a CSS colour class, and a column's
//! header (a system, a release and the validator it embeds, or none).
//!
//! They live here, not in `mod.rs`, so no section refers back to the file
//! that assembles the sections into the page. Nothing here judges anything:
//! it only spells and orders what the run decided.

use serde::Serialize;

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

/// A column's header: the validating system or release, and what it is.
#[derive(Serialize)]
pub(super) struct ColumnView {
    name: String,
    note: String,
}

/// The header of the column of `validator` (`None`: what a system does on
/// its own, no validator involved).
pub(super) fn column(r: &RunResult, validator: Option<&str>) -> ColumnView {
    match validator {
        None => ColumnView {
            name: "no validation".into(),
            note: "issuing only".into(),
        },
        Some(v) => ColumnView {
            name: v.to_string(),
            note: r
                .meta
                .releases
                .iter()
                .find(|(n, _)| n == v)
                .map(|(_, sys)| format!("release, validator {sys}"))
                .unwrap_or_else(|| "system".into()),
        },
    }
}
