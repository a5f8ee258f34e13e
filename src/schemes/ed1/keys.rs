//! The codec's keys from `keycompat.toml` settings: the trusted public keys,
//! and the signing key, which must match the trusted key of the same kid.

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::catalog::Catalog;
use crate::settings::{self, SettingError, Settings};

use super::codec::Ed1;

impl Ed1 {
    /// A codec from its settings: `trusted_keys` (required,
    /// `kid:64-hex-public-key,...`), `signing_key` (64 hex digits, the
    /// Ed25519 secret seed; optional) and `kid` (required with `signing_key`).
    pub fn from_settings(catalog: &Catalog, s: &Settings) -> Result<Self, SettingError> {
        let trusted = parse_trusted(settings::required(s, "trusted_keys")?)
            .map_err(|m| SettingError::new("trusted_keys", m))?;
        let signing = match (s.get("signing_key"), s.get("kid")) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(SettingError::new("kid", "is set but `signing_key` is not"));
            }
            (Some(_), None) => {
                return Err(SettingError::new(
                    "kid",
                    "missing (required with `signing_key`)",
                ));
            }
            (Some(seed), Some(kid)) => Some(signing_key(seed, kid, &trusted)?),
        };
        Ok(Ed1::new(catalog, signing, trusted))
    }
}

/// The signing key from its settings, checked against the trusted keys.
fn signing_key(
    seed: &str,
    kid: &str,
    trusted: &[(String, VerifyingKey)],
) -> Result<(String, SigningKey), SettingError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(seed.trim(), &mut bytes).map_err(|_| {
        SettingError::new(
            "signing_key",
            "expected 64 hex digits (an Ed25519 secret seed)",
        )
    })?;
    if kid.is_empty() {
        return Err(SettingError::new("kid", "must not be empty"));
    }
    let key = SigningKey::from_bytes(&bytes);
    let public = key.verifying_key();
    if let Some((_, listed)) = trusted.iter().find(|(k, _)| k == kid)
        && *listed != public
    {
        return Err(SettingError::new(
            "signing_key",
            format!("its public key differs from the trusted key `{kid}`"),
        ));
    }
    Ok((kid.to_string(), key))
}

/// Parses `kid:64-hex-public-key,kid:hex,...`.
fn parse_trusted(text: &str) -> Result<Vec<(String, VerifyingKey)>, String> {
    let mut keys: Vec<(String, VerifyingKey)> = Vec::new();
    for (i, entry) in text.split(',').map(str::trim).enumerate() {
        let n = i + 1;
        let (kid, hex_key) = entry
            .split_once(':')
            .ok_or_else(|| format!("entry {n} ({entry:?}) is not `kid:64-hex-public-key`"))?;
        let (kid, hex_key) = (kid.trim(), hex_key.trim());
        if kid.is_empty() {
            return Err(format!("entry {n} has an empty kid"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_key, &mut bytes)
            .map_err(|_| format!("key `{kid}`: expected 64 hex digits (an Ed25519 public key)"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| format!("key `{kid}`: not a valid Ed25519 public key"))?;
        if let Some((other, _)) = keys.iter().find(|(k, v)| k == kid || *v == key) {
            return Err(format!("key `{kid}`: the kid or the key repeats `{other}`"));
        }
        keys.push((kid.to_string(), key));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::Signer;

    use super::*;
    use crate::schemes::demo;

    #[test]
    fn the_demo_key_is_rfc_8032_test_1() {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(demo::TEST1_SECRET, &mut seed).unwrap();
        let key = SigningKey::from_bytes(&seed);
        assert_eq!(
            hex::encode(key.verifying_key().as_bytes()),
            demo::TEST1_PUBLIC
        );
        let expected = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065\
                        224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24\
                        655141438e7a100b";
        assert_eq!(hex::encode(key.sign(b"").to_bytes()), expected);
        let mut seed2 = [0u8; 32];
        hex::decode_to_slice(demo::TEST2_SECRET, &mut seed2).unwrap();
        let key2 = SigningKey::from_bytes(&seed2);
        assert_eq!(
            hex::encode(key2.verifying_key().as_bytes()),
            demo::TEST2_PUBLIC
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let catalog = Catalog::acme();
        let with = |key: &str, value: Option<&str>| {
            let mut s = demo::ed1();
            match value {
                Some(v) => s.insert(key.into(), v.into()),
                None => s.remove(key),
            };
            Ed1::from_settings(&catalog, &s).unwrap_err().key
        };
        assert_eq!(with("trusted_keys", None), "trusted_keys");
        assert_eq!(with("trusted_keys", Some("")), "trusted_keys");
        assert_eq!(with("trusted_keys", Some("acme-demo-2026")), "trusted_keys");
        assert_eq!(
            with(
                "trusted_keys",
                Some(&format!("a:{0},b:{0}", demo::TEST1_PUBLIC))
            ),
            "trusted_keys"
        );
        assert_eq!(
            with("trusted_keys", Some(&format!(":{}", demo::TEST1_PUBLIC))),
            "trusted_keys"
        );
        assert_eq!(with("trusted_keys", Some("a:1234")), "trusted_keys");
        assert_eq!(with("signing_key", Some("xyz")), "signing_key");
        assert_eq!(with("signing_key", None), "kid");
        assert_eq!(with("kid", None), "kid");
        assert_eq!(with("kid", Some("")), "kid");
        let spaced = format!(
            " acme-demo-2026 : {} ,\n acme-demo-2025:{} ",
            demo::TEST1_PUBLIC,
            demo::TEST2_PUBLIC
        );
        let mut s = demo::ed1();
        s.insert("trusted_keys".into(), spaced);
        assert!(Ed1::from_settings(&catalog, &s).is_ok());
    }
}
