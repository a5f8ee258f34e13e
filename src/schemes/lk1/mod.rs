//! acme-lk1, the old Acme system's key format (SCHEMES.md, "acme-lk1"),
//! reimplemented in Rust.
//!
//! The original is a C library that can never change inside shipped releases,
//! so this codec has to match it bit for bit: it is the old system as a
//! builtin ([`Lk1System`]), the new system's legacy emitter, and the second
//! implementation that PARITY compares the C original with. Refusals check the
//! fields in the same order as the C original (product, edition, features,
//! seats, expires, serial, host_id), so both name the same field.
//!
//! A key is 25 Crockford base32 symbols holding `(payload85 << 40) | mac40`;
//! the whole value fits a `u128`, which keeps packing and unpacking to shifts
//! and masks. The keyed HMAC state is computed once per codec and cloned per
//! key, because key throughput is benchmarked.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::implementation::{
    CallFailure, FailureKind, GenerateFailure, ImplInfo, Implementation, Origin,
};
use crate::settings::{self, SettingError, Settings};
use crate::verdict::{Context, Decoded, Validation, Verdict};

/// The format's name, as validations report it.
pub const FORMAT: &str = "acme-lk1";
/// The only format version this codec reads and writes.
pub const VERSION: u8 = 1;
/// The most seats a key can carry (10 bits; 0 means unlimited).
pub const MAX_SEATS: u32 = (1 << 10) - 1;
/// The largest `expiry_days` (14 bits): 2044-11-08.
pub const MAX_EXPIRY_DAYS: i64 = (1 << 14) - 1;
/// The largest serial a key can carry (20 bits).
pub const MAX_SERIAL: u32 = (1 << 20) - 1;

/// Crockford base32, the key's alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a key.
const SYMBOLS: usize = 25;
/// Symbols per dash-separated group.
const GROUP: usize = 5;
/// The MAC's domain separation prefix.
const MAC_DOMAIN: &[u8] = b"ACME-LK1";
/// Bytes of the MAC kept in the key.
const MAC_BYTES: usize = 5;
/// Bits of the MAC in the 125-bit value.
const MAC_BITS: u32 = 40;
/// Bytes of the payload as the MAC reads it (85 bits, big-endian).
const PAYLOAD_BYTES: usize = 11;

/// Field widths, most significant first (85 bits in all).
const WIDTHS: [u32; 9] = [4, 8, 3, 8, 16, 10, 14, 20, 2];

/// [`SYMBOL_VALUES`] entry of a byte deleted by normalisation.
const SEPARATOR: u8 = 0xFE;
/// [`SYMBOL_VALUES`] entry of a byte that is no symbol.
const INVALID: u8 = 0xFF;

/// The value of every byte after normalisation: upper-casing ASCII and
/// reading `O` as 0 and `I`, `L` as 1; [`SEPARATOR`] for space, tab, CR, LF
/// and `-`; [`INVALID`] for everything else (`U`, non-ASCII bytes, ...).
const SYMBOL_VALUES: [u8; 256] = symbol_values();

const fn symbol_values() -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        let c = ALPHABET[i];
        table[c as usize] = i as u8;
        table[c.to_ascii_lowercase() as usize] = i as u8;
        i += 1;
    }
    let folds = [(b'O', 0), (b'I', 1), (b'L', 1)];
    let mut j = 0;
    while j < folds.len() {
        let (c, v) = folds[j];
        table[c as usize] = v;
        table[c.to_ascii_lowercase() as usize] = v;
        j += 1;
    }
    let separators = [b' ', b'\t', b'\r', b'\n', b'-'];
    let mut k = 0;
    while k < separators.len() {
        table[separators[k] as usize] = SEPARATOR;
        k += 1;
    }
    table
}

/// The fields of an 85-bit acme-lk1 payload, as raw codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Payload {
    /// Format version (4 bits; 1).
    pub ver: u8,
    /// Legacy product id (8 bits).
    pub product: u8,
    /// Edition code (3 bits).
    pub edition: u8,
    /// Highest covered major version (8 bits).
    pub max_major: u8,
    /// Bitmap of legacy feature bits (16 bits).
    pub features: u16,
    /// Seats (10 bits; 0 = unlimited).
    pub seats: u16,
    /// Days from 2000-01-01 to the last valid day (14 bits; 0 = perpetual).
    pub expiry_days: u16,
    /// Serial (20 bits).
    pub serial: u32,
    /// Reserved (2 bits; 0).
    pub reserved: u8,
}

