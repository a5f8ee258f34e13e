//! Checking one vector against implementations: each answer that differs
//! from the vector becomes a [`Finding`] of the VECTOR check, classified by
//! what it would mean for customers (a rejected valid key is an outage, an
//! accepted invalid key a leak, anything else that differs is drift).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::finding::{Check, Finding, GroupKey, Severity, Source};
use crate::implementation::{CallFailure, GenerateFailure, Implementation};
use crate::verdict::{Decoded, Field, FieldDiff, Validation, Verdict};

use super::model::{EntitlementVector, ExpectedKey, KeyVector};
use super::result::VectorResult;

/// The generators of each format: format name to `(system, implementation)`s
/// (the config's `[formats.NAME] generators`, opened).
pub type GeneratorsByFormat = BTreeMap<String, Vec<(String, Arc<dyn Implementation>)>>;

/// Implementations by system name.
pub type SystemsByName = BTreeMap<String, Arc<dyn Implementation>>;

/// What checking one vector observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VectorOutcome {
    /// One entry per system checked: its name and whether it passed.
    pub observations: Vec<(String, bool)>,
    /// The failures, one per failing system.
    pub findings: Vec<Finding>,
}

/// How one answer missed the vector.
struct Miss {
    severity: Severity,
    cause: String,
    expected: String,
    found: String,
    license_key: Option<String>,
    validation: Option<Validation>,
    diffs: Vec<FieldDiff>,
}

impl Miss {
    fn new(severity: Severity, cause: impl Into<String>, expected: String, found: String) -> Self {
        Miss {
            severity,
            cause: cause.into(),
            expected,
            found,
            license_key: None,
            validation: None,
            diffs: Vec::new(),
        }
    }

    /// Whether an `acceptable` vector still reports it: crashes and harness
    /// errors are never a legitimate difference.
    fn counts_when_acceptable(&self) -> bool {
        matches!(self.severity, Severity::Crash | Severity::Error)
    }
}

/// The common part of every vector, for building findings.
struct Header<'a> {
    id: &'a str,
    file: &'a str,
    result: VectorResult,
}

impl VectorOutcome {
    fn record(&mut self, header: &Header<'_>, system: &str, miss: Option<Miss>, base: Finding) {
        let miss = miss
            .filter(|m| header.result != VectorResult::Acceptable || m.counts_when_acceptable());
        self.observations.push((system.to_string(), miss.is_none()));
        if let Some(m) = miss {
            self.findings.push(Finding {
                key: GroupKey {
                    severity: m.severity,
                    cause: m.cause,
                    ..base.key
                },
                expected: m.expected,
                found: m.found,
                license_key: m.license_key.or(base.license_key),
                validation: m.validation,
                diffs: m.diffs,
                ..base
            });
        }
    }
}

fn base_finding(header: &Header<'_>, system: &str) -> Finding {
    Finding {
        key: GroupKey {
            check: Check::Vector,
            severity: Severity::Error,
            generator: system.to_string(),
            validator: None,
            cause: String::new(),
        },
        case_id: header.id.to_string(),
        source: Source::Vector {
            id: header.id.to_string(),
            file: header.file.to_string(),
        },
        entitlement: None,
        license_key: None,
        context: None,
        expected: String::new(),
        found: String::new(),
        validation: None,
        diffs: Vec::new(),
    }
}

/// Checks an entitlement vector: every generator of each format named in
/// `keys` must issue exactly the expected key, or refuse naming the expected
/// field. `generators` maps a format to its `(system, implementation)`s;
/// formats it does not name are not checked.
pub fn check_entitlement_vector(
    v: &EntitlementVector,
    generators: &GeneratorsByFormat,
) -> VectorOutcome {
    let header = Header {
        id: &v.id,
        file: &v.file,
        result: v.result,
    };
    let mut outcome = VectorOutcome::default();
    for (format, expected) in &v.keys {
        for (system, implementation) in generators.get(format).into_iter().flatten() {
            let answer = implementation.generate(&v.entitlement);
            let miss = judge_generated(format, expected, answer);
            let base = Finding {
                entitlement: Some(v.entitlement.clone()),
                ..base_finding(&header, system)
            };
            outcome.record(&header, system, miss, base);
        }
    }
    outcome
}

fn describe_expected_key(format: &str, expected: &ExpectedKey) -> String {
    match expected {
        ExpectedKey::Key(k) => format!("{format} key {k}"),
        ExpectedKey::Refused(field) => format!("{format} refused: {field}"),
    }
}

