//! Dates as a vendor's export writes them.

use std::fmt;

use serde::{Deserialize, Deserializer};
use time::format_description::OwnedFormatItem;

use crate::date::Day;

/// How dates are written in an export: ISO `YYYY-MM-DD` by default, or a
/// `time` crate format description such as `[day]/[month]/[year]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DateFormat {
    /// `YYYY-MM-DD`, parsed as strictly as everywhere else in keycompat.
    #[default]
    Iso,
    /// A format description (version 2 syntax of the `time` crate).
    Custom {
        /// The description as the vendor wrote it.
        description: String,
        /// The parsed description.
        items: OwnedFormatItem,
    },
}

impl DateFormat {
    /// Parses a format description and proves it can write and read back a
    /// day, so a format without a year (or with an hour) fails at load time.
    pub fn custom(description: &str) -> Result<Self, String> {
        let items = time::format_description::parse_owned::<2>(description)
            .map_err(|e| format!("{description:?} is not a date format description: {e}"))?;
        let probe = time::Date::from_calendar_date(2026, time::Month::November, 23)
            .map_err(|e| e.to_string())?;
        let written = probe.format(&items).map_err(|e| {
            format!("{description:?} cannot describe a date: {e}; hint: use day, month and year components, e.g. \"[day]/[month]/[year]\"")
        })?;
        match time::Date::parse(&written, &items) {
            Ok(read) if read == probe => Ok(DateFormat::Custom {
                description: description.to_string(),
                items,
            }),
            _ => Err(format!(
                "{description:?} does not identify a day (it wrote {written:?} for 2026-11-23 and cannot read it back); hint: include [day], [month] and [year]"
            )),
        }
    }

    /// Reads one date.
    pub fn parse(&self, text: &str) -> Result<Day, String> {
        match self {
            DateFormat::Iso => Day::parse(text),
            DateFormat::Custom { description, items } => time::Date::parse(text, items)
                .ok()
                .and_then(|d| Day::from_ymd(d.year(), d.month() as u8, d.day()))
                .ok_or_else(|| format!("not a date in the format {description}")),
        }
    }

    /// Writes one date in this format.
    pub fn format(&self, day: Day) -> String {
        let DateFormat::Custom { items, .. } = self else {
            return day.to_string();
        };
        let (y, m, d) = day.ymd();
        time::Month::try_from(m)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(y, m, d).ok())
            .and_then(|date| date.format(items).ok())
            // Unreachable for a checked format and a real day; ISO is an honest fallback.
            .unwrap_or_else(|| day.to_string())
    }
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateFormat::Iso => f.write_str("YYYY-MM-DD"),
            DateFormat::Custom { description, .. } => f.write_str(description),
        }
    }
}

impl<'de> Deserialize<'de> for DateFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DateFormat::custom(&s).map_err(serde::de::Error::custom)
    }
}
