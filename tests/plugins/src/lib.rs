//! `kc_faulty`: a plugin that misbehaves on purpose, for keycompat's tests.
//!
//! keycompat has to prove its own detection power: a harness that passes
//! everything proves nothing. This plugin wraps one of keycompat's builtin
//! systems (setting `scheme`: `acme-lk1`, the old system and the default, or
//! `acme-ed1`, the new system) with the Acme demo settings, which further
//! settings override (e.g. `emit`), and then breaks it in one of two ways:
//!
//! - setting `defect` plants one realistic bug ([`defect::Defect`]) that a
//!   check of the matrix must catch, classify and shrink;
//! - setting `fault` injects a panic, a segfault, an abort or a failed call
//!   that the host must turn into a `crash` finding instead of dying or
//!   dropping it. `fail-on-key`, `abort-on-key` and `exit-on-key` fail
//!   `validate` on a known set of inputs (those whose FNV-1a hash of key and
//!   context is a multiple of `every`) and append each to the file named by setting `log`, one JSON
//!   line per call, so a test can compare the inputs that failed with the
//!   crash findings keycompat reports. Setting `armed_by` names an
//!   environment variable: the fault acts only where it is set (one CI
//!   machine of a sharded run lacking what the vendor's library needs), so
//!   shards of one config can differ in it. `hang-on-destroy`,
//!   `abort-on-destroy` and `exit-on-destroy` answer every call and then
//!   sleep for ever, abort or `_exit(3)` when the host destroys an instance.
//!
//! Apart from the one defect or fault, it answers exactly like the builtin it
//! wraps, so any finding a test sees is the planted one.

mod defect;
mod expiry;
mod legacy;
mod signed;
mod system;
#[cfg(test)]
mod tests;

use std::ffi::CStr;

use keycompat::catalog::Catalog;
use keycompat::implementation::{FailureKind, GenerateFailure};
use keycompat::{marshal, settings, system as demo};
use keycompat_plugin_sdk::abi::*;
use keycompat_plugin_sdk::{Fields, GenerateError, Plugin};

use crate::system::Defective;

/// The settings the plugin reads itself; all others go to the builtin.
const OWN_SETTINGS: [&str; 6] = ["scheme", "defect", "fault", "every", "log", "armed_by"];

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    PanicOnGenerate,
    PanicOnValidate,
    /// `generate` dies of SIGSEGV when `serial % every == 0` (setting `every`,
    /// default 1000): legacy code crashing on inputs nobody tried.
    SegvOnSerial,
    /// `validate` returns an error on the known inputs (see the crate docs).
    FailOnKey,
    /// `validate` aborts the process on the known inputs.
    AbortOnKey,
    /// `validate` ends the process with `exit(0)` on the known inputs (a
    /// vendor's error path that "cleans up" by exiting).
    ExitOnKey,
    /// `destroy` sleeps for ever (a vendor's cleanup waiting on a lock).
    HangOnDestroy,
    /// `destroy` aborts the process.
    AbortOnDestroy,
    /// `destroy` ends the process with `_exit(3)`, skipping exit handlers.
    ExitOnDestroy,
}

impl Fault {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "none" => Fault::None,
            "panic-on-generate" => Fault::PanicOnGenerate,
            "panic-on-validate" => Fault::PanicOnValidate,
            "segv-on-serial" => Fault::SegvOnSerial,
            "fail-on-key" => Fault::FailOnKey,
            "abort-on-key" => Fault::AbortOnKey,
            "exit-on-key" => Fault::ExitOnKey,
            "hang-on-destroy" => Fault::HangOnDestroy,
            "abort-on-destroy" => Fault::AbortOnDestroy,
            "exit-on-destroy" => Fault::ExitOnDestroy,
            other => return Err(format!("setting `fault`: unknown fault {other:?}")),
        })
    }
}

struct Faulty {
    inner: Defective,
    fault: Fault,
    every: u32,
    /// Where the `*-on-key` faults log the inputs they fail on.
    log: Option<std::path::PathBuf>,
}

