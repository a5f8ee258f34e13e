//! Forgeries: keys whose payload carries a value the format reserves, rules
//! out or does not know, and that are nevertheless correctly MACed or signed.
//!
//! Damaging a key (TAMPER's other mutations) only proves that a validator
//! checks the MAC or the signature. A validator that accepts a reserved value
//! of a field (a format version 2, non-zero reserved bits, an edition code
//! nobody defined, a key id that does not name the verifying key, a number
//! out of range, a date that is no date) is caught only by a key that passes
//! the MAC or signature and carries that value: only the holder of the secret
//! can make one. So implementations that hold their format's secret (the
//! builtins, or a vendor's own Rust reimplementation) offer forgeries through
//! [`Implementation::forgeries`](crate::implementation::Implementation::forgeries);
//! TAMPER presents a few of them with every case and `keycompat vectors
//! forge` writes them all as key vectors.
//!
//! A forgery says the verdict its format's specification requires, so that a
//! vector can pin it down; TAMPER only needs it rejected. An implementation
//! offers only forgeries whose verdict its specification decides: a value
//! the specification leaves open (or requires to be accepted) is no forgery.
//! This module holds the vocabulary; it forges nothing itself.

use crate::verdict::Verdict;

/// A key with a forged payload, correctly authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgery {
    /// A short, fixed label of what was forged, e.g. `forged ver=2`: findings
    /// are grouped by it, so it never depends on the key.
    pub family: &'static str,
    /// CamelCase vector flags saying why it exists (vectors/README.md), e.g.
    /// `["ForgedReservedValue", "UnknownVersion"]`.
    pub flags: &'static [&'static str],
    /// The forged key.
    pub key: String,
    /// The verdict the format's specification requires for it in the context
    /// the genuine key was issued for (where that key validates).
    pub verdict: Verdict,
}

/// Which of its forgeries of a key an implementation makes: each costs a MAC
/// or a signature, and then a validation by every system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Every one (vectors, tests).
    All,
    /// `count` of them: the first (an implementation lists its most telling
    /// forgery first, so a finding of it reproduces on every key, which
    /// shrinking needs), and `count - 1` more, evenly spaced over the rest
    /// from an offset chosen by `seed` (TAMPER seeds it from the key, so a
    /// replay makes the same ones and many cases cover all of them).
    Sample {
        /// Chooses the rotating ones.
        seed: u64,
        /// How many to make at most.
        count: usize,
    },
}

impl Pick {
    /// The positions, in an implementation's list of `n` forgeries, that
    /// this pick makes, ascending.
    pub fn positions(self, n: usize) -> Vec<usize> {
        match self {
            Pick::All => (0..n).collect(),
            Pick::Sample { count: 0, .. } => Vec::new(),
            Pick::Sample { seed, count } => {
                let rest = n.saturating_sub(1);
                let more = (count - 1).min(rest);
                let mut out: Vec<usize> = (n > 0).then_some(0).into_iter().collect();
                if let Some(step) = rest.checked_div(more) {
                    // `seed % rest` fits a usize: it is below `rest`.
                    let offset = (seed % rest as u64) as usize;
                    out.extend((0..more).map(|i| 1 + (offset + i * step) % rest));
                }
                out.sort_unstable();
                out
            }
        }
    }
}

/// A seed for [`Pick::Sample`] from a key: FNV-1a over its bytes, so the
/// same key always gets the same forgeries, on every machine.
pub fn seed_of(key: &[u8]) -> u64 {
    key.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_every_position() {
        assert_eq!(Pick::All.positions(4), [0, 1, 2, 3]);
        assert!(Pick::All.positions(0).is_empty());
    }

    #[test]
    fn a_sample_keeps_the_first_and_spreads_the_rest() {
        let pick = |seed, count, n| Pick::Sample { seed, count }.positions(n);
        assert_eq!(pick(0, 3, 10), [0, 1, 5]);
        assert_eq!(pick(7, 3, 10), [0, 3, 8]);
        assert_eq!(pick(8, 3, 10), [0, 4, 9]);
        assert_eq!(pick(5, 1, 10), [0]);
        assert!(pick(5, 0, 10).is_empty());
        assert!(pick(5, 3, 0).is_empty());
        assert_eq!(pick(5, 3, 1), [0]);
        assert_eq!(pick(u64::MAX, 20, 5), [0, 1, 2, 3, 4]);
        // Every position is made by some seed.
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..9 {
            seen.extend(pick(seed, 3, 10));
        }
        assert_eq!(seen.len(), 10);
    }

    #[test]
    fn seeds_are_fixed_per_key() {
        assert_eq!(seed_of(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(seed_of(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(seed_of(b"KEY-1"), seed_of(b"KEY-2"));
    }
}
