//! Calling a loaded plugin in-process, through the [`Implementation`] trait.
//!
//! A plugin offering the ABI 1.1 batch entry points (`KC_FLAG_BATCH`) is
//! called once per batch: one instance, one input array, one output buffer,
//! no `last_error` round trip per item. Every item's answer is checked as
//! strictly as a single call's, and a broken answer fails that item alone.
//! A plugin offering the ABI 1.2 typed entry points (`KC_FLAG_TYPED`) is
//! called through them instead, for batches and for single items alike
//! (a batch of one: what an isolated worker calls), so that no entitlement,
//! context or decode is formatted or parsed as text (see `typed.rs`).

use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use keycompat_plugin_sdk::Fields;
use keycompat_plugin_sdk::abi::*;

use super::library::{LoadedPlugin, PluginError};
use super::typed::{self, TypedEntitlements};
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

/// The largest output buffer a batch call is given (grown on request).
const MAX_BATCH_OUTPUT: usize = 16 << 20;

/// An output buffer aligned for `kc_str`, as the header promises `out` is
/// (a typed answer's features array must be aligned, so its offset in the
/// buffer is only meaningful when the buffer is).
struct OutBuf(Vec<u64>);

impl OutBuf {
    fn new(len: usize) -> OutBuf {
        OutBuf(vec![0; len.div_ceil(8)])
    }

    /// Grows (or shrinks) to at least `len` bytes, whole words.
    fn resize(&mut self, len: usize, value: u8) {
        self.0
            .resize(len.div_ceil(8), u64::from_ne_bytes([value; 8]));
    }
}

impl std::ops::Deref for OutBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the words are initialised; any byte pattern is a valid
        // u8 and u8 has no alignment requirement.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast(), self.0.len() * 8) }
    }
}

impl std::ops::DerefMut for OutBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `deref`, borrowed mutably once through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast(), self.0.len() * 8) }
    }
}

/// One plugin instance, its output buffer and its batch answers.
struct Instance {
    ptr: NonNull<KcInstance>,
    buf: OutBuf,
    answers: Vec<KcAnswer>,
    /// The typed results of a `validate_typed` batch.
    results: Vec<KcValidation>,
    /// The most output per item a batch has needed: a batch's buffer is
    /// sized from it, so an item rarely has to be answered twice.
    per_item: usize,
}

/// A plugin batch function on the items from the first argument on:
/// `(first, out, answers, results, n_done) -> status` (`results` is empty
/// unless the function is `validate_typed`).
type BatchCall<'a> =
    dyn FnMut(usize, &mut [u8], &mut [KcAnswer], &mut [KcValidation], &mut usize) -> i32 + 'a;

