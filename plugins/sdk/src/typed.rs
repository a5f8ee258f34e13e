//! The typed forms of ABI 1.2 (`KC_FLAG_TYPED`), for Rust plugins.
//!
//! The host hands a plugin `kc_entitlement` and `kc_context` structs; this
//! module checks them as cheaply as it can (bits, UTF-8, date ranges,
//! reserved bytes: a plugin must not trust its input) and lends them to the
//! plugin as [`TypedEntitlement`] and [`TypedContext`], borrowing the host's
//! bytes. A decode goes back through [`DecodeOut`], which lays its strings
//! and feature array out in the host's buffer. No numbers or dates are
//! formatted or parsed here, except by the default methods of
//! [`Plugin`](crate::Plugin), which translate to and from the text form for
//! plugins that implement only that.
#![allow(unsafe_code)]

use crate::abi::*;
use crate::wire::{self, Fields};

/// An entitlement as the host gave it, checked: strings are UTF-8, dates
/// within `KC_DAY_MIN ..= KC_DAY_MAX` (days since 1970-01-01). In a decode
/// ([`TypedDecode`]) the fields not carried are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedEntitlement<'a> {
    /// Product slug.
    pub product: &'a str,
    /// Edition name.
    pub edition: &'a str,
    /// Highest major version covered.
    pub max_major: u8,
    /// Feature slugs, as given (byte order).
    pub features: Vec<&'a str>,
    /// Seats; `None` is unlimited.
    pub seats: Option<u32>,
    /// Day of issue.
    pub issued: i32,
    /// Last valid day; `None` is perpetual.
    pub expires: Option<i32>,
    /// Last day of maintenance.
    pub maintenance_until: Option<i32>,
    /// Serial.
    pub serial: u32,
    /// Customer id and name.
    pub customer: Option<(&'a str, &'a str)>,
    /// Order id.
    pub order_id: Option<&'a str>,
    /// Node lock.
    pub host_id: Option<&'a str>,
}

/// A validation context as the host gave it, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypedContext<'a> {
    /// The running product's slug.
    pub product: &'a str,
    /// Its version, major and minor.
    pub version: (u32, u32),
    /// Today, days since 1970-01-01.
    pub today: i32,
    /// The machine's host id.
    pub host_id: Option<&'a str>,
}

/// A plugin's answer to one key, borrowed from wherever the plugin keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedDecode<'a> {
    /// `KC_VERDICT_*`.
    pub verdict: i32,
    /// The key's format, when recognised.
    pub format: Option<&'a str>,
    /// Free text for humans.
    pub reason: Option<&'a str>,
    /// `KC_HAS_*` bits of the fields the format carries (0: not decoded).
    pub carried: u32,
    /// The carried fields' values.
    pub fields: TypedEntitlement<'a>,
}

/// Reads `s` as UTF-8.
///
/// # Safety
/// `s.ptr` must point to `s.len` readable bytes when it is not null.
unsafe fn text<'a>(what: &str, s: KcStr) -> Result<&'a str, String> {
    // SAFETY: the caller's guarantee.
    let bytes = unsafe { wire::bytes(s.ptr, s.len) }.map_err(|e| format!("{what}: {e}"))?;
    // Most values are short ASCII strings: a byte check is cheaper than the
    // call to the general UTF-8 validation.
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).map_err(|_| format!("{what}: value is not valid UTF-8"))
}

fn day(what: &str, d: i32) -> Result<i32, String> {
    if (KC_DAY_MIN..=KC_DAY_MAX).contains(&d) {
        Ok(d)
    } else {
        Err(format!(
            "{what}: day {d} is outside 0000-01-01 ..= 9999-12-31"
        ))
    }
}

