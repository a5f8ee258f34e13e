//! Waivers: known, accepted incompatibilities, declared in `keycompat.toml`.
//!
//! A waiver names a cell of the matrix (check, and optionally generator,
//! validator and cause) and may narrow it to what the entitlement is (a
//! product, a feature it grants, whether the old system refuses to issue it),
//! so a waiver covers exactly what its reason says and no more. It carries a
//! reason, an owner, a ticket and an expiry date. A waived finding does not
//! block go-live; an expired waiver stops counting (its findings block
//! again); a waiver that matched nothing is reported, because the cell now
//! passes and the waiver should be removed.
//!
//! Crashes and harness errors are never waived: they are not
//! incompatibilities but a failure to answer, and a system that crashes on
//! some input has not been proven on it.
//!
//! An *avoidable* outage (a release rejects the new system's key although
//! another generator issues a key it accepts, [`Finding::avoidable`]) is a
//! policy regression, not a property of the formats: a waiver covers it only
//! when it says `avoidable = true`.

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::date::Day;
use crate::finding::{Check, Finding, Severity};

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
    /// Only findings whose entitlement grants this feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// `true`: only findings whose entitlement the old system refuses to
    /// issue (what the old format cannot carry); `false`: only those it issues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_refuses: Option<bool>,
    /// Also covers avoidable outages (another generator issues a key the
    /// validator accepts); without it they are never waived.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub avoidable: bool,
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
            && !matches!(k.severity, Severity::Crash | Severity::Error)
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
            && (self.avoidable || f.avoidable.is_none())
            && self.covers_entitlement(f)
    }

    /// Whether the finding's entitlement is in the waiver's scope (a waiver
    /// scoped by entitlement never covers a finding that has none).
    fn covers_entitlement(&self, f: &Finding) -> bool {
        let e = f.entitlement.as_ref();
        self.product
            .as_ref()
            .is_none_or(|p| e.is_some_and(|e| e.product == *p))
            && self
                .feature
                .as_ref()
                .is_none_or(|x| e.is_some_and(|e| e.features.contains(x)))
            && self
                .old_refuses
                .is_none_or(|want| e.is_some() && f.old_refused.is_some() == want)
    }

    /// Why this waiver is wider than a reason can be (it names nothing but
    /// a check), for a warning; `None` when it is scoped.
    pub fn too_wide(&self) -> Option<String> {
        let scoped = self.generator.is_some()
            || self.validator.is_some()
            || self.cause.as_deref().is_some_and(|c| c != "*")
            || self.product.is_some()
            || self.feature.is_some()
            || self.old_refuses.is_some();
        (!scoped).then(|| {
            format!(
                "waiver {} covers every {} finding: scope it to the systems, cause or entitlements its reason names",
                self.ticket, self.check
            )
        })
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
        let mut scope = Vec::new();
        if let Some(p) = &self.product {
            scope.push(format!("product {p}"));
        }
        if let Some(x) = &self.feature {
            scope.push(format!("feature {x}"));
        }
        match self.old_refuses {
            Some(true) => scope.push("old refuses to issue".into()),
            Some(false) => scope.push("old issues".into()),
            None => {}
        }
        if self.avoidable {
            scope.push("avoidable too".into());
        }
        if !scope.is_empty() {
            s.push_str(&format!(" [{}]", scope.join(", ")));
        }
        s
    }

    /// Checks the required texts and that the scope names what the catalog
    /// has; the error names the field.
    pub fn check(&self, catalog: &Catalog) -> Result<(), (&'static str, String)> {
        if let Some(p) = self
            .product
            .as_ref()
            .filter(|p| catalog.product(p).is_none())
        {
            return Err(("product", format!("{p:?} is not a product of the catalog")));
        }
        if let Some(x) = self
            .feature
            .as_ref()
            .filter(|x| catalog.feature(x).is_none())
        {
            return Err(("feature", format!("{x:?} is not a feature of the catalog")));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlement::Entitlement;
    use crate::finding::{GroupKey, Severity, Source};

    fn waiver(toml_text: &str) -> Waiver {
        let base = "check = \"forward\"\nreason = \"r\"\nowner = \"o\"\nticket = \"T-1\"\nexpires = \"2027-01-01\"\n";
        toml::from_str(&format!("{base}{toml_text}")).expect("a waiver")
    }

    fn finding(product: &str, features: &[&str]) -> Finding {
        let e: Entitlement = serde_json::from_str(&format!(
            r#"{{"product":"{product}","edition":"standard","max_major":5,"features":{},"seats":null,"issued":"2026-01-01","expires":null,"maintenance_until":null,"serial":1,"customer":null,"order_id":null,"host_id":null}}"#,
            serde_json::to_string(features).unwrap()
        ))
        .expect("an entitlement");
        Finding {
            key: GroupKey {
                check: Check::Forward,
                severity: Severity::Outage,
                generator: "new".into(),
                validator: Some("Acme CAD 5.4".into()),
                cause: "acme-ed1 key rejected: malformed".into(),
            },
            case_id: "c-1".into(),
            source: Source::Random { seed: 1, index: 0 },
            entitlement: Some(e),
            license_key: None,
            context: None,
            expected: String::new(),
            found: String::new(),
            validation: None,
            diffs: Vec::new(),
            old_refused: None,
            avoidable: None,
        }
    }

    #[test]
    fn a_scope_by_entitlement_covers_only_what_it_names() {
        let f = finding("acme-cad", &["export-dwg"]);
        let refused = Finding {
            old_refused: Some("features".into()),
            ..f.clone()
        };
        let old_refuses = waiver("old_refuses = true");
        assert!(!old_refuses.matches(&f));
        assert!(old_refuses.matches(&refused));
        assert!(waiver("old_refuses = false").matches(&f));
        assert!(!waiver("old_refuses = false").matches(&refused));
        assert!(waiver("feature = \"export-dwg\"").matches(&f));
        assert!(!waiver("feature = \"ai-assist\"").matches(&f));
        assert!(waiver("product = \"acme-cad\"").matches(&f));
        assert!(!waiver("product = \"acme-sim\"").matches(&f));
        let no_entitlement = Finding {
            entitlement: None,
            ..refused
        };
        assert!(!waiver("old_refuses = true").matches(&no_entitlement));
        assert_eq!(
            waiver("product = \"acme-cad\"\nold_refuses = true").cell(),
            "FORWARD [product acme-cad, old refuses to issue]"
        );
    }

    #[test]
    fn an_avoidable_outage_is_covered_only_by_a_waiver_that_says_so() {
        let f = Finding {
            avoidable: Some("old (acme-lk1)".into()),
            ..finding("acme-cad", &[])
        };
        assert!(!waiver("").matches(&f), "a bare check must not cover it");
        assert!(!waiver("cause = \"*\"").matches(&f));
        assert!(waiver("avoidable = true").matches(&f));
    }

    #[test]
    fn a_scope_names_what_the_catalog_has() {
        let catalog = Catalog::acme();
        assert!(waiver("feature = \"export-dwg\"").check(&catalog).is_ok());
        let (field, m) = waiver("feature = \"export-dwgg\"")
            .check(&catalog)
            .unwrap_err();
        assert_eq!(field, "feature");
        assert!(m.contains("not a feature of the catalog"), "{m}");
        let (field, _) = waiver("product = \"acme-paint\"")
            .check(&catalog)
            .unwrap_err();
        assert_eq!(field, "product");
    }
}
