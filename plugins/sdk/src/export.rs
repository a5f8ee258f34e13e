//! Turning a Rust type into a plugin library.
//!
//! Implement [`Plugin`] and invoke [`export_plugin!`](crate::export_plugin)
//! once in a `cdylib` crate. Every entry point catches panics and reports them
//! as `KC_ERR_PANIC` with the panic message in `last_error` (in a batch, in
//! the item's answer), so a bug in a Rust plugin is a finding, not an abort
//! of the host. The table offers the ABI 1.1 batch entry points, which answer
//! each item exactly as the single calls do, and the ABI 1.2 typed ones,
//! which call [`Plugin::generate_typed`] and [`Plugin::validate_typed`]: a
//! plugin that implements only the text methods gets them through their
//! default implementations, which translate.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::*;
use crate::typed::{DecodeOut, OwnedDecode, TypedContext, TypedEntitlement};
use crate::wire::{self, Fields};

/// Why `generate` produced no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerateError {
    /// The format cannot carry the entitlement: `"<field>: <reason>"` (`KC_REFUSED`).
    Refused(String),
    /// The input fields are malformed (`KC_ERR_BAD_ARGUMENT`).
    BadArgument(String),
    /// Anything else (`KC_ERR_INTERNAL`).
    Internal(String),
}

/// A key scheme implemented in Rust and exported through the C ABI.
pub trait Plugin: Sized + Send + 'static {
    /// The plugin's name, as the report shows it.
    const NAME: &'static CStr;
    /// The plugin's version.
    const VERSION: &'static CStr;
    /// `KC_FLAG_*` capabilities and thread safety.
    const FLAGS: u64;

    /// Creates an instance from the settings of `keycompat.toml`.
    fn create(settings: &Fields) -> Result<Self, String>;
    /// Generates a key from entitlement fields.
    fn generate(&mut self, entitlement: &Fields) -> Result<String, GenerateError>;
    /// Validates a key in a context and returns the decode text
    /// ([`wire::RecordWriter`]). `Err` is a malformed context.
    fn validate(&mut self, key: &[u8], context: &Fields) -> Result<String, String>;

    /// ABI 1.2: generates a key from a typed entitlement, checked by the SDK
    /// (UTF-8, bits, date ranges), not against any catalog. The default
    /// formats it as fields for [`Plugin::generate`].
    fn generate_typed(
        &mut self,
        entitlement: &TypedEntitlement<'_>,
    ) -> Result<String, GenerateError> {
        self.generate(&entitlement.to_fields())
    }

    /// ABI 1.2: validates a key in a typed context and sets the answer in
    /// `out` ([`DecodeOut::set`]). `Err` is a malformed context. The default
    /// calls [`Plugin::validate`] and reads its decode text back.
    fn validate_typed(
        &mut self,
        key: &[u8],
        context: &TypedContext<'_>,
        out: &mut DecodeOut,
    ) -> Result<(), String> {
        let text = self.validate(key, &context.to_fields())?;
        let decode = OwnedDecode::from_text(&text).map_err(|e| format!("decode text: {e}"))?;
        out.set(&decode.as_typed());
        Ok(())
    }
}

struct Instance<P> {
    plugin: P,
    last_error: String,
    /// Reused by every typed validation, so its buffers are allocated once.
    decode: DecodeOut,
}

/// The table for `P`; used by [`export_plugin!`](crate::export_plugin).
pub const fn table<P: Plugin>() -> KcPluginV1 {
    KcPluginV1 {
        magic: KC_MAGIC,
        abi_major: KC_ABI_MAJOR,
        abi_minor: KC_ABI_MINOR,
        struct_size: std::mem::size_of::<KcPluginV1>() as u32,
        reserved0: 0,
        flags: P::FLAGS | KC_FLAG_BATCH | KC_FLAG_TYPED,
        name: P::NAME.as_ptr(),
        version: P::VERSION.as_ptr(),
        create: Some(create::<P>),
        destroy: Some(destroy::<P>),
        generate: Some(generate::<P>),
        validate: Some(validate::<P>),
        last_error: Some(last_error::<P>),
        generate_batch: Some(generate_batch::<P>),
        validate_batch: Some(validate_batch::<P>),
        generate_typed: Some(generate_typed::<P>),
        validate_typed: Some(validate_typed::<P>),
    }
}

