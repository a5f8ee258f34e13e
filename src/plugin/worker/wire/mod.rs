//! The worker protocol's messages and their binary encoding.
//!
//! A frame is a `u32` little-endian payload length followed by the payload;
//! the payload starts with a one-byte message tag. Values are encoded by hand
//! (little-endian integers, `u32`-length-prefixed byte strings, one tag byte
//! per `Option`), not through serde: the encoding is then independent of the
//! serde attributes of the model types (`skip_serializing_if` would silently
//! break a non-self-describing serde format), costs no dependency, and is as
//! fast as a memcpy. Decoding never panics and never allocates more than the
//! frame holds: every length is checked against the bytes that remain.
//!
//! Conversation (coordinator → worker, worker → coordinator):
//!
//! ```text
//! Hello{magic, protocol, version, plugin path, settings, progress}
//!                                      → Ready{protocol, version, info} | LoadFailed{error}
//! Generate{entitlements} | Validate{(key, context)...}
//!                                      → Results{first, n, done, results}... (done on the last)
//! (any)                                → Error{message}: the worker gives up (a bug, not the plugin)
//! ```

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};
use crate::implementation::{CallFailure, FailureKind, GenerateFailure, ImplInfo, Origin};
use crate::plugin::PluginError;
use crate::settings::Settings;
use crate::verdict::{Context, Decoded, Validation, Verdict, Version};

/// The first bytes of a `Hello`: "KCWK".
pub(super) const MAGIC: [u8; 4] = *b"KCWK";
/// Bumped on every incompatible change of this file.
pub(super) const PROTOCOL_VERSION: u32 = 1;
/// The largest frame either side accepts (64 MiB).
pub(super) const MAX_FRAME_BYTES: usize = 64 << 20;

/// Coordinator → worker: start.
pub(super) const TAG_HELLO: u8 = 1;
/// Coordinator → worker: generate keys.
pub(super) const TAG_GENERATE: u8 = 2;
/// Coordinator → worker: validate keys.
pub(super) const TAG_VALIDATE: u8 = 3;
/// Worker → coordinator: the plugin is loaded.
pub(super) const TAG_READY: u8 = 101;
/// Worker → coordinator: the plugin could not be loaded.
pub(super) const TAG_LOAD_FAILED: u8 = 102;
/// Worker → coordinator: answers to a request, in order.
pub(super) const TAG_RESULTS: u8 = 103;
/// Worker → coordinator: the worker gives up.
pub(super) const TAG_ERROR: u8 = 104;

/// Bytes a frame's header takes.
pub(super) const HEADER_BYTES: usize = 4;

/// A payload that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(super) struct WireError(pub(super) String);

fn err(msg: impl Into<String>) -> WireError {
    WireError(msg.into())
}

/// Builds one frame: reserves the length header, fills it in `finish`.
pub(super) struct FrameWriter {
    buf: Vec<u8>,
}

impl FrameWriter {
    /// A frame with message `tag`.
    pub(super) fn new(tag: u8) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&[0; HEADER_BYTES]);
        buf.push(tag);
        FrameWriter { buf }
    }

    /// The payload written so far, including the tag.
    pub(super) fn payload_len(&self) -> usize {
        self.buf.len() - HEADER_BYTES
    }

    /// The bytes after the header, to patch counts written as placeholders.
    pub(super) fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buf[HEADER_BYTES..]
    }

    /// Writes the length header and returns the frame's bytes.
    pub(super) fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.payload_len()).unwrap_or(u32::MAX);
        self.buf[..HEADER_BYTES].copy_from_slice(&len.to_le_bytes());
        self.buf
    }

    /// The underlying buffer, for the `put_*` functions.
    pub(super) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

