//! One request frame on one worker: send it, collect the answers as they
//! stream back, and turn whatever goes wrong into a [`Fault`] that says how
//! the worker ended (timeout, crash, garbage).
//!
//! A worker that fails here is discarded (killed, reaped, its stderr quoted)
//! before the fault is returned; which item is to blame is decided by the
//! caller in `batch.rs`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::encoded::{Encoded, Op, Request};
use super::json;
use super::pool::{Pool, lock};
use super::process::{EXIT_GRACE, Process, RecvError, SendError};
use super::wire::{self, Reader, WireError};
use crate::implementation::{CallFailure, FailureKind};

/// Why a request got no complete answer: the worker is gone, or its
/// plugin child died (the worker lives on with a fresh one).
#[derive(Debug, Clone)]
pub(super) struct Fault {
    pub(super) failure: CallFailure,
    /// The position, in the request's items, of the item whose plugin call
    /// was running when the plugin died (unanswered): the suspect.
    pub(super) calling: Option<usize>,
    /// How the suspect failed when the worker ran it alone, in a fresh
    /// plugin life, right after the death (see `deaths.rs`).
    pub(super) alone: Option<CallFailure>,
    /// The request ran in a plugin life that had answered requests before
    /// (not a fresh one): it may have ended between requests.
    pub(super) seasoned: bool,
}

impl Fault {
    fn new(failure: CallFailure) -> Fault {
        Fault {
            failure,
            calling: None,
            alone: None,
            seasoned: false,
        }
    }

    /// Whether the fault proves the request's items failed: the plugin died
    /// during one of their calls, or in a life that had served nothing
    /// before them. A seasoned life dying without a call running may have
    /// ended between requests (a process plugin exiting after its answers).
    pub(super) fn conclusive(&self) -> bool {
        !self.seasoned || self.calling.is_some() || self.alone.is_some()
    }
}

impl Pool {
    /// Sends one request and collects its answers into `out`. On success
    /// the worker goes back to the pool and the death count resets; on a
    /// fault the worker is gone (or its plugin child is) and `out` holds the
    /// answers that arrived. `fresh`: the request runs in a plugin life that
    /// served nothing before (a library's worker starts one; a process
    /// plugin's life is its process, so one that served no request).
    pub(super) fn exchange<O: Op>(
        &self,
        items: &Encoded,
        indices: &[usize],
        out: &mut [Option<O::Answer>],
        fresh: bool,
    ) -> Result<(), Fault> {
        let json_id = self
            .target
            .is_command()
            .then(|| self.next_id.fetch_add(1, Ordering::Relaxed));
        let frame = match json_id {
            Some(id) => items.json_request::<O>(id, indices),
            None => items.frame(O::TAG, indices),
        };
        let p = self
            .checkout(fresh && json_id.is_some())
            .map_err(Fault::new)?;
        // A library's worker starts a fresh plugin life on request; a process
        // plugin's fresh life is a process that served nothing.
        let seasoned = p.served > 0 && !(fresh && json_id.is_none());
        self.converse::<O>(p, &frame, json_id, indices, out, fresh)
            .map_err(|mut f| {
                // A life that ended between requests cannot hang on this
                // one: a timeout is this request's own.
                f.seasoned = seasoned && f.failure.kind != FailureKind::Timeout;
                f
            })
    }

