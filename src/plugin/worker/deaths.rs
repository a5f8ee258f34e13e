//! The coordinator's reading of a plugin life's death, which a worker
//! tells in a frame (`LifeEnded`, `Blamed`) and outlives: what it costs in
//! the implementation's health, which item it points at, and when the
//! worker may run that item alone itself.
//!
//! Why the worker may (`Confirm`): the blame needs the item being called
//! to fail again alone in a fresh plugin life; when the worker does that
//! at once, and goes on with the rest of the request in another fresh
//! life, a crash costs no round trip through the coordinator. The
//! coordinator keeps the count that can declare the implementation dead,
//! and lends the worker just enough of it (`in_a_row`, `max_restarts`) to
//! stop where it would have: a death the worker handles itself is never
//! the one that makes the implementation dead.

use super::encoded::Op;
use super::ending::human;
use super::exchange::Fault;
use super::pool::{Pool, lock};
use super::process::Process;
use super::wire;
use crate::implementation::{CallFailure, FailureKind};

impl Pool {
    /// The `Confirm` frame to send before a request of `items` items, if
    /// the worker may run the suspect of a death alone itself: with two
    /// items or more (with one, the coordinator blames it at once), and
    /// only while that death cannot make the implementation dead (the
    /// coordinator would then not run the suspect alone).
    pub(super) fn confirm_frame(&self, items: usize) -> Option<[u8; wire::CONFIRM_FRAME_BYTES]> {
        let in_a_row = lock(&self.health).in_a_row;
        let max = self.options.max_restarts;
        if items < 2 || in_a_row >= max {
            return None;
        }
        let ms = u32::try_from(self.options.timeout.as_millis()).unwrap_or(u32::MAX);
        Some(wire::encode_confirm(wire::Confirm { ms, in_a_row, max }))
    }

    /// The worker's plugin child died during this request; the worker
    /// went on with a fresh one and stays in the pool. `unanswered`: the
    /// positions of the request's items still awaiting an answer, in
    /// order.
    pub(super) fn life_ended(
        &self,
        p: Process,
        ended: &wire::LifeEnded,
        unanswered: &[usize],
    ) -> Fault {
        self.checkin(p);
        lock(&self.health).stats.spawned += 1;
        Fault {
            failure: self.life_failure(ended),
            calling: self.suspect(ended, unanswered),
            alone: None,
            seasoned: false,
        }
    }

    /// The item a death points at (only an unanswered item can have been
    /// running); a death after calls that returned (their answers died
    /// unsent) is progress, as answers received are.
    fn suspect(&self, ended: &wire::LifeEnded, unanswered: &[usize]) -> Option<usize> {
        let calling = ended
            .calling
            .map(|c| c as usize)
            .filter(|c| unanswered.contains(c));
        if calling.is_some_and(|c| unanswered.first() != Some(&c)) {
            lock(&self.health).in_a_row = 0;
        }
        calling
    }

    /// The worker's plugin child died during this request and the worker
    /// ran the item being called alone, in a fresh life, which failed too;
    /// the request ends there.
    pub(super) fn blamed(&self, p: Process, blamed: &wire::Blamed, unanswered: &[usize]) -> Fault {
        let mut fault = self.life_ended(p, &blamed.crash, unanswered);
        lock(&self.health).stats.spawned += 1;
        fault.alone = Some(self.alone_failure(&blamed.alone));
        fault
    }

    /// As [`Pool::blamed`], but the worker goes on with the rest of the
    /// request in a fresh life: the item gets its failure here, as
    /// `run_frame` would give it. Returns its position; `None` if it is
    /// not awaiting an answer (the worker is confused).
    pub(super) fn blamed_goes_on<O: Op>(
        &self,
        blamed: &wire::Blamed,
        unanswered: &[usize],
        indices: &[usize],
        out: &mut [Option<O::Answer>],
    ) -> Option<usize> {
        let position = self.suspect(&blamed.crash, unanswered)?;
        lock(&self.health).stats.spawned += 2;
        self.record_death(&self.life_failure(&blamed.crash), false);
        self.failed_alone::<O>(indices[position], self.alone_failure(&blamed.alone), out);
        Some(position)
    }

    /// What a plugin child's death (or garbage) is as a call's failure.
    fn life_failure(&self, ended: &wire::LifeEnded) -> CallFailure {
        if ended.timed_out {
            self.timeout_failure(&ended.quote)
        } else if ended.garbage {
            CallFailure::new(
                FailureKind::Protocol,
                format!("the worker sent {}{}", ended.ending, ended.quote),
            )
        } else {
            let hint = self.options.memory_hint(&ended.quote);
            CallFailure::new(
                FailureKind::Crash,
                format!("{}{hint}{}", ended.ending, ended.quote),
            )
        }
    }

    /// What an item's failure alone is as a call's failure.
    fn alone_failure(&self, alone: &wire::Alone) -> CallFailure {
        match alone {
            wire::Alone::Ended(ended) => self.life_failure(ended),
            wire::Alone::TimedOut(quote) => self.timeout_failure(quote),
        }
    }

    /// A call that got no answer within the timeout, with what the plugin
    /// wrote to stderr (`quote`).
    pub(super) fn timeout_failure(&self, quote: &str) -> CallFailure {
        CallFailure::new(
            FailureKind::Timeout,
            format!("no answer within {}{quote}", human(self.options.timeout)),
        )
    }

    /// The worker's plugin child died between requests: no item is to
    /// blame; the worker answers the request in a fresh one.
    pub(super) fn idle_life_ended(&self, ended: &wire::LifeEnded) {
        lock(&self.health).stats.spawned += 1;
        let failure = CallFailure::new(
            FailureKind::Crash,
            format!(
                "the plugin process died between calls (no item was being called): {}{}",
                ended.ending, ended.quote
            ),
        );
        self.record_death(&failure, true);
    }
}
