//! [`Injector`]: one named defect, its family, and whether it can change
//! any answer for a config ([`Injector::applicability`]); [`Family`] and
//! the list of every injector.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::implementation::ImplInfo;

use super::context::ContextDefect;
use super::decode::DecodeDefect;
use super::facts::Facts;
use super::fault::FaultDefect;
use super::issue::IssueDefect;
use super::normalise::NormaliseDefect;
use super::time::TimeDefect;

/// The families of defects, as issue 15 and the README list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// The validator's notion of today or of the expiry day.
    Time,
    /// A check of the validation context skipped or off by one.
    Context,
    /// A field decoded wrongly.
    Decode,
    /// Key spellings folded more or less than the format says.
    Normalisation,
    /// The entitlement changed or refused before a key is issued.
    Issuing,
    /// Crashes and hangs on a share of inputs.
    Fault,
}

impl Family {
    /// The name injectors start with, e.g. `time`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Time => "time",
            Family::Context => "context",
            Family::Decode => "decode",
            Family::Normalisation => "norm",
            Family::Issuing => "issue",
            Family::Fault => "fault",
        }
    }
}

/// One concrete defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Defect {
    Time(TimeDefect),
    Context(ContextDefect),
    Decode(DecodeDefect),
    Normalise(NormaliseDefect),
    Issue(IssueDefect),
    Fault(FaultDefect),
}

impl Defect {
    fn all() -> impl Iterator<Item = Defect> {
        TimeDefect::ALL
            .into_iter()
            .map(Defect::Time)
            .chain(ContextDefect::ALL.into_iter().map(Defect::Context))
            .chain(DecodeDefect::ALL.into_iter().map(Defect::Decode))
            .chain(NormaliseDefect::ALL.into_iter().map(Defect::Normalise))
            .chain(IssueDefect::ALL.into_iter().map(Defect::Issue))
            .chain(FaultDefect::ALL.into_iter().map(Defect::Fault))
    }

    fn family(self) -> Family {
        match self {
            Defect::Time(_) => Family::Time,
            Defect::Context(_) => Family::Context,
            Defect::Decode(_) => Family::Decode,
            Defect::Normalise(_) => Family::Normalisation,
            Defect::Issue(_) => Family::Issuing,
            Defect::Fault(_) => Family::Fault,
        }
    }

    /// The name after the family, e.g. `today-plus-1`.
    fn short(self) -> &'static str {
        match self {
            Defect::Time(d) => d.name(),
            Defect::Context(d) => d.name(),
            Defect::Decode(d) => d.name(),
            Defect::Normalise(d) => d.name(),
            Defect::Issue(d) => d.name(),
            Defect::Fault(d) => d.name(),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Defect::Time(d) => d.what(),
            Defect::Context(d) => d.what(),
            Defect::Decode(d) => d.what(),
            Defect::Normalise(d) => d.what(),
            Defect::Issue(d) => d.what(),
            Defect::Fault(d) => d.what(),
        }
    }

    /// Whether the defect is in the validator (else in the generator).
    fn validates(self) -> bool {
        match self {
            Defect::Issue(_) => false,
            Defect::Fault(d) => d.validates(),
            _ => true,
        }
    }
}

/// A named defect to plant around an implementation.
#[derive(Debug, Clone)]
pub struct Injector {
    defect: Defect,
    facts: Arc<Facts>,
}

/// Whether an injector can change any answer for a config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum Applicability {
    /// It can: a run that misses it has a blind spot.
    Applicable,
    /// It cannot, and why (e.g. the catalog has no features).
    NotApplicable(String),
}

/// Why an injector name is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown injector {name:?}; injectors: {known}")]
pub struct UnknownInjector {
    /// The name given.
    pub name: String,
    /// Every injector's name, comma-separated.
    pub known: String,
}

impl Injector {
    /// Every injector, in report order (family, then name), for `catalog`.
    pub fn all(catalog: &Catalog) -> Vec<Injector> {
        let facts = Arc::new(Facts::of(catalog));
        Defect::all()
            .map(|defect| Injector {
                defect,
                facts: Arc::clone(&facts),
            })
            .collect()
    }

