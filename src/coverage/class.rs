//! The classes that numeric and date fields fall into, and how to move a field
//! into a class.
//!
//! Classes are cut at the edges where key formats break, not at round numbers:
//! acme-lk1's 10-bit seat field (1-1023), its 14-bit expiry field
//! (2000-01-02 to 2044-11-08), and 2038-01-19, the last day of 32-bit Unix
//! time that vendors' C validators still use (SCHEMES.md). Each class has a
//! fixed index: coverage counts are stored by it, so reordering or renumbering
//! classes changes the meaning of saved reports.

use serde::{Deserialize, Serialize};

use crate::date::Day;
use crate::entitlement::Entitlement;

/// 2000-01-02, the first expiry acme-lk1 can carry (days since 1970-01-01).
pub(crate) const LK1_FIRST: i64 = 10_958;
/// 2044-11-08, the last expiry acme-lk1 can carry.
pub(crate) const LK1_LAST: i64 = 10_957 + 16_383;
/// 2038-01-19, the last day of signed 32-bit Unix time.
pub(crate) const Y2038: i64 = 24_855;
/// 0000-01-01, the first representable [`Day`].
pub(crate) const FIRST_DAY: i64 = -719_528;
/// 9999-12-31, the last representable [`Day`].
pub(crate) const LAST_DAY: i64 = 2_932_896;
/// "Within a year" means at most this many days after issue.
const YEAR: i64 = 365;

/// Seat counts, cut at acme-lk1's 10-bit field and at 16 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatsClass {
    /// `null`: unlimited (acme-lk1 writes 0).
    Unlimited,
    /// Exactly one seat.
    One,
    /// 2 to 10.
    Few,
    /// 11 to 1000.
    Many,
    /// 1001 to 1023: the top of acme-lk1's field.
    Lk1Top,
    /// 1024 to 65535: beyond acme-lk1, within 16 bits.
    BeyondLk1,
    /// 65536 and more: beyond 16 bits.
    Beyond16Bits,
}

impl SeatsClass {
    /// Every class, in index order.
    pub const ALL: [SeatsClass; 7] = [
        SeatsClass::Unlimited,
        SeatsClass::One,
        SeatsClass::Few,
        SeatsClass::Many,
        SeatsClass::Lk1Top,
        SeatsClass::BeyondLk1,
        SeatsClass::Beyond16Bits,
    ];

    /// The class of a seat count (`0`, which no valid entitlement has, counts
    /// as one seat rather than failing).
    pub fn of(seats: Option<u32>) -> Self {
        match seats {
            None => SeatsClass::Unlimited,
            Some(0..=1) => SeatsClass::One,
            Some(2..=10) => SeatsClass::Few,
            Some(11..=1000) => SeatsClass::Many,
            Some(1001..=1023) => SeatsClass::Lk1Top,
            Some(1024..=65535) => SeatsClass::BeyondLk1,
            Some(_) => SeatsClass::Beyond16Bits,
        }
    }

    /// A human label, e.g. `seats 11–1000`.
    pub fn label(self) -> &'static str {
        match self {
            SeatsClass::Unlimited => "seats unlimited",
            SeatsClass::One => "seats 1",
            SeatsClass::Few => "seats 2–10",
            SeatsClass::Many => "seats 11–1000",
            SeatsClass::Lk1Top => "seats 1001–1023",
            SeatsClass::BeyondLk1 => "seats 1024–65535",
            SeatsClass::Beyond16Bits => "seats ≥ 65536",
        }
    }

    /// Sets `seats` to a value in this class, often on one of its edges.
    pub(crate) fn apply(self, e: &mut Entitlement, r: u64) {
        let (lo, hi) = match self {
            SeatsClass::Unlimited => {
                e.seats = None;
                return;
            }
            SeatsClass::One => (1, 1),
            SeatsClass::Few => (2, 10),
            SeatsClass::Many => (11, 1000),
            SeatsClass::Lk1Top => (1001, 1023),
            SeatsClass::BeyondLk1 => (1024, 65535),
            SeatsClass::Beyond16Bits => (65536, i64::from(u32::MAX)),
        };
        e.seats = u32::try_from(pick_in(lo, hi, r)).ok();
    }
}

/// Expiry dates: perpetual, outside acme-lk1's range, past 2038-01-19, or
/// (otherwise) within or beyond a year of issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryClass {
    /// `null`: never expires.
    Perpetual,
    /// Before 2000-01-02: below what acme-lk1 can carry.
    BeforeLk1,
    /// At most 365 days after issue (and within acme-lk1 and 32-bit time).
    WithinYear,
    /// More than 365 days after issue, up to 2038-01-19.
    AfterYear,
    /// 2038-01-20 to 2044-11-08: past 32-bit Unix time, still acme-lk1.
    Past2038,
    /// After 2044-11-08: beyond what acme-lk1 can carry.
    BeyondLk1,
}

