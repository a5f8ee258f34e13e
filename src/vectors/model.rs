//! Checked vectors, and the conversion from the raw TOML tables of
//! [`super::schema`] that rejects, with a position, everything a run could
//! not interpret unambiguously.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::catalog::Catalog;
use crate::entitlement::{Entitlement, InvalidEntitlement};
use crate::verdict::{Context, Decoded, Verdict};

use super::error::{Locator, VectorError};
use super::result::VectorResult;
use super::schema::{
    RawContext, RawDecoded, RawEntitlement, RawEntitlementVector, RawExpectedKey, RawKeyPart,
    RawKeyVector,
};

/// The longest key a vector may spell (after `key_parts` are joined): large
/// enough for any length-limit test, small enough that a typo in `times`
/// cannot exhaust memory.
pub const MAX_KEY_BYTES: usize = 1 << 20;

/// What every generator of a format must answer for an entitlement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedKey {
    /// Exactly this key, byte for byte.
    Key(String),
    /// A declared refusal naming this entitlement field.
    Refused(String),
}

/// An entitlement with the exact key (or refusal) each format must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementVector {
    /// Stable id derived from the content (see [`entitlement_vector_id`](super::entitlement_vector_id)).
    pub id: String,
    /// The file, relative to the vectors directory, with `/` separators.
    pub file: String,
    /// Line of the vector's `[[entitlement]]` header.
    pub line: usize,
    /// Free text: why the vector exists.
    pub comment: String,
    /// CamelCase flags (vectors/README.md).
    pub flags: Vec<String>,
    /// Wycheproof result.
    pub result: VectorResult,
    /// The entitlement, checked against the catalog.
    pub entitlement: Entitlement,
    /// Expected key or refusal per format name.
    pub keys: BTreeMap<String, ExpectedKey>,
}

/// Key bytes, a context, and the verdict each named system must return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVector {
    /// Stable id derived from the content (see [`key_vector_id`](super::key_vector_id)).
    pub id: String,
    /// The file, relative to the vectors directory, with `/` separators.
    pub file: String,
    /// Line of the vector's `[[key]]` header.
    pub line: usize,
    /// Free text: why the vector exists.
    pub comment: String,
    /// CamelCase flags (vectors/README.md).
    pub flags: Vec<String>,
    /// Wycheproof result.
    pub result: VectorResult,
    /// The exact bytes validated (keys are untrusted bytes, not text).
    pub key: Vec<u8>,
    /// The validation context.
    pub context: Context,
    /// Expected verdict per system name; systems not named are not checked.
    pub expect: BTreeMap<String, Verdict>,
    /// A partial decode: the fields it carries must decode to these values
    /// wherever the verdict decodes (an uncarried field there is drift).
    pub decoded: Option<Decoded>,
}

/// The names cross-references are checked against (lint only).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Known<'a> {
    /// System names `expect` may use.
    pub systems: Option<&'a [String]>,
    /// Format names `keys` may use.
    pub formats: Option<&'a [String]>,
}

/// Collects errors while converting one file.
pub(crate) struct Converter<'a> {
    pub loc: Locator<'a>,
    pub catalog: &'a Catalog,
    pub known: Known<'a>,
    pub errors: Vec<VectorError>,
}