    /// The injectors named (exactly, e.g. `time.today-plus-1`, or a whole
    /// family, e.g. `time`), in report order.
    pub fn select(catalog: &Catalog, names: &[String]) -> Result<Vec<Injector>, UnknownInjector> {
        let all = Injector::all(catalog);
        for name in names {
            let known = all
                .iter()
                .any(|i| i.name() == *name || i.family().as_str() == name);
            if !known {
                return Err(UnknownInjector {
                    name: name.clone(),
                    known: all
                        .iter()
                        .map(Injector::name)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(all
            .into_iter()
            .filter(|i| {
                names
                    .iter()
                    .any(|n| i.name() == *n || i.family().as_str() == n)
            })
            .collect())
    }

    /// The stable name, `FAMILY.DEFECT`, e.g. `time.today-plus-1`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.family().as_str(), self.defect.short())
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.defect.family()
    }

    /// The defect in words, e.g. "the validator's today is one day late".
    pub fn what(&self) -> &'static str {
        self.defect.what()
    }

    pub(crate) fn defect(&self) -> Defect {
        self.defect
    }

    /// Whether the defect is in the validator (else in the generator).
    pub fn in_validator(&self) -> bool {
        self.defect.validates()
    }

    /// Whether the defect issues some keys through another generator of the
    /// config (a `Partner`), and changes nothing without one.
    pub fn needs_partner(&self) -> bool {
        self.defect == Defect::Issue(IssueDefect::FormatFlipped)
    }

    /// Whether the defect surely changes answers wherever it is planted, so
    /// no probe is needed to call it applicable: crashes and hangs.
    pub fn always_acts(&self) -> bool {
        matches!(self.defect, Defect::Fault(_))
    }

    pub(crate) fn facts(&self) -> &Facts {
        &self.facts
    }

    /// Whether the defect can change any answer of an implementation like
    /// `info` under this catalog. Decided from the catalog and the
    /// implementation's capabilities only, never from the checks a run has
    /// switched on: a check turned off must show as a missed injector.
    pub fn applicability(&self, info: &ImplInfo) -> Applicability {
        let reason = if self.defect.validates() && !info.can_validate {
            Some(format!("{} validates no keys", info.name))
        } else if !self.defect.validates() && !info.can_generate {
            Some(format!("{} issues no keys", info.name))
        } else {
            match self.defect {
                Defect::Context(d) => d.not_applicable(&self.facts),
                Defect::Decode(d) => d.not_applicable(&self.facts),
                Defect::Issue(d) => d.not_applicable(&self.facts),
                Defect::Time(_) | Defect::Normalise(_) | Defect::Fault(_) => None,
            }
        };
        match reason {
            Some(r) => Applicability::NotApplicable(r),
            None => Applicability::Applicable,
        }
    }
}

impl fmt::Display for Injector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_stable() {
        let all = Injector::all(&Catalog::acme());
        let names: Vec<String> = all.iter().map(Injector::name).collect();
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert!(names.contains(&"time.today-plus-1".to_string()));
        assert!(names.contains(&"fault.crash-on-validate".to_string()));
    }

    #[test]
    fn selection_by_name_and_family() {
        let c = Catalog::acme();
        let time = Injector::select(&c, &["time".into()]).unwrap();
        assert!(time.iter().all(|i| i.family() == Family::Time));
        assert_eq!(time.len(), TimeDefect::ALL.len());
        let one = Injector::select(&c, &["decode.feature-dropped".into()]).unwrap();
        assert_eq!(one.len(), 1);
        let err = Injector::select(&c, &["time.tomorrow".into()]).unwrap_err();
        assert!(err.to_string().contains("time.today-plus-1"), "{err}");
    }

    #[test]
    fn applicability_follows_the_catalog_and_capabilities() {
        let mut catalog = Catalog::acme();
        catalog.features.clear();
        catalog.editions.truncate(1);
        let info = ImplInfo {
            name: "x".into(),
            version: "1".into(),
            origin: crate::implementation::Origin::Builtin { scheme: "x".into() },
            can_generate: false,
            can_validate: true,
        };
        let by_name = |n: &str| {
            Injector::all(&catalog)
                .into_iter()
                .find(|i| i.name() == n)
                .unwrap()
                .applicability(&info)
        };
        assert!(
            matches!(by_name("decode.feature-dropped"), Applicability::NotApplicable(r) if r.contains("no features"))
        );
        assert!(matches!(
            by_name("decode.edition-shifted"),
            Applicability::NotApplicable(_)
        ));
        assert!(
            matches!(by_name("issue.host-lock-dropped"), Applicability::NotApplicable(r) if r.contains("issues no keys"))
        );
        assert_eq!(by_name("time.today-plus-1"), Applicability::Applicable);
    }
}
