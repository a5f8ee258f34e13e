//! The worker's half of crash blame. When a plugin life dies calling an
//! item and the coordinator allowed it (a `Confirm` before the request),
//! the worker runs that item alone in a fresh life at once, tells the
//! coordinator both deaths (`Blamed`) and goes on with the rest of the
//! request in another fresh life ([`Run`]), instead of telling the death
//! and waiting for the coordinator to ask for the run alone and then for
//! the rest.
//!
//! Why: the blame itself is unchanged (an item is blamed only when it
//! fails again alone, in a life that made no call before it, so a crash of
//! state built over earlier calls is never pinned on an innocent item),
//! but each step of it used to wake the coordinator, then the worker, then
//! a plugin life, on a machine where every wake-up may wait for a core.
//!
//! What stays the coordinator's: everything else. When the item answers
//! alone, the worker tells the death as if it had not tried (the
//! coordinator then runs its usual search, whose first step repeats the
//! run alone); and the worker counts deaths in a row as the coordinator
//! does, from the coordinator's count, so it never runs an item alone, or
//! goes on, where the coordinator would have declared the implementation
//! dead.

use std::ops::Range;
use std::time::{Duration, Instant};

use super::calling::CallingSlot;
use super::ending::Ending;
use super::life::{Life, Recv};
use super::wire::{self, Alone, LifeEnded, Reader};

/// What a `Confirm` frame says (`None`: it does not decode).
pub(super) fn read_confirm(frame: &[u8]) -> Option<Confirm> {
    let c = wire::decode_confirm(&mut Reader::new(frame.get(1..)?)).ok()?;
    Some(Confirm {
        timeout: Duration::from_millis(c.ms.into()),
        in_a_row: c.in_a_row,
        max: c.max,
    })
}

/// What a `Confirm` lets the worker do in a request: run the item whose
/// call killed a life alone in a fresh one, and go on without it, for as
/// long as the coordinator would.
#[derive(Debug, Clone, Copy)]
pub(super) struct Confirm {
    /// The time an item run alone gets.
    pub(super) timeout: Duration,
    /// Deaths in a row, counted as the coordinator counts them (from its
    /// count when it sent the request), and how many it allows: a death
    /// beyond makes the implementation dead, which is the coordinator's
    /// to declare.
    pub(super) in_a_row: u32,
    pub(super) max: u32,
}

/// A request being answered, in one life or, after crashes, several.
pub(super) struct Run<'r> {
    pub(super) request: &'r [u8],
    /// Where each of its items is (found at the first death).
    pub(super) ranges: Option<Vec<Range<usize>>>,
    /// The positions of the items the current life was sent, in order.
    pub(super) sent: Vec<u32>,
    /// Answers relayed before the current life's part, and from it.
    pub(super) before: usize,
    pub(super) answered: usize,
    pub(super) confirm: Option<Confirm>,
}

