//! Decode defects: a validator that accepts the key but reads one field of
//! it wrongly (a feature bit lost or shifted, the next edition tier, a seat
//! sentinel confused with a count, an expiry a day off, the node lock lost),
//! the bugs a port of a bit-level decoder makes. Only the decode changes:
//! the verdict stays the correct one.

use super::facts::Facts;
use crate::verdict::{Decoded, Validation};

/// The seat count an unlimited licence is misread as (a 16-bit sentinel).
const SENTINEL_SEATS: u32 = 65_535;
/// Seat counts from here on are misread as unlimited.
const LARGE_SEATS: u32 = 1_000;

/// A defect in the validator's decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DecodeDefect {
    /// The first granted feature is lost.
    FeatureDropped,
    /// A feature that was not granted appears.
    FeatureAdded,
    /// The edition reads as the next tier.
    EditionShifted,
    /// Unlimited seats read as a number.
    SeatsUnlimitedAsNumber,
    /// Large seat counts read as unlimited.
    SeatsNumberAsUnlimited,
    /// The expiry reads one day late.
    ExpiryDayLate,
    /// The node lock is lost.
    HostLockDropped,
}

impl DecodeDefect {
    pub(crate) const ALL: [DecodeDefect; 7] = [
        DecodeDefect::FeatureDropped,
        DecodeDefect::FeatureAdded,
        DecodeDefect::EditionShifted,
        DecodeDefect::SeatsUnlimitedAsNumber,
        DecodeDefect::SeatsNumberAsUnlimited,
        DecodeDefect::ExpiryDayLate,
        DecodeDefect::HostLockDropped,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            DecodeDefect::FeatureDropped => "feature-dropped",
            DecodeDefect::FeatureAdded => "feature-added",
            DecodeDefect::EditionShifted => "edition-shifted",
            DecodeDefect::SeatsUnlimitedAsNumber => "seats-unlimited-as-number",
            DecodeDefect::SeatsNumberAsUnlimited => "seats-number-as-unlimited",
            DecodeDefect::ExpiryDayLate => "expiry-day-late",
            DecodeDefect::HostLockDropped => "host-lock-dropped",
        }
    }

    pub(crate) fn what(self) -> &'static str {
        match self {
            DecodeDefect::FeatureDropped => "the first granted feature is lost in the decode",
            DecodeDefect::FeatureAdded => "a feature that was not granted appears in the decode",
            DecodeDefect::EditionShifted => "the edition decodes as the next tier",
            DecodeDefect::SeatsUnlimitedAsNumber => "unlimited seats decode as 65535",
            DecodeDefect::SeatsNumberAsUnlimited => {
                "seat counts of 1000 and more decode as unlimited"
            }
            DecodeDefect::ExpiryDayLate => "the expiry decodes one day late",
            DecodeDefect::HostLockDropped => "the node lock is lost in the decode",
        }
    }

    pub(crate) fn not_applicable(self, facts: &Facts) -> Option<String> {
        match self {
            DecodeDefect::FeatureDropped | DecodeDefect::FeatureAdded
                if facts.features.is_empty() =>
            {
                Some("the catalog has no features".into())
            }
            DecodeDefect::EditionShifted if facts.editions.len() < 2 => {
                Some("the catalog has one edition: there is no other tier".into())
            }
            _ => None,
        }
    }

    /// The defective validator's answer, given the correct one.
    pub(crate) fn answer(self, facts: &Facts, mut v: Validation) -> Validation {
        if let Some(d) = v.decoded.as_mut() {
            self.misread(facts, d);
        }
        v
    }

    fn misread(self, facts: &Facts, d: &mut Decoded) {
        match self {
            DecodeDefect::FeatureDropped => {
                if let Some(features) = d.features.as_mut() {
                    features.pop_first();
                }
            }
            DecodeDefect::FeatureAdded => {
                if let Some(features) = d.features.as_mut()
                    && let Some(extra) = facts.features.iter().find(|f| !features.contains(*f))
                {
                    features.insert(extra.clone());
                }
            }
            DecodeDefect::EditionShifted => {
                if let Some(edition) = d.edition.as_mut()
                    && let Some(i) = facts.editions.iter().position(|e| e == edition)
                {
                    let next = if i + 1 < facts.editions.len() {
                        i + 1
                    } else {
                        0
                    };
                    *edition = facts.editions[next].clone();
                }
            }
            DecodeDefect::SeatsUnlimitedAsNumber => {
                if d.seats == Some(None) {
                    d.seats = Some(Some(SENTINEL_SEATS));
                }
            }
            DecodeDefect::SeatsNumberAsUnlimited => {
                if matches!(d.seats, Some(Some(n)) if n >= LARGE_SEATS) {
                    d.seats = Some(None);
                }
            }
            DecodeDefect::ExpiryDayLate => {
                if let Some(Some(day)) = d.expires
                    && let Some(late) = day.add_days(1)
                {
                    d.expires = Some(Some(late));
                }
            }
            DecodeDefect::HostLockDropped => {
                if matches!(d.host_id, Some(Some(_))) {
                    d.host_id = Some(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;
    use crate::verdict::Verdict;

    fn facts() -> Facts {
        Facts {
            editions: vec!["standard".into(), "pro".into()],
            features: vec!["a".into(), "b".into(), "c".into()],
            products: 2,
        }
    }

    fn decoded() -> Decoded {
        Decoded {
            edition: Some("standard".into()),
            features: Some(["b".to_string()].into()),
            seats: Some(Some(1500)),
            expires: Some(Some(Day::parse("2027-12-31").unwrap())),
            host_id: Some(Some("H".into())),
            ..Decoded::default()
        }
    }

    fn misread(d: DecodeDefect, decoded: Decoded) -> Decoded {
        let v = Validation {
            verdict: Verdict::Valid,
            format: None,
            reason: None,
            decoded: Some(decoded),
        };
        let out = d.answer(&facts(), v);
        assert_eq!(out.verdict, Verdict::Valid, "the verdict stays");
        out.decoded.unwrap()
    }

    #[test]
    fn each_defect_changes_its_field_only() {
        let want = decoded();
        let cases = [
            (
                DecodeDefect::FeatureDropped,
                Decoded {
                    features: Some(Default::default()),
                    ..decoded()
                },
            ),
            (
                DecodeDefect::FeatureAdded,
                Decoded {
                    features: Some(["a".to_string(), "b".to_string()].into()),
                    ..decoded()
                },
            ),
            (
                DecodeDefect::EditionShifted,
                Decoded {
                    edition: Some("pro".into()),
                    ..decoded()
                },
            ),
            (
                DecodeDefect::SeatsNumberAsUnlimited,
                Decoded {
                    seats: Some(None),
                    ..decoded()
                },
            ),
            (
                DecodeDefect::ExpiryDayLate,
                Decoded {
                    expires: Some(Some(Day::parse("2028-01-01").unwrap())),
                    ..decoded()
                },
            ),
            (
                DecodeDefect::HostLockDropped,
                Decoded {
                    host_id: Some(None),
                    ..decoded()
                },
            ),
            (DecodeDefect::SeatsUnlimitedAsNumber, want.clone()),
        ];
        for (d, expected) in cases {
            assert_eq!(misread(d, want.clone()), expected, "{}", d.name());
        }
        let unlimited = Decoded {
            seats: Some(None),
            ..decoded()
        };
        assert_eq!(
            misread(DecodeDefect::SeatsUnlimitedAsNumber, unlimited).seats,
            Some(Some(SENTINEL_SEATS))
        );
    }

    #[test]
    fn fields_a_format_does_not_carry_stay_uncarried() {
        let none = Decoded::default();
        for d in DecodeDefect::ALL {
            assert_eq!(misread(d, none.clone()), none, "{}", d.name());
        }
    }

    #[test]
    fn no_features_no_feature_defects() {
        let f = Facts {
            features: vec![],
            ..facts()
        };
        assert!(DecodeDefect::FeatureAdded.not_applicable(&f).is_some());
        assert!(
            DecodeDefect::SeatsNumberAsUnlimited
                .not_applicable(&f)
                .is_none()
        );
    }
}
