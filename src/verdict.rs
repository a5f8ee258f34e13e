//! What a validator is told (the [`Context`]) and what it answers (a
//! [`Validation`]: a [`Verdict`] and, when the key decoded, a [`Decoded`]
//! entitlement).
//!
//! A decode carries only the fields its format carries; the outer `Option` of
//! each [`Decoded`] field says whether the field is carried at all, so
//! comparisons skip what one side cannot know instead of calling it drift.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::date::Day;
use crate::entitlement::{Customer, CustomerRef, Entitlement};

/// A product version, `MAJOR.MINOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl Version {
    /// Parses `MAJOR.MINOR` (decimal digits only).
    pub fn parse(s: &str) -> Result<Self, String> {
        let num = |p: &str| -> Option<u32> {
            (!p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        };
        s.split_once('.')
            .and_then(|(a, b)| {
                Some(Version {
                    major: num(a)?,
                    minor: num(b)?,
                })
            })
            .ok_or_else(|| format!("{s:?} is not a version (expected MAJOR.MINOR, e.g. 7.0)"))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Version::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// What a validator is told: never read from the machine, so results reproduce.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Slug of the running product.
    pub product: String,
    /// Version of the running product.
    pub version: Version,
    /// Today's date (UTC).
    pub today: Day,
    /// The machine's host id, if any.
    #[serde(default)]
    pub host_id: Option<String>,
}

impl Context {
    /// The context borrowed.
    pub fn view(&self) -> ContextRef<'_> {
        ContextRef {
            product: &self.product,
            version: self.version,
            today: self.today,
            host_id: self.host_id.as_deref(),
        }
    }
}

/// A [`Context`] borrowed (a plugin's typed input, read without copying).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextRef<'a> {
    /// Slug of the running product.
    pub product: &'a str,
    /// Version of the running product.
    pub version: Version,
    /// Today's date (UTC).
    pub today: Day,
    /// The machine's host id, if any.
    pub host_id: Option<&'a str>,
}

impl ContextRef<'_> {
    /// The context, owned.
    pub fn to_context(&self) -> Context {
        Context {
            product: self.product.to_string(),
            version: self.version,
            today: self.today,
            host_id: self.host_id.map(String::from),
        }
    }
}

/// A validator's answer (SCHEMES.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The key is valid in this context.
    Valid,
    /// The key is not well-formed.
    Malformed,
    /// The key's MAC or signature does not verify.
    BadSignature,
    /// A format version or signing key the validator does not support.
    UnsupportedFormat,
    /// The key is for another product.
    WrongProduct,
    /// The running major version is above the key's `max_major`.
    VersionNotCovered,
    /// Today is after the key's last valid day.
    Expired,
    /// The key is node-locked to another host.
    HostMismatch,
}

