//! acme-ed1, the new Acme system's key format (SCHEMES.md, "acme-ed1"): the
//! wire form of Keygen's `ED25519_SIGN` scheme, a signed compact JSON payload.
//!
//! Other implementations of this format exist and are compared with this one,
//! so every step is pinned down: the payload is written by serde_json from a
//! struct whose fields are in the specified order, base64url is decoded with
//! canonical padding and no trailing bits (so one key has exactly one
//! spelling), the signature is checked with `verify_strict` over the exact
//! bytes received, and the checks run in the specified order, so a key that
//! breaks two rules gets the same verdict everywhere. The payload is read as
//! a JSON value and checked by hand, to say precisely what is malformed.

use std::collections::BTreeSet;
use std::fmt;

use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::{Engine, alphabet};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};
use crate::implementation::{CallFailure, FailureKind, GenerateFailure};
use crate::settings::{self, SettingError, Settings};
use crate::verdict::{Context, Decoded, Validation, Verdict};

/// The format's name, as validations report it.
pub const FORMAT: &str = "acme-ed1";
/// What every acme-ed1 key starts with.
pub const PREFIX: &str = "key/";
/// The longest key accepted, in bytes after trimming (16 KiB).
pub const MAX_KEY_BYTES: usize = 16 * 1024;
/// The only payload version (`v`) this codec reads and writes.
pub const VERSION: u64 = 1;

/// base64url with `=` padding; decoding requires canonical padding and no
/// trailing bits.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// The payload as written: field order is the wire order of SCHEMES.md.
#[derive(Serialize)]
struct WirePayload<'a> {
    v: u64,
    kid: &'a str,
    prod: &'a str,
    ed: &'a str,
    maxv: u8,
    feat: &'a BTreeSet<String>,
    seats: Option<u32>,
    iat: Day,
    exp: Option<Day>,
    maint: Option<Day>,
    serial: u32,
    cust: Option<&'a Customer>,
    order: Option<&'a str>,
    host: Option<&'a str>,
}

/// The acme-ed1 codec: signs with at most one key, verifies with a list of
/// trusted keys, each named by its key id (`kid`).
#[derive(Clone)]
pub struct Ed1 {
    catalog: Catalog,
    signing: Option<(String, SigningKey)>,
    trusted: Vec<(String, VerifyingKey)>,
}

impl fmt::Debug for Ed1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trusted: Vec<&str> = self.trusted.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("Ed1")
            .field("signing_kid", &self.signing_kid())
            .field("trusted", &trusted)
            .finish_non_exhaustive()
    }
}

impl Ed1 {
    /// A codec from its keys: `signing` is the signing key and its kid (none
    /// for a validator only), `trusted` the keys whose signatures are accepted.
    pub fn new(
        catalog: &Catalog,
        signing: Option<(String, SigningKey)>,
        trusted: Vec<(String, VerifyingKey)>,
    ) -> Self {
        Ed1 {
            catalog: catalog.clone(),
            signing,
            trusted,
        }
    }

