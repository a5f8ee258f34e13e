//! How a worker tells the coordinator that its plugin child died: the
//! worker runs the plugin in a child per life (see `lives.rs`) and outlives
//! it, so a death is a message, not the end of the pipe.

use super::codec::{FrameWriter, Reader, WireError, err, put_bool, put_str, put_u8, put_u32};
use super::tags::TAG_LIFE_ENDED;

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
    /// How it ended, in a finding's words ("signal 11 (SIGSEGV)").
    pub(crate) ending: String,
    /// What it wrote to stderr during that life, quoted
    /// (`"; stderr: ..."`, or empty).
    pub(crate) quote: String,
}

pub(crate) fn encode_life_ended(l: &LifeEnded) -> Vec<u8> {
    let mut f = FrameWriter::new(TAG_LIFE_ENDED);
    let b = f.buf();
    put_bool(b, l.idle);
    match l.calling {
        Some(i) => {
            put_u8(b, 1);
            put_u32(b, i);
        }
        None => put_u8(b, 0),
    }
    put_bool(b, l.garbage);
    put_str(b, &l.ending);
    put_str(b, &l.quote);
    f.finish()
}

/// Decodes the message after its tag.
pub(crate) fn decode_life_ended(r: &mut Reader<'_>) -> Result<LifeEnded, WireError> {
    let idle = r.bool("idle")?;
    let calling = match r.u8("calling")? {
        0 => None,
        1 => Some(r.u32("calling")?),
        other => return Err(err(format!("calling: option tag {other}"))),
    };
    let l = LifeEnded {
        idle,
        calling,
        garbage: r.bool("garbage")?,
        ending: r.string("ending")?,
        quote: r.string("quote")?,
    };
    r.finish("life ended")?;
    Ok(l)
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
    fn a_truncated_life_ended_is_an_error() {
        let frame = encode_life_ended(&LifeEnded {
            idle: false,
            calling: Some(3),
            garbage: false,
            ending: "exited with status 0".into(),
            quote: String::new(),
        });
        let mut r = Reader::new(&frame[5..frame.len() - 1]);
        assert!(decode_life_ended(&mut r).is_err());
    }
}