    /// Sends `frame` to `p` and reads its answers (see [`Pool::exchange`]).
    fn converse<O: Op>(
        &self,
        mut p: Process,
        frame: &Request<'_>,
        json_id: Option<u64>,
        indices: &[usize],
        out: &mut [Option<O::Answer>],
        fresh: bool,
    ) -> Result<(), Fault> {
        let silence = self.options.silence();
        const FRESH: [u8; wire::HEADER_BYTES + 1] = [1, 0, 0, 0, wire::TAG_FRESH];
        let confirm = json_id
            .is_none()
            .then(|| self.confirm_frame(indices.len()))
            .flatten();
        let fresh: &[u8] = if fresh && json_id.is_none() {
            &FRESH
        } else {
            &[]
        };
        let [a, b, c] = frame.parts();
        let confirm = confirm.as_ref().map_or(&[][..], |f| &f[..]);
        let sent = p.send_parts(&[confirm, fresh, a, b, c], Instant::now() + silence);
        match sent {
            Ok(()) => {}
            Err(SendError::Timeout) => return Err(self.timed_out(p)),
            Err(SendError::Closed) => return Err(self.died(p, "")),
            Err(SendError::Io(e)) => {
                return Err(self.died(p, &format!("; writing to the worker failed: {e}")));
            }
        }
        // The positions, in `indices`, of the items still to be answered,
        // in the order their answers come (an item the worker blames and
        // goes on without leaves it), and how many have come.
        let mut expected: Vec<usize> = (0..indices.len()).collect();
        let mut next = 0usize;
        loop {
            let payload = match p.recv(Instant::now() + silence) {
                Ok(payload) => payload,
                Err(RecvError::Timeout) => return Err(self.timed_out(p)),
                Err(RecvError::Eof) => return Err(self.died(p, "")),
                Err(RecvError::TooLarge(n)) => {
                    return Err(self.garbage(
                        p,
                        &format!(
                            "a frame of {n} bytes, more than the limit of {}",
                            wire::MAX_FRAME_BYTES
                        ),
                    ));
                }
                Err(RecvError::Io(e)) => {
                    return Err(self.died(p, &format!("; reading from the worker failed: {e}")));
                }
            };
            if json_id.is_none() && payload.first() == Some(&wire::TAG_LIFE_ENDED) {
                let mut r = Reader::new(&payload[1..]);
                match wire::decode_life_ended(&mut r) {
                    Ok(ended) if ended.idle => {
                        self.idle_life_ended(&ended);
                        continue;
                    }
                    Ok(ended) => return Err(self.life_ended(p, &ended, &expected[next..])),
                    Err(e) => return Err(self.garbage(p, &e.to_string())),
                }
            }
            if json_id.is_none() && payload.first() == Some(&wire::TAG_BLAMED) {
                let mut r = Reader::new(&payload[1..]);
                match wire::decode_blamed(&mut r) {
                    Ok(blamed) if blamed.goes_on => {
                        let unanswered = &expected[next..];
                        match self.blamed_goes_on::<O>(&blamed, unanswered, indices, out) {
                            Some(position) => expected.retain(|&e| e != position),
                            None => {
                                let what = "a blame of an item not awaiting an answer";
                                return Err(self.garbage(p, what));
                            }
                        }
                        continue;
                    }
                    Ok(blamed) => return Err(self.blamed(p, &blamed, &expected[next..])),
                    Err(e) => return Err(self.garbage(p, &e.to_string())),
                }
            }
            let read = match json_id {
                Some(id) => read_json_results::<O>(&payload, id, next, expected.len()),
                None => read_results::<O>(&payload, next, expected.len()),
            };
            match read {
                Ok((answers, done)) => {
                    // Deaths count "in a row" until the plugin answers
                    // anything: a batch with many crashing items is
                    // progress, a plugin failing every call is not.
                    if !answers.is_empty() {
                        lock(&self.health).in_a_row = 0;
                    }
                    for a in answers {
                        out[indices[expected[next]]] = Some(a);
                        next += 1;
                    }
                    if done {
                        p.served += 1;
                        self.checkin(p);
                        lock(&self.health).in_a_row = 0;
                        return Ok(());
                    }
                }
                Err(Reply::WorkerError(message)) => {
                    return Err(self.garbage(p, &format!("an error: {message}")));
                }
                Err(Reply::JsonGarbage(what)) => return Err(self.garbage(p, &what)),
                Err(Reply::Garbage(e)) => return Err(self.garbage(p, &e.to_string())),
            }
        }
    }

    fn timed_out(&self, p: Process) -> Fault {
        if p.has_exited() {
            // Dead, but something it started still holds the pipe open.
            return self.died(p, "");
        }
        let (_, quote) = self.discard(p, Duration::ZERO);
        Fault::new(self.timeout_failure(&quote))
    }