/// Exports `$ty` (a [`Plugin`]) as this library's `kc_plugin_entry_v1`.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty) => {
        static __KEYCOMPAT_PLUGIN_TABLE: $crate::abi::KcPluginV1 = $crate::export::table::<$ty>();

        /// The plugin entry point (see keycompat_plugin.h).
        #[unsafe(no_mangle)]
        pub extern "C-unwind" fn kc_plugin_entry_v1(
            _host_abi_minor: u32,
        ) -> *const $crate::abi::KcPluginV1 {
            &__KEYCOMPAT_PLUGIN_TABLE
        }
    };
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Copies `bytes` into the caller's buffer per the header's size protocol.
///
/// # Safety
/// `out_len` must be valid; `out` must have `*out_len` writable bytes.
unsafe fn write_out(bytes: &[u8], out: *mut u8, out_len: *mut usize) -> i32 {
    // SAFETY: checked non-null by every caller before this point.
    let cap = unsafe { *out_len };
    // SAFETY: as above.
    unsafe { *out_len = bytes.len() };
    if cap < bytes.len() || (out.is_null() && !bytes.is_empty()) {
        return KC_ERR_BUFFER_TOO_SMALL;
    }
    // SAFETY: `out` has at least `cap >= bytes.len()` writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len()) };
    KC_OK
}

/// Runs `f` on the instance, mapping a panic to `KC_ERR_PANIC`.
///
/// # Safety
/// `inst` must be null or an instance created by [`create`] for `P`.
unsafe fn with_instance<P: Plugin>(
    inst: *mut KcInstance,
    f: impl FnOnce(&mut Instance<P>) -> i32,
) -> i32 {
    if inst.is_null() {
        return KC_ERR_BAD_ARGUMENT;
    }
    // SAFETY: `inst` came from `Box::into_raw` in `create::<P>`.
    let instance = unsafe { &mut *inst.cast::<Instance<P>>() };
    match catch_unwind(AssertUnwindSafe(|| f(&mut *instance))) {
        Ok(status) => status,
        Err(payload) => {
            instance.last_error = panic_message(payload.as_ref());
            KC_ERR_PANIC
        }
    }
}

unsafe extern "C-unwind" fn create<P: Plugin>(
    settings: *const KcField,
    n: usize,
    out: *mut *mut KcInstance,
) -> i32 {
    if out.is_null() {
        return KC_ERR_BAD_ARGUMENT;
    }
    let made = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host passes `n` valid fields.
        let settings = unsafe { Fields::from_raw(settings, n) }?;
        P::create(&settings)
    }));
    match made {
        Ok(Ok(plugin)) => {
            let instance = Box::new(Instance {
                plugin,
                last_error: String::new(),
                decode: DecodeOut::new(),
            });
            // SAFETY: `out` is non-null and writable per the ABI.
            unsafe { *out = Box::into_raw(instance).cast() };
            KC_OK
        }
        Ok(Err(message)) => {
            eprintln!("{}: create failed: {message}", P::NAME.to_string_lossy());
            KC_ERR_BAD_ARGUMENT
        }
        Err(payload) => {
            eprintln!(
                "{}: {}",
                P::NAME.to_string_lossy(),
                panic_message(payload.as_ref())
            );
            KC_ERR_PANIC
        }
    }
}

unsafe extern "C-unwind" fn destroy<P: Plugin>(inst: *mut KcInstance) {
    if !inst.is_null() {
        // SAFETY: `inst` came from `Box::into_raw` in `create::<P>`.
        let instance = unsafe { Box::from_raw(inst.cast::<Instance<P>>()) };
        let _ = catch_unwind(AssertUnwindSafe(move || drop(instance)));
    }
}

/// One item's outcome: a status and its output (the key or decode text on
/// `KC_OK`, else the message).
type Outcome = (i32, String);