impl Verdict {
    /// Every verdict, in SCHEMES.md's order.
    pub const ALL: [Verdict; 8] = [
        Verdict::Valid,
        Verdict::Malformed,
        Verdict::BadSignature,
        Verdict::UnsupportedFormat,
        Verdict::WrongProduct,
        Verdict::VersionNotCovered,
        Verdict::Expired,
        Verdict::HostMismatch,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Malformed => "malformed",
            Verdict::BadSignature => "bad_signature",
            Verdict::UnsupportedFormat => "unsupported_format",
            Verdict::WrongProduct => "wrong_product",
            Verdict::VersionNotCovered => "version_not_covered",
            Verdict::Expired => "expired",
            Verdict::HostMismatch => "host_mismatch",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the key itself decoded (the verdict came from a context check).
    pub fn decodes(self) -> bool {
        matches!(
            self,
            Verdict::Valid
                | Verdict::WrongProduct
                | Verdict::VersionNotCovered
                | Verdict::Expired
                | Verdict::HostMismatch
        )
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entitlement field, as comparisons name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// `product`
    Product,
    /// `edition`
    Edition,
    /// `max_major`
    MaxMajor,
    /// `features`
    Features,
    /// `seats`
    Seats,
    /// `issued`
    Issued,
    /// `expires`
    Expires,
    /// `maintenance_until`
    MaintenanceUntil,
    /// `serial`
    Serial,
    /// `customer`
    Customer,
    /// `order_id`
    OrderId,
    /// `host_id`
    HostId,
}

impl Field {
    /// The canonical JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Product => "product",
            Field::Edition => "edition",
            Field::MaxMajor => "max_major",
            Field::Features => "features",
            Field::Seats => "seats",
            Field::Issued => "issued",
            Field::Expires => "expires",
            Field::MaintenanceUntil => "maintenance_until",
            Field::Serial => "serial",
            Field::Customer => "customer",
            Field::OrderId => "order_id",
            Field::HostId => "host_id",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decoded entitlement. The outer `Option` of each field is whether the
/// key's format carries it; the inner one (where present) is null.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decoded {
    /// Product slug (an unknown legacy id decodes as `legacy-id-N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Edition name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    /// Highest major version covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_major: Option<u8>,
    /// Features, including names the validator does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<BTreeSet<String>>,
    /// Seats (`Some(None)` is unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub seats: Option<Option<u32>>,
    /// Day of issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<Day>,
    /// Last valid day (`Some(None)` is perpetual).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub expires: Option<Option<Day>>,
    /// Last day of maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub maintenance_until: Option<Option<Day>>,
    /// Serial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<u32>,
    /// Customer.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub customer: Option<Option<Customer>>,
    /// Order id.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub order_id: Option<Option<String>>,
    /// Node lock.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub host_id: Option<Option<String>>,
}

/// Serde for `Option<Option<T>>`: absent = not carried, `null` = carried and null.
mod nullable {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// One field on which two sides disagree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldDiff {
    /// The field.
    pub field: Field,
    /// The expected value (canonical JSON).
    pub expected: String,
    /// The value found (canonical JSON).
    pub found: String,
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("decoded values always serialize")
}

/// Two renderings of differing values, escaped (`\u00eb`) where they would
/// look alike: the same text in another Unicode normalisation (NFD against
/// NFC), or look-alike letters (a Cyrillic `а` for a Latin `a`). Printed as
/// they are, "found Zoë (expected Zoë)" would show no difference at all.
fn visible(expected: String, found: String) -> (String, String) {
    use unicode_normalization::UnicodeNormalization;
    let same_places = expected.chars().count() == found.chars().count()
        && expected
            .chars()
            .zip(found.chars())
            .all(|(x, y)| x == y || !x.is_ascii() || !y.is_ascii());
    let alike = expected != found && (same_places || expected.nfc().eq(found.nfc()));
    if !alike {
        return (expected, found);
    }
    let escape = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out
    };
    (escape(&expected), escape(&found))
}

impl Decoded {
    /// Everything carried: the decode of a format that carries every field.
    pub fn from_entitlement(e: &Entitlement) -> Self {
        Decoded {
            product: Some(e.product.clone()),
            edition: Some(e.edition.clone()),
            max_major: Some(e.max_major),
            features: Some(e.features.clone()),
            seats: Some(e.seats),
            issued: Some(e.issued),
            expires: Some(e.expires),
            maintenance_until: Some(e.maintenance_until),
            serial: Some(e.serial),
            customer: Some(e.customer.clone()),
            order_id: Some(e.order_id.clone()),
            host_id: Some(e.host_id.clone()),
        }
    }

    /// The fields this decode carries.
    pub fn carried(&self) -> BTreeSet<Field> {
        let mut s = BTreeSet::new();
        let mut add = |carried: bool, f| {
            if carried {
                s.insert(f);
            }
        };
        add(self.product.is_some(), Field::Product);
        add(self.edition.is_some(), Field::Edition);
        add(self.max_major.is_some(), Field::MaxMajor);
        add(self.features.is_some(), Field::Features);
        add(self.seats.is_some(), Field::Seats);
        add(self.issued.is_some(), Field::Issued);
        add(self.expires.is_some(), Field::Expires);
        add(self.maintenance_until.is_some(), Field::MaintenanceUntil);
        add(self.serial.is_some(), Field::Serial);
        add(self.customer.is_some(), Field::Customer);
        add(self.order_id.is_some(), Field::OrderId);
        add(self.host_id.is_some(), Field::HostId);
        s
    }

