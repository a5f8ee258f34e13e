//! The items of one `generate_batch` or `validate_batch` call, encoded once
//! and cut into request frames, and the two request kinds with how their
//! answers decode.
//!
//! Encoding each item once, as a self-contained byte run, lets the
//! coordinator send any subset of a batch again (one item alone, to find the
//! one that crashed a worker) without encoding anything twice.

use crate::implementation::{CallFailure, GenerateFailure};
use crate::verdict::Validation;

use super::json;
use super::wire::{self, Reader, WireError};

/// The request kinds, with how their answers decode.
pub(super) trait Op {
    type Answer;
    /// The worker protocol's request tag.
    const TAG: u8;
    /// The process protocol's request type and the field of its items.
    const JSON_TYPE: &'static str;
    const JSON_FIELD: &'static str;
    fn read(r: &mut Reader<'_>) -> Result<Self::Answer, WireError>;
    fn read_json(a: json::Answer) -> Result<Self::Answer, String>;
    fn failed(f: CallFailure) -> Self::Answer;
}

pub(super) struct GenerateOp;
impl Op for GenerateOp {
    type Answer = Result<String, GenerateFailure>;
    const TAG: u8 = wire::TAG_GENERATE;
    const JSON_TYPE: &'static str = "generate";
    const JSON_FIELD: &'static str = "entitlements";
    fn read(r: &mut Reader<'_>) -> Result<Self::Answer, WireError> {
        wire::read_generate_result(r)
    }
    fn read_json(a: json::Answer) -> Result<Self::Answer, String> {
        json::generate_answer(a)
    }
    fn failed(f: CallFailure) -> Self::Answer {
        Err(GenerateFailure::Failed(f))
    }
}

pub(super) struct ValidateOp;
impl Op for ValidateOp {
    type Answer = Result<Validation, CallFailure>;
    const TAG: u8 = wire::TAG_VALIDATE;
    const JSON_TYPE: &'static str = "validate";
    const JSON_FIELD: &'static str = "items";
    fn read(r: &mut Reader<'_>) -> Result<Self::Answer, WireError> {
        wire::read_validate_result(r)
    }
    fn read_json(a: json::Answer) -> Result<Self::Answer, String> {
        json::validate_answer(a)
    }
    fn failed(f: CallFailure) -> Self::Answer {
        Err(f)
    }
}

/// Items of one request kind, encoded once, back to back.
pub(super) struct Encoded {
    bytes: Vec<u8>,
    /// Where each item starts; `ends[i]` where it ends.
    starts: Vec<usize>,
    ends: Vec<usize>,
    /// Whether a comma follows each item (JSON), so that a run of
    /// consecutive items is already the body of a request line.
    separated: bool,
}

/// A request ready to send, in parts written one after the other.
pub(super) enum Request<'a> {
    /// A binary frame, or a request line that had to be assembled.
    Whole(Vec<u8>),
    /// A request line around a run of consecutive items, sent from where
    /// they were encoded without copying them.
    Around {
        head: Vec<u8>,
        body: &'a [u8],
        end: &'static [u8],
    },
}

impl Request<'_> {
    /// The parts, in order.
    pub(super) fn parts(&self) -> [&[u8]; 3] {
        match self {
            Request::Whole(bytes) => [bytes, &[], &[]],
            Request::Around { head, body, end } => [head, body, end],
        }
    }
}

impl Encoded {
    /// Binary items, back to back.
    pub(super) fn new<T>(items: &[T], put: impl Fn(&mut Vec<u8>, &T)) -> Self {
        Self::encode(items, put, false)
    }

    /// JSON items, each followed by a comma.
    pub(super) fn new_json<T>(items: &[T], put: impl Fn(&mut Vec<u8>, &T)) -> Self {
        Self::encode(items, put, true)
    }

    fn encode<T>(items: &[T], put: impl Fn(&mut Vec<u8>, &T), separated: bool) -> Self {
        let mut e = Encoded {
            bytes: Vec::with_capacity(items.len() * 96),
            starts: Vec::with_capacity(items.len()),
            ends: Vec::with_capacity(items.len()),
            separated,
        };
        for item in items {
            e.starts.push(e.bytes.len());
            put(&mut e.bytes, item);
            e.ends.push(e.bytes.len());
            if separated {
                e.bytes.push(b',');
            }
        }
        e
    }

    /// How many items there are.
    pub(super) fn len(&self) -> usize {
        self.starts.len()
    }

    /// The encoded size of item `i`.
    pub(super) fn size(&self, i: usize) -> usize {
        self.ends[i] - self.starts[i]
    }

    /// The bytes of item `i`.
    fn item(&self, i: usize) -> &[u8] {
        &self.bytes[self.starts[i]..self.ends[i]]
    }

    /// The process protocol's request line for items `indices`: around the
    /// encoded items themselves when they are consecutive (a batch's first
    /// request, always), else assembled.
    pub(super) fn json_request<O: Op>(&self, id: u64, indices: &[usize]) -> Request<'_> {
        let head = json::request_head(O::JSON_TYPE, O::JSON_FIELD, id);
        let consecutive = indices.windows(2).all(|w| w[1] == w[0] + 1);
        match (indices.first(), indices.last()) {
            (Some(&first), Some(&last)) if self.separated && consecutive => Request::Around {
                head,
                body: &self.bytes[self.starts[first]..self.ends[last]],
                end: json::REQUEST_END,
            },
            _ => {
                let mut b = head;
                b.reserve(indices.iter().map(|&i| self.size(i) + 1).sum::<usize>() + 4);
                for (k, &i) in indices.iter().enumerate() {
                    if k > 0 {
                        b.push(b',');
                    }
                    b.extend_from_slice(self.item(i));
                }
                b.extend_from_slice(json::REQUEST_END);
                Request::Whole(b)
            }
        }
    }

    /// The request frame for items `indices`.
    pub(super) fn frame(&self, tag: u8, indices: &[usize]) -> Request<'_> {
        let mut f = wire::FrameWriter::new(tag);
        let b = f.buf();
        b.reserve(4 + indices.iter().map(|&i| self.size(i)).sum::<usize>());
        wire::put_u32(b, indices.len() as u32);
        for &i in indices {
            b.extend_from_slice(self.item(i));
        }
        Request::Whole(f.finish())
    }
}