/// Reads a payload, checking every length against what remains.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], WireError> {
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

    pub(super) fn u8(&mut self, what: &str) -> Result<u8, WireError> {
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

    fn i32(&mut self, what: &str) -> Result<i32, WireError> {
        Ok(self.u32(what)? as i32)
    }

    pub(super) fn bytes(&mut self, what: &str) -> Result<&'a [u8], WireError> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }

    pub(super) fn string(&mut self, what: &str) -> Result<String, WireError> {
        let b = self.bytes(what)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| err(format!("{what} is not valid UTF-8")))
    }

    fn bool(&mut self, what: &str) -> Result<bool, WireError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(err(format!("{what}: {other} is not a boolean"))),
        }
    }

    /// A count of elements that take at least `min_size` bytes each: checked
    /// against the bytes that remain, so a garbage count cannot allocate.
    pub(super) fn count(&mut self, what: &str, min_size: usize) -> Result<usize, WireError> {
        let n = self.u32(what)? as usize;
        let rest = self.buf.len() - self.pos;
        if n.saturating_mul(min_size.max(1)) > rest {
            return Err(err(format!(
                "{what}: a count of {n} cannot fit in the {rest} bytes that remain"
            )));
        }
        Ok(n)
    }

    fn opt_tag(&mut self, what: &str) -> Result<bool, WireError> {
        self.bool(what)
    }

    fn opt_string(&mut self, what: &str) -> Result<Option<String>, WireError> {
        self.opt_tag(what)?.then(|| self.string(what)).transpose()
    }

    fn day(&mut self, what: &str) -> Result<Day, WireError> {
        let n = self.u64(what)? as i64;
        Day::from_days_since_epoch(n).ok_or_else(|| err(format!("{what}: day {n} out of range")))
    }

    fn opt_day(&mut self, what: &str) -> Result<Option<Day>, WireError> {
        self.opt_tag(what)?.then(|| self.day(what)).transpose()
    }

    fn opt_u32(&mut self, what: &str) -> Result<Option<u32>, WireError> {
        self.opt_tag(what)?.then(|| self.u32(what)).transpose()
    }

    /// `Option<Option<T>>`: 0 absent, 1 null, 2 a value.
    fn nullable<T>(
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
    pub(super) fn finish(&self, what: &str) -> Result<(), WireError> {
        let rest = self.buf.len() - self.pos;
        if rest == 0 {
            Ok(())
        } else {
            Err(err(format!("{what}: {rest} unexpected trailing bytes")))
        }
    }

    /// Bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}

// ---------------------------------------------------------------- writing

pub(super) fn put_u8(b: &mut Vec<u8>, v: u8) {
    b.push(v);
}

pub(super) fn put_u32(b: &mut Vec<u8>, v: u32) {
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

fn put_bool(b: &mut Vec<u8>, v: bool) {
    b.push(u8::from(v));
}

fn put_opt_str(b: &mut Vec<u8>, v: Option<&str>) {
    put_bool(b, v.is_some());
    if let Some(v) = v {
        put_str(b, v);
    }
}

fn put_day(b: &mut Vec<u8>, d: Day) {
    put_u64(b, d.days_since_epoch() as u64);
}

fn put_opt_day(b: &mut Vec<u8>, d: Option<Day>) {
    put_bool(b, d.is_some());
    if let Some(d) = d {
        put_day(b, d);
    }
}

fn put_opt_u32(b: &mut Vec<u8>, v: Option<u32>) {
    put_bool(b, v.is_some());
    if let Some(v) = v {
        put_u32(b, v);
    }
}

fn put_nullable<T>(b: &mut Vec<u8>, v: &Option<Option<T>>, value: impl FnOnce(&mut Vec<u8>, &T)) {
    match v {
        None => put_u8(b, 0),
        Some(None) => put_u8(b, 1),
        Some(Some(x)) => {
            put_u8(b, 2);
            value(b, x);
        }
    }
}

fn put_path(b: &mut Vec<u8>, p: &std::path::Path) {
    put_bytes(b, p.as_os_str().as_bytes());
}

fn read_path(r: &mut Reader<'_>, what: &str) -> Result<PathBuf, WireError> {
    Ok(PathBuf::from(OsStr::from_bytes(r.bytes(what)?)))
}

// ------------------------------------------------------ hello and ready

/// What the coordinator tells a new worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hello {
    /// The plugin's path, as the user gave it.
    pub(super) plugin: PathBuf,
    /// The plugin's settings (kept off the command line: they hold secrets).
    pub(super) settings: Settings,
    /// How often a busy worker reports the answers it has.
    pub(super) progress: Duration,
}

pub(super) fn encode_hello(h: &Hello) -> Vec<u8> {
    let mut f = FrameWriter::new(TAG_HELLO);
    let b = f.buf();
    b.extend_from_slice(&MAGIC);
    put_u32(b, PROTOCOL_VERSION);
    put_str(b, env!("CARGO_PKG_VERSION"));
    put_path(b, &h.plugin);
    put_u32(b, h.settings.len().min(u32::MAX as usize) as u32);
    for (k, v) in &h.settings {
        put_str(b, k);
        put_str(b, v);
    }
    put_u64(b, h.progress.as_micros().min(u128::from(u64::MAX)) as u64);
    f.finish()
}

/// Reads a hello (after its tag). A hello from another protocol version is
/// an error naming both versions.
pub(super) fn decode_hello(r: &mut Reader<'_>) -> Result<Hello, WireError> {
    if r.take(4, "magic")? != MAGIC {
        return Err(err("not a keycompat worker hello (bad magic)"));
    }
    let protocol = r.u32("protocol")?;
    let version = r.string("version")?;
    if protocol != PROTOCOL_VERSION {
        return Err(err(format!(
            "the coordinator (keycompat {version}) speaks worker protocol {protocol}, this worker (keycompat {}) speaks {PROTOCOL_VERSION}",
            env!("CARGO_PKG_VERSION")
        )));
    }
    let plugin = read_path(r, "plugin path")?;
    let n = r.count("settings", 8)?;
    let mut settings = Settings::new();
    for _ in 0..n {
        let k = r.string("setting key")?;
        let v = r.string("setting value")?;
        settings.insert(k, v);
    }
    let progress = Duration::from_micros(r.u64("progress")?);
    r.finish("hello")?;
    Ok(Hello {
        plugin,
        settings,
        progress,
    })
}

pub(super) fn encode_ready(info: &ImplInfo) -> Vec<u8> {
    let mut f = FrameWriter::new(TAG_READY);
    let b = f.buf();
    put_u32(b, PROTOCOL_VERSION);
    put_str(b, env!("CARGO_PKG_VERSION"));
    put_str(b, &info.name);
    put_str(b, &info.version);
    match &info.origin {
        Origin::Builtin { scheme } => {
            put_u8(b, 0);
            put_str(b, scheme);
        }
        Origin::Plugin {
            path,
            sha256,
            abi,
            flags,
        } => {
            put_u8(b, 1);
            put_path(b, path);
            put_str(b, sha256);
            put_str(b, abi);
            put_u64(b, *flags);
        }
    }
    put_bool(b, info.can_generate);
    put_bool(b, info.can_validate);
    f.finish()
}

/// Reads a ready message (after its tag).
pub(super) fn decode_ready(r: &mut Reader<'_>) -> Result<ImplInfo, WireError> {
    let protocol = r.u32("protocol")?;
    let version = r.string("version")?;
    if protocol != PROTOCOL_VERSION {
        return Err(err(format!(
            "the worker (keycompat {version}) speaks worker protocol {protocol}, this keycompat ({}) speaks {PROTOCOL_VERSION}",
            env!("CARGO_PKG_VERSION")
        )));
    }
    let name = r.string("name")?;
    let version = r.string("plugin version")?;
    let origin = match r.u8("origin")? {
        0 => Origin::Builtin {
            scheme: r.string("scheme")?,
        },
        1 => Origin::Plugin {
            path: read_path(r, "path")?,
            sha256: r.string("sha256")?,
            abi: r.string("abi")?,
            flags: r.u64("flags")?,
        },
        other => return Err(err(format!("origin tag {other}"))),
    };
    let info = ImplInfo {
        name,
        version,
        origin,
        can_generate: r.bool("can_generate")?,
        can_validate: r.bool("can_validate")?,
    };
    r.finish("ready")?;
    Ok(info)
}

pub(super) fn encode_load_failed(e: &PluginError) -> Vec<u8> {
    let mut f = FrameWriter::new(TAG_LOAD_FAILED);
    let b = f.buf();
    match e {
        PluginError::Unreadable { path, message } => {
            put_u8(b, 0);
            put_path(b, path);
            put_str(b, message);
        }
        PluginError::Open { path, message } => {
            put_u8(b, 1);
            put_path(b, path);
            put_str(b, message);
        }
        PluginError::MissingEntry { path } => {
            put_u8(b, 2);
            put_path(b, path);
        }
        PluginError::BadTable { path, problem } => {
            put_u8(b, 3);
            put_path(b, path);
            put_str(b, problem);
        }
        PluginError::Create {
            path,
            name,
            status,
            message,
        } => {
            put_u8(b, 4);
            put_path(b, path);
            put_str(b, name);
            put_u32(b, *status as u32);
            put_str(b, message);
        }
    }
    f.finish()
}

/// Reads a load failure (after its tag): the very error the worker's
/// in-process load returned.
pub(super) fn decode_load_failed(r: &mut Reader<'_>) -> Result<PluginError, WireError> {
    let e = match r.u8("error kind")? {
        0 => PluginError::Unreadable {
            path: read_path(r, "path")?,
            message: r.string("message")?,
        },
        1 => PluginError::Open {
            path: read_path(r, "path")?,
            message: r.string("message")?,
        },
        2 => PluginError::MissingEntry {
            path: read_path(r, "path")?,
        },
        3 => PluginError::BadTable {
            path: read_path(r, "path")?,
            problem: r.string("problem")?,
        },
        4 => PluginError::Create {
            path: read_path(r, "path")?,
            name: r.string("name")?,
            status: r.i32("status")?,
            message: r.string("message")?,
        },
        other => return Err(err(format!("load error kind {other}"))),
    };
    r.finish("load failure")?;
    Ok(e)
}

pub(super) fn encode_error(message: &str) -> Vec<u8> {
    let mut f = FrameWriter::new(TAG_ERROR);
    put_str(f.buf(), message);
    f.finish()
}

// ------------------------------------------------------------ requests

/// Appends one entitlement (a generate request item).
pub(super) fn put_entitlement(b: &mut Vec<u8>, e: &Entitlement) {
    put_str(b, &e.product);
    put_str(b, &e.edition);
    put_u8(b, e.max_major);
    put_u32(b, e.features.len().min(u32::MAX as usize) as u32);
    for f in &e.features {
        put_str(b, f);
    }
    put_opt_u32(b, e.seats);
    put_day(b, e.issued);
    put_opt_day(b, e.expires);
    put_opt_day(b, e.maintenance_until);
    put_u32(b, e.serial);
    put_bool(b, e.customer.is_some());
    if let Some(c) = &e.customer {
        put_str(b, &c.id);
        put_str(b, &c.name);
    }
    put_opt_str(b, e.order_id.as_deref());
    put_opt_str(b, e.host_id.as_deref());
}

pub(super) fn read_entitlement(r: &mut Reader<'_>) -> Result<Entitlement, WireError> {
    let product = r.string("product")?;
    let edition = r.string("edition")?;
    let max_major = r.u8("max_major")?;
    let n = r.count("features", 4)?;
    let mut features = BTreeSet::new();
    for _ in 0..n {
        features.insert(r.string("feature")?);
    }
    Ok(Entitlement {
        product,
        edition,
        max_major,
        features,
        seats: r.opt_u32("seats")?,
        issued: r.day("issued")?,
        expires: r.opt_day("expires")?,
        maintenance_until: r.opt_day("maintenance_until")?,
        serial: r.u32("serial")?,
        customer: if r.opt_tag("customer")? {
            Some(Customer {
                id: r.string("customer.id")?,
                name: r.string("customer.name")?,
            })
        } else {
            None
        },
        order_id: r.opt_string("order_id")?,
        host_id: r.opt_string("host_id")?,
    })
}

/// Appends one validate request item: the key and its context.
pub(super) fn put_validate_item(b: &mut Vec<u8>, key: &[u8], c: &Context) {
    put_bytes(b, key);
    put_str(b, &c.product);
    put_u32(b, c.version.major);
    put_u32(b, c.version.minor);
    put_day(b, c.today);
    put_opt_str(b, c.host_id.as_deref());
}

pub(super) fn read_validate_item(r: &mut Reader<'_>) -> Result<(Vec<u8>, Context), WireError> {
    let key = r.bytes("key")?.to_vec();
    let context = Context {
        product: r.string("context.product")?,
        version: Version {
            major: r.u32("context.version")?,
            minor: r.u32("context.version")?,
        },
        today: r.day("context.today")?,
        host_id: r.opt_string("context.host_id")?,
    };
    Ok((key, context))
}

// ------------------------------------------------------------- results

fn kind_code(k: FailureKind) -> u8 {
    match k {
        FailureKind::BadArgument => 0,
        FailureKind::Unsupported => 1,
        FailureKind::Internal => 2,
        FailureKind::Panic => 3,
        FailureKind::Protocol => 4,
        FailureKind::Crash => 5,
        FailureKind::Timeout => 6,
    }
}

fn kind_from_code(c: u8) -> Result<FailureKind, WireError> {
    Ok(match c {
        0 => FailureKind::BadArgument,
        1 => FailureKind::Unsupported,
        2 => FailureKind::Internal,
        3 => FailureKind::Panic,
        4 => FailureKind::Protocol,
        5 => FailureKind::Crash,
        6 => FailureKind::Timeout,
        other => return Err(err(format!("failure kind {other}"))),
    })
}

fn put_call_failure(b: &mut Vec<u8>, f: &CallFailure) {
    put_u8(b, kind_code(f.kind));
    put_str(b, &f.message);
}

fn read_call_failure(r: &mut Reader<'_>) -> Result<CallFailure, WireError> {
    Ok(CallFailure {
        kind: kind_from_code(r.u8("failure kind")?)?,
        message: r.string("failure message")?,
    })
}

/// Appends one generate answer.
pub(super) fn put_generate_result(b: &mut Vec<u8>, res: &Result<String, GenerateFailure>) {
    match res {
        Ok(key) => {
            put_u8(b, 0);
            put_str(b, key);
        }
        Err(GenerateFailure::Refused { field, reason }) => {
            put_u8(b, 1);
            put_str(b, field);
            put_str(b, reason);
        }
        Err(GenerateFailure::Failed(f)) => {
            put_u8(b, 2);
            put_call_failure(b, f);
        }
    }
}

pub(super) fn read_generate_result(
    r: &mut Reader<'_>,
) -> Result<Result<String, GenerateFailure>, WireError> {
    Ok(match r.u8("generate answer")? {
        0 => Ok(r.string("key")?),
        1 => Err(GenerateFailure::Refused {
            field: r.string("refused field")?,
            reason: r.string("refusal reason")?,
        }),
        2 => Err(GenerateFailure::Failed(read_call_failure(r)?)),
        other => return Err(err(format!("generate answer tag {other}"))),
    })
}

fn verdict_code(v: Verdict) -> u8 {
    Verdict::ALL.iter().position(|x| *x == v).unwrap_or(0) as u8
}

fn put_decoded(b: &mut Vec<u8>, d: &Decoded) {
    put_opt_str(b, d.product.as_deref());
    put_opt_str(b, d.edition.as_deref());
    put_bool(b, d.max_major.is_some());
    if let Some(m) = d.max_major {
        put_u8(b, m);
    }
    put_bool(b, d.features.is_some());
    if let Some(fs) = &d.features {
        put_u32(b, fs.len().min(u32::MAX as usize) as u32);
        for f in fs {
            put_str(b, f);
        }
    }
    put_nullable(b, &d.seats, |b, v| put_u32(b, *v));
    put_opt_day(b, d.issued);
    put_nullable(b, &d.expires, |b, v| put_day(b, *v));
    put_nullable(b, &d.maintenance_until, |b, v| put_day(b, *v));
    put_opt_u32(b, d.serial);
    put_nullable(b, &d.customer, |b, c| {
        put_str(b, &c.id);
        put_str(b, &c.name);
    });
    put_nullable(b, &d.order_id, |b, v| put_str(b, v));
    put_nullable(b, &d.host_id, |b, v| put_str(b, v));
}

fn read_decoded(r: &mut Reader<'_>) -> Result<Decoded, WireError> {
    Ok(Decoded {
        product: r.opt_string("decoded.product")?,
        edition: r.opt_string("decoded.edition")?,
        max_major: r
            .opt_tag("decoded.max_major")?
            .then(|| r.u8("decoded.max_major"))
            .transpose()?,
        features: if r.opt_tag("decoded.features")? {
            let n = r.count("decoded.features", 4)?;
            let mut set = BTreeSet::new();
            for _ in 0..n {
                set.insert(r.string("decoded feature")?);
            }
            Some(set)
        } else {
            None
        },
        seats: r.nullable("decoded.seats", |r| r.u32("decoded.seats"))?,
        issued: r.opt_day("decoded.issued")?,
        expires: r.nullable("decoded.expires", |r| r.day("decoded.expires"))?,
        maintenance_until: r.nullable("decoded.maintenance_until", |r| {
            r.day("decoded.maintenance_until")
        })?,
        serial: r.opt_u32("decoded.serial")?,
        customer: r.nullable("decoded.customer", |r| {
            Ok(Customer {
                id: r.string("decoded.customer.id")?,
                name: r.string("decoded.customer.name")?,
            })
        })?,
        order_id: r.nullable("decoded.order_id", |r| r.string("decoded.order_id"))?,
        host_id: r.nullable("decoded.host_id", |r| r.string("decoded.host_id"))?,
    })
}

/// Appends one validate answer.
pub(super) fn put_validate_result(b: &mut Vec<u8>, res: &Result<Validation, CallFailure>) {
    match res {
        Ok(v) => {
            put_u8(b, 0);
            put_u8(b, verdict_code(v.verdict));
            put_opt_str(b, v.format.as_deref());
            put_opt_str(b, v.reason.as_deref());
            put_bool(b, v.decoded.is_some());
            if let Some(d) = &v.decoded {
                put_decoded(b, d);
            }
        }
        Err(f) => {
            put_u8(b, 1);
            put_call_failure(b, f);
        }
    }
}

pub(super) fn read_validate_result(
    r: &mut Reader<'_>,
) -> Result<Result<Validation, CallFailure>, WireError> {
    Ok(match r.u8("validate answer")? {
        0 => {
            let code = r.u8("verdict")?;
            let verdict = *Verdict::ALL
                .get(usize::from(code))
                .ok_or_else(|| err(format!("verdict code {code}")))?;
            Ok(Validation {
                verdict,
                format: r.opt_string("format")?,
                reason: r.opt_string("reason")?,
                decoded: r.opt_tag("decoded")?.then(|| read_decoded(r)).transpose()?,
            })
        }
        1 => Err(read_call_failure(r)?),
        other => return Err(err(format!("validate answer tag {other}"))),
    })
}

/// The header of a results frame, after its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ResultsHeader {
    /// Index (within the request) of the first answer in this frame.
    pub(super) first: u32,
    /// Answers in this frame.
    pub(super) count: u32,
    /// Whether this frame ends the answer to the request.
    pub(super) done: bool,
}