    /// Field-by-field differences over the fields both decodes carry.
    /// `features_filter`, when given, restricts the feature comparison to the
    /// features a release knows.
    pub fn diff(
        &self,
        other: &Decoded,
        features_filter: Option<&BTreeSet<String>>,
    ) -> Vec<FieldDiff> {
        let mut out = Vec::new();
        fn cmp<T: PartialEq + Serialize>(
            out: &mut Vec<FieldDiff>,
            field: Field,
            a: &Option<T>,
            b: &Option<T>,
        ) {
            if let (Some(a), Some(b)) = (a, b)
                && a != b
            {
                let (expected, found) = visible(json(a), json(b));
                out.push(FieldDiff {
                    field,
                    expected,
                    found,
                });
            }
        }
        cmp(&mut out, Field::Product, &self.product, &other.product);
        cmp(&mut out, Field::Edition, &self.edition, &other.edition);
        cmp(&mut out, Field::MaxMajor, &self.max_major, &other.max_major);
        let filter = |f: &Option<BTreeSet<String>>| {
            f.as_ref().map(|set| match features_filter {
                Some(known) => set.intersection(known).cloned().collect(),
                None => set.clone(),
            })
        };
        cmp(
            &mut out,
            Field::Features,
            &filter(&self.features),
            &filter(&other.features),
        );
        cmp(&mut out, Field::Seats, &self.seats, &other.seats);
        cmp(&mut out, Field::Issued, &self.issued, &other.issued);
        cmp(&mut out, Field::Expires, &self.expires, &other.expires);
        cmp(
            &mut out,
            Field::MaintenanceUntil,
            &self.maintenance_until,
            &other.maintenance_until,
        );
        cmp(&mut out, Field::Serial, &self.serial, &other.serial);
        cmp(&mut out, Field::Customer, &self.customer, &other.customer);
        cmp(&mut out, Field::OrderId, &self.order_id, &other.order_id);
        cmp(&mut out, Field::HostId, &self.host_id, &other.host_id);
        out
    }
}

impl Decoded {
    /// Sets field `f` as `from` has it (carried or not).
    pub fn copy_field(&mut self, from: &Decoded, f: Field) {
        match f {
            Field::Product => self.product.clone_from(&from.product),
            Field::Edition => self.edition.clone_from(&from.edition),
            Field::MaxMajor => self.max_major = from.max_major,
            Field::Features => self.features.clone_from(&from.features),
            Field::Seats => self.seats = from.seats,
            Field::Issued => self.issued = from.issued,
            Field::Expires => self.expires = from.expires,
            Field::MaintenanceUntil => self.maintenance_until = from.maintenance_until,
            Field::Serial => self.serial = from.serial,
            Field::Customer => self.customer.clone_from(&from.customer),
            Field::OrderId => self.order_id.clone_from(&from.order_id),
            Field::HostId => self.host_id.clone_from(&from.host_id),
        }
    }

    /// Whether `self` (a decode) grants more than `expected` on a field both
    /// carry: a dropped node lock, more or unlimited seats, a later or no
    /// expiry, a higher version, an extra feature. Such drift is a leak: the
    /// customer gets more than was sold.
    pub fn grants_more_than(
        &self,
        expected: &Decoded,
        known_features: Option<&BTreeSet<String>>,
    ) -> bool {
        let more_seats = match (&expected.seats, &self.seats) {
            (Some(Some(want)), Some(got)) => got.is_none_or(|g| g > *want),
            _ => false,
        };
        let later_expiry = match (&expected.expires, &self.expires) {
            (Some(Some(want)), Some(got)) => got.is_none_or(|g| g > *want),
            _ => false,
        };
        let higher_version =
            matches!((expected.max_major, self.max_major), (Some(want), Some(got)) if got > want);
        let lock_dropped = matches!(
            (&expected.host_id, &self.host_id),
            (Some(Some(_)), Some(None))
        );
        let extra_feature = match (&expected.features, &self.features) {
            (Some(want), Some(got)) => got
                .iter()
                .filter(|f| known_features.is_none_or(|k| k.contains(*f)))
                .any(|f| !want.contains(f)),
            _ => false,
        };
        more_seats || later_expiry || higher_version || lock_dropped || extra_feature
    }
}

/// A validator's full answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Validation {
    /// The verdict.
    pub verdict: Verdict,
    /// The key format the validator recognised, e.g. `acme-lk1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// A human-readable reason, for rejections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The decoded entitlement, when the key decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Decoded>,
}

