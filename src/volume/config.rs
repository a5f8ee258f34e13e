//! What `keycompat.toml` says about the go-live volume (`[gates.volume]`):
//! the peak rates the new system must carry, at how many threads, with what
//! margin, and whether a run measures them itself. Part of
//! [`crate::gate::GatesConfig`], so that a merge re-judges with the
//! thresholds its shards were run with.
//!
//! Nothing here measures or judges; it must not import the gates (which
//! import it).

use serde::{Deserialize, Serialize};

use crate::history::config::Level;

/// The most threads a volume gate may name: more would only measure the
/// scheduler (and spawn as many threads and workers).
pub const MAX_THREADS: u32 = 1024;

/// The largest margin accepted, in percent: beyond it the figure is a typo.
pub const MAX_MARGIN_PERCENT: u32 = 1000;

/// `[gates.volume]`: the go-live volume the new system must carry. Each
/// gate is absent unless its rate is set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeGates {
    /// Keys the new system must issue per second at the go-live peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_per_second: Option<u64>,
    /// Keys the new system must validate per second at the go-live peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate_per_second: Option<u64>,
    /// The threads production serves keys with: the figures measured at
    /// exactly this thread count are judged. Required with a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// The headroom required above each rate, in percent: a rate of 2,000/s
    /// with 50 needs 3,000/s measured.
    #[serde(default, skip_serializing_if = "is_default")]
    pub margin_percent: u32,
    /// Whether `keycompat run` measures the new system's figures itself,
    /// after its cases, when it is given no `--throughput` file.
    #[serde(default, skip_serializing_if = "is_default")]
    pub measure: bool,
    /// The colour of a gate that is not met.
    #[serde(default, skip_serializing_if = "is_default")]
    pub level: Level,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl VolumeGates {
    /// Whether no volume gate is configured.
    pub fn is_empty(&self) -> bool {
        self.issue_per_second.is_none() && self.validate_per_second.is_none()
    }

    /// Whether nothing differs from the defaults (nothing to serialize).
    pub fn is_default(&self) -> bool {
        *self == VolumeGates::default()
    }

    /// The rate required with the margin: `rate * (1 + margin_percent / 100)`.
    pub fn required(&self, rate: u64) -> f64 {
        rate as f64 * (100.0 + f64::from(self.margin_percent)) / 100.0
    }

    /// Checks the values; the error names the field (relative to
    /// `gates.volume`, empty for the table itself).
    pub fn check(&self) -> Result<(), (String, String)> {
        if self.is_default() {
            return Ok(());
        }
        for (field, rate) in [
            ("issue_per_second", self.issue_per_second),
            ("validate_per_second", self.validate_per_second),
        ] {
            if rate == Some(0) {
                return Err((
                    field.into(),
                    "must be at least 1 key per second (leave it out for no gate)".into(),
                ));
            }
        }
        if self.is_empty() {
            return Err((
                String::new(),
                "sets no rate: add issue_per_second and/or validate_per_second (keys per second \
                 the new system must carry at the go-live peak), or remove the table"
                    .into(),
            ));
        }
        match self.threads {
            None => {
                return Err((
                    "threads".into(),
                    "is required: the number of threads production serves keys with (the \
                     figures measured at that thread count are judged)"
                        .into(),
                ));
            }
            Some(0) => return Err(("threads".into(), "must be 1 or more".into())),
            Some(t) if t > MAX_THREADS => {
                return Err((
                    "threads".into(),
                    format!("{t} threads: at most {MAX_THREADS}"),
                ));
            }
            Some(_) => {}
        }
        if self.margin_percent > MAX_MARGIN_PERCENT {
            return Err((
                "margin_percent".into(),
                format!(
                    "{} % is not a plausible margin (0 to {MAX_MARGIN_PERCENT})",
                    self.margin_percent
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates(text: &str) -> VolumeGates {
        toml::from_str(text).expect("parses")
    }

    #[test]
    fn the_margin_is_added_to_the_rate() {
        let g = gates("validate_per_second = 2000\nthreads = 2\nmargin_percent = 50");
        assert_eq!(g.required(2000), 3000.0);
        assert_eq!(gates("threads = 1").required(333), 333.0);
        let odd = gates("margin_percent = 25");
        assert_eq!(odd.required(3), 3.75);
    }

    #[test]
    fn bad_values_name_their_field() {
        let field = |text: &str| gates(text).check().map_err(|(f, _)| f);
        assert_eq!(field("validate_per_second = 10\nthreads = 2"), Ok(()));
        assert_eq!(field(""), Ok(()));
        assert_eq!(
            field("issue_per_second = 0\nthreads = 2"),
            Err("issue_per_second".into())
        );
        assert_eq!(field("validate_per_second = 10"), Err("threads".into()));
        assert_eq!(
            field("validate_per_second = 10\nthreads = 0"),
            Err("threads".into())
        );
        assert_eq!(
            field("validate_per_second = 10\nthreads = 5000"),
            Err("threads".into())
        );
        assert_eq!(
            field("validate_per_second = 10\nthreads = 2\nmargin_percent = 5000"),
            Err("margin_percent".into())
        );
        assert_eq!(field("threads = 2\nmeasure = true"), Err(String::new()));
    }

    #[test]
    fn unknown_keys_and_wrong_types_do_not_parse() {
        for text in [
            "validate_per_sec = 10",
            "validate_per_second = -5",
            "validate_per_second = 2500.5",
            "validate_per_second = \"fast\"",
            "level = \"green\"",
            "measure = \"yes\"",
        ] {
            assert!(
                toml::from_str::<VolumeGates>(text).is_err(),
                "{text} parsed"
            );
        }
    }
}
