//! The `#[repr(C)]` mirror of `keycompat_plugin.h`.
//!
//! Function pointers are `Option<unsafe extern "C-unwind" fn ..>`: a NULL in
//! the table is then a value the host can check rather than undefined
//! behaviour, and a foreign exception escaping a vendor's code unwinds in a
//! defined way (to an abort in the worker) instead of being UB.
#![allow(unsafe_code)]

use std::ffi::c_char;

/// "KCPL": the first field of every table.
pub const KC_MAGIC: u32 = 0x4B43_504C;
/// The ABI major version this crate speaks; the host refuses any other.
pub const KC_ABI_MAJOR: u16 = 1;
/// The ABI minor version this crate speaks.
pub const KC_ABI_MINOR: u16 = 2;
/// The name of the one exported symbol.
pub const KC_ENTRY_SYMBOL_V1: &std::ffi::CStr = c"kc_plugin_entry_v1";

/// Success.
pub const KC_OK: i32 = 0;
/// `generate`: the entitlement cannot be expressed in the format; `last_error` names the field.
pub const KC_REFUSED: i32 = 1;
/// The output buffer is too small; `*out_len` holds the size required.
pub const KC_ERR_BUFFER_TOO_SMALL: i32 = -1;
/// Malformed fields or settings; see `last_error`.
pub const KC_ERR_BAD_ARGUMENT: i32 = -2;
/// The capability is not offered.
pub const KC_ERR_UNSUPPORTED: i32 = -3;
/// Any other failure; see `last_error`.
pub const KC_ERR_INTERNAL: i32 = -4;
/// A Rust panic was caught at the boundary; see `last_error`.
pub const KC_ERR_PANIC: i32 = -5;

/// Distinct instances may be used from different threads at once.
pub const KC_FLAG_THREAD_SAFE: u64 = 1 << 0;
/// One instance may be used from many threads at once.
pub const KC_FLAG_INSTANCE_SYNC: u64 = 1 << 1;
/// `generate` is implemented.
pub const KC_FLAG_GENERATE: u64 = 1 << 2;
/// `validate` is implemented.
pub const KC_FLAG_VALIDATE: u64 = 1 << 3;
/// ABI 1.1: `generate_batch` and `validate_batch` are set.
pub const KC_FLAG_BATCH: u64 = 1 << 4;
/// ABI 1.2: `generate_typed` and `validate_typed` are set.
pub const KC_FLAG_TYPED: u64 = 1 << 5;
/// Every flag this ABI version defines.
pub const KC_KNOWN_FLAGS: u64 = KC_FLAG_THREAD_SAFE
    | KC_FLAG_INSTANCE_SYNC
    | KC_FLAG_GENERATE
    | KC_FLAG_VALIDATE
    | KC_FLAG_BATCH
    | KC_FLAG_TYPED;

/// `product` has a value (`kc_entitlement.has`, `kc_validation.carried`).
pub const KC_HAS_PRODUCT: u32 = 1 << 0;
/// `edition`.
pub const KC_HAS_EDITION: u32 = 1 << 1;
/// `max_major`.
pub const KC_HAS_MAX_MAJOR: u32 = 1 << 2;
/// `features`.
pub const KC_HAS_FEATURES: u32 = 1 << 3;
/// `seats` (clear: unlimited).
pub const KC_HAS_SEATS: u32 = 1 << 4;
/// `issued`.
pub const KC_HAS_ISSUED: u32 = 1 << 5;
/// `expires` (clear: perpetual).
pub const KC_HAS_EXPIRES: u32 = 1 << 6;
/// `maintenance_until`.
pub const KC_HAS_MAINTENANCE_UNTIL: u32 = 1 << 7;
/// `serial`.
pub const KC_HAS_SERIAL: u32 = 1 << 8;
/// `customer_id` and `customer_name`.
pub const KC_HAS_CUSTOMER: u32 = 1 << 9;
/// `order_id`.
pub const KC_HAS_ORDER_ID: u32 = 1 << 10;
/// `host_id` (clear: not node-locked).
pub const KC_HAS_HOST_ID: u32 = 1 << 11;
/// Every `KC_HAS_*` bit.
pub const KC_HAS_ALL: u32 = 0xFFF;
/// The fields that always have a value when given or carried.
pub const KC_HAS_REQUIRED: u32 = KC_HAS_PRODUCT
    | KC_HAS_EDITION
    | KC_HAS_MAX_MAJOR
    | KC_HAS_FEATURES
    | KC_HAS_ISSUED
    | KC_HAS_SERIAL;