impl<'a> TypedEntitlement<'a> {
    /// Checks and borrows a `kc_entitlement` the host gave.
    ///
    /// # Safety
    /// Every `kc_str` of `raw` and its features array must point to as many
    /// readable bytes (and `kc_str`s) as they say, for `'a`.
    pub unsafe fn from_raw(raw: &KcEntitlement) -> Result<Self, String> {
        let has = raw.has;
        if has & !KC_HAS_ALL != 0 {
            return Err(format!("entitlement: unknown has bits 0x{has:x}"));
        }
        if has & KC_HAS_REQUIRED != KC_HAS_REQUIRED {
            return Err(format!(
                "entitlement: required fields missing (has 0x{has:x})"
            ));
        }
        if raw.reserved != [0; 7] {
            return Err("entitlement: reserved bytes are not 0".into());
        }
        let opt = |bit: u32, what: &str, s: KcStr| -> Result<Option<&'a str>, String> {
            // SAFETY: the caller's guarantee covers every kc_str.
            (has & bit != 0)
                .then(|| unsafe { text(what, s) })
                .transpose()
        };
        let features = if raw.n_features == 0 {
            Vec::new()
        } else if raw.features.is_null() {
            return Err(format!(
                "features: {} given with a null pointer",
                raw.n_features
            ));
        } else {
            // SAFETY: the caller guarantees `n_features` readable kc_strs.
            let all = unsafe { std::slice::from_raw_parts(raw.features, raw.n_features) };
            // SAFETY: as above, each feature's bytes.
            all.iter()
                .map(|f| unsafe { text("features", *f) })
                .collect::<Result<Vec<_>, _>>()?
        };
        let customer = match (
            opt(KC_HAS_CUSTOMER, "customer_id", raw.customer_id)?,
            opt(KC_HAS_CUSTOMER, "customer_name", raw.customer_name)?,
        ) {
            (Some(id), Some(name)) => Some((id, name)),
            _ => None,
        };
        Ok(TypedEntitlement {
            // SAFETY: the caller's guarantee.
            product: unsafe { text("product", raw.product) }?,
            // SAFETY: the caller's guarantee.
            edition: unsafe { text("edition", raw.edition) }?,
            max_major: raw.max_major,
            features,
            seats: (has & KC_HAS_SEATS != 0).then_some(raw.seats),
            issued: day("issued", raw.issued)?,
            expires: (has & KC_HAS_EXPIRES != 0)
                .then(|| day("expires", raw.expires))
                .transpose()?,
            maintenance_until: (has & KC_HAS_MAINTENANCE_UNTIL != 0)
                .then(|| day("maintenance_until", raw.maintenance_until))
                .transpose()?,
            serial: raw.serial,
            customer,
            order_id: opt(KC_HAS_ORDER_ID, "order_id", raw.order_id)?,
            host_id: opt(KC_HAS_HOST_ID, "host_id", raw.host_id)?,
        })
    }

    /// The entitlement as `kc_field`s, as the host writes them for the
    /// text entry points (what [`Plugin::generate_typed`](crate::Plugin::generate_typed)
    /// hands a text-only plugin).
    pub fn to_fields(&self) -> Fields {
        let mut f = Fields::with_capacity(13, 160);
        f.push("product", self.product);
        f.push("edition", self.edition);
        f.push_display("max_major", self.max_major);
        f.push_list("features", &self.features);
        if let Some(s) = self.seats {
            f.push_display("seats", s);
        }
        f.push("issued", format_day(self.issued));
        f.push_opt("expires", self.expires.map(format_day));
        f.push_opt("maintenance_until", self.maintenance_until.map(format_day));
        f.push_display("serial", self.serial);
        if let Some((id, name)) = self.customer {
            f.push("customer_id", id);
            f.push("customer_name", name);
        }
        f.push_opt("order_id", self.order_id);
        f.push_opt("host_id", self.host_id);
        f
    }
}

impl<'a> TypedContext<'a> {
    /// Checks and borrows a `kc_context` the host gave.
    ///
    /// # Safety
    /// `raw` must be null or point to a `kc_context` whose strings point to
    /// as many readable bytes as they say, for `'a`.
    pub unsafe fn from_raw(raw: *const KcContext) -> Result<Self, String> {
        if raw.is_null() {
            return Err("context: null pointer".into());
        }
        // SAFETY: non-null, and the caller's guarantee.
        let raw = unsafe { &*raw };
        if raw.has & !KC_HAS_HOST_ID != 0 {
            return Err(format!("context: unknown has bits 0x{:x}", raw.has));
        }
        Ok(TypedContext {
            // SAFETY: the caller's guarantee.
            product: unsafe { text("product", raw.product) }?,
            version: (raw.version_major, raw.version_minor),
            today: day("today", raw.today)?,
            host_id: if raw.has & KC_HAS_HOST_ID != 0 {
                // SAFETY: the caller's guarantee.
                Some(unsafe { text("host_id", raw.host_id) }?)
            } else {
                None
            },
        })
    }