fn judge_generated(
    format: &str,
    expected: &ExpectedKey,
    answer: Result<String, GenerateFailure>,
) -> Option<Miss> {
    let want = describe_expected_key(format, expected);
    match (expected, answer) {
        (ExpectedKey::Key(k), Ok(key)) if *k == key => None,
        (ExpectedKey::Refused(f), Err(GenerateFailure::Refused { field, .. })) if *f == field => {
            None
        }
        (ExpectedKey::Key(_), Ok(key)) => {
            let mut m = Miss::new(
                Severity::Drift,
                "key differs from vector",
                want,
                format!("key {key}"),
            );
            m.license_key = Some(key);
            Some(m)
        }
        (ExpectedKey::Refused(_), Ok(key)) => {
            let mut m = Miss::new(
                Severity::Drift,
                "refusal differs",
                want,
                format!("key {key}"),
            );
            m.license_key = Some(key);
            Some(m)
        }
        (_, Err(GenerateFailure::Refused { field, reason })) => Some(Miss::new(
            Severity::Drift,
            "refusal differs",
            want,
            format!("refused: {field}: {reason}"),
        )),
        (_, Err(GenerateFailure::Failed(f))) => Some(failure(want, &f)),
    }
}

/// A failed call: a crash when the implementation misbehaved, an error
/// otherwise.
fn failure(expected: String, f: &CallFailure) -> Miss {
    let kind = kind_name(f);
    let (severity, cause) = if f.kind.is_crash() {
        (Severity::Crash, format!("crash: {kind}"))
    } else {
        (Severity::Error, format!("error: {kind}"))
    };
    Miss::new(severity, cause, expected, format!("failed: {f}"))
}

fn kind_name(f: &CallFailure) -> String {
    serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{:?}", f.kind))
}

/// Checks a key vector: every system named in `expect` and present in
/// `systems` must return the expected verdict and, where the verdict decodes,
/// the fields of `decoded`. Systems `expect` names that `systems` lacks are
/// not checked (lint reports names the config does not define).
pub fn check_key_vector(v: &KeyVector, systems: &SystemsByName) -> VectorOutcome {
    let header = Header {
        id: &v.id,
        file: &v.file,
        result: v.result,
    };
    let mut outcome = VectorOutcome::default();
    for (system, &expected) in &v.expect {
        let Some(implementation) = systems.get(system) else {
            continue;
        };
        let miss = match implementation.validate(&v.key, &v.context) {
            Err(f) => Some(failure(expected.to_string(), &f)),
            Ok(validation) => judge_validation(expected, v.decoded.as_ref(), validation),
        };
        let base = Finding {
            license_key: Some(String::from_utf8_lossy(&v.key).into_owned()),
            context: Some(v.context.clone()),
            ..base_finding(&header, system)
        };
        outcome.record(&header, system, miss, base);
    }
    outcome
}

fn judge_validation(
    expected: Verdict,
    want: Option<&Decoded>,
    validation: Validation,
) -> Option<Miss> {
    let found = validation.verdict;
    let mut miss = if found == expected {
        let want = want.filter(|_| expected.decodes())?;
        let diffs = decode_diffs(want, validation.decoded.as_ref());
        if diffs.is_empty() {
            return None;
        }
        let fields: Vec<&str> = diffs.iter().map(|d| d.field.as_str()).collect();
        let mut m = Miss::new(
            Severity::Drift,
            format!("drift: {}", fields.join(",")),
            format!("{expected} with the vector's decode"),
            format!("{found} with {} differing field(s)", diffs.len()),
        );
        m.diffs = diffs;
        m
    } else {
        let (severity, cause) = match (expected, found) {
            (Verdict::Valid, _) => (Severity::Outage, format!("rejected: {found}")),
            (_, Verdict::Valid) => (Severity::Leak, "accepted".to_string()),
            _ => (Severity::Drift, "verdict differs".to_string()),
        };
        Miss::new(severity, cause, expected.to_string(), found.to_string())
    };
    miss.validation = Some(validation);
    Some(miss)
}

/// Differences between a partial expected decode and the decode found: every
/// field `want` carries must be carried, and equal.
fn decode_diffs(want: &Decoded, got: Option<&Decoded>) -> Vec<FieldDiff> {
    let got = got.cloned().unwrap_or_default();
    let mut diffs = want.diff(&got, None);
    let missing: BTreeSet<Field> = want.carried().difference(&got.carried()).copied().collect();
    let want_json = serde_json::to_value(want).unwrap_or_default();
    for field in missing {
        diffs.push(FieldDiff {
            field,
            expected: want_json
                .get(field.as_str())
                .map(|v| v.to_string())
                .unwrap_or_default(),
            found: "(not carried)".to_string(),
        });
    }
    diffs.sort_by_key(|d| d.field);
    diffs
}