impl Validation {
    /// A rejection without a decode.
    pub fn reject(verdict: Verdict, format: Option<&str>, reason: impl Into<String>) -> Self {
        Validation {
            verdict,
            format: format.map(String::from),
            reason: Some(reason.into()),
            decoded: None,
        }
    }
}

impl Validation {
    /// The validation borrowed.
    pub fn view(&self) -> ValidationRef<'_> {
        ValidationRef {
            verdict: self.verdict,
            format: self.format.as_deref(),
            reason: self.reason.as_deref().map(Cow::Borrowed),
            decoded: self.decoded.as_ref().map(Decoded::view),
        }
    }
}

/// A validator's answer borrowing its strings from wherever they live (a
/// codec's names, the key's bytes): what a plugin writes into the host's
/// buffer without building a [`Validation`] first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationRef<'a> {
    /// The verdict.
    pub verdict: Verdict,
    /// The key format the validator recognised.
    pub format: Option<&'a str>,
    /// A human-readable reason, for rejections.
    pub reason: Option<Cow<'a, str>>,
    /// The decoded entitlement, when the key decoded.
    pub decoded: Option<DecodedRef<'a>>,
}

impl<'a> ValidationRef<'a> {
    /// A rejection without a decode.
    pub fn reject(
        verdict: Verdict,
        format: Option<&'a str>,
        reason: impl Into<Cow<'a, str>>,
    ) -> Self {
        ValidationRef {
            verdict,
            format,
            reason: Some(reason.into()),
            decoded: None,
        }
    }

    /// The validation, owned.
    pub fn to_validation(&self) -> Validation {
        Validation {
            verdict: self.verdict,
            format: self.format.map(String::from),
            reason: self.reason.as_deref().map(String::from),
            decoded: self.decoded.as_ref().map(DecodedRef::to_decoded),
        }
    }
}

/// A [`Decoded`] borrowing its strings; `features` in any order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedRef<'a> {
    /// Product slug.
    pub product: Option<&'a str>,
    /// Edition name.
    pub edition: Option<&'a str>,
    /// Highest major version covered.
    pub max_major: Option<u8>,
    /// Features.
    pub features: Option<Vec<&'a str>>,
    /// Seats (`Some(None)` is unlimited).
    pub seats: Option<Option<u32>>,
    /// Day of issue.
    pub issued: Option<Day>,
    /// Last valid day (`Some(None)` is perpetual).
    pub expires: Option<Option<Day>>,
    /// Last day of maintenance.
    pub maintenance_until: Option<Option<Day>>,
    /// Serial.
    pub serial: Option<u32>,
    /// Customer.
    pub customer: Option<Option<CustomerRef<'a>>>,
    /// Order id.
    pub order_id: Option<Option<&'a str>>,
    /// Node lock.
    pub host_id: Option<Option<&'a str>>,
}

impl Decoded {
    /// The decode borrowed.
    pub fn view(&self) -> DecodedRef<'_> {
        DecodedRef {
            product: self.product.as_deref(),
            edition: self.edition.as_deref(),
            max_major: self.max_major,
            features: self
                .features
                .as_ref()
                .map(|f| f.iter().map(String::as_str).collect()),
            seats: self.seats,
            issued: self.issued,
            expires: self.expires,
            maintenance_until: self.maintenance_until,
            serial: self.serial,
            customer: self.customer.as_ref().map(|c| {
                c.as_ref().map(|c| CustomerRef {
                    id: &c.id,
                    name: &c.name,
                })
            }),
            order_id: self.order_id.as_ref().map(Option::as_deref),
            host_id: self.host_id.as_ref().map(Option::as_deref),
        }
    }
}

