//! The acme-ed1 codec value: the catalog, the key it signs with and the keys
//! it trusts. Issuing and validating are in `generate` and `validate`.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::catalog::Catalog;

/// The format's name, as validations report it.
pub const FORMAT: &str = "acme-ed1";

/// The acme-ed1 codec: signs with at most one key, verifies with a list of
/// trusted keys, each named by its key id (`kid`).
#[derive(Clone)]
pub struct Ed1 {
    pub(super) catalog: Catalog,
    pub(super) signing: Option<(String, SigningKey)>,
    pub(super) trusted: Vec<(String, VerifyingKey)>,
}

impl fmt::Debug for Ed1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trusted: Vec<&str> = self.trusted.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("Ed1")
            .field("signing_kid", &self.signing_kid())
            .field("trusted", &trusted)
            .finish_non_exhaustive()
    }
}

impl Ed1 {
    /// A codec from its keys: `signing` is the signing key and its kid (none
    /// for a validator only), `trusted` the keys whose signatures are accepted.
    pub fn new(
        catalog: &Catalog,
        signing: Option<(String, SigningKey)>,
        trusted: Vec<(String, VerifyingKey)>,
    ) -> Self {
        Ed1 {
            catalog: catalog.clone(),
            signing,
            trusted,
        }
    }

    /// The kid of the signing key, if the codec can sign.
    pub fn signing_kid(&self) -> Option<&str> {
        self.signing.as_ref().map(|(kid, _)| kid.as_str())
    }

    /// Whether the codec has a signing key.
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    /// The catalog editions are checked against.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}
