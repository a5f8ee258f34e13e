//! How a worker tells the coordinator that its plugin child died: the
//! worker runs the plugin in a child per life (see `lives.rs`) and outlives
//! it, so a death is a message, not the end of the pipe. And, when the
//! coordinator let it (`Confirm`), that the item being called failed again
//! alone in a fresh life: the item is to blame.

use super::codec::{FrameWriter, Reader, WireError, err, put_bool, put_str, put_u8, put_u32};
use super::tags::{TAG_BLAMED, TAG_CONFIRM, TAG_LIFE_ENDED};

/// A plugin child of the worker ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LifeEnded {
    /// It died between requests: no item of the request now running is
    /// concerned, and the worker goes on with it in a fresh child.
    pub(crate) idle: bool,
    /// The index, in the request, of the item whose plugin call was running
    /// when it died; `None` when it died outside a plugin call.
    pub(crate) calling: Option<u32>,
    /// It sent something that is not a frame (a protocol failure) rather
    /// than dying.
    pub(crate) garbage: bool,
    /// The worker killed it: its call of `calling` ran past the timeout.
    pub(crate) timed_out: bool,
    /// How it ended, in a finding's words ("signal 11 (SIGSEGV)").
    pub(crate) ending: String,
    /// What it wrote to stderr during that life, quoted
    /// (`"; stderr: ..."`, or empty).
    pub(crate) quote: String,
}

/// What the coordinator lets the worker do in the next request: when a
/// plugin life dies calling an item with another unanswered, run that
/// item alone in a fresh life and, if it fails there too, go on without
/// it; for as long as the coordinator would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Confirm {
    /// Milliseconds an item run alone gets.
    pub(crate) ms: u32,
    /// The coordinator's count of deaths in a row, and how many it allows.
    pub(crate) in_a_row: u32,
    pub(crate) max: u32,
}

/// A `Confirm` frame's length, header included.
pub(crate) const CONFIRM_FRAME_BYTES: usize = 4 + 1 + 3 * 4;

pub(crate) fn encode_confirm(c: Confirm) -> [u8; CONFIRM_FRAME_BYTES] {
    let mut f = [0u8; CONFIRM_FRAME_BYTES];
    f[..4].copy_from_slice(&((CONFIRM_FRAME_BYTES - 4) as u32).to_le_bytes());
    f[4] = TAG_CONFIRM;
    f[5..9].copy_from_slice(&c.ms.to_le_bytes());
    f[9..13].copy_from_slice(&c.in_a_row.to_le_bytes());
    f[13..17].copy_from_slice(&c.max.to_le_bytes());
    f
}

/// Decodes the message after its tag.
pub(crate) fn decode_confirm(r: &mut Reader<'_>) -> Result<Confirm, WireError> {
    let c = Confirm {
        ms: r.u32("milliseconds")?,
        in_a_row: r.u32("in a row")?,
        max: r.u32("max")?,
    };
    r.finish("confirm")?;
    Ok(c)
}

pub(crate) fn encode_life_ended(l: &LifeEnded) -> Vec<u8> {
    let mut f = FrameWriter::new(TAG_LIFE_ENDED);
    put_life_ended(f.buf(), l);
    f.finish()
}

fn put_life_ended(b: &mut Vec<u8>, l: &LifeEnded) {
    put_bool(b, l.idle);
    match l.calling {
        Some(i) => {
            put_u8(b, 1);
            put_u32(b, i);
        }
        None => put_u8(b, 0),
    }
    put_bool(b, l.garbage);
    put_bool(b, l.timed_out);
    put_str(b, &l.ending);
    put_str(b, &l.quote);
}

/// Decodes the message after its tag.
pub(crate) fn decode_life_ended(r: &mut Reader<'_>) -> Result<LifeEnded, WireError> {
    let l = read_life_ended(r)?;
    r.finish("life ended")?;
    Ok(l)
}

fn read_life_ended(r: &mut Reader<'_>) -> Result<LifeEnded, WireError> {
    let idle = r.bool("idle")?;
    let calling = match r.u8("calling")? {
        0 => None,
        1 => Some(r.u32("calling")?),
        other => return Err(err(format!("calling: option tag {other}"))),
    };
    Ok(LifeEnded {
        idle,
        calling,
        garbage: r.bool("garbage")?,
        timed_out: r.bool("timed_out")?,
        ending: r.string("ending")?,
        quote: r.string("quote")?,
    })
}

