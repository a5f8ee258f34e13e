//! The one judge: given what an answer should have been and what it was,
//! says whether it is a finding, of which severity, and why.
//!
//! Every place that compares an answer with an expectation (the checks of the
//! matrix, shared vectors, field keys, orders) asks this module, so "a
//! rejected key that must validate" is an outage, "an accepted key that must
//! be rejected" or "a decode that grants more than was sold" a leak, and "a
//! call that did not answer" a crash, wherever it is observed. Callers only
//! add where the observation was made (the cell, the key, the context).

use std::collections::BTreeSet;

use crate::finding::Severity;
use crate::implementation::{CallFailure, GenerateFailure};
use crate::verdict::{Decoded, Field, FieldDiff, Validation, Verdict};

/// What a validator's answer should be.
#[derive(Debug, Clone, Copy)]
pub enum Expect<'a> {
    /// Valid; when `reference` is given, decoding to its fields (those both
    /// sides carry, and of the features only those in `known_features`).
    Valid {
        /// The decode to compare with, if any.
        reference: Option<&'a Decoded>,
        /// The features the validator knows (`None`: all).
        known_features: Option<&'a BTreeSet<String>>,
        /// A decode of the same key whose every carried field this one
        /// must carry too (the issuing system's own: a validator of the
        /// same format that leaves a field out cannot be seeing it).
        carries: Option<&'a Decoded>,
    },
    /// Rejected, for any reason.
    Rejected,
    /// Exactly this verdict; when it decodes, every field `decoded` carries
    /// must be carried and equal (a shared vector's expectation).
    Exactly {
        /// The verdict.
        verdict: Verdict,
        /// The fields the decode must have.
        decoded: Option<&'a Decoded>,
    },
}

impl Expect<'_> {
    /// Valid, decode not compared.
    pub const ACCEPTED: Expect<'static> = Expect::Valid {
        reference: None,
        known_features: None,
        carries: None,
    };

    /// The expectation in words, as reports print it.
    pub fn describe(&self) -> String {
        match self {
            Expect::Valid { .. } => "valid".into(),
            Expect::Rejected => "rejected".into(),
            Expect::Exactly {
                verdict,
                decoded: Some(_),
            } if verdict.decodes() => format!("{verdict} with the expected decode"),
            Expect::Exactly { verdict, .. } => verdict.to_string(),
        }
    }
}

/// Why an answer is a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// A key that must validate was rejected.
    Rejected(Verdict),
    /// A key that must be rejected was accepted.
    Accepted,
    /// Rejected, but for another reason than required.
    OtherVerdict {
        /// The verdict required.
        expected: Verdict,
        /// The verdict found.
        found: Verdict,
    },
    /// Accepted, but the decode grants more than expected (a leak).
    GrantsMore(Vec<FieldDiff>),
    /// Accepted, but the decode differs without granting more.
    Decode(Vec<FieldDiff>),
    /// The generator issued another key than required.
    KeyDiffers {
        /// The key found.
        found: String,
    },
    /// The generator refused where a key was required, refused another
    /// field, or issued a key where a refusal was required.
    Refusal {
        /// What the generator did, in words.
        found: String,
    },
    /// The generator refused an entitlement that the other system issues:
    /// customers who cannot get a key.
    Refused {
        /// The field the refusal named.
        field: String,
        /// Its message.
        reason: String,
    },
    /// The call did not answer: the implementation crashed, hung, broke the
    /// ABI or the protocol, or failed.
    Failed(CallFailure),
}

impl Miss {
    /// How bad it is for customers. Every call failure is a crash: nothing
    /// an implementation does can silently turn into a pass or an error of
    /// the harness.
    pub fn severity(&self) -> Severity {
        match self {
            Miss::Rejected(_) | Miss::Refused { .. } => Severity::Outage,
            Miss::Accepted | Miss::GrantsMore(_) => Severity::Leak,
            Miss::OtherVerdict { .. }
            | Miss::Decode(_)
            | Miss::KeyDiffers { .. }
            | Miss::Refusal { .. } => Severity::Drift,
            Miss::Failed(_) => Severity::Crash,
        }
    }

