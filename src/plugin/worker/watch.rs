//! The worker's watch over its plugin life's calls: a call that runs past
//! the timeout is a hang of the item being called, and the worker ends it.
//!
//! Why: the coordinator only sees the worker go silent. When it timed out
//! a hang itself, it killed the whole worker (its zygote and spare lives
//! too) without knowing which item hung, so every unanswered item of the
//! request ran again alone, each in a fresh life, and the hanging one into
//! a second timeout. The worker knows which item's call is running (the
//! calling slot) and since when it has seen it: it kills that life and
//! tells the coordinator which item hung, so a hanging input costs one
//! timeout, once.
//!
//! A call seen running at two looks at least `timeout` apart has run at
//! least `timeout`, so no call is cut short: each gets between `timeout`
//! and `timeout` plus one look's interval. Only a call being watched keeps
//! the coordinator waiting (`keep_alive`): a life stuck outside any call
//! is still the coordinator's to time out.

use std::time::{Duration, Instant};

/// What a look at the running call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Look {
    /// Not time to look yet, or no call is running.
    Nothing,
    /// A call is running, within its time.
    Running,
    /// The call of this item (the life's numbering) ran past the timeout.
    Hung(u32),
}

/// The watch over one plugin life's calls in one request.
pub(super) struct CallWatch {
    timeout: Duration,
    every: Duration,
    /// The call seen running, and when it was first seen.
    seen: Option<(u32, Instant)>,
    next: Instant,
}

impl CallWatch {
    pub(super) fn new(timeout: Duration, now: Instant) -> CallWatch {
        let every = (timeout / 8).clamp(Duration::from_millis(1), Duration::from_secs(1));
        CallWatch {
            timeout,
            every,
            seen: None,
            next: now + every,
        }
    }

    /// When to look next.
    pub(super) fn due(&self) -> Instant {
        self.next
    }

    /// Looks at the call running now (`calling`, `None`: none), if it is
    /// time to.
    pub(super) fn look(&mut self, calling: Option<u32>, now: Instant) -> Look {
        if now < self.next {
            return Look::Nothing;
        }
        self.next = now + self.every;
        match (calling, self.seen) {
            (Some(c), Some((s, since))) if c == s => {
                if now.duration_since(since) >= self.timeout {
                    return Look::Hung(c);
                }
                // Look again no later than when its time is up.
                self.next = self.next.min(since + self.timeout);
                Look::Running
            }
            (Some(c), _) => {
                self.seen = Some((c, now));
                Look::Running
            }
            (None, _) => {
                self.seen = None;
                Look::Nothing
            }
        }
    }

    /// The life changed (its items are numbered anew): nothing seen yet.
    pub(super) fn restart(&mut self, now: Instant) {
        *self = CallWatch::new(self.timeout, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_millis(800);

    #[test]
    fn a_call_seen_for_the_whole_timeout_is_hung() {
        let t0 = Instant::now();
        let mut w = CallWatch::new(T, t0);
        let every = T / 8;
        assert_eq!(w.look(Some(3), t0), Look::Nothing, "not due yet");
        assert_eq!(w.look(Some(3), t0 + every), Look::Running);
        // Seen first at t0 + every: hung only a whole timeout later.
        assert_eq!(w.look(Some(3), t0 + every + T - every), Look::Running);
        assert_eq!(w.due(), t0 + every + T);
        assert_eq!(w.look(Some(3), t0 + every + T), Look::Hung(3));
    }

    #[test]
    fn calls_that_move_on_or_end_are_never_hung() {
        let t0 = Instant::now();
        let mut w = CallWatch::new(T, t0);
        let mut now = t0;
        for i in 0..40 {
            now += T / 2;
            assert_ne!(w.look(Some(i), now), Look::Hung(i));
        }
        now += T / 2;
        assert_eq!(w.look(None, now), Look::Nothing);
        now += T / 2;
        assert_eq!(w.look(Some(39), now), Look::Running, "seen anew");
        w.restart(now);
        now += T;
        assert_eq!(w.look(Some(39), now), Look::Running, "a new life's call");
    }
}