impl Converter<'_> {
    fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        let e = self.loc.error(span, message);
        self.errors.push(e);
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.loc.position(span.start).0
    }

    /// Converts an `[[entitlement]]`; `None` when it has errors.
    pub fn entitlement_vector(
        &mut self,
        file: &str,
        raw: &Spanned<RawEntitlementVector>,
    ) -> Option<EntitlementVector> {
        let before = self.errors.len();
        let span = raw.span();
        let raw = raw.get_ref();
        let flags = self.flags(&raw.flags);
        let result = raw
            .result
            .as_ref()
            .map_or(VectorResult::Valid, |r| *r.get_ref());
        let entitlement = self.entitlement(&raw.entitlement);
        let keys = self.expected_keys(&raw.keys);
        if let Some(r) = &raw.result {
            self.check_entitlement_result(r, &keys);
        }
        if raw.keys.is_empty() {
            self.err(
                span.clone(),
                "entitlement vector has no `keys`; hint: add `[entitlement.keys]` with the exact key or { refused = \"FIELD\" } per format",
            );
        }
        let v = EntitlementVector {
            id: String::new(),
            file: file.to_string(),
            line: self.line(&span),
            comment: raw.comment.clone(),
            flags,
            result,
            entitlement: entitlement?,
            keys,
        };
        (self.errors.len() == before).then_some(v)
    }

    fn check_entitlement_result(
        &mut self,
        result: &Spanned<VectorResult>,
        keys: &BTreeMap<String, ExpectedKey>,
    ) {
        let refuses = |k: &ExpectedKey| matches!(k, ExpectedKey::Refused(_));
        if *result.get_ref() == VectorResult::Invalid && !keys.values().all(refuses) {
            self.err(
                result.span(),
                "result = \"invalid\" means every format refuses the entitlement, but `keys` has a key",
            );
        }
    }

    /// Converts a `[[key]]`; `None` when it has errors.
    pub fn key_vector(&mut self, file: &str, raw: &Spanned<RawKeyVector>) -> Option<KeyVector> {
        let before = self.errors.len();
        let span = raw.span();
        let raw = raw.get_ref();
        let flags = self.flags(&raw.flags);
        let key = self.key_bytes(raw, span.clone());
        let context = context(raw.context.get_ref());
        let expect = self.expect(&raw.expect);
        let decoded = raw.decoded.as_ref().and_then(|d| self.decoded(d));
        self.check_key_result(raw, &expect);
        self.check_context_product(raw, &expect);
        if let Some(d) = &raw.decoded
            && !expect.values().any(|v| v.decodes())
        {
            self.err(
                d.span(),
                "`decoded` is checked only where the verdict decodes (valid or a context check), and no expectation does",
            );
        }
        let v = KeyVector {
            id: String::new(),
            file: file.to_string(),
            line: self.line(&span),
            comment: raw.comment.clone(),
            flags,
            result: *raw.result.get_ref(),
            key: key?,
            context,
            expect,
            decoded,
        };
        (self.errors.len() == before).then_some(v)
    }

    fn check_key_result(&mut self, raw: &RawKeyVector, expect: &BTreeMap<String, Verdict>) {
        let any_valid = expect.values().any(|v| *v == Verdict::Valid);
        let span = raw.result.span();
        match raw.result.get_ref() {
            VectorResult::Valid if !any_valid => self.err(
                span,
                "result = \"valid\" needs at least one system expected `valid`; use \"invalid\" for a key every system must reject",
            ),
            VectorResult::Invalid if any_valid => self.err(
                span,
                "result = \"invalid\" but a system is expected `valid`; use \"valid\" or \"acceptable\"",
            ),
            _ => {}
        }
        if raw.expect.get_ref().is_empty() {
            self.err(
                raw.expect.span(),
                "`expect` names no system; hint: expect = { old = \"valid\", new = \"valid\" }",
            );
        }
    }

    /// A context product the catalog does not know can only be answered
    /// `wrong_product` (or the key rejected before that check): a vector that
    /// expects any later verdict has a typo in its product, which would
    /// otherwise surface only as false outages in a run.
    fn check_context_product(&mut self, raw: &RawKeyVector, expect: &BTreeMap<String, Verdict>) {
        let product = &raw.context.get_ref().product;
        if self.catalog.product(product).is_some() {
            return;
        }
        let past_product = |v: &Verdict| {
            matches!(
                v,
                Verdict::Valid
                    | Verdict::VersionNotCovered
                    | Verdict::Expired
                    | Verdict::HostMismatch
            )
        };
        let Some((system, verdict)) = expect.iter().find(|(_, v)| past_product(v)) else {
            return;
        };
        let products: Vec<&str> = self
            .catalog
            .products
            .iter()
            .map(|p| p.slug.as_str())
            .collect();
        self.err(
            raw.context.span(),
            format!(
                "context.product {product:?} is not in the catalog (it has {}), yet {system} is expected `{verdict}`: \
                 a validator answers `wrong_product` for a product it does not know; hint: fix the product's \
                 spelling, or expect `wrong_product` to test an unknown product",
                products.join(", ")
            ),
        );
    }

    fn flags(&mut self, flags: &[Spanned<String>]) -> Vec<String> {
        let mut out = Vec::new();
        for f in flags {
            if !is_camel_case(f.get_ref()) {
                self.err(
                    f.span(),
                    format!(
                        "flag {:?} is not a CamelCase word (e.g. LowerCase, LeapDay)",
                        f.get_ref()
                    ),
                );
            } else if out.contains(f.get_ref()) {
                self.err(f.span(), format!("flag {:?} appears twice", f.get_ref()));
            } else {
                out.push(f.get_ref().clone());
            }
        }
        out
    }

    /// A checked entitlement from its TOML form, or an error at the field.
    pub fn entitlement(&mut self, raw: &Spanned<RawEntitlement>) -> Option<Entitlement> {
        let r = raw.get_ref();
        let mut features = BTreeSet::new();
        for f in r.features.iter().flat_map(|f| f.get_ref()) {
            if !features.insert(f.get_ref().clone()) {
                self.err(f.span(), format!("feature {:?} appears twice", f.get_ref()));
            }
        }
        let e = Entitlement {
            product: r.product.get_ref().clone(),
            edition: r.edition.get_ref().clone(),
            max_major: *r.max_major.get_ref(),
            features,
            seats: r.seats.as_ref().map(|s| *s.get_ref()),
            issued: r.issued.get_ref().0,
            expires: r.expires.as_ref().map(|d| d.get_ref().0),
            maintenance_until: r.maintenance_until.as_ref().map(|d| d.get_ref().0),
            serial: *r.serial.get_ref(),
            customer: r.customer.as_ref().map(|c| c.get_ref().clone()),
            order_id: r.order_id.as_ref().map(|o| o.get_ref().clone()),
            host_id: r.host_id.as_ref().map(|h| h.get_ref().clone()),
        };
        match e.check(self.catalog) {
            Ok(()) => Some(e),
            Err(invalid) => {
                let span = field_span(raw, &invalid);
                self.err(span, format!("invalid entitlement: {invalid}"));
                None
            }
        }
    }

    fn expected_keys(
        &mut self,
        keys: &BTreeMap<Spanned<String>, Spanned<RawExpectedKey>>,
    ) -> BTreeMap<String, ExpectedKey> {
        let mut out = BTreeMap::new();
        for (format, expected) in keys {
            if let Some(known) = self.known.formats
                && !known.contains(format.get_ref())
            {
                self.err(
                    format.span(),
                    format!(
                        "unknown format {:?}; the config's [formats] are: {}",
                        format.get_ref(),
                        known.join(", ")
                    ),
                );
            }
            let value = match expected.get_ref() {
                RawExpectedKey::Key(k) if k.is_empty() => {
                    self.err(
                        expected.span(),
                        "an expected key must not be empty; for a refusal write { refused = \"FIELD\" }",
                    );
                    continue;
                }
                RawExpectedKey::Key(k) => ExpectedKey::Key(k.clone()),
                RawExpectedKey::Refused(f) => ExpectedKey::Refused(f.clone()),
            };
            out.insert(format.get_ref().clone(), value);
        }
        out
    }

    fn expect(
        &mut self,
        expect: &Spanned<BTreeMap<Spanned<String>, Spanned<Verdict>>>,
    ) -> BTreeMap<String, Verdict> {
        let mut out = BTreeMap::new();
        for (system, verdict) in expect.get_ref() {
            if let Some(known) = self.known.systems
                && !known.contains(system.get_ref())
            {
                self.err(
                    system.span(),
                    format!(
                        "unknown system {:?} in `expect`; the config defines: {}",
                        system.get_ref(),
                        known.join(", ")
                    ),
                );
            }
            out.insert(system.get_ref().clone(), *verdict.get_ref());
        }
        out
    }

    fn key_bytes(&mut self, raw: &RawKeyVector, span: Range<usize>) -> Option<Vec<u8>> {
        let given: Vec<Range<usize>> = [
            raw.key.as_ref().map(Spanned::span),
            raw.key_hex.as_ref().map(Spanned::span),
            raw.key_parts.as_ref().map(Spanned::span),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() > 1 {
            self.err(
                given[1].clone(),
                "set exactly one of `key`, `key_hex` and `key_parts`",
            );
            return None;
        }
        if let Some(k) = &raw.key {
            Some(k.get_ref().as_bytes().to_vec())
        } else if let Some(h) = &raw.key_hex {
            self.hex(h.get_ref(), h.span())
        } else if let Some(parts) = &raw.key_parts {
            self.key_parts(parts)
        } else {
            self.err(
                span,
                "key vector has no key; set `key`, `key_hex` or `key_parts`",
            );
            None
        }
    }

    fn hex(&mut self, text: &str, span: Range<usize>) -> Option<Vec<u8>> {
        match hex::decode(text) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.err(span, format!("not hex bytes: {e}"));
                None
            }
        }
    }

    fn key_parts(&mut self, parts: &Spanned<Vec<Spanned<RawKeyPart>>>) -> Option<Vec<u8>> {
        let mut key = Vec::new();
        for part in parts.get_ref() {
            let p = part.get_ref();
            let bytes = match (&p.text, &p.hex) {
                (Some(t), None) => t.as_bytes().to_vec(),
                (None, Some(h)) => self.hex(h, part.span())?,
                _ => {
                    self.err(
                        part.span(),
                        "a key part sets exactly one of `text` and `hex`",
                    );
                    return None;
                }
            };
            let times = p.times.unwrap_or(1) as usize;
            if times == 0 || bytes.len().saturating_mul(times) > MAX_KEY_BYTES - key.len() {
                self.err(
                    part.span(),
                    format!(
                        "`times` must be at least 1, and the key at most {MAX_KEY_BYTES} bytes"
                    ),
                );
                return None;
            }
            key.extend(bytes.repeat(times));
        }
        Some(key)
    }

    fn decoded(&mut self, raw: &Spanned<RawDecoded>) -> Option<Decoded> {
        let r = raw.get_ref();
        let mut d = Decoded {
            product: r.product.clone(),
            edition: r.edition.clone(),
            max_major: r.max_major,
            features: r.features.as_ref().map(|f| f.iter().cloned().collect()),
            seats: r.seats.map(Some),
            issued: r.issued.map(|d| d.0),
            expires: r.expires.map(|d| Some(d.0)),
            maintenance_until: r.maintenance_until.map(|d| Some(d.0)),
            serial: r.serial,
            customer: r.customer.clone().map(Some),
            order_id: r.order_id.clone().map(Some),
            host_id: r.host_id.clone().map(Some),
        };
        let before = self.errors.len();
        for name in &r.null {
            if let Err(message) = set_null(&mut d, name.get_ref()) {
                self.err(name.span(), message);
            }
        }
        if d.carried().is_empty() {
            self.err(raw.span(), "`decoded` lists no field");
        }
        (self.errors.len() == before).then_some(d)
    }
}

