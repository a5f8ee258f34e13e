//! The entitlement: what a license grants, in the canonical form of SCHEMES.md.
//!
//! Every generator takes an [`Entitlement`] and every validator decodes into a
//! [`Decoded`](crate::verdict::Decoded). The canonical JSON form (all fields
//! always present, features sorted by byte order) is what `keycompat generate`
//! reads and what reports print. [`Entitlement::check`] rejects what no system
//! should ever be asked to issue, naming the field. [`EntitlementRef`] is an
//! entitlement borrowed: generators encode from it, so that a plugin's typed
//! input (ABI 1.2) is checked and encoded without being copied.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::is_nfc;

use crate::catalog::Catalog;
use crate::date::Day;

/// The customer a license was sold to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// Customer id, e.g. `C-000042`.
    pub id: String,
    /// Display name, Unicode NFC.
    pub name: String,
}

/// The fields of an [`Entitlement`], as its canonical JSON names them (what
/// a generator's refusal may name).
pub const FIELDS: [&str; 12] = [
    "product",
    "edition",
    "max_major",
    "features",
    "seats",
    "issued",
    "expires",
    "maintenance_until",
    "serial",
    "customer",
    "order_id",
    "host_id",
];

/// What a license grants (SCHEMES.md, "Entitlement: the canonical JSON form").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entitlement {
    /// Product slug.
    pub product: String,
    /// Edition name.
    pub edition: String,
    /// Highest major version covered, inclusive.
    pub max_major: u8,
    /// Granted features (a set; byte order).
    #[serde(default)]
    pub features: BTreeSet<String>,
    /// Seats; `None` is unlimited.
    #[serde(default)]
    pub seats: Option<u32>,
    /// Day of issue.
    pub issued: Day,
    /// Last valid day; `None` is perpetual.
    #[serde(default)]
    pub expires: Option<Day>,
    /// Last day of maintenance; `None` is none.
    #[serde(default)]
    pub maintenance_until: Option<Day>,
    /// Serial number.
    pub serial: u32,
    /// Customer.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// Order id.
    #[serde(default)]
    pub order_id: Option<String>,
    /// Node lock; `None` is not node-locked.
    #[serde(default)]
    pub host_id: Option<String>,
}

/// An entitlement that no system should be asked to issue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidEntitlement {
    /// The canonical field name, e.g. `seats` or `customer.name`.
    pub field: &'static str,
    /// What is wrong, and what would be right.
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidEntitlement {
    InvalidEntitlement {
        field,
        message: message.into(),
    }
}

/// The longest string field keycompat accepts (bytes).
pub const MAX_STRING_BYTES: usize = 1024;

impl Entitlement {
    /// Parses one canonical JSON entitlement (not yet checked).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The canonical JSON form: compact, all fields present.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an entitlement always serializes")
    }

    /// Checks the entitlement against the catalog and the rules of the model.
    pub fn check(&self, catalog: &Catalog) -> Result<(), InvalidEntitlement> {
        self.view().check(catalog)
    }

    /// The entitlement borrowed, for the generators' and checks' common
    /// code.
    pub fn view(&self) -> EntitlementRef<'_> {
        EntitlementRef {
            product: &self.product,
            edition: &self.edition,
            max_major: self.max_major,
            features: Features::Set(&self.features),
            seats: self.seats,
            issued: self.issued,
            expires: self.expires,
            maintenance_until: self.maintenance_until,
            serial: self.serial,
            customer: self.customer.as_ref().map(|c| CustomerRef {
                id: &c.id,
                name: &c.name,
            }),
            order_id: self.order_id.as_deref(),
            host_id: self.host_id.as_deref(),
        }
    }
}

/// An entitlement borrowed from wherever it lives: an [`Entitlement`]
/// ([`Entitlement::view`]) or a plugin's typed input (ABI 1.2), so that a
/// generator checks and encodes it without copying its strings.
#[derive(Debug, Clone, Copy)]
pub struct EntitlementRef<'a> {
    /// Product slug.
    pub product: &'a str,
    /// Edition name.
    pub edition: &'a str,
    /// Highest major version covered, inclusive.
    pub max_major: u8,
    /// Granted features.
    pub features: Features<'a>,
    /// Seats; `None` is unlimited.
    pub seats: Option<u32>,
    /// Day of issue.
    pub issued: Day,
    /// Last valid day; `None` is perpetual.
    pub expires: Option<Day>,
    /// Last day of maintenance; `None` is none.
    pub maintenance_until: Option<Day>,
    /// Serial number.
    pub serial: u32,
    /// Customer.
    pub customer: Option<CustomerRef<'a>>,
    /// Order id.
    pub order_id: Option<&'a str>,
    /// Node lock; `None` is not node-locked.
    pub host_id: Option<&'a str>,
}

