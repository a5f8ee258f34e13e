//! The builtins: pure-Rust reimplementations of the Acme key formats of
//! SCHEMES.md, compiled into keycompat.
//!
//! They exist for three reasons: a vendor's original (the old system's C
//! library) needs a second, independent implementation to be compared with
//! (PARITY), the new system needs a legacy emitter that issues old-format
//! keys byte for byte like the original, and benchmarks need an in-process
//! baseline with no plugin boundary in the way. The codecs ([`lk1::Lk1`],
//! [`ed1::Ed1`]) are plain values; the systems built from them
//! ([`lk1::Lk1System`], [`new_system::NewSystemImpl`]) present them as an
//! [`Implementation`]. `builtin:NAME` in `keycompat.toml` names one of
//! [`BUILTINS`], created by [`builtin`].

pub mod ed1;
pub mod lk1;
pub mod new_system;

use crate::catalog::Catalog;
use crate::implementation::Implementation;
use crate::settings::{SettingError, Settings};

/// Names accepted after `builtin:`.
pub const BUILTINS: &[&str] = &["acme-lk1", "acme-ed1"];

/// Why a builtin could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuiltinError {
    /// No builtin has this name.
    #[error("unknown builtin `{name}`; the builtins are {known}")]
    UnknownBuiltin {
        /// The name asked for (without `builtin:`).
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// A setting is missing or malformed.
    #[error(transparent)]
    Setting(#[from] SettingError),
}

/// Creates the builtin implementation `name` (without the `builtin:` prefix):
/// `acme-lk1` is the old system, `acme-ed1` the new one.
pub fn builtin(
    name: &str,
    catalog: &Catalog,
    settings: &Settings,
) -> Result<Box<dyn Implementation>, BuiltinError> {
    match name {
        "acme-lk1" => Ok(Box::new(lk1::Lk1System::from_settings(catalog, settings)?)),
        "acme-ed1" => Ok(Box::new(new_system::NewSystemImpl::from_settings(
            catalog, settings,
        )?)),
        _ => Err(BuiltinError::UnknownBuiltin {
            name: name.to_string(),
            known: BUILTINS.join(", "),
        }),
    }
}

/// Settings for the Acme demo, shared by the tests of the builtins.
#[cfg(test)]
pub(crate) mod demo {
    use crate::settings::Settings;

    /// The acme-lk1 demo secret of SCHEMES.md.
    pub const LK1_SECRET: &str = "acme-legacy-demo-secret-DO-NOT-SHIP";
    /// RFC 8032 section 7.1 TEST 1 secret key (the demo signing key).
    pub const TEST1_SECRET: &str =
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    /// RFC 8032 TEST 1 public key.
    pub const TEST1_PUBLIC: &str =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    /// RFC 8032 TEST 2 secret key (the older demo key).
    pub const TEST2_SECRET: &str =
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    /// RFC 8032 TEST 2 public key.
    pub const TEST2_PUBLIC: &str =
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

    fn table(pairs: &[(&str, &str)]) -> Settings {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The settings of `builtin:acme-lk1`.
    pub fn lk1() -> Settings {
        table(&[("secret", LK1_SECRET)])
    }

    /// The acme-ed1 settings: signs with TEST 1, trusts TEST 1 and TEST 2.
    pub fn ed1() -> Settings {
        ed1_signing_with(TEST1_SECRET, "acme-demo-2026")
    }

    /// The acme-ed1 settings, signing with `secret` as `kid`.
    pub fn ed1_signing_with(secret: &str, kid: &str) -> Settings {
        let trusted = format!("acme-demo-2026:{TEST1_PUBLIC},acme-demo-2025:{TEST2_PUBLIC}");
        table(&[
            ("signing_key", secret),
            ("kid", kid),
            ("trusted_keys", &trusted),
        ])
    }

    /// The settings of `builtin:acme-ed1` (the new system).
    pub fn new_system() -> Settings {
        let mut s = ed1();
        s.insert("lk1_secret".into(), LK1_SECRET.into());
        s.insert(
            "lk1_products".into(),
            "acme-cad,acme-viewer,acme-sim".into(),
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_builtin_can_be_created() {
        let c = Catalog::acme();
        let lk1 = builtin("acme-lk1", &c, &demo::lk1()).unwrap();
        assert_eq!(lk1.info().name, "acme-lk1");
        let new = builtin("acme-ed1", &c, &demo::new_system()).unwrap();
        assert_eq!(new.info().name, "acme-ed1");
        assert_eq!(BUILTINS.len(), 2);
    }

    #[test]
    fn unknown_builtins_and_missing_settings_are_named() {
        let c = Catalog::acme();
        let err = builtin("acme-lk2", &c, &demo::lk1()).err().unwrap();
        assert_eq!(
            err.to_string(),
            "unknown builtin `acme-lk2`; the builtins are acme-lk1, acme-ed1"
        );
        let err = builtin("acme-lk1", &c, &Settings::new()).err().unwrap();
        assert_eq!(err.to_string(), "setting `secret`: missing");
    }
}