/// The item whose call killed a plugin life failed again alone, in a
/// fresh life the worker started for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Blamed {
    /// The death during the request; its `calling` is the item.
    pub(crate) crash: LifeEnded,
    /// How the item's run alone failed.
    pub(crate) alone: Alone,
    /// The worker goes on with the rest of the request (its answers
    /// follow, the item's left out); else the request ends here.
    pub(crate) goes_on: bool,
}

/// How an item run alone failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Alone {
    /// Its life died (or sent garbage).
    Ended(LifeEnded),
    /// It did not answer in the time the `Confirm` gave; it was killed.
    /// What it wrote to stderr, quoted.
    TimedOut(String),
}

pub(crate) fn encode_blamed(b: &Blamed) -> Vec<u8> {
    let mut f = FrameWriter::new(TAG_BLAMED);
    let buf = f.buf();
    put_bool(buf, b.goes_on);
    put_life_ended(buf, &b.crash);
    match &b.alone {
        Alone::Ended(l) => {
            put_u8(buf, 0);
            put_life_ended(buf, l);
        }
        Alone::TimedOut(quote) => {
            put_u8(buf, 1);
            put_str(buf, quote);
        }
    }
    f.finish()
}

/// Decodes the message after its tag.
pub(crate) fn decode_blamed(r: &mut Reader<'_>) -> Result<Blamed, WireError> {
    let goes_on = r.bool("goes on")?;
    let crash = read_life_ended(r)?;
    let alone = match r.u8("alone")? {
        0 => Alone::Ended(read_life_ended(r)?),
        1 => Alone::TimedOut(r.string("quote")?),
        other => return Err(err(format!("alone: tag {other}"))),
    };
    r.finish("blamed")?;
    Ok(Blamed {
        crash,
        alone,
        goes_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_life_ended_round_trips() {
        for calling in [None, Some(0), Some(255)] {
            let l = LifeEnded {
                idle: calling.is_none(),
                calling,
                garbage: false,
                timed_out: calling == Some(255),
                ending: "signal 11 (SIGSEGV)".into(),
                quote: "; stderr: boom".into(),
            };
            let frame = encode_life_ended(&l);
            let mut r = Reader::new(&frame[4..]);
            assert_eq!(r.u8("tag").unwrap(), TAG_LIFE_ENDED);
            assert_eq!(decode_life_ended(&mut r).unwrap(), l);
        }
    }

    #[test]
    fn a_blame_round_trips() {
        let crash = LifeEnded {
            idle: false,
            calling: Some(7),
            garbage: false,
            timed_out: false,
            ending: "signal 11 (SIGSEGV)".into(),
            quote: "; stderr: boom".into(),
        };
        for alone in [
            Alone::Ended(LifeEnded {
                calling: Some(0),
                ..crash.clone()
            }),
            Alone::TimedOut("; stderr: still here".into()),
        ] {
            let b = Blamed {
                crash: crash.clone(),
                alone,
                goes_on: true,
            };
            let frame = encode_blamed(&b);
            let mut r = Reader::new(&frame[4..]);
            assert_eq!(r.u8("tag").unwrap(), TAG_BLAMED);
            assert_eq!(decode_blamed(&mut r).unwrap(), b);
            let mut cut = Reader::new(&frame[5..frame.len() - 1]);
            assert!(decode_blamed(&mut cut).is_err());
        }
    }

    #[test]
    fn a_confirm_round_trips() {
        let c = Confirm {
            ms: 5000,
            in_a_row: 2,
            max: 20,
        };
        let frame = encode_confirm(c);
        let mut r = Reader::new(&frame[4..]);
        assert_eq!(r.u8("tag").unwrap(), TAG_CONFIRM);
        assert_eq!(decode_confirm(&mut r).unwrap(), c);
        assert!(decode_confirm(&mut Reader::new(&frame[5..16])).is_err());
    }

    #[test]
    fn a_truncated_life_ended_is_an_error() {
        let frame = encode_life_ended(&LifeEnded {
            idle: false,
            calling: Some(3),
            garbage: false,
            timed_out: false,
            ending: "exited with status 0".into(),
            quote: String::new(),
        });
        let mut r = Reader::new(&frame[5..frame.len() - 1]);
        assert!(decode_life_ended(&mut r).is_err());
    }
}
