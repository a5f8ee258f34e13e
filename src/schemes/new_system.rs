//! The new Acme system (`builtin:acme-ed1`): validates acme-ed1 and acme-lk1
//! keys, and issues acme-lk1 keys where shipped releases still need them.
//!
//! Releases already in customers' hands can only validate acme-lk1 and never
//! change, so the new system keeps an acme-lk1 emitter (the same [`Lk1`] codec
//! as the old system) and picks the format per entitlement: acme-lk1 for a
//! product that has such a release, as long as the entitlement fits the old
//! format, and acme-ed1 otherwise (SCHEMES.md, "The two systems"). The other
//! `emit` modes force one format, to compare a policy with its alternatives.

use std::collections::BTreeSet;
use std::fmt;

use crate::catalog::Catalog;
use crate::entitlement::{Entitlement, EntitlementRef};
use crate::forgery::{Forgery, Pick};
use crate::implementation::{CallFailure, GenerateFailure, ImplInfo, Implementation, Origin};
use crate::settings::{self, SettingError, Settings};
use crate::verdict::{Context, ContextRef, Validation, ValidationRef};

use super::ed1::{self, Ed1};
use super::lk1::Lk1;

/// Which format the new system issues (the `emit` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Emit {
    /// acme-lk1 for products in `lk1_products` when the entitlement fits,
    /// acme-ed1 otherwise (`policy`, the default).
    #[default]
    Policy,
    /// acme-lk1 only; what it cannot carry is refused (`acme-lk1`).
    Lk1,
    /// acme-ed1 only (`acme-ed1`).
    Ed1,
}

impl Emit {
    /// Every mode, as the setting spells it.
    pub const NAMES: [&'static str; 3] = ["policy", "acme-lk1", "acme-ed1"];

    /// Parses the setting's value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "policy" => Some(Emit::Policy),
            "acme-lk1" => Some(Emit::Lk1),
            "acme-ed1" => Some(Emit::Ed1),
            _ => None,
        }
    }

    /// The setting's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Emit::Policy => "policy",
            Emit::Lk1 => "acme-lk1",
            Emit::Ed1 => "acme-ed1",
        }
    }
}

impl fmt::Display for Emit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The new system: both codecs and the policy that picks between them.
#[derive(Debug, Clone)]
pub struct NewSystem {
    lk1: Lk1,
    ed1: Ed1,
    emit: Emit,
    lk1_products: BTreeSet<String>,
}

impl NewSystem {
    /// The new system from its parts.
    pub fn new(lk1: Lk1, ed1: Ed1, emit: Emit, lk1_products: BTreeSet<String>) -> Self {
        NewSystem {
            lk1,
            ed1,
            emit,
            lk1_products,
        }
    }

    /// The new system from its settings: `lk1_secret` (required), the
    /// acme-ed1 settings of [`Ed1::from_settings`], `lk1_products` (required:
    /// comma-separated slugs of the products with a shipped release that
    /// validates acme-lk1 only; may be empty) and `emit` (`policy`, the
    /// default, `acme-lk1` or `acme-ed1`).
    pub fn from_settings(catalog: &Catalog, s: &Settings) -> Result<Self, SettingError> {
        let lk1 = Lk1::from_settings(catalog, s, "lk1_secret")?;
        let ed1 = Ed1::from_settings(catalog, s)?;
        let lk1_products = parse_products(catalog, settings::required(s, "lk1_products")?)
            .map_err(|m| SettingError::new("lk1_products", m))?;
        let emit = match s.get("emit") {
            None => Emit::default(),
            Some(v) => Emit::parse(v).ok_or_else(|| {
                SettingError::new(
                    "emit",
                    format!("{v:?} is not one of {}", Emit::NAMES.join(", ")),
                )
            })?,
        };
        Ok(NewSystem::new(lk1, ed1, emit, lk1_products))
    }

    /// The acme-lk1 codec (the legacy emitter and validator).
    pub fn lk1(&self) -> &Lk1 {
        &self.lk1
    }

    /// The acme-ed1 codec.
    pub fn ed1(&self) -> &Ed1 {
        &self.ed1
    }

    /// The emit mode.
    pub fn emit(&self) -> Emit {
        self.emit
    }

    /// The products whose keys are issued as acme-lk1 when they fit.
    pub fn lk1_products(&self) -> &BTreeSet<String> {
        &self.lk1_products
    }

    /// Whether `generate` can issue any key at all.
    pub fn can_generate(&self) -> bool {
        self.ed1.can_sign() || self.emit != Emit::Ed1
    }

    /// Issues a key in the format the emit mode picks.
    pub fn generate(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
        self.generate_view(&e.view())
    }

