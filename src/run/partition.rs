//! Which shard of a run a case belongs to: every case has a stable id derived
//! from its content, and `--partition k/n` keeps the cases whose id hashes to
//! shard `k`, so shards on many machines cover every case exactly once.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `k/n`: this run handles the cases whose id falls in shard `k` of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// 1-based shard number.
    pub k: u64,
    /// Number of shards.
    pub n: u64,
}

impl Partition {
    /// Parses `k/n` with 1 <= k <= n.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a partition k/n with 1 <= k <= n (e.g. 2/3)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u64, u64) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Partition { k, n })
    }

    /// Whether the case with this id belongs here.
    pub fn contains(&self, case_id: &str) -> bool {
        let h = Sha256::digest(case_id.as_bytes());
        let v = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        v % self.n == self.k - 1
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}
