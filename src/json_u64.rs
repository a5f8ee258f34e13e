//! A `u64` written to JSON as a decimal string, so that every consumer reads
//! it exactly: jq and JavaScript read JSON numbers as doubles and change
//! integers above 2^53 (a seed `1796033155473554767` reads back as
//! `...700`). Reading accepts a string or a number.
//!
//! Use with `#[serde(with = "crate::json_u64")]`.

use std::fmt;

use serde::{Deserializer, Serializer, de};

/// Writes `n` as a decimal string.
pub fn serialize<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(n)
}

/// Reads a decimal string or a non-negative integer.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Visitor;
    impl de::Visitor<'_> for Visitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer or a string of decimal digits")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<u64, E> {
            Ok(n)
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<u64, E> {
            u64::try_from(n).map_err(|_| E::custom(format!("{n} is negative")))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<u64, E> {
            s.parse()
                .map_err(|_| E::custom(format!("{s:?} is not a 64-bit unsigned integer")))
        }
    }
    d.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Seeded {
        #[serde(with = "super")]
        seed: u64,
    }

    #[test]
    fn a_seed_is_written_as_a_string_and_read_from_either() {
        let s = Seeded {
            seed: 1_796_033_155_473_554_767,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"seed":"1796033155473554767"}"#);
        assert_eq!(serde_json::from_str::<Seeded>(&json).unwrap(), s);
        assert_eq!(
            serde_json::from_str::<Seeded>(r#"{"seed":7}"#).unwrap(),
            Seeded { seed: 7 }
        );
        assert!(serde_json::from_str::<Seeded>(r#"{"seed":"-1"}"#).is_err());
        assert!(serde_json::from_str::<Seeded>(r#"{"seed":-1}"#).is_err());
    }
}
