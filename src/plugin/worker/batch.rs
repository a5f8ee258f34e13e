//! Batches: the items of one `generate_batch` or `validate_batch` call
//! (encoded once, see `encoded.rs`) run in request frames, and the blame
//! when a worker dies during a frame.
//!
//! The answer to every item comes back in the caller's order, whatever
//! happens: a worker death blames the one unanswered item, or, when several
//! were unanswered, the one that fails again when run alone, so one bad
//! entitlement or key never costs the others their real answers. A death
//! that proves nothing against the request (a life that answered earlier
//! requests ended with no call running: a process plugin may exit between
//! requests) first runs the request again in a fresh life; if that passes,
//! the death is kept as a failure of no item.

use crate::implementation::{CallFailure, FailureKind};

use super::encoded::{Encoded, Op};
use super::pool::{Pool, lock};
use super::stopping::{STOPPED, stopping};
use super::wire;

/// Request frames are cut to at most this many bytes of items.
const MAX_REQUEST_BYTES: usize = 16 << 20;
/// A process plugin's request holds at most this many items
/// (`plugins/PROTOCOL.md`), so a slow plugin answers within its timeout.
const MAX_PROCESS_ITEMS: usize = 256;

/// The failure of every call once the run is stopping.
fn stopped() -> Option<CallFailure> {
    stopping().then(|| CallFailure::new(FailureKind::Crash, STOPPED))
}

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
        let mut pending = indices.to_vec();
        // A death that proves nothing against the items (a seasoned life
        // ended without a call running): they run again, in a fresh life.
        let mut unproven: Option<CallFailure> = None;
        loop {
            if let Some(f) = self.fatal().or_else(stopped) {
                for &i in &pending {
                    out[i].get_or_insert_with(|| O::failed(f.clone()));
                }
                return;
            }
            let fault = match self.exchange::<O>(items, &pending, out, unproven.is_some()) {
                Ok(()) => {
                    if let Some(f) = unproven {
                        // The fresh life answered them all: the death was
                        // the plugin's own, between requests.
                        self.unattributed(CallFailure::new(
                            f.kind,
                            format!(
                                "{} (after answering its earlier requests; this request of {} ran again in a fresh life and passed)",
                                f.message,
                                pending.len()
                            ),
                        ));
                    }
                    return;
                }
                Err(fault) => fault,
            };
            self.record_death(&fault.failure, false);
            let unanswered: Vec<usize> = pending
                .iter()
                .copied()
                .filter(|&i| out[i].is_none())
                .collect();
            if !fault.conclusive() && unproven.is_none() && self.fatal().is_none() {
                unproven = Some(fault.failure);
                pending = unanswered;
                continue;
            }
            // The item whose plugin call was running when the plugin died
            // is blamed if it fails again alone (the worker may have run it
            // alone already); the rest then go on as one request.
            let suspect = fault.calling.map(|c| pending[c]);
            let suspect = suspect.filter(|&s| out[s].is_none());
            if let Some(alone) = &fault.alone
                && (suspect.is_none() || unanswered.len() == 1)
            {
                // Not run alone as a suspect here after all: its death
                // still counts.
                self.record_death(alone, false);
            }
            if let [only] = unanswered[..] {
                out[only] = Some(O::failed(fault.failure));
                return;
            }
            if let Some(s) = suspect {
                let rest: Vec<usize> = unanswered.iter().copied().filter(|&i| i != s).collect();
                let failed_alone = match fault.alone {
                    Some(alone) => self.failed_alone::<O>(s, alone, out),
                    None => self.blame::<O>(items, s, fault.failure.clone(), false, out),
                };
                if failed_alone {
                    pending = rest;
                    continue;
                }
                self.run_each_alone::<O>(items, &rest, out, &fault.failure, indices.len());
                return;
            }
            self.run_each_alone::<O>(items, &unanswered, out, &fault.failure, indices.len());
            return;
        }
    }

    /// Item `i`'s own call failed with `failure`. It gets the failure when
    /// that proves it: the call was the first of a fresh life (`fresh`), or
    /// it ran past the timeout (a hang costs one timeout, once); otherwise
    /// it must fail again alone, in a fresh life. True if it failed.
    fn blame<O: Op>(
        &self,
        items: &Encoded,
        i: usize,
        failure: CallFailure,
        fresh: bool,
        out: &mut [Option<O::Answer>],
    ) -> bool {
        if fresh || failure.kind == FailureKind::Timeout {
            out[i] = Some(O::failed(failure));
            true
        } else {
            self.fails_alone::<O>(items, i, out)
        }
    }

    /// Runs item `i` alone, in a fresh plugin life; true if it failed (and
    /// got the failure).
    fn fails_alone<O: Op>(&self, items: &Encoded, i: usize, out: &mut [Option<O::Answer>]) -> bool {
        if let Some(f) = self.fatal().or_else(stopped) {
            out[i] = Some(O::failed(f));
            return true;
        }
        match self.exchange::<O>(items, &[i], out, true) {
            Ok(()) => false,
            Err(f) => {
                self.record_death(&f.failure, false);
                out[i] = Some(O::failed(f.failure));
                true
            }
        }
    }

    /// Item `i` failed alone, in a fresh plugin life the worker ran it in
    /// (as [`Pool::fails_alone`] would have): it gets the failure. If the
    /// implementation was declared dead meanwhile (another worker's
    /// deaths), it gets that, as a run alone would not have happened.
    pub(super) fn failed_alone<O: Op>(
        &self,
        i: usize,
        failure: CallFailure,
        out: &mut [Option<O::Answer>],
    ) -> bool {
        if let Some(f) = self.fatal() {
            out[i] = Some(O::failed(f));
            return true;
        }
        self.record_death(&failure, false);
        out[i] = Some(O::failed(failure));
        true
    }

    /// Several candidates for `failure` (in a request of `batch` items):
    /// runs each alone; the one that fails alone is the culprit, the others
    /// get their real answers. When none fails alone, the failure is a
    /// batch failure no item reproduces.
    fn run_each_alone<O: Op>(
        &self,
        items: &Encoded,
        candidates: &[usize],
        out: &mut [Option<O::Answer>],
        failure: &CallFailure,
        batch: usize,
    ) {
        let blamed = if self.target.is_command() {
            self.run_in_turn::<O>(items, candidates, out)
        } else {
            let mut blamed = false;
            for &i in candidates {
                blamed |= self.fails_alone::<O>(items, i, out);
            }
            blamed
        };
        if !blamed && self.fatal().is_none() && !stopping() {
            self.unattributed(CallFailure::new(
                failure.kind,
                format!(
                    "{} (during a batch of {batch}; no item reproduces it alone)",
                    failure.message
                ),
            ));
        }
    }

    /// The candidates of a process plugin's failure, which says nothing of
    /// the item it was on, and whose fresh process per item would cost a
    /// start of its runtime each (an interpreter, a JVM): they run one item
    /// per request, in turn, in a process that served nothing before. The
    /// first to fail is the culprit when its request was the process's
    /// first or ran past the timeout (a hang costs that one timeout more,
    /// not one process per item); otherwise it must fail again alone in a
    /// fresh process. The rest go on in another fresh process. True if an
    /// item was blamed.
    fn run_in_turn<O: Op>(
        &self,
        items: &Encoded,
        candidates: &[usize],
        out: &mut [Option<O::Answer>],
    ) -> bool {
        let mut blamed = false;
        let mut fresh = true;
        for &i in candidates {
            if let Some(f) = self.fatal().or_else(stopped) {
                out[i] = Some(O::failed(f));
                blamed = true;
                continue;
            }
            match self.exchange::<O>(items, &[i], out, fresh) {
                Ok(()) => fresh = false,
                Err(f) => {
                    self.record_death(&f.failure, false);
                    blamed |= self.blame::<O>(items, i, f.failure, fresh, out);
                    fresh = true;
                }
            }
        }
        blamed
    }

    /// Keeps a failure no item is to blame for, for the run to report once.
    fn unattributed(&self, failure: CallFailure) {
        let mut h = lock(&self.health);
        h.stats.unattributed.push(failure.clone());
        h.untaken.push(failure);
    }
}
