//! TAMPER's mutation families: the ways keys get damaged or disguised on
//! their way from a license e-mail to a product's dialog.
//!
//! Each [`Mutation`] says whether it is *benign* for a key format: a benign
//! mutation (surrounding whitespace; for Crockford keys also case, dashes and
//! look-alike letters) must still validate, any other must be rejected. The
//! families follow real failures collected in the research notes: copy-paste
//! whitespace, mail clients eating dashes, case drift between generator and
//! validator, look-alike characters, truncation, and base64 re-encoding.
//!
//! Forgeries ([`Mutation::forged`]) are keys whose payload was changed and
//! correctly re-authenticated by an implementation that holds the secret
//! (see [`crate::forgery`]): the only way to reach a validator's checks of
//! the payload itself.
//!
//! [`context_mutations`] tamper with the other half of a validation: the
//! unchanged key shown to another product, a version above its licence, or
//! another machine. Old and new must refuse (or, for a key that is not
//! node-locked, accept) these alike; a new system that accepts a key outside
//! its licence is a leak no key mutation finds.

use crate::forgery::Forgery;
use crate::verdict::{Context, Verdict, Version};

/// A mutated key and what it should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    /// The family, e.g. `lower-case`; part of a finding's cause.
    pub family: &'static str,
    /// The mutated key bytes.
    pub key: Vec<u8>,
    /// Whether a correct validator accepts it.
    pub benign: bool,
    /// The context to present it in, when not the entitlement's own.
    pub context: Option<Context>,
    /// For a forgery (a payload changed and correctly re-authenticated), the
    /// verdict its format requires; it is judged, like every other change
    /// of a key, only on being rejected.
    pub forged: Option<Verdict>,
}

impl Mutation {
    /// A forgery presented in the key's own context: never benign.
    pub fn forged(f: Forgery) -> Self {
        Mutation {
            family: f.family,
            key: f.key.into_bytes(),
            benign: false,
            context: None,
            forged: Some(f.verdict),
        }
    }
}

