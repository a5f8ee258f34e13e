//! Opening a plugin library and checking its table before any call.

use std::ffi::CStr;
use std::io::Read;
use std::path::{Path, PathBuf};

use keycompat_plugin_sdk::abi::*;
use sha2::{Digest, Sha256};

/// Why a plugin cannot be used. Every variant names the plugin's path.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file does not exist or cannot be read.
    #[error("plugin {path}: cannot read the file: {message}")]
    Unreadable {
        /// The path as given.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// `dlopen` failed: not a shared library, wrong architecture, missing dependency.
    #[error("plugin {path}: not a loadable shared library: {message}")]
    Open {
        /// The absolute path.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// The process loading the plugin (a worker, or `plugin inspect`'s)
    /// could not start, or died or hung while the plugin loaded: in its
    /// constructors, its entry point or `create`.
    #[error("plugin {path}: {message}")]
    Loading {
        /// The absolute path.
        path: PathBuf,
        /// How the process ended, with its stderr.
        message: String,
    },
    /// The entry symbol is missing.
    #[error(
        "plugin {path}: no symbol `kc_plugin_entry_v1`; hint: export it as in plugins/include/keycompat_plugin.h"
    )]
    MissingEntry {
        /// The absolute path.
        path: PathBuf,
    },
    /// The table is unusable.
    #[error("plugin {path}: {problem}")]
    BadTable {
        /// The absolute path.
        path: PathBuf,
        /// What is wrong with `kc_plugin_v1`.
        problem: String,
    },
    /// `create` failed.
    #[error("plugin {path} ({name}): create failed with status {status}: {message}")]
    Create {
        /// The absolute path.
        path: PathBuf,
        /// The plugin's name.
        name: String,
        /// The status `create` returned.
        status: i32,
        /// What the plugin said, if anything.
        message: String,
    },
    /// A process plugin could not be started or did not complete its
    /// hello (see `plugins/PROTOCOL.md`).
    #[error("process plugin `{command}`: {message}")]
    Process {
        /// The command line, as the config gives it.
        command: String,
        /// What went wrong, with the plugin's stderr.
        message: String,
    },
}

/// A loaded, checked plugin. The library is never unloaded, so the table and
/// its functions live as long as the process.
pub struct LoadedPlugin {
    /// Absolute, canonical path.
    pub path: PathBuf,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// ABI major.minor as declared.
    pub abi: (u16, u16),
    /// `struct_size` as declared.
    pub struct_size: u32,
    /// `KC_FLAG_*`.
    pub flags: u64,
    /// The plugin's table as this host reads it: the bytes within its
    /// `struct_size`, later fields `None`.
    pub(crate) table: KcPluginV1,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("version", &self.version)
            .field("abi", &self.abi)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// Whether distinct instances may be used from different threads at once.
    pub fn thread_safe(&self) -> bool {
        self.flags & KC_FLAG_THREAD_SAFE != 0
    }

    /// Whether the plugin answers whole batches (ABI 1.1, checked at load).
    pub fn batches(&self) -> bool {
        self.flags & KC_FLAG_BATCH != 0
    }

    /// Whether the plugin answers typed batches (ABI 1.2, checked at load).
    pub fn typed(&self) -> bool {
        self.flags & KC_FLAG_TYPED != 0
    }

    /// Makes the host call the plugin as a host of ABI 1.`minor` would:
    /// below 2 not through the typed entry points, below 1 not through the
    /// batch ones either. Benchmarks and tests use it to compare the paths
    /// on one plugin; a run always uses the most the plugin offers.
    pub fn limit_to_minor(&mut self, minor: u16) {
        if minor < 2 {
            self.flags &= !KC_FLAG_TYPED;
        }
        if minor < 1 {
            self.flags &= !KC_FLAG_BATCH;
        }
    }

