//! VECTOR: each shared vector against the implementations it names. Each
//! answer that differs from the vector becomes a [`Finding`] of the VECTOR
//! check, classified by [`crate::judge`] (a rejected valid key is an outage,
//! an accepted invalid key or a decode that grants more a leak, a failed
//! call a crash, anything else that differs drift).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::matrix::own_context;
use crate::entitlement::Entitlement;
use crate::finding::{Check, Finding, GroupKey, Severity, Source};
use crate::implementation::{CallFailure, FailureKind, GenerateFailure, Implementation};
use crate::judge::{self, Expect, ExpectKey, Miss};
use crate::vectors::{EntitlementVector, ExpectedKey, KeyVector, VectorResult};
use crate::verdict::{Context, Validation};

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
        // The kind `crash` (a worker's or a process plugin's process died)
        // would read "crash: crash": say what happened instead.
        Miss::Failed(f) if f.kind == FailureKind::Crash => "crash: process died".into(),
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

/// Items per batch call: a batch is one request to a worker or a process
/// plugin (a round trip each, where single calls paid one per vector), and
/// a bound on what one call holds in memory.
const CHUNK: usize = 256;

/// Checks an entitlement vector: every generator of each format named in
/// `keys` must issue exactly the expected key, or refuse naming the expected
/// field. `generators` maps a format to its `(system, implementation)`s;
/// formats it does not name are not checked.
pub fn check_entitlement_vector(
    v: &EntitlementVector,
    generators: &GeneratorsByFormat,
) -> VectorOutcome {
    check_entitlement_vectors(&[v], generators)
        .pop()
        .unwrap_or_default()
}

/// [`check_entitlement_vector`] for many vectors, one outcome each in their
/// order: each generator is asked for all its keys in batch calls of
/// [`CHUNK`] entitlements, then every answer is judged as one call's would
/// be.
pub fn check_entitlement_vectors(
    vectors: &[&EntitlementVector],
    generators: &GeneratorsByFormat,
) -> Vec<VectorOutcome> {
    let mut answers: HashMap<(usize, &str, &str), Result<String, GenerateFailure>> = HashMap::new();
    for (format, systems) in generators {
        let asked: Vec<usize> = (0..vectors.len())
            .filter(|&i| vectors[i].keys.contains_key(format))
            .collect();
        for (system, implementation) in systems {
            for chunk in asked.chunks(CHUNK) {
                let entitlements: Vec<&Entitlement> =
                    chunk.iter().map(|&i| &vectors[i].entitlement).collect();
                let got = implementation.generate_batch(&entitlements);
                for (&i, answer) in chunk.iter().zip(got) {
                    answers.insert((i, format.as_str(), system.as_str()), answer);
                }
            }
        }
    }
    vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            judge_entitlement_vector(v, generators, |format, system| {
                answers
                    .remove(&(i, format, system))
                    .unwrap_or_else(|| Err(GenerateFailure::Failed(unanswered())))
            })
        })
        .collect()
}

/// The failure of an item a batch call returned no answer for (an
/// implementation that breaks the batch contract: one answer per item).
fn unanswered() -> CallFailure {
    CallFailure::new(
        FailureKind::Protocol,
        "the batch call returned fewer answers than items",
    )
}

