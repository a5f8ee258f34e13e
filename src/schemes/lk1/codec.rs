//! The acme-lk1 codec value: the catalog, the keyed MAC state and the names
//! keys decode to. Issuing and validating are in `generate` and `validate`.

use std::fmt;

use crate::catalog::Catalog;
use crate::settings::{self, SettingError, Settings};

use super::mac::{self, MacKey};

/// The format's name, as validations report it.
pub const FORMAT: &str = "acme-lk1";

/// The acme-lk1 codec: encodes entitlements into keys and decodes keys, with
/// one secret and one catalog.
#[derive(Clone)]
pub struct Lk1 {
    pub(super) catalog: Catalog,
    /// HMAC-SHA256 keyed with the secret, already fed the domain prefix.
    pub(super) mac_key: MacKey,
    /// Decoded name of each product id (`legacy-id-N` when not in the catalog).
    pub(super) product_names: Vec<String>,
    /// Decoded name of each feature bit (`legacy-bit-N` when not in the catalog).
    pub(super) bit_names: Vec<String>,
}

impl fmt::Debug for Lk1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lk1")
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Lk1 {
    /// A codec with this catalog and secret (the raw bytes of the secret;
    /// the demo's is `acme-legacy-demo-secret-DO-NOT-SHIP`).
    pub fn new(catalog: &Catalog, secret: &[u8]) -> Result<Self, String> {
        let mac_key = mac::keyed(secret)?;
        let product_names = (0..=u8::MAX)
            .map(|id| match catalog.product_by_legacy_id(id) {
                Some(p) => p.slug.clone(),
                None => format!("legacy-id-{id}"),
            })
            .collect();
        let bit_names = (0..16u8)
            .map(|bit| match catalog.feature_by_bit(bit) {
                Some(f) => f.slug.clone(),
                None => format!("legacy-bit-{bit}"),
            })
            .collect();
        Ok(Lk1 {
            catalog: catalog.clone(),
            mac_key,
            product_names,
            bit_names,
        })
    }

    /// A codec whose secret is the UTF-8 bytes of the setting `key`.
    pub fn from_settings(catalog: &Catalog, s: &Settings, key: &str) -> Result<Self, SettingError> {
        let secret = settings::required(s, key)?;
        Lk1::new(catalog, secret.as_bytes()).map_err(|m| SettingError::new(key, m))
    }

    /// The catalog the codec maps names with.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}
