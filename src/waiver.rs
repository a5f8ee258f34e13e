//! Waivers: known, accepted incompatibilities, declared in `keycompat.toml`.
//!
//! A waiver names a cell of the matrix (check, and optionally generator,
//! validator, cause and product) with a reason, an owner, a ticket and an
//! expiry date. A waived finding does not block go-live; an expired waiver
//! stops counting (its findings block again); a waiver that matched nothing is
//! reported, because the cell now passes and the waiver should be removed.

use serde::{Deserialize, Serialize};

use crate::date::Day;
use crate::finding::{Check, Finding};

/// One accepted incompatibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The check it covers.
    pub check: Check,
    /// Only findings whose key was issued by this system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// Only findings validated by this system or release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
    /// Only findings with this cause; a trailing `*` matches a prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Only findings whose entitlement is for this product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Why the incompatibility is acceptable.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// The ticket tracking its removal.
    pub ticket: String,
    /// The last day it counts.
    pub expires: Day,
}

impl Waiver {
    /// Whether this waiver covers `f` (ignoring expiry).
    pub fn matches(&self, f: &Finding) -> bool {
        let k = &f.key;
        k.check == self.check
            && self.generator.as_ref().is_none_or(|g| *g == k.generator)
            && self
                .validator
                .as_ref()
                .is_none_or(|v| k.validator.as_deref() == Some(v.as_str()))
            && self
                .cause
                .as_ref()
                .is_none_or(|c| match c.strip_suffix('*') {
                    Some(prefix) => k.cause.starts_with(prefix),
                    None => *c == k.cause,
                })
            && self
                .product
                .as_ref()
                .is_none_or(|p| f.entitlement.as_ref().is_some_and(|e| e.product == *p))
    }

    /// Whether it still counts on `today`.
    pub fn active_on(&self, today: Day) -> bool {
        today <= self.expires
    }

    /// The cell it covers, in words, for reports.
    pub fn cell(&self) -> String {
        let mut s = self.check.to_string();
        if let Some(g) = &self.generator {
            s.push_str(&format!(" {g}"));
        }
        if let Some(v) = &self.validator {
            s.push_str(&format!(" -> {v}"));
        }
        if let Some(c) = &self.cause {
            s.push_str(&format!(": {c}"));
        }
        if let Some(p) = &self.product {
            s.push_str(&format!(" [{p}]"));
        }
        s
    }

    /// Checks the required texts; the error names the field.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (field, value) in [
            ("reason", &self.reason),
            ("owner", &self.owner),
            ("ticket", &self.ticket),
        ] {
            if value.trim().is_empty() {
                return Err((
                    field,
                    "must not be empty: every waiver needs a reason, an owner and a ticket".into(),
                ));
            }
        }
        Ok(())
    }
}

/// What became of a waiver in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverUse {
    /// The waiver.
    #[serde(flatten)]
    pub waiver: Waiver,
    /// Findings it covered (while active).
    pub matched: u64,
    /// Findings it would have covered but did not, because it expired.
    pub expired_matches: u64,
    /// `active`, `expired` or `unused` (the cell passes: remove the waiver).
    pub status: String,
}

/// The waiver that decides `f` on `today`, and whether it still counts: the
/// first active one that covers it, else the first expired one (which no
/// longer waives it).
pub fn deciding(waivers: &[Waiver], f: &Finding, today: Day) -> Option<(usize, bool)> {
    let mut expired_hit = None;
    for (i, w) in waivers.iter().enumerate() {
        if w.matches(f) {
            if w.active_on(today) {
                return Some((i, true));
            }
            expired_hit.get_or_insert(i);
        }
    }
    expired_hit.map(|i| (i, false))
}

/// Finds the first active waiver covering `f`, counting uses in `uses`.
pub fn waive(
    waivers: &[Waiver],
    uses: &mut [(u64, u64)],
    f: &Finding,
    today: Day,
) -> Option<usize> {
    match deciding(waivers, f, today)? {
        (i, true) => {
            uses[i].0 += 1;
            Some(i)
        }
        (i, false) => {
            uses[i].1 += 1;
            None
        }
    }
}

/// The report's view of every waiver after a run.
pub fn summarize(waivers: &[Waiver], uses: &[(u64, u64)], today: Day) -> Vec<WaiverUse> {
    waivers
        .iter()
        .zip(uses)
        .map(|(w, &(matched, expired_matches))| WaiverUse {
            status: if !w.active_on(today) {
                "expired"
            } else if matched == 0 {
                "unused"
            } else {
                "active"
            }
            .into(),
            waiver: w.clone(),
            matched,
            expired_matches,
        })
        .collect()
}