impl Payload {
    /// The 85-bit integer, most significant field first. Each field is cut to
    /// its width: [`Lk1::encode`] refuses values that do not fit before this.
    pub fn pack(&self) -> u128 {
        let fields = self.fields();
        fields.iter().zip(WIDTHS).fold(0u128, |acc, (&v, bits)| {
            (acc << bits) | (u128::from(v) & mask(bits))
        })
    }

    /// The fields of an 85-bit integer (higher bits are ignored).
    pub fn unpack(bits: u128) -> Self {
        let mut f = [0u32; 9];
        let mut rest = bits;
        for i in (0..WIDTHS.len()).rev() {
            // Each field is at most 20 bits wide, so the cast is lossless.
            f[i] = (rest & mask(WIDTHS[i])) as u32;
            rest >>= WIDTHS[i];
        }
        Payload {
            ver: f[0] as u8,
            product: f[1] as u8,
            edition: f[2] as u8,
            max_major: f[3] as u8,
            features: f[4] as u16,
            seats: f[5] as u16,
            expiry_days: f[6] as u16,
            serial: f[7],
            reserved: f[8] as u8,
        }
    }

    fn fields(&self) -> [u32; 9] {
        [
            self.ver.into(),
            self.product.into(),
            self.edition.into(),
            self.max_major.into(),
            self.features.into(),
            self.seats.into(),
            self.expiry_days.into(),
            self.serial,
            self.reserved.into(),
        ]
    }
}

fn mask(bits: u32) -> u128 {
    (1u128 << bits) - 1
}

/// The day `expiry_days` counts from.
fn epoch() -> Day {
    Day::from_ymd(2000, 1, 1).expect("2000-01-01 is a date")
}

/// The acme-lk1 codec: encodes entitlements into keys and decodes keys, with
/// one secret and one catalog.
#[derive(Clone)]
pub struct Lk1 {
    catalog: Catalog,
    /// HMAC-SHA256 keyed with the secret, already fed the domain prefix.
    mac_key: Hmac<Sha256>,
    /// Decoded name of each product id (`legacy-id-N` when not in the catalog).
    product_names: Vec<String>,
    /// Decoded name of each feature bit (`legacy-bit-N` when not in the catalog).
    bit_names: Vec<String>,
}