/// Whether `key` is in the Crockford-base32 human form (acme-lk1 style),
/// where case, dashes, inner whitespace and O/I/L look-alikes are folded.
fn is_crockford_form(key: &str) -> bool {
    !key.starts_with("key/") && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The next symbol in the key's own alphabet, so a changed symbol stays
/// well-formed and only the MAC or signature can catch it.
fn next_symbol(c: u8, crockford: bool) -> u8 {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let alphabet = if crockford { CROCKFORD } else { B64URL };
    match alphabet.iter().position(|&a| a == c) {
        Some(i) => alphabet[(i + 1) % alphabet.len()],
        None => c,
    }
}

/// Positions of symbols a changed symbol should hit: first, middle, last
/// (skipping separators, prefixes and padding).
fn symbol_positions(key: &[u8], crockford: bool) -> Vec<usize> {
    let start = if crockford { 0 } else { 4 };
    let body: Vec<usize> = (start..key.len())
        .filter(|&i| {
            let c = key[i];
            if crockford {
                c != b'-'
            } else {
                c != b'.' && c != b'='
            }
        })
        .collect();
    if body.is_empty() {
        return Vec::new();
    }
    let mut picks = vec![body[0], body[body.len() / 2], body[body.len() - 1]];
    picks.dedup();
    picks
}

/// Every mutation of `key`. Mutations that leave the key unchanged are dropped.
pub fn mutations(key: &str) -> Vec<Mutation> {
    let crockford = is_crockford_form(key);
    let bytes = key.as_bytes();
    let mut out = Vec::new();
    let mut push = |family, k: Vec<u8>, benign| {
        if k != bytes {
            out.push(Mutation {
                family,
                key: k,
                benign,
                context: None,
                forged: None,
            });
        }
    };
    push(
        "surrounding-whitespace",
        format!(" \t{key}\r\n").into_bytes(),
        true,
    );
    push(
        "lower-case",
        key.to_ascii_lowercase().into_bytes(),
        crockford,
    );
    push(
        "swapped-case",
        swap_first_letter_case(key).into_bytes(),
        crockford,
    );
    push("no-dashes", key.replace('-', "").into_bytes(), crockford);
    push("inner-space", insert_mid(key, " ").into_bytes(), crockford);
    push(
        "line-break",
        insert_mid(key, "\r\n").into_bytes(),
        crockford,
    );
    push("look-alike", look_alike(key).into_bytes(), crockford);
    for (n, pos) in symbol_positions(bytes, crockford).into_iter().enumerate() {
        let mut k = bytes.to_vec();
        k[pos] = next_symbol(k[pos], crockford);
        push(
            [
                "changed-first-symbol",
                "changed-middle-symbol",
                "changed-last-symbol",
            ][n],
            k,
            false,
        );
    }
    push(
        "truncated",
        bytes[..bytes.len().saturating_sub(1)].to_vec(),
        false,
    );
    push("extended", [bytes, b"A"].concat(), false);
    push(
        "en-dash",
        key.replacen('-', "\u{2013}", 1).into_bytes(),
        false,
    );
    push(
        "cyrillic-look-alike",
        key.replacen('A', "\u{0410}", 1).into_bytes(),
        false,
    );
    push("nbsp", format!("\u{00A0}{key}").into_bytes(), false);
    push(
        "zero-width-space",
        insert_mid(key, "\u{200B}").into_bytes(),
        false,
    );
    push(
        "full-width",
        full_width_first_digit(key).into_bytes(),
        false,
    );
    push("padding-stripped", key.replace('=', "").into_bytes(), false);
    push(
        "std-alphabet",
        key.replace('-', "+").replace('_', "/").into_bytes(),
        false,
    );
    out
}

/// The family of a node-locked key presented on another host.
pub const OTHER_HOST: &str = "other-host";

/// The unchanged key in contexts around `own`, the context it was issued
/// for: `other_product` running it (`wrong_product`), the major version after
/// `max_major` (`version_not_covered`; none when `max_major` is 255), and
/// another machine (`host_mismatch` for a node-locked key, valid for one
/// that is not).
pub fn context_mutations(
    key: &str,
    own: &Context,
    max_major: u8,
    other_product: Option<&str>,
) -> Vec<Mutation> {
    let mut out = Vec::new();
    let mut push = |family, benign, context| {
        out.push(Mutation {
            family,
            key: key.as_bytes().to_vec(),
            benign,
            context: Some(context),
            forged: None,
        })
    };
    if let Some(product) = other_product {
        push(
            "other-product",
            false,
            Context {
                product: product.to_string(),
                ..own.clone()
            },
        );
    }
    if let Some(next) = max_major.checked_add(1) {
        push(
            "version-above-licence",
            false,
            Context {
                version: Version {
                    major: u32::from(next),
                    minor: 0,
                },
                ..own.clone()
            },
        );
    }
    let locked = own.host_id.is_some();
    let other_host = match &own.host_id {
        Some(h) if h != "HOST-OTHER" => "HOST-OTHER".to_string(),
        Some(_) => "HOST-ELSEWHERE".to_string(),
        None => "HOST-ANY".to_string(),
    };
    push(
        if locked { OTHER_HOST } else { "any-host" },
        !locked,
        Context {
            host_id: Some(other_host),
            ..own.clone()
        },
    );
    out
}

fn insert_mid(key: &str, what: &str) -> String {
    let mut mid = key.len() / 2;
    while !key.is_char_boundary(mid) {
        mid += 1;
    }
    format!("{}{what}{}", &key[..mid], &key[mid..])
}

fn swap_first_letter_case(key: &str) -> String {
    let mut done = false;
    key.chars()
        .map(|c| {
            if !done && c.is_ascii_alphabetic() {
                done = true;
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            } else {
                c
            }
        })
        .collect()
}

/// `0` written as `O`, `1` as `I`: what people type from a printed key.
fn look_alike(key: &str) -> String {
    key.replace('0', "O").replace('1', "I")
}

fn full_width_first_digit(key: &str) -> String {
    match key.char_indices().find(|(_, c)| c.is_ascii_digit()) {
        Some((i, c)) => {
            let wide = char::from_u32(0xFF10 + (c as u32 - '0' as u32)).unwrap_or(c);
            format!("{}{wide}{}", &key[..i], &key[i + 1..])
        }
        None => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;

    fn own(host: Option<&str>) -> Context {
        Context {
            product: "acme-cad".into(),
            version: Version { major: 7, minor: 0 },
            today: Day::parse("2026-11-23").expect("day"),
            host_id: host.map(str::to_string),
        }
    }

    #[test]
    fn context_mutations_leave_the_licence_and_keep_the_key() {
        let m = context_mutations("K", &own(Some("H1")), 7, Some("acme-viewer"));
        let families: Vec<_> = m.iter().map(|m| (m.family, m.benign)).collect();
        assert_eq!(
            families,
            [
                ("other-product", false),
                ("version-above-licence", false),
                ("other-host", false)
            ]
        );
        assert!(m.iter().all(|m| m.key == b"K"));
        let ctx = |i: usize| m[i].context.as_ref().expect("a context");
        assert_eq!(ctx(0).product, "acme-viewer");
        assert_eq!(ctx(1).version.major, 8);
        assert_eq!(ctx(2).host_id.as_deref(), Some("HOST-OTHER"));
    }

    #[test]
    fn an_unlocked_key_runs_on_any_host_and_255_has_no_version_above() {
        let m = context_mutations("K", &own(None), 255, None);
        let families: Vec<_> = m.iter().map(|m| (m.family, m.benign)).collect();
        assert_eq!(families, [("any-host", true)]);
        let m = context_mutations("K", &own(Some("HOST-OTHER")), 1, None);
        assert_eq!(
            m.last().and_then(|m| m.context.as_ref()?.host_id.clone()),
            Some("HOST-ELSEWHERE".into())
        );
    }

    #[test]
    fn crockford_keys_fold_case_dashes_and_look_alikes() {
        let m = mutations("24A0M-02T1K-7Y9KS-689RQ-7B450");
        let benign: Vec<_> = m.iter().filter(|m| m.benign).map(|m| m.family).collect();
        assert_eq!(
            benign,
            [
                "surrounding-whitespace",
                "lower-case",
                "swapped-case",
                "no-dashes",
                "inner-space",
                "line-break",
                "look-alike"
            ]
        );
        assert!(
            m.iter()
                .any(|m| m.family == "changed-last-symbol" && m.key.ends_with(b"1"))
        );
        // No-op families (no '=' to strip) are dropped.
        assert!(!m.iter().any(|m| m.family == "padding-stripped"));
    }

    #[test]
    fn signed_keys_only_tolerate_surrounding_whitespace() {
        let m = mutations("key/eyJ2IjoxfQ==.c2ln-_A==");
        for x in &m {
            assert_eq!(
                x.benign,
                x.family == "surrounding-whitespace",
                "{}",
                x.family
            );
            assert_ne!(x.key, b"key/eyJ2IjoxfQ==.c2ln-_A==");
        }
        assert!(m.iter().any(|m| m.family == "padding-stripped"));
        assert!(m.iter().any(|m| m.family == "std-alphabet"));
    }
}
