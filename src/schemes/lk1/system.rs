//! The old system as a builtin: the acme-lk1 codec behind the
//! [`Implementation`] interface that plugins also present.

use crate::catalog::Catalog;
use crate::entitlement::Entitlement;
use crate::forgery::{Forgery, Pick};
use crate::implementation::{CallFailure, GenerateFailure, ImplInfo, Implementation, Origin};
use crate::settings::{SettingError, Settings};
use crate::verdict::{Context, Validation};

use super::codec::{FORMAT, Lk1};

/// The old system as a builtin (`builtin:acme-lk1`): issues and validates
/// acme-lk1 keys only.
#[derive(Debug, Clone)]
pub struct Lk1System {
    info: ImplInfo,
    codec: Lk1,
}

impl Lk1System {
    /// The old system around a codec.
    pub fn new(codec: Lk1) -> Self {
        Lk1System {
            info: ImplInfo {
                name: FORMAT.to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                origin: Origin::Builtin {
                    scheme: FORMAT.to_string(),
                },
                can_generate: true,
                can_validate: true,
            },
            codec,
        }
    }

    /// The old system from its settings: `secret` (required).
    pub fn from_settings(catalog: &Catalog, s: &Settings) -> Result<Self, SettingError> {
        Ok(Lk1System::new(Lk1::from_settings(catalog, s, "secret")?))
    }

    /// The codec.
    pub fn codec(&self) -> &Lk1 {
        &self.codec
    }
}

impl Implementation for Lk1System {
    fn info(&self) -> &ImplInfo {
        &self.info
    }

    fn generate(&self, entitlement: &Entitlement) -> Result<String, GenerateFailure> {
        self.codec.encode(entitlement)
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        Ok(self.codec.decode(key, context))
    }

    /// The codec's forgeries: it holds the secret.
    fn forgeries(&self, key: &str, pick: Pick) -> Vec<Forgery> {
        self.codec.forgeries(key, pick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schemes::demo;
    use crate::schemes::lk1::testing::{WORKED, cad, worked};
    use crate::verdict::Verdict;

    #[test]
    fn the_old_system_is_a_builtin() {
        let s = Lk1System::from_settings(&Catalog::acme(), &demo::lk1()).unwrap();
        assert_eq!(
            s.info().origin,
            Origin::Builtin {
                scheme: "acme-lk1".into()
            }
        );
        assert_eq!(s.generate(&worked()).unwrap(), WORKED);
        assert_eq!(
            s.validate(WORKED.as_bytes(), &cad()).unwrap().verdict,
            Verdict::Valid
        );
        let empty: Settings = [("secret".to_string(), String::new())].into();
        let err = Lk1System::from_settings(&Catalog::acme(), &empty).unwrap_err();
        assert_eq!(err.to_string(), "setting `secret`: must not be empty");
    }
}