/// `generate` for one entitlement.
///
/// # Safety
/// `fields` must point to `n` valid fields (or `n` be 0).
unsafe fn generate_one<P: Plugin>(plugin: &mut P, fields: *const KcField, n: usize) -> Outcome {
    // SAFETY: the host passes `n` valid fields.
    let fields = match unsafe { Fields::from_raw(fields, n) } {
        Ok(f) => f,
        Err(e) => return (KC_ERR_BAD_ARGUMENT, e),
    };
    generated(plugin.generate(&fields))
}

/// A generator's answer as the status and output the ABI returns.
fn generated(r: Result<String, GenerateError>) -> Outcome {
    match r {
        Ok(key) => (KC_OK, key),
        Err(GenerateError::Refused(m)) => (KC_REFUSED, m),
        Err(GenerateError::BadArgument(m)) => (KC_ERR_BAD_ARGUMENT, m),
        Err(GenerateError::Internal(m)) => (KC_ERR_INTERNAL, m),
    }
}

/// `validate` for one key.
///
/// # Safety
/// `key` must point to `key_len` readable bytes and `context` to `n` valid
/// fields (null pointers with zero lengths allowed).
unsafe fn validate_one<P: Plugin>(
    plugin: &mut P,
    key: *const u8,
    key_len: usize,
    context: *const KcField,
    n: usize,
) -> Outcome {
    // SAFETY: the host passes `key_len` bytes and `n` valid fields.
    let inputs = unsafe {
        wire::bytes(key, key_len).and_then(|k| Fields::from_raw(context, n).map(|c| (k, c)))
    };
    match inputs.and_then(|(key, context)| plugin.validate(key, &context)) {
        Ok(text) => (KC_OK, text),
        Err(message) => (KC_ERR_BAD_ARGUMENT, message),
    }
}

unsafe extern "C-unwind" fn generate<P: Plugin>(
    inst: *mut KcInstance,
    fields: *const KcField,
    n: usize,
    out: *mut u8,
    out_len: *mut usize,
) -> i32 {
    if out_len.is_null() {
        return KC_ERR_BAD_ARGUMENT;
    }
    // SAFETY: `inst` is the host's instance of this plugin.
    unsafe {
        with_instance::<P>(inst, |instance| {
            // SAFETY: the host passes `n` valid fields.
            match generate_one(&mut instance.plugin, fields, n) {
                // SAFETY: `out_len` is non-null; `out` has `*out_len` bytes.
                (KC_OK, key) => write_out(key.as_bytes(), out, out_len),
                (status, message) => {
                    instance.last_error = message;
                    status
                }
            }
        })
    }
}

unsafe extern "C-unwind" fn validate<P: Plugin>(
    inst: *mut KcInstance,
    key: *const u8,
    key_len: usize,
    context: *const KcField,
    n: usize,
    out: *mut u8,
    out_len: *mut usize,
) -> i32 {
    if out_len.is_null() {
        return KC_ERR_BAD_ARGUMENT;
    }
    // SAFETY: `inst` is the host's instance of this plugin.
    unsafe {
        with_instance::<P>(inst, |instance| {
            // SAFETY: the host passes `key_len` bytes and `n` valid fields.
            match validate_one(&mut instance.plugin, key, key_len, context, n) {
                // SAFETY: `out_len` is non-null; `out` has `*out_len` bytes.
                (KC_OK, text) => write_out(text.as_bytes(), out, out_len),
                (status, message) => {
                    instance.last_error = message;
                    status
                }
            }
        })
    }
}