    /// A codec from its settings: `trusted_keys` (required,
    /// `kid:64-hex-public-key,...`), `signing_key` (64 hex digits, the
    /// Ed25519 secret seed; optional) and `kid` (required with `signing_key`).
    pub fn from_settings(catalog: &Catalog, s: &Settings) -> Result<Self, SettingError> {
        let trusted = parse_trusted(settings::required(s, "trusted_keys")?)
            .map_err(|m| SettingError::new("trusted_keys", m))?;
        let signing = match (s.get("signing_key"), s.get("kid")) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(SettingError::new("kid", "is set but `signing_key` is not"));
            }
            (Some(_), None) => {
                return Err(SettingError::new(
                    "kid",
                    "missing (required with `signing_key`)",
                ));
            }
            (Some(seed), Some(kid)) => Some(signing_key(seed, kid, &trusted)?),
        };
        Ok(Ed1::new(catalog, signing, trusted))
    }

    /// The kid of the signing key, if the codec can sign.
    pub fn signing_kid(&self) -> Option<&str> {
        self.signing.as_ref().map(|(kid, _)| kid.as_str())
    }

    /// Whether the codec has a signing key.
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    /// The catalog editions are checked against.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The key for an entitlement. acme-ed1 carries every field, so the only
    /// failure is having no signing key (`Unsupported`).
    pub fn encode(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
        let kid = self.signing_kid().ok_or_else(no_signing_key)?;
        let payload = WirePayload {
            v: VERSION,
            kid,
            prod: &e.product,
            ed: &e.edition,
            maxv: e.max_major,
            feat: &e.features,
            seats: e.seats,
            iat: e.issued,
            exp: e.expires,
            maint: e.maintenance_until,
            serial: e.serial,
            cust: e.customer.as_ref(),
            order: e.order_id.as_deref(),
            host: e.host_id.as_deref(),
        };
        let json = serde_json::to_vec(&payload).map_err(|err| {
            GenerateFailure::Failed(CallFailure::new(
                FailureKind::Internal,
                format!("acme-ed1: cannot write the payload: {err}"),
            ))
        })?;
        self.sign_payload(&json)
    }

    /// `key/` + base64url(payload) + `.` + base64url(signature) for any
    /// payload bytes (for tests and tampering: e.g. a payload with `v` 2).
    pub fn sign_payload(&self, payload: &[u8]) -> Result<String, GenerateFailure> {
        let (_, signing) = self.signing.as_ref().ok_or_else(no_signing_key)?;
        let mut key = String::with_capacity(PREFIX.len() + payload.len() * 4 / 3 + 96);
        key.push_str(PREFIX);
        B64.encode_string(payload, &mut key);
        let signature = signing.sign(key.as_bytes());
        key.push('.');
        B64.encode_string(signature.to_bytes(), &mut key);
        Ok(key)
    }

    /// Validates key bytes in a context, in the order of SCHEMES.md.
    pub fn decode(&self, key: &[u8], ctx: &Context) -> Validation {
        let Parts {
            signed,
            payload,
            signature,
        } = match split(trim(key)) {
            Ok(parts) => parts,
            Err(reason) => return Validation::reject(Verdict::Malformed, None, reason),
        };
        let Some(kid) = self.verifier(signed, &signature) else {
            let reason = "no trusted key verifies the signature";
            return Validation::reject(Verdict::BadSignature, Some(FORMAT), reason);
        };
        let object = match serde_json::from_slice::<Value>(&payload) {
            Ok(Value::Object(object)) => object,
            Ok(other) => {
                let reason = format!("payload is {}, not a JSON object", describe(&other));
                return Validation::reject(Verdict::Malformed, Some(FORMAT), reason);
            }
            Err(err) => {
                let reason = format!("payload is not JSON: {err}");
                return Validation::reject(Verdict::Malformed, Some(FORMAT), reason);
            }
        };
        if let Err(reason) = check_header(&object, kid) {
            return Validation::reject(Verdict::UnsupportedFormat, Some(FORMAT), reason);
        }
        match self.read_payload(&object) {
            Ok(decoded) => judge(decoded, ctx),
            Err(reason) => Validation::reject(
                Verdict::Malformed,
                Some(FORMAT),
                format!("payload: {reason}"),
            ),
        }
    }

    /// The kid of the trusted key whose `verify_strict` accepts the signature.
    fn verifier(&self, signed: &[u8], signature: &[u8; 64]) -> Option<&str> {
        let signature = Signature::from_bytes(signature);
        self.trusted
            .iter()
            .find(|(_, key)| key.verify_strict(signed, &signature).is_ok())
            .map(|(kid, _)| kid.as_str())
    }

    /// The entitlement of a payload whose header checked out.
    fn read_payload(&self, o: &Map<String, Value>) -> Result<Decoded, String> {
        let edition = string(o, "ed")?;
        if self.catalog.edition_code(&edition).is_none() {
            return Err(format!(
                "`ed` is {edition:?}, not an edition of the catalog"
            ));
        }
        let seats = match field(o, "seats")? {
            Value::Null => None,
            _ => match integer(o, "seats", u64::from(u32::MAX))? {
                0 => return Err("`seats` is 0, expected null or 1 or more".into()),
                n => Some(n as u32),
            },
        };
        Ok(Decoded {
            product: Some(string(o, "prod")?),
            edition: Some(edition),
            max_major: Some(integer(o, "maxv", u64::from(u8::MAX))? as u8),
            features: Some(features(o)?),
            seats: Some(seats),
            issued: Some(date(o, "iat")?),
            expires: Some(nullable(o, "exp", date)?),
            maintenance_until: Some(nullable(o, "maint", date)?),
            serial: Some(integer(o, "serial", u64::from(u32::MAX))? as u32),
            customer: Some(nullable(o, "cust", customer)?),
            order_id: Some(nullable(o, "order", string)?),
            host_id: Some(nullable(o, "host", string)?),
        })
    }
}

fn no_signing_key() -> GenerateFailure {
    GenerateFailure::Failed(CallFailure::new(
        FailureKind::Unsupported,
        "acme-ed1: no `signing_key` is configured, so this codec only validates",
    ))
}

/// The signing key from its settings, checked against the trusted keys.
fn signing_key(
    seed: &str,
    kid: &str,
    trusted: &[(String, VerifyingKey)],
) -> Result<(String, SigningKey), SettingError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(seed.trim(), &mut bytes).map_err(|_| {
        SettingError::new(
            "signing_key",
            "expected 64 hex digits (an Ed25519 secret seed)",
        )
    })?;
    if kid.is_empty() {
        return Err(SettingError::new("kid", "must not be empty"));
    }
    let key = SigningKey::from_bytes(&bytes);
    let public = key.verifying_key();
    if let Some((_, listed)) = trusted.iter().find(|(k, _)| k == kid)
        && *listed != public
    {
        return Err(SettingError::new(
            "signing_key",
            format!("its public key differs from the trusted key `{kid}`"),
        ));
    }
    Ok((kid.to_string(), key))
}