/// A [`Customer`] borrowed; serializes as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CustomerRef<'a> {
    /// Customer id.
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
}

/// Feature slugs in byte order without duplicates, borrowed; serializes as
/// a sequence.
#[derive(Debug, Clone, Copy)]
pub enum Features<'a> {
    /// An [`Entitlement`]'s set.
    Set(&'a BTreeSet<String>),
    /// Slugs already in byte order without duplicates ([`Features::sorted`]).
    Sorted(&'a [&'a str]),
}

impl<'a> Features<'a> {
    /// `slugs` as features, if they are in byte order without duplicates.
    pub fn sorted(slugs: &'a [&'a str]) -> Option<Self> {
        slugs
            .windows(2)
            .all(|w| w[0] < w[1])
            .then_some(Features::Sorted(slugs))
    }

    /// The slugs, in byte order.
    pub fn iter(&self) -> FeatureIter<'a> {
        match *self {
            Features::Set(set) => FeatureIter::Set(set.iter()),
            Features::Sorted(slugs) => FeatureIter::Sorted(slugs.iter()),
        }
    }
}

impl Serialize for Features<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// The iterator of [`Features::iter`].
#[derive(Debug, Clone)]
pub enum FeatureIter<'a> {
    /// Over a set.
    Set(std::collections::btree_set::Iter<'a, String>),
    /// Over sorted slugs.
    Sorted(std::slice::Iter<'a, &'a str>),
}

impl<'a> Iterator for FeatureIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        match self {
            FeatureIter::Set(it) => it.next().map(String::as_str),
            FeatureIter::Sorted(it) => it.next().copied(),
        }
    }
}

impl EntitlementRef<'_> {
    /// The entitlement, owned.
    pub fn to_entitlement(&self) -> Entitlement {
        Entitlement {
            product: self.product.to_string(),
            edition: self.edition.to_string(),
            max_major: self.max_major,
            features: self.features.iter().map(String::from).collect(),
            seats: self.seats,
            issued: self.issued,
            expires: self.expires,
            maintenance_until: self.maintenance_until,
            serial: self.serial,
            customer: self.customer.map(|c| Customer {
                id: c.id.to_string(),
                name: c.name.to_string(),
            }),
            order_id: self.order_id.map(String::from),
            host_id: self.host_id.map(String::from),
        }
    }

    /// Checks the entitlement against the catalog and the rules of the model.
    pub fn check(&self, catalog: &Catalog) -> Result<(), InvalidEntitlement> {
        if catalog.product(self.product).is_none() {
            return Err(invalid(
                "product",
                format!(
                    "unknown product {:?}; the catalog has {}",
                    self.product,
                    list(catalog.products.iter().map(|p| p.slug.as_str()))
                ),
            ));
        }
        if catalog.edition_code(self.edition).is_none() {
            return Err(invalid(
                "edition",
                format!(
                    "unknown edition {:?}; the catalog has {}",
                    self.edition,
                    list(catalog.editions.iter().map(String::as_str))
                ),
            ));
        }
        if let Some(f) = self.features.iter().find(|f| catalog.feature(f).is_none()) {
            return Err(invalid("features", format!("unknown feature {f:?}")));
        }
        if self.seats == Some(0) {
            return Err(invalid(
                "seats",
                "0 is not a seat count; use null for unlimited or at least 1",
            ));
        }
        if let Some(expires) = self.expires
            && expires < self.issued
        {
            return Err(invalid(
                "expires",
                format!("{expires} is before the issue date {}", self.issued),
            ));
        }
        if let Some(c) = self.customer {
            check_string("customer.id", c.id)?;
            check_string("customer.name", c.name)?;
        }
        if let Some(o) = self.order_id {
            check_string("order_id", o)?;
        }
        if let Some(h) = self.host_id {
            check_string("host_id", h)?;
        }
        Ok(())
    }
}