/// The batch protocol of the header, around `one(plugin, item)` for each of
/// the `n` items at `items`: each item's outcome is written right after the
/// previous one's; a panic is that item's `KC_ERR_PANIC`.
///
/// # Safety
/// `inst` must be null or an instance of `P`; `items` must have `n`
/// readable entries and `answers` `n` writable ones, `out` `out_cap`
/// writable bytes (each may be null when its size is 0); `n_done` must be
/// writable or null.
#[allow(clippy::too_many_arguments)] // the header's batch signature, and `one`
unsafe fn batch<P: Plugin, I>(
    inst: *mut KcInstance,
    items: *const I,
    n: usize,
    out: *mut u8,
    out_cap: usize,
    answers: *mut KcAnswer,
    n_done: *mut usize,
    mut one: impl FnMut(&mut P, &I) -> Outcome,
) -> i32 {
    if n_done.is_null()
        || (n > 0 && (items.is_null() || answers.is_null()))
        || (out.is_null() && out_cap > 0)
    {
        return KC_ERR_BAD_ARGUMENT;
    }
    // SAFETY: checked non-null above.
    unsafe { *n_done = 0 };
    // SAFETY: `inst` is the host's instance of this plugin.
    unsafe {
        with_instance::<P>(inst, |instance| {
            let mut used = 0usize;
            for i in 0..n {
                // SAFETY: `items` has `n > i` readable entries.
                let item = &*items.add(i);
                let (status, output) =
                    match catch_unwind(AssertUnwindSafe(|| one(&mut instance.plugin, item))) {
                        Ok(outcome) => outcome,
                        Err(payload) => (KC_ERR_PANIC, panic_message(payload.as_ref())),
                    };
                let bytes = output.as_bytes();
                // SAFETY: `answers` has `n > i` writable entries.
                let answer = &mut *answers.add(i);
                if out_cap - used < bytes.len() {
                    answer.len = bytes.len();
                    *n_done = i;
                    return KC_ERR_BUFFER_TOO_SMALL;
                }
                if !bytes.is_empty() {
                    // SAFETY: `out` has `out_cap - used >= bytes.len()`
                    // writable bytes after `used`.
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.add(used), bytes.len());
                }
                *answer = KcAnswer {
                    status,
                    reserved: 0,
                    offset: used,
                    len: bytes.len(),
                };
                used += bytes.len();
            }
            *n_done = n;
            KC_OK
        })
    }
}

unsafe extern "C-unwind" fn generate_batch<P: Plugin>(
    inst: *mut KcInstance,
    items: *const KcGenerateIn,
    n: usize,
    out: *mut u8,
    out_cap: usize,
    answers: *mut KcAnswer,
    n_done: *mut usize,
) -> i32 {
    // SAFETY: the host passes `n` items, `n` answers and `out_cap` bytes.
    unsafe {
        batch::<P, _>(
            inst,
            items,
            n,
            out,
            out_cap,
            answers,
            n_done,
            |plugin, item| {
                // SAFETY: each item has valid fields.
                generate_one(plugin, item.fields, item.n_fields)
            },
        )
    }
}

unsafe extern "C-unwind" fn validate_batch<P: Plugin>(
    inst: *mut KcInstance,
    items: *const KcValidateIn,
    n: usize,
    out: *mut u8,
    out_cap: usize,
    answers: *mut KcAnswer,
    n_done: *mut usize,
) -> i32 {
    // SAFETY: the host passes `n` items, `n` answers and `out_cap` bytes.
    unsafe {
        batch::<P, _>(
            inst,
            items,
            n,
            out,
            out_cap,
            answers,
            n_done,
            |plugin, item| {
                // SAFETY: each item has valid key bytes and fields.
                validate_one(plugin, item.key, item.key_len, item.context, item.n_context)
            },
        )
    }
}

unsafe extern "C-unwind" fn generate_typed<P: Plugin>(
    inst: *mut KcInstance,
    items: *const KcEntitlement,
    n: usize,
    out: *mut u8,
    out_cap: usize,
    answers: *mut KcAnswer,
    n_done: *mut usize,
) -> i32 {
    // SAFETY: the host passes `n` items, `n` answers and `out_cap` bytes.
    unsafe {
        batch::<P, _>(
            inst,
            items,
            n,
            out,
            out_cap,
            answers,
            n_done,
            |plugin, item| {
                // SAFETY: each item has valid strings.
                let entitlement = match TypedEntitlement::from_raw(item) {
                    Ok(e) => e,
                    Err(e) => return (KC_ERR_BAD_ARGUMENT, e),
                };
                generated(plugin.generate_typed(&entitlement))
            },
        )
    }
}