    fn died(&self, p: Process, detail: &str) -> Fault {
        let (how, quote) = self.discard(p, EXIT_GRACE);
        let how = if how == "killed by keycompat" {
            "closed its end of the protocol and was killed".to_string()
        } else {
            how
        };
        let hint = self.options.memory_hint(&quote);
        Fault::new(CallFailure::new(
            FailureKind::Crash,
            format!("{how}{detail}{hint}{quote}"),
        ))
    }

    fn garbage(&self, p: Process, what: &str) -> Fault {
        let (_, quote) = self.discard(p, Duration::ZERO);
        let who = if self.target.is_command() {
            "the plugin"
        } else {
            "the worker"
        };
        Fault::new(CallFailure::new(
            FailureKind::Protocol,
            format!("{who} sent {what}{quote}"),
        ))
    }
}

enum Reply {
    WorkerError(String),
    Garbage(WireError),
    /// What is wrong with a process plugin's line.
    JsonGarbage(String),
}

/// Decodes a process plugin's results line for request `id`, which must
/// continue at item `next` of `total`.
fn read_json_results<O: Op>(
    line: &[u8],
    id: u64,
    next: usize,
    total: usize,
) -> Result<(Vec<O::Answer>, bool), Reply> {
    let (got, results, more) = match json::read_reply(line).map_err(Reply::JsonGarbage)? {
        json::Reply::Results { id, results, more } => (id, results, more),
        json::Reply::Error(message) => return Err(Reply::WorkerError(message)),
    };
    if got != id {
        return Err(Reply::JsonGarbage(format!(
            "results for request {got} when request {id} was due"
        )));
    }
    let answered = next + results.len();
    let several = if next > 0 {
        " (over several messages)"
    } else {
        ""
    };
    if answered > total || (!more && answered < total) {
        return Err(Reply::JsonGarbage(format!(
            "{answered} results to request {id} of {total} items{several}"
        )));
    }
    // Each message must answer at least one item: otherwise a plugin sending
    // empty "more" messages forever would never be taken as hung.
    if more && results.is_empty() {
        return Err(Reply::JsonGarbage(format!(
            "an empty results message to request {id} marked \"more\":true (each must answer at least one item)"
        )));
    }
    if more && answered == total {
        return Err(Reply::JsonGarbage(format!(
            "all {total} results to request {id} marked \"more\":true"
        )));
    }
    let mut answers = Vec::with_capacity(results.len());
    for (k, v) in results.into_iter().enumerate() {
        let a = O::read_json(v)
            .map_err(|e| Reply::JsonGarbage(format!("{e} (request {id}, result {})", next + k)))?;
        answers.push(a);
    }
    Ok((answers, !more))
}

/// Decodes a results frame that must start at item `next` of `total`.
fn read_results<O: Op>(
    payload: &[u8],
    next: usize,
    total: usize,
) -> Result<(Vec<O::Answer>, bool), Reply> {
    let garbage = |m: String| Reply::Garbage(WireError(m));
    let mut r = Reader::new(payload);
    match r.u8("tag").map_err(Reply::Garbage)? {
        wire::TAG_RESULTS => {}
        wire::TAG_ERROR => {
            return Err(Reply::WorkerError(
                r.string("message").map_err(Reply::Garbage)?,
            ));
        }
        other => return Err(garbage(format!("a frame with unexpected tag {other}"))),
    }
    let h = wire::read_results_header(&mut r).map_err(Reply::Garbage)?;
    let (first, count) = (h.first as usize, h.count as usize);
    if first != next || count > total - next {
        return Err(garbage(format!(
            "answers {first}..{} when {next}..{total} were due",
            first.saturating_add(count)
        )));
    }
    if h.done && first + count != total {
        return Err(garbage(format!(
            "only {} answers to {total} requests",
            first + count
        )));
    }
    if count > r.remaining() {
        return Err(garbage(format!(
            "{count} answers in {} bytes",
            r.remaining()
        )));
    }
    let mut answers = Vec::with_capacity(count);
    for _ in 0..count {
        answers.push(O::read(&mut r).map_err(Reply::Garbage)?);
    }
    r.finish("results").map_err(Reply::Garbage)?;
    Ok((answers, h.done))
}
