//! What changed since a previous run: the comparison a CI job shows on a
//! pull request (`--baseline PREVIOUS/report.json`).
//!
//! Finding groups are matched by their stable id ([`GroupKey::id`]), which
//! does not depend on the waiver, so a group that loses its waiver is the
//! same group, now unwaived (also when only part of it was waived and more
//! of it is unwaived now). A group is *new* or *fixed* when it appears or
//! disappears, and *grew* or *shrank* when its count moved beyond what the
//! two runs' difference explains: with the same config, seed and cases the
//! runs are the same computation and any change is real; otherwise random
//! cases differ, and a change must exceed three standard deviations of a
//! Poisson count (about 1 in 700 by chance) beyond the baseline's count, as
//! it was and scaled by the ratio of random cases, to be reported. Waived
//! groups are compared like the others: a waived group that doubles is news.
//!
//! The comparison only reports; [`crate::gate::since_baseline`] judges it.

use std::collections::BTreeMap;

use super::changes::{BaselineInfo, Change, Changes, Count, GateChange, GroupChange};
use super::result::RunResult;
use crate::finding::GroupKey;
use crate::gate;
use crate::words::count;

/// A group's counts in one run, with what the comparison needs.
struct Side<'r> {
    key: &'r GroupKey,
    count: Count,
    waived_by: Option<&'r str>,
}

/// Sums a run's groups by id: a root cause partly waived is two groups in
/// the run (one per waiver) and one here.
fn by_id(r: &RunResult) -> BTreeMap<String, Side<'_>> {
    let mut out: BTreeMap<String, Side<'_>> = BTreeMap::new();
    for g in r.aggregate.groups().values() {
        let id = if g.id.is_empty() {
            g.key.id()
        } else {
            g.id.clone()
        };
        let side = out.entry(id).or_insert_with(|| Side {
            key: &g.key,
            count: Count::default(),
            waived_by: None,
        });
        side.count.findings += g.count;
        if let Some(w) = &g.waived_by {
            side.count.waived += g.count;
            side.waived_by.get_or_insert(w);
        }
    }
    out
}

/// Whether a group partly waived in the baseline lost (part of) its waiver:
/// fewer waived findings and more unwaived ones, each beyond what the runs'
/// difference explains. Its total may not move at all (a waiver narrowed
/// or expired leaves the same findings, now unwaived).
fn lost_waiver(was: Count, now: Count, scale: f64, exact: bool) -> bool {
    was.waived > 0
        && beyond_noise(was.waived, now.waived, scale, exact) == Some(Change::Shrank)
        && beyond_noise(was.unwaived(), now.unwaived(), scale, exact) == Some(Change::Grew)
}

/// Whether `now` findings differ from what the baseline's `was` explains.
///
/// Exact runs compare exactly. Otherwise a group's findings may come from
/// random cases (which scale with the random cases run, `scale`) or from
/// vectors and exports (which do not), in a mix a group does not record; so
/// the change must lie beyond both expectations by more than three standard
/// deviations of a Poisson count: only changes no mix of sources explains.
fn beyond_noise(was: u64, now: u64, scale: f64, exact: bool) -> Option<Change> {
    let now = now as f64;
    if exact {
        let was = was as f64;
        return match now.partial_cmp(&was) {
            Some(std::cmp::Ordering::Greater) => Some(Change::Grew),
            Some(std::cmp::Ordering::Less) => Some(Change::Shrank),
            _ => None,
        };
    }
    let (low, high) = {
        let (a, b) = (was as f64, was as f64 * scale);
        (a.min(b), a.max(b))
    };
    if now > high + 3.0 * high.sqrt() {
        Some(Change::Grew)
    } else if now < low - 3.0 * low.sqrt() {
        Some(Change::Shrank)
    } else {
        None
    }
}

