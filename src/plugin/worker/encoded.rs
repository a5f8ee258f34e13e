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
    fn read_json(v: serde_json::Value) -> Result<Self::Answer, String>;
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
    fn read_json(v: serde_json::Value) -> Result<Self::Answer, String> {
        json::generate_answer(v)
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
    fn read_json(v: serde_json::Value) -> Result<Self::Answer, String> {
        json::validate_answer(v)
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
}

impl Encoded {
    pub(super) fn new<T>(items: &[T], put: impl Fn(&mut Vec<u8>, &T)) -> Self {
        let mut e = Encoded {
            bytes: Vec::with_capacity(items.len() * 96),
            starts: Vec::with_capacity(items.len()),
            ends: Vec::with_capacity(items.len()),
        };
        for item in items {
            e.starts.push(e.bytes.len());
            put(&mut e.bytes, item);
            e.ends.push(e.bytes.len());
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

    /// The process protocol's request line for items `indices`.
    pub(super) fn json_request<O: Op>(&self, id: u64, indices: &[usize]) -> Vec<u8> {
        json::request(
            O::JSON_TYPE,
            O::JSON_FIELD,
            id,
            indices.iter().map(|&i| self.item(i)),
            indices.iter().map(|&i| self.size(i) + 1).sum(),
        )
    }

    /// The request frame for items `indices`.
    pub(super) fn frame(&self, tag: u8, indices: &[usize]) -> Vec<u8> {
        let mut f = wire::FrameWriter::new(tag);
        let b = f.buf();
        b.reserve(4 + indices.iter().map(|&i| self.size(i)).sum::<usize>());
        wire::put_u32(b, indices.len() as u32);
        for &i in indices {
            b.extend_from_slice(&self.bytes[self.starts[i]..self.ends[i]]);
        }
        f.finish()
    }
}
