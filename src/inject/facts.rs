//! What injectors know besides the implementation they wrap: the
//! catalog's editions and features, and which inputs a share-based defect
//! hits. Every family reads these; none reads another family.

use crate::catalog::Catalog;

/// What an injector needs to know of the catalog: defects that add a
/// feature or shift an edition do it within the catalog, as a real bug
/// does (an off-by-one bit, the next tier).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    pub(crate) editions: Vec<String>,
    pub(crate) features: Vec<String>,
    pub(crate) products: usize,
}

impl Facts {
    pub(super) fn of(catalog: &Catalog) -> Self {
        Facts {
            editions: catalog.editions.clone(),
            features: catalog.features.iter().map(|f| f.slug.clone()).collect(),
            products: catalog.products.len(),
        }
    }
}

/// The share of inputs a share-based defect acts on: one in this many.
pub const SHARE: u64 = 64;

/// Whether a share-based defect acts on `input`: a portable hash of the
/// bytes (FNV-1a, 64 bits), so the same inputs are hit on every machine and
/// in every run, whatever the thread count.
pub(crate) fn hits(input: &[u8]) -> bool {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let h = input
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    h % SHARE == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_deterministic_and_about_one_in_sixty_four() {
        let hit = (0..64_000u32)
            .filter(|i| hits(format!("key-{i}").as_bytes()))
            .count();
        assert!((700..1300).contains(&hit), "{hit}");
        assert_eq!(hits(b"key-1"), hits(b"key-1"));
    }
}
