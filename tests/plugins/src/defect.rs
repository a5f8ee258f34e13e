//! The `defect` setting: the one realistic bug the plugin plants.
//!
//! Each defect imitates a bug a vendor's engineer would write while
//! reimplementing or porting a key scheme, and each must be caught by a
//! specific check of the matrix (README, "What it does"); the crate's tests prove that a
//! defect changes what it says and nothing else. The code of each defect
//! lives with the format it breaks: [`crate::legacy`] (acme-lk1),
//! [`crate::signed`] (acme-ed1), [`crate::expiry`] (both).

use std::fmt;

use keycompat::catalog::Catalog;
use keycompat::settings::{self, Settings};

use crate::legacy::UnprefixedMac;
use crate::signed::{LaxVerifier, VersionBlind};
use crate::system::Scheme;

/// A planted defect, with what it needs to act.
#[derive(Debug, Clone)]
pub(crate) enum Defect {
    /// `none`: behaves exactly like the wrapped builtin.
    None,
    /// `expiry-off-by-one`: the validator (both formats) treats the last
    /// valid day as expired (`today >= expires`): `expires` read like a JWT
    /// `exp`, the first instant that is no longer valid.
    ExpiryOffByOne,
    /// `feature-bit-moved`: the acme-lk1 encoder and decoder use a feature
    /// table in which `pdm` and `simulation` traded bits 8 and 9, as in a
    /// hand-copied table with two rows transposed. Self-consistent (its own
    /// round trip passes), incompatible with every other implementation.
    FeatureBitMoved,
    /// `case-sensitive`: the acme-lk1 validator's symbol table has only the
    /// upper-case alphabet and nothing upper-cases the key first: keys typed
    /// in lower case are `malformed`.
    CaseSensitive,
    /// `mac-wrong-bytes`: the acme-lk1 MAC is computed over the payload
    /// without the `ACME-LK1` domain prefix, when issuing and validating
    /// alike: self-consistent, incompatible with the C original.
    MacWrongBytes(UnprefixedMac),
    /// `seats-wrapped`: the acme-lk1 emitter masks seats to the 10-bit field
    /// (`seats & 0x3FF`) instead of refusing more than 1023: 1500 seats
    /// become 476, 1024 become unlimited.
    SeatsWrapped,
    /// `lax-signature`: the acme-ed1 validator checks that the signature is
    /// 64 bytes but never verifies it. Needs `scheme=acme-ed1`.
    LaxSignature(LaxVerifier),
    /// `host-lock-dropped`: the acme-lk1 emitter issues a key for a
    /// node-locked entitlement, silently dropping `host_id`, instead of
    /// refusing (a field mapper that copies what the format has).
    HostLockDropped,
    /// `date-epoch`: acme-lk1 `expiry_days` are counted from 2000-01-02
    /// instead of 2000-01-01 ("day 1 is the epoch"), encoding and decoding
    /// alike: self-consistent, every expiry one day off elsewhere.
    DateEpoch,
    /// `crash-long-name`: issuing an acme-ed1 key copies the customer name
    /// into a fixed 64-byte column without a length check, and panics on a
    /// longer name. Needs `scheme=acme-ed1`.
    CrashLongName,
    /// `product-unchecked`: the validator (both formats) accepts a key for
    /// any product of the catalog, as a suite-wide licence check shared by
    /// every product would: it never compares the key's product with the
    /// running one.
    ProductUnchecked,
    /// `lax-mac`: the acme-lk1 validator never compares the MAC (a port
    /// that left the check for later): any 25 symbols with a well-formed
    /// payload validate. Issuing is the spec's.
    LaxMac,
    /// `refuses-features`: issuing (both formats) refuses every entitlement
    /// that grants a feature, naming `features`, as an emitter whose feature
    /// table was never loaded would: a declared refusal, not a crash, of
    /// what the other system issues.
    RefusesFeatures,
    /// `reserved-ignored`: the acme-lk1 validator never looks at the
    /// `reserved` bits (a port that unpacks only the fields it uses): a key
    /// whose payload breaks no other rule validates whatever they hold.
    /// Only a correctly MACed key with non-zero reserved bits (a forgery)
    /// triggers it.
    ReservedIgnored,
    /// `version-ignored`: the acme-ed1 validator never reads `v` (written
    /// when there was only one version): a correctly signed payload with
    /// `v` 2, `"1"` or none validates. Needs `scheme=acme-ed1`.
    VersionIgnored(VersionBlind),
    /// `tz-expiry`: the validator (both formats) takes "today" as the local
    /// date of the context's day at 23:59:59 UTC, through the time zone of
    /// its process (`TZ`): east of UTC every key expires a day early. Under
    /// `TZ` unset or UTC it answers like the spec. Only the ENV check, which
    /// runs validators under other time zones, can see it.
    TzExpiry,
    /// `last-bit-unread`: the acme-lk1 decoder reads feature bits 0 to 14
    /// only (a loop bound off by one), so the feature on bit 15 (it holds)
    /// is lost from every decode; issuing is the spec's. Only the decode
    /// is wrong: the keys it issues are the spec's, and another validator
    /// reads them right.
    LastBitUnread(String),
    /// `payload-ascii-escaped`: the acme-ed1 issuer escapes every non-ASCII
    /// character of the payload as `\uXXXX` (Python's `json.dumps`
    /// default) instead of writing raw UTF-8: correctly signed, decoded
    /// alike everywhere, byte-different from the spec's key. Needs
    /// `scheme=acme-ed1`.
    PayloadAsciiEscaped,
    /// `own-keys-unnamed`: the acme-ed1 validator rejects a third of the
    /// keys it should accept (serial divisible by 3) as `bad_signature`, and
    /// names no format in any rejection (as a validator that re-serialises
    /// the payload and reports only what it verified). Its own keys then
    /// fail its ROUNDTRIP with no format to label them. Needs
    /// `scheme=acme-ed1`.
    OwnKeysUnnamed,
}

