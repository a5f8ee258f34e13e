//! Findings: disagreements between systems, with the evidence to replay them.
//!
//! A [`Finding`] is one failing (check, generator, validator) observation on
//! one case. Findings with the same [`GroupKey`] (check, systems, cause) share
//! a root cause and are reported once, as a [`Group`] with a count and its
//! smallest example, so a systematic bug is one entry, not a hundred thousand.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::entitlement::Entitlement;
use crate::verdict::{Context, FieldDiff, Validation};

/// A column of the check matrix (README, "What it does").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Shared test vectors: exact keys, verdicts and decodes.
    Vector,
    /// Each system validates its own keys and decodes what it encoded.
    Roundtrip,
    /// Old-issued keys validate in the new system, with the same decode.
    Backward,
    /// New-issued keys validate in every shipped release the entitlement covers.
    Forward,
    /// New-issued keys validate in the old system.
    Rollback,
    /// Implementations of one format issue byte-identical keys.
    Parity,
    /// Mutated keys get the same accept/reject from old and new.
    Tamper,
    /// Verdicts agree on a grid of days around every expiry.
    Time,
    /// A validator in a child process answers the same under other time
    /// zones, locales and calendars as in keycompat's own environment.
    Env,
}

impl Check {
    /// Every check, in report order.
    pub const ALL: [Check; 9] = [
        Check::Vector,
        Check::Roundtrip,
        Check::Backward,
        Check::Forward,
        Check::Rollback,
        Check::Parity,
        Check::Tamper,
        Check::Time,
        Check::Env,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Vector => "vector",
            Check::Roundtrip => "roundtrip",
            Check::Backward => "backward",
            Check::Forward => "forward",
            Check::Rollback => "rollback",
            Check::Parity => "parity",
            Check::Tamper => "tamper",
            Check::Time => "time",
            Check::Env => "env",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s.to_ascii_lowercase())
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().to_ascii_uppercase())
    }
}

/// How bad a finding is (README, "What it does").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A key that must validate is rejected: customers locked out.
    Outage,
    /// A key that must be rejected is accepted: revenue or security risk.
    Leak,
    /// Accepted, but decodes to different fields (or keys differ in PARITY).
    Drift,
    /// An implementation crashed, hung or returned garbage.
    Crash,
    /// Setup or harness failure: never counted as a pass.
    Error,
}

impl Severity {
    /// Every severity, worst first.
    pub const ALL: [Severity; 5] = [
        Severity::Outage,
        Severity::Leak,
        Severity::Crash,
        Severity::Error,
        Severity::Drift,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Outage => "outage",
            Severity::Leak => "leak",
            Severity::Drift => "drift",
            Severity::Crash => "crash",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a case came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Source {
    /// A random case: regenerate it from the seed and index.
    Random {
        /// The run's seed (a string in JSON: exact in every reader).
        #[serde(with = "crate::json_u64")]
        seed: u64,
        /// The case index.
        index: u64,
    },
    /// A vector (or saved regression) by id.
    Vector {
        /// The vector's stable id.
        id: String,
        /// The file it came from, relative to the vectors directory.
        file: String,
    },
    /// A random case steered into a combination coverage had not reached.
    Steered {
        /// The run's seed (a string in JSON: exact in every reader).
        #[serde(with = "crate::json_u64")]
        seed: u64,
        /// The index of the random case it started from.
        index: u64,
        /// The combination it was steered into.
        target: String,
    },
    /// A row of an order export, dual-run through both systems.
    Order {
        /// The export file.
        file: String,
        /// The row's first line.
        line: u64,
        /// The order id.
        order_id: String,
    },
    /// A row of a field-key export: a key already in a customer's hands.
    FieldKey {
        /// The export file.
        file: String,
        /// The row's first line.
        line: u64,
    },
    /// A system started under one of ENV's environments: no case, the
    /// start itself failed.
    Start {
        /// The system.
        system: String,
        /// The environment, as reports label it (`LANG=th_TH.UTF-8`).
        environment: String,
    },
}

/// The identity of a root cause: findings with equal keys are one group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupKey {
    /// The check.
    pub check: Check,
    /// The severity.
    pub severity: Severity,
    /// The system that issued the key (or, for vectors, the system under test).
    pub generator: String,
    /// The system or release that validated it, if any.
    pub validator: Option<String>,
    /// A short, stable description of what went wrong, e.g.
    /// `acme-ed1 key rejected: malformed` or `drift: features`.
    pub cause: String,
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.check, self.severity, self.generator)?;
        if let Some(v) = &self.validator {
            write!(f, " -> {v}")?;
        }
        write!(f, ": {}", self.cause)
    }
}

/// One failing observation, with everything needed to understand and replay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The root cause this finding belongs to.
    #[serde(flatten)]
    pub key: GroupKey,
    /// The case's stable id.
    pub case_id: String,
    /// Where the case came from.
    pub source: Source,
    /// The entitlement, when the case has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<Entitlement>,
    /// The key validated (lossy UTF-8), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_key: Option<String>,
    /// The validation context, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    /// What was expected, in words.
    pub expected: String,
    /// What happened, in words.
    pub found: String,
    /// The validator's full answer, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    /// Field differences, for drift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<FieldDiff>,
    /// The field the old system named when it refused to issue the
    /// entitlement (what the old format cannot carry), if it refused; or
    /// the field another generator of its format refused where the old
    /// system's key does not carry the entitlement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_refused: Option<String>,
    /// Set when the outage was avoidable: the generator (and its format) whose
    /// key for the same entitlement the same validator accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avoidable: Option<String>,
}

impl Finding {
    /// How "small" the example is: groups keep their smallest finding, so the
    /// report shows the simplest entitlement that fails.
    pub fn size(&self) -> usize {
        /// Counts bytes instead of keeping them: sizes are compared for
        /// every finding a run makes.
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0 += b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        self.entitlement
            .as_ref()
            .map(|e| {
                let mut c = Count(0);
                serde_json::to_writer(&mut c, e).map_or(0, |()| c.0)
            })
            .unwrap_or(0)
            + self.license_key.as_ref().map(String::len).unwrap_or(0)
    }
}

impl GroupKey {
    /// A short, stable id of the root cause (`g-` and 10 hex digits of a
    /// SHA-256 of its fields): the same on every machine and in every run,
    /// so `keycompat replay --report R --finding ID` can name a group.
    pub fn id(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.check.as_str(),
            self.severity.as_str(),
            self.generator,
            self.validator.as_deref().unwrap_or(""),
            self.cause
        );
        format!("g-{}", &hex::encode(Sha256::digest(text.as_bytes()))[..10])
    }
}

/// All findings of one root cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The root cause's stable id ([`GroupKey::id`]).
    #[serde(default)]
    pub id: String,
    /// The root cause.
    #[serde(flatten)]
    pub key: GroupKey,
    /// How many findings.
    pub count: u64,
    /// The smallest finding of the group, as it occurred.
    pub example: Finding,
    /// The example shrunk to a minimal entitlement that fails the same way
    /// (random cases, when shrinking ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<Finding>,
    /// The example, run again alone before shrinking, did not fail the same
    /// way: the system answers one question differently from call to call
    /// (nondeterminism), or only among other calls (a batch or concurrency
    /// bug). The finding stands; its replay may not show it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreproduced: bool,
    /// The command that replays the example.
    pub replay: String,
    /// The waiver that covers this group, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived_by: Option<String>,
}
