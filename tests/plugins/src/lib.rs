//! `kc_faulty`: a plugin that misbehaves on purpose, for keycompat's tests.
//!
//! It wraps one of keycompat's builtin schemes (setting `scheme`, default
//! `acme-lk1`, with the Acme demo settings) and injects the fault named by the
//! setting `fault`. Tests use it to prove that the host turns each fault into
//! the right error or finding instead of dying.

use std::ffi::CStr;

use keycompat::implementation::{GenerateFailure, Implementation};
use keycompat::{marshal, schemes, settings, system};
use keycompat_plugin_sdk::abi::*;
use keycompat_plugin_sdk::{Fields, GenerateError, Plugin};

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    PanicOnGenerate,
    PanicOnValidate,
}

impl Fault {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "none" => Fault::None,
            "panic-on-generate" => Fault::PanicOnGenerate,
            "panic-on-validate" => Fault::PanicOnValidate,
            other => return Err(format!("setting `fault`: unknown fault {other:?}")),
        })
    }
}

struct Faulty {
    inner: Box<dyn Implementation>,
    fault: Fault,
}

impl Plugin for Faulty {
    const NAME: &'static CStr = c"kc-faulty";
    const VERSION: &'static CStr = c"0.0.1";
    const FLAGS: u64 = KC_FLAG_THREAD_SAFE | KC_FLAG_GENERATE | KC_FLAG_VALIDATE;

    fn create(raw: &Fields) -> Result<Self, String> {
        let s = settings::from_fields(raw)?;
        let scheme = s.get("scheme").map(String::as_str).unwrap_or("acme-lk1");
        let fault = Fault::parse(s.get("fault").map(String::as_str).unwrap_or("none"))?;
        let mut builtin_settings = system::acme_demo_settings(scheme);
        builtin_settings.extend(
            s.iter()
                .filter(|(k, _)| *k != "scheme" && *k != "fault")
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let inner = schemes::builtin(
            scheme,
            &keycompat::catalog::Catalog::acme(),
            &builtin_settings,
        )
        .map_err(|e| e.to_string())?;
        Ok(Faulty { inner, fault })
    }

    fn generate(&mut self, fields: &Fields) -> Result<String, GenerateError> {
        if self.fault == Fault::PanicOnGenerate {
            panic!("planted panic in generate");
        }
        let e = marshal::entitlement_from_fields(fields).map_err(GenerateError::BadArgument)?;
        self.inner.generate(&e).map_err(|f| match f {
            GenerateFailure::Refused { field, reason } => {
                GenerateError::Refused(format!("{field}: {reason}"))
            }
            GenerateFailure::Failed(f) => GenerateError::Internal(f.to_string()),
        })
    }

    fn validate(&mut self, key: &[u8], context: &Fields) -> Result<String, String> {
        if self.fault == Fault::PanicOnValidate {
            panic!("planted panic in validate");
        }
        let ctx = marshal::context_from_fields(context)?;
        let v = self.inner.validate(key, &ctx).map_err(|f| f.to_string())?;
        Ok(marshal::validation_to_text(&v))
    }
}

keycompat_plugin_sdk::export_plugin!(Faulty);
