//! Which rows of an export are used, and how many there were.

use serde::Serialize;

/// Counts of one export, so far (final once the stream is exhausted).
///
/// Rows that are not sampled are counted in `rows` only: they are never
/// parsed, so a malformed row outside the sample is not an error. Every
/// sampled row is either an item or an error: `sampled = ok + errors`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Data rows in the file (CSV records after the header, non-blank JSON lines).
    pub rows: u64,
    /// Rows taken by the sample (all rows when `share` is 1).
    pub sampled: u64,
    /// Sampled rows that did not fit and became a [`RowError`](super::RowError).
    pub errors: u64,
}

impl Stats {
    /// Sampled rows that became an item.
    pub fn ok(&self) -> u64 {
        self.sampled.saturating_sub(self.errors)
    }
}

/// Decides, from the seed and a row's line alone, whether the row is taken:
/// streaming, reproducible, and the same on any thread count or machine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sampler {
    mixed_seed: u64,
    /// Take a row iff its hash is below this; `None` takes every row.
    threshold: Option<u64>,
}

impl Sampler {
    /// A sampler keeping about `share` (in (0, 1]) of the rows.
    pub fn new(seed: u64, share: f64) -> Self {
        // 2^64 as f64 is exact; the cast saturates, and share 1 takes all.
        let threshold = (share < 1.0).then_some((share * 18_446_744_073_709_551_616.0) as u64);
        Sampler {
            mixed_seed: splitmix64(seed),
            threshold,
        }
    }

    /// Whether the row starting on `line` is in the sample.
    pub fn takes(&self, line: u64) -> bool {
        self.threshold
            .is_none_or(|t| splitmix64(self.mixed_seed ^ line) < t)
    }
}

/// SplitMix64's output function: a fixed, portable 64-bit mix.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