impl ExpiryClass {
    /// Every class, in index order.
    pub const ALL: [ExpiryClass; 6] = [
        ExpiryClass::Perpetual,
        ExpiryClass::BeforeLk1,
        ExpiryClass::WithinYear,
        ExpiryClass::AfterYear,
        ExpiryClass::Past2038,
        ExpiryClass::BeyondLk1,
    ];

    /// The class of an entitlement's expiry.
    pub fn of(issued: Day, expires: Option<Day>) -> Self {
        let Some(x) = expires.map(Day::days_since_epoch) else {
            return ExpiryClass::Perpetual;
        };
        if x < LK1_FIRST {
            ExpiryClass::BeforeLk1
        } else if x > LK1_LAST {
            ExpiryClass::BeyondLk1
        } else if x > Y2038 {
            ExpiryClass::Past2038
        } else if x - issued.days_since_epoch() <= YEAR {
            ExpiryClass::WithinYear
        } else {
            ExpiryClass::AfterYear
        }
    }

    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            ExpiryClass::Perpetual => "perpetual",
            ExpiryClass::BeforeLk1 => "expires before 2000-01-02",
            ExpiryClass::WithinYear => "expires within a year",
            ExpiryClass::AfterYear => "expires after a year, by 2038-01-19",
            ExpiryClass::Past2038 => "expires 2038-01-20–2044-11-08",
            ExpiryClass::BeyondLk1 => "expires after 2044-11-08",
        }
    }

    /// Sets `expires` to a day in this class, moving `issued` only when the
    /// class cannot be reached from it (always keeping `issued <= expires`).
    pub(crate) fn apply(self, e: &mut Entitlement, r: u64) {
        let issued = e.issued.days_since_epoch();
        let (issued, expires) = match self {
            ExpiryClass::Perpetual => {
                e.expires = None;
                return;
            }
            ExpiryClass::BeforeLk1 => {
                let x = pick_in(LK1_FIRST - 1 - 2 * YEAR, LK1_FIRST - 1, r);
                (issued.min(x), x)
            }
            ExpiryClass::WithinYear => {
                let i = issued.clamp(LK1_FIRST - YEAR, Y2038);
                (i, pick_in(i.max(LK1_FIRST), (i + YEAR).min(Y2038), r))
            }
            ExpiryClass::AfterYear => {
                let i = issued.min(Y2038 - YEAR - 1);
                (i, pick_in((i + YEAR + 1).max(LK1_FIRST), Y2038, r))
            }
            ExpiryClass::Past2038 => {
                let x = pick_in(Y2038 + 1, LK1_LAST, r);
                (issued.min(x), x)
            }
            ExpiryClass::BeyondLk1 => {
                let x = pick_in(LK1_LAST + 1, LK1_LAST + 60 * YEAR, r);
                (issued.min(x), x)
            }
        };
        set_dates(e, issued, Some(expires));
    }
}

/// Maintenance end: none, past the license's expiry, or (otherwise) within
/// or beyond a year of issue. acme-ed1 carries it, acme-lk1 does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceClass {
    /// `null`: no maintenance.
    None,
    /// Ends at most 365 days after issue (or before it).
    WithinYear,
    /// Ends more than 365 days after issue.
    AfterYear,
    /// Ends after the license itself expires.
    PastExpiry,
}

impl MaintenanceClass {
    /// Every class, in index order.
    pub const ALL: [MaintenanceClass; 4] = [
        MaintenanceClass::None,
        MaintenanceClass::WithinYear,
        MaintenanceClass::AfterYear,
        MaintenanceClass::PastExpiry,
    ];

    /// The class of an entitlement's maintenance end.
    pub fn of(issued: Day, expires: Option<Day>, until: Option<Day>) -> Self {
        match until {
            None => MaintenanceClass::None,
            Some(m) if expires.is_some_and(|x| m > x) => MaintenanceClass::PastExpiry,
            Some(m) if m.days_since(issued) <= YEAR => MaintenanceClass::WithinYear,
            Some(_) => MaintenanceClass::AfterYear,
        }
    }

    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            MaintenanceClass::None => "no maintenance",
            MaintenanceClass::WithinYear => "maintenance within a year",
            MaintenanceClass::AfterYear => "maintenance after a year",
            MaintenanceClass::PastExpiry => "maintenance past expiry",
        }
    }

    /// Sets `maintenance_until` into this class; may move `expires` (later, or
    /// from perpetual to dated) or `issued` (earlier) where the class needs it.
    pub(crate) fn apply(self, e: &mut Entitlement, r: u64) {
        let mut issued = e.issued.days_since_epoch();
        let mut expires = e.expires.map(Day::days_since_epoch);
        let until = match self {
            MaintenanceClass::None => {
                e.maintenance_until = None;
                return;
            }
            MaintenanceClass::WithinYear => {
                let hi = (issued + YEAR).min(expires.unwrap_or(LAST_DAY));
                pick_in(issued, hi, r)
            }
            MaintenanceClass::AfterYear => {
                issued = issued.min(LAST_DAY - 4 * YEAR);
                let m = pick_in(issued + YEAR + 1, issued + 3 * YEAR, r);
                expires = expires.map(|x| x.max(m));
                m
            }
            MaintenanceClass::PastExpiry => {
                let x = expires
                    .unwrap_or(issued + (r % 366) as i64)
                    .min(LAST_DAY - 1);
                issued = issued.min(x);
                expires = Some(x);
                pick_in(x + 1, (x + YEAR).min(LAST_DAY), r)
            }
        };
        set_dates(e, issued, expires);
        if let Some(m) = Day::from_days_since_epoch(until) {
            e.maintenance_until = Some(m);
        }
    }
}

