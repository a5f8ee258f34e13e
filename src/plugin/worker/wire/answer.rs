//! Answers: what the plugin said, item by item, streamed back in results
//! frames.
//!
//! A results frame names the index of its first answer, how many it holds
//! and whether it ends the request, so the coordinator can check that the
//! answers arrive in order and complete, and keeps those that arrived when
//! the worker dies. Every answer the in-process [`Implementation`] can give
//! (a key, a refusal, a validation with its decode, a call failure) crosses
//! unchanged.
//!
//! [`Implementation`]: crate::implementation::Implementation

use std::collections::BTreeSet;

use crate::entitlement::Customer;
use crate::implementation::{CallFailure, FailureKind, GenerateFailure};
use crate::verdict::{Decoded, Validation, Verdict};

use super::codec::{
    FrameWriter, Reader, WireError, err, put_bool, put_day, put_nullable, put_opt_day, put_opt_str,
    put_opt_u32, put_str, put_u8, put_u32,
};
use super::tags::TAG_RESULTS;

fn kind_code(k: FailureKind) -> u8 {
    match k {
        FailureKind::BadArgument => 0,
        FailureKind::Unsupported => 1,
        FailureKind::Internal => 2,
        FailureKind::Panic => 3,
        FailureKind::Protocol => 4,
        FailureKind::Crash => 5,
        FailureKind::Timeout => 6,
    }
}

fn kind_from_code(c: u8) -> Result<FailureKind, WireError> {
    Ok(match c {
        0 => FailureKind::BadArgument,
        1 => FailureKind::Unsupported,
        2 => FailureKind::Internal,
        3 => FailureKind::Panic,
        4 => FailureKind::Protocol,
        5 => FailureKind::Crash,
        6 => FailureKind::Timeout,
        other => return Err(err(format!("failure kind {other}"))),
    })
}

fn put_call_failure(b: &mut Vec<u8>, f: &CallFailure) {
    put_u8(b, kind_code(f.kind));
    put_str(b, &f.message);
}

fn read_call_failure(r: &mut Reader<'_>) -> Result<CallFailure, WireError> {
    Ok(CallFailure {
        kind: kind_from_code(r.u8("failure kind")?)?,
        message: r.string("failure message")?,
    })
}

/// Appends one generate answer.
pub(crate) fn put_generate_result(b: &mut Vec<u8>, res: &Result<String, GenerateFailure>) {
    match res {
        Ok(key) => {
            put_u8(b, 0);
            put_str(b, key);
        }
        Err(GenerateFailure::Refused { field, reason }) => {
            put_u8(b, 1);
            put_str(b, field);
            put_str(b, reason);
        }
        Err(GenerateFailure::Failed(f)) => {
            put_u8(b, 2);
            put_call_failure(b, f);
        }
    }
}

pub(crate) fn read_generate_result(
    r: &mut Reader<'_>,
) -> Result<Result<String, GenerateFailure>, WireError> {
    Ok(match r.u8("generate answer")? {
        0 => Ok(r.string("key")?),
        1 => Err(GenerateFailure::Refused {
            field: r.string("refused field")?,
            reason: r.string("refusal reason")?,
        }),
        2 => Err(GenerateFailure::Failed(read_call_failure(r)?)),
        other => return Err(err(format!("generate answer tag {other}"))),
    })
}

fn verdict_code(v: Verdict) -> u8 {
    Verdict::ALL.iter().position(|x| *x == v).unwrap_or(0) as u8
}

fn put_decoded(b: &mut Vec<u8>, d: &Decoded) {
    put_opt_str(b, d.product.as_deref());
    put_opt_str(b, d.edition.as_deref());
    put_bool(b, d.max_major.is_some());
    if let Some(m) = d.max_major {
        put_u8(b, m);
    }
    put_bool(b, d.features.is_some());
    if let Some(fs) = &d.features {
        put_u32(b, fs.len().min(u32::MAX as usize) as u32);
        for f in fs {
            put_str(b, f);
        }
    }
    put_nullable(b, &d.seats, |b, v| put_u32(b, *v));
    put_opt_day(b, d.issued);
    put_nullable(b, &d.expires, |b, v| put_day(b, *v));
    put_nullable(b, &d.maintenance_until, |b, v| put_day(b, *v));
    put_opt_u32(b, d.serial);
    put_nullable(b, &d.customer, |b, c| {
        put_str(b, &c.id);
        put_str(b, &c.name);
    });
    put_nullable(b, &d.order_id, |b, v| put_str(b, v));
    put_nullable(b, &d.host_id, |b, v| put_str(b, v));
}

