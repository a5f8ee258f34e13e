//! Context defects: a validator that skips or bends one of the checks of the
//! context it runs in (product, version, host lock), as a port does that
//! forgets a branch or turns `<=` into `<`.

use super::facts::Facts;
use crate::verdict::{Context, Validation, Verdict};

/// A defect in the validator's checks of its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ContextDefect {
    /// A key for another product is accepted.
    ProductUnchecked,
    /// A version above the licence is accepted.
    VersionUnchecked,
    /// The highest covered major version is rejected (`<` for `<=`).
    VersionLastMajorRejected,
    /// A node-locked key is accepted on any host.
    HostUnchecked,
}

impl ContextDefect {
    pub(crate) const ALL: [ContextDefect; 4] = [
        ContextDefect::ProductUnchecked,
        ContextDefect::VersionUnchecked,
        ContextDefect::VersionLastMajorRejected,
        ContextDefect::HostUnchecked,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            ContextDefect::ProductUnchecked => "product-unchecked",
            ContextDefect::VersionUnchecked => "version-unchecked",
            ContextDefect::VersionLastMajorRejected => "version-last-major-rejected",
            ContextDefect::HostUnchecked => "host-unchecked",
        }
    }

    pub(crate) fn what(self) -> &'static str {
        match self {
            ContextDefect::ProductUnchecked => "a key for another product is accepted",
            ContextDefect::VersionUnchecked => "a version above the licence is accepted",
            ContextDefect::VersionLastMajorRejected => {
                "the highest major version a key covers is rejected (> for >=)"
            }
            ContextDefect::HostUnchecked => "a node-locked key is accepted on any host",
        }
    }

    pub(crate) fn not_applicable(self, facts: &Facts) -> Option<String> {
        (self == ContextDefect::ProductUnchecked && facts.products < 2)
            .then(|| "the catalog has one product: no key meets another product".to_string())
    }

    /// The defective validator's answer, given the correct one.
    pub(crate) fn answer(self, context: &Context, mut v: Validation) -> Validation {
        let skipped = match self {
            ContextDefect::ProductUnchecked => Verdict::WrongProduct,
            ContextDefect::VersionUnchecked => Verdict::VersionNotCovered,
            ContextDefect::HostUnchecked => Verdict::HostMismatch,
            ContextDefect::VersionLastMajorRejected => {
                let last_major = v
                    .decoded
                    .as_ref()
                    .and_then(|d| d.max_major)
                    .is_some_and(|m| u32::from(m) == context.version.major);
                if v.verdict == Verdict::Valid && last_major {
                    v.verdict = Verdict::VersionNotCovered;
                    v.reason = Some("version not covered (injected: > for >=)".into());
                }
                return v;
            }
        };
        if v.verdict == skipped {
            v.verdict = Verdict::Valid;
            v.reason = None;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;
    use crate::verdict::{Decoded, Version};

    fn ctx(major: u32) -> Context {
        Context {
            product: "p".into(),
            version: Version { major, minor: 0 },
            today: Day::parse("2026-01-01").unwrap(),
            host_id: None,
        }
    }

    fn answer(verdict: Verdict, max_major: u8) -> Validation {
        Validation {
            verdict,
            format: None,
            reason: Some("r".into()),
            decoded: Some(Decoded {
                max_major: Some(max_major),
                ..Decoded::default()
            }),
        }
    }

    #[test]
    fn skipped_checks_accept_what_they_should_reject() {
        for (d, v) in [
            (ContextDefect::ProductUnchecked, Verdict::WrongProduct),
            (ContextDefect::VersionUnchecked, Verdict::VersionNotCovered),
            (ContextDefect::HostUnchecked, Verdict::HostMismatch),
        ] {
            assert_eq!(d.answer(&ctx(5), answer(v, 5)).verdict, Verdict::Valid);
            assert_eq!(
                d.answer(&ctx(5), answer(Verdict::BadSignature, 5)).verdict,
                Verdict::BadSignature
            );
        }
    }

    #[test]
    fn the_last_major_is_rejected_and_only_it() {
        let d = ContextDefect::VersionLastMajorRejected;
        assert_eq!(
            d.answer(&ctx(5), answer(Verdict::Valid, 5)).verdict,
            Verdict::VersionNotCovered
        );
        assert_eq!(
            d.answer(&ctx(4), answer(Verdict::Valid, 5)).verdict,
            Verdict::Valid
        );
    }

    #[test]
    fn one_product_makes_the_product_check_not_applicable() {
        let facts = Facts {
            products: 1,
            ..Facts::default()
        };
        assert!(
            ContextDefect::ProductUnchecked
                .not_applicable(&facts)
                .is_some()
        );
        assert!(
            ContextDefect::HostUnchecked
                .not_applicable(&facts)
                .is_none()
        );
    }
}