/// One item's answer in a batch call, as the plugin gave it.
enum Answer<'a> {
    /// `KC_OK`, with the item's output.
    Output(&'a [u8]),
    /// Another status of the ABI, with the item's message.
    Status(i32, String),
    /// An answer that breaks the batch protocol.
    Broken(CallFailure),
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
                buf: OutBuf::new(INITIAL_BUFFER),
                answers: Vec::new(),
                results: Vec::new(),
                per_item: 0,
            }),
            _ => Err(PluginError::Create {
                path: self.plugin.path.clone(),
                name: self.plugin.name.clone(),
                status,
                message: if status == KC_OK {
                    "returned KC_OK but no instance".to_string()
                } else {
                    format!(
                        "{}; anything the plugin wrote to stderr is above",
                        status_words(status)
                    )
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
        error_message(buf, full)
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
        failure_with(status, || self.last_error(instance))
    }

    /// Runs one batch of `n` items through `call(first, out, answers,
    /// n_done)` (the plugin's batch function on the items from `first` on),
    /// with the size protocol of the header, handing each item's answer to
    /// `answer(i, ..)` exactly once, in order, with the item's typed result
    /// when `typed` (the call is `validate_typed`).
    fn run_batch(
        &self,
        instance: &mut Instance,
        n: usize,
        typed: bool,
        call: &mut BatchCall<'_>,
        answer: &mut dyn FnMut(Answer<'_>, Option<&KcValidation>),
    ) {
        let broken = |m: String| Answer::Broken(CallFailure::new(FailureKind::Protocol, m));
        let mut first = 0;
        while first < n {
            let count = n - first;
            instance.answers.clear();
            instance.answers.resize(count, KcAnswer::default());
            instance.results.clear();
            if typed {
                instance.results.resize(count, KcValidation::default());
            }
            // Room for every item at the most per item seen, and a quarter.
            let want = count
                .saturating_mul(instance.per_item)
                .saturating_add(count.saturating_mul(instance.per_item) / 4)
                .min(MAX_BATCH_OUTPUT);
            if instance.buf.len() < want {
                instance.buf.resize(want, 0);
            }
            let cap = instance.buf.len();
            let mut done = 0;
            let status = call(
                first,
                &mut instance.buf,
                &mut instance.answers,
                &mut instance.results,
                &mut done,
            );
            if done > count {
                for _ in first..n {
                    answer(
                        broken(format!(
                            "said it answered {done} items of a batch of {count}"
                        )),
                        None,
                    );
                }
                return;
            }
            let mut used = 0;
            for (i, a) in instance.answers[..done].iter().enumerate() {
                answer(checked_answer(a, &instance.buf), instance.results.get(i));
                used = used.max(a.offset.saturating_add(a.len).min(cap));
            }
            if done > 0 {
                instance.per_item = instance.per_item.max(used.div_ceil(done));
            }
            first += done;
            match status {
                KC_ERR_BUFFER_TOO_SMALL if first < n => {
                    let need = instance.answers[done].len;
                    if need > MAX_OUTPUT_BYTES {
                        answer(
                            broken(format!(
                                "asked for a {need}-byte output buffer, more than the limit of {MAX_OUTPUT_BYTES}"
                            )),
                            None,
                        );
                        first += 1;
                    } else if need > cap || done > 0 {
                        // Grown, so the items left need fewer calls.
                        let grown = need.max(cap.saturating_mul(2)).min(MAX_BATCH_OUTPUT);
                        instance.buf.resize(grown.max(need).max(cap), 0);
                    } else {
                        answer(
                            broken(format!(
                                "reported a buffer of {cap} bytes too small for an answer of {need}"
                            )),
                            None,
                        );
                        first += 1;
                    }
                }
                _ if first == n => return,
                // The first item left unanswered gets the failure; the
                // items after it are asked again.
                KC_OK => {
                    answer(
                        broken(format!(
                            "returned KC_OK from a batch of {count} items having answered {done}"
                        )),
                        None,
                    );
                    first += 1;
                }
                other => {
                    answer(Answer::Broken(self.failure(instance, other)), None);
                    first += 1;
                }
            }
        }
    }
}

impl PluginImpl {
    /// Answers every item of `inputs` through the plugin's batch function
    /// `batch` ([`Self::run_batch`]), each answer converted by `convert`;
    /// every item gets `failed(..)` when no instance can be had.
    ///
    /// # Safety
    /// Every pointer in `inputs` must stay valid until this returns, and
    /// `batch` must be this plugin's batch function for items of type `I`.
    unsafe fn call_batch<I, R>(
        &self,
        batch: BatchFn<I>,
        inputs: &[I],
        convert: impl Fn(Answer<'_>) -> R,
        failed: impl Fn(CallFailure) -> R,
    ) -> Vec<R> {
        self.call_any_batch(
            inputs,
            false,
            &|inst, items: &[I], out: &mut [u8], answers: &mut [KcAnswer], _, done| {
                // SAFETY: `items` are valid (the caller's promise); `out`
                // and `answers` are writable for their lengths, and
                // `answers` has one entry per item; the instance is ours.
                unsafe {
                    batch(
                        inst,
                        items.as_ptr(),
                        items.len(),
                        out.as_mut_ptr(),
                        out.len(),
                        answers.as_mut_ptr(),
                        done,
                    )
                }
            },
            |answer, _| convert(answer),
            failed,
        )
    }

    /// Answers every item of `inputs` through `call(instance, items from
    /// the first unanswered on, out, answers, results, n_done)` with
    /// [`Self::run_batch`], each answer (and typed result, when `typed`)
    /// converted by `convert`; every item gets `failed(..)` when no
    /// instance can be had.
    fn call_any_batch<I, R>(
        &self,
        inputs: &[I],
        typed: bool,
        call: &BatchInvoke<'_, I>,
        convert: impl Fn(Answer<'_>, Option<&KcValidation>) -> R,
        failed: impl Fn(CallFailure) -> R,
    ) -> Vec<R> {
        let mut results = Vec::with_capacity(inputs.len());
        let ran = self.with_instance(|instance| {
            let inst = instance.ptr.as_ptr();
            self.run_batch(
                instance,
                inputs.len(),
                typed,
                &mut |first, out, answers, typed_results, done| {
                    call(inst, &inputs[first..], out, answers, typed_results, done)
                },
                &mut |answer, result| results.push(convert(answer, result)),
            )
        });
        match ran {
            Ok(()) => results,
            Err(f) => inputs.iter().map(|_| failed(f.clone())).collect(),
        }
    }
}

/// One call of a plugin's batch function on an instance and items:
/// `(instance, items, out, answers, results, n_done) -> status`.
type BatchInvoke<'a, I> = dyn Fn(*mut KcInstance, &[I], &mut [u8], &mut [KcAnswer], &mut [KcValidation], &mut usize) -> i32
    + 'a;

/// A plugin batch function over items of type `I` (`generate_batch`,
/// `validate_batch`).
type BatchFn<I> = unsafe extern "C-unwind" fn(
    *mut KcInstance,
    *const I,
    usize,
    *mut u8,
    usize,
    *mut KcAnswer,
    *mut usize,
) -> i32;

/// A generate answer as a key, a refusal or a failure.
fn generated_key(answer: Answer<'_>) -> Result<String, GenerateFailure> {
    match answer {
        Answer::Output(bytes) => key_from(bytes).map_err(GenerateFailure::Failed),
        Answer::Status(KC_REFUSED, m) => Err(GenerateFailure::refused_from_message(&m)),
        Answer::Status(status, m) => Err(failure_with(status, || m).into()),
        Answer::Broken(f) => Err(f.into()),
    }
}

/// A status in words: its constant's name in the header, or that it is not
/// one of the ABI's.
fn status_words(status: i32) -> String {
    let name = match status {
        KC_REFUSED => "KC_REFUSED",
        KC_ERR_BUFFER_TOO_SMALL => "KC_ERR_BUFFER_TOO_SMALL",
        KC_ERR_BAD_ARGUMENT => "KC_ERR_BAD_ARGUMENT",
        KC_ERR_UNSUPPORTED => "KC_ERR_UNSUPPORTED",
        KC_ERR_INTERNAL => "KC_ERR_INTERNAL",
        KC_ERR_PANIC => "KC_ERR_PANIC",
        other => return format!("status {other}, which is not in the ABI"),
    };
    name.to_string()
}

/// The failure a status other than `KC_OK` stands for, with the plugin's
/// message (read only when the status is one of the ABI's).
fn failure_with(status: i32, message: impl FnOnce() -> String) -> CallFailure {
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
    CallFailure::new(kind, message())
}

/// The message `last_error` wrote into `buf` (zeroed before the call),
/// claiming `full` bytes. The message is not NUL-terminated, but it ends at
/// the first NUL: a plugin that claims more than it wrote (`SIZE_MAX`, or a
/// `strlen` gone wrong) must not have the zeroes of the host's buffer shown
/// as its message. What was claimed and not kept is said.
fn error_message(mut buf: Vec<u8>, full: usize) -> String {
    buf.truncate(full.min(buf.len()));
    let cut = buf.len();
    if let Some(nul) = buf.iter().position(|&b| b == 0) {
        buf.truncate(nul);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    if buf.len() == full {
        text
    } else if buf.len() < cut {
        let written = buf.len();
        format!("{text} (last_error claimed {full} bytes but wrote {written} before a NUL)")
            .trim_start()
            .to_string()
    } else {
        format!("{text} (last_error claimed {full} bytes: cut at {cut})")
    }
}

/// One item's answer, its output checked to lie within `buf`.
fn checked_answer<'b>(a: &KcAnswer, buf: &'b [u8]) -> Answer<'b> {
    let Some(bytes) = a
        .offset
        .checked_add(a.len)
        .and_then(|end| buf.get(a.offset..end))
    else {
        return Answer::Broken(CallFailure::new(
            FailureKind::Protocol,
            format!(
                "answered with {} bytes at offset {}, outside its {}-byte output buffer",
                a.len,
                a.offset,
                buf.len()
            ),
        ));
    };
    match a.status {
        KC_OK => Answer::Output(bytes),
        KC_ERR_BUFFER_TOO_SMALL => Answer::Broken(CallFailure::new(
            FailureKind::Protocol,
            "answered an item of a batch with KC_ERR_BUFFER_TOO_SMALL",
        )),
        status => {
            let message = &bytes[..bytes.len().min(MAX_ERROR_BYTES)];
            Answer::Status(status, String::from_utf8_lossy(message).into_owned())
        }
    }
}

/// A key as a single `generate` returning `KC_OK` gives it.
fn key_from(bytes: &[u8]) -> Result<String, CallFailure> {
    match std::str::from_utf8(bytes) {
        Ok("") => Err(CallFailure::new(
            FailureKind::Protocol,
            "returned an empty key",
        )),
        Ok(key) => Ok(key.to_string()),
        Err(_) => Err(CallFailure::new(
            FailureKind::Protocol,
            "returned a key that is not valid UTF-8",
        )),
    }
}

/// A validation as a single `validate` returning `KC_OK` gives it.
fn validation_from(bytes: &[u8]) -> Result<Validation, CallFailure> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| CallFailure::new(FailureKind::Protocol, "decode output is not valid UTF-8"))?;
    marshal::validation_from_text(text)
        .map_err(|e| CallFailure::new(FailureKind::Protocol, format!("decode output: {e}")))
}

/// Many items' fields in one set, and each item's range of it.
struct BatchFields {
    raw: Vec<KcField>,
    ranges: Vec<(usize, usize)>,
    /// Owns what `raw` points into.
    _fields: Fields,
}

impl BatchFields {
    /// Each item's fields (`push` appends one item's; `same` says when an
    /// item's fields are those of the item before it, to share them).
    fn new<T>(items: &[T], same: impl Fn(&T, &T) -> bool, push: impl Fn(&mut Fields, &T)) -> Self {
        let mut fields = Fields::with_capacity(items.len() * 8, items.len() * 96);
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match ranges.last() {
                Some(&last) if same(&items[i - 1], item) => ranges.push(last),
                _ => {
                    let start = fields.len();
                    push(&mut fields, item);
                    ranges.push((start, fields.len()));
                }
            }
        }
        BatchFields {
            raw: fields.to_raw(),
            ranges,
            _fields: fields,
        }
    }

    /// Item `i`'s fields.
    fn item(&self, i: usize) -> (*const KcField, usize) {
        let (start, end) = self.ranges[i];
        (self.raw[start..end].as_ptr(), end - start)
    }
}

