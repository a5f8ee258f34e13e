//! The planted defects of the acme-ed1 path of the new system.
//!
//! As in [`crate::legacy`], each is keycompat's own codec ([`Ed1`]) with one
//! step changed, so everything else about the key stays per spec.

use keycompat::catalog::Catalog;
use keycompat::entitlement::Entitlement;
use keycompat::implementation::GenerateFailure;
use keycompat::schemes::ed1::{Ed1, PREFIX};
use keycompat::settings::Settings;
use keycompat::verdict::{Context, Validation, Verdict};

/// RFC 8032 section 7.1 TEST 3, a public test key pair: the throwaway key
/// [`LaxVerifier`] re-signs payloads with. Never a key anyone trusts.
const THROWAWAY_SECRET: &str = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";
/// The public half of [`THROWAWAY_SECRET`].
const THROWAWAY_PUBLIC: &str = "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025";

/// `lax-signature`: the validator checks that the signature is 64 bytes of
/// canonical base64url but never verifies it (the verify call's result is
/// dropped), and takes the payload's `kid` at its word if it names a trusted
/// key. Everything else (payload form, version, context checks) is per spec.
///
/// The spec's later steps are keycompat's codec: a key it rejects only for
/// its signature is re-signed, under each trusted kid, with a throwaway key
/// that a per-kid checker codec trusts, and the checker judges the payload.
#[derive(Debug, Clone)]
pub(crate) struct LaxVerifier {
    /// One checker per trusted kid, in the order of `trusted_keys`.
    checkers: Vec<Ed1>,
}

impl LaxVerifier {
    /// A verifier trusting the kids of `trusted_keys` (`kid:hex,...`).
    pub(crate) fn new(catalog: &Catalog, trusted_keys: &str) -> Result<Self, String> {
        let checkers = trusted_keys
            .split(',')
            .map(|entry| match entry.split_once(':') {
                Some((kid, _)) => checker(catalog, kid.trim()),
                None => Err(format!(
                    "setting `trusted_keys`: {entry:?} is not `kid:hex`"
                )),
            })
            .collect::<Result<_, _>>()?;
        Ok(LaxVerifier { checkers })
    }

    /// Validates like `codec`, but without verifying signatures.
    pub(crate) fn decode(&self, codec: &Ed1, key: &[u8], ctx: &Context) -> Validation {
        let v = codec.decode(key, ctx);
        if v.verdict != Verdict::BadSignature {
            return v;
        }
        let Some(payload) = unverified_payload(key) else {
            return v;
        };
        self.judge_unverified(&payload, ctx).unwrap_or(v)
    }

    /// The spec's steps 4 to 7 on a payload whose signature nobody checked:
    /// the answer of the checker whose kid the payload names, or (when it
    /// names none, or its `v` is wrong) the first checker's answer.
    fn judge_unverified(&self, payload: &[u8], ctx: &Context) -> Option<Validation> {
        let mut first = None;
        for checker in &self.checkers {
            let Ok(resigned) = checker.sign_payload(payload) else {
                continue;
            };
            let answer = checker.decode(resigned.as_bytes(), ctx);
            if answer.verdict != Verdict::UnsupportedFormat {
                return Some(answer);
            }
            first.get_or_insert(answer);
        }
        first
    }
}

/// `version-ignored`: the validator never reads `v`; everything else
/// (signature, kid, payload form, context checks) is per spec.
///
/// A key the spec rejects as `unsupported_format` although its kid names the
/// key that verified it (so `v` was the reason) is judged as if `v` were 1:
/// the payload with `v` set to 1 is re-signed, under the kid that verified,
/// with a throwaway key that a per-kid checker codec trusts.
#[derive(Debug, Clone)]
pub(crate) struct VersionBlind {
    /// Per trusted kid: a codec trusting only that kid's key (to learn which
    /// key verified), and the checker of [`checker`].
    kids: Vec<(Ed1, Ed1)>,
}

impl VersionBlind {
    /// A validator trusting the keys of `trusted_keys` (`kid:hex,...`).
    pub(crate) fn new(catalog: &Catalog, trusted_keys: &str) -> Result<Self, String> {
        let kids = trusted_keys
            .split(',')
            .map(|entry| {
                let (kid, _) = entry
                    .split_once(':')
                    .ok_or_else(|| format!("setting `trusted_keys`: {entry:?} is not `kid:hex`"))?;
                let only: Settings = [("trusted_keys".to_string(), entry.trim().to_string())]
                    .into_iter()
                    .collect();
                let verifier = Ed1::from_settings(catalog, &only).map_err(|e| e.to_string())?;
                Ok((verifier, checker(catalog, kid.trim())?))
            })
            .collect::<Result<_, String>>()?;
        Ok(VersionBlind { kids })
    }