/// Compares a finished run with its baseline (`file` names the baseline).
pub fn compare(now: &RunResult, baseline: &RunResult, file: &str) -> Changes {
    let random = |r: &RunResult| r.aggregate.counts().random_cases;
    let same_config = now.meta.config_sha256 == baseline.meta.config_sha256;
    let exact = same_config
        && now.meta.seed == baseline.meta.seed
        && random(now) == random(baseline)
        && now.meta.partitions == baseline.meta.partitions;
    let mut notes = Vec::new();
    if !same_config {
        notes.push("the baseline used another config file (or another version of it)".into());
    }
    if !baseline.meta.partitions.is_empty() {
        let shards: Vec<String> = baseline
            .meta
            .partitions
            .iter()
            .map(|p| p.to_string())
            .collect();
        notes.push(format!(
            "the baseline is shard {} only: compare a merged report for the whole run",
            shards.join(", ")
        ));
    }
    if baseline.meta.interrupted {
        notes.push("the baseline run was interrupted: its counts are partial".into());
    }
    for g in &baseline.meta.gave_up {
        notes.push(format!(
            "the baseline run is incomplete ({}): its counts are partial",
            g.headline()
        ));
    }
    for g in &now.meta.gave_up {
        notes.push(format!(
            "this run is incomplete ({}): groups it did not reach show as fixed",
            g.headline()
        ));
    }
    if !exact && same_config {
        notes.push(format!(
            "random cases differ (seed {} vs {}, {} vs {} cases): counts compared within noise",
            baseline.meta.seed,
            now.meta.seed,
            count(random(baseline)),
            count(random(now))
        ));
    }
    let scale = match (random(baseline), random(now)) {
        (0, _) => 1.0,
        (was, now) => now as f64 / was as f64,
    };
    let was = by_id(baseline);
    let mut is = by_id(now);
    let mut groups = Vec::new();
    let mut unchanged = 0;
    for (id, before) in &was {
        let after = is.remove(id);
        let now_count = after.as_ref().map(|a| a.count).unwrap_or_default();
        let change = match &after {
            None => Some(Change::Fixed),
            Some(_) if now_count.unwaived() > 0 && before.count.unwaived() == 0 => {
                Some(Change::Unwaived)
            }
            Some(_) if now_count.unwaived() == 0 && before.count.unwaived() > 0 => {
                Some(Change::Waived)
            }
            Some(_) if lost_waiver(before.count, now_count, scale, exact) => Some(Change::Unwaived),
            Some(_) => beyond_noise(before.count.findings, now_count.findings, scale, exact),
        };
        match change {
            None => unchanged += 1,
            Some(change) => groups.push(GroupChange {
                id: id.clone(),
                change,
                key: after.as_ref().map_or(before.key, |a| a.key).clone(),
                was: before.count,
                now: now_count,
                waived_by: after
                    .as_ref()
                    .and_then(|a| a.waived_by)
                    .or(before.waived_by)
                    .map(str::to_string),
            }),
        }
    }
    for (id, after) in is {
        groups.push(GroupChange {
            id,
            change: Change::New,
            key: after.key.clone(),
            was: Count::default(),
            now: after.count,
            waived_by: after.waived_by.map(str::to_string),
        });
    }
    groups.sort_by(|a, b| (a.change, &a.id).cmp(&(b.change, &b.id)));
    Changes {
        baseline: BaselineInfo {
            file: file.to_string(),
            seed: baseline.meta.seed,
            random_cases: random(baseline),
            today: baseline.meta.today,
            verdict: baseline.verdict,
            same_config,
            keycompat_version: baseline.meta.keycompat_version.clone(),
        },
        exact,
        notes,
        groups,
        unchanged,
        gates: gate_changes(&baseline.gates, &now.gates),
    }
}

/// Gates whose colour differs, or that only one run has, in this run's order.
fn gate_changes(was: &[crate::gate::Gate], now: &[crate::gate::Gate]) -> Vec<GateChange> {
    let colour = |gates: &[crate::gate::Gate], name: &str| {
        gates.iter().find(|g| g.name == name).map(|g| g.status)
    };
    let mut out: Vec<GateChange> = now
        .iter()
        .map(|g| GateChange {
            name: g.name.clone(),
            was: colour(was, &g.name),
            now: Some(g.status),
        })
        .chain(
            was.iter()
                .filter(|g| colour(now, &g.name).is_none())
                .map(|g| GateChange {
                    name: g.name.clone(),
                    was: Some(g.status),
                    now: None,
                }),
        )
        .collect();
    out.retain(|c| c.was != c.now);
    out
}

impl RunResult {
    /// Compares the judged run with a baseline run (`file` names it) and
    /// judges the comparison: records the changes, adds the gate on groups
    /// new or no longer waived since, and re-derives the verdict. A result
    /// compared before is compared afresh.
    pub fn with_baseline(mut self, baseline: &RunResult, file: &str) -> Self {
        self.gates.retain(|g| g.name != gate::BASELINE_GATE);
        let mut changes = compare(&self, baseline, file);
        changes.gates.retain(|g| g.name != gate::BASELINE_GATE);
        let newly: Vec<&str> = changes.newly_unwaived().map(|g| g.id.as_str()).collect();
        let fixed = changes.of(Change::Fixed).count() as u64;
        self.gates.push(gate::since_baseline(
            &self.meta.gates_config,
            file,
            &newly,
            fixed,
        ));
        self.verdict = self.meta.verdict(&self.gates);
        self.changes = Some(changes);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_three_poisson_deviations_unless_exact() {
        assert_eq!(beyond_noise(100, 101, 1.0, true), Some(Change::Grew));
        assert_eq!(beyond_noise(100, 100, 2.0, true), None);
        assert_eq!(beyond_noise(100, 129, 1.0, false), None);
        assert_eq!(beyond_noise(100, 131, 1.0, false), Some(Change::Grew));
        assert_eq!(beyond_noise(100, 69, 1.0, false), Some(Change::Shrank));
        // A waived group that doubles is news.
        assert_eq!(beyond_noise(15_000, 30_000, 1.0, false), Some(Change::Grew));
        // Twice the random cases: anything from unscaled to doubled is explained.
        assert_eq!(beyond_noise(905, 1_352, 2.0, false), None);
        assert_eq!(beyond_noise(905, 1_900, 2.0, false), None);
        assert_eq!(beyond_noise(905, 2_000, 2.0, false), Some(Change::Grew));
        assert_eq!(beyond_noise(905, 800, 2.0, false), Some(Change::Shrank));
    }
}