impl Drop for PluginImpl {
    /// Destroys the idle instances, unless the binary leaves them to the
    /// process's exit ([`super::exit_guard::leave_instances_to_exit`]): a
    /// `destroy` that hangs or ends the process must not cost a finished run
    /// its reports. The library is never unloaded, so a leftover instance
    /// points into mapped code until the process ends.
    fn drop(&mut self) {
        let idle = self.idle.get_mut().unwrap_or_else(|e| e.into_inner());
        if super::exit_guard::instances_left_to_exit() {
            idle.clear();
            return;
        }
        let destroy = self.plugin.table.destroy.expect("checked at load");
        for instance in idle.drain(..) {
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
        if self.plugin.typed() {
            return self
                .generate_typed(&[entitlement])
                .pop()
                .unwrap_or_else(|| {
                    Err(
                        CallFailure::new(FailureKind::Internal, "a batch of one gave no answer")
                            .into(),
                    )
                });
        }
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
                KC_OK => Ok(key_from(&instance.buf[..len])?),
                KC_REFUSED => Err(GenerateFailure::refused_from_message(
                    &self.last_error(instance),
                )),
                other => Err(self.failure(instance, other).into()),
            }
        })
        .map_err(GenerateFailure::Failed)?
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        if self.plugin.typed() {
            return self
                .validate_typed(&[(key, context)])
                .pop()
                .unwrap_or_else(|| {
                    Err(CallFailure::new(
                        FailureKind::Internal,
                        "a batch of one gave no answer",
                    ))
                });
        }
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
            validation_from(&instance.buf[..len])
        })?
    }

    fn generate_batch(
        &self,
        entitlements: &[&Entitlement],
    ) -> Vec<Result<String, GenerateFailure>> {
        if self.plugin.typed() {
            return self.generate_typed(entitlements);
        }
        let batch = self.plugin.table.generate_batch;
        let Some(generate_batch) = batch.filter(|_| self.plugin.batches()) else {
            return entitlements.iter().map(|e| self.generate(e)).collect();
        };
        if entitlements.is_empty() {
            return Vec::new();
        }
        let fields = BatchFields::new(
            entitlements,
            |a, b| std::ptr::eq(*a, *b),
            |f, e| marshal::push_entitlement(f, e),
        );
        let inputs: Vec<KcGenerateIn> = (0..entitlements.len())
            .map(|i| {
                let (fields, n_fields) = fields.item(i);
                KcGenerateIn { fields, n_fields }
            })
            .collect();
        // SAFETY: `inputs` point into `fields` and `entitlements`, alive
        // until this returns.
        unsafe { self.call_batch(generate_batch, &inputs, generated_key, |f| Err(f.into())) }
    }

    fn validate_batch(
        &self,
        requests: &[(&[u8], &Context)],
    ) -> Vec<Result<Validation, CallFailure>> {
        if self.plugin.typed() {
            return self.validate_typed(requests);
        }
        let batch = self.plugin.table.validate_batch;
        let Some(validate_batch) = batch.filter(|_| self.plugin.batches()) else {
            return requests.iter().map(|(k, c)| self.validate(k, c)).collect();
        };
        if requests.is_empty() {
            return Vec::new();
        }
        let contexts = BatchFields::new(
            requests,
            |a, b| std::ptr::eq(a.1, b.1),
            |f, (_, c)| marshal::push_context(f, c),
        );
        let inputs: Vec<KcValidateIn> = requests
            .iter()
            .enumerate()
            .map(|(i, (key, _))| {
                let (context, n_context) = contexts.item(i);
                KcValidateIn {
                    key: key.as_ptr(),
                    key_len: key.len(),
                    context,
                    n_context,
                }
            })
            .collect();
        // SAFETY: `inputs` point into `requests` and `contexts`, alive
        // until this returns.
        unsafe {
            self.call_batch(
                validate_batch,
                &inputs,
                |answer| match answer {
                    Answer::Output(bytes) => validation_from(bytes),
                    Answer::Status(status, m) => Err(failure_with(status, || m)),
                    Answer::Broken(f) => Err(f),
                },
                Err,
            )
        }
    }
}