/// 0000-01-01 in days since 1970-01-01.
pub const KC_DAY_MIN: i32 = -719_528;
/// 9999-12-31 in days since 1970-01-01.
pub const KC_DAY_MAX: i32 = 2_932_896;
/// The verdict names in `KC_VERDICT_*` order: `KC_VERDICT_VALID` is 0.
pub const KC_VERDICT_NAMES: [&str; 8] = [
    "valid",
    "malformed",
    "bad_signature",
    "unsupported_format",
    "wrong_product",
    "version_not_covered",
    "expired",
    "host_mismatch",
];
/// `kc_validation.format` is set.
pub const KC_RESULT_FORMAT: u32 = 1 << 0;
/// `kc_validation.reason` is set.
pub const KC_RESULT_REASON: u32 = 1 << 1;

/// An opaque plugin-owned instance.
#[repr(C)]
pub struct KcInstance {
    _private: [u8; 0],
}

/// One key/value pair of UTF-8 bytes (`kc_field`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KcField {
    /// Key bytes (not NUL-terminated).
    pub key: *const c_char,
    /// Key length in bytes.
    pub key_len: usize,
    /// Value bytes.
    pub val: *const u8,
    /// Value length in bytes.
    pub val_len: usize,
}

/// ABI 1.1: one item of `generate_batch` (`kc_generate_in`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KcGenerateIn {
    /// The entitlement's fields.
    pub fields: *const KcField,
    /// How many.
    pub n_fields: usize,
}

/// ABI 1.1: one item of `validate_batch` (`kc_validate_in`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KcValidateIn {
    /// The key bytes.
    pub key: *const u8,
    /// Their length.
    pub key_len: usize,
    /// The context's fields.
    pub context: *const KcField,
    /// How many.
    pub n_context: usize,
}

/// ABI 1.1: the answer to one item of a batch (`kc_answer`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KcAnswer {
    /// What the single call would have returned for the item.
    pub status: i32,
    /// Zero.
    pub reserved: u32,
    /// Where the item's output starts in the batch's output buffer.
    pub offset: usize,
    /// Its length in bytes.
    pub len: usize,
}

/// ABI 1.2: UTF-8 bytes, pointer and length (`kc_str`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KcStr {
    /// The bytes; null only when `len` is 0.
    pub ptr: *const u8,
    /// Their length.
    pub len: usize,
}

impl KcStr {
    /// The empty string (a null pointer).
    pub const EMPTY: KcStr = KcStr {
        ptr: std::ptr::null(),
        len: 0,
    };

    /// Borrows `s`: valid while `s` is.
    pub fn of(s: &str) -> KcStr {
        KcStr {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }
}

impl Default for KcStr {
    fn default() -> Self {
        KcStr::EMPTY
    }
}

/// ABI 1.2: an entitlement (`kc_entitlement`): `generate_typed`'s input and
/// a typed decode's fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KcEntitlement {
    /// `KC_HAS_*` bits of the fields with a value.
    pub has: u32,
    /// Serial number.
    pub serial: u32,
    /// Seats, with [`KC_HAS_SEATS`].
    pub seats: u32,
    /// Day of issue, days since 1970-01-01.
    pub issued: i32,
    /// Last valid day, with [`KC_HAS_EXPIRES`].
    pub expires: i32,
    /// Last day of maintenance, with [`KC_HAS_MAINTENANCE_UNTIL`].
    pub maintenance_until: i32,
    /// Highest major version covered.
    pub max_major: u8,
    /// Zero.
    pub reserved: [u8; 7],
    /// Product slug.
    pub product: KcStr,
    /// Edition name.
    pub edition: KcStr,
    /// `n_features` feature slugs.
    pub features: *const KcStr,
    /// How many.
    pub n_features: usize,
    /// Customer id, with [`KC_HAS_CUSTOMER`].
    pub customer_id: KcStr,
    /// Customer name, with [`KC_HAS_CUSTOMER`].
    pub customer_name: KcStr,
    /// Order id, with [`KC_HAS_ORDER_ID`].
    pub order_id: KcStr,
    /// Node lock, with [`KC_HAS_HOST_ID`].
    pub host_id: KcStr,
}

impl Default for KcEntitlement {
    fn default() -> Self {
        KcEntitlement {
            has: 0,
            serial: 0,
            seats: 0,
            issued: 0,
            expires: 0,
            maintenance_until: 0,
            max_major: 0,
            reserved: [0; 7],
            product: KcStr::EMPTY,
            edition: KcStr::EMPTY,
            features: std::ptr::null(),
            n_features: 0,
            customer_id: KcStr::EMPTY,
            customer_name: KcStr::EMPTY,
            order_id: KcStr::EMPTY,
            host_id: KcStr::EMPTY,
        }
    }
}