    /// A short, stable cause (group keys are built from it): `rejected:
    /// expired`, `accepted`, `grants more: seats`, `drift: features`, ...
    pub fn cause(&self) -> String {
        match self {
            Miss::Rejected(v) => format!("rejected: {v}"),
            Miss::Accepted => "accepted".into(),
            Miss::OtherVerdict { .. } => "verdict differs".into(),
            Miss::GrantsMore(d) => format!("grants more: {}", fields(d)),
            Miss::Decode(d) => format!("drift: {}", fields(d)),
            Miss::KeyDiffers { .. } => "key differs".into(),
            Miss::Refusal { .. } => "refusal differs".into(),
            Miss::Refused { field, .. } => format!("refused: {field}"),
            Miss::Failed(f) => format!("failed: {}", failure_kind(f)),
        }
    }

    /// The field differences of a decode miss.
    pub fn diffs(&self) -> &[FieldDiff] {
        match self {
            Miss::GrantsMore(d) | Miss::Decode(d) => d,
            _ => &[],
        }
    }

    /// What was found, in words, given the validator's answer (if any).
    pub fn found(&self, validation: Option<&Validation>) -> String {
        match self {
            Miss::GrantsMore(d) | Miss::Decode(d) => d
                .iter()
                .map(|d| format!("{} {} (expected {})", d.field, d.found, d.expected))
                .collect::<Vec<_>>()
                .join("; "),
            Miss::KeyDiffers { found } => format!("key {found}"),
            Miss::Refusal { found } => found.clone(),
            Miss::Refused { field, reason } => format!("refused: {field}: {reason}"),
            Miss::Failed(f) => f.message.clone(),
            _ => validation.map(verdict_text).unwrap_or_default(),
        }
    }
}

/// Judges a validator's answer against `expect`: `None` when it is right.
pub fn validation(expect: Expect<'_>, found: &Result<Validation, CallFailure>) -> Option<Miss> {
    let v = match found {
        Ok(v) => v,
        Err(f) => return Some(Miss::Failed(f.clone())),
    };
    let valid = v.verdict == Verdict::Valid;
    match expect {
        Expect::Valid { .. } | Expect::Exactly { .. } if !valid && expected_valid(expect) => {
            Some(Miss::Rejected(v.verdict))
        }
        Expect::Rejected | Expect::Exactly { .. } if valid && !expected_valid(expect) => {
            Some(Miss::Accepted)
        }
        Expect::Rejected => None,
        Expect::Exactly { verdict, .. } if verdict != v.verdict => Some(Miss::OtherVerdict {
            expected: verdict,
            found: v.verdict,
        }),
        Expect::Exactly { verdict, decoded } => {
            let want = decoded.filter(|_| verdict.decodes())?;
            let diffs = required_fields(want, v.decoded.as_ref());
            decode_miss(diffs, v.decoded.as_ref(), want, None)
        }
        Expect::Valid {
            reference,
            known_features,
            carries,
        } => {
            let decoded = v.decoded.as_ref()?;
            let mut diffs = reference.map_or_else(Vec::new, |r| r.diff(decoded, known_features));
            if let Some(c) = carries {
                diffs.extend(not_carried(c, decoded));
                diffs.sort_by_key(|d| d.field);
            }
            decode_miss(diffs, Some(decoded), reference.or(carries)?, known_features)
        }
    }
}

fn expected_valid(expect: Expect<'_>) -> bool {
    match expect {
        Expect::Valid { .. } => true,
        Expect::Rejected => false,
        Expect::Exactly { verdict, .. } => verdict == Verdict::Valid,
    }
}

fn decode_miss(
    diffs: Vec<FieldDiff>,
    decoded: Option<&Decoded>,
    reference: &Decoded,
    known_features: Option<&BTreeSet<String>>,
) -> Option<Miss> {
    if diffs.is_empty() {
        return None;
    }
    let grants_more = decoded.is_some_and(|d| d.grants_more_than(reference, known_features));
    Some(if grants_more {
        Miss::GrantsMore(diffs)
    } else {
        Miss::Decode(diffs)
    })
}