/// Where `count` and `done` sit in a results payload (tag, first, count, done).
const RESULTS_COUNT_AT: usize = 1 + 4;
const RESULTS_DONE_AT: usize = 1 + 4 + 4;

/// Starts a results frame; `patch_results` fills in count and done.
pub(super) fn start_results(first: u32) -> FrameWriter {
    let mut f = FrameWriter::new(TAG_RESULTS);
    let b = f.buf();
    put_u32(b, first);
    put_u32(b, 0);
    put_u8(b, 0);
    f
}

pub(super) fn patch_results(f: &mut FrameWriter, count: u32, done: bool) {
    let p = f.payload_mut();
    p[RESULTS_COUNT_AT..RESULTS_COUNT_AT + 4].copy_from_slice(&count.to_le_bytes());
    p[RESULTS_DONE_AT] = u8::from(done);
}

pub(super) fn read_results_header(r: &mut Reader<'_>) -> Result<ResultsHeader, WireError> {
    Ok(ResultsHeader {
        first: r.u32("first")?,
        count: r.u32("count")?,
        done: r.bool("done")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Entitlement {
        Entitlement::from_json(r#"{"product":"acme-cad","edition":"professional","max_major":7,"features":["export-dwg","render-gpu"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":{"id":"C-000042","name":"Zoë\nMüller, GmbH"},"order_id":"SO-1001","host_id":null}"#).unwrap()
    }

    #[test]
    fn entitlements_round_trip() {
        let e = example();
        let mut b = Vec::new();
        put_entitlement(&mut b, &e);
        let mut r = Reader::new(&b);
        assert_eq!(read_entitlement(&mut r).unwrap(), e);
        r.finish("entitlement").unwrap();
    }

    #[test]
    fn answers_round_trip() {
        let v = Validation {
            verdict: Verdict::Expired,
            format: Some("acme-ed1".into()),
            reason: None,
            decoded: Some(Decoded::from_entitlement(&example())),
        };
        let answers = [
            Ok(v),
            Ok(Validation::reject(Verdict::Malformed, None, "short")),
            Err(CallFailure::new(FailureKind::Protocol, "bad")),
        ];
        let mut b = Vec::new();
        for a in &answers {
            put_validate_result(&mut b, a);
        }
        let mut r = Reader::new(&b);
        for a in &answers {
            assert_eq!(&read_validate_result(&mut r).unwrap(), a);
        }
        r.finish("answers").unwrap();
    }

    #[test]
    fn garbage_never_panics_or_over_allocates() {
        let mut b = Vec::new();
        put_validate_result(
            &mut b,
            &Ok(Validation {
                verdict: Verdict::Valid,
                format: Some("x".into()),
                reason: None,
                decoded: Some(Decoded::from_entitlement(&example())),
            }),
        );
        // Every truncation and every single-byte corruption decodes to an
        // answer or an error, never a panic.
        for cut in 0..b.len() {
            let _ = read_validate_result(&mut Reader::new(&b[..cut]));
        }
        for i in 0..b.len() {
            for x in [0u8, 1, 2, 0x7F, 0xFF] {
                let mut c = b.clone();
                c[i] = x;
                let _ = read_validate_result(&mut Reader::new(&c));
            }
        }
        let huge = [0xFFu8; 8];
        assert!(Reader::new(&huge).count("n", 1).is_err());
    }
}