    /// Capabilities and thread safety, in words.
    pub fn describe_flags(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (bit, word) in [
            (KC_FLAG_GENERATE, "generate"),
            (KC_FLAG_VALIDATE, "validate"),
            (KC_FLAG_THREAD_SAFE, "thread-safe"),
            (KC_FLAG_INSTANCE_SYNC, "instance-sync"),
            (KC_FLAG_BATCH, "batch"),
            (KC_FLAG_TYPED, "typed"),
        ] {
            if self.flags & bit != 0 {
                out.push(word);
            }
        }
        if self.flags & KC_FLAG_THREAD_SAFE == 0 {
            out.push("not thread-safe (calls are serialised)");
        }
        out
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Loads and checks the plugin at `path`.
///
/// Loading runs the library's initialisers: only load plugins you would run.
pub fn load(path: &Path) -> Result<LoadedPlugin, PluginError> {
    load_hashed(path, true)
}

/// [`load`], computing the file's SHA-256 only when `hash` is set (a worker
/// reloading a plugin it already reported leaves `sha256` empty).
pub(crate) fn load_hashed(path: &Path, hash: bool) -> Result<LoadedPlugin, PluginError> {
    super::exit_guard::guard(path);
    let path = std::fs::canonicalize(path).map_err(|e| PluginError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let sha256 = if hash {
        sha256_file(&path).map_err(|e| PluginError::Unreadable {
            path: path.clone(),
            message: e.to_string(),
        })?
    } else {
        String::new()
    };
    let library = open(&path)?;
    let entry = entry_point(&path, library)?;
    // SAFETY: `entry` has the signature the header declares for
    // `kc_plugin_entry_v1`; the library stays loaded for the process lifetime.
    let raw = unsafe { entry(u32::from(KC_ABI_MINOR)) };
    let table = check_table(&path, raw)?;
    let text = |what: &str, ptr: *const std::ffi::c_char| -> Result<String, PluginError> {
        if ptr.is_null() {
            return Err(bad(&path, format!("`{what}` is a null pointer")));
        }
        // SAFETY: non-null and, per the header, a static NUL-terminated string.
        let s = unsafe { CStr::from_ptr(ptr) };
        s.to_str()
            .map(str::to_string)
            .map_err(|_| bad(&path, format!("`{what}` is not valid UTF-8")))
    };
    Ok(LoadedPlugin {
        name: text("name", table.name)?,
        version: text("version", table.version)?,
        abi: (table.abi_major, table.abi_minor),
        struct_size: table.struct_size,
        flags: table.flags,
        sha256,
        path,
        table,
    })
}

fn bad(path: &Path, problem: impl Into<String>) -> PluginError {
    PluginError::BadTable {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Opens with `RTLD_NOW | RTLD_LOCAL` and leaks the handle: never unloaded.
/// An error and its causes, `: `-joined: libloading's own text is only
/// "dlopen failed", the loader's reason (a missing symbol, the wrong
/// architecture, not an ELF file) is its source.
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn open(path: &Path) -> Result<&'static libloading::Library, PluginError> {
    #[cfg(unix)]
    let lib = {
        use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
        // SAFETY: loading runs the library's initialisers; the caller chose to
        // trust this plugin, and workers confine it to their own process.
        unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map(libloading::Library::from)
    };
    #[cfg(not(unix))]
    // SAFETY: as above.
    let lib = unsafe { libloading::Library::new(path) };
    let lib = lib.map_err(|e| PluginError::Open {
        path: path.to_path_buf(),
        message: with_sources(&e),
    })?;
    Ok(Box::leak(Box::new(lib)))
}

fn entry_point(
    path: &Path,
    library: &'static libloading::Library,
) -> Result<EntryFnV1, PluginError> {
    // SAFETY: the symbol's type is fixed by the header; a library exporting
    // `kc_plugin_entry_v1` with another signature breaks the ABI it claims.
    let symbol = unsafe { library.get::<EntryFnV1>(KC_ENTRY_SYMBOL_V1.to_bytes_with_nul()) };
    let symbol = symbol.map_err(|_| PluginError::MissingEntry {
        path: path.to_path_buf(),
    })?;
    // The library is leaked, so the function pointer never dangles.
    Ok(*symbol)
}

/// Copies the first `size` bytes of the table at `raw` (at most a whole
/// [`KcPluginV1`]) over a zeroed one: a field the plugin's table does not
/// reach reads as `None` or zero, never as bytes beyond it.
fn read_table(raw: *const KcPluginV1, size: usize) -> KcPluginV1 {
    let mut table = std::mem::MaybeUninit::<KcPluginV1>::zeroed();
    let n = size.min(std::mem::size_of::<KcPluginV1>());
    // SAFETY: the plugin declares `size >= n` readable bytes at `raw` (the
    // caller checked `raw` is non-null and aligned); `table` has room for
    // `n` bytes and does not overlap a static table of the library.
    unsafe { std::ptr::copy_nonoverlapping(raw.cast::<u8>(), table.as_mut_ptr().cast::<u8>(), n) };
    // SAFETY: all-zero bytes are a valid `KcPluginV1` (null pointers, `None`
    // functions, zero integers), and the bytes copied over them are the
    // plugin's own table, laid out as the header declares.
    unsafe { table.assume_init() }
}

fn check_table(path: &Path, raw: *const KcPluginV1) -> Result<KcPluginV1, PluginError> {
    if raw.is_null() {
        return Err(bad(
            path,
            format!(
                "kc_plugin_entry_v1({KC_ABI_MINOR}) returned NULL: the plugin does not serve this host's ABI 1.{KC_ABI_MINOR}"
            ),
        ));
    }
    if raw.align_offset(std::mem::align_of::<KcPluginV1>()) != 0 {
        return Err(bad(path, "the table pointer is misaligned"));
    }
    // SAFETY: non-null and aligned; the header fields (magic, versions, size)
    // lie within any table, and we read nothing beyond `struct_size` before
    // checking it.
    let (magic, major, minor, size) = unsafe {
        (
            std::ptr::addr_of!((*raw).magic).read(),
            std::ptr::addr_of!((*raw).abi_major).read(),
            std::ptr::addr_of!((*raw).abi_minor).read(),
            std::ptr::addr_of!((*raw).struct_size).read(),
        )
    };
    if magic != KC_MAGIC {
        return Err(bad(
            path,
            format!(
                "bad magic 0x{magic:08X} (expected 0x{KC_MAGIC:08X}, \"KCPL\"): not a keycompat plugin table"
            ),
        ));
    }
    if major != KC_ABI_MAJOR {
        return Err(bad(
            path,
            format!(
                "ABI major version {major}.{minor}, but this keycompat speaks {KC_ABI_MAJOR}.x; hint: rebuild the plugin against this keycompat's keycompat_plugin.h"
            ),
        ));
    }
    if (size as usize) < KC_PLUGIN_V1_0_SIZE {
        return Err(bad(
            path,
            format!(
                "struct_size {size} is smaller than an ABI 1.0 table ({KC_PLUGIN_V1_0_SIZE} bytes): the table is truncated"
            ),
        ));
    }
    let table = read_table(raw, size as usize);
    if table.reserved0 != 0 {
        return Err(bad(
            path,
            format!("reserved0 is {} (must be 0)", table.reserved0),
        ));
    }
    for (name, missing) in [
        ("create", table.create.is_none()),
        ("destroy", table.destroy.is_none()),
        ("generate", table.generate.is_none()),
        ("validate", table.validate.is_none()),
        ("last_error", table.last_error.is_none()),
    ] {
        if missing {
            return Err(bad(path, format!("function `{name}` is a null pointer")));
        }
    }
    if table.flags & (KC_FLAG_GENERATE | KC_FLAG_VALIDATE) == 0 {
        return Err(bad(
            path,
            "flags declare neither KC_FLAG_GENERATE nor KC_FLAG_VALIDATE",
        ));
    }
    if table.flags & KC_FLAG_BATCH != 0 {
        if (size as usize) < KC_PLUGIN_V1_1_SIZE {
            return Err(bad(
                path,
                format!(
                    "flags declare KC_FLAG_BATCH, but struct_size {size} ends before the ABI 1.1 batch functions ({KC_PLUGIN_V1_1_SIZE} bytes)"
                ),
            ));
        }
        for (name, missing) in [
            ("generate_batch", table.generate_batch.is_none()),
            ("validate_batch", table.validate_batch.is_none()),
        ] {
            if missing {
                return Err(bad(
                    path,
                    format!("flags declare KC_FLAG_BATCH, but function `{name}` is a null pointer"),
                ));
            }
        }
    }
    if table.flags & KC_FLAG_TYPED != 0 {
        if (size as usize) < KC_PLUGIN_V1_2_SIZE {
            return Err(bad(
                path,
                format!(
                    "flags declare KC_FLAG_TYPED, but struct_size {size} ends before the ABI 1.2 typed functions ({KC_PLUGIN_V1_2_SIZE} bytes)"
                ),
            ));
        }
        for (name, missing) in [
            ("generate_typed", table.generate_typed.is_none()),
            ("validate_typed", table.validate_typed.is_none()),
        ] {
            if missing {
                return Err(bad(
                    path,
                    format!("flags declare KC_FLAG_TYPED, but function `{name}` is a null pointer"),
                ));
            }
        }
    }
    Ok(table)
}
