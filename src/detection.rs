//! Detection power: what `keycompat selftest` found out about a run, the
//! share of realistic defects (see [`crate::inject`]) the user's own
//! configuration would have caught.
//!
//! These are the report's types and the score only; how the defects are
//! planted and the runs compared is [`crate::selftest`]. A green run means
//! little if it could not have caught anything: a *missed* injector names
//! a blind spot (too few cases, a check switched off, a waiver too wide),
//! and a *not applicable* one says why its defect cannot change any answer
//! in this configuration, so it never counts as caught.

use serde::{Deserialize, Serialize};

use crate::finding::{Check, Finding, Severity};
use crate::inject::Family;

/// What became of one injector planted in one system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The run found something the unchanged run does not.
    Caught,
    /// The run found nothing new: a blind spot.
    Missed,
    /// The defect cannot change any answer for this configuration.
    NotApplicable,
}

impl Outcome {
    /// The word reports print.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Caught => "caught",
            Outcome::Missed => "missed",
            Outcome::NotApplicable => "not applicable",
        }
    }
}

/// A finding group the defect added: how the run caught it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catch {
    /// The group's stable id (`g-...`).
    pub id: String,
    /// The check that found it.
    pub check: Check,
    /// Its severity.
    pub severity: Severity,
    /// The system that issued the key.
    pub generator: String,
    /// The system or release that validated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
    /// What went wrong.
    pub cause: String,
    /// Findings of the group before the run stopped (it stops once caught).
    pub count: u64,
}

/// One injector planted in one system, and what the run made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mutant {
    /// The injector's stable name, e.g. `time.today-plus-1`.
    pub injector: String,
    /// Its family.
    pub family: Family,
    /// The defect, in words.
    pub what: String,
    /// The system it was planted in.
    pub system: String,
    /// Caught, missed or not applicable.
    pub outcome: Outcome,
    /// Why it is not applicable; for a catch by a gate or a stopped run,
    /// how it was caught.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The new finding groups, worst first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caught_by: Vec<Catch>,
    /// Gates red with the defect and not without it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub red_gates: Vec<String>,
    /// The smallest example of the worst new group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Finding>,
    /// The replay command of that example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
}

impl Mutant {
    /// The catch reports lead with: the worst new group.
    pub fn first_catch(&self) -> Option<&Catch> {
        self.caught_by.first()
    }

    /// The example as reports print it: its entitlement's canonical JSON,
    /// else its key.
    pub fn example_text(&self) -> Option<String> {
        let e = self.example.as_ref()?;
        e.entitlement
            .as_ref()
            .map(|e| e.to_json())
            .or_else(|| e.license_key.clone())
    }

    /// How it was caught, or why it was not, in one line for every format.
    pub fn how(&self) -> String {
        match (self.outcome, self.first_catch()) {
            (Outcome::Caught, Some(c)) => {
                let pair = match &c.validator {
                    Some(v) => format!("{} -> {v}", c.generator),
                    None => c.generator.clone(),
                };
                let more = match self.caught_by.len() {
                    1 => String::new(),
                    n => format!(" (and {} more new groups)", n - 1),
                };
                format!(
                    "by {} {}: {pair}: {} ({}){more}",
                    c.check, c.severity, c.cause, c.id
                )
            }
            (Outcome::Caught, None) if !self.red_gates.is_empty() => {
                format!("by the gates {}", self.red_gates.join(", "))
            }
            (Outcome::Missed, _) => MISSED_HINT.to_string(),
            _ => self.reason.clone().unwrap_or_default(),
        }
    }
}

/// What to do about a missed injector, as every format says it.
pub const MISSED_HINT: &str = "nothing new found; hint: more cases (--cases), a vector that pins this \
     behaviour, the check that would see it switched on, or a narrower waiver";

/// The detection section of a selftest's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The systems defects were planted in (`new`, and `old` with `--old`).
    pub systems: Vec<String>,
    /// Every injector in every system, in report order.
    pub mutants: Vec<Mutant>,
    /// Injectors caught.
    pub caught: u64,
    /// Injectors missed.
    pub missed: u64,
    /// Injectors not applicable.
    pub not_applicable: u64,
    /// caught / (caught + missed), in percent; absent when none applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_percent: Option<f64>,
    /// Wall-clock seconds of the unchanged run (which the report's other
    /// sections describe). Terminal only: reports read no clock, so the
    /// same run renders the same files.
    #[serde(skip)]
    pub baseline_seconds: f64,
    /// Wall-clock seconds of the whole selftest, the unchanged run included
    /// (terminal only).
    #[serde(skip)]
    pub total_seconds: f64,
}

impl Detection {
    /// The section for `mutants`, with its counts and score.
    pub fn new(systems: Vec<String>, mutants: Vec<Mutant>) -> Self {
        let n = |o: Outcome| mutants.iter().filter(|m| m.outcome == o).count() as u64;
        let (caught, missed, not_applicable) = (
            n(Outcome::Caught),
            n(Outcome::Missed),
            n(Outcome::NotApplicable),
        );
        Detection {
            systems,
            score_percent: score(caught, missed),
            mutants,
            caught,
            missed,
            not_applicable,
            baseline_seconds: 0.0,
            total_seconds: 0.0,
        }
    }

    /// How many times a plain run the selftest took.
    pub fn cost_ratio(&self) -> Option<f64> {
        (self.baseline_seconds > 0.0).then(|| self.total_seconds / self.baseline_seconds)
    }
}

impl Detection {
    /// The headline: the score and its counts, e.g. "22 of 24 applicable
    /// injectors caught (91.67 %), 3 not applicable".
    pub fn headline(&self) -> String {
        let applicable = self.caught + self.missed;
        let score = self
            .score_percent
            .map_or_else(|| "no score".to_string(), crate::words::percent);
        format!(
            "{} of {} caught ({score}), {} not applicable",
            crate::words::count(self.caught),
            crate::words::counted(applicable, "applicable injector"),
            crate::words::count(self.not_applicable)
        )
    }
}

/// The detection score: caught / (caught + missed), in percent.
pub fn score(caught: u64, missed: u64) -> Option<f64> {
    let applicable = caught + missed;
    (applicable > 0).then(|| caught as f64 * 100.0 / applicable as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(outcome: Outcome) -> Mutant {
        Mutant {
            injector: "time.today-plus-1".into(),
            family: Family::Time,
            what: "w".into(),
            system: "new".into(),
            outcome,
            reason: None,
            caught_by: Vec::new(),
            red_gates: Vec::new(),
            example: None,
            replay: None,
        }
    }

    #[test]
    fn not_applicable_injectors_do_not_count() {
        let d = Detection::new(
            vec!["new".into()],
            vec![
                mutant(Outcome::Caught),
                mutant(Outcome::Caught),
                mutant(Outcome::Caught),
                mutant(Outcome::Missed),
                mutant(Outcome::NotApplicable),
            ],
        );
        assert_eq!((d.caught, d.missed, d.not_applicable), (3, 1, 1));
        assert_eq!(d.score_percent, Some(75.0));
        assert_eq!(score(0, 0), None);
    }
}