/// FNV-1a over a validation's inputs: which ones `*-on-key` faults fail on.
fn input_hash(key: &[u8], ctx: &keycompat::verdict::Context) -> u64 {
    let context = serde_json::to_string(ctx).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.iter().chain([0u8].iter()).chain(context.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Plugin for Faulty {
    const NAME: &'static CStr = c"kc-faulty";
    const VERSION: &'static CStr = c"0.0.2";
    const FLAGS: u64 = KC_FLAG_THREAD_SAFE | KC_FLAG_GENERATE | KC_FLAG_VALIDATE;

    fn create(raw: &Fields) -> Result<Self, String> {
        let s = settings::from_fields(raw)?;
        let own = |key: &str, default: &'static str| -> String {
            s.get(key).cloned().unwrap_or_else(|| default.to_string())
        };
        let scheme = own("scheme", "acme-lk1");
        // Unarmed (the variable `armed_by` names is unset), the fault waits.
        let armed = s
            .get("armed_by")
            .is_none_or(|var| std::env::var_os(var).is_some());
        let fault = match Fault::parse(&own("fault", "none"))? {
            _ if !armed => Fault::None,
            f => f,
        };
        let mut builtin_settings = demo::acme_demo_settings(&scheme);
        builtin_settings.extend(
            s.iter()
                .filter(|(k, _)| !OWN_SETTINGS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let inner = Defective::new(
            &scheme,
            &own("defect", "none"),
            &Catalog::acme(),
            &builtin_settings,
        )?;
        let every = own("every", "1000")
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or("setting `every`: expected a number above 0")?;
        Ok(Faulty {
            inner,
            fault,
            every,
            log: s.get("log").map(std::path::PathBuf::from),
        })
    }

    fn generate(&mut self, fields: &Fields) -> Result<String, GenerateError> {
        if self.fault == Fault::PanicOnGenerate {
            panic!("planted panic in generate");
        }
        let e = marshal::entitlement_from_fields(fields).map_err(GenerateError::BadArgument)?;
        if self.fault == Fault::SegvOnSerial && e.serial % self.every == 0 {
            // Its last words, as broken C code logs before it dies: what the
            // host quotes from stderr in the crash it reports.
            eprintln!("kc-faulty: segv-on-serial: serial {}", e.serial);
            // SAFETY: the point is to die of SIGSEGV like broken C code. The
            // Rust runtime's own SIGSEGV handler (stack-overflow detection)
            // would swallow a raised signal, so restore the default first.
            unsafe {
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                libc::raise(libc::SIGSEGV);
            }
        }
        self.inner.generate(&e).map_err(|f| match f {
            GenerateFailure::Refused { field, reason } => {
                GenerateError::Refused(format!("{field}: {reason}"))
            }
            GenerateFailure::Failed(f) if f.kind == FailureKind::BadArgument => {
                GenerateError::BadArgument(f.message)
            }
            GenerateFailure::Failed(f) => GenerateError::Internal(f.to_string()),
        })
    }

    fn validate(&mut self, key: &[u8], context: &Fields) -> Result<String, String> {
        if self.fault == Fault::PanicOnValidate {
            panic!("planted panic in validate");
        }
        let ctx = marshal::context_from_fields(context)?;
        let on_key = matches!(
            self.fault,
            Fault::FailOnKey | Fault::AbortOnKey | Fault::ExitOnKey
        );
        if on_key && input_hash(key, &ctx).is_multiple_of(u64::from(self.every)) {
            self.log_failure(key, &ctx);
            if self.fault == Fault::AbortOnKey {
                eprintln!("kc-faulty: abort-on-key: aborting");
                std::process::abort();
            }
            if self.fault == Fault::ExitOnKey {
                eprintln!("kc-faulty: exit-on-key: exiting");
                std::process::exit(0);
            }
            return Err("planted failure on this input".into());
        }
        Ok(marshal::validation_to_text(&self.inner.validate(key, &ctx)))
    }
}

impl Drop for Faulty {
    /// What the SDK's `destroy` runs: the `*-on-destroy` faults act here.
    fn drop(&mut self) {
        match self.fault {
            Fault::HangOnDestroy => {
                eprintln!("kc-faulty: hang-on-destroy: hanging");
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1000));
                }
            }
            Fault::AbortOnDestroy => {
                eprintln!("kc-faulty: abort-on-destroy: aborting");
                std::process::abort();
            }
            Fault::ExitOnDestroy => {
                eprintln!("kc-faulty: exit-on-destroy: exiting");
                // SAFETY: `_exit` ends the process at once; always sound.
                unsafe { libc::_exit(3) }
            }
            _ => {}
        }
    }
}

impl Faulty {
    /// Appends the failing input to the log, one line per call (`O_APPEND`
    /// keeps lines of concurrent workers whole).
    fn log_failure(&self, key: &[u8], ctx: &keycompat::verdict::Context) {
        use std::io::Write;
        let Some(path) = &self.log else { return };
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let line = serde_json::json!({ "key_hex": hex, "context": ctx }).to_string() + "\n";
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

keycompat_plugin_sdk::export_plugin!(Faulty);