/// One typed validation into `decode`: `Ok` when it is set, else the
/// status and message.
///
/// # Safety
/// `item`'s key and context must be valid as the header says.
unsafe fn validate_typed_one<P: Plugin>(
    plugin: &mut P,
    decode: &mut DecodeOut,
    item: &KcValidateTypedIn,
) -> Result<(), Outcome> {
    // SAFETY: the host passes valid key bytes and context.
    let inputs = unsafe {
        wire::bytes(item.key, item.key_len)
            .and_then(|k| TypedContext::from_raw(item.context).map(|c| (k, c)))
    };
    let (key, context) = inputs.map_err(|e| (KC_ERR_BAD_ARGUMENT, e))?;
    plugin
        .validate_typed(key, &context, decode)
        .map_err(|e| (KC_ERR_BAD_ARGUMENT, e))
}

#[allow(clippy::too_many_arguments)] // the header's signature
unsafe extern "C-unwind" fn validate_typed<P: Plugin>(
    inst: *mut KcInstance,
    items: *const KcValidateTypedIn,
    n: usize,
    out: *mut u8,
    out_cap: usize,
    answers: *mut KcAnswer,
    results: *mut KcValidation,
    n_done: *mut usize,
) -> i32 {
    if n_done.is_null()
        || (n > 0 && (items.is_null() || answers.is_null() || results.is_null()))
        || (out.is_null() && out_cap > 0)
    {
        return KC_ERR_BAD_ARGUMENT;
    }
    // SAFETY: checked non-null above.
    unsafe { *n_done = 0 };
    // SAFETY: `inst` is the host's instance of this plugin.
    unsafe {
        with_instance::<P>(inst, |instance| {
            let mut used = 0usize;
            for i in 0..n {
                let Instance { plugin, decode, .. } = &mut *instance;
                // SAFETY: `i < n` items at `items`.
                let item = &*items.add(i);
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    validate_typed_one(plugin, decode, item)
                }))
                .unwrap_or_else(|payload| Err((KC_ERR_PANIC, panic_message(payload.as_ref()))));
                // SAFETY: `answers` and `results` have `n > i` writable entries.
                let answer = &mut *answers.add(i);
                let placed = match &outcome {
                    // SAFETY: `out` has `out_cap - used` writable bytes after `used`.
                    Ok(()) => decode.place(out, used, out_cap - used),
                    Err((_, message)) => {
                        let bytes = message.as_bytes();
                        if out_cap - used < bytes.len() {
                            Err(bytes.len())
                        } else {
                            if !bytes.is_empty() {
                                // SAFETY: room checked just above.
                                std::ptr::copy_nonoverlapping(
                                    bytes.as_ptr(),
                                    out.add(used),
                                    bytes.len(),
                                );
                            }
                            Ok((KcValidation::default(), bytes.len()))
                        }
                    }
                };
                match placed {
                    Err(need) => {
                        answer.len = need;
                        *n_done = i;
                        return KC_ERR_BUFFER_TOO_SMALL;
                    }
                    Ok((result, len)) => {
                        *results.add(i) = result;
                        *answer = KcAnswer {
                            status: outcome.as_ref().map_or_else(|(s, _)| *s, |()| KC_OK),
                            reserved: 0,
                            offset: used,
                            len,
                        };
                        used += len;
                    }
                }
            }
            *n_done = n;
            KC_OK
        })
    }
}

unsafe extern "C-unwind" fn last_error<P: Plugin>(
    inst: *const KcInstance,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    if inst.is_null() {
        return 0;
    }
    // SAFETY: `inst` came from `create::<P>`; only read here.
    let instance = unsafe { &*inst.cast::<Instance<P>>() };
    let message = instance.last_error.as_bytes();
    if !buf.is_null() {
        let n = message.len().min(cap);
        // SAFETY: `buf` has `cap >= n` writable bytes.
        unsafe { std::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), n) };
    }
    message.len()
}