/// Parses `kid:64-hex-public-key,kid:hex,...`.
fn parse_trusted(text: &str) -> Result<Vec<(String, VerifyingKey)>, String> {
    let mut keys: Vec<(String, VerifyingKey)> = Vec::new();
    for (i, entry) in text.split(',').map(str::trim).enumerate() {
        let n = i + 1;
        let (kid, hex_key) = entry
            .split_once(':')
            .ok_or_else(|| format!("entry {n} ({entry:?}) is not `kid:64-hex-public-key`"))?;
        let (kid, hex_key) = (kid.trim(), hex_key.trim());
        if kid.is_empty() {
            return Err(format!("entry {n} has an empty kid"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_key, &mut bytes)
            .map_err(|_| format!("key `{kid}`: expected 64 hex digits (an Ed25519 public key)"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| format!("key `{kid}`: not a valid Ed25519 public key"))?;
        if let Some((other, _)) = keys.iter().find(|(k, v)| k == kid || *v == key) {
            return Err(format!("key `{kid}`: the kid or the key repeats `{other}`"));
        }
        keys.push((kid.to_string(), key));
    }
    Ok(keys)
}

/// `key` without surrounding spaces, tabs, CRs and LFs.
fn trim(key: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = key.iter().position(|b| !space(b)).unwrap_or(key.len());
    let end = key.iter().rposition(|b| !space(b)).map_or(start, |i| i + 1);
    &key[start..end]
}

/// A key that has the form of acme-ed1 (step 2), before its signature is checked.
struct Parts<'a> {
    /// The exact bytes before the `.`: what the signature covers.
    signed: &'a [u8],
    /// The decoded payload.
    payload: Vec<u8>,
    /// The decoded signature.
    signature: [u8; 64],
}

/// Splits a trimmed key into its [`Parts`], or says why it is malformed (step 2).
fn split(key: &[u8]) -> Result<Parts<'_>, String> {
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "{} bytes, more than the {MAX_KEY_BYTES} an acme-ed1 key may have",
            key.len()
        ));
    }
    let rest = key
        .strip_prefix(PREFIX.as_bytes())
        .ok_or_else(|| format!("no `{PREFIX}` prefix"))?;
    let dots = rest.iter().filter(|&&b| b == b'.').count();
    if dots != 1 {
        return Err(format!(
            "{dots} dots after `{PREFIX}`, expected exactly one"
        ));
    }
    let dot = rest.iter().position(|&b| b == b'.').unwrap_or(rest.len());
    let (payload, signature) = (&rest[..dot], &rest[dot + 1..]);
    let payload = B64
        .decode(payload)
        .map_err(|e| format!("payload is not canonical padded base64url: {e}"))?;
    let signature = B64
        .decode(signature)
        .map_err(|e| format!("signature is not canonical padded base64url: {e}"))?;
    let signature = <[u8; 64]>::try_from(signature.as_slice())
        .map_err(|_| format!("signature is {} bytes, expected 64", signature.len()))?;
    Ok(Parts {
        signed: &key[..PREFIX.len() + dot],
        payload,
        signature,
    })
}

/// Step 5: `v` is 1 and `kid` names the key that verified.
fn check_header(o: &Map<String, Value>, verified_by: &str) -> Result<(), String> {
    match o.get("v") {
        Some(Value::Number(n)) if n.as_u64() == Some(VERSION) => {}
        Some(other) => return Err(format!("format version `v` is {other}, expected {VERSION}")),
        None => return Err(format!("format version `v` is missing, expected {VERSION}")),
    }
    match o.get("kid") {
        Some(Value::String(kid)) if kid == verified_by => Ok(()),
        Some(other) => Err(format!(
            "`kid` is {other}, but the key that verified is `{verified_by}`"
        )),
        None => Err(format!(
            "`kid` is missing; the key that verified is `{verified_by}`"
        )),
    }
}

