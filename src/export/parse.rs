//! Value parsers for export cells. Each error message says what was expected,
//! because it ends up in a [`RowError`](super::RowError) a vendor must act on.

use crate::verdict::Version;

/// A product version as exports write it: `7`, `7.2`, or `7.2.1` (the patch
/// is dropped: validators look at the major version only).
pub(crate) fn parse_version(text: &str) -> Result<Version, String> {
    let parts: Vec<&str> = text.split('.').collect();
    let major_minor = match parts.as_slice() {
        [major] => format!("{major}.0"),
        [major, minor] => format!("{major}.{minor}"),
        [major, minor, patch] if !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{major}.{minor}")
        }
        _ => String::new(),
    };
    Version::parse(&major_minor).map_err(|_| {
        "not a product version (expected MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 7.2)".into()
    })
}

/// A seat count; empty (unlimited) is handled before this.
pub(crate) fn parse_seats(text: &str) -> Result<u32, String> {
    digits(text)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| "not a number of seats (or empty for unlimited)".into())
}

/// The highest major version covered.
pub(crate) fn parse_max_major(text: &str) -> Result<u8, String> {
    digits(text)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| "not a major version number (0 to 255)".into())
}

/// A serial number.
pub(crate) fn parse_serial(text: &str) -> Result<u32, String> {
    digits(text)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("not a serial number (0 to {})", u32::MAX))
}

/// `text` if it is only ASCII digits (no sign, no spaces, no exponent).
fn digits(text: &str) -> Option<&str> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}
