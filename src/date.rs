//! Calendar days in UTC, written `YYYY-MM-DD`.
//!
//! Licenses expire on days, not instants: `expires` is the last valid day,
//! inclusive. Parsing is strict (exactly ten characters, a real date), because
//! a lenient parser on one side of a migration is itself a compatibility bug.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

/// A calendar day (proleptic Gregorian, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

impl Day {
    /// The day of `year-month-day`, if it exists.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Option<Self> {
        let month = Month::try_from(month).ok()?;
        Date::from_calendar_date(year, month, day).ok().map(Day)
    }

    /// Parses `YYYY-MM-DD` (years 0000-9999).
    pub fn parse(s: &str) -> Result<Self, String> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            b.get(r)?.iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let shape_ok = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
        let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
            return Err(format!("{s:?} is not a date (expected YYYY-MM-DD)"));
        };
        if !shape_ok {
            return Err(format!("{s:?} is not a date (expected YYYY-MM-DD)"));
        }
        Self::from_ymd(y as i32, m as u8, d as u8)
            .ok_or_else(|| format!("{s:?} is not a real calendar date"))
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        i64::from(self.0.to_julian_day()) - i64::from(EPOCH_JULIAN)
    }

    /// The day `n` days after 1970-01-01, if representable (years 0-9999).
    pub fn from_days_since_epoch(n: i64) -> Option<Self> {
        let jd = i32::try_from(n + i64::from(EPOCH_JULIAN)).ok()?;
        let d = Date::from_julian_day(jd).ok()?;
        (0..=9999).contains(&d.year()).then_some(Day(d))
    }

    /// Days from `base` to `self` (negative when earlier).
    pub fn days_since(self, base: Day) -> i64 {
        self.days_since_epoch() - base.days_since_epoch()
    }

    /// `self` plus `n` days, if representable.
    pub fn add_days(self, n: i64) -> Option<Self> {
        Self::from_days_since_epoch(self.days_since_epoch() + n)
    }

    /// Year, month, day.
    pub fn ymd(self) -> (i32, u8, u8) {
        (self.0.year(), self.0.month() as u8, self.0.day())
    }
}

/// Julian day number of 1970-01-01.
const EPOCH_JULIAN: i32 = 2_440_588;

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl std::str::FromStr for Day {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Day::parse(s)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strictly() {
        assert_eq!(Day::parse("2027-12-31").unwrap().to_string(), "2027-12-31");
        for bad in [
            "2027-2-31",
            "2027-02-30",
            "27-12-31",
            "2027/12/31",
            "2027-12-31 ",
            "",
            "+2027-12-3",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
        assert!(Day::parse("2028-02-29").is_ok());
        assert!(Day::parse("2100-02-29").is_err());
    }

    #[test]
    fn counts_days() {
        let base = Day::parse("2000-01-01").unwrap();
        assert_eq!(Day::parse("2027-12-31").unwrap().days_since(base), 10226);
        assert_eq!(base.add_days(16383).unwrap().to_string(), "2044-11-08");
        assert_eq!(Day::parse("1970-01-01").unwrap().days_since_epoch(), 0);
    }
}
