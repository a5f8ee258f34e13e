//! The "Detection power" section of a selftest's report: which planted
//! defects the configuration catches, so a release manager can tell a green
//! run that proves something from one that could not have failed.

use serde::Serialize;

use crate::detection::{Detection, Outcome};

#[derive(Serialize)]
pub(super) struct DetectionView {
    headline: String,
    /// CSS class of the score: `green` (every applicable injector caught),
    /// `red` (some missed), `idle` (none applicable).
    class: &'static str,
    score: String,
    systems: String,
    rows: Vec<MutantView>,
}

#[derive(Serialize)]
struct MutantView {
    injector: String,
    family: &'static str,
    what: String,
    system: String,
    /// `caught`, `missed` or `na`.
    class: &'static str,
    outcome: &'static str,
    how: String,
    example: Option<String>,
    replay: Option<String>,
}

pub(super) fn detection(d: &Detection) -> DetectionView {
    DetectionView {
        headline: d.headline(),
        class: match (d.missed, d.caught) {
            (0, 0) => "idle",
            (0, _) => "green",
            _ => "red",
        },
        score: d
            .score_percent
            .map_or_else(|| "n/a".into(), crate::words::percent),
        systems: d.systems.join(", "),
        rows: d
            .mutants
            .iter()
            .map(|m| MutantView {
                injector: m.injector.clone(),
                family: m.family.as_str(),
                what: m.what.clone(),
                system: m.system.clone(),
                class: match m.outcome {
                    Outcome::Caught => "caught",
                    Outcome::Missed => "missed",
                    Outcome::NotApplicable => "na",
                },
                outcome: m.outcome.as_str(),
                how: m.how(),
                example: m.example_text(),
                replay: m.replay.clone(),
            })
            .collect(),
    }
}