fn context(raw: &RawContext) -> Context {
    Context {
        product: raw.product.clone(),
        version: raw.version,
        today: raw.today.0,
        host_id: raw.host_id.clone(),
    }
}

/// Marks `field` as expected null in a partial decode.
fn set_null(d: &mut Decoded, field: &str) -> Result<(), String> {
    let free = |carried: bool| {
        if carried {
            Err(format!(
                "{field} is given a value or listed twice in `null`"
            ))
        } else {
            Ok(())
        }
    };
    match field {
        "seats" => free(d.seats.is_some()).map(|()| d.seats = Some(None)),
        "expires" => free(d.expires.is_some()).map(|()| d.expires = Some(None)),
        "maintenance_until" => {
            free(d.maintenance_until.is_some()).map(|()| d.maintenance_until = Some(None))
        }
        "customer" => free(d.customer.is_some()).map(|()| d.customer = Some(None)),
        "order_id" => free(d.order_id.is_some()).map(|()| d.order_id = Some(None)),
        "host_id" => free(d.host_id.is_some()).map(|()| d.host_id = Some(None)),
        _ => Err(format!(
            "{field:?} cannot be null; `null` lists seats, expires, maintenance_until, customer, order_id or host_id"
        )),
    }
}

/// The span of the field an [`InvalidEntitlement`] names.
fn field_span(raw: &Spanned<RawEntitlement>, invalid: &InvalidEntitlement) -> Range<usize> {
    let r = raw.get_ref();
    let opt = |s: Option<Range<usize>>| s.unwrap_or_else(|| raw.span());
    match invalid.field.split('.').next().unwrap_or_default() {
        "product" => r.product.span(),
        "edition" => r.edition.span(),
        "features" => opt(r.features.as_ref().map(Spanned::span)),
        "seats" => opt(r.seats.as_ref().map(Spanned::span)),
        "expires" => opt(r.expires.as_ref().map(Spanned::span)),
        "maintenance_until" => opt(r.maintenance_until.as_ref().map(Spanned::span)),
        "customer" => opt(r.customer.as_ref().map(Spanned::span)),
        "order_id" => opt(r.order_id.as_ref().map(Spanned::span)),
        "host_id" => opt(r.host_id.as_ref().map(Spanned::span)),
        _ => raw.span(),
    }
}

/// Whether `s` is one CamelCase word: an upper-case ASCII letter, then ASCII
/// letters and digits.
pub fn is_camel_case(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}