impl PluginImpl {
    /// `generate_batch` through the plugin's `generate_typed` (ABI 1.2).
    fn generate_typed(
        &self,
        entitlements: &[&Entitlement],
    ) -> Vec<Result<String, GenerateFailure>> {
        let Some(generate_typed) = self.plugin.table.generate_typed else {
            return Vec::new();
        };
        if entitlements.is_empty() {
            return Vec::new();
        }
        let typed = TypedEntitlements::new(entitlements);
        // SAFETY: the items point into `typed` and `entitlements`, alive
        // until this returns; `generate_typed` has the batch functions' shape.
        unsafe {
            self.call_batch(generate_typed, typed.items(), generated_key, |f| {
                Err(f.into())
            })
        }
    }

    /// `validate_batch` through the plugin's `validate_typed` (ABI 1.2).
    fn validate_typed(
        &self,
        requests: &[(&[u8], &Context)],
    ) -> Vec<Result<Validation, CallFailure>> {
        let Some(validate_typed) = self.plugin.table.validate_typed else {
            return Vec::new();
        };
        if requests.is_empty() {
            return Vec::new();
        }
        // One kc_context per run of requests sharing a context.
        let mut contexts: Vec<KcContext> = Vec::with_capacity(1);
        let mut which: Vec<usize> = Vec::with_capacity(requests.len());
        for (i, (_, c)) in requests.iter().enumerate() {
            if i == 0 || !std::ptr::eq(requests[i - 1].1, *c) {
                contexts.push(typed::raw_context(c));
            }
            which.push(contexts.len() - 1);
        }
        let inputs: Vec<KcValidateTypedIn> = requests
            .iter()
            .zip(&which)
            .map(|((key, _), &c)| KcValidateTypedIn {
                key: key.as_ptr(),
                key_len: key.len(),
                context: &contexts[c],
            })
            .collect();
        self.call_any_batch(
            &inputs,
            true,
            &|inst,
              items: &[KcValidateTypedIn],
              out: &mut [u8],
              answers: &mut [KcAnswer],
              results: &mut [KcValidation],
              done| {
                // SAFETY: `items` point into `requests` and `contexts`, alive
                // until this returns; `out`, `answers` and `results` are
                // writable for their lengths, one answer and one result per
                // item (run_batch sizes them); the instance is ours.
                unsafe {
                    validate_typed(
                        inst,
                        items.as_ptr(),
                        items.len(),
                        out.as_mut_ptr(),
                        out.len(),
                        answers.as_mut_ptr(),
                        results.as_mut_ptr(),
                        done,
                    )
                }
            },
            |answer, result| match (answer, result) {
                (Answer::Output(bytes), Some(r)) => typed::validation_from_raw(r, bytes),
                (Answer::Output(_), None) => Err(CallFailure::new(
                    FailureKind::Internal,
                    "a typed answer without its result",
                )),
                (Answer::Status(status, m), _) => Err(failure_with(status, || m)),
                (Answer::Broken(f), _) => Err(f),
            },
            Err,
        )
    }
}

impl From<CallFailure> for GenerateFailure {
    fn from(f: CallFailure) -> Self {
        GenerateFailure::Failed(f)
    }
}