impl fmt::Debug for Lk1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lk1")
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Lk1 {
    /// A codec with this catalog and secret (the raw bytes of the secret;
    /// the demo's is `acme-legacy-demo-secret-DO-NOT-SHIP`).
    pub fn new(catalog: &Catalog, secret: &[u8]) -> Result<Self, String> {
        if secret.is_empty() {
            return Err("must not be empty".into());
        }
        let mut mac_key = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| "is not a usable HMAC key".to_string())?;
        mac_key.update(MAC_DOMAIN);
        let product_names = (0..=u8::MAX)
            .map(|id| match catalog.product_by_legacy_id(id) {
                Some(p) => p.slug.clone(),
                None => format!("legacy-id-{id}"),
            })
            .collect();
        let bit_names = (0..16u8)
            .map(|bit| match catalog.feature_by_bit(bit) {
                Some(f) => f.slug.clone(),
                None => format!("legacy-bit-{bit}"),
            })
            .collect();
        Ok(Lk1 {
            catalog: catalog.clone(),
            mac_key,
            product_names,
            bit_names,
        })
    }

    /// A codec whose secret is the UTF-8 bytes of the setting `key`.
    pub fn from_settings(catalog: &Catalog, s: &Settings, key: &str) -> Result<Self, SettingError> {
        let secret = settings::required(s, key)?;
        Lk1::new(catalog, secret.as_bytes()).map_err(|m| SettingError::new(key, m))
    }

    /// The catalog the codec maps names with.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The key for an entitlement, or a refusal naming the first field
    /// (in SCHEMES.md's order) that acme-lk1 cannot carry.
    pub fn encode(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
        Ok(self.seal(&self.payload_for(e)?))
    }

    /// The key holding exactly `payload` with a correct MAC, whatever its
    /// fields say (for tests and tampering: e.g. a version-2 key).
    pub fn seal(&self, payload: &Payload) -> String {
        let bits = payload.pack();
        let mac = self.mac(bits);
        let mac = mac.iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
        format_symbols((bits << MAC_BITS) | mac)
    }

    /// The payload of an entitlement, checking each field it carries.
    pub fn payload_for(&self, e: &Entitlement) -> Result<Payload, GenerateFailure> {
        let product = self.product_id(&e.product)?;
        let edition = self.edition_code(&e.edition)?;
        let features = self.feature_bits(e.features.iter().map(String::as_str))?;
        let seats = seats(e.seats)?;
        let expiry_days = expiry_days(e.expires)?;
        let serial = serial(e.serial)?;
        if e.host_id.is_some() {
            return Err(refused(
                "host_id",
                "acme-lk1 keys cannot be node-locked; dropping the lock would grant more than was sold",
            ));
        }
        Ok(Payload {
            ver: VERSION,
            product,
            edition,
            max_major: e.max_major,
            features,
            seats,
            expiry_days,
            serial,
            reserved: 0,
        })
    }

    fn product_id(&self, slug: &str) -> Result<u8, GenerateFailure> {
        let product = self
            .catalog
            .product(slug)
            .ok_or_else(|| refused("product", format!("{slug:?} is not a known product")))?;
        product
            .legacy_id
            .ok_or_else(|| refused("product", format!("{slug} has no legacy product id")))
    }

    fn edition_code(&self, edition: &str) -> Result<u8, GenerateFailure> {
        let code = self.catalog.edition_code(edition).ok_or_else(|| {
            GenerateFailure::Failed(CallFailure::new(
                FailureKind::BadArgument,
                format!("edition: {edition:?} is not an edition of the catalog"),
            ))
        })?;
        if u128::from(code) > mask(WIDTHS[2]) {
            return Err(refused(
                "edition",
                format!("{edition} has code {code}, more than acme-lk1 can carry (7)"),
            ));
        }
        Ok(code)
    }

    fn feature_bits<'a>(
        &self,
        names: impl Iterator<Item = &'a str>,
    ) -> Result<u16, GenerateFailure> {
        let mut bitmap = 0u16;
        for name in names {
            let Some(feature) = self.catalog.feature(name) else {
                return Err(refused(
                    "features",
                    format!("{name:?} is not a known feature and has no legacy bit"),
                ));
            };
            let bit = feature
                .legacy_bit
                .ok_or_else(|| refused("features", format!("{name} has no legacy bit")))?;
            bitmap |= 1u16.checked_shl(u32::from(bit)).ok_or_else(|| {
                refused(
                    "features",
                    format!("{name} has legacy bit {bit}, outside the 16-bit bitmap"),
                )
            })?;
        }
        Ok(bitmap)
    }

    /// The first 5 bytes of HMAC-SHA256(secret, "ACME-LK1" || payload).
    fn mac(&self, payload: u128) -> [u8; MAC_BYTES] {
        let mut mac = self.mac_key.clone();
        mac.update(&payload_bytes(payload));
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }

    /// Whether `tag` is the MAC of `payload`, compared in constant time.
    fn mac_matches(&self, payload: u128, tag: &[u8]) -> bool {
        let mut mac = self.mac_key.clone();
        mac.update(&payload_bytes(payload));
        mac.verify_truncated_left(tag).is_ok()
    }

    /// Validates key bytes in a context (SCHEMES.md, "Validating").
    pub fn decode(&self, key: &[u8], ctx: &Context) -> Validation {
        let value = match parse_symbols(key) {
            Ok(v) => v,
            Err(reason) => return Validation::reject(Verdict::Malformed, None, reason),
        };
        let bits = value >> MAC_BITS;
        let tag = ((value & mask(MAC_BITS)) as u64).to_be_bytes();
        if !self.mac_matches(bits, &tag[8 - MAC_BYTES..]) {
            return Validation::reject(Verdict::BadSignature, None, "MAC does not match");
        }
        let p = Payload::unpack(bits);
        if p.ver != VERSION {
            let reason = format!("format version {}, expected {VERSION}", p.ver);
            return Validation::reject(Verdict::UnsupportedFormat, None, reason);
        }
        match self.decoded(&p) {
            Ok(decoded) => self.judge(&p, decoded, ctx),
            Err(reason) => Validation::reject(Verdict::Malformed, Some(FORMAT), reason),
        }
    }

    /// The entitlement a version-1 payload carries, or why it is malformed.
    fn decoded(&self, p: &Payload) -> Result<Decoded, String> {
        if p.reserved != 0 {
            return Err(format!("reserved bits are {}, expected 0", p.reserved));
        }
        let edition = self
            .catalog
            .editions
            .get(usize::from(p.edition))
            .ok_or_else(|| format!("edition code {} is not defined", p.edition))?;
        let expires = match p.expiry_days {
            0 => None,
            n => Some(
                epoch()
                    .add_days(i64::from(n))
                    .ok_or_else(|| format!("expiry day {n} is out of range"))?,
            ),
        };
        let features = (0..16)
            .filter(|bit| p.features & (1 << bit) != 0)
            .filter_map(|bit| self.bit_names.get(bit).cloned())
            .collect();
        Ok(Decoded {
            product: self.product_names.get(usize::from(p.product)).cloned(),
            edition: Some(edition.clone()),
            max_major: Some(p.max_major),
            features: Some(features),
            seats: Some((p.seats != 0).then_some(u32::from(p.seats))),
            expires: Some(expires),
            serial: Some(p.serial),
            host_id: Some(None),
            ..Decoded::default()
        })
    }

    /// The context checks, in SCHEMES.md's order (never `host_mismatch`).
    fn judge(&self, p: &Payload, decoded: Decoded, ctx: &Context) -> Validation {
        let context_id = self.catalog.product(&ctx.product).and_then(|c| c.legacy_id);
        let key_product = decoded.product.as_deref().unwrap_or_default();
        let expires = decoded.expires.flatten();
        let (verdict, reason) = if context_id != Some(p.product) {
            let reason = match context_id {
                None => format!("{} has no legacy product id", ctx.product),
                Some(_) => format!("key is for {key_product}, not {}", ctx.product),
            };
            (Verdict::WrongProduct, Some(reason))
        } else if ctx.version.major > u32::from(p.max_major) {
            let reason = format!(
                "key covers up to major {}, not {}",
                p.max_major, ctx.version
            );
            (Verdict::VersionNotCovered, Some(reason))
        } else if let Some(day) = expires.filter(|&d| ctx.today > d) {
            (Verdict::Expired, Some(format!("expired after {day}")))
        } else {
            (Verdict::Valid, None)
        };
        Validation {
            verdict,
            format: Some(FORMAT.to_string()),
            reason,
            decoded: Some(decoded),
        }
    }
}

