//! The builtins: pure-Rust reimplementations of the Acme key formats of
//! SCHEMES.md, compiled into keycompat.
//!
//! They exist for four reasons: a vendor's original (the old system's C
//! library) needs a second, independent implementation to be compared with
//! (PARITY), the new system needs a legacy emitter that issues old-format
//! keys byte for byte like the original, benchmarks need an in-process
//! baseline with no plugin boundary in the way, and only an implementation
//! that holds a format's secret can forge keys with reserved values
//! ([`crate::forgery`]), which a plugin behind the C ABI cannot offer. The codecs ([`lk1::Lk1`],
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

#[cfg(test)]
pub(crate) mod demo;

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
