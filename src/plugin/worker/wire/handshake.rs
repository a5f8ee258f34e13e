//! The handshake: how a worker starts and how it gives up.
//!
//! The coordinator's hello carries what the worker needs to load the plugin
//! (its path and settings, kept off the command line because they hold
//! secrets) and the protocol version, so a worker from another keycompat
//! build refuses clearly instead of misreading frames. The worker answers
//! ready, with the [`ImplInfo`] its in-process plugin reports, or the very
//! [`PluginError`] its load gave, so a load failure reads the same with or
//! without isolation. The error message is how a worker gives up at any
//! point (a bug in keycompat, never the plugin's doing).

use std::path::PathBuf;
use std::time::Duration;

use crate::implementation::{ImplInfo, Origin};
use crate::plugin::library::PluginError;
use crate::settings::Settings;

use super::codec::{
    FrameWriter, Reader, WireError, err, put_bool, put_path, put_str, put_u8, put_u32, put_u64,
    read_path,
};
use super::tags::{TAG_ERROR, TAG_HELLO, TAG_LOAD_FAILED, TAG_READY};

/// The first bytes of a `Hello`: "KCWK".
const MAGIC: [u8; 4] = *b"KCWK";
/// Bumped on every incompatible change of the worker protocol.
const PROTOCOL_VERSION: u32 = 1;

/// What the coordinator tells a new worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hello {
    /// The plugin's path, as the user gave it.
    pub(crate) plugin: PathBuf,
    /// The plugin's settings (kept off the command line: they hold secrets).
    pub(crate) settings: Settings,
    /// How often a busy worker reports the answers it has.
    pub(crate) progress: Duration,
    /// How long one plugin call may run: the worker kills a life whose
    /// call runs longer and tells it as a timeout of that item.
    pub(crate) timeout: Duration,
}

pub(crate) fn encode_hello(h: &Hello) -> Vec<u8> {
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
    put_u64(b, h.timeout.as_micros().min(u128::from(u64::MAX)) as u64);
    f.finish()
}

/// Reads a hello (after its tag). A hello from another protocol version is
/// an error naming both versions.
pub(crate) fn decode_hello(r: &mut Reader<'_>) -> Result<Hello, WireError> {
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
    let timeout = Duration::from_micros(r.u64("timeout")?);
    r.finish("hello")?;
    Ok(Hello {
        plugin,
        settings,
        progress,
        timeout,
    })
}

pub(crate) fn encode_ready(info: &ImplInfo) -> Vec<u8> {
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
        // A worker hosts libraries only; carried whole for completeness.
        origin @ Origin::Process { .. } => {
            put_u8(b, 2);
            put_str(
                b,
                &serde_json::to_string(origin).expect("origins always serialize"),
            );
        }
    }
    put_bool(b, info.can_generate);
    put_bool(b, info.can_validate);
    f.finish()
}

/// Reads a ready message (after its tag).
pub(crate) fn decode_ready(r: &mut Reader<'_>) -> Result<ImplInfo, WireError> {
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
        2 => serde_json::from_str(&r.string("origin")?).map_err(|e| err(format!("origin: {e}")))?,
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

pub(crate) fn encode_load_failed(e: &PluginError) -> Vec<u8> {
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
        PluginError::Process { command, message } => {
            put_u8(b, 5);
            put_str(b, command);
            put_str(b, message);
        }
        PluginError::Loading { path, message } => {
            put_u8(b, 6);
            put_path(b, path);
            put_str(b, message);
        }
    }
    f.finish()
}

/// Reads a load failure (after its tag): the very error the worker's
/// in-process load returned.
pub(crate) fn decode_load_failed(r: &mut Reader<'_>) -> Result<PluginError, WireError> {
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
        5 => PluginError::Process {
            command: r.string("command")?,
            message: r.string("message")?,
        },
        6 => PluginError::Loading {
            path: read_path(r, "path")?,
            message: r.string("message")?,
        },
        other => return Err(err(format!("load error kind {other}"))),
    };
    r.finish("load failure")?;
    Ok(e)
}

pub(crate) fn encode_error(message: &str) -> Vec<u8> {
    let mut f = FrameWriter::new(TAG_ERROR);
    put_str(f.buf(), message);
    f.finish()
}