fn refused(field: &str, reason: impl Into<String>) -> GenerateFailure {
    GenerateFailure::Refused {
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn seats(seats: Option<u32>) -> Result<u16, GenerateFailure> {
    match seats {
        None => Ok(0),
        Some(0) => Err(GenerateFailure::Failed(CallFailure::new(
            FailureKind::BadArgument,
            "seats: 0 is not a seat count (at least 1; null means unlimited)",
        ))),
        Some(n) if n > MAX_SEATS => Err(refused(
            "seats",
            format!("{n} is more than acme-lk1 can carry ({MAX_SEATS})"),
        )),
        // n <= 1023 here.
        Some(n) => Ok(n as u16),
    }
}

fn expiry_days(expires: Option<Day>) -> Result<u16, GenerateFailure> {
    let Some(day) = expires else { return Ok(0) };
    let days = day.days_since(epoch());
    if days < 1 {
        return Err(refused(
            "expires",
            format!("{day} is before 2000-01-02, the earliest expiry acme-lk1 can carry"),
        ));
    }
    if days > MAX_EXPIRY_DAYS {
        return Err(refused(
            "expires",
            format!("{day} is after 2044-11-08, the latest expiry acme-lk1 can carry"),
        ));
    }
    // 1 <= days <= 16383 here.
    Ok(days as u16)
}

fn serial(serial: u32) -> Result<u32, GenerateFailure> {
    if serial > MAX_SERIAL {
        return Err(refused(
            "serial",
            format!("{serial} is more than acme-lk1 can carry ({MAX_SERIAL})"),
        ));
    }
    Ok(serial)
}

/// The payload as the MAC reads it: 11 big-endian bytes.
fn payload_bytes(payload: u128) -> [u8; PAYLOAD_BYTES] {
    let all = payload.to_be_bytes();
    let mut out = [0u8; PAYLOAD_BYTES];
    out.copy_from_slice(&all[16 - PAYLOAD_BYTES..]);
    out
}

/// Whether a key byte is a symbol (after case and look-alike folding) or a
/// separator normalisation deletes; any other byte makes a key malformed.
pub fn is_key_byte(byte: u8) -> bool {
    SYMBOL_VALUES[usize::from(byte)] != INVALID
}

/// The key text layer on its own, for tools that build keys below the codec
/// (e.g. with another MAC): the 125-bit `value` as
/// `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`.
pub fn format_symbols(value: u128) -> String {
    let mut out = String::with_capacity(SYMBOLS + SYMBOLS / GROUP - 1);
    for i in 0..SYMBOLS {
        if i > 0 && i % GROUP == 0 {
            out.push('-');
        }
        let shift = 5 * (SYMBOLS - 1 - i);
        let symbol = ((value >> shift) & 31) as usize;
        out.push(char::from(ALPHABET[symbol]));
    }
    out
}

/// Normalises key text into the 125-bit value, or says why it is malformed
/// (the reason a validator gives for `malformed`).
pub fn parse_symbols(key: &[u8]) -> Result<u128, String> {
    let mut value = 0u128;
    let mut count = 0usize;
    for (offset, &byte) in key.iter().enumerate() {
        match SYMBOL_VALUES[usize::from(byte)] {
            SEPARATOR => {}
            INVALID => {
                return Err(format!(
                    "byte 0x{byte:02X} at offset {offset} is not a Crockford base32 symbol"
                ));
            }
            v => {
                if count < SYMBOLS {
                    value = (value << 5) | u128::from(v);
                }
                count += 1;
            }
        }
    }
    if count != SYMBOLS {
        return Err(format!(
            "{count} symbols after normalisation, expected {SYMBOLS}"
        ));
    }
    Ok(value)
}

/// The old system as a builtin (`builtin:acme-lk1`): issues and validates
/// acme-lk1 keys only.
#[derive(Debug, Clone)]
pub struct Lk1System {
    info: ImplInfo,
    codec: Lk1,
}

impl Lk1System {
    /// The old system around a codec.
    pub fn new(codec: Lk1) -> Self {
        Lk1System {
            info: ImplInfo {
                name: FORMAT.to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                origin: Origin::Builtin {
                    scheme: FORMAT.to_string(),
                },
                can_generate: true,
                can_validate: true,
            },
            codec,
        }
    }

    /// The old system from its settings: `secret` (required).
    pub fn from_settings(catalog: &Catalog, s: &Settings) -> Result<Self, SettingError> {
        Ok(Lk1System::new(Lk1::from_settings(catalog, s, "secret")?))
    }

    /// The codec.
    pub fn codec(&self) -> &Lk1 {
        &self.codec
    }
}

impl Implementation for Lk1System {
    fn info(&self) -> &ImplInfo {
        &self.info
    }

    fn generate(&self, entitlement: &Entitlement) -> Result<String, GenerateFailure> {
        self.codec.encode(entitlement)
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        Ok(self.codec.decode(key, context))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::schemes::demo;
    use crate::verdict::Version;

    const WORKED: &str = "24A0M-02T1K-7Y9KS-689RQ-7B450";

    fn codec() -> Lk1 {
        Lk1::from_settings(&Catalog::acme(), &demo::lk1(), "secret").unwrap()
    }

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn worked() -> Entitlement {
        Entitlement {
            product: "acme-cad".into(),
            edition: "professional".into(),
            max_major: 5,
            features: ["export-dwg", "export-pdf", "render-gpu", "plugins-sdk"]
                .map(String::from)
                .into(),
            seats: Some(25),
            issued: day("2026-11-23"),
            expires: Some(day("2027-12-31")),
            maintenance_until: Some(day("2027-06-30")),
            serial: 424_242,
            customer: None,
            order_id: Some("SO-1".into()),
            host_id: None,
        }
    }

    fn ctx(product: &str, major: u32, today: &str) -> Context {
        Context {
            product: product.into(),
            version: Version { major, minor: 0 },
            today: day(today),
            host_id: None,
        }
    }

    fn cad() -> Context {
        ctx("acme-cad", 5, "2026-12-01")
    }

    fn verdict(key: &str) -> Verdict {
        codec().decode(key.as_bytes(), &cad()).verdict
    }

    #[test]
    fn reproduces_the_worked_example() {
        let c = codec();
        let p = c.payload_for(&worked()).unwrap();
        assert_eq!(p.features, 0x002D);
        assert_eq!(p.expiry_days, 10226);
        assert_eq!(p.edition, 2);
        assert_eq!(c.encode(&worked()).unwrap(), WORKED);
    }

    #[test]
    fn the_worked_example_decodes_to_what_lk1_carries() {
        let v = codec().decode(WORKED.as_bytes(), &cad());
        assert_eq!(v.verdict, Verdict::Valid);
        assert_eq!(v.format.as_deref(), Some(FORMAT));
        assert_eq!(v.reason, None);
        let e = worked();
        let d = v.decoded.unwrap();
        assert_eq!(
            d,
            Decoded {
                issued: None,
                maintenance_until: None,
                customer: None,
                order_id: None,
                ..Decoded::from_entitlement(&e)
            }
        );
        assert_eq!(d.host_id, Some(None));
    }

    #[test]
    fn payloads_pack_and_unpack() {
        let p = Payload {
            ver: 15,
            product: 255,
            edition: 7,
            max_major: 255,
            features: 0xFFFF,
            seats: 1023,
            expiry_days: 16383,
            serial: MAX_SERIAL,
            reserved: 3,
        };
        assert_eq!(p.pack(), mask(85));
        assert_eq!(Payload::unpack(p.pack()), p);
        let q = Payload {
            ver: 1,
            serial: 5,
            reserved: 2,
            ..Payload::default()
        };
        assert_eq!(q.pack(), (1u128 << 81) | (5 << 2) | 2);
        assert_eq!(Payload::unpack(q.pack()), q);
    }

    fn round_trip(e: &Entitlement) {
        let c = codec();
        let key = c.encode(e).unwrap();
        assert_eq!(key.len(), 29, "{key}");
        let context = ctx(&e.product, 0, "2000-01-01");
        let v = c.decode(key.as_bytes(), &context);
        assert_eq!(v.verdict, Verdict::Valid, "{e} {key} {:?}", v.reason);
        let d = v.decoded.unwrap();
        let full = Decoded::from_entitlement(e);
        assert_eq!(full.diff(&d, None), vec![], "{e}");
        assert_eq!(d.carried().len(), 8);
    }

    #[test]
    fn entitlements_round_trip() {
        let all_legacy: BTreeSet<String> = Catalog::acme()
            .features
            .iter()
            .filter(|f| f.legacy_bit.is_some())
            .map(|f| f.slug.clone())
            .collect();
        let base = worked();
        let cases = [
            Entitlement {
                expires: None,
                ..base.clone()
            },
            Entitlement {
                seats: None,
                ..base.clone()
            },
            Entitlement {
                features: BTreeSet::new(),
                ..base.clone()
            },
            Entitlement {
                features: all_legacy.clone(),
                ..base.clone()
            },
            Entitlement {
                product: "acme-sim".into(),
                edition: "enterprise".into(),
                max_major: 255,
                features: all_legacy,
                seats: Some(MAX_SEATS),
                expires: Some(day("2044-11-08")),
                serial: MAX_SERIAL,
                ..base.clone()
            },
            Entitlement {
                product: "acme-viewer".into(),
                edition: "trial".into(),
                max_major: 0,
                seats: Some(1),
                expires: Some(day("2000-01-02")),
                serial: 0,
                ..base.clone()
            },
            Entitlement {
                seats: None,
                expires: None,
                serial: 1,
                ..base
            },
        ];
        for e in &cases {
            round_trip(e);
        }
    }

    #[test]
    fn refusals_name_the_field() {
        let c = codec();
        let base = worked();
        let with = |f: &dyn Fn(&mut Entitlement)| {
            let mut e = base.clone();
            f(&mut e);
            e
        };
        let cases: Vec<(Entitlement, &str)> = vec![
            (with(&|e| e.product = "acme-cloud".into()), "product"),
            (
                with(&|e| {
                    e.features.insert("ai-assist".into());
                }),
                "features",
            ),
            (with(&|e| e.seats = Some(1024)), "seats"),
            (with(&|e| e.expires = Some(day("2000-01-01"))), "expires"),
            (with(&|e| e.expires = Some(day("2044-11-09"))), "expires"),
            (with(&|e| e.serial = MAX_SERIAL + 1), "serial"),
            (with(&|e| e.serial = u32::MAX), "serial"),
            (with(&|e| e.host_id = Some("H-1".into())), "host_id"),
            // The first field in SCHEMES.md's order wins.
            (
                with(&|e| {
                    e.product = "acme-cloud".into();
                    e.seats = Some(5000);
                }),
                "product",
            ),
            (
                with(&|e| {
                    e.seats = Some(5000);
                    e.host_id = Some("H".into());
                }),
                "seats",
            ),
        ];
        for (e, field) in cases {
            match c.encode(&e) {
                Err(GenerateFailure::Refused { field: f, reason }) => {
                    assert_eq!(f, field, "{reason}");
                    assert!(!reason.is_empty());
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let Err(GenerateFailure::Refused { reason, .. }) =
            c.encode(&with(&|e| e.product = "acme-cloud".into()))
        else {
            panic!()
        };
        assert_eq!(reason, "acme-cloud has no legacy product id");
        let Err(GenerateFailure::Refused { reason, .. }) = c.encode(&with(&|e| {
            e.features.insert("ai-assist".into());
        })) else {
            panic!()
        };
        assert_eq!(reason, "ai-assist has no legacy bit");
    }

    #[test]
    fn fields_lk1_does_not_carry_are_ignored() {
        let mut e = worked();
        e.customer = Some(crate::entitlement::Customer {
            id: "C".into(),
            name: "N".into(),
        });
        e.order_id = None;
        e.issued = day("2020-01-01");
        e.maintenance_until = None;
        assert_eq!(codec().encode(&e).unwrap(), WORKED);
    }

    #[test]
    fn normalisation_accepts_what_the_spec_folds() {
        let compact = WORKED.replace('-', "");
        let variants = [
            WORKED.to_lowercase(),
            compact.clone(),
            format!("  {}\t\r\n", WORKED),
            "24A0M 02T1K\t7Y9KS\r\n689RQ-7B45-0".to_string(),
            compact.chars().map(|c| format!("{c}-")).collect(),
            WORKED.replace('0', "O"),
            WORKED.replace('0', "o"),
            WORKED.replace('1', "I"),
            WORKED.replace('1', "l"),
            WORKED.replace('1', "L"),
        ];
        for k in variants {
            assert_eq!(verdict(&k), Verdict::Valid, "{k:?}");
        }
    }

    #[test]
    fn normalisation_folds_nothing_else() {
        let compact = WORKED.replace('-', "");
        let variants = [
            WORKED.replacen('2', "U", 1),
            WORKED.replacen('-', "\u{a0}", 1),
            WORKED.replacen('2', "\u{ff12}", 1),
            WORKED.replacen('-', "\0", 1),
            WORKED.replacen('-', "_", 1),
            compact[1..].to_string(),
            format!("{compact}0"),
            String::new(),
            "-----".into(),
        ];
        for k in variants {
            assert_eq!(verdict(&k), Verdict::Malformed, "{k:?}");
        }
        let v = codec().decode(&compact.as_bytes()[1..], &cad());
        assert_eq!(
            v.reason.as_deref(),
            Some("24 symbols after normalisation, expected 25")
        );
        assert_eq!(v.format, None);
        assert_eq!(v.decoded, None);
        assert_eq!(
            verdict("24A0M-02T1K-7Y9KS-689RQ-7B45\u{0}0"),
            Verdict::Malformed
        );
        assert_eq!(
            codec().decode(b"24A0M-\xff", &cad()).verdict,
            Verdict::Malformed
        );
    }

    #[test]
    fn any_changed_symbol_is_a_bad_signature() {
        let key: Vec<u8> = WORKED.bytes().collect();
        for i in (0..key.len()).filter(|&i| key[i] != b'-') {
            for &s in ALPHABET.iter().filter(|&&s| s != key[i]) {
                let mut k = key.clone();
                k[i] = s;
                let v = codec().decode(&k, &cad());
                assert_eq!(
                    v.verdict,
                    Verdict::BadSignature,
                    "{}",
                    String::from_utf8_lossy(&k)
                );
                assert_eq!(v.format, None);
            }
        }
    }

    #[test]
    fn other_versions_and_bad_structure_are_rejected_after_the_mac() {
        let c = codec();
        let good = c.payload_for(&worked()).unwrap();
        let v2 = c.seal(&Payload { ver: 2, ..good });
        let v = c.decode(v2.as_bytes(), &cad());
        assert_eq!(
            (v.verdict, v.format.as_deref()),
            (Verdict::UnsupportedFormat, None)
        );
        for bad in [
            Payload {
                reserved: 1,
                ..good
            },
            Payload { edition: 4, ..good },
        ] {
            let v = c.decode(c.seal(&bad).as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Malformed, Some(FORMAT))
            );
            assert!(v.decoded.is_none());
        }
        let other = Lk1::new(&Catalog::acme(), b"another secret").unwrap();
        assert_eq!(
            other.decode(WORKED.as_bytes(), &cad()).verdict,
            Verdict::BadSignature
        );
    }

    #[test]
    fn unknown_ids_and_bits_decode_by_number() {
        let c = codec();
        let mut catalog = Catalog::acme();
        catalog.features.retain(|f| f.legacy_bit != Some(15));
        let sparse = Lk1::new(&catalog, demo::LK1_SECRET.as_bytes()).unwrap();
        let p = Payload {
            product: 99,
            features: 0x8001,
            ..c.payload_for(&worked()).unwrap()
        };
        let key = c.seal(&p);
        let v = sparse.decode(key.as_bytes(), &cad());
        assert_eq!(v.verdict, Verdict::WrongProduct);
        let d = v.decoded.unwrap();
        assert_eq!(d.product.as_deref(), Some("legacy-id-99"));
        let features: Vec<_> = d.features.unwrap().into_iter().collect();
        assert_eq!(features, ["export-dwg", "legacy-bit-15"]);
    }

    #[test]
    fn context_checks_come_in_order() {
        let key = WORKED.as_bytes();
        let c = codec();
        let check = |context: Context| c.decode(key, &context).verdict;
        assert_eq!(check(ctx("acme-cad", 5, "2027-12-31")), Verdict::Valid);
        assert_eq!(check(ctx("acme-cad", 5, "2028-01-01")), Verdict::Expired);
        assert_eq!(
            check(ctx("acme-cad", 6, "2028-01-01")),
            Verdict::VersionNotCovered
        );
        assert_eq!(
            check(ctx("acme-viewer", 6, "2028-01-01")),
            Verdict::WrongProduct
        );
        assert_eq!(
            check(ctx("acme-cloud", 1, "2026-01-01")),
            Verdict::WrongProduct
        );
        assert_eq!(
            check(ctx("acme-paint", 1, "2026-01-01")),
            Verdict::WrongProduct
        );
        let mut locked = ctx("acme-cad", 5, "2026-01-01");
        locked.host_id = Some("H-1".into());
        assert_eq!(check(locked), Verdict::Valid);
        let v = c.decode(key, &ctx("acme-cad", 5, "2028-01-01"));
        assert!(v.decoded.is_some());
        assert_eq!(v.format.as_deref(), Some(FORMAT));
    }

    #[test]
    fn perpetual_keys_never_expire() {
        let c = codec();
        let key = c
            .encode(&Entitlement {
                expires: None,
                ..worked()
            })
            .unwrap();
        let v = c.decode(key.as_bytes(), &ctx("acme-cad", 1, "9999-12-31"));
        assert_eq!(v.verdict, Verdict::Valid);
        assert_eq!(v.decoded.unwrap().expires, Some(None));
    }

    #[test]
    fn garbage_never_panics() {
        let c = codec();
        let big: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(c.decode(&big, &cad()).verdict, Verdict::Malformed);
        let symbols = vec![b'Z'; 1 << 20];
        let v = c.decode(&symbols, &cad());
        assert_eq!(
            v.reason.as_deref(),
            Some("1048576 symbols after normalisation, expected 25")
        );
        for len in 0..40 {
            let k: Vec<u8> = (0..len).map(|i| ALPHABET[(i * 7) % 32]).collect();
            let _ = c.decode(&k, &cad());
        }
        assert_eq!(c.decode(&[0xC3, 0x28], &cad()).verdict, Verdict::Malformed);
    }

    #[test]
    fn the_old_system_is_a_builtin() {
        let s = Lk1System::from_settings(&Catalog::acme(), &demo::lk1()).unwrap();
        assert_eq!(
            s.info().origin,
            Origin::Builtin {
                scheme: "acme-lk1".into()
            }
        );
        assert_eq!(s.generate(&worked()).unwrap(), WORKED);
        assert_eq!(
            s.validate(WORKED.as_bytes(), &cad()).unwrap().verdict,
            Verdict::Valid
        );
        let empty: Settings = [("secret".to_string(), String::new())].into();
        let err = Lk1System::from_settings(&Catalog::acme(), &empty).unwrap_err();
        assert_eq!(err.to_string(), "setting `secret`: must not be empty");
    }
}
