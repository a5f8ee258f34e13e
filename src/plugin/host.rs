//! Calling a loaded plugin in-process, through the [`Implementation`] trait.

use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use keycompat_plugin_sdk::Fields;
use keycompat_plugin_sdk::abi::*;

use super::library::{LoadedPlugin, PluginError};
use crate::entitlement::Entitlement;
use crate::implementation::{
    CallFailure, FailureKind, GenerateFailure, ImplInfo, Implementation, Origin,
};
use crate::marshal;
use crate::settings::{self, Settings};
use crate::verdict::{Context, Validation};

/// The most output a plugin may ask the host to allocate for one answer.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// The longest `last_error` message the host reads.
const MAX_ERROR_BYTES: usize = 64 * 1024;
const INITIAL_BUFFER: usize = 1024;

/// One plugin instance and its output buffer.
struct Instance {
    ptr: NonNull<KcInstance>,
    buf: Vec<u8>,
}

// SAFETY: an instance is used by one thread at a time (it is taken out of the
// pool for each call); the plugin's flags decide whether distinct instances
// may run concurrently, which `PluginImpl::serial` enforces.
unsafe impl Send for Instance {}

/// A plugin called in-process: fast, but a crash in the plugin is a crash of
/// keycompat. Isolated runs wrap it in a worker process instead.
pub struct PluginImpl {
    plugin: Arc<LoadedPlugin>,
    settings: Fields,
    info: ImplInfo,
    idle: Mutex<Vec<Instance>>,
    /// Held across every call when the plugin is not thread-safe.
    serial: Option<Mutex<()>>,
}

impl PluginImpl {
    /// Wraps a loaded plugin, creating one instance now so that bad settings
    /// fail at startup, not on the first case.
    pub fn new(plugin: LoadedPlugin, settings: &Settings) -> Result<Self, PluginError> {
        let plugin = Arc::new(plugin);
        let info = ImplInfo {
            name: plugin.name.clone(),
            version: plugin.version.clone(),
            origin: Origin::Plugin {
                path: plugin.path.clone(),
                sha256: plugin.sha256.clone(),
                abi: format!("{}.{}", plugin.abi.0, plugin.abi.1),
                flags: plugin.flags,
            },
            can_generate: plugin.flags & KC_FLAG_GENERATE != 0,
            can_validate: plugin.flags & KC_FLAG_VALIDATE != 0,
        };
        let serial = (!plugin.thread_safe()).then(|| Mutex::new(()));
        let this = PluginImpl {
            settings: settings::to_fields(settings),
            plugin,
            info,
            idle: Mutex::new(Vec::new()),
            serial,
        };
        let first = this.create_instance()?;
        this.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(first);
        Ok(this)
    }

    /// The loaded plugin.
    pub fn plugin(&self) -> &LoadedPlugin {
        &self.plugin
    }

    fn create_instance(&self) -> Result<Instance, PluginError> {
        let create = self.plugin.table.create.expect("checked at load");
        let raw = self.settings.to_raw();
        let mut out: *mut KcInstance = std::ptr::null_mut();
        // SAFETY: `raw` points into `self.settings`, alive for the call; `out`
        // is a valid place for the plugin to write the instance pointer.
        let status = unsafe { create(raw.as_ptr(), raw.len(), &mut out) };
        match NonNull::new(out) {
            Some(ptr) if status == KC_OK => Ok(Instance {
                ptr,
                buf: vec![0; INITIAL_BUFFER],
            }),
            _ => Err(PluginError::Create {
                path: self.plugin.path.clone(),
                name: self.plugin.name.clone(),
                status,
                message: if status == KC_OK {
                    "returned KC_OK but no instance".to_string()
                } else {
                    "see the plugin's stderr above".to_string()
                },
            }),
        }
    }

    /// Runs `f` with an instance, respecting the plugin's thread safety.
    fn with_instance<R>(&self, f: impl FnOnce(&mut Instance) -> R) -> Result<R, CallFailure> {
        let _serial = self
            .serial
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut instance = match pooled {
            Some(i) => i,
            None => self
                .create_instance()
                .map_err(|e| CallFailure::new(FailureKind::Internal, e.to_string()))?,
        };
        let result = f(&mut instance);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(instance);
        Ok(result)
    }

