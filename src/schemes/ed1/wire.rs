//! The acme-ed1 text form, `key/` + base64url(payload) + `.` +
//! base64url(signature): written in one spelling, and read back only from
//! that one spelling (SCHEMES.md's validation steps 1 and 2).

use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::{Engine, alphabet};
use ed25519_dalek::{Signer, SigningKey};

/// What every acme-ed1 key starts with.
pub const PREFIX: &str = "key/";
/// The longest key accepted, in bytes after trimming (16 KiB).
pub const MAX_KEY_BYTES: usize = 16 * 1024;

/// base64url with `=` padding; decoding requires canonical padding and no
/// trailing bits.
pub(super) const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// `key/` + base64url(payload) + `.` + base64url(signature), the signature
/// made by `signing` over everything before the `.`.
pub(super) fn sign(payload: &[u8], signing: &SigningKey) -> String {
    let mut key = String::with_capacity(PREFIX.len() + payload.len() * 4 / 3 + 96);
    key.push_str(PREFIX);
    B64.encode_string(payload, &mut key);
    let signature = signing.sign(key.as_bytes());
    key.push('.');
    B64.encode_string(signature.to_bytes(), &mut key);
    key
}

/// `key` without surrounding spaces, tabs, CRs and LFs.
pub(super) fn trim(key: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = key.iter().position(|b| !space(b)).unwrap_or(key.len());
    let end = key.iter().rposition(|b| !space(b)).map_or(start, |i| i + 1);
    &key[start..end]
}

/// A key that has the form of acme-ed1 (step 2), before its signature is checked.
pub(super) struct Parts<'a> {
    /// The exact bytes before the `.`: what the signature covers.
    pub signed: &'a [u8],
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The decoded signature.
    pub signature: [u8; 64],
}

/// Splits a trimmed key into its [`Parts`], or says why it is malformed (step 2).
pub(super) fn split(key: &[u8]) -> Result<Parts<'_>, String> {
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "{} bytes, more than the {MAX_KEY_BYTES} an acme-ed1 key may have",
            key.len()
        ));
    }
    let rest = key
        .strip_prefix(PREFIX.as_bytes())
        .ok_or_else(|| format!("no `{PREFIX}` prefix"))?;
    // The dot is near the end (a signature is 88 symbols): look for it
    // there, then for another one in the rest with memchr.
    let dot = rest.iter().rposition(|&b| b == b'.');
    let Some(dot) = dot.filter(|&dot| !rest[..dot].contains(&b'.')) else {
        let dots = rest.iter().filter(|&&b| b == b'.').count();
        return Err(format!(
            "{dots} dots after `{PREFIX}`, expected exactly one"
        ));
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schemes::ed1::codec::FORMAT;
    use crate::schemes::ed1::testing::{SPEC_PAYLOAD, cad, codec, spec, verdict};
    use crate::verdict::Verdict;

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
    fn the_dots_are_counted() {
        let key = codec().encode(&spec()).unwrap();
        let (body, sig) = key.strip_prefix(PREFIX).unwrap().split_once('.').unwrap();
        for (key, dots) in [
            (format!("key/{body}{sig}"), 0),
            (format!("key/{body}.{sig}."), 2),
            (format!("key/.{body}.{sig}"), 2),
            (format!("key/{body}..{sig}"), 2),
            (format!("key/{body}.{sig}.{sig}.x"), 3),
        ] {
            let v = codec().decode(key.as_bytes(), &cad());
            let reason = format!("{dots} dots after `key/`, expected exactly one");
            assert_eq!(v.reason, Some(reason), "{key}");
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
}