impl<'r> Run<'r> {
    pub(super) fn new(request: &'r [u8], confirm: Option<Confirm>) -> Option<Run<'r>> {
        let mut r = Reader::new(request);
        r.u8("tag").ok()?;
        let n = r.count("items", 1).ok()?;
        Some(Run {
            request,
            ranges: None,
            sent: (0..n as u32).collect(),
            before: 0,
            answered: 0,
            confirm,
        })
    }
}

/// Where each item of `request` is (`None`: it does not decode).
pub(super) fn item_ranges(request: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut r = Reader::new(request);
    let tag = r.u8("tag").ok()?;
    let n = r.count("items", 1).ok()?;
    let mut ranges = Vec::with_capacity(n);
    for _ in 0..n {
        let start = request.len() - r.remaining();
        let read = match tag {
            wire::TAG_GENERATE => wire::read_entitlement(&mut r).map(drop),
            wire::TAG_VALIDATE => wire::read_validate_item(&mut r).map(drop),
            _ => return None,
        };
        read.ok()?;
        ranges.push(start..request.len() - r.remaining());
    }
    r.finish("request").ok()?;
    Some(ranges)
}

/// The request (its payload) for the items of `request` at `positions`
/// (where [`item_ranges`] found them), in that order.
pub(super) fn part_of(request: &[u8], ranges: &[Range<usize>], positions: &[u32]) -> Vec<u8> {
    let bytes: usize = positions.iter().map(|&p| ranges[p as usize].len()).sum();
    let mut part = Vec::with_capacity(5 + bytes);
    part.push(request[0]);
    wire::put_u32(&mut part, positions.len() as u32);
    for &p in positions {
        part.extend_from_slice(&request[ranges[p as usize].clone()]);
    }
    part
}

/// How a plugin life that died is described: its end, or that it closed
/// the protocol and had to be killed; `detail` says when.
pub(super) fn ending_words(ending: &Ending, detail: &str) -> String {
    let how = if ending.killed_by_us {
        "closed its end of the protocol and was killed".to_string()
    } else {
        ending.describe()
    };
    if detail.is_empty() {
        how
    } else {
        format!("{how} {detail}")
    }
}

/// What the run of an item alone came to.
pub(super) enum Outcome {
    /// It answered: the life lives on (it has served).
    Answered(Life),
    /// It failed; its life is gone.
    Failed(Alone),
}

/// Waits for `life`, sent an item alone, to answer or fail, for at most
/// `timeout`; every `progress` meanwhile, `keep_alive` is called (so the
/// coordinator, which hears nothing else, does not take the worker for
/// hung).
pub(super) fn await_alone(
    mut life: Life,
    calling: &CallingSlot,
    timeout: Duration,
    progress: Duration,
    mut keep_alive: impl FnMut() -> Result<(), String>,
) -> Result<Outcome, String> {
    let deadline = Instant::now() + timeout;
    let mut next_sign = Instant::now() + progress;
    loop {
        let frame = match life.recv_until(Some(deadline.min(next_sign))) {
            Ok(frame) => frame,
            Err(Recv::TimedOut) if Instant::now() < deadline => {
                keep_alive()?;
                next_sign = Instant::now() + progress;
                continue;
            }
            Err(Recv::TimedOut) => {
                life.kill();
                let (_, quote) = life.end();
                return Ok(Outcome::Failed(Alone::TimedOut(quote)));
            }
            Err(Recv::Closed) => {
                let item = calling.current();
                let (ending, quote) = life.end();
                return Ok(Outcome::Failed(Alone::Ended(LifeEnded {
                    idle: false,
                    calling: item,
                    garbage: false,
                    timed_out: false,
                    ending: ending_words(&ending, ""),
                    quote,
                })));
            }
            Err(Recv::Garbage(what)) => return Ok(garbage(life, what)),
        };
        let mut r = Reader::new(&frame);
        match r.u8("tag") {
            Ok(wire::TAG_RESULTS) => match wire::read_results_header(&mut r) {
                Ok(h) if h.done => return Ok(Outcome::Answered(life)),
                Ok(_) => {}
                Err(_) => return Ok(garbage(life, "a results frame that does not decode".into())),
            },
            Ok(wire::TAG_ERROR) => {
                let message = r.string("message").unwrap_or_default();
                return Ok(garbage(life, format!("an error: {message}")));
            }
            _ => return Ok(garbage(life, "a frame of an unexpected kind".into())),
        }
    }
}

/// The life alone sent something it should not have: a protocol failure,
/// blamed on the item as the coordinator's run alone would.
fn garbage(mut life: Life, what: String) -> Outcome {
    life.kill();
    let (_, quote) = life.end();
    Outcome::Failed(Alone::Ended(LifeEnded {
        idle: false,
        calling: None,
        garbage: true,
        timed_out: false,
        ending: what,
        quote,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlement::Entitlement;

    fn entitlements(n: u32) -> Vec<Entitlement> {
        (0..n)
            .map(|serial| {
                let mut e = Entitlement::from_json(r#"{"product":"acme-cad","edition":"pro","max_major":3,"features":[],"seats":1,"issued":"2024-01-01","expires":null,"maintenance_until":null,"serial":0,"customer":null,"order_id":null,"host_id":null}"#).unwrap();
                e.serial = serial;
                e
            })
            .collect()
    }

    #[test]
    fn a_part_of_a_request_is_those_items_in_that_order() {
        let es = entitlements(5);
        let mut request = vec![wire::TAG_GENERATE];
        wire::put_u32(&mut request, 5);
        for e in &es {
            wire::put_entitlement(&mut request, e);
        }
        let ranges = item_ranges(&request).unwrap();
        assert_eq!(ranges.len(), 5);
        let part = part_of(&request, &ranges, &[4, 1]);
        let mut r = Reader::new(&part);
        assert_eq!(r.u8("tag").unwrap(), wire::TAG_GENERATE);
        assert_eq!(r.count("items", 1).unwrap(), 2);
        assert_eq!(wire::read_entitlement(&mut r).unwrap(), es[4]);
        assert_eq!(wire::read_entitlement(&mut r).unwrap(), es[1]);
        r.finish("part").unwrap();
        assert!(item_ranges(&request[..request.len() - 3]).is_none());
    }
}
