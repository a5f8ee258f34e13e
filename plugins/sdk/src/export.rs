//! Turning a Rust type into a plugin library.
//!
//! Implement [`Plugin`] and invoke [`export_plugin!`](crate::export_plugin)
//! once in a `cdylib` crate. Every entry point catches panics and reports them
//! as `KC_ERR_PANIC` with the panic message in `last_error`, so a bug in a
//! Rust plugin is a finding, not an abort of the host.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::*;
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
}

struct Instance<P> {
    plugin: P,
    last_error: String,
}

/// The table for `P`; used by [`export_plugin!`](crate::export_plugin).
pub const fn table<P: Plugin>() -> KcPluginV1 {
    KcPluginV1 {
        magic: KC_MAGIC,
        abi_major: KC_ABI_MAJOR,
        abi_minor: KC_ABI_MINOR,
        struct_size: std::mem::size_of::<KcPluginV1>() as u32,
        reserved0: 0,
        flags: P::FLAGS,
        name: P::NAME.as_ptr(),
        version: P::VERSION.as_ptr(),
        create: Some(create::<P>),
        destroy: Some(destroy::<P>),
        generate: Some(generate::<P>),
        validate: Some(validate::<P>),
        last_error: Some(last_error::<P>),
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
            let fields = match Fields::from_raw(fields, n) {
                Ok(f) => f,
                Err(e) => {
                    instance.last_error = e;
                    return KC_ERR_BAD_ARGUMENT;
                }
            };
            let (status, message) = match instance.plugin.generate(&fields) {
                // SAFETY: `out_len` is non-null; `out` has `*out_len` bytes.
                Ok(key) => return write_out(key.as_bytes(), out, out_len),
                Err(GenerateError::Refused(m)) => (KC_REFUSED, m),
                Err(GenerateError::BadArgument(m)) => (KC_ERR_BAD_ARGUMENT, m),
                Err(GenerateError::Internal(m)) => (KC_ERR_INTERNAL, m),
            };
            instance.last_error = message;
            status
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
            let inputs = wire::bytes(key, key_len)
                .and_then(|k| Fields::from_raw(context, n).map(|c| (k, c)));
            let (key, context) = match inputs {
                Ok(v) => v,
                Err(e) => {
                    instance.last_error = e;
                    return KC_ERR_BAD_ARGUMENT;
                }
            };
            match instance.plugin.validate(key, &context) {
                // SAFETY: `out_len` is non-null; `out` has `*out_len` bytes.
                Ok(text) => write_out(text.as_bytes(), out, out_len),
                Err(message) => {
                    instance.last_error = message;
                    KC_ERR_BAD_ARGUMENT
                }
            }
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