/// What a generator should issue.
#[derive(Debug, Clone, Copy)]
pub enum ExpectKey<'a> {
    /// Exactly this key.
    Key(&'a str),
    /// A refusal naming this field.
    Refused(&'a str),
    /// Some key: the other system issues one for the same entitlement.
    Issued,
}

/// Judges a generator's answer against `expect`: `None` when it is right.
pub fn generation(expect: ExpectKey<'_>, found: &Result<String, GenerateFailure>) -> Option<Miss> {
    match (expect, found) {
        (ExpectKey::Issued, Ok(_)) => None,
        (ExpectKey::Issued, Err(GenerateFailure::Refused { field, reason })) => {
            Some(Miss::Refused {
                field: field.clone(),
                reason: reason.clone(),
            })
        }
        (ExpectKey::Key(k), Ok(key)) if k == key => None,
        (ExpectKey::Refused(f), Err(GenerateFailure::Refused { field, .. })) if f == field => None,
        (_, Err(GenerateFailure::Failed(f))) => Some(Miss::Failed(f.clone())),
        (ExpectKey::Key(_), Ok(key)) => Some(Miss::KeyDiffers { found: key.clone() }),
        (_, found) => Some(Miss::Refusal {
            found: describe_generated(found),
        }),
    }
}

/// Two generators of one format (PARITY): `None` when they agree (the same
/// key, or refusals of the same field). Failures are judged on their own.
pub fn parity(
    a: &Result<String, GenerateFailure>,
    b: &Result<String, GenerateFailure>,
) -> Option<Miss> {
    use GenerateFailure::{Failed, Refused};
    match (a, b) {
        (Err(Failed(_)), _) | (_, Err(Failed(_))) => None,
        (Ok(x), Ok(y)) if x == y => None,
        (Err(Refused { field: f1, .. }), Err(Refused { field: f2, .. })) if f1 == f2 => None,
        (Ok(_), Ok(y)) => Some(Miss::KeyDiffers { found: y.clone() }),
        _ => Some(Miss::Refusal {
            found: describe_generated(b),
        }),
    }
}

/// A generator's answer in words.
pub fn describe_generated(r: &Result<String, GenerateFailure>) -> String {
    match r {
        Ok(k) => k.clone(),
        Err(GenerateFailure::Refused { field, reason }) => format!("refused: {field}: {reason}"),
        Err(GenerateFailure::Failed(f)) => format!("failed: {f}"),
    }
}

/// A verdict with its reason, as reports print it.
pub fn verdict_text(v: &Validation) -> String {
    match &v.reason {
        Some(r) => format!("{} ({r})", v.verdict),
        None => v.verdict.to_string(),
    }
}

/// Whether a finding's cause is a call that timed out (`... failed:
/// timeout`, as [`Miss::cause`] words it).
pub fn cause_is_timeout(cause: &str) -> bool {
    cause.ends_with("failed: timeout")
}

/// The snake_case name of a failure's kind (`crash`, `timeout`, ...).
pub fn failure_kind(f: &CallFailure) -> String {
    serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{:?}", f.kind))
}

fn fields(diffs: &[FieldDiff]) -> String {
    diffs
        .iter()
        .map(|d| d.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Differences between a partial expected decode and the decode found: every
/// field `want` carries must be carried, and equal.
fn required_fields(want: &Decoded, got: Option<&Decoded>) -> Vec<FieldDiff> {
    let got = got.cloned().unwrap_or_default();
    let mut diffs = want.diff(&got, None);
    diffs.extend(not_carried(want, &got));
    diffs.sort_by_key(|d| d.field);
    diffs
}

/// The fields `want` carries and `got` leaves out, as differences.
fn not_carried(want: &Decoded, got: &Decoded) -> Vec<FieldDiff> {
    let missing: BTreeSet<Field> = want.carried().difference(&got.carried()).copied().collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let want_json = serde_json::to_value(want).unwrap_or_default();
    missing
        .into_iter()
        .map(|field| FieldDiff {
            field,
            expected: want_json
                .get(field.as_str())
                .map(|v| v.to_string())
                .unwrap_or_default(),
            found: "(not carried)".to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::implementation::FailureKind;

    fn answer(verdict: Verdict, decoded: Option<Decoded>) -> Result<Validation, CallFailure> {
        Ok(Validation {
            verdict,
            format: None,
            reason: None,
            decoded,
        })
    }

    fn seats(n: Option<u32>) -> Decoded {
        Decoded {
            seats: Some(n),
            ..Decoded::default()
        }
    }

    #[test]
    fn a_rejected_key_that_must_validate_is_an_outage() {
        let m = validation(Expect::ACCEPTED, &answer(Verdict::Expired, None)).unwrap();
        assert_eq!(m.severity(), Severity::Outage);
        assert_eq!(m.cause(), "rejected: expired");
    }

    #[test]
    fn an_accepted_key_that_must_be_rejected_is_a_leak() {
        let m = validation(Expect::Rejected, &answer(Verdict::Valid, None)).unwrap();
        assert_eq!(m.severity(), Severity::Leak);
        let exact = Expect::Exactly {
            verdict: Verdict::BadSignature,
            decoded: None,
        };
        assert_eq!(
            validation(exact, &answer(Verdict::Valid, None)),
            Some(Miss::Accepted)
        );
    }

    #[test]
    fn a_decode_that_grants_more_is_a_leak_wherever_it_is_judged() {
        let sold = seats(Some(5));
        for expect in [
            Expect::Valid {
                reference: Some(&sold),
                known_features: None,
                carries: None,
            },
            Expect::Exactly {
                verdict: Verdict::Valid,
                decoded: Some(&sold),
            },
        ] {
            let more = validation(expect, &answer(Verdict::Valid, Some(seats(None)))).unwrap();
            assert_eq!(more.severity(), Severity::Leak, "{expect:?}");
            assert_eq!(more.cause(), "grants more: seats");
            let fewer = validation(expect, &answer(Verdict::Valid, Some(seats(Some(4))))).unwrap();
            assert_eq!(fewer.severity(), Severity::Drift, "{expect:?}");
        }
    }

    #[test]
    fn every_call_failure_is_a_crash() {
        for kind in [
            FailureKind::BadArgument,
            FailureKind::Unsupported,
            FailureKind::Internal,
            FailureKind::Panic,
            FailureKind::Protocol,
            FailureKind::Crash,
            FailureKind::Timeout,
        ] {
            let failed = Err(CallFailure::new(kind, "boom"));
            for expect in [Expect::ACCEPTED, Expect::Rejected] {
                let m = validation(expect, &failed).unwrap();
                assert_eq!(m.severity(), Severity::Crash, "{kind:?}");
            }
            let g = generation(
                ExpectKey::Key("K"),
                &Err(GenerateFailure::Failed(CallFailure::new(kind, "boom"))),
            );
            assert_eq!(g.unwrap().severity(), Severity::Crash);
        }
    }

    #[test]
    fn another_rejection_than_required_is_drift() {
        let exact = Expect::Exactly {
            verdict: Verdict::Malformed,
            decoded: None,
        };
        let m = validation(exact, &answer(Verdict::BadSignature, None)).unwrap();
        assert_eq!(m.severity(), Severity::Drift);
        assert_eq!(
            validation(Expect::Rejected, &answer(Verdict::Expired, None)),
            None
        );
    }

    #[test]
    fn generation_and_parity() {
        let refused = Err(GenerateFailure::Refused {
            field: "seats".into(),
            reason: "too many".into(),
        });
        assert_eq!(generation(ExpectKey::Refused("seats"), &refused), None);
        let m = generation(ExpectKey::Key("A"), &refused).unwrap();
        assert_eq!(m.severity(), Severity::Drift);
        assert_eq!(
            generation(ExpectKey::Key("A"), &Ok("B".into())),
            Some(Miss::KeyDiffers { found: "B".into() })
        );
        assert_eq!(parity(&Ok("A".into()), &Ok("A".into())), None);
        assert!(parity(&Ok("A".into()), &refused).is_some());
        let m = generation(ExpectKey::Issued, &refused).unwrap();
        assert_eq!(m.severity(), Severity::Outage);
        assert_eq!(m.cause(), "refused: seats");
        assert_eq!(m.found(None), "refused: seats: too many");
        assert_eq!(generation(ExpectKey::Issued, &Ok("A".into())), None);
    }

    #[test]
    fn a_field_the_reference_carries_left_out_of_the_decode_is_drift() {
        let reference = Decoded {
            product: Some("acme-cad".into()),
            seats: Some(Some(5)),
            ..Decoded::default()
        };
        let without_seats = Decoded {
            product: Some("acme-cad".into()),
            ..Decoded::default()
        };
        let exactly = Expect::Exactly {
            verdict: Verdict::Valid,
            decoded: Some(&reference),
        };
        let found = answer(Verdict::Valid, Some(without_seats.clone()));
        match validation(exactly, &found) {
            Some(Miss::Decode(d)) => {
                assert_eq!(d.len(), 1, "{d:?}");
                assert_eq!(d[0].field, Field::Seats);
                assert_eq!(d[0].found, "(not carried)");
            }
            other => panic!("{other:?}"),
        }
        // Compared as `Valid` (a reference built from the entitlement, whose
        // fields a format may not carry), the same decode matches.
        let valid = Expect::Valid {
            reference: Some(&reference),
            known_features: None,
            carries: None,
        };
        assert_eq!(validation(valid, &found), None);
    }
}
