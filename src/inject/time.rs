//! Time defects: a validator whose idea of today or of the last valid day
//! is off, the commonest porting bug of licence checks (a time zone applied
//! twice, `<` for `<=`, an expiry check lost in a refactoring).

use crate::verdict::{Context, Validation, Verdict};

/// A defect in the validator's handling of dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimeDefect {
    /// `today` one day late (a time zone east of UTC applied).
    TodayPlusOne,
    /// `today` one day early.
    TodayMinusOne,
    /// The last valid day already counts as expired (`<` for `<=`).
    LastDayExpired,
    /// Expired keys are accepted.
    ExpiryIgnored,
}

impl TimeDefect {
    pub(crate) const ALL: [TimeDefect; 4] = [
        TimeDefect::TodayPlusOne,
        TimeDefect::TodayMinusOne,
        TimeDefect::LastDayExpired,
        TimeDefect::ExpiryIgnored,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            TimeDefect::TodayPlusOne => "today-plus-1",
            TimeDefect::TodayMinusOne => "today-minus-1",
            TimeDefect::LastDayExpired => "last-day-expired",
            TimeDefect::ExpiryIgnored => "expiry-ignored",
        }
    }

    pub(crate) fn what(self) -> &'static str {
        match self {
            TimeDefect::TodayPlusOne => "the validator's today is one day late",
            TimeDefect::TodayMinusOne => "the validator's today is one day early",
            TimeDefect::LastDayExpired => "the last valid day is treated as expired",
            TimeDefect::ExpiryIgnored => "expired keys are accepted",
        }
    }

    /// The context the defective validator really uses.
    pub(crate) fn context(self, context: &Context) -> Option<Context> {
        let shift = match self {
            TimeDefect::TodayPlusOne => 1,
            TimeDefect::TodayMinusOne => -1,
            _ => return None,
        };
        Some(Context {
            today: context.today.add_days(shift)?,
            ..context.clone()
        })
    }

    /// The defective validator's answer, given the correct one.
    pub(crate) fn answer(self, context: &Context, mut v: Validation) -> Validation {
        match self {
            TimeDefect::LastDayExpired => {
                let last_day = v
                    .decoded
                    .as_ref()
                    .and_then(|d| d.expires.flatten())
                    .is_some_and(|d| d == context.today);
                if v.verdict == Verdict::Valid && last_day {
                    v.verdict = Verdict::Expired;
                    v.reason = Some("expired (injected: last day counted as expired)".into());
                }
            }
            TimeDefect::ExpiryIgnored => {
                if v.verdict == Verdict::Expired {
                    v.verdict = Verdict::Valid;
                    v.reason = None;
                }
            }
            TimeDefect::TodayPlusOne | TimeDefect::TodayMinusOne => {}
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;
    use crate::verdict::{Decoded, Version};

    fn ctx(today: &str) -> Context {
        Context {
            product: "p".into(),
            version: Version { major: 1, minor: 0 },
            today: Day::parse(today).unwrap(),
            host_id: None,
        }
    }

    fn valid_until(day: &str) -> Validation {
        Validation {
            verdict: Verdict::Valid,
            format: None,
            reason: None,
            decoded: Some(Decoded {
                expires: Some(Some(Day::parse(day).unwrap())),
                ..Decoded::default()
            }),
        }
    }

    #[test]
    fn today_is_shifted_both_ways() {
        let c = ctx("2026-12-31");
        assert_eq!(
            TimeDefect::TodayPlusOne.context(&c).unwrap().today,
            Day::parse("2027-01-01").unwrap()
        );
        assert_eq!(
            TimeDefect::TodayMinusOne.context(&c).unwrap().today,
            Day::parse("2026-12-30").unwrap()
        );
        assert!(TimeDefect::ExpiryIgnored.context(&c).is_none());
    }

    #[test]
    fn only_the_last_day_turns_expired() {
        let d = TimeDefect::LastDayExpired;
        let on = d.answer(&ctx("2027-01-31"), valid_until("2027-01-31"));
        assert_eq!(on.verdict, Verdict::Expired);
        let before = d.answer(&ctx("2027-01-30"), valid_until("2027-01-31"));
        assert_eq!(before.verdict, Verdict::Valid);
    }

    #[test]
    fn expired_keys_are_accepted() {
        let mut v = valid_until("2020-01-01");
        v.verdict = Verdict::Expired;
        let out = TimeDefect::ExpiryIgnored.answer(&ctx("2026-01-01"), v);
        assert_eq!(out.verdict, Verdict::Valid);
    }
}
