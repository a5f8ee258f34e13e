//! Batches: the items of one `generate_batch` or `validate_batch` call
//! (encoded once, see `encoded.rs`) run in request frames, and the blame
//! when a worker dies during a frame.
//!
//! The answer to every item comes back in the caller's order, whatever
//! happens: a worker death blames the one unanswered item, or, when several
//! were unanswered, the one that fails again when run alone, so one bad
//! entitlement or key never costs the others their real answers.

use crate::implementation::{CallFailure, FailureKind};

use super::encoded::{Encoded, Op};
use super::exchange::Fault;
use super::pool::{Pool, lock};
use super::wire;

/// Request frames are cut to at most this many bytes of items.
const MAX_REQUEST_BYTES: usize = 16 << 20;
/// A process plugin's request holds at most this many items
/// (`plugins/PROTOCOL.md`), so a slow plugin answers within its timeout.
const MAX_PROCESS_ITEMS: usize = 256;

impl Pool {
    /// Runs every item, in request frames of at most [`MAX_REQUEST_BYTES`].
    pub(super) fn run<O: Op>(&self, items: &Encoded) -> Vec<O::Answer> {
        let n = items.len();
        let mut out: Vec<Option<O::Answer>> = (0..n).map(|_| None).collect();
        let mut chunk = Vec::new();
        let mut chunk_bytes = 0;
        let limit = MAX_REQUEST_BYTES.min(wire::MAX_FRAME_BYTES - 64);
        for i in 0..n {
            let size = items.size(i);
            if size > wire::MAX_FRAME_BYTES - 64 {
                out[i] = Some(O::failed(CallFailure::new(
                    FailureKind::BadArgument,
                    format!(
                        "the request is {size} bytes, more than the worker protocol carries ({} bytes)",
                        wire::MAX_FRAME_BYTES - 64
                    ),
                )));
                continue;
            }
            let full = chunk.len() >= self.max_items();
            if !chunk.is_empty() && (full || chunk_bytes + size > limit) {
                self.run_frame::<O>(items, &chunk, &mut out);
                chunk.clear();
                chunk_bytes = 0;
            }
            chunk.push(i);
            chunk_bytes += size;
        }
        if !chunk.is_empty() {
            self.run_frame::<O>(items, &chunk, &mut out);
        }
        out.into_iter()
            .map(|a| {
                a.unwrap_or_else(|| {
                    O::failed(CallFailure::new(
                        FailureKind::Internal,
                        "keycompat lost track of this item (a bug)",
                    ))
                })
            })
            .collect()
    }

    /// The most items one request may carry.
    fn max_items(&self) -> usize {
        if self.target.is_command() {
            MAX_PROCESS_ITEMS
        } else {
            usize::MAX
        }
    }

    /// One request frame for `indices`; on a fault, blames the culprit.
    fn run_frame<O: Op>(&self, items: &Encoded, indices: &[usize], out: &mut [Option<O::Answer>]) {
        if let Some(f) = self.fatal() {
            for &i in indices {
                out[i] = Some(O::failed(f.clone()));
            }
            return;
        }
        let Err(Fault(failure)) = self.exchange::<O>(items, indices, out) else {
            return;
        };
        let unanswered: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| out[i].is_none())
            .collect();
        if let [only] = unanswered[..] {
            self.record_death(&failure, false);
            out[only] = Some(O::failed(failure));
            return;
        }
        self.record_death(&failure, false);
        // Several candidates: run each alone; the one that fails alone is
        // the culprit, the others get their real answers.
        let mut blamed = false;
        for &i in &unanswered {
            if let Some(f) = self.fatal() {
                out[i] = Some(O::failed(f));
                continue;
            }
            if let Err(Fault(f)) = self.exchange::<O>(items, &[i], out) {
                self.record_death(&f, false);
                out[i] = Some(O::failed(f));
                blamed = true;
            }
        }
        if !blamed && self.fatal().is_none() {
            let unattributed = CallFailure::new(
                failure.kind,
                format!(
                    "{} (during a batch of {}; no item reproduces it alone)",
                    failure.message,
                    indices.len()
                ),
            );
            let mut h = lock(&self.health);
            h.stats.unattributed.push(unattributed.clone());
            h.untaken.push(unattributed);
        }
    }
}
