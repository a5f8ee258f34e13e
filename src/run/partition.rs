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

/// Where `--partition auto` finds the shard: the variables CI systems and
/// test engines set on each parallel job. Checked in this order; the first
/// system whose index variable is set decides.
/// (name, index variable, count variable, index base).
pub const CI_SHARD_VARIABLES: [(&str, &str, &str, u64); 6] = [
    ("keycompat", "KEYCOMPAT_SHARD", "KEYCOMPAT_SHARDS", 1),
    (
        "Bazel test sharding",
        "TEST_SHARD_INDEX",
        "TEST_TOTAL_SHARDS",
        0,
    ),
    ("GitLab parallel", "CI_NODE_INDEX", "CI_NODE_TOTAL", 1),
    (
        "Buildkite parallel jobs",
        "BUILDKITE_PARALLEL_JOB",
        "BUILDKITE_PARALLEL_JOB_COUNT",
        0,
    ),
    (
        "CircleCI parallelism",
        "CIRCLE_NODE_INDEX",
        "CIRCLE_NODE_TOTAL",
        0,
    ),
    // Kubernetes sets only the index; the pod spec passes the count
    // (`.spec.completions`) as KEYCOMPAT_SHARDS.
    (
        "Kubernetes Indexed Job",
        "JOB_COMPLETION_INDEX",
        "KEYCOMPAT_SHARDS",
        0,
    ),
];

/// The shard the CI environment says this job is (`--partition auto`),
/// with the variables used, in words. `env` looks a variable up.
pub fn from_ci(env: impl Fn(&str) -> Option<String>) -> Result<(Partition, String), String> {
    for (system, index_var, count_var, base) in CI_SHARD_VARIABLES {
        let Some(index) = env(index_var) else {
            continue;
        };
        let number = |var: &str, value: &str| -> Result<u64, String> {
            value
                .trim()
                .parse()
                .map_err(|_| format!("{system}: {var}={value:?} is not a number"))
        };
        let Some(count) = env(count_var) else {
            return Err(format!(
                "{system}: {index_var} is set but {count_var} is not; set it to the number of shards"
            ));
        };
        let (i, n) = (number(index_var, &index)?, number(count_var, &count)?);
        let k = i + 1 - base;
        if i < base || n == 0 || k > n {
            return Err(format!(
                "{system}: {index_var}={index} with {count_var}={count} is not a shard \
                 (the index counts from {base})"
            ));
        }
        let used = format!("{system}: {index_var}={index}, {count_var}={count}");
        return Ok((Partition { k, n }, used));
    }
    let looked: Vec<String> = CI_SHARD_VARIABLES
        .iter()
        .map(|(system, i, n, _)| format!("{i}/{n} ({system})"))
        .collect();
    Err(format!(
        "--partition auto: no CI shard variables are set; looked for {}",
        looked.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn each_ci_system_names_its_shard_in_its_own_base() {
        for (vars, k, n) in [
            (&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")][..], 2, 3),
            (
                &[("TEST_SHARD_INDEX", "0"), ("TEST_TOTAL_SHARDS", "4")][..],
                1,
                4,
            ),
            (
                &[
                    ("BUILDKITE_PARALLEL_JOB", "4"),
                    ("BUILDKITE_PARALLEL_JOB_COUNT", "5"),
                ][..],
                5,
                5,
            ),
            (
                &[("CIRCLE_NODE_INDEX", "1"), ("CIRCLE_NODE_TOTAL", "2")][..],
                2,
                2,
            ),
            (
                &[("JOB_COMPLETION_INDEX", "0"), ("KEYCOMPAT_SHARDS", "2")][..],
                1,
                2,
            ),
            (
                &[
                    ("KEYCOMPAT_SHARD", "3"),
                    ("KEYCOMPAT_SHARDS", "3"),
                    ("CI_NODE_INDEX", "1"),
                    ("CI_NODE_TOTAL", "3"),
                ][..],
                3,
                3,
            ),
        ] {
            let (p, used) = from_ci(env(vars)).unwrap();
            assert_eq!((p.k, p.n), (k, n), "{used}");
        }
    }

    #[test]
    fn a_bad_or_missing_variable_is_named() {
        let e = from_ci(env(&[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "3")])).unwrap_err();
        assert!(
            e.contains("CI_NODE_INDEX=0") && e.contains("counts from 1"),
            "{e}"
        );
        let e = from_ci(env(&[
            ("TEST_SHARD_INDEX", "4"),
            ("TEST_TOTAL_SHARDS", "4"),
        ]))
        .unwrap_err();
        assert!(e.contains("Bazel"), "{e}");
        let e = from_ci(env(&[("JOB_COMPLETION_INDEX", "1")])).unwrap_err();
        assert!(e.contains("KEYCOMPAT_SHARDS is not"), "{e}");
        let e = from_ci(env(&[("CI_NODE_INDEX", "x"), ("CI_NODE_TOTAL", "3")])).unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        let e = from_ci(env(&[])).unwrap_err();
        assert!(
            e.contains("no CI shard variables") && e.contains("CI_NODE_INDEX"),
            "{e}"
        );
    }
}
