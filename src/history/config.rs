//! What `keycompat.toml` says about the history: where it is and whether a
//! run adds to it (`[history]`), and the gates that look back over it
//! (`[gates.history]`, part of [`crate::gate::GatesConfig`] so that a merge
//! re-judges with the thresholds its shards were run with).
//!
//! Nothing here reads the file or judges; it must not import the gates
//! (which import it).

use serde::{Deserialize, Serialize};

/// `[history]`: the run history's file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// The JSON Lines file, relative to the config file; absent: no history
    /// unless `--history PATH` names one.
    #[serde(default)]
    pub path: Option<String>,
    /// Whether a run adds its record (default); `false` reads the history
    /// for the trend and the gates only (a demo, a pull request's run).
    #[serde(default = "yes")]
    pub append: bool,
}

fn yes() -> bool {
    true
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            path: None,
            append: true,
        }
    }
}

/// The colour of a history gate that is not met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Blocks go-live (the default).
    #[default]
    Red,
    /// A warning only.
    Yellow,
}

/// When a change of the new system restarts the clocks of the dual-run and
/// cumulative field-key gates: evidence gathered with another build of the
/// system going live does not prove this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartOn {
    /// Any change of its plugin's SHA-256 (a builtin: of its name and
    /// version). The default.
    #[default]
    Hash,
    /// A change of the name or version it reports: a rebuild of the same
    /// version (another machine, another compiler) does not restart.
    Version,
    /// Never: the clocks run on; the report still says when it changed.
    Never,
}

impl RestartOn {
    /// The value as written in `keycompat.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartOn::Hash => "hash",
            RestartOn::Version => "version",
            RestartOn::Never => "never",
        }
    }
}

/// `[gates.history]`: go-live criteria over the run history. Each gate is
/// absent unless its threshold is set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryGates {
    /// Orders run through both systems with no unwaived finding, at least
    /// `[gates] min_orders_percent` of the export, on each of this many
    /// consecutive days up to the run's day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dual_run_days: Option<u32>,
    /// Distinct field keys validated identically across the runs since the
    /// clock started, in percent of the current export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_keys_percent: Option<u32>,
    /// No red gate (other than these) in any run of this many days up to
    /// the run's day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_red_days: Option<u32>,
    /// What change of the new system restarts the clocks.
    #[serde(default, skip_serializing_if = "is_default")]
    pub restart_on_new_system: RestartOn,
    /// The colour of a gate that is not met.
    #[serde(default, skip_serializing_if = "is_default")]
    pub level: Level,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl HistoryGates {
    /// Whether no history gate is configured.
    pub fn is_empty(&self) -> bool {
        self.dual_run_days.is_none()
            && self.field_keys_percent.is_none()
            && self.no_red_days.is_none()
    }

    /// Whether nothing differs from the defaults (nothing to serialize).
    pub fn is_default(&self) -> bool {
        *self == HistoryGates::default()
    }

    /// Checks the thresholds; the error names the field.
    pub fn check(&self) -> Result<(), (String, String)> {
        if let Some(p) = self.field_keys_percent
            && p > 100
        {
            return Err((
                "field_keys_percent".into(),
                format!("{p} is not a percentage (0 to 100)"),
            ));
        }
        for (field, days) in [
            ("dual_run_days", self.dual_run_days),
            ("no_red_days", self.no_red_days),
        ] {
            if days == Some(0) {
                return Err((field.into(), "must be 1 or more days".into()));
            }
        }
        Ok(())
    }
}