/// Whether the license is node-locked (acme-lk1 cannot carry a lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeLock {
    /// `host_id` is null.
    Unlocked,
    /// `host_id` is set.
    Locked,
}

impl NodeLock {
    /// Both, in index order.
    pub const ALL: [NodeLock; 2] = [NodeLock::Unlocked, NodeLock::Locked];

    /// Whether a host id locks the license.
    pub fn of(host_id: Option<&str>) -> Self {
        match host_id {
            None => NodeLock::Unlocked,
            Some(_) => NodeLock::Locked,
        }
    }

    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            NodeLock::Unlocked => "unlocked",
            NodeLock::Locked => "node-locked",
        }
    }

    /// Clears `host_id`, or sets one (12 hex digits, like a MAC address) if
    /// none is set.
    pub(crate) fn apply(self, e: &mut Entitlement, r: u64) {
        match self {
            NodeLock::Unlocked => e.host_id = None,
            NodeLock::Locked if e.host_id.is_none() => {
                e.host_id = Some(format!("{:012X}", r & 0xFFFF_FFFF_FFFF));
            }
            NodeLock::Locked => {}
        }
    }
}

/// Writes both dates, clamped to what a [`Day`] can hold; leaves the
/// entitlement unchanged if either is out of range.
fn set_dates(e: &mut Entitlement, issued: i64, expires: Option<i64>) {
    let clamp = |d: i64| Day::from_days_since_epoch(d.clamp(FIRST_DAY, LAST_DAY));
    let Some(issued) = clamp(issued) else { return };
    let expires = match expires.map(clamp) {
        None => None,
        Some(Some(x)) => Some(x),
        Some(None) => return,
    };
    e.issued = issued;
    e.expires = expires;
}

/// A value in `lo..=hi` from `r`: the low edge, the high edge, or uniform.
/// An empty range gives `lo`.
pub(crate) fn pick_in(lo: i64, hi: i64, r: u64) -> i64 {
    if hi <= lo {
        return lo;
    }
    let span = (hi - lo) as u64 + 1;
    match r % 4 {
        0 => lo,
        1 => hi,
        _ => lo + ((r >> 2) % span) as i64,
    }
}

/// SplitMix64: independent values for each setting of one steered case.
pub(crate) fn mix(r: u64, salt: u64) -> u64 {
    let mut z = r.wrapping_add(salt.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_days_are_the_documented_dates() {
        let day = |n| Day::from_days_since_epoch(n).unwrap().to_string();
        assert_eq!(day(LK1_FIRST), "2000-01-02");
        assert_eq!(day(LK1_LAST), "2044-11-08");
        assert_eq!(day(Y2038), "2038-01-19");
        assert_eq!(day(FIRST_DAY), "0000-01-01");
        assert_eq!(day(LAST_DAY), "9999-12-31");
    }

    #[test]
    fn seat_classes_cut_at_lk1s_field() {
        assert_eq!(SeatsClass::of(Some(1023)), SeatsClass::Lk1Top);
        assert_eq!(SeatsClass::of(Some(1024)), SeatsClass::BeyondLk1);
        assert_eq!(SeatsClass::of(Some(65536)), SeatsClass::Beyond16Bits);
        assert_eq!(SeatsClass::of(None), SeatsClass::Unlimited);
    }

    #[test]
    fn expiry_classes_cut_at_lk1_and_2038() {
        let d = |s| Day::parse(s).unwrap();
        let issued = d("2030-01-01");
        let of = |s| ExpiryClass::of(issued, Some(d(s)));
        assert_eq!(of("2038-01-19"), ExpiryClass::AfterYear);
        assert_eq!(of("2038-01-20"), ExpiryClass::Past2038);
        assert_eq!(of("2044-11-08"), ExpiryClass::Past2038);
        assert_eq!(of("2044-11-09"), ExpiryClass::BeyondLk1);
        assert_eq!(of("2030-12-31"), ExpiryClass::WithinYear);
        let early = d("1999-06-01");
        assert_eq!(
            ExpiryClass::of(early, Some(d("2000-01-01"))),
            ExpiryClass::BeforeLk1
        );
    }

    #[test]
    fn picks_stay_in_range_and_hit_edges() {
        let picks: Vec<i64> = (0..64).map(|r| pick_in(10, 20, mix(r, 0))).collect();
        assert!(picks.iter().all(|p| (10..=20).contains(p)));
        assert!(picks.contains(&10) && picks.contains(&20));
        assert_eq!(pick_in(5, 5, 7), 5);
        assert_eq!(pick_in(5, 4, 7), 5);
    }
}
