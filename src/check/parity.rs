//! PARITY: two implementations of one format (the C original and its Rust
//! reimplementation, the old emitter and the new system's legacy emitter)
//! issue byte-identical keys, or refuse the same field.

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
    for (format, gens) in &m.parity {
        let first = &gens[0];
        for other in &gens[1..] {
            pair(
                r,
                format,
                first,
                other,
                &generated[first][i],
                &generated[other][i],
            );
        }
    }
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
            r.pass(Check::Parity, a, Some(b));
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
        (_, Some(f), None) => format!("only {a} refuses ({f})"),
        (_, None, None) => miss.cause(),
    };
    let at = At {
        check: Check::Parity,
        generator: a,
        validator: Some(b),
        key: kb.as_ref().ok().map(|k| k.as_bytes()),
        context: None,
    };
    let words = Words {
        cause,
        expected: judge::describe_generated(ka),
    };
    r.find(at, &miss, words, None);
}