    /// [`NewSystem::generate`] of a borrowed entitlement.
    pub fn generate_view(&self, e: &EntitlementRef<'_>) -> Result<String, GenerateFailure> {
        match self.emit {
            Emit::Lk1 => self.lk1.encode_view(e),
            Emit::Ed1 => self.ed1.encode_view(e),
            Emit::Policy if self.lk1_products.contains(e.product) => {
                match self.lk1.encode_view(e) {
                    Err(GenerateFailure::Refused { .. }) => self.ed1.encode_view(e),
                    issued_or_failed => issued_or_failed,
                }
            }
            Emit::Policy => self.ed1.encode_view(e),
        }
    }

    /// Validates a key of either format: one that starts with `key/` after
    /// trimming surrounding whitespace is acme-ed1, any other acme-lk1.
    pub fn validate(&self, key: &[u8], ctx: &Context) -> Validation {
        if is_acme_ed1(key) {
            self.ed1.decode(key, ctx)
        } else {
            self.lk1.decode(key, ctx)
        }
    }

    /// [`NewSystem::validate`] in a borrowed context, handing `answer` the
    /// validation borrowed: an acme-lk1 decode borrows the codec's names, so
    /// a plugin copies them once, into the host's buffer.
    pub fn validate_view<R>(
        &self,
        key: &[u8],
        ctx: &ContextRef<'_>,
        answer: impl FnOnce(&ValidationRef<'_>) -> R,
    ) -> R {
        if is_acme_ed1(key) {
            answer(&self.ed1.decode(key, &ctx.to_context()).view())
        } else {
            answer(&self.lk1.decode_view(key, ctx))
        }
    }

    /// Forgeries of a key of either format (read as [`Self::validate`]
    /// reads it), made with the acme-lk1 secret or the signing key.
    pub fn forgeries(&self, key: &str, pick: Pick) -> Vec<Forgery> {
        if is_acme_ed1(key.as_bytes()) {
            self.ed1.forgeries(key, pick)
        } else {
            self.lk1.forgeries(key, pick)
        }
    }
}

/// Whether the new system reads `key` as acme-ed1: it starts with `key/`
/// after surrounding whitespace.
fn is_acme_ed1(key: &[u8]) -> bool {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = key.iter().position(|b| !space(b)).unwrap_or(key.len());
    key[start..].starts_with(ed1::PREFIX.as_bytes())
}

/// Parses `lk1_products`: catalog slugs with a legacy id, comma-separated.
fn parse_products(catalog: &Catalog, text: &str) -> Result<BTreeSet<String>, String> {
    if text.trim().is_empty() {
        return Ok(BTreeSet::new());
    }
    text.split(',')
        .map(str::trim)
        .map(|slug| match catalog.product(slug) {
            None if slug.is_empty() => Err("an entry is empty".to_string()),
            None => Err(format!("{slug:?} is not a product of the catalog")),
            Some(p) if p.legacy_id.is_none() => Err(format!(
                "{slug} has no legacy product id, so no release of it validates acme-lk1"
            )),
            Some(_) => Ok(slug.to_string()),
        })
        .collect()
}

/// The new system as a builtin [`Implementation`] (`builtin:acme-ed1`).
#[derive(Debug, Clone)]
pub struct NewSystemImpl {
    info: ImplInfo,
    system: NewSystem,
}

impl NewSystemImpl {
    /// The implementation around a new system.
    pub fn new(system: NewSystem) -> Self {
        NewSystemImpl {
            info: ImplInfo {
                name: ed1::FORMAT.to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                origin: Origin::Builtin {
                    scheme: ed1::FORMAT.to_string(),
                },
                can_generate: system.can_generate(),
                can_validate: true,
            },
            system,
        }
    }

    /// The implementation from its settings (see [`NewSystem::from_settings`]).
    pub fn from_settings(catalog: &Catalog, s: &Settings) -> Result<Self, SettingError> {
        Ok(NewSystemImpl::new(NewSystem::from_settings(catalog, s)?))
    }

    /// The system.
    pub fn system(&self) -> &NewSystem {
        &self.system
    }
}

impl Implementation for NewSystemImpl {
    fn info(&self) -> &ImplInfo {
        &self.info
    }

    fn generate(&self, entitlement: &Entitlement) -> Result<String, GenerateFailure> {
        self.system.generate(entitlement)
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        Ok(self.system.validate(key, context))
    }