/// ABI 1.2: a validation context (`kc_context`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KcContext {
    /// [`KC_HAS_HOST_ID`] when `host_id` is set.
    pub has: u32,
    /// The running product's major version.
    pub version_major: u32,
    /// Its minor version.
    pub version_minor: u32,
    /// Today, days since 1970-01-01.
    pub today: i32,
    /// The running product's slug.
    pub product: KcStr,
    /// The machine's host id, with [`KC_HAS_HOST_ID`].
    pub host_id: KcStr,
}

/// ABI 1.2: one item of `validate_typed` (`kc_validate_typed_in`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KcValidateTypedIn {
    /// The key bytes.
    pub key: *const u8,
    /// Their length.
    pub key_len: usize,
    /// The context; never null.
    pub context: *const KcContext,
}

/// ABI 1.2: the typed answer to one item of `validate_typed` (`kc_validation`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KcValidation {
    /// `KC_VERDICT_*`: the index in [`KC_VERDICT_NAMES`].
    pub verdict: i32,
    /// `KC_RESULT_*`.
    pub flags: u32,
    /// `KC_HAS_*` bits of the fields the key's format carries.
    pub carried: u32,
    /// Zero.
    pub reserved: u32,
    /// The format, with [`KC_RESULT_FORMAT`].
    pub format: KcStr,
    /// Free text, with [`KC_RESULT_REASON`].
    pub reason: KcStr,
    /// The decoded fields.
    pub decoded: KcEntitlement,
}

/// `create(settings, n, &out)`.
pub type CreateFn = unsafe extern "C-unwind" fn(*const KcField, usize, *mut *mut KcInstance) -> i32;
/// `destroy(inst)`.
pub type DestroyFn = unsafe extern "C-unwind" fn(*mut KcInstance);
/// `generate(inst, fields, n, out, &out_len)`.
pub type GenerateFn =
    unsafe extern "C-unwind" fn(*mut KcInstance, *const KcField, usize, *mut u8, *mut usize) -> i32;
/// `validate(inst, key, key_len, ctx, n_ctx, out, &out_len)`.
pub type ValidateFn = unsafe extern "C-unwind" fn(
    *mut KcInstance,
    *const u8,
    usize,
    *const KcField,
    usize,
    *mut u8,
    *mut usize,
) -> i32;
/// `last_error(inst, buf, cap) -> full length`.
pub type LastErrorFn = unsafe extern "C-unwind" fn(*const KcInstance, *mut c_char, usize) -> usize;
/// `generate_batch(inst, items, n, out, out_cap, answers, &n_done)` (ABI 1.1).
pub type GenerateBatchFn = unsafe extern "C-unwind" fn(
    *mut KcInstance,
    *const KcGenerateIn,
    usize,
    *mut u8,
    usize,
    *mut KcAnswer,
    *mut usize,
) -> i32;
/// `validate_batch(inst, items, n, out, out_cap, answers, &n_done)` (ABI 1.1).
pub type ValidateBatchFn = unsafe extern "C-unwind" fn(
    *mut KcInstance,
    *const KcValidateIn,
    usize,
    *mut u8,
    usize,
    *mut KcAnswer,
    *mut usize,
) -> i32;
/// `generate_typed(inst, items, n, out, out_cap, answers, &n_done)` (ABI 1.2).
pub type GenerateTypedFn = unsafe extern "C-unwind" fn(
    *mut KcInstance,
    *const KcEntitlement,
    usize,
    *mut u8,
    usize,
    *mut KcAnswer,
    *mut usize,
) -> i32;
/// `validate_typed(inst, items, n, out, out_cap, answers, results, &n_done)` (ABI 1.2).
pub type ValidateTypedFn = unsafe extern "C-unwind" fn(
    *mut KcInstance,
    *const KcValidateTypedIn,
    usize,
    *mut u8,
    usize,
    *mut KcAnswer,
    *mut KcValidation,
    *mut usize,
) -> i32;
/// The signature of `kc_plugin_entry_v1`.
pub type EntryFnV1 = unsafe extern "C-unwind" fn(u32) -> *const KcPluginV1;

