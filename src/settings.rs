//! Settings: the string key/value table an implementation is created from
//! (`[systems.NAME.settings]` in `keycompat.toml`). Builtins and plugins get
//! the same table, so a builtin and the plugin it mirrors are configured alike.

use std::collections::BTreeMap;

use keycompat_plugin_sdk::Fields;

/// An implementation's settings.
pub type Settings = BTreeMap<String, String>;

/// A setting that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting `{key}`: {message}")]
pub struct SettingError {
    /// The setting's key.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl SettingError {
    /// A problem with `key`.
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        SettingError {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// The value of a required setting.
pub fn required<'a>(s: &'a Settings, key: &str) -> Result<&'a str, SettingError> {
    s.get(key)
        .map(String::as_str)
        .ok_or_else(|| SettingError::new(key, "missing"))
}

/// Settings as `kc_field`s, for `create`.
pub fn to_fields(s: &Settings) -> Fields {
    let mut f = Fields::new();
    for (k, v) in s {
        f.push(k.as_str(), v.as_str());
    }
    f
}

/// Settings from `kc_field`s (the Rust plugin side).
pub fn from_fields(f: &Fields) -> Result<Settings, String> {
    f.iter()
        .map(|(k, v)| {
            std::str::from_utf8(v)
                .map(|v| (k.to_string(), v.to_string()))
                .map_err(|_| format!("setting `{k}`: not valid UTF-8"))
        })
        .collect()
}
