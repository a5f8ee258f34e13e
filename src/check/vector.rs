//! VECTOR: each shared vector against the implementations it names. Each
//! answer that differs from the vector becomes a [`Finding`] of the VECTOR
//! check, classified by [`crate::judge`] (a rejected valid key is an outage,
//! an accepted invalid key or a decode that grants more a leak, a failed
//! call a crash, anything else that differs drift).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::finding::{Check, Finding, GroupKey, Severity, Source};
use crate::implementation::Implementation;
use crate::judge::{self, Expect, ExpectKey, Miss};
use crate::vectors::{EntitlementVector, ExpectedKey, KeyVector, VectorResult};
use crate::verdict::Validation;

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

/// How one answer missed the vector: the judge's word and the evidence.
struct Missed {
    miss: Miss,
    expected: String,
    license_key: Option<String>,
    validation: Option<Validation>,
}

impl Missed {
    /// Whether an `acceptable` vector still reports it: crashes are never a
    /// legitimate difference.
    fn counts_when_acceptable(&self) -> bool {
        matches!(self.miss, Miss::Failed(_))
    }
}

/// The common part of every vector, for building findings.
struct Header<'a> {
    id: &'a str,
    file: &'a str,
    result: VectorResult,
}

impl VectorOutcome {
    fn record(&mut self, header: &Header<'_>, system: &str, missed: Option<Missed>, base: Finding) {
        let missed = missed
            .filter(|m| header.result != VectorResult::Acceptable || m.counts_when_acceptable());
        self.observations
            .push((system.to_string(), missed.is_none()));
        if let Some(m) = missed {
            self.findings.push(Finding {
                key: GroupKey {
                    severity: m.miss.severity(),
                    cause: cause(&m.miss),
                    ..base.key
                },
                expected: m.expected,
                found: m.miss.found(m.validation.as_ref()),
                license_key: m.license_key.or(base.license_key),
                diffs: m.miss.diffs().to_vec(),
                validation: m.validation,
                ..base
            });
        }
    }
}

/// A vector miss's cause: the judge's, with the failure's kind for crashes.
fn cause(miss: &Miss) -> String {
    match miss {
        Miss::Failed(f) => format!("crash: {}", judge::failure_kind(f)),
        Miss::KeyDiffers { .. } => "key differs from vector".into(),
        other => other.cause(),
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
        old_refused: None,
        avoidable: None,
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
            let expect = match expected {
                ExpectedKey::Key(k) => ExpectKey::Key(k),
                ExpectedKey::Refused(f) => ExpectKey::Refused(f),
            };
            let missed = judge::generation(expect, &answer).map(|miss| Missed {
                license_key: answer.as_ref().ok().cloned(),
                miss,
                expected: describe_expected_key(format, expected),
                validation: None,
            });
            let base = Finding {
                entitlement: Some(v.entitlement.clone()),
                ..base_finding(&header, system)
            };
            outcome.record(&header, system, missed, base);
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
        let answer = implementation.validate(&v.key, &v.context);
        let expect = Expect::Exactly {
            verdict: expected,
            decoded: v.decoded.as_ref(),
        };
        let missed = judge::validation(expect, &answer).map(|miss| Missed {
            miss,
            expected: expect.describe(),
            license_key: None,
            validation: answer.ok(),
        });
        let base = Finding {
            license_key: Some(String::from_utf8_lossy(&v.key).into_owned()),
            context: Some(v.context.clone()),
            ..base_finding(&header, system)
        };
        outcome.record(&header, system, missed, base);
    }
    outcome
}