    /// Validates like `codec`, but without reading `v`.
    pub(crate) fn decode(&self, codec: &Ed1, key: &[u8], ctx: &Context) -> Validation {
        let v = codec.decode(key, ctx);
        if v.verdict != Verdict::UnsupportedFormat {
            return v;
        }
        let Some(payload) = unverified_payload(key).and_then(|p| with_version_1(&p)) else {
            return v;
        };
        let verified_by = self
            .kids
            .iter()
            .find(|(verifier, _)| verifier.decode(key, ctx).verdict != Verdict::BadSignature);
        let Some((_, checker)) = verified_by else {
            return v;
        };
        match checker.sign_payload(&payload) {
            Ok(resigned) => checker.decode(resigned.as_bytes(), ctx),
            Err(_) => v,
        }
    }
}

/// The payload with `v` set to 1 (the bug: whatever it was is never read),
/// or `None` when it already is 1 or is no JSON object.
fn with_version_1(payload: &[u8]) -> Option<Vec<u8>> {
    let serde_json::Value::Object(mut object) = serde_json::from_slice(payload).ok()? else {
        return None;
    };
    if object.get("v") == Some(&serde_json::Value::from(1)) {
        return None;
    }
    object.insert("v".into(), serde_json::Value::from(1));
    serde_json::to_vec(&object).ok()
}

/// A codec that signs with the throwaway key as `kid` and trusts only that.
fn checker(catalog: &Catalog, kid: &str) -> Result<Ed1, String> {
    let settings: Settings = [
        ("signing_key", THROWAWAY_SECRET.to_string()),
        ("kid", kid.to_string()),
        ("trusted_keys", format!("{kid}:{THROWAWAY_PUBLIC}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ed1::from_settings(catalog, &settings).map_err(|e| e.to_string())
}

/// The decoded payload of a well-formed acme-ed1 key, signature unchecked.
fn unverified_payload(key: &[u8]) -> Option<Vec<u8>> {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = key.iter().position(|b| !space(b))?;
    let end = key.iter().rposition(|b| !space(b))? + 1;
    let body = key[start..end].strip_prefix(PREFIX.as_bytes())?;
    let dot = body.iter().position(|&b| b == b'.')?;
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE
        .decode(&body[..dot])
        .ok()
}

/// Bytes in the customer-name column of the issuing service's audit record.
const NAME_COLUMN: usize = 64;

/// `crash-long-name`: before signing, the issuer copies the customer name
/// into a fixed 64-byte column (a schema inherited from the old EMS's
/// database) without a length check, and panics on a longer name.
pub(crate) fn encode_with_name_column(
    codec: &Ed1,
    e: &Entitlement,
) -> Result<String, GenerateFailure> {
    if let Some(customer) = &e.customer {
        std::hint::black_box(name_column(&customer.name));
    }
    codec.encode(e)
}

/// The name as the audit record's column holds it.
fn name_column(name: &str) -> [u8; NAME_COLUMN] {
    let mut column = [0u8; NAME_COLUMN];
    column[..name.len()].copy_from_slice(name.as_bytes()); // the bug: no length check
    column
}

/// `payload-ascii-escaped`: the issuer writes the payload with every
/// non-ASCII character escaped as `\uXXXX` (JSON's ASCII-only output, the
/// default of Python's `json.dumps`), where the spec requires raw UTF-8. The
/// key is still correctly signed and every JSON reader decodes the same
/// strings, so only a byte-exact comparison with another issuer's key (or a
/// vector) sees it.
pub(crate) fn encode_ascii_escaped(
    codec: &Ed1,
    e: &Entitlement,
) -> Result<String, GenerateFailure> {
    let spec = codec.encode(e)?;
    let Some(payload) = unverified_payload(spec.as_bytes()) else {
        return Ok(spec);
    };
    let text = String::from_utf8_lossy(&payload);
    if text.is_ascii() {
        return Ok(spec);
    }
    let mut escaped = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii() {
            escaped.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                escaped.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    codec.sign_payload(escaped.as_bytes())
}
