//! The new Acme system as a plugin: [`NewSystem`] (acme-ed1 keys, plus the
//! acme-lk1 legacy emitter) behind the C ABI of `keycompat_plugin.h`.
//!
//! The builtin `builtin:acme-ed1` runs the same code in-process; shipping it
//! as a shared library too lets keycompat exercise a Rust plugin end to end
//! (loading, worker isolation, the wire format of fields and decodes) and
//! lets benchmarks measure what the plugin boundary costs against the
//! builtin. All the logic lives in keycompat; this crate only translates
//! between `kc_field`s and the typed model, and the SDK's
//! [`export_plugin!`](keycompat_plugin_sdk::export_plugin) catches panics.
#![warn(missing_docs)]

use std::ffi::CStr;

use keycompat::catalog::Catalog;
use keycompat::entitlement::EntitlementRef;
use keycompat::implementation::{FailureKind, GenerateFailure};
use keycompat::marshal;
use keycompat::schemes::new_system::NewSystem;
use keycompat::settings;
use keycompat_plugin_sdk::abi::{KC_FLAG_GENERATE, KC_FLAG_THREAD_SAFE, KC_FLAG_VALIDATE};
use keycompat_plugin_sdk::{
    DecodeOut, Fields, GenerateError, Plugin, TypedContext, TypedEntitlement,
};

/// One plugin instance: the new system with the Acme demo catalog.
pub struct AcmeEd1 {
    catalog: Catalog,
    system: NewSystem,
}

/// The crate version as a C string, fixed at compile time.
const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the package version contains a NUL byte"),
    };

impl Plugin for AcmeEd1 {
    const NAME: &'static CStr = c"acme-ed1";
    const VERSION: &'static CStr = VERSION;
    const FLAGS: u64 = KC_FLAG_THREAD_SAFE | KC_FLAG_GENERATE | KC_FLAG_VALIDATE;

    fn create(fields: &Fields) -> Result<Self, String> {
        let catalog = Catalog::acme();
        let settings = settings::from_fields(fields)?;
        let system = NewSystem::from_settings(&catalog, &settings).map_err(|e| e.to_string())?;
        Ok(AcmeEd1 { catalog, system })
    }

    fn generate(&mut self, fields: &Fields) -> Result<String, GenerateError> {
        let entitlement =
            marshal::entitlement_from_fields(fields).map_err(GenerateError::BadArgument)?;
        self.generate_checked(&entitlement.view())
    }

    fn validate(&mut self, key: &[u8], fields: &Fields) -> Result<String, String> {
        let context = marshal::context_from_fields(fields)?;
        Ok(marshal::validation_to_text(
            &self.system.validate(key, &context),
        ))
    }

    fn generate_typed(&mut self, typed: &TypedEntitlement<'_>) -> Result<String, GenerateError> {
        let entitlement =
            marshal::entitlement_view_from_typed(typed).map_err(GenerateError::BadArgument)?;
        self.generate_checked(&entitlement)
    }

    fn validate_typed(
        &mut self,
        key: &[u8],
        typed: &TypedContext<'_>,
        out: &mut DecodeOut,
    ) -> Result<(), String> {
        let context = marshal::context_from_typed(typed)?;
        self.system.validate_view(key, &context, |validation| {
            out.set(&marshal::validation_to_typed(validation));
        });
        Ok(())
    }
}

impl AcmeEd1 {
    /// Checks the entitlement against the catalog (the plugin trusts no
    /// input) and issues its key.
    fn generate_checked(&self, entitlement: &EntitlementRef<'_>) -> Result<String, GenerateError> {
        entitlement
            .check(&self.catalog)
            .map_err(|e| GenerateError::BadArgument(e.to_string()))?;
        self.system
            .generate_view(entitlement)
            .map_err(|failure| match failure {
                GenerateFailure::Refused { field, reason } => {
                    GenerateError::Refused(format!("{field}: {reason}"))
                }
                GenerateFailure::Failed(f) if f.kind == FailureKind::BadArgument => {
                    GenerateError::BadArgument(f.message)
                }
                GenerateFailure::Failed(f) => GenerateError::Internal(f.message),
            })
    }
}

keycompat_plugin_sdk::export_plugin!(AcmeEd1);

#[cfg(test)]
mod tests {
    use super::*;
    use keycompat::date::Day;
    use keycompat::entitlement::Entitlement;
    use keycompat::verdict::{Context, Verdict, Version};

    fn settings() -> Fields {
        let mut f = Fields::new();
        f.push("lk1_secret", "acme-legacy-demo-secret-DO-NOT-SHIP");
        f.push(
            "signing_key",
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        );
        f.push("kid", "acme-demo-2026");
        f.push(
            "trusted_keys",
            "acme-demo-2026:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a,\
             acme-demo-2025:3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        );
        f.push("lk1_products", "acme-cad,acme-viewer,acme-sim");
        f
    }

    fn entitlement(product: &str) -> Entitlement {
        Entitlement::from_json(&format!(
            r#"{{"product":"{product}","edition":"professional","max_major":5,"features":["export-dwg","export-pdf","plugins-sdk","render-gpu"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":null,"order_id":null,"host_id":null}}"#
        ))
        .unwrap()
    }

    fn context(product: &str) -> Fields {
        marshal::context_to_fields(&Context {
            product: product.into(),
            version: Version { major: 5, minor: 1 },
            today: Day::parse("2026-12-01").unwrap(),
            host_id: None,
        })
    }

    #[test]
    fn issues_and_validates_both_formats() {
        let mut p = AcmeEd1::create(&settings()).unwrap();
        let cad = p
            .generate(&marshal::entitlement_to_fields(&entitlement("acme-cad")))
            .unwrap();
        assert_eq!(cad, "24A0M-02T1K-7Y9KS-689RQ-7B450");
        let cloud = p
            .generate(&marshal::entitlement_to_fields(&entitlement("acme-cloud")))
            .unwrap();
        assert!(cloud.starts_with("key/"));
        for (key, product, format) in [
            (cad, "acme-cad", "acme-lk1"),
            (cloud, "acme-cloud", "acme-ed1"),
        ] {
            let text = p.validate(key.as_bytes(), &context(product)).unwrap();
            let v = marshal::validation_from_text(&text).unwrap();
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Valid, Some(format))
            );
        }
        let text = p.validate(b"\xff garbage", &context("acme-cad")).unwrap();
        assert_eq!(
            marshal::validation_from_text(&text).unwrap().verdict,
            Verdict::Malformed
        );
    }

    #[test]
    fn refusals_and_bad_input_are_reported_as_such() {
        let mut s = settings();
        s.push("emit", "acme-lk1");
        let mut p = AcmeEd1::create(&s).unwrap();
        let refused = p.generate(&marshal::entitlement_to_fields(&entitlement("acme-cloud")));
        assert_eq!(
            refused,
            Err(GenerateError::Refused(
                "product: acme-cloud has no legacy product id".into()
            ))
        );
        let mut bad = Fields::new();
        bad.push("product", "acme-cad");
        assert!(matches!(
            p.generate(&bad),
            Err(GenerateError::BadArgument(_))
        ));
        assert!(p.validate(b"x", &Fields::new()).is_err());
        assert!(AcmeEd1::create(&Fields::new()).is_err());
    }

    #[test]
    fn the_table_describes_the_plugin() {
        let table = kc_plugin_entry_v1(0);
        assert!(!table.is_null());
        assert_eq!(
            AcmeEd1::VERSION.to_str().unwrap(),
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(AcmeEd1::NAME, c"acme-ed1");
    }
}
