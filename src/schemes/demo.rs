//! Settings for the Acme demo (SCHEMES.md's demo secret and RFC 8032 test
//! keys), shared by the tests of the builtins. Test-only: never ship them.

use crate::settings::Settings;

/// The acme-lk1 demo secret of SCHEMES.md.
pub const LK1_SECRET: &str = "acme-legacy-demo-secret-DO-NOT-SHIP";
/// RFC 8032 section 7.1 TEST 1 secret key (the demo signing key).
pub const TEST1_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// RFC 8032 TEST 1 public key.
pub const TEST1_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/// RFC 8032 TEST 2 secret key (the older demo key).
pub const TEST2_SECRET: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
/// RFC 8032 TEST 2 public key.
pub const TEST2_PUBLIC: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

fn table(pairs: &[(&str, &str)]) -> Settings {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The settings of `builtin:acme-lk1`.
pub fn lk1() -> Settings {
    table(&[("secret", LK1_SECRET)])
}

/// The acme-ed1 settings: signs with TEST 1, trusts TEST 1 and TEST 2.
pub fn ed1() -> Settings {
    ed1_signing_with(TEST1_SECRET, "acme-demo-2026")
}

/// The acme-ed1 settings, signing with `secret` as `kid`.
pub fn ed1_signing_with(secret: &str, kid: &str) -> Settings {
    let trusted = format!("acme-demo-2026:{TEST1_PUBLIC},acme-demo-2025:{TEST2_PUBLIC}");
    table(&[
        ("signing_key", secret),
        ("kid", kid),
        ("trusted_keys", &trusted),
    ])
}

/// The settings of `builtin:acme-ed1` (the new system).
pub fn new_system() -> Settings {
    let mut s = ed1();
    s.insert("lk1_secret".into(), LK1_SECRET.into());
    s.insert(
        "lk1_products".into(),
        "acme-cad,acme-viewer,acme-sim".into(),
    );
    s
}
