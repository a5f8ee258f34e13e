//! Shared test vectors: the fixed, reviewed cases every implementation of a
//! key scheme must reproduce exactly, in Wycheproof's style.
//!
//! Random cases find unknown bugs; vectors pin down known behaviour: the
//! exact key each format must produce for an entitlement (two implementations
//! of a format that agree with each other but not with the specification are
//! both wrong), and the exact verdict and decode each system must return for
//! a key, including the hostile ones (look-alike characters, whitespace,
//! truncation, wrong signing keys). Failing random cases are saved here too,
//! shrunk, as [`RegressionVector`]s, and run first.
//!
//! The file format is documented in `vectors/README.md`. This module loads and
//! lints the files ([`load_dir`], [`lint`]; every error has a
//! `file:line:column`), gives each vector a stable id derived from its
//! content ([`key_vector_id`] and friends), and writes the forged key
//! vectors of `keycompat vectors forge` ([`forge`]: keys of the given
//! systems, forged by those that hold a secret). Checking a vector against
//! implementations is the VECTOR check, in [`crate::check::vector`]; this
//! module opens no system and judges nothing.

mod error;
mod forge;
mod id;
mod load;
mod model;
mod regression;
mod result;
mod schema;
mod set;

use std::path::Path;

use crate::catalog::Catalog;

pub use error::VectorError;
pub use forge::{ForgeError, ForgedVector, base_entitlements, forge, forged_vectors_toml};
pub use id::{
    entitlement_vector_canonical, entitlement_vector_id, key_vector_canonical, key_vector_id,
    regression_id,
};
pub use model::{EntitlementVector, ExpectedKey, KeyVector, MAX_KEY_BYTES, is_camel_case};
pub use regression::{REGRESSIONS_DIR, RegressionVector, regression_toml, save_regression};
pub use result::VectorResult;
pub use set::VectorSet;

use model::Known;

/// Loads every `*.toml` file under `dir` (recursively, sorted by path;
/// `regressions/` into [`VectorSet::regressions`]). Checks the schema,
/// dates, versions, entitlements (against `catalog`), explicit ids and
/// duplicates; returns every error of every file, sorted, if there is any.
pub fn load_dir(dir: &Path, catalog: &Catalog) -> Result<VectorSet, Vec<VectorError>> {
    let (set, errors) = load::load(dir, catalog, Known::default());
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

/// Everything [`load_dir`] checks, plus cross-references: system names in
/// `expect` must be among `systems` and format names in `keys` among
/// `formats` (the config's). Returns every error, sorted; empty when clean.
pub fn lint(
    dir: &Path,
    catalog: &Catalog,
    systems: &[String],
    formats: &[String],
) -> Vec<VectorError> {
    let known = Known {
        systems: Some(systems),
        formats: Some(formats),
    };
    load::load(dir, catalog, known).1
}

#[cfg(test)]
mod tests;