/// The context checks, in SCHEMES.md's order.
fn judge(decoded: Decoded, ctx: &Context) -> Validation {
    let product = decoded.product.as_deref().unwrap_or_default();
    let max_major = decoded.max_major.unwrap_or_default();
    let expires = decoded.expires.flatten();
    let host = decoded.host_id.as_ref().and_then(Option::as_deref);
    let (verdict, reason) = if product != ctx.product {
        let reason = format!("key is for {product}, not {}", ctx.product);
        (Verdict::WrongProduct, Some(reason))
    } else if ctx.version.major > u32::from(max_major) {
        let reason = format!("key covers up to major {max_major}, not {}", ctx.version);
        (Verdict::VersionNotCovered, Some(reason))
    } else if let Some(day) = expires.filter(|&d| ctx.today > d) {
        (Verdict::Expired, Some(format!("expired after {day}")))
    } else if let Some(h) = host.filter(|&h| ctx.host_id.as_deref() != Some(h)) {
        let reason = match &ctx.host_id {
            Some(other) => format!("key is locked to host {h:?}, not {other:?}"),
            None => format!("key is locked to host {h:?} and the context has no host id"),
        };
        (Verdict::HostMismatch, Some(reason))
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

/// "a string", "null", ...: what a JSON value is, for reasons (also the
/// export readers').
pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a Value, String> {
    o.get(key).ok_or_else(|| format!("`{key}` is missing"))
}

fn string(o: &Map<String, Value>, key: &str) -> Result<String, String> {
    match field(o, key)? {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("`{key}` is {}, expected a string", describe(other))),
    }
}

/// An integer from 0 to `max`.
fn integer(o: &Map<String, Value>, key: &str, max: u64) -> Result<u64, String> {
    match field(o, key)? {
        Value::Number(n) => n
            .as_u64()
            .filter(|&v| v <= max)
            .ok_or_else(|| format!("`{key}` is {n}, expected an integer from 0 to {max}")),
        other => Err(format!("`{key}` is {}, expected a number", describe(other))),
    }
}

fn date(o: &Map<String, Value>, key: &str) -> Result<Day, String> {
    let text = string(o, key)?;
    Day::parse(&text).map_err(|e| format!("`{key}`: {e}"))
}

/// `read` of the field, or `None` when it is null (but present).
fn nullable<T>(
    o: &Map<String, Value>,
    key: &str,
    read: fn(&Map<String, Value>, &str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match field(o, key)? {
        Value::Null => Ok(None),
        _ => read(o, key).map(Some),
    }
}

/// `feat`: an array of strings; names the catalog does not know are kept.
fn features(o: &Map<String, Value>) -> Result<BTreeSet<String>, String> {
    let Value::Array(items) = field(o, "feat")? else {
        return Err("`feat` is not an array".into());
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "`feat` holds {}, expected strings",
                describe(other)
            )),
        })
        .collect()
}

