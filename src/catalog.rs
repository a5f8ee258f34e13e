//! The vendor's catalog: products, editions and features, with the legacy
//! codes an old key format needs.
//!
//! An entitlement is only meaningful against a catalog (an unknown product or
//! feature is an input error, not a finding), and the builtin acme-lk1 codec
//! takes its legacy ids and feature bits from here rather than from constants,
//! so a vendor's own catalog drives the same code. The Acme demo catalog of
//! SCHEMES.md is [`Catalog::acme`].

use serde::{Deserialize, Serialize};

/// A product the vendor sells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Slug used in entitlements and contexts, e.g. `acme-cad`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Product id in the legacy format; `None` for new-only products.
    #[serde(default)]
    pub legacy_id: Option<u8>,
}

/// A feature a license can grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    /// Slug, e.g. `export-dwg`.
    pub slug: String,
    /// Bit in the legacy 16-bit bitmap; `None` for new-only features.
    #[serde(default)]
    pub legacy_bit: Option<u8>,
}

/// Products, editions (in tier order, index = legacy code) and features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Edition names; the index of each is its legacy code.
    pub editions: Vec<String>,
    /// Products.
    pub products: Vec<Product>,
    /// Features.
    pub features: Vec<Feature>,
}

impl Catalog {
    /// The Acme demo catalog of SCHEMES.md.
    pub fn acme() -> Self {
        let product = |slug: &str, name: &str, legacy_id| Product {
            slug: slug.into(),
            name: name.into(),
            legacy_id,
        };
        let legacy = [
            "export-dwg",
            "export-step",
            "export-pdf",
            "render-gpu",
            "scripting",
            "plugins-sdk",
            "cloud-sync",
            "collaboration",
            "pdm",
            "simulation",
            "cam",
            "sheet-metal",
            "electrical",
            "piping",
            "offline-mode",
            "priority-support",
        ];
        let mut features: Vec<Feature> = legacy
            .iter()
            .enumerate()
            .map(|(bit, slug)| Feature {
                slug: (*slug).into(),
                legacy_bit: Some(bit as u8),
            })
            .collect();
        for slug in ["ai-assist", "web-viewer", "api-access"] {
            features.push(Feature {
                slug: slug.into(),
                legacy_bit: None,
            });
        }
        Catalog {
            editions: ["trial", "standard", "professional", "enterprise"]
                .map(String::from)
                .to_vec(),
            products: vec![
                product("acme-cad", "Acme CAD", Some(17)),
                product("acme-viewer", "Acme Viewer", Some(18)),
                product("acme-sim", "Acme Simulate", Some(21)),
                product("acme-cloud", "Acme Cloud", None),
            ],
            features,
        }
    }

    /// The product with this slug.
    pub fn product(&self, slug: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.slug == slug)
    }

    /// The product with this legacy id.
    pub fn product_by_legacy_id(&self, id: u8) -> Option<&Product> {
        self.products.iter().find(|p| p.legacy_id == Some(id))
    }

    /// The feature with this slug.
    pub fn feature(&self, slug: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.slug == slug)
    }

    /// The feature on this legacy bit.
    pub fn feature_by_bit(&self, bit: u8) -> Option<&Feature> {
        self.features.iter().find(|f| f.legacy_bit == Some(bit))
    }

    /// The legacy code of an edition (its index).
    pub fn edition_code(&self, edition: &str) -> Option<u8> {
        self.editions
            .iter()
            .position(|e| e == edition)
            .and_then(|i| u8::try_from(i).ok())
    }

    /// Checks internal consistency: unique slugs, ids and bits.
    pub fn check(&self) -> Result<(), String> {
        fn dup<T: PartialEq + std::fmt::Debug>(what: &str, items: &[T]) -> Result<(), String> {
            for (i, a) in items.iter().enumerate() {
                if items[..i].contains(a) {
                    return Err(format!("catalog: {what} {a:?} appears twice"));
                }
            }
            Ok(())
        }
        dup("edition", &self.editions)?;
        dup(
            "product",
            &self.products.iter().map(|p| &p.slug).collect::<Vec<_>>(),
        )?;
        dup(
            "product legacy_id",
            &self
                .products
                .iter()
                .filter_map(|p| p.legacy_id)
                .collect::<Vec<_>>(),
        )?;
        dup(
            "feature",
            &self.features.iter().map(|f| &f.slug).collect::<Vec<_>>(),
        )?;
        dup(
            "feature legacy_bit",
            &self
                .features
                .iter()
                .filter_map(|f| f.legacy_bit)
                .collect::<Vec<_>>(),
        )?;
        if self.editions.is_empty() || self.products.is_empty() {
            return Err("catalog: needs at least one edition and one product".into());
        }
        for f in &self.features {
            if let Some(bit) = f.legacy_bit.filter(|b| *b >= LEGACY_BITS) {
                return Err(format!(
                    "catalog: feature {:?} has legacy_bit {bit}, outside the {LEGACY_BITS}-bit legacy \
                     feature bitmap (0 to {})",
                    f.slug,
                    LEGACY_BITS - 1
                ));
            }
            if !is_slug(&f.slug) {
                return Err(format!(
                    "catalog: feature {:?} is not a slug (lower-case letters, digits, '-')",
                    f.slug
                ));
            }
        }
        Ok(())
    }
}

/// Bits of the legacy feature bitmap (SCHEMES.md, acme-lk1 `features`): a
/// `legacy_bit` names one of them.
pub const LEGACY_BITS: u8 = 16;

/// Whether `s` is a non-empty slug of `a-z`, `0-9` and `-`.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acme_catalog_is_consistent() {
        let c = Catalog::acme();
        c.check().unwrap();
        assert_eq!(c.product("acme-cad").unwrap().legacy_id, Some(17));
        assert_eq!(c.feature_by_bit(15).unwrap().slug, "priority-support");
        assert_eq!(c.edition_code("enterprise"), Some(3));
        assert!(c.product("acme-cloud").unwrap().legacy_id.is_none());
    }
}