/// Judges the answers `answer(format, system)` gave to an entitlement
/// vector.
fn judge_entitlement_vector<'g>(
    v: &EntitlementVector,
    generators: &'g GeneratorsByFormat,
    mut answer: impl FnMut(&'g str, &'g str) -> Result<String, GenerateFailure>,
) -> VectorOutcome {
    let header = Header {
        id: &v.id,
        file: &v.file,
        result: v.result,
    };
    let mut outcome = VectorOutcome::default();
    for (format, expected) in &v.keys {
        let Some((format, systems)) = generators.get_key_value(format) else {
            continue;
        };
        for (system, _) in systems {
            let answer = answer(format, system);
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

/// Checks the keys that `issuers` (systems that choose a format per
/// entitlement, as a new system issuing the legacy format where shipped
/// products need it does, and that no `[formats]` entry lists) issue for
/// the entitlement vectors: each key is validated by its own issuer in the
/// entitlement's own context to learn its format, and where the vector
/// gives an exact key in that format, the key must be exactly it. A refusal
/// naming a field no format of the vector refuses is a failure (the vector
/// pins keys only where formats issue). Other refusals and failed calls are
/// not judged here: every entitlement vector also runs through the matrix
/// as a case, whose ROUNDTRIP makes these same calls and judges them (a
/// crash is recorded once). One outcome per vector, in their
/// order.
pub fn check_issued_keys(
    vectors: &[&EntitlementVector],
    issuers: &SystemsByName,
) -> Vec<VectorOutcome> {
    let exact = |v: &EntitlementVector| v.keys.values().any(|k| matches!(k, ExpectedKey::Key(_)));
    let asked: Vec<usize> = (0..vectors.len()).filter(|&i| exact(vectors[i])).collect();
    let mut outcomes = vec![VectorOutcome::default(); vectors.len()];
    for (system, implementation) in issuers {
        for chunk in asked.chunks(CHUNK) {
            let entitlements: Vec<&Entitlement> =
                chunk.iter().map(|&i| &vectors[i].entitlement).collect();
            let keys = implementation.generate_batch(&entitlements);
            let contexts: Vec<Context> = entitlements.iter().map(|e| own_context(e)).collect();
            let issued: Vec<(usize, &str, &Context)> = chunk
                .iter()
                .zip(&keys)
                .zip(&contexts)
                .filter_map(|((&i, key), ctx)| Some((i, key.as_ref().ok()?.as_str(), ctx)))
                .collect();
            let requests: Vec<(&[u8], &Context)> =
                issued.iter().map(|(_, k, c)| (k.as_bytes(), *c)).collect();
            let mut validations = implementation.validate_batch(&requests).into_iter();
            let mut formats: HashMap<usize, Result<Validation, CallFailure>> = HashMap::new();
            for (i, _, _) in &issued {
                let v = validations.next().unwrap_or_else(|| Err(unanswered()));
                formats.insert(*i, v);
            }
            for (&i, key) in chunk.iter().zip(keys) {
                let own = formats.remove(&i);
                judge_issued_key(vectors[i], system, key, own, &mut outcomes[i]);
            }
        }
    }
    outcomes
}

/// Judges the key `system` issued for vector `v` (see [`check_issued_keys`]),
/// `own` being its own validation of it.
fn judge_issued_key(
    v: &EntitlementVector,
    system: &str,
    key: Result<String, GenerateFailure>,
    own: Option<Result<Validation, CallFailure>>,
    outcome: &mut VectorOutcome,
) {
    let header = Header {
        id: &v.id,
        file: &v.file,
        result: v.result,
    };
    let base = Finding {
        entitlement: Some(v.entitlement.clone()),
        license_key: key.as_ref().ok().cloned(),
        ..base_finding(&header, system)
    };
    if let Err(GenerateFailure::Refused { field, .. }) = &key {
        // A refusal no format of the vector shares, where the vector pins
        // a key: whatever format the system issues in, the vector says it
        // is not refused.
        let shared = v
            .keys
            .values()
            .any(|k| matches!(k, ExpectedKey::Refused(f) if f == field));
        if !shared {
            let pinned: Vec<&str> = v
                .keys
                .iter()
                .filter(|(_, k)| matches!(k, ExpectedKey::Key(_)))
                .map(|(f, _)| f.as_str())
                .collect();
            let missed = judge::generation(ExpectKey::Issued, &key).map(|miss| Missed {
                license_key: None,
                miss,
                expected: format!(
                    "a key: the vector pins one in {} and no format refuses {field}",
                    pinned.join(", ")
                ),
                validation: None,
            });
            outcome.record(&header, system, missed, base);
        }
        return;
    }
    let (Ok(key), Some(Ok(validation))) = (key, own) else {
        return;
    };
    let Some((format, ExpectedKey::Key(expected))) = validation
        .format
        .as_ref()
        .and_then(|f| v.keys.get_key_value(f))
    else {
        return;
    };
    let answer = Ok(key);
    let missed = judge::generation(ExpectKey::Key(expected), &answer).map(|miss| Missed {
        license_key: answer.as_ref().ok().cloned(),
        miss,
        expected: format!(
            "{}: the format {system} issued it in, as its own validator says",
            describe_expected_key(format, &ExpectedKey::Key(expected.clone()))
        ),
        validation: None,
    });
    outcome.record(&header, system, missed, base);
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
    check_key_vectors(&[v], systems).pop().unwrap_or_default()
}

/// [`check_key_vector`] for many vectors, one outcome each in their order:
/// each system validates all the keys it is named for in batch calls of
/// [`CHUNK`] keys, then every answer is judged as one call's would be.
pub fn check_key_vectors(vectors: &[&KeyVector], systems: &SystemsByName) -> Vec<VectorOutcome> {
    let mut answers: HashMap<(usize, &str), Result<Validation, CallFailure>> = HashMap::new();
    for (system, implementation) in systems {
        let asked: Vec<usize> = (0..vectors.len())
            .filter(|&i| vectors[i].expect.contains_key(system))
            .collect();
        for chunk in asked.chunks(CHUNK) {
            let requests: Vec<(&[u8], &Context)> = chunk
                .iter()
                .map(|&i| (vectors[i].key.as_slice(), &vectors[i].context))
                .collect();
            let got = implementation.validate_batch(&requests);
            for (&i, answer) in chunk.iter().zip(got) {
                answers.insert((i, system.as_str()), answer);
            }
        }
    }
    vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            judge_key_vector(v, systems, |system| {
                answers
                    .remove(&(i, system))
                    .unwrap_or_else(|| Err(unanswered()))
            })
        })
        .collect()
}

/// Judges the answers `answer(system)` gave to a key vector.
fn judge_key_vector<'s>(
    v: &KeyVector,
    systems: &'s SystemsByName,
    mut answer: impl FnMut(&'s str) -> Result<Validation, CallFailure>,
) -> VectorOutcome {
    let header = Header {
        id: &v.id,
        file: &v.file,
        result: v.result,
    };
    let mut outcome = VectorOutcome::default();
    for (system, &expected) in &v.expect {
        let Some((system, _)) = systems.get_key_value(system) else {
            continue;
        };
        let answer = answer(system);
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::catalog::Catalog;
    use crate::implementation::ImplInfo;
    use crate::schemes::demo;
    use crate::schemes::lk1::Lk1System;
    use crate::schemes::new_system::NewSystemImpl;
    use crate::vectors::{VectorSet, load_dir};

    fn shared_vectors() -> VectorSet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
        load_dir(&dir, &Catalog::acme()).expect("the shared vectors load")
    }

    /// The demo's builtins as `old` and `new`, and `short`: the new system
    /// behind a batch call that drops its last answer.
    fn systems() -> SystemsByName {
        let old: Arc<dyn Implementation> =
            Arc::new(Lk1System::from_settings(&Catalog::acme(), &demo::lk1()).unwrap());
        let new: Arc<dyn Implementation> =
            Arc::new(NewSystemImpl::from_settings(&Catalog::acme(), &demo::new_system()).unwrap());
        let short: Arc<dyn Implementation> = Arc::new(Short(new.clone()));
        [("old", old), ("new", new), ("short", short)]
            .into_iter()
            .map(|(n, s)| (n.to_string(), s))
            .collect()
    }

    struct Short(Arc<dyn Implementation>);

    impl Implementation for Short {
        fn info(&self) -> &ImplInfo {
            self.0.info()
        }
        fn generate(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
            self.0.generate(e)
        }
        fn validate(&self, key: &[u8], ctx: &Context) -> Result<Validation, CallFailure> {
            self.0.validate(key, ctx)
        }
        fn generate_batch(&self, es: &[&Entitlement]) -> Vec<Result<String, GenerateFailure>> {
            let mut all = self.0.generate_batch(es);
            all.pop();
            all
        }
        fn validate_batch(
            &self,
            requests: &[(&[u8], &Context)],
        ) -> Vec<Result<Validation, CallFailure>> {
            let mut all = self.0.validate_batch(requests);
            all.pop();
            all
        }
    }

    #[test]
    fn batched_vectors_are_judged_as_one_by_one() {
        let set = shared_vectors();
        let systems = systems();
        let trusted: SystemsByName = systems
            .iter()
            .filter(|(n, _)| *n != "short")
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        let keys: Vec<&KeyVector> = set.keys.iter().collect();
        assert!(keys.len() > CHUNK, "more key vectors than one batch call");
        let batched = check_key_vectors(&keys, &trusted);
        let single: Vec<VectorOutcome> =
            keys.iter().map(|k| check_key_vector(k, &trusted)).collect();
        assert_eq!(batched, single);
        assert!(batched.iter().any(|o| !o.observations.is_empty()));

        let generators: GeneratorsByFormat = ["acme-lk1", "acme-ed1"]
            .into_iter()
            .map(|f| {
                (
                    f.to_string(),
                    vec![("new".to_string(), systems["new"].clone())],
                )
            })
            .collect();
        let entitlements: Vec<&EntitlementVector> = set.entitlements.iter().collect();
        let batched = check_entitlement_vectors(&entitlements, &generators);
        let single: Vec<VectorOutcome> = entitlements
            .iter()
            .map(|e| check_entitlement_vector(e, &generators))
            .collect();
        assert_eq!(batched, single);
        assert!(batched.iter().any(|o| !o.observations.is_empty()));
    }

    #[test]
    fn an_item_a_batch_left_unanswered_is_a_crash_of_that_item() {
        let set = shared_vectors();
        let systems = systems();
        // Key vectors that expect a verdict of `new`, judged by `short`.
        let keys: Vec<KeyVector> = set
            .keys
            .iter()
            .filter_map(|k| {
                let verdict = *k.expect.get("new")?;
                let mut k = k.clone();
                k.expect = [("short".to_string(), verdict)].into();
                Some(k)
            })
            .take(3)
            .collect();
        assert_eq!(keys.len(), 3);
        let refs: Vec<&KeyVector> = keys.iter().collect();
        let outcomes = check_key_vectors(&refs, &systems);
        let failed: Vec<&Finding> = outcomes.iter().flat_map(|o| &o.findings).collect();
        assert_eq!(failed.len(), 1, "{failed:#?}");
        assert_eq!(failed[0].case_id, keys[2].id);
        assert_eq!(failed[0].key.cause, "crash: protocol");
        assert!(
            failed[0].found.contains("fewer answers"),
            "{}",
            failed[0].found
        );
    }
}
