//! PARITY: two implementations of one format (the C original and its Rust
//! reimplementation, the old emitter and the new system's legacy emitter)
//! issue byte-identical keys, or refuse the same field. Each case compares
//! every generator with a reference: the first listed, unless a strict
//! majority of the generators agree on an answer it does not give; then
//! the first of that majority, so the one that deviates is the one blamed.
//! Generators running the same code (builtin, library, script) are one vote.
//! A finding's generator is the one judged, its validator the reference.

use super::matrix::Generated;
use super::record::{At, Recorder, Words};
use crate::finding::Check;
use crate::implementation::GenerateFailure;
use crate::judge::{self, Miss};

pub(super) fn judge(r: &mut Recorder<'_>, generated: &Generated, i: usize) {
    let m = r.matrix;
    if !m.enabled(Check::Parity) {
        return;
    }
    for p in &m.parity {
        let (format, gens) = (&p.format, &p.generators);
        let answers: Vec<&Result<String, GenerateFailure>> =
            gens.iter().map(|g| &generated[g][i]).collect();
        let reference = reference(&answers, &p.code, &p.off_vector);
        for (j, other) in gens.iter().enumerate() {
            if j != reference {
                pair(
                    r,
                    format,
                    &gens[reference],
                    other,
                    answers[reference],
                    answers[j],
                );
            }
        }
    }
}

/// The index of the reference among `answers`: the first answer a strict
/// majority gives (the same key, or a refusal naming the same field), else
/// the first generator the vectors bear out (`off_vector[j]`: generator `j`
/// missed an entitlement vector), else the first. A failed
/// call agrees with nothing. `code[j]` names the code answer `j` runs (equal
/// for generators running the same builtin, library or script): one code is
/// one vote, since a copy shares its defects.
fn reference(
    answers: &[&Result<String, GenerateFailure>],
    code: &[usize],
    off_vector: &[bool],
) -> usize {
    use std::collections::BTreeSet;
    let class = |a: &Result<String, GenerateFailure>| match a {
        Ok(key) => Some((true, key.clone())),
        Err(GenerateFailure::Refused { field, .. }) => Some((false, field.clone())),
        Err(GenerateFailure::Failed(_)) => None,
    };
    let classes: Vec<_> = answers.iter().map(|a| class(a)).collect();
    let voters = code.iter().collect::<BTreeSet<_>>().len();
    let majority = (0..answers.len()).find(|&j| {
        let votes: BTreeSet<usize> = (0..answers.len())
            .filter(|&k| classes[k] == classes[j])
            .map(|k| code[k])
            .collect();
        classes[j].is_some() && 2 * votes.len() > voters
    });
    let borne_out = || (0..answers.len()).find(|&j| !off_vector.get(j).copied().unwrap_or(false));
    majority.or_else(borne_out).unwrap_or(0)
}

fn pair(
    r: &mut Recorder<'_>,
    format: &str,
    a: &str,
    b: &str,
    ka: &Result<String, GenerateFailure>,
    kb: &Result<String, GenerateFailure>,
) {
    let Some(miss) = judge::parity(ka, kb) else {
        // Failures are recorded once, by ROUNDTRIP's generation step.
        if !matches!(
            (ka, kb),
            (Err(GenerateFailure::Failed(_)), _) | (_, Err(GenerateFailure::Failed(_)))
        ) {
            r.pass(Check::Parity, b, Some(a));
        }
        return;
    };
    let refused = |k: &Result<String, GenerateFailure>| match k {
        Err(GenerateFailure::Refused { field, .. }) => Some(field.clone()),
        _ => None,
    };
    let cause = match (&miss, refused(ka), refused(kb)) {
        (Miss::KeyDiffers { .. }, _, _) => format!("{format} keys differ"),
        (_, Some(f1), Some(f2)) => format!("refuse different fields ({f1} vs {f2})"),
        (_, None, Some(f)) => format!("only {b} refuses ({f})"),
        (_, Some(f), None) => format!("{b} issues what {a} refuses ({f})"),
        (_, None, None) => miss.cause(),
    };
    // The generator judged is `b`, against the reference `a` (in the
    // validator's place): its row of the grid holds the drift, and a
    // filter on the generator finds the system to blame.
    let at = At {
        check: Check::Parity,
        generator: b,
        validator: Some(a),
        key: kb.as_ref().ok().map(|k| k.as_bytes()),
        context: None,
    };
    let words = Words {
        cause,
        expected: judge::describe_generated(ka),
    };
    r.find(at, &miss, words, None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::implementation::{CallFailure, FailureKind};

    fn refused(field: &str) -> Result<String, GenerateFailure> {
        Err(GenerateFailure::Refused {
            field: field.into(),
            reason: "out of range".into(),
        })
    }

    #[test]
    fn the_reference_is_what_a_strict_majority_answers_else_the_first() {
        let (a, b) = (Ok("KEY-A".to_string()), Ok("KEY-B".to_string()));
        let failed = Err(GenerateFailure::Failed(CallFailure::new(
            FailureKind::Crash,
            "boom",
        )));
        let reference = |answers: &[&Result<String, GenerateFailure>]| {
            let code: Vec<usize> = (0..answers.len()).collect();
            reference(answers, &code, &[])
        };
        // The first deviates from the two others: the second is the reference.
        assert_eq!(reference(&[&b, &a, &a]), 1);
        assert_eq!(reference(&[&refused("serial"), &a, &a]), 1);
        assert_eq!(reference(&[&a, &refused("seats"), &refused("seats")]), 1);
        // The first agrees with the majority, or there is none: the first.
        assert_eq!(reference(&[&a, &b, &a]), 0);
        assert_eq!(reference(&[&a, &b]), 0);
        assert_eq!(reference(&[&b, &a]), 0);
        assert_eq!(reference(&[&a, &b, &refused("seats")]), 0);
        // Failures agree with nothing, even with each other.
        assert_eq!(reference(&[&failed, &failed, &a]), 0);
        assert_eq!(reference(&[&failed, &a, &a]), 1);
    }

    #[test]
    fn generators_running_the_same_code_are_one_vote() {
        let (a, b) = (Ok("KEY-A".to_string()), Ok("KEY-B".to_string()));
        // The second and third run one library: no majority, the first.
        assert_eq!(super::reference(&[&a, &b, &b], &[0, 1, 1], &[]), 0);
        // Three codes, two agree: the majority stands.
        assert_eq!(super::reference(&[&a, &b, &b], &[0, 1, 2], &[]), 1);
        // Two copies of one code agreeing with a third code: a majority.
        assert_eq!(super::reference(&[&a, &b, &b, &b], &[0, 1, 1, 2], &[]), 1);
    }

    #[test]
    fn without_a_majority_a_generator_the_vectors_bear_out_is_the_reference() {
        let (a, b) = (Ok("KEY-A".to_string()), Ok("KEY-B".to_string()));
        // The first listed missed a vector: the second is the reference.
        assert_eq!(super::reference(&[&a, &b], &[0, 1], &[true, false]), 1);
        // Both missed one, or neither: the first.
        assert_eq!(super::reference(&[&a, &b], &[0, 1], &[true, true]), 0);
        assert_eq!(super::reference(&[&a, &b], &[0, 1], &[false, false]), 0);
        // A majority outweighs the vectors.
        assert_eq!(
            super::reference(&[&a, &b, &b], &[0, 1, 2], &[false, true, true]),
            1
        );
    }
}