fn read_decoded(r: &mut Reader<'_>) -> Result<Decoded, WireError> {
    Ok(Decoded {
        product: r.opt_string("decoded.product")?,
        edition: r.opt_string("decoded.edition")?,
        max_major: r
            .opt_tag("decoded.max_major")?
            .then(|| r.u8("decoded.max_major"))
            .transpose()?,
        features: if r.opt_tag("decoded.features")? {
            let n = r.count("decoded.features", 4)?;
            let mut set = BTreeSet::new();
            for _ in 0..n {
                set.insert(r.string("decoded feature")?);
            }
            Some(set)
        } else {
            None
        },
        seats: r.nullable("decoded.seats", |r| r.u32("decoded.seats"))?,
        issued: r.opt_day("decoded.issued")?,
        expires: r.nullable("decoded.expires", |r| r.day("decoded.expires"))?,
        maintenance_until: r.nullable("decoded.maintenance_until", |r| {
            r.day("decoded.maintenance_until")
        })?,
        serial: r.opt_u32("decoded.serial")?,
        customer: r.nullable("decoded.customer", |r| {
            Ok(Customer {
                id: r.string("decoded.customer.id")?,
                name: r.string("decoded.customer.name")?,
            })
        })?,
        order_id: r.nullable("decoded.order_id", |r| r.string("decoded.order_id"))?,
        host_id: r.nullable("decoded.host_id", |r| r.string("decoded.host_id"))?,
    })
}

/// Appends one validate answer.
pub(crate) fn put_validate_result(b: &mut Vec<u8>, res: &Result<Validation, CallFailure>) {
    match res {
        Ok(v) => {
            put_u8(b, 0);
            put_u8(b, verdict_code(v.verdict));
            put_opt_str(b, v.format.as_deref());
            put_opt_str(b, v.reason.as_deref());
            put_bool(b, v.decoded.is_some());
            if let Some(d) = &v.decoded {
                put_decoded(b, d);
            }
        }
        Err(f) => {
            put_u8(b, 1);
            put_call_failure(b, f);
        }
    }
}

pub(crate) fn read_validate_result(
    r: &mut Reader<'_>,
) -> Result<Result<Validation, CallFailure>, WireError> {
    Ok(match r.u8("validate answer")? {
        0 => {
            let code = r.u8("verdict")?;
            let verdict = *Verdict::ALL
                .get(usize::from(code))
                .ok_or_else(|| err(format!("verdict code {code}")))?;
            Ok(Validation {
                verdict,
                format: r.opt_string("format")?,
                reason: r.opt_string("reason")?,
                decoded: r.opt_tag("decoded")?.then(|| read_decoded(r)).transpose()?,
            })
        }
        1 => Err(read_call_failure(r)?),
        other => return Err(err(format!("validate answer tag {other}"))),
    })
}

/// The header of a results frame, after its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResultsHeader {
    /// Index (within the request) of the first answer in this frame.
    pub(crate) first: u32,
    /// Answers in this frame.
    pub(crate) count: u32,
    /// Whether this frame ends the answer to the request.
    pub(crate) done: bool,
}

/// Where `count` and `done` sit in a results payload (tag, first, count, done).
const RESULTS_COUNT_AT: usize = 1 + 4;
const RESULTS_DONE_AT: usize = 1 + 4 + 4;

/// Starts a results frame; `patch_results` fills in count and done.
pub(crate) fn start_results(first: u32) -> FrameWriter {
    let mut f = FrameWriter::new(TAG_RESULTS);
    let b = f.buf();
    put_u32(b, first);
    put_u32(b, 0);
    put_u8(b, 0);
    f
}

pub(crate) fn patch_results(f: &mut FrameWriter, count: u32, done: bool) {
    let p = f.payload_mut();
    p[RESULTS_COUNT_AT..RESULTS_COUNT_AT + 4].copy_from_slice(&count.to_le_bytes());
    p[RESULTS_DONE_AT] = u8::from(done);
}

pub(crate) fn read_results_header(r: &mut Reader<'_>) -> Result<ResultsHeader, WireError> {
    Ok(ResultsHeader {
        first: r.u32("first")?,
        count: r.u32("count")?,
        done: r.bool("done")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::worker::wire::request::tests::example;
    #[test]
    fn answers_round_trip() {
        let v = Validation {
            verdict: Verdict::Expired,
            format: Some("acme-ed1".into()),
            reason: None,
            decoded: Some(Decoded::from_entitlement(&example())),
        };
        let answers = [
            Ok(v),
            Ok(Validation::reject(Verdict::Malformed, None, "short")),
            Err(CallFailure::new(FailureKind::Protocol, "bad")),
        ];
        let mut b = Vec::new();
        for a in &answers {
            put_validate_result(&mut b, a);
        }
        let mut r = Reader::new(&b);
        for a in &answers {
            assert_eq!(&read_validate_result(&mut r).unwrap(), a);
        }
        r.finish("answers").unwrap();
    }

    #[test]
    fn garbage_never_panics_or_over_allocates() {
        let mut b = Vec::new();
        put_validate_result(
            &mut b,
            &Ok(Validation {
                verdict: Verdict::Valid,
                format: Some("x".into()),
                reason: None,
                decoded: Some(Decoded::from_entitlement(&example())),
            }),
        );
        // Every truncation and every single-byte corruption decodes to an
        // answer or an error, never a panic.
        for cut in 0..b.len() {
            let _ = read_validate_result(&mut Reader::new(&b[..cut]));
        }
        for i in 0..b.len() {
            for x in [0u8, 1, 2, 0x7F, 0xFF] {
                let mut c = b.clone();
                c[i] = x;
                let _ = read_validate_result(&mut Reader::new(&c));
            }
        }
        let huge = [0xFFu8; 8];
        assert!(Reader::new(&huge).count("n", 1).is_err());
    }
}