impl DecodedRef<'_> {
    /// The decode, owned.
    pub fn to_decoded(&self) -> Decoded {
        Decoded {
            product: self.product.map(String::from),
            edition: self.edition.map(String::from),
            max_major: self.max_major,
            features: self
                .features
                .as_ref()
                .map(|f| f.iter().map(|s| s.to_string()).collect()),
            seats: self.seats,
            issued: self.issued,
            expires: self.expires,
            maintenance_until: self.maintenance_until,
            serial: self.serial,
            customer: self.customer.map(|c| {
                c.map(|c| Customer {
                    id: c.id.to_string(),
                    name: c.name.to_string(),
                })
            }),
            order_id: self.order_id.map(|o| o.map(String::from)),
            host_id: self.host_id.map(|h| h.map(String::from)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validations_borrowed_and_owned_again_are_unchanged() {
        let e = Entitlement::from_json(r#"{"product":"acme-cad","edition":"professional","max_major":7,"features":["export-dwg","render-gpu"],"seats":null,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":{"id":"C-000042","name":"Zoë Müller GmbH"},"order_id":"SO-1001","host_id":null}"#).unwrap();
        let full = Validation {
            verdict: Verdict::Expired,
            format: Some("acme-ed1".into()),
            reason: Some("expired after 2027-12-31".into()),
            decoded: Some(Decoded::from_entitlement(&e)),
        };
        let partial = Validation {
            decoded: Some(Decoded {
                product: Some("acme-cad".into()),
                features: Some(BTreeSet::new()),
                ..Decoded::default()
            }),
            ..Validation::reject(Verdict::Malformed, None, "no")
        };
        for v in [full, partial] {
            assert_eq!(v.view().to_validation(), v);
        }
    }

    #[test]
    fn versions_parse_strictly() {
        assert_eq!(
            Version::parse("7.0").unwrap(),
            Version { major: 7, minor: 0 }
        );
        for bad in ["7", "7.0.1", "v7.0", "7.", ".0", "-1.0", "7.0 "] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn differences_that_look_alike_are_shown_escaped_and_others_as_they_are() {
        let named = |name: &str| Decoded {
            order_id: Some(Some(name.to_string())),
            ..Decoded::default()
        };
        let shown = |a: &str, b: &str| {
            let d = named(a).diff(&named(b), None).remove(0);
            (d.expected, d.found)
        };
        // NFC against NFD, and a Cyrillic a for a Latin one.
        assert_eq!(
            shown("Zo\u{eb}", "Zoe\u{308}"),
            (r#""Zo\u00eb""#.into(), r#""Zoe\u0308""#.into())
        );
        assert_eq!(
            shown("acme", "\u{430}cme"),
            (r#""acme""#.into(), r#""\u0430cme""#.into())
        );
        // Plainly different text is shown as it is.
        assert_eq!(
            shown("株式会社", "株式会社テスト"),
            (r#""株式会社""#.into(), r#""株式会社テスト""#.into())
        );
    }

    #[test]
    fn diff_skips_fields_one_side_does_not_carry() {
        let full = Decoded {
            product: Some("acme-cad".into()),
            customer: Some(None),
            features: Some(["a".to_string(), "b".to_string()].into()),
            ..Decoded::default()
        };
        let lk1 = Decoded {
            product: Some("acme-cad".into()),
            features: Some(["a".to_string()].into()),
            ..Decoded::default()
        };
        let d = full.diff(&lk1, None);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, Field::Features);
        let known: BTreeSet<String> = ["a".to_string()].into();
        assert!(full.diff(&lk1, Some(&known)).is_empty());
    }

    #[test]
    fn granting_more_is_recognised() {
        let want = Decoded {
            seats: Some(Some(1500)),
            host_id: Some(Some("H".into())),
            expires: Some(Some(Day::parse("2027-12-31").unwrap())),
            ..Decoded::default()
        };
        let fewer = Decoded {
            seats: Some(Some(476)),
            ..want.clone()
        };
        assert!(!fewer.grants_more_than(&want, None));
        for more in [
            Decoded {
                seats: Some(None),
                ..want.clone()
            },
            Decoded {
                host_id: Some(None),
                ..want.clone()
            },
            Decoded {
                expires: Some(Some(Day::parse("2028-01-01").unwrap())),
                ..want.clone()
            },
        ] {
            assert!(more.grants_more_than(&want, None), "{more:?}");
        }
    }

    #[test]
    fn decoded_json_distinguishes_null_from_not_carried() {
        let d = Decoded {
            expires: Some(None),
            ..Decoded::default()
        };
        let text = serde_json::to_string(&d).unwrap();
        assert_eq!(text, r#"{"expires":null}"#);
        assert_eq!(serde_json::from_str::<Decoded>(&text).unwrap(), d);
    }
}
