//! The vector files as serde reads them: every field that a later check may
//! complain about is wrapped in [`Spanned`], so each message can name its
//! `file:line:column`. Nothing here interprets a value; [`super::model`] turns
//! these raw tables into checked vectors.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::Spanned;

use crate::date::Day;
use crate::entitlement::Customer;
use crate::verdict::{Verdict, Version};

use super::result::VectorResult;

/// A file of `regressions/`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegressionFile {
    /// `[[regression]]` tables.
    #[serde(default)]
    pub regression: Vec<Spanned<RawRegression>>,
}

/// `[[entitlement]]`: an entitlement and the exact key (or refusal) per format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEntitlementVector {
    #[serde(default)]
    pub id: Option<Spanned<String>>,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub flags: Vec<Spanned<String>>,
    #[serde(default)]
    pub result: Option<Spanned<VectorResult>>,
    pub entitlement: Spanned<RawEntitlement>,
    #[serde(default)]
    pub keys: BTreeMap<Spanned<String>, Spanned<RawExpectedKey>>,
}

/// `[[key]]`: key bytes, a context, and the verdict per system.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKeyVector {
    #[serde(default)]
    pub id: Option<Spanned<String>>,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub flags: Vec<Spanned<String>>,
    pub result: Spanned<VectorResult>,
    #[serde(default)]
    pub key: Option<Spanned<String>>,
    #[serde(default)]
    pub key_hex: Option<Spanned<String>>,
    #[serde(default)]
    pub key_parts: Option<Spanned<Vec<Spanned<RawKeyPart>>>>,
    pub context: Spanned<RawContext>,
    pub expect: Spanned<BTreeMap<Spanned<String>, Spanned<Verdict>>>,
    #[serde(default)]
    pub decoded: Option<Spanned<RawDecoded>>,
}

/// One piece of a `key_parts` key: text or hex bytes, repeated `times`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKeyPart {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub hex: Option<String>,
    #[serde(default)]
    pub times: Option<u32>,
}

/// The validation context of a key vector.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContext {
    pub product: String,
    pub version: Version,
    pub today: TomlDay,
    #[serde(default)]
    pub host_id: Option<String>,
}

/// An entitlement in TOML: an absent optional field is null.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEntitlement {
    pub product: Spanned<String>,
    pub edition: Spanned<String>,
    pub max_major: Spanned<u8>,
    #[serde(default)]
    pub features: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub seats: Option<Spanned<u32>>,
    pub issued: Spanned<TomlDay>,
    #[serde(default)]
    pub expires: Option<Spanned<TomlDay>>,
    #[serde(default)]
    pub maintenance_until: Option<Spanned<TomlDay>>,
    pub serial: Spanned<u32>,
    #[serde(default)]
    pub customer: Option<Spanned<Customer>>,
    #[serde(default)]
    pub order_id: Option<Spanned<String>>,
    #[serde(default)]
    pub host_id: Option<Spanned<String>>,
}

/// A partial decode: the listed fields must decode to these values, and the
/// fields named in `null` must decode as null.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDecoded {
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub edition: Option<String>,
    #[serde(default)]
    pub max_major: Option<u8>,
    #[serde(default)]
    pub features: Option<Vec<String>>,
    #[serde(default)]
    pub seats: Option<u32>,
    #[serde(default)]
    pub issued: Option<TomlDay>,
    #[serde(default)]
    pub expires: Option<TomlDay>,
    #[serde(default)]
    pub maintenance_until: Option<TomlDay>,
    #[serde(default)]
    pub serial: Option<u32>,
    #[serde(default)]
    pub customer: Option<Customer>,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub host_id: Option<String>,
    #[serde(default)]
    pub null: Vec<Spanned<String>>,
}

/// `[[regression]]`: a shrunk random case saved after a failure.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegression {
    #[serde(default)]
    pub id: Option<Spanned<String>>,
    pub check: Spanned<String>,
    pub cause: String,
    pub generator: String,
    #[serde(default)]
    pub validator: Option<String>,
    #[serde(default)]
    pub seed: Option<Seed>,
    pub found: Spanned<TomlDay>,
    #[serde(default)]
    pub note: String,
    pub entitlement: Spanned<RawEntitlement>,
}

/// The expectation for one format: the exact key, or a refusal naming a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawExpectedKey {
    /// `acme-lk1 = "KEY"`
    Key(String),
    /// `acme-lk1 = { refused = "seats" }`
    Refused(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refusal {
    refused: String,
}

impl<'de> Deserialize<'de> for RawExpectedKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawExpectedKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a key string or { refused = "FIELD" }"#)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(RawExpectedKey::Key(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Refusal::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|r| RawExpectedKey::Refused(r.refused))
            }
        }
        d.deserialize_any(V)
    }
}

/// A day written either as a string (`"2026-11-23"`) or a TOML local date
/// (`2026-11-23`); a date-time with a time of day is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TomlDay(pub Day);

impl<'de> Deserialize<'de> for TomlDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TomlDay;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date YYYY-MM-DD")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Day::parse(s).map(TomlDay).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let dt =
                    toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
                match (dt.date, dt.time, dt.offset) {
                    (Some(d), None, None) => Day::from_ymd(i32::from(d.year), d.month, d.day)
                        .map(TomlDay)
                        .ok_or_else(|| de::Error::custom(format!("{dt} is not a real date"))),
                    _ => Err(de::Error::custom(format!(
                        "{dt} is not a date (expected YYYY-MM-DD, without a time)"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A seed: TOML integers are signed 64-bit, so seeds above `i64::MAX` are
/// written as decimal strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seed(pub u64);

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a seed (an unsigned integer, or one in a string)")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                u64::try_from(n)
                    .map(Seed)
                    .map_err(|_| E::custom(format!("seed {n} is negative")))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                Ok(Seed(n))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                s.parse()
                    .map(Seed)
                    .map_err(|_| E::custom(format!("{s:?} is not a seed")))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Seed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match i64::try_from(self.0) {
            Ok(n) => s.serialize_i64(n),
            Err(_) => s.collect_str(&self.0),
        }
    }
}
