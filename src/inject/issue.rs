//! Issuing defects: a generator that changes the entitlement before it
//! issues the key (a field silently dropped or clamped on the way into a
//! new API) or refuses entitlements the original issued. The key is then
//! genuine but says less, or more, than was sold.

use super::facts::Facts;
use crate::entitlement::Entitlement;
use crate::implementation::GenerateFailure;

/// Seat counts above this are clamped to it.
const CLAMPED_SEATS: u32 = 999;

/// A defect in the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IssueDefect {
    /// The last granted feature is not issued.
    FeatureDropped,
    /// Seat counts above 999 are issued as 999.
    SeatsClamped,
    /// The expiry is not issued: the key is perpetual.
    ExpiryDropped,
    /// The node lock is not issued.
    HostLockDropped,
    /// Entitlements with a non-ASCII customer name are refused.
    NonAsciiRefused,
    /// One product's keys are issued in another format: a policy drift
    /// (the generator that issues them instead is the injector's partner,
    /// see `Partner`).
    FormatFlipped,
}

impl IssueDefect {
    pub(crate) const ALL: [IssueDefect; 6] = [
        IssueDefect::FeatureDropped,
        IssueDefect::SeatsClamped,
        IssueDefect::ExpiryDropped,
        IssueDefect::HostLockDropped,
        IssueDefect::NonAsciiRefused,
        IssueDefect::FormatFlipped,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            IssueDefect::FeatureDropped => "feature-dropped",
            IssueDefect::SeatsClamped => "seats-clamped",
            IssueDefect::ExpiryDropped => "expiry-dropped",
            IssueDefect::HostLockDropped => "host-lock-dropped",
            IssueDefect::NonAsciiRefused => "non-ascii-refused",
            IssueDefect::FormatFlipped => "format-flipped",
        }
    }

    pub(crate) fn what(self) -> &'static str {
        match self {
            IssueDefect::FeatureDropped => "the last granted feature is silently not issued",
            IssueDefect::SeatsClamped => "seat counts above 999 are silently issued as 999",
            IssueDefect::ExpiryDropped => "the expiry is silently dropped: keys are perpetual",
            IssueDefect::HostLockDropped => "the node lock is silently dropped",
            IssueDefect::NonAsciiRefused => {
                "entitlements with a non-ASCII customer name are refused"
            }
            IssueDefect::FormatFlipped => {
                "one product's keys are issued in another format (a policy drift)"
            }
        }
    }

    pub(crate) fn not_applicable(self, facts: &Facts) -> Option<String> {
        (self == IssueDefect::FeatureDropped && facts.features.is_empty())
            .then(|| "the catalog has no features".to_string())
    }

    /// What the defective generator issues instead of `e`: `Ok(None)` when
    /// it issues `e` itself.
    pub(crate) fn entitlement(
        self,
        e: &Entitlement,
    ) -> Result<Option<Entitlement>, GenerateFailure> {
        let mut changed = e.clone();
        match self {
            // The entitlement is issued as it is, by another generator.
            IssueDefect::FormatFlipped => {}
            IssueDefect::FeatureDropped => {
                changed.features.pop_last();
            }
            IssueDefect::SeatsClamped => {
                changed.seats = e.seats.map(|n| n.min(CLAMPED_SEATS));
            }
            IssueDefect::ExpiryDropped => changed.expires = None,
            IssueDefect::HostLockDropped => changed.host_id = None,
            IssueDefect::NonAsciiRefused => {
                if e.customer.as_ref().is_some_and(|c| !c.name.is_ascii()) {
                    return Err(GenerateFailure::Refused {
                        field: "customer.name".into(),
                        reason: "non-ASCII characters are not supported (injected)".into(),
                    });
                }
            }
        }
        Ok((changed != *e).then_some(changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlement::Customer;

    fn example() -> Entitlement {
        Entitlement::from_json(r#"{"product":"acme-cad","edition":"professional","max_major":7,"features":["export-dwg","render-gpu"],"seats":1500,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":{"id":"C-000042","name":"Zoë Müller GmbH"},"order_id":"SO-1001","host_id":"H1"}"#).unwrap()
    }

    #[test]
    fn fields_are_dropped_or_clamped() {
        let e = example();
        let issued = |d: IssueDefect| d.entitlement(&e).unwrap().unwrap();
        assert_eq!(issued(IssueDefect::FeatureDropped).features.len(), 1);
        assert_eq!(issued(IssueDefect::SeatsClamped).seats, Some(999));
        assert_eq!(issued(IssueDefect::ExpiryDropped).expires, None);
        assert_eq!(issued(IssueDefect::HostLockDropped).host_id, None);
    }

    #[test]
    fn unchanged_entitlements_are_issued_as_they_are() {
        let mut e = example();
        e.seats = Some(10);
        e.customer = Some(Customer {
            id: "C-1".into(),
            name: "Acme".into(),
        });
        assert_eq!(IssueDefect::SeatsClamped.entitlement(&e), Ok(None));
        assert_eq!(IssueDefect::NonAsciiRefused.entitlement(&e), Ok(None));
    }

    #[test]
    fn non_ascii_names_are_refused_with_the_field() {
        match IssueDefect::NonAsciiRefused.entitlement(&example()) {
            Err(GenerateFailure::Refused { field, .. }) => assert_eq!(field, "customer.name"),
            other => panic!("{other:?}"),
        }
    }
}
