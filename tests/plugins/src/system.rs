//! The wrapped builtin, taken apart into the steps a defect can replace.
//!
//! keycompat's builtins are whole systems; a defect changes one step inside
//! one of them (the legacy emitter, the acme-lk1 validator, ...). So the
//! plugin rebuilds the builtin from keycompat's public codecs and routes
//! each call exactly as the builtin does (the tests pin this), sending each
//! format's step through the defect.

use std::fmt;

use keycompat::catalog::Catalog;
use keycompat::entitlement::Entitlement;
use keycompat::implementation::GenerateFailure;
use keycompat::schemes::ed1::{self, Ed1};
use keycompat::schemes::lk1::Lk1;
use keycompat::schemes::new_system::{Emit, NewSystem};
use keycompat::schemes::{self, BuiltinError};
use keycompat::settings::Settings;
use keycompat::verdict::{Context, Validation, Verdict};

use crate::defect::Defect;
use crate::{expiry, legacy, signed};

/// Which builtin the plugin wraps (the `scheme` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `acme-lk1`: the old system.
    Old,
    /// `acme-ed1`: the new system (with its legacy emitter).
    New,
}

impl Scheme {
    /// Parses the setting, naming the builtins on error.
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        match name {
            "acme-lk1" => Ok(Scheme::Old),
            "acme-ed1" => Ok(Scheme::New),
            _ => Err(BuiltinError::UnknownBuiltin {
                name: name.to_string(),
                known: schemes::BUILTINS.join(", "),
            }
            .to_string()),
        }
    }

    /// The setting that holds the acme-lk1 secret.
    pub(crate) fn lk1_secret_setting(self) -> &'static str {
        match self {
            Scheme::Old => "secret",
            Scheme::New => "lk1_secret",
        }
    }
}

/// The builtin's parts (boxed: both are large, and built once).
#[derive(Debug, Clone)]
enum Target {
    /// The old system: one acme-lk1 codec.
    Old(Box<Lk1>),
    /// The new system: both codecs and its emit policy.
    New(Box<NewSystem>),
}

/// A builtin system with one planted defect.
#[derive(Debug, Clone)]
pub(crate) struct Defective {
    target: Target,
    defect: Defect,
}

impl fmt::Display for Defective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.target {
            Target::Old(_) => "acme-lk1",
            Target::New(_) => "acme-ed1",
        };
        write!(f, "{scheme} with defect {}", self.defect)
    }
}

impl Defective {
    /// The builtin `scheme` from its `settings` (those of `builtin:NAME`),
    /// with the defect named `defect`.
    pub(crate) fn new(
        scheme: &str,
        defect: &str,
        catalog: &Catalog,
        settings: &Settings,
    ) -> Result<Self, String> {
        let scheme = Scheme::parse(scheme)?;
        let defect = Defect::from_settings(defect, scheme, catalog, settings)?;
        let lk1_catalog = match defect {
            Defect::FeatureBitMoved => legacy::catalog_with_swapped_bits(catalog),
            _ => catalog.clone(),
        };
        let lk1 = Lk1::from_settings(&lk1_catalog, settings, scheme.lk1_secret_setting())
            .map_err(|e| e.to_string())?;
        let target = match scheme {
            Scheme::Old => Target::Old(Box::new(lk1)),
            Scheme::New => {
                let new = NewSystem::from_settings(catalog, settings).map_err(|e| e.to_string())?;
                let (ed1, emit, products) = (new.ed1().clone(), new.emit(), new.lk1_products());
                Target::New(Box::new(NewSystem::new(lk1, ed1, emit, products.clone())))
            }
        };
        Ok(Defective { target, defect })
    }

    /// Issues a key as the builtin does, through the defect.
    pub(crate) fn generate(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
        if matches!(self.defect, Defect::RefusesFeatures) && !e.features.is_empty() {
            return Err(GenerateFailure::Refused {
                field: "features".into(),
                reason: "no feature table loaded".into(),
            });
        }
        match &self.target {
            Target::Old(lk1) => self.lk1_encode(lk1, e),
            Target::New(new) => self.issue_as_new_system(new, e),
        }
    }

    /// Validates a key as the builtin does, through the defect.
    pub(crate) fn validate(&self, key: &[u8], ctx: &Context) -> Validation {
        let v = self.validate_in(key, ctx);
        match (&self.defect, v.verdict, v.decoded.as_ref()) {
            (Defect::ProductUnchecked, Verdict::WrongProduct, Some(d)) => {
                // Judged again as if the running product were the key's own.
                let Some(product) = d.product.clone() else {
                    return v;
                };
                self.validate_in(
                    key,
                    &Context {
                        product,
                        ..ctx.clone()
                    },
                )
            }
            _ => v,
        }
    }