fn check_string(field: &'static str, s: &str) -> Result<(), InvalidEntitlement> {
    if s.is_empty() {
        return Err(invalid(field, "must not be empty (use null for none)"));
    }
    if s.len() > MAX_STRING_BYTES {
        return Err(invalid(
            field,
            format!("{} bytes is longer than {MAX_STRING_BYTES}", s.len()),
        ));
    }
    // ASCII text is NFC: only the control characters need a look. So is
    // text below U+0300 (Latin-1 and Latin Extended names): every character
    // there is its own composition (NFC_Quick_Check=Yes, combining class
    // 0), and every character that can compose with a preceding one lies
    // at U+0300 or above.
    let (control, nfc) = if s.is_ascii() {
        (s.bytes().any(|b| b.is_ascii_control()), true)
    } else {
        let control = s.chars().any(char::is_control);
        (control, s.chars().all(|c| c < '\u{300}') || is_nfc(s))
    };
    if control {
        return Err(invalid(field, "contains a control character"));
    }
    if !nfc {
        return Err(invalid(
            field,
            "is not in Unicode NFC; hint: normalise it (e.g. `uconv -x any-nfc`)",
        ));
    }
    Ok(())
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Entitlement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path of `check_string`: every string of characters below
    /// U+0300 is NFC, so the full check is skipped for it. Every pair of
    /// them, exhaustively (a composition needs two characters).
    #[test]
    fn text_below_u0300_is_nfc() {
        let below: Vec<char> = ('\u{1}'..'\u{300}').collect();
        for a in &below {
            for b in &below {
                let s: String = [*a, *b].into_iter().collect();
                assert!(is_nfc(&s), "{s:?} ({:X} {:X})", *a as u32, *b as u32);
            }
        }
        // And the boundary: a combining mark at U+0300 makes it not NFC.
        assert!(check_string("customer.name", "A\u{30A}").is_err());
        assert!(check_string("customer.name", "\u{C5}ngstr\u{F6}m").is_ok());
    }

    const EXAMPLE: &str = r#"{"product":"acme-cad","edition":"professional","max_major":7,"features":["export-dwg","render-gpu"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":{"id":"C-000042","name":"Zoë Müller GmbH"},"order_id":"SO-1001","host_id":null}"#;

    #[test]
    fn canonical_json_round_trips_byte_for_byte() {
        let e = Entitlement::from_json(EXAMPLE).unwrap();
        e.check(&Catalog::acme()).unwrap();
        assert_eq!(e.to_json(), EXAMPLE);
    }

    #[test]
    fn features_are_sorted_and_deduplicated() {
        let text = EXAMPLE.replace(
            r#"["export-dwg","render-gpu"]"#,
            r#"["render-gpu","export-dwg","render-gpu"]"#,
        );
        assert_eq!(Entitlement::from_json(&text).unwrap().to_json(), EXAMPLE);
    }

    #[test]
    fn invalid_entitlements_name_the_field() {
        let c = Catalog::acme();
        let cases = [
            (r#""seats":25"#, r#""seats":0"#, "seats"),
            (
                r#""edition":"professional""#,
                r#""edition":"gold""#,
                "edition",
            ),
            (
                r#""product":"acme-cad""#,
                r#""product":"acme-paint""#,
                "product",
            ),
            (r#""render-gpu""#, r#""teleport""#, "features"),
            (
                r#""expires":"2027-12-31""#,
                r#""expires":"2026-01-01""#,
                "expires",
            ),
            ("Zoë", "Zoe\u{0308}", "customer.name"),
        ];
        for (from, to, field) in cases {
            let e = Entitlement::from_json(&EXAMPLE.replace(from, to)).unwrap();
            assert_eq!(e.check(&c).unwrap_err().field, field, "{to}");
        }
        assert!(Entitlement::from_json(&EXAMPLE.replace("2027-12-31", "2027-02-30")).is_err());
        assert!(
            Entitlement::from_json(&EXAMPLE.replace(r#""max_major":7"#, r#""max_major":256"#))
                .is_err()
        );
    }
}
