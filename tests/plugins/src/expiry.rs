//! The expiry check, re-run on a validation keycompat's codecs made.
//!
//! SCHEMES.md: `expires` is the last valid day, inclusive, and the context
//! checks run in the order product, version, expiry, host. Two defects move
//! the expiry check: `expiry-off-by-one` changes its comparison, `date-epoch`
//! the day it compares with, `tz-expiry` the day it takes as today. Both re-run the expiry check and the host check
//! that follows it, and keep every verdict decided before them.

use keycompat::date::Day;
use keycompat::verdict::{Context, Decoded, Validation, Verdict};

/// Whether a key whose last valid day is `expires` has expired on `today`:
/// the spec's check.
pub(crate) fn spec_is_expired(today: Day, expires: Day) -> bool {
    today > expires
}

/// `expiry-off-by-one`: the expiry day itself counts as expired, as when
/// `expires` is read like a JWT `exp` (the first moment that is no longer
/// valid) instead of as the last valid day.
pub(crate) fn off_by_one_is_expired(today: Day, expires: Day) -> bool {
    today >= expires
}

/// `tz-expiry`: "today" taken as the local date of the context's day's last
/// second (23:59:59 UTC), as a validator that means "valid through the whole
/// day" and then asks the C library for the date would: east of UTC that is
/// the next day, so keys expire a day early there (on the expiry day they
/// are already expired); west of UTC and at UTC it is the same day.
///
/// `tz` is the value of `TZ` (the plugin reads its process's environment);
/// the zone's offset comes from [`utc_offset_hours`].
pub(crate) fn local_today(today: Day, tz: Option<&str>) -> Day {
    let offset = utc_offset_hours(tz.unwrap_or(""));
    // 23:59:59 UTC plus the offset passes midnight for any positive offset.
    if offset > 0 {
        today.add_days(1).unwrap_or(today)
    } else {
        today
    }
}

/// The UTC offset, in whole hours at 2026's standard time, of the zones the
/// tests use; any other zone is taken as UTC (as the C library takes a zone
/// it cannot find).
pub(crate) fn utc_offset_hours(tz: &str) -> i32 {
    match tz.trim_start_matches(':') {
        "Pacific/Kiritimati" => 14,
        "Pacific/Auckland" => 13,
        "Asia/Tokyo" => 9,
        "Asia/Bangkok" => 7,
        "Europe/Berlin" => 1,
        "America/New_York" => -5,
        "America/Los_Angeles" => -8,
        "Pacific/Pago_Pago" => -11,
        _ => 0,
    }
}

/// `v` with its expiry and host checks decided again by `is_expired`. Keys
/// that did not decode, or failed the product or version check, are kept.
pub(crate) fn rejudge(
    v: Validation,
    ctx: &Context,
    is_expired: fn(Day, Day) -> bool,
) -> Validation {
    let reached_expiry = matches!(
        v.verdict,
        Verdict::Valid | Verdict::Expired | Verdict::HostMismatch
    );
    let Some(decoded) = v.decoded.as_ref().filter(|_| reached_expiry) else {
        return v;
    };
    let expired = decoded
        .expires
        .flatten()
        .filter(|&day| is_expired(ctx.today, day));
    let (verdict, reason) = match (expired, host_mismatch(decoded, ctx)) {
        (Some(day), _) => (Verdict::Expired, Some(format!("expired after {day}"))),
        (None, Some(reason)) => (Verdict::HostMismatch, Some(reason)),
        (None, None) => (Verdict::Valid, None),
    };
    Validation {
        verdict,
        reason,
        ..v
    }
}

/// Why a decoded key is locked to another host than the context's, if it is.
fn host_mismatch(decoded: &Decoded, ctx: &Context) -> Option<String> {
    let host = decoded.host_id.as_ref()?.as_deref()?;
    match ctx.host_id.as_deref() {
        Some(other) if other == host => None,
        Some(other) => Some(format!("key is locked to host {host:?}, not {other:?}")),
        None => Some(format!(
            "key is locked to host {host:?} and the context has no host id"
        )),
    }
}
