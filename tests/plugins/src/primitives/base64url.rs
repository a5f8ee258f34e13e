//! base64url with `=` padding (RFC 4648, section 5), decoding only.
//!
//! `lax-signature` needs the payload of an acme-ed1 key whose signature
//! keycompat's codec rejects, and the codec does not hand it out.

/// The base64url alphabet.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The bytes of canonical padded base64url text, or `None` when the text is
/// not canonical (wrong length or padding, a foreign symbol, trailing bits).
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let padding = text.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &symbol in &text[..text.len() - padding] {
        let index = ALPHABET.iter().position(|&s| s == symbol)?;
        // At most 12 bits are pending: keep just those.
        acc = ((acc << 6) | u32::try_from(index).ok()?) & 0xFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xFF).ok()?);
        }
    }
    let trailing_zero = acc & ((1 << bits) - 1) == 0;
    trailing_zero.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_rfc_4648_vectors() {
        let cases: [(&str, &str); 7] = [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ];
        for (text, bytes) in cases {
            assert_eq!(decode(text.as_bytes()).as_deref(), Some(bytes.as_bytes()));
        }
        assert_eq!(decode(b"-_8="), Some(vec![0xfb, 0xff]));
    }

    #[test]
    fn rejects_what_is_not_canonical() {
        for bad in [
            "Zg", "Zg=", "Zh==", "Z===", "Zm9v+g==", "Zm9v/w==", "Zg==Zg==",
        ] {
            assert_eq!(decode(bad.as_bytes()), None, "{bad}");
        }
    }
}