    fn validate_in(&self, key: &[u8], ctx: &Context) -> Validation {
        let v = match &self.target {
            Target::New(new)
                if is_acme_ed1(key) && matches!(self.defect, Defect::OwnKeysUnnamed) =>
            {
                let v = self.ed1_decode(new.ed1(), key, ctx);
                let serial = v.decoded.as_ref().and_then(|d| d.serial);
                if v.verdict == Verdict::Valid && serial.is_some_and(|s| s % 3 == 0) {
                    Validation {
                        verdict: Verdict::BadSignature,
                        format: None,
                        reason: Some("signature does not verify".into()),
                        decoded: None,
                    }
                } else if v.verdict == Verdict::Valid {
                    v
                } else {
                    Validation { format: None, ..v }
                }
            }
            Target::New(new) if is_acme_ed1(key) => self.ed1_decode(new.ed1(), key, ctx),
            Target::New(new) => self.lk1_decode(new.lk1(), key, ctx),
            Target::Old(lk1) => self.lk1_decode(lk1, key, ctx),
        };
        match self.defect {
            Defect::ExpiryOffByOne => expiry::rejudge(v, ctx, expiry::off_by_one_is_expired),
            Defect::TzExpiry => {
                let tz = std::env::var("TZ").ok();
                let local = Context {
                    today: expiry::local_today(ctx.today, tz.as_deref()),
                    ..ctx.clone()
                };
                expiry::rejudge(v, &local, expiry::spec_is_expired)
            }
            _ => v,
        }
    }

    /// `NewSystem::generate`'s emit policy, over the defect's steps: a
    /// legacy emitter that stops refusing also stops falling back to acme-ed1.
    fn issue_as_new_system(
        &self,
        new: &NewSystem,
        e: &Entitlement,
    ) -> Result<String, GenerateFailure> {
        match new.emit() {
            Emit::Lk1 => self.lk1_encode(new.lk1(), e),
            Emit::Ed1 => self.ed1_encode(new.ed1(), e),
            Emit::Policy if new.lk1_products().contains(&e.product) => {
                match self.lk1_encode(new.lk1(), e) {
                    Err(GenerateFailure::Refused { .. }) => self.ed1_encode(new.ed1(), e),
                    issued_or_failed => issued_or_failed,
                }
            }
            Emit::Policy => self.ed1_encode(new.ed1(), e),
        }
    }

    fn lk1_encode(&self, codec: &Lk1, e: &Entitlement) -> Result<String, GenerateFailure> {
        match &self.defect {
            Defect::MacWrongBytes(mac) => mac.encode(codec, e),
            Defect::SeatsWrapped => legacy::encode_seats_wrapped(codec, e),
            Defect::HostLockDropped => legacy::encode_dropping_host_lock(codec, e),
            Defect::DateEpoch => legacy::encode_with_late_epoch(codec, e),
            _ => codec.encode(e),
        }
    }

    fn lk1_decode(&self, codec: &Lk1, key: &[u8], ctx: &Context) -> Validation {
        match &self.defect {
            Defect::CaseSensitive => legacy::decode_case_sensitive(codec, key, ctx),
            Defect::MacWrongBytes(mac) => mac.decode(codec, key, ctx),
            Defect::DateEpoch => legacy::decode_with_late_epoch(codec, key, ctx),
            Defect::LaxMac => legacy::decode_without_mac(codec, key, ctx),
            Defect::ReservedIgnored => legacy::decode_ignoring_reserved(codec, key, ctx),
            Defect::LastBitUnread(lost) => legacy::decode_losing_feature(codec, key, ctx, lost),
            _ => codec.decode(key, ctx),
        }
    }

    fn ed1_encode(&self, codec: &Ed1, e: &Entitlement) -> Result<String, GenerateFailure> {
        match &self.defect {
            Defect::CrashLongName => signed::encode_with_name_column(codec, e),
            Defect::PayloadAsciiEscaped => signed::encode_ascii_escaped(codec, e),
            _ => codec.encode(e),
        }
    }

    fn ed1_decode(&self, codec: &Ed1, key: &[u8], ctx: &Context) -> Validation {
        match &self.defect {
            Defect::LaxSignature(lax) => lax.decode(codec, key, ctx),
            Defect::VersionIgnored(blind) => blind.decode(codec, key, ctx),
            _ => codec.decode(key, ctx),
        }
    }
}

/// `NewSystem::validate`'s dispatch: a key that starts with `key/` after
/// trimming surrounding whitespace is acme-ed1, any other acme-lk1.
fn is_acme_ed1(key: &[u8]) -> bool {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = key.iter().position(|b| !space(b)).unwrap_or(key.len());
    key[start..].starts_with(ed1::PREFIX.as_bytes())
}