    /// The context as `kc_field`s, as the host writes them.
    pub fn to_fields(&self) -> Fields {
        let mut f = Fields::with_capacity(4, 64);
        f.push("product", self.product);
        f.push("version", format!("{}.{}", self.version.0, self.version.1));
        f.push("today", format_day(self.today));
        f.push_opt("host_id", self.host_id);
        f
    }
}

/// `YYYY-MM-DD` of a day count (proleptic Gregorian; H. Hinnant's
/// `civil_from_days`).
pub fn format_day(days: i32) -> String {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The day count of `YYYY-MM-DD` (years 0000-9999), strictly: a real date
/// of exactly ten characters (`days_from_civil`).
pub fn parse_day(s: &str) -> Result<i32, String> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let bad = || format!("{s:?} is not a date (expected YYYY-MM-DD)");
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(bad());
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return Err(format!("{s:?} is not a real calendar date"));
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) as i32)
}

/// A typed decode being laid out: its strings in one buffer, their places
/// as offsets, until [`DecodeOut::place`] writes them into the host's
/// output and makes the offsets pointers.
#[derive(Debug, Default)]
pub struct DecodeOut {
    bytes: Vec<u8>,
    /// Offsets and lengths in `bytes` of format, reason, product, edition,
    /// customer_id, customer_name, order_id, host_id.
    spans: [(usize, usize); 8],
    features: Vec<(usize, usize)>,
    result: KcValidation,
}

const ALIGN: usize = std::mem::align_of::<KcStr>();
const STR: usize = std::mem::size_of::<KcStr>();

impl DecodeOut {
    /// An empty answer (verdict valid, nothing carried).
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, s: &str) -> (usize, usize) {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(s.as_bytes());
        (at, s.len())
    }

    /// Sets the answer to `d`, copying its strings.
    pub fn set(&mut self, d: &TypedDecode<'_>) {
        self.bytes.clear();
        self.features.clear();
        self.spans = [(0, 0); 8];
        let mut r = KcValidation {
            verdict: d.verdict,
            carried: d.carried,
            ..KcValidation::default()
        };
        if let Some(f) = d.format {
            r.flags |= KC_RESULT_FORMAT;
            self.spans[0] = self.push(f);
        }
        if let Some(reason) = d.reason {
            r.flags |= KC_RESULT_REASON;
            self.spans[1] = self.push(reason);
        }
        let c = d.carried;
        let e = &d.fields;
        let out = &mut r.decoded;
        let mut has = c & KC_HAS_REQUIRED;
        if c & KC_HAS_PRODUCT != 0 {
            self.spans[2] = self.push(e.product);
        }
        if c & KC_HAS_EDITION != 0 {
            self.spans[3] = self.push(e.edition);
        }
        if c & KC_HAS_MAX_MAJOR != 0 {
            out.max_major = e.max_major;
        }
        if c & KC_HAS_FEATURES != 0 {
            for f in &e.features {
                let span = self.push(f);
                self.features.push(span);
            }
        }
        if c & KC_HAS_SEATS != 0
            && let Some(s) = e.seats
        {
            has |= KC_HAS_SEATS;
            out.seats = s;
        }
        if c & KC_HAS_ISSUED != 0 {
            out.issued = e.issued;
        }
        if c & KC_HAS_EXPIRES != 0
            && let Some(x) = e.expires
        {
            has |= KC_HAS_EXPIRES;
            out.expires = x;
        }
        if c & KC_HAS_MAINTENANCE_UNTIL != 0
            && let Some(x) = e.maintenance_until
        {
            has |= KC_HAS_MAINTENANCE_UNTIL;
            out.maintenance_until = x;
        }
        if c & KC_HAS_SERIAL != 0 {
            out.serial = e.serial;
        }
        if c & KC_HAS_CUSTOMER != 0
            && let Some((id, name)) = e.customer
        {
            has |= KC_HAS_CUSTOMER;
            self.spans[4] = self.push(id);
            self.spans[5] = self.push(name);
        }
        if c & KC_HAS_ORDER_ID != 0
            && let Some(o) = e.order_id
        {
            has |= KC_HAS_ORDER_ID;
            self.spans[6] = self.push(o);
        }
        if c & KC_HAS_HOST_ID != 0
            && let Some(h) = e.host_id
        {
            has |= KC_HAS_HOST_ID;
            self.spans[7] = self.push(h);
        }
        out.has = has;
        self.result = r;
    }

    /// The most bytes [`DecodeOut::place`] needs, wherever it writes.
    pub fn needed(&self) -> usize {
        let array = self.features.len() * STR;
        self.bytes.len() + if array > 0 { ALIGN - 1 + array } else { 0 }
    }

    /// Writes the strings and the features array at `out[at..]` and returns
    /// the result with pointers into them and the bytes used; `Err(needed)`
    /// when `room` bytes are not enough.
    ///
    /// # Safety
    /// `out` must have `at + room` writable bytes.
    pub unsafe fn place(
        &self,
        out: *mut u8,
        at: usize,
        room: usize,
    ) -> Result<(KcValidation, usize), usize> {
        if self.needed() > room {
            return Err(self.needed());
        }
        // SAFETY: `at + room` bytes are writable and `needed() <= room`.
        let base = unsafe { out.add(at) };
        if !self.bytes.is_empty() {
            // SAFETY: as above.
            unsafe { std::ptr::copy_nonoverlapping(self.bytes.as_ptr(), base, self.bytes.len()) };
        }
        // SAFETY: offsets stay within the bytes just written.
        let ptr = |(off, len): (usize, usize)| KcStr {
            ptr: if len == 0 {
                std::ptr::null()
            } else {
                unsafe { base.add(off) }
            },
            len,
        };
        let mut r = self.result;
        r.format = ptr(self.spans[0]);
        r.reason = ptr(self.spans[1]);
        r.decoded.product = ptr(self.spans[2]);
        r.decoded.edition = ptr(self.spans[3]);
        r.decoded.customer_id = ptr(self.spans[4]);
        r.decoded.customer_name = ptr(self.spans[5]);
        r.decoded.order_id = ptr(self.spans[6]);
        r.decoded.host_id = ptr(self.spans[7]);
        let mut used = self.bytes.len();
        if !self.features.is_empty() {
            // SAFETY: `used` is within the written bytes.
            let pad = unsafe { base.add(used) }.align_offset(ALIGN);
            used += pad;
            // SAFETY: `needed()` counted `ALIGN - 1 + n * STR` bytes more,
            // and `base + used` is aligned for `KcStr`.
            let array = unsafe { base.add(used) }.cast::<KcStr>();
            for (i, span) in self.features.iter().enumerate() {
                // SAFETY: as above, entry `i < n`.
                unsafe { array.add(i).write(ptr(*span)) };
            }
            used += self.features.len() * STR;
            r.decoded.features = array;
            r.decoded.n_features = self.features.len();
        }
        Ok((r, used))
    }
}

