//! The protocol's building blocks: frames and the primitive values inside
//! them.
//!
//! [`FrameWriter`] builds a frame (length header, tag, payload); the `put_*`
//! functions append values to it; [`Reader`] reads them back. Everything the
//! messages in the sibling modules carry is made of these, so the rules that
//! keep decoding safe live here once: every length is checked against the
//! bytes that remain, so a garbage length can neither panic nor make us
//! allocate more than the frame holds.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::date::Day;

/// Bytes a frame's header takes.
pub(crate) const HEADER_BYTES: usize = 4;
/// The largest frame either side accepts (64 MiB).
pub(crate) const MAX_FRAME_BYTES: usize = 64 << 20;

/// A payload that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct WireError(pub(crate) String);

pub(super) fn err(msg: impl Into<String>) -> WireError {
    WireError(msg.into())
}

/// Builds one frame: reserves the length header, fills it in `finish`.
pub(crate) struct FrameWriter {
    buf: Vec<u8>,
}

impl FrameWriter {
    /// A frame with message `tag`.
    pub(crate) fn new(tag: u8) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&[0; HEADER_BYTES]);
        buf.push(tag);
        FrameWriter { buf }
    }

    /// The payload written so far, including the tag.
    pub(crate) fn payload_len(&self) -> usize {
        self.buf.len() - HEADER_BYTES
    }

    /// The bytes after the header, to patch counts written as placeholders.
    pub(super) fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buf[HEADER_BYTES..]
    }

    /// Writes the length header and returns the frame's bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.payload_len()).unwrap_or(u32::MAX);
        self.buf[..HEADER_BYTES].copy_from_slice(&len.to_le_bytes());
        self.buf
    }

    /// The underlying buffer, for the `put_*` functions.
    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

/// Reads a payload, checking every length against what remains.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], WireError> {
        let rest = self.buf.len() - self.pos;
        if n > rest {
            return Err(err(format!(
                "truncated payload: {what} needs {n} bytes, {rest} remain"
            )));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, WireError> {
        Ok(self.take(1, what)?[0])
    }

    pub(super) fn u32(&mut self, what: &str) -> Result<u32, WireError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64(&mut self, what: &str) -> Result<u64, WireError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub(super) fn i32(&mut self, what: &str) -> Result<i32, WireError> {
        Ok(self.u32(what)? as i32)
    }

    pub(super) fn bytes(&mut self, what: &str) -> Result<&'a [u8], WireError> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }

    pub(crate) fn string(&mut self, what: &str) -> Result<String, WireError> {
        let b = self.bytes(what)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| err(format!("{what} is not valid UTF-8")))
    }

    pub(super) fn bool(&mut self, what: &str) -> Result<bool, WireError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(err(format!("{what}: {other} is not a boolean"))),
        }
    }

    /// A count of elements that take at least `min_size` bytes each: checked
    /// against the bytes that remain, so a garbage count cannot allocate.
    pub(crate) fn count(&mut self, what: &str, min_size: usize) -> Result<usize, WireError> {
        let n = self.u32(what)? as usize;
        let rest = self.buf.len() - self.pos;
        if n.saturating_mul(min_size.max(1)) > rest {
            return Err(err(format!(
                "{what}: a count of {n} cannot fit in the {rest} bytes that remain"
            )));
        }
        Ok(n)
    }

    pub(super) fn opt_tag(&mut self, what: &str) -> Result<bool, WireError> {
        self.bool(what)
    }

    pub(super) fn opt_string(&mut self, what: &str) -> Result<Option<String>, WireError> {
        self.opt_tag(what)?.then(|| self.string(what)).transpose()
    }

    pub(super) fn day(&mut self, what: &str) -> Result<Day, WireError> {
        let n = self.u64(what)? as i64;
        Day::from_days_since_epoch(n).ok_or_else(|| err(format!("{what}: day {n} out of range")))
    }

    pub(super) fn opt_day(&mut self, what: &str) -> Result<Option<Day>, WireError> {
        self.opt_tag(what)?.then(|| self.day(what)).transpose()
    }

    pub(super) fn opt_u32(&mut self, what: &str) -> Result<Option<u32>, WireError> {
        self.opt_tag(what)?.then(|| self.u32(what)).transpose()
    }

    /// `Option<Option<T>>`: 0 absent, 1 null, 2 a value.
    pub(super) fn nullable<T>(
        &mut self,
        what: &str,
        value: impl FnOnce(&mut Self) -> Result<T, WireError>,
    ) -> Result<Option<Option<T>>, WireError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(None)),
            2 => Ok(Some(Some(value(self)?))),
            other => Err(err(format!("{what}: nullable tag {other}"))),
        }
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(&self, what: &str) -> Result<(), WireError> {
        let rest = self.buf.len() - self.pos;
        if rest == 0 {
            Ok(())
        } else {
            Err(err(format!("{what}: {rest} unexpected trailing bytes")))
        }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}

// ---------------------------------------------------------------- writing

pub(super) fn put_u8(b: &mut Vec<u8>, v: u8) {
    b.push(v);
}

pub(crate) fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

/// A length-prefixed byte string. Callers keep every value below 4 GiB (the
/// frame limit is far lower); a longer one is truncated, never wrapped.
pub(super) fn put_bytes(b: &mut Vec<u8>, v: &[u8]) {
    let n = v.len().min(u32::MAX as usize);
    put_u32(b, n as u32);
    b.extend_from_slice(&v[..n]);
}

pub(super) fn put_str(b: &mut Vec<u8>, v: &str) {
    put_bytes(b, v.as_bytes());
}

pub(super) fn put_bool(b: &mut Vec<u8>, v: bool) {
    b.push(u8::from(v));
}

pub(super) fn put_opt_str(b: &mut Vec<u8>, v: Option<&str>) {
    put_bool(b, v.is_some());
    if let Some(v) = v {
        put_str(b, v);
    }
}

pub(super) fn put_day(b: &mut Vec<u8>, d: Day) {
    put_u64(b, d.days_since_epoch() as u64);
}

pub(super) fn put_opt_day(b: &mut Vec<u8>, d: Option<Day>) {
    put_bool(b, d.is_some());
    if let Some(d) = d {
        put_day(b, d);
    }
}

pub(super) fn put_opt_u32(b: &mut Vec<u8>, v: Option<u32>) {
    put_bool(b, v.is_some());
    if let Some(v) = v {
        put_u32(b, v);
    }
}

pub(super) fn put_nullable<T>(
    b: &mut Vec<u8>,
    v: &Option<Option<T>>,
    value: impl FnOnce(&mut Vec<u8>, &T),
) {
    match v {
        None => put_u8(b, 0),
        Some(None) => put_u8(b, 1),
        Some(Some(x)) => {
            put_u8(b, 2);
            value(b, x);
        }
    }
}

pub(super) fn put_path(b: &mut Vec<u8>, p: &std::path::Path) {
    put_bytes(b, p.as_os_str().as_bytes());
}

pub(super) fn read_path(r: &mut Reader<'_>, what: &str) -> Result<PathBuf, WireError> {
    Ok(PathBuf::from(OsStr::from_bytes(r.bytes(what)?)))
}