    fn last_error(&self, instance: &Instance) -> String {
        let last_error = self.plugin.table.last_error.expect("checked at load");
        let mut buf = vec![0u8; 1024];
        // SAFETY: `buf` has `buf.len()` writable bytes; the instance is live.
        let full = unsafe { last_error(instance.ptr.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if full > buf.len() {
            buf.resize(full.min(MAX_ERROR_BYTES), 0);
            // SAFETY: as above, with the larger buffer.
            unsafe { last_error(instance.ptr.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        }
        buf.truncate(full.min(buf.len()));
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Calls `call(out, out_len)` with the size protocol of the header: one
    /// retry with the size the plugin asks for, within [`MAX_OUTPUT_BYTES`].
    /// Returns the status and the bytes written.
    fn call_with_buffer(
        instance: &mut Instance,
        mut call: impl FnMut(*mut u8, *mut usize) -> i32,
    ) -> Result<(i32, usize), CallFailure> {
        let protocol = |m: String| CallFailure::new(FailureKind::Protocol, m);
        for attempt in 0..2 {
            let cap = instance.buf.len();
            let mut len = cap;
            let status = call(instance.buf.as_mut_ptr(), &mut len);
            match status {
                KC_ERR_BUFFER_TOO_SMALL if attempt == 0 => {
                    if len <= cap {
                        return Err(protocol(format!(
                            "reported a buffer of {cap} bytes too small but asked for only {len}"
                        )));
                    }
                    if len > MAX_OUTPUT_BYTES {
                        return Err(protocol(format!(
                            "asked for a {len}-byte output buffer, more than the limit of {MAX_OUTPUT_BYTES}"
                        )));
                    }
                    instance.buf.resize(len, 0);
                }
                KC_ERR_BUFFER_TOO_SMALL => {
                    return Err(protocol(format!(
                        "reported the {cap}-byte buffer it asked for as too small again (now {len})"
                    )));
                }
                KC_OK if len > cap => {
                    return Err(protocol(format!(
                        "claims to have written {len} bytes into a buffer of {cap}"
                    )));
                }
                status => return Ok((status, len)),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    fn failure(&self, instance: &Instance, status: i32) -> CallFailure {
        let kind = match status {
            KC_ERR_BAD_ARGUMENT => FailureKind::BadArgument,
            KC_ERR_UNSUPPORTED => FailureKind::Unsupported,
            KC_ERR_INTERNAL => FailureKind::Internal,
            KC_ERR_PANIC => FailureKind::Panic,
            other => {
                return CallFailure::new(
                    FailureKind::Protocol,
                    format!("returned status {other}, which is not in the ABI"),
                );
            }
        };
        CallFailure::new(kind, self.last_error(instance))
    }
}

impl Drop for PluginImpl {
    fn drop(&mut self) {
        let destroy = self.plugin.table.destroy.expect("checked at load");
        for instance in self
            .idle
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            // SAFETY: each instance came from `create` and is destroyed once.
            unsafe { destroy(instance.ptr.as_ptr()) };
        }
    }
}

impl Implementation for PluginImpl {
    fn info(&self) -> &ImplInfo {
        &self.info
    }

    fn generate(&self, entitlement: &Entitlement) -> Result<String, GenerateFailure> {
        let generate = self.plugin.table.generate.expect("checked at load");
        let fields = marshal::entitlement_to_fields(entitlement);
        let raw = fields.to_raw();
        self.with_instance(|instance| {
            let inst = instance.ptr.as_ptr();
            let (status, len) = Self::call_with_buffer(instance, |out, out_len| {
                // SAFETY: `raw` points into `fields`, alive for the call; `out`
                // has `*out_len` writable bytes; the instance is ours alone.
                unsafe { generate(inst, raw.as_ptr(), raw.len(), out, out_len) }
            })?;
            match status {
                KC_OK => match std::str::from_utf8(&instance.buf[..len]) {
                    Ok("") => {
                        Err(CallFailure::new(FailureKind::Protocol, "returned an empty key").into())
                    }
                    Ok(key) => Ok(key.to_string()),
                    Err(_) => Err(CallFailure::new(
                        FailureKind::Protocol,
                        "returned a key that is not valid UTF-8",
                    )
                    .into()),
                },
                KC_REFUSED => Err(GenerateFailure::refused_from_message(
                    &self.last_error(instance),
                )),
                other => Err(self.failure(instance, other).into()),
            }
        })
        .map_err(GenerateFailure::Failed)?
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        let validate = self.plugin.table.validate.expect("checked at load");
        let fields = marshal::context_to_fields(context);
        let raw = fields.to_raw();
        self.with_instance(|instance| {
            let inst = instance.ptr.as_ptr();
            let (status, len) = Self::call_with_buffer(instance, |out, out_len| {
                // SAFETY: `key` and `raw` are alive for the call; `out` has
                // `*out_len` writable bytes; the instance is ours alone.
                unsafe {
                    validate(
                        inst,
                        key.as_ptr(),
                        key.len(),
                        raw.as_ptr(),
                        raw.len(),
                        out,
                        out_len,
                    )
                }
            })?;
            if status != KC_OK {
                return Err(self.failure(instance, status));
            }
            let text = std::str::from_utf8(&instance.buf[..len]).map_err(|_| {
                CallFailure::new(FailureKind::Protocol, "decode output is not valid UTF-8")
            })?;
            marshal::validation_from_text(text)
                .map_err(|e| CallFailure::new(FailureKind::Protocol, format!("decode output: {e}")))
        })?
    }
}

impl From<CallFailure> for GenerateFailure {
    fn from(f: CallFailure) -> Self {
        GenerateFailure::Failed(f)
    }
}