/// A decode read back from text, owning its strings: what the default
/// [`Plugin::validate_typed`](crate::Plugin::validate_typed) builds from a
/// text-only plugin's answer.
#[derive(Debug, Default)]
pub(crate) struct OwnedDecode {
    verdict: i32,
    format: Option<String>,
    reason: Option<String>,
    carried: u32,
    strings: [Option<String>; 6],
    features: Vec<String>,
    max_major: u8,
    seats: Option<u32>,
    issued: i32,
    expires: Option<i32>,
    maintenance_until: Option<i32>,
    serial: u32,
}

fn number<T: std::str::FromStr>(key: &str, v: Option<&str>) -> Result<T, String> {
    let s = v.ok_or_else(|| format!("{key} cannot be null"))?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{key}: {s:?} is not a decimal number"));
    }
    s.parse().map_err(|_| format!("{key}: {s} is out of range"))
}

impl OwnedDecode {
    /// Reads DECODE text (as a text-only plugin writes it).
    pub(crate) fn from_text(text: &str) -> Result<Self, String> {
        let records = wire::parse_records(text)?;
        let verdict = match (records[0].key, records[0].value) {
            ("verdict", Some(v)) => KC_VERDICT_NAMES
                .iter()
                .position(|n| *n == v)
                .ok_or_else(|| format!("unknown verdict {v:?}"))?
                as i32,
            _ => return Err("the first decode line is not the verdict".into()),
        };
        let mut d = OwnedDecode {
            verdict,
            ..OwnedDecode::default()
        };
        for r in &records[1..] {
            // A list escapes ',' too: `split_list` reads it raw.
            let value = match r.key {
                "features" => None,
                _ => r.value.map(wire::unescape).transpose()?,
            };
            let v = value.as_deref();
            let day_of = |key: &str| -> Result<i32, String> {
                parse_day(v.ok_or_else(|| format!("{key} cannot be null"))?)
                    .map_err(|e| format!("{key}: {e}"))
            };
            let bit = match r.key {
                "format" => {
                    d.format = value.clone();
                    0
                }
                "reason" => {
                    d.reason = value.clone();
                    0
                }
                "product" => {
                    d.strings[0] = value.clone();
                    KC_HAS_PRODUCT
                }
                "edition" => {
                    d.strings[1] = value.clone();
                    KC_HAS_EDITION
                }
                "max_major" => {
                    d.max_major = number("max_major", v)?;
                    KC_HAS_MAX_MAJOR
                }
                "features" => {
                    let raw = r.value.ok_or("features cannot be null")?;
                    d.features = wire::split_list(raw)?;
                    KC_HAS_FEATURES
                }
                "seats" => {
                    d.seats = v.map(|_| number("seats", v)).transpose()?;
                    KC_HAS_SEATS
                }
                "issued" => {
                    d.issued = day_of("issued")?;
                    KC_HAS_ISSUED
                }
                "expires" => {
                    d.expires = v.map(|_| day_of("expires")).transpose()?;
                    KC_HAS_EXPIRES
                }
                "maintenance_until" => {
                    d.maintenance_until = v.map(|_| day_of("maintenance_until")).transpose()?;
                    KC_HAS_MAINTENANCE_UNTIL
                }
                "serial" => {
                    d.serial = number("serial", v)?;
                    KC_HAS_SERIAL
                }
                "customer_id" => {
                    d.strings[2] = value.clone();
                    KC_HAS_CUSTOMER
                }
                "customer_name" => {
                    d.strings[3] = value.clone();
                    KC_HAS_CUSTOMER
                }
                "order_id" => {
                    d.strings[4] = value.clone();
                    KC_HAS_ORDER_ID
                }
                "host_id" => {
                    d.strings[5] = value.clone();
                    KC_HAS_HOST_ID
                }
                other => return Err(format!("unknown decode field {other:?}")),
            };
            d.carried |= bit;
        }
        Ok(d)
    }