    /// Forgeries with whichever secret the key's format needs: the system
    /// holds both.
    fn forgeries(&self, key: &str, pick: Pick) -> Vec<Forgery> {
        self.system.forgeries(key, pick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;
    use crate::implementation::FailureKind;
    use crate::schemes::demo;
    use crate::schemes::lk1::Lk1System;
    use crate::verdict::{Verdict, Version};

    fn system_with(changes: &[(&str, Option<&str>)]) -> Result<NewSystem, SettingError> {
        let mut s = demo::new_system();
        for (k, v) in changes {
            match v {
                Some(v) => s.insert(k.to_string(), v.to_string()),
                None => s.remove(*k),
            };
        }
        NewSystem::from_settings(&Catalog::acme(), &s)
    }

    fn system() -> NewSystem {
        system_with(&[]).unwrap()
    }

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn cad() -> Entitlement {
        Entitlement {
            product: "acme-cad".into(),
            edition: "professional".into(),
            max_major: 7,
            features: ["export-dwg", "render-gpu"].map(String::from).into(),
            seats: Some(25),
            issued: day("2026-11-23"),
            expires: Some(day("2027-12-31")),
            maintenance_until: None,
            serial: 4242,
            customer: None,
            order_id: Some("SO-1001".into()),
            host_id: None,
        }
    }

    fn ctx(product: &str, host: Option<&str>) -> Context {
        Context {
            product: product.into(),
            version: Version { major: 7, minor: 0 },
            today: day("2026-12-01"),
            host_id: host.map(String::from),
        }
    }

    fn format_of(s: &NewSystem, e: &Entitlement) -> &'static str {
        let key = s.generate(e).unwrap();
        let v = s.validate(key.as_bytes(), &ctx(&e.product, e.host_id.as_deref()));
        assert_eq!(v.verdict, Verdict::Valid, "{key}: {:?}", v.reason);
        if key.starts_with("key/") {
            "acme-ed1"
        } else {
            "acme-lk1"
        }
    }

    #[test]
    fn policy_issues_lk1_where_shipped_releases_need_it_and_it_fits() {
        let s = system();
        assert_eq!(format_of(&s, &cad()), "acme-lk1");
        let viewer = Entitlement {
            product: "acme-viewer".into(),
            ..cad()
        };
        assert_eq!(format_of(&s, &viewer), "acme-lk1");
        let cloud = Entitlement {
            product: "acme-cloud".into(),
            ..cad()
        };
        assert_eq!(format_of(&s, &cloud), "acme-ed1");
        let mut ai = cad();
        ai.features.insert("ai-assist".into());
        assert_eq!(format_of(&s, &ai), "acme-ed1");
        let many = Entitlement {
            seats: Some(5000),
            ..cad()
        };
        assert_eq!(format_of(&s, &many), "acme-ed1");
        let locked = Entitlement {
            host_id: Some("H-1".into()),
            ..cad()
        };
        assert_eq!(format_of(&s, &locked), "acme-ed1");
        let late = Entitlement {
            expires: Some(day("2050-01-01")),
            ..cad()
        };
        assert_eq!(format_of(&s, &late), "acme-ed1");
        let big_serial = Entitlement {
            serial: 1 << 20,
            ..cad()
        };
        assert_eq!(format_of(&s, &big_serial), "acme-ed1");
    }

    #[test]
    fn policy_only_emits_lk1_for_the_listed_products() {
        let s = system_with(&[("lk1_products", Some("acme-viewer"))]).unwrap();
        assert_eq!(format_of(&s, &cad()), "acme-ed1");
        let s = system_with(&[("lk1_products", Some(""))]).unwrap();
        assert_eq!(format_of(&s, &cad()), "acme-ed1");
    }

    #[test]
    fn the_legacy_emitter_matches_the_old_system() {
        let old = Lk1System::from_settings(&Catalog::acme(), &demo::lk1()).unwrap();
        let new = NewSystemImpl::from_settings(&Catalog::acme(), &demo::new_system()).unwrap();
        assert_eq!(new.generate(&cad()).unwrap(), old.generate(&cad()).unwrap());
        let key = old.generate(&cad()).unwrap();
        let a = old
            .validate(key.as_bytes(), &ctx("acme-cad", None))
            .unwrap();
        let b = new
            .validate(key.as_bytes(), &ctx("acme-cad", None))
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn forced_modes_issue_one_format() {
        let lk1 = system_with(&[("emit", Some("acme-lk1"))]).unwrap();
        assert_eq!(format_of(&lk1, &cad()), "acme-lk1");
        let cloud = Entitlement {
            product: "acme-cloud".into(),
            ..cad()
        };
        match lk1.generate(&cloud) {
            Err(GenerateFailure::Refused { field, .. }) => assert_eq!(field, "product"),
            other => panic!("{other:?}"),
        }
        let ed1 = system_with(&[("emit", Some("acme-ed1"))]).unwrap();
        assert_eq!(format_of(&ed1, &cad()), "acme-ed1");
        assert_eq!(format_of(&ed1, &cloud), "acme-ed1");
    }

    #[test]
    fn validates_both_formats_by_prefix() {
        let s = system();
        let lk1 = s.lk1().encode(&cad()).unwrap();
        let ed1 = s.ed1().encode(&cad()).unwrap();
        for key in [lk1.clone(), format!(" \r\n{lk1}\t"), lk1.to_lowercase()] {
            let v = s.validate(key.as_bytes(), &ctx("acme-cad", None));
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Valid, Some("acme-lk1"))
            );
        }
        for key in [ed1.clone(), format!("\n\t {ed1} \r\n")] {
            let v = s.validate(key.as_bytes(), &ctx("acme-cad", None));
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Valid, Some("acme-ed1"))
            );
        }
        // Upper-case `KEY/` is not the prefix: read as acme-lk1, and malformed.
        let v = s.validate(
            ed1.replacen("key/", "KEY/", 1).as_bytes(),
            &ctx("acme-cad", None),
        );
        assert_eq!((v.verdict, v.format), (Verdict::Malformed, None));
        for garbage in [&b""[..], b"   ", b"key/", b"\xff\xfe", b"k"] {
            assert_eq!(
                s.validate(garbage, &ctx("acme-cad", None)).verdict,
                Verdict::Malformed
            );
        }
    }

    #[test]
    fn generating_acme_ed1_needs_a_signing_key() {
        let s = system_with(&[("signing_key", None), ("kid", None)]).unwrap();
        assert!(s.can_generate());
        assert_eq!(format_of(&s, &cad()), "acme-lk1");
        let cloud = Entitlement {
            product: "acme-cloud".into(),
            ..cad()
        };
        match s.generate(&cloud) {
            Err(GenerateFailure::Failed(f)) => assert_eq!(f.kind, FailureKind::Unsupported),
            other => panic!("{other:?}"),
        }
        let s = system_with(&[
            ("signing_key", None),
            ("kid", None),
            ("emit", Some("acme-ed1")),
        ])
        .unwrap();
        assert!(!s.can_generate());
        assert!(!NewSystemImpl::new(s).info().can_generate);
    }

    #[test]
    fn bad_settings_are_named() {
        let key = |changes: &[(&str, Option<&str>)]| system_with(changes).unwrap_err().key;
        assert_eq!(key(&[("lk1_secret", None)]), "lk1_secret");
        assert_eq!(key(&[("lk1_products", None)]), "lk1_products");
        assert_eq!(
            key(&[("lk1_products", Some("acme-cad,acme-paint"))]),
            "lk1_products"
        );
        assert_eq!(
            key(&[("lk1_products", Some("acme-cad,,acme-sim"))]),
            "lk1_products"
        );
        assert_eq!(key(&[("lk1_products", Some("acme-cloud"))]), "lk1_products");
        assert_eq!(key(&[("emit", Some("both"))]), "emit");
        assert_eq!(key(&[("trusted_keys", None)]), "trusted_keys");
        let spaced = system_with(&[("lk1_products", Some(" acme-cad , acme-sim "))]).unwrap();
        assert_eq!(spaced.lk1_products().len(), 2);
        assert_eq!(system().emit(), Emit::Policy);
    }

    #[test]
    fn forges_each_format_with_the_secret_it_needs_and_judges_its_forgeries() {
        let new = NewSystemImpl::from_settings(&Catalog::acme(), &demo::new_system()).unwrap();
        let old = Lk1System::from_settings(&Catalog::acme(), &demo::lk1()).unwrap();
        let lk1 = new.system().lk1().encode(&cad()).unwrap();
        let ed1 = new.system().ed1().encode(&cad()).unwrap();
        for (key, first) in [(&lk1, "forged ver=2"), (&ed1, "forged v=2")] {
            let forged = new.forgeries(key, Pick::All);
            assert_eq!(forged[0].family, first);
            for f in &forged {
                let v = new.validate(f.key.as_bytes(), &ctx("acme-cad", None));
                assert_eq!(v.unwrap().verdict, f.verdict, "{}", f.family);
            }
        }
        // The old system holds the same acme-lk1 secret, and no signing key.
        assert_eq!(
            old.forgeries(&lk1, Pick::All),
            new.forgeries(&lk1, Pick::All)
        );
        assert!(old.forgeries(&ed1, Pick::All).is_empty());
    }

    #[test]
    fn the_new_system_is_the_acme_ed1_builtin() {
        let s = NewSystemImpl::from_settings(&Catalog::acme(), &demo::new_system()).unwrap();
        let info = s.info();
        assert_eq!(info.name, "acme-ed1");
        assert_eq!(
            info.origin,
            Origin::Builtin {
                scheme: "acme-ed1".into()
            }
        );
        assert!(info.can_generate && info.can_validate);
        for name in Emit::NAMES {
            assert_eq!(Emit::parse(name).map(Emit::as_str), Some(name));
        }
    }
}
