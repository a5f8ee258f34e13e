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

/// Decides, from the seed and a row's index alone, whether the row is taken:
/// streaming, reproducible, and the same on any thread count, shard or
/// machine.
///
/// The sample is stratified: the rows fall into consecutive blocks of about
/// `1 / share` rows, and the seed picks one row in each. A sample of `n`
/// rows is so exactly `⌊n·share⌋` or `⌈n·share⌉` rows, never a binomial
/// draw around it (which would put a 10 % sample under a 10 % gate about
/// half the time), and spread over the whole export.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sampler {
    mixed_seed: u64,
    /// The share in units of 2^-32; `None` takes every row.
    share: Option<u64>,
}

impl Sampler {
    /// A sampler keeping `share` (in (0, 1]) of the rows.
    pub fn new(seed: u64, share: f64) -> Self {
        // Rounded up so a share never samples fewer rows than asked for.
        let share = (share < 1.0).then(|| ((share * SCALE as f64).ceil() as u64).clamp(1, SCALE));
        Sampler {
            mixed_seed: splitmix64(seed),
            share,
        }
    }

    /// Whether the data row with 0-based index `row` is in the sample.
    pub fn takes(&self, row: u64) -> bool {
        let Some(p) = self.share else {
            return true;
        };
        let block = (u128::from(row) * u128::from(p)) >> 32;
        let start = |b: u128| (b << 32).div_ceil(u128::from(p));
        let (first, end) = (start(block), start(block + 1));
        let size = end - first; // at least 1: a block spans 1/share >= 1 rows
        let pick = first + u128::from(splitmix64(self.mixed_seed ^ block as u64)) % size;
        u128::from(row) == pick
    }
}

/// 2^32: the share's fixed-point scale.
const SCALE: u64 = 1 << 32;

/// SplitMix64's output function: a fixed, portable 64-bit mix.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
