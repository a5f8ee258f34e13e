//! What changed since a baseline run, as every report format shows it:
//! finding groups new, fixed, grown, shrunk, (no longer) waived, and gates
//! that changed colour. [`super::baseline`] computes it; reports render it.

use serde::{Deserialize, Serialize};

use crate::date::Day;
use crate::finding::GroupKey;
use crate::gate::Status;
use crate::words::{count, counted};

/// How a finding group changed since the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Not in the baseline.
    New,
    /// Waived in the baseline, now with unwaived findings (its waiver
    /// expired, narrowed or went away).
    Unwaived,
    /// More findings than the baseline explains.
    Grew,
    /// Fewer findings than the baseline explains.
    Shrank,
    /// Unwaived in the baseline, now waived.
    Waived,
    /// In the baseline, gone now.
    Fixed,
}

impl Change {
    /// The word reports print.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Unwaived => "no longer waived",
            Change::Grew => "grew",
            Change::Shrank => "shrank",
            Change::Waived => "now waived",
            Change::Fixed => "fixed",
        }
    }
}

/// A group's findings in one run: all, and how many of them were waived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// Findings.
    pub findings: u64,
    /// Of those, waived.
    pub waived: u64,
}

impl Count {
    /// Findings no waiver covers.
    pub fn unwaived(&self) -> u64 {
        self.findings - self.waived
    }
}

/// One finding group that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChange {
    /// The group's stable id.
    pub id: String,
    /// What changed.
    pub change: Change,
    /// The root cause.
    #[serde(flatten)]
    pub key: GroupKey,
    /// Its findings in the baseline.
    pub was: Count,
    /// Its findings now.
    pub now: Count,
    /// The waiver covering it now (else in the baseline), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived_by: Option<String>,
}

impl GroupChange {
    /// Whether the group has unwaived findings now and had none before:
    /// what the `new unwaived findings` gate counts.
    pub fn newly_unwaived(&self) -> bool {
        self.now.unwaived() > 0 && self.was.unwaived() == 0
    }
}

/// A gate whose colour changed (or that one of the runs lacks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateChange {
    /// The gate.
    pub name: String,
    /// Its colour in the baseline (`None`: the baseline had no such gate).
    pub was: Option<Status>,
    /// Its colour now (`None`: this run has no such gate).
    pub now: Option<Status>,
}

/// The run compared against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineInfo {
    /// The baseline's report file, as given.
    pub file: String,
    /// Its seed (a string in JSON: exact in every reader).
    #[serde(with = "crate::json_u64")]
    pub seed: u64,
    /// Its random cases.
    pub random_cases: u64,
    /// The day it judged waivers on.
    pub today: Day,
    /// Its verdict.
    pub verdict: Status,
    /// Whether it used the same config file (by SHA-256).
    pub same_config: bool,
    /// The keycompat version that wrote it.
    pub keycompat_version: String,
}

/// Everything that changed since the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// The run compared against.
    pub baseline: BaselineInfo,
    /// Whether counts were compared exactly (same config, seed and random
    /// cases: the same computation) or within Poisson noise.
    pub exact: bool,
    /// Caveats about the comparison, in words (another config, a partial or
    /// interrupted baseline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Groups that changed, in [`Change`] order, then by id.
    pub groups: Vec<GroupChange>,
    /// Groups in both runs whose counts did not change beyond noise.
    pub unchanged: u64,
    /// Gates whose colour changed.
    pub gates: Vec<GateChange>,
}

impl Changes {
    /// Groups with unwaived findings now that had none in the baseline.
    pub fn newly_unwaived(&self) -> impl Iterator<Item = &GroupChange> {
        self.groups.iter().filter(|g| g.newly_unwaived())
    }

    /// Groups of one kind of change.
    pub fn of(&self, change: Change) -> impl Iterator<Item = &GroupChange> {
        self.groups.iter().filter(move |g| g.change == change)
    }
}

impl GroupChange {
    /// The counts in words: `1,200 -> 2,400 findings (2,400 waived)`.
    pub fn counts(&self) -> String {
        let waived = |c: &Count| match c.waived {
            0 => String::new(),
            w if w == c.findings => " waived".into(),
            w => format!(" ({} waived)", count(w)),
        };
        format!(
            "{}{} -> {}{}",
            count(self.was.findings),
            waived(&self.was),
            counted(self.now.findings, "finding"),
            waived(&self.now)
        )
    }
}

impl Changes {
    /// The comparison in one line: `2 new, 1 fixed, 1 grew; 14 unchanged`.
    pub fn headline(&self) -> String {
        let mut parts: Vec<String> = [
            Change::New,
            Change::Unwaived,
            Change::Grew,
            Change::Shrank,
            Change::Waived,
            Change::Fixed,
        ]
        .into_iter()
        .filter_map(|c| match self.of(c).count() {
            0 => None,
            n => Some(format!("{} {}", count(n as u64), c.as_str())),
        })
        .collect();
        if parts.is_empty() {
            parts.push("no finding group changed".into());
        }
        let gates = match self.gates.len() {
            0 => String::new(),
            n => format!(", {} changed colour", counted(n as u64, "gate")),
        };
        format!(
            "{}; {} unchanged{gates}",
            parts.join(", "),
            counted(self.unchanged, "group")
        )
    }

    /// Which run was compared against: `old/report.json (seed 7, 2026-11-29, NO-GO)`.
    pub fn against(&self) -> String {
        let b = &self.baseline;
        format!(
            "{} (seed {}, judged on {}, {})",
            b.file,
            b.seed,
            b.today,
            b.verdict.verdict_title()
        )
    }
}

/// A gate's colour, or `absent` when the run had no such gate.
pub fn colour(s: Option<Status>) -> String {
    s.map_or("absent".into(), |s| s.to_string())
}