/// The plugin table (`kc_plugin_v1`). Fields are only ever appended.
#[repr(C)]
pub struct KcPluginV1 {
    /// [`KC_MAGIC`].
    pub magic: u32,
    /// [`KC_ABI_MAJOR`].
    pub abi_major: u16,
    /// The plugin's minor version.
    pub abi_minor: u16,
    /// `sizeof(kc_plugin_v1)` as the plugin was compiled.
    pub struct_size: u32,
    /// Explicit padding, zero.
    pub reserved0: u32,
    /// `KC_FLAG_*`.
    pub flags: u64,
    /// Static NUL-terminated UTF-8 name.
    pub name: *const c_char,
    /// Static NUL-terminated UTF-8 version.
    pub version: *const c_char,
    /// Creates an instance from settings.
    pub create: Option<CreateFn>,
    /// Destroys an instance.
    pub destroy: Option<DestroyFn>,
    /// Generates a key.
    pub generate: Option<GenerateFn>,
    /// Validates a key.
    pub validate: Option<ValidateFn>,
    /// The last error of an instance.
    pub last_error: Option<LastErrorFn>,
    /// ABI 1.1: answers a batch of entitlements (with [`KC_FLAG_BATCH`]).
    pub generate_batch: Option<GenerateBatchFn>,
    /// ABI 1.1: answers a batch of keys (with [`KC_FLAG_BATCH`]).
    pub validate_batch: Option<ValidateBatchFn>,
    /// ABI 1.2: answers a batch of typed entitlements (with [`KC_FLAG_TYPED`]).
    pub generate_typed: Option<GenerateTypedFn>,
    /// ABI 1.2: answers a batch of keys with typed contexts and results
    /// (with [`KC_FLAG_TYPED`]).
    pub validate_typed: Option<ValidateTypedFn>,
}

// SAFETY: the table is immutable static data; its pointers point at static
// strings and functions, which are safe to share between threads.
unsafe impl Sync for KcPluginV1 {}
// SAFETY: as above: a copy of a table (the host keeps one) points at the
// same static strings and functions, valid from any thread.
unsafe impl Send for KcPluginV1 {}

/// The size of an ABI 1.0 table: the host requires at least this many bytes.
pub const KC_PLUGIN_V1_0_SIZE: usize = std::mem::offset_of!(KcPluginV1, generate_batch);
/// The size of an ABI 1.1 table: what [`KC_FLAG_BATCH`] requires.
pub const KC_PLUGIN_V1_1_SIZE: usize = std::mem::offset_of!(KcPluginV1, generate_typed);
/// The size of an ABI 1.2 table: what [`KC_FLAG_TYPED`] requires.
pub const KC_PLUGIN_V1_2_SIZE: usize = std::mem::size_of::<KcPluginV1>();

const PTR: usize = std::mem::size_of::<*const u8>();
const _: () = assert!(std::mem::offset_of!(KcPluginV1, magic) == 0);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, abi_major) == 4);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, abi_minor) == 6);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, struct_size) == 8);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, flags) == 16);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, name) == 24);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, create) == 24 + 2 * PTR);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, last_error) == 24 + 6 * PTR);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, generate_batch) == 24 + 7 * PTR);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, validate_batch) == 24 + 8 * PTR);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, generate_typed) == 24 + 9 * PTR);
const _: () = assert!(std::mem::offset_of!(KcPluginV1, validate_typed) == 24 + 10 * PTR);
const _: () = assert!(std::mem::size_of::<KcPluginV1>() == 24 + 11 * PTR);
const _: () = assert!(std::mem::size_of::<KcField>() == 4 * PTR);
const _: () = assert!(std::mem::size_of::<KcGenerateIn>() == 2 * PTR);
const _: () = assert!(std::mem::size_of::<KcValidateIn>() == 4 * PTR);
const _: () = assert!(std::mem::offset_of!(KcAnswer, offset) == 8);
const _: () = assert!(std::mem::size_of::<KcAnswer>() == 8 + 2 * PTR);
const _: () = assert!(std::mem::size_of::<Option<CreateFn>>() == PTR);
const _: () = assert!(std::mem::size_of::<KcStr>() == 2 * PTR);
const _: () = assert!(std::mem::offset_of!(KcEntitlement, max_major) == 24);
const _: () = assert!(std::mem::offset_of!(KcEntitlement, product) == 32);
const _: () = assert!(std::mem::offset_of!(KcEntitlement, features) == 32 + 4 * PTR);
const _: () = assert!(std::mem::offset_of!(KcEntitlement, customer_id) == 32 + 6 * PTR);
const _: () = assert!(std::mem::offset_of!(KcEntitlement, host_id) == 32 + 12 * PTR);
const _: () = assert!(std::mem::size_of::<KcEntitlement>() == 32 + 14 * PTR);
const _: () = assert!(std::mem::offset_of!(KcContext, product) == 16);
const _: () = assert!(std::mem::size_of::<KcContext>() == 16 + 4 * PTR);
const _: () = assert!(std::mem::size_of::<KcValidateTypedIn>() == 3 * PTR);
const _: () = assert!(std::mem::offset_of!(KcValidation, format) == 16);
const _: () = assert!(std::mem::offset_of!(KcValidation, decoded) == 16 + 4 * PTR);
const _: () = assert!(std::mem::size_of::<KcValidation>() == 48 + 18 * PTR);