/// `cust`: `{"id": string, "name": string}` (other keys are ignored).
fn customer(o: &Map<String, Value>, key: &str) -> Result<Customer, String> {
    let Value::Object(c) = field(o, key)? else {
        return Err(format!("`{key}` is not null or an object"));
    };
    let part = |k: &str| string(c, k).map_err(|e| format!("`{key}`: {e}"));
    Ok(Customer {
        id: part("id")?,
        name: part("name")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schemes::demo;
    use crate::verdict::Version;

    fn codec() -> Ed1 {
        Ed1::from_settings(&Catalog::acme(), &demo::ed1()).unwrap()
    }

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    const SPEC_PAYLOAD: &str = r#"{"v":1,"kid":"acme-demo-2026","prod":"acme-cad","ed":"professional","maxv":7,"feat":["ai-assist","export-dwg"],"seats":25,"iat":"2026-11-23","exp":"2027-12-31","maint":null,"serial":424242,"cust":{"id":"C-000042","name":"Zoë Müller GmbH"},"order":"SO-1001","host":null}"#;

    fn spec() -> Entitlement {
        Entitlement {
            product: "acme-cad".into(),
            edition: "professional".into(),
            max_major: 7,
            features: ["ai-assist", "export-dwg"].map(String::from).into(),
            seats: Some(25),
            issued: day("2026-11-23"),
            expires: Some(day("2027-12-31")),
            maintenance_until: None,
            serial: 424_242,
            customer: Some(Customer {
                id: "C-000042".into(),
                name: "Zoë Müller GmbH".into(),
            }),
            order_id: Some("SO-1001".into()),
            host_id: None,
        }
    }

    fn ctx(product: &str, major: u32, today: &str, host: Option<&str>) -> Context {
        Context {
            product: product.into(),
            version: Version { major, minor: 0 },
            today: day(today),
            host_id: host.map(String::from),
        }
    }

    fn cad() -> Context {
        ctx("acme-cad", 7, "2026-12-01", None)
    }

    fn payload_of(key: &str) -> String {
        let body = key.strip_prefix(PREFIX).unwrap().split('.').next().unwrap();
        String::from_utf8(B64.decode(body).unwrap()).unwrap()
    }

    fn verdict(key: impl AsRef<[u8]>) -> Verdict {
        codec().decode(key.as_ref(), &cad()).verdict
    }

    /// The spec's payload with `from` replaced by `to`, signed by the demo key.
    fn signed_with(from: &str, to: &str) -> String {
        assert!(SPEC_PAYLOAD.contains(from), "{from}");
        codec()
            .sign_payload(SPEC_PAYLOAD.replace(from, to).as_bytes())
            .unwrap()
    }

    #[test]
    fn the_demo_key_is_rfc_8032_test_1() {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(demo::TEST1_SECRET, &mut seed).unwrap();
        let key = SigningKey::from_bytes(&seed);
        assert_eq!(
            hex::encode(key.verifying_key().as_bytes()),
            demo::TEST1_PUBLIC
        );
        let expected = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065\
                        224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24\
                        655141438e7a100b";
        assert_eq!(hex::encode(key.sign(b"").to_bytes()), expected);
        let mut seed2 = [0u8; 32];
        hex::decode_to_slice(demo::TEST2_SECRET, &mut seed2).unwrap();
        let key2 = SigningKey::from_bytes(&seed2);
        assert_eq!(
            hex::encode(key2.verifying_key().as_bytes()),
            demo::TEST2_PUBLIC
        );
    }

    #[test]
    fn writes_the_spec_payload_byte_for_byte() {
        let key = codec().encode(&spec()).unwrap();
        assert_eq!(payload_of(&key), SPEC_PAYLOAD);
        let (signed, _) = key.split_once('.').unwrap();
        let sig = B64.decode(key.split_once('.').unwrap().1).unwrap();
        let public = codec().signing.unwrap().1.verifying_key();
        let sig = Signature::from_slice(&sig).unwrap();
        public.verify_strict(signed.as_bytes(), &sig).unwrap();
        // Ed25519 is deterministic: the key is the same every time.
        assert_eq!(codec().encode(&spec()).unwrap(), key);
    }

    #[test]
    fn round_trips_and_decodes_every_field() {
        let base = spec();
        let cases = [
            base.clone(),
            Entitlement {
                features: BTreeSet::new(),
                seats: None,
                expires: None,
                maintenance_until: Some(day("2030-02-28")),
                customer: None,
                order_id: None,
                host_id: Some("HOST-\"1\"\\\n\u{1F600}".into()),
                ..base.clone()
            },
            Entitlement {
                product: "acme-cloud".into(),
                edition: "enterprise".into(),
                max_major: 255,
                seats: Some(u32::MAX),
                serial: u32::MAX,
                expires: Some(day("9999-12-31")),
                ..base.clone()
            },
            Entitlement {
                edition: "trial".into(),
                max_major: 0,
                seats: Some(1),
                serial: 0,
                ..base
            },
        ];
        for e in cases {
            let c = codec();
            let key = c.encode(&e).unwrap();
            let context = ctx(&e.product, 0, "2026-11-23", e.host_id.as_deref());
            let v = c.decode(key.as_bytes(), &context);
            assert_eq!(v.verdict, Verdict::Valid, "{e} {:?}", v.reason);
            assert_eq!(v.format.as_deref(), Some(FORMAT));
            assert_eq!(v.decoded, Some(Decoded::from_entitlement(&e)));
        }
    }

    #[test]
    fn surrounding_whitespace_is_trimmed_and_nothing_else() {
        let key = codec().encode(&spec()).unwrap();
        assert_eq!(verdict(format!(" \t\r\n{key}\r\n ")), Verdict::Valid);
        let (head, tail) = key.split_at(20);
        assert_eq!(verdict(format!("{head} {tail}")), Verdict::Malformed);
        assert_eq!(verdict(format!("\u{a0}{key}")), Verdict::Malformed);
        assert_eq!(verdict(key.to_uppercase()), Verdict::Malformed);
    }

    #[test]
    fn non_canonical_base64_is_malformed() {
        let key = codec().encode(&spec()).unwrap();
        let (body, sig) = key.strip_prefix(PREFIX).unwrap().split_once('.').unwrap();
        assert!(sig.ends_with("=="));
        // Unpadded signature.
        assert_eq!(
            verdict(format!("key/{body}.{}", sig.trim_end_matches('='))),
            Verdict::Malformed
        );
        // A payload whose length needs padding, written unpadded.
        let short = codec().sign_payload(b"{}").unwrap();
        assert!(short.starts_with("key/e30=."));
        assert_eq!(
            verdict(short.replacen("e30=", "e30", 1)),
            Verdict::Malformed
        );
        // A non-canonical last symbol: `e30=` with trailing bits set is `e31=`.
        assert_eq!(
            verdict(short.replacen("e30=", "e31=", 1)),
            Verdict::Malformed
        );
        // The standard alphabet's '+' and '/'.
        let plus = codec().sign_payload(&[0xfb, 0xef, 0xbe]).unwrap();
        assert!(plus.starts_with("key/----."), "{plus}");
        let format = |k: &str| codec().decode(k.as_bytes(), &cad()).format;
        // Signed and not JSON: malformed at step 4, with the format known ...
        assert_eq!(format(&plus).as_deref(), Some(FORMAT));
        // ... while '+' fails base64url at step 2.
        assert_eq!(
            verdict(plus.replacen("----", "++++", 1)),
            Verdict::Malformed
        );
        assert_eq!(format(&plus.replacen("----", "++++", 1)), None);
        let slash = codec().sign_payload(&[0xff, 0xff, 0xff]).unwrap();
        assert!(slash.starts_with("key/____."), "{slash}");
        assert_eq!(format(&slash).as_deref(), Some(FORMAT));
        assert_eq!(
            verdict(slash.replacen("____", "////", 1)),
            Verdict::Malformed
        );
        assert_eq!(format(&slash.replacen("____", "////", 1)), None);
        // Extra padding.
        assert_eq!(verdict(format!("key/{body}.{sig}=")), Verdict::Malformed);
    }

    #[test]
    fn structure_errors_are_malformed() {
        let key = codec().encode(&spec()).unwrap();
        let (body, sig) = key.strip_prefix(PREFIX).unwrap().split_once('.').unwrap();
        let cases = [
            format!("{body}.{sig}"),
            format!("KEY/{body}.{sig}"),
            format!("key/{body}.{sig}.{sig}"),
            format!("key/{body}..{sig}"),
            format!("key/{body}{sig}"),
            format!("key/{body}.{}", B64.encode([0u8; 63])),
            format!("key/{body}.{}", B64.encode([0u8; 65])),
            format!("key/{body}."),
            "key/".to_string(),
            String::new(),
        ];
        for k in cases {
            let v = codec().decode(k.as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Malformed, None),
                "{k}"
            );
            assert!(v.reason.is_some());
        }
    }

    #[test]
    fn length_limit_is_16_kib_after_trimming() {
        let c = codec();
        // Pad the payload with an ignored key: the longest valid key that fits.
        let make = |extra: usize| {
            let pad = format!("{{\"pad\":\"{}\",", "x".repeat(extra));
            c.sign_payload(SPEC_PAYLOAD.replacen('{', &pad, 1).as_bytes())
                .unwrap()
        };
        let mut extra = (MAX_KEY_BYTES - make(0).len()) * 3 / 4;
        while make(extra + 1).len() <= MAX_KEY_BYTES {
            extra += 1;
        }
        let longest = make(extra);
        assert!(longest.len() > MAX_KEY_BYTES - 4);
        assert_eq!(verdict(&longest), Verdict::Valid);
        assert_eq!(verdict(format!("  {longest}\n\t ")), Verdict::Valid);
        assert_eq!(verdict(make(extra + 1)), Verdict::Malformed);
        // Exactly 16 KiB is judged on its form, one byte more on its length.
        let reason = |len: usize| {
            let key = format!("key/{}", "A".repeat(len - PREFIX.len()));
            let v = c.decode(key.as_bytes(), &cad());
            assert_eq!(v.verdict, Verdict::Malformed);
            v.reason.unwrap()
        };
        assert_eq!(
            reason(MAX_KEY_BYTES),
            "0 dots after `key/`, expected exactly one"
        );
        assert_eq!(
            reason(MAX_KEY_BYTES + 1),
            "16385 bytes, more than the 16384 an acme-ed1 key may have"
        );
    }

    #[test]
    fn signatures_are_checked_against_every_trusted_key() {
        let catalog = Catalog::acme();
        let old = |kid: &str| {
            Ed1::from_settings(&catalog, &demo::ed1_signing_with(demo::TEST2_SECRET, kid)).unwrap()
        };
        // The 2026 kid with the 2025 key is caught by the settings check ...
        assert!(
            Ed1::from_settings(
                &catalog,
                &demo::ed1_signing_with(demo::TEST2_SECRET, "acme-demo-2026")
            )
            .is_err()
        );
        let valid = old("acme-demo-2025").encode(&spec()).unwrap();
        assert_eq!(verdict(&valid), Verdict::Valid);
        // ... so build the mislabelled key by hand.
        let mut seed = [0u8; 32];
        hex::decode_to_slice(demo::TEST2_SECRET, &mut seed).unwrap();
        let liar = Ed1::new(
            &catalog,
            Some(("acme-demo-2026".into(), SigningKey::from_bytes(&seed))),
            vec![],
        );
        let v = codec().decode(liar.encode(&spec()).unwrap().as_bytes(), &cad());
        assert_eq!(
            (v.verdict, v.format.as_deref()),
            (Verdict::UnsupportedFormat, Some(FORMAT))
        );
        // A key nobody trusts.
        let stranger = Ed1::new(
            &catalog,
            Some(("acme-demo-2026".into(), SigningKey::from_bytes(&[7; 32]))),
            vec![],
        );
        let v = codec().decode(stranger.encode(&spec()).unwrap().as_bytes(), &cad());
        assert_eq!(
            (v.verdict, v.format.as_deref()),
            (Verdict::BadSignature, Some(FORMAT))
        );
    }

    #[test]
    fn a_changed_byte_is_a_bad_signature() {
        let key = codec().encode(&spec()).unwrap();
        // Swap two payload characters (still canonical base64url).
        let mut bytes = key.clone().into_bytes();
        bytes.swap(10, 11);
        assert_ne!(bytes, key.as_bytes());
        assert_eq!(verdict(&bytes), Verdict::BadSignature);
        let dot = key.find('.').unwrap();
        let mut sig = key.clone().into_bytes();
        sig[dot + 3] = if sig[dot + 3] == b'A' { b'B' } else { b'A' };
        assert_eq!(verdict(&sig), Verdict::BadSignature);
    }

    #[test]
    fn header_errors_are_unsupported_format() {
        for (from, to) in [
            (r#""v":1"#, r#""v":2"#),
            (r#""v":1"#, r#""v":"1""#),
            (r#""v":1"#, r#""v":1.0"#),
            (r#""v":1,"#, ""),
            (r#""kid":"acme-demo-2026","#, ""),
            (r#""kid":"acme-demo-2026""#, r#""kid":"acme-demo-2025""#),
            (r#""kid":"acme-demo-2026""#, r#""kid":null"#),
        ] {
            let v = codec().decode(signed_with(from, to).as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::UnsupportedFormat, Some(FORMAT)),
                "{to}"
            );
        }
    }

    #[test]
    fn payloads_that_are_not_objects_are_malformed() {
        for payload in [
            "[1]",
            "1",
            "null",
            "\"key\"",
            "{",
            "",
            "{\"v\":1}x",
            "\u{fffd}",
        ] {
            let key = codec().sign_payload(payload.as_bytes()).unwrap();
            let v = codec().decode(key.as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Malformed, Some(FORMAT)),
                "{payload}"
            );
        }
        let key = codec().sign_payload(b"{\"v\":1,\xff}").unwrap();
        assert_eq!(verdict(key), Verdict::Malformed);
        // Not an object wins over a wrong version: step 4 comes before step 5.
        assert_eq!(
            verdict(codec().sign_payload(b"[2]").unwrap()),
            Verdict::Malformed
        );
    }

    #[test]
    fn payloads_of_the_wrong_form_are_malformed() {
        let cases = [
            (
                r#""ed":"professional""#,
                r#""ed":"gold""#,
                "`ed` is \"gold\", not an edition of the catalog",
            ),
            (
                r#""seats":25"#,
                r#""seats":0"#,
                "`seats` is 0, expected null or 1 or more",
            ),
            (
                r#""seats":25"#,
                r#""seats":4294967296"#,
                "`seats` is 4294967296, expected an integer from 0 to 4294967295",
            ),
            (
                r#""seats":25"#,
                r#""seats":-1"#,
                "`seats` is -1, expected an integer from 0 to 4294967295",
            ),
            (
                r#""seats":25"#,
                r#""seats":"25""#,
                "`seats` is a string, expected a number",
            ),
            (
                r#""maxv":7"#,
                r#""maxv":256"#,
                "`maxv` is 256, expected an integer from 0 to 255",
            ),
            (
                r#""maxv":7"#,
                r#""maxv":7.5"#,
                "`maxv` is 7.5, expected an integer from 0 to 255",
            ),
            (
                r#""serial":424242"#,
                r#""serial":4294967296"#,
                "`serial` is 4294967296, expected an integer from 0 to 4294967295",
            ),
            (
                r#""exp":"2027-12-31""#,
                r#""exp":"2027-02-30""#,
                "`exp`: \"2027-02-30\" is not a real calendar date",
            ),
            (
                r#""iat":"2026-11-23""#,
                r#""iat":null"#,
                "`iat` is null, expected a string",
            ),
            (r#""iat":"2026-11-23","#, "", "`iat` is missing"),
            (r#""maint":null,"#, "", "`maint` is missing"),
            (
                r#""host":null"#,
                r#""host":1"#,
                "`host` is a number, expected a string",
            ),
            (
                r#""prod":"acme-cad""#,
                r#""prod":["acme-cad"]"#,
                "`prod` is an array, expected a string",
            ),
            (
                r#"["ai-assist","export-dwg"]"#,
                r#""ai-assist""#,
                "`feat` is not an array",
            ),
            (
                r#"["ai-assist","export-dwg"]"#,
                r#"["ai-assist",7]"#,
                "`feat` holds a number, expected strings",
            ),
            (
                r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#,
                r#"{"id":"C-000042"}"#,
                "`cust`: `name` is missing",
            ),
            (
                r#"{"id":"C-000042","name":"Zoë Müller GmbH"}"#,
                r#""C-000042""#,
                "`cust` is not null or an object",
            ),
            (
                r#""order":"SO-1001""#,
                r#""order":false"#,
                "`order` is a boolean, expected a string",
            ),
        ];
        for (from, to, reason) in cases {
            let v = codec().decode(signed_with(from, to).as_bytes(), &cad());
            assert_eq!(
                (v.verdict, v.format.as_deref()),
                (Verdict::Malformed, Some(FORMAT)),
                "{to}"
            );
            assert_eq!(
                v.reason.as_deref(),
                Some(format!("payload: {reason}").as_str())
            );
            assert!(v.decoded.is_none());
        }
    }

    #[test]
    fn unknown_keys_and_features_are_kept_out_of_the_way() {
        let extra = signed_with(r#""v":1,"#, r#""v":1,"future":{"x":[1,2]},"#);
        assert_eq!(verdict(extra), Verdict::Valid);
        let cust_extra = signed_with(
            r#""name":"Zoë Müller GmbH""#,
            r#""name":"Zoë Müller GmbH","vat":"DE1""#,
        );
        assert_eq!(verdict(cust_extra), Verdict::Valid);
        let key = signed_with(
            r#"["ai-assist","export-dwg"]"#,
            r#"["export-dwg","teleport"]"#,
        );
        let v = codec().decode(key.as_bytes(), &cad());
        assert_eq!(v.verdict, Verdict::Valid);
        let features = v.decoded.unwrap().features.unwrap();
        assert_eq!(
            features,
            ["export-dwg", "teleport"].map(String::from).into()
        );
    }

    #[test]
    fn context_checks_come_in_order() {
        let c = codec();
        let key = c.encode(&spec()).unwrap();
        let check = |context: Context| c.decode(key.as_bytes(), &context).verdict;
        assert_eq!(
            check(ctx("acme-cad", 7, "2027-12-31", None)),
            Verdict::Valid
        );
        assert_eq!(
            check(ctx("acme-cad", 7, "2028-01-01", None)),
            Verdict::Expired
        );
        assert_eq!(
            check(ctx("acme-cad", 8, "2028-01-01", None)),
            Verdict::VersionNotCovered
        );
        assert_eq!(
            check(ctx("acme-sim", 8, "2028-01-01", None)),
            Verdict::WrongProduct
        );
        // Not node-locked: any host, or none, is fine.
        assert_eq!(
            check(ctx("acme-cad", 7, "2027-01-01", Some("H-1"))),
            Verdict::Valid
        );
        let v = c.decode(key.as_bytes(), &ctx("acme-cad", 7, "2028-01-01", None));
        assert_eq!(v.decoded, Some(Decoded::from_entitlement(&spec())));
    }

    #[test]
    fn node_locked_keys_need_the_same_host() {
        let c = codec();
        let e = Entitlement {
            host_id: Some("H-1".into()),
            ..spec()
        };
        let key = c.encode(&e).unwrap();
        let check = |host: Option<&str>, today: &str| {
            c.decode(key.as_bytes(), &ctx("acme-cad", 7, today, host))
                .verdict
        };
        assert_eq!(check(Some("H-1"), "2026-12-01"), Verdict::Valid);
        assert_eq!(check(Some("H-2"), "2026-12-01"), Verdict::HostMismatch);
        assert_eq!(check(Some("h-1"), "2026-12-01"), Verdict::HostMismatch);
        assert_eq!(check(None, "2026-12-01"), Verdict::HostMismatch);
        assert_eq!(check(Some(""), "2026-12-01"), Verdict::HostMismatch);
        // Expired comes first.
        assert_eq!(check(Some("H-2"), "2028-01-01"), Verdict::Expired);
    }

    #[test]
    fn generating_without_a_signing_key_is_unsupported() {
        let mut s = demo::ed1();
        s.remove("signing_key");
        s.remove("kid");
        let c = Ed1::from_settings(&Catalog::acme(), &s).unwrap();
        assert!(!c.can_sign());
        match c.encode(&spec()) {
            Err(GenerateFailure::Failed(f)) => assert_eq!(f.kind, FailureKind::Unsupported),
            other => panic!("{other:?}"),
        }
        // It still validates.
        assert_eq!(
            c.decode(codec().encode(&spec()).unwrap().as_bytes(), &cad())
                .verdict,
            Verdict::Valid
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let catalog = Catalog::acme();
        let with = |key: &str, value: Option<&str>| {
            let mut s = demo::ed1();
            match value {
                Some(v) => s.insert(key.into(), v.into()),
                None => s.remove(key),
            };
            Ed1::from_settings(&catalog, &s).unwrap_err().key
        };
        assert_eq!(with("trusted_keys", None), "trusted_keys");
        assert_eq!(with("trusted_keys", Some("")), "trusted_keys");
        assert_eq!(with("trusted_keys", Some("acme-demo-2026")), "trusted_keys");
        assert_eq!(
            with(
                "trusted_keys",
                Some(&format!("a:{0},b:{0}", demo::TEST1_PUBLIC))
            ),
            "trusted_keys"
        );
        assert_eq!(
            with("trusted_keys", Some(&format!(":{}", demo::TEST1_PUBLIC))),
            "trusted_keys"
        );
        assert_eq!(with("trusted_keys", Some("a:1234")), "trusted_keys");
        assert_eq!(with("signing_key", Some("xyz")), "signing_key");
        assert_eq!(with("signing_key", None), "kid");
        assert_eq!(with("kid", None), "kid");
        assert_eq!(with("kid", Some("")), "kid");
        let spaced = format!(
            " acme-demo-2026 : {} ,\n acme-demo-2025:{} ",
            demo::TEST1_PUBLIC,
            demo::TEST2_PUBLIC
        );
        let mut s = demo::ed1();
        s.insert("trusted_keys".into(), spaced);
        assert!(Ed1::from_settings(&catalog, &s).is_ok());
    }

    #[test]
    fn garbage_never_panics() {
        let c = codec();
        let big: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        assert_eq!(c.decode(&big, &cad()).verdict, Verdict::Malformed);
        let mut prefixed = b"key/".to_vec();
        prefixed.extend_from_slice(&big);
        assert_eq!(c.decode(&prefixed, &cad()).verdict, Verdict::Malformed);
        for bad in [
            &b"key/\xff\xfe.\x80"[..],
            b"key/.",
            b"key/....",
            b"\xc3\x28",
            b"key/e30=.\xff",
        ] {
            assert_eq!(c.decode(bad, &cad()).verdict, Verdict::Malformed);
        }
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let v = c.decode(c.sign_payload(deep.as_bytes()).unwrap().as_bytes(), &cad());
        assert_eq!(v.verdict, Verdict::Malformed);
    }
}