/// Every value of the `defect` setting.
pub(crate) const NAMES: [&str; 19] = [
    "none",
    "expiry-off-by-one",
    "feature-bit-moved",
    "case-sensitive",
    "mac-wrong-bytes",
    "seats-wrapped",
    "lax-signature",
    "host-lock-dropped",
    "date-epoch",
    "crash-long-name",
    "product-unchecked",
    "lax-mac",
    "refuses-features",
    "reserved-ignored",
    "version-ignored",
    "tz-expiry",
    "last-bit-unread",
    "payload-ascii-escaped",
    "own-keys-unnamed",
];

impl Defect {
    /// The defect named `name`, for the wrapped `scheme` and its settings.
    pub(crate) fn from_settings(
        name: &str,
        scheme: Scheme,
        catalog: &Catalog,
        s: &Settings,
    ) -> Result<Self, String> {
        let defect = match name {
            "none" => Defect::None,
            "expiry-off-by-one" => Defect::ExpiryOffByOne,
            "feature-bit-moved" => Defect::FeatureBitMoved,
            "case-sensitive" => Defect::CaseSensitive,
            "mac-wrong-bytes" => {
                let secret = settings::required(s, scheme.lk1_secret_setting())
                    .map_err(|e| e.to_string())?;
                Defect::MacWrongBytes(UnprefixedMac::new(secret.as_bytes()))
            }
            "seats-wrapped" => Defect::SeatsWrapped,
            "lax-signature" => {
                require_new_system(name, scheme)?;
                let trusted = settings::required(s, "trusted_keys").map_err(|e| e.to_string())?;
                Defect::LaxSignature(LaxVerifier::new(catalog, trusted)?)
            }
            "host-lock-dropped" => Defect::HostLockDropped,
            "date-epoch" => Defect::DateEpoch,
            "crash-long-name" => {
                require_new_system(name, scheme)?;
                Defect::CrashLongName
            }
            "product-unchecked" => Defect::ProductUnchecked,
            "lax-mac" => Defect::LaxMac,
            "refuses-features" => Defect::RefusesFeatures,
            "reserved-ignored" => Defect::ReservedIgnored,
            "version-ignored" => {
                require_new_system(name, scheme)?;
                let trusted = settings::required(s, "trusted_keys").map_err(|e| e.to_string())?;
                Defect::VersionIgnored(VersionBlind::new(catalog, trusted)?)
            }
            "tz-expiry" => Defect::TzExpiry,
            "last-bit-unread" => {
                let bit = keycompat::catalog::LEGACY_BITS - 1;
                let feature = catalog.feature_by_bit(bit).ok_or_else(|| {
                    format!("setting `defect`: {name}: the catalog has no feature on bit {bit}")
                })?;
                Defect::LastBitUnread(feature.slug.clone())
            }
            "payload-ascii-escaped" => {
                require_new_system(name, scheme)?;
                Defect::PayloadAsciiEscaped
            }
            "own-keys-unnamed" => {
                require_new_system(name, scheme)?;
                Defect::OwnKeysUnnamed
            }
            other => {
                return Err(format!(
                    "setting `defect`: unknown defect {other:?}; the defects are {}",
                    NAMES.join(", ")
                ));
            }
        };
        Ok(defect)
    }

    /// The setting's spelling.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Defect::None => NAMES[0],
            Defect::ExpiryOffByOne => NAMES[1],
            Defect::FeatureBitMoved => NAMES[2],
            Defect::CaseSensitive => NAMES[3],
            Defect::MacWrongBytes(_) => NAMES[4],
            Defect::SeatsWrapped => NAMES[5],
            Defect::LaxSignature(_) => NAMES[6],
            Defect::HostLockDropped => NAMES[7],
            Defect::DateEpoch => NAMES[8],
            Defect::CrashLongName => NAMES[9],
            Defect::ProductUnchecked => NAMES[10],
            Defect::LaxMac => NAMES[11],
            Defect::RefusesFeatures => NAMES[12],
            Defect::ReservedIgnored => NAMES[13],
            Defect::VersionIgnored(_) => NAMES[14],
            Defect::TzExpiry => NAMES[15],
            Defect::LastBitUnread(_) => NAMES[16],
            Defect::PayloadAsciiEscaped => NAMES[17],
            Defect::OwnKeysUnnamed => NAMES[18],
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Refuses a defect of the acme-ed1 path on the old system, which has none:
/// such a test would silently test nothing.
fn require_new_system(name: &str, scheme: Scheme) -> Result<(), String> {
    match scheme {
        Scheme::New => Ok(()),
        Scheme::Old => Err(format!(
            "setting `defect`: {name} breaks the acme-ed1 path, which scheme=acme-lk1 \
             does not have; hint: use scheme=acme-ed1"
        )),
    }
}