    /// Borrows it as the typed answer.
    pub(crate) fn as_typed(&self) -> TypedDecode<'_> {
        let s = |i: usize| self.strings[i].as_deref();
        TypedDecode {
            verdict: self.verdict,
            format: self.format.as_deref(),
            reason: self.reason.as_deref(),
            carried: self.carried,
            fields: TypedEntitlement {
                product: s(0).unwrap_or_default(),
                edition: s(1).unwrap_or_default(),
                max_major: self.max_major,
                features: self.features.iter().map(String::as_str).collect(),
                seats: self.seats,
                issued: self.issued,
                expires: self.expires,
                maintenance_until: self.maintenance_until,
                serial: self.serial,
                customer: s(2).zip(s(3)),
                order_id: s(4),
                host_id: s(5),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_through_text() {
        for (text, days) in [
            ("1970-01-01", 0),
            ("1969-12-31", -1),
            ("2000-03-01", 11_017),
            ("0000-01-01", KC_DAY_MIN),
            ("9999-12-31", KC_DAY_MAX),
            ("2028-02-29", 21_243),
        ] {
            assert_eq!(parse_day(text), Ok(days), "{text}");
            assert_eq!(format_day(days), text);
        }
        for bad in ["2027-02-29", "2027-13-01", "2027-1-01", "20270101xx"] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decodes_are_placed_with_aligned_features() {
        let mut out = DecodeOut::new();
        out.set(&TypedDecode {
            verdict: 0,
            format: Some("acme-lk1"),
            reason: None,
            carried: KC_HAS_REQUIRED | KC_HAS_HOST_ID,
            fields: TypedEntitlement {
                product: "acme-cad",
                edition: "standard",
                features: vec!["a", "bc"],
                ..TypedEntitlement::default()
            },
        });
        let mut buf = vec![0u8; 128];
        for at in 0..9 {
            // SAFETY: `buf` has `at + (128 - at)` bytes.
            let (r, used) = unsafe { out.place(buf.as_mut_ptr(), at, 128 - at) }.unwrap();
            assert!(used <= out.needed());
            assert_eq!(r.decoded.n_features, 2);
            assert_eq!(r.decoded.features.align_offset(ALIGN), 0);
            assert_eq!(r.decoded.has, KC_HAS_REQUIRED);
            assert_eq!(r.flags, KC_RESULT_FORMAT);
        }
        // SAFETY: as above.
        assert!(unsafe { out.place(buf.as_mut_ptr(), 0, 3) }.is_err());
    }
}
