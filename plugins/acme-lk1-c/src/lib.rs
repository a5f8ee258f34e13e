//! Builds the acme-lk1 reference plugin, the old Acme EMS's original C
//! implementation, as a shared library that keycompat loads through the C
//! plugin ABI (`plugins/include/keycompat_plugin.h`).
//!
//! This crate has no Rust code of its own: its build script compiles
//! `acme_lk1.c` and `sha256.c` with the system C compiler into
//! `libacme_lk1_c.so` (`.dylib` on macOS) and copies it into the Cargo
//! profile directory (`target/<profile>/`), next to the `keycompat` binary.
#![warn(missing_docs)]

/// Absolute path of the built plugin in the profile directory
/// (e.g. `<target>/debug/libacme_lk1_c.so`), fixed at compile time.
///
/// Load it with `dlopen` (or `libloading`) and look up the one exported
/// symbol, `kc_plugin_entry_v1`.
pub const PLUGIN_PATH: &str = env!("ACME_LK1_C_PLUGIN_PATH");

#[cfg(test)]
mod tests {
    use super::PLUGIN_PATH;

    #[test]
    fn plugin_was_built() {
        assert!(
            std::path::Path::new(PLUGIN_PATH).is_file(),
            "missing {PLUGIN_PATH}"
        );
    }
}
