//! acme-lk1 key text (SCHEMES.md): 25 Crockford base32 symbols in five
//! dash-separated groups, holding a 125-bit value most significant first.
//!
//! `mac-wrong-bytes` builds and reads keys whose MAC keycompat's codec would
//! reject, so it needs the text layer on its own. [`parse`] normalises exactly
//! as the spec says (a test pins it to keycompat's validator).

/// Crockford base32.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a key.
const SYMBOLS: usize = 25;
/// Symbols per group.
const GROUP: usize = 5;

/// The 125-bit `value` as `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`.
pub(crate) fn format(value: u128) -> String {
    let mut out = String::with_capacity(SYMBOLS + SYMBOLS / GROUP - 1);
    for i in 0..SYMBOLS {
        if i > 0 && i % GROUP == 0 {
            out.push('-');
        }
        let symbol = (value >> (5 * (SYMBOLS - 1 - i))) & 31;
        out.push(char::from(ALPHABET[symbol as usize]));
    }
    out
}

/// The 125-bit value of key text, normalised as the spec says: spaces, tabs,
/// CRs, LFs and dashes deleted, ASCII upper-cased, `O` read as 0 and `I`, `L`
/// as 1; anything else but exactly 25 symbols is malformed (the reason).
pub(crate) fn parse(key: &[u8]) -> Result<u128, String> {
    let mut value = 0u128;
    let mut count = 0usize;
    for (offset, &byte) in key.iter().enumerate() {
        if is_separator(byte) {
            continue;
        }
        let symbol = symbol_value(byte).ok_or_else(|| {
            format!("byte 0x{byte:02X} at offset {offset} is not a Crockford base32 symbol")
        })?;
        if count < SYMBOLS {
            value = (value << 5) | u128::from(symbol);
        }
        count += 1;
    }
    if count != SYMBOLS {
        return Err(format!(
            "{count} symbols after normalisation, expected {SYMBOLS}"
        ));
    }
    Ok(value)
}

/// Whether normalisation deletes this byte (space, tab, CR, LF, `-`).
pub(crate) fn is_separator(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'-')
}

/// The value of one key byte after case and look-alike folding.
pub(crate) fn symbol_value(byte: u8) -> Option<u8> {
    let folded = match byte.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        other => other,
    };
    let index = ALPHABET.iter().position(|&s| s == folded)?;
    u8::try_from(index).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SCHEMES.md's worked example and its 125-bit value.
    const WORKED: &str = "24A0M-02T1K-7Y9KS-689RQ-7B450";

    #[test]
    fn format_and_parse_are_inverse() {
        let value = parse(WORKED.as_bytes()).unwrap();
        assert_eq!(format(value), WORKED);
        assert_eq!(format(0), "00000-00000-00000-00000-00000");
        let max = (1u128 << 125) - 1;
        assert_eq!(format(max), "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ");
        assert_eq!(parse(format(max).as_bytes()), Ok(max));
    }

    #[test]
    fn parsing_folds_what_the_spec_folds_and_nothing_else() {
        let value = parse(WORKED.as_bytes()).unwrap();
        for folded in [
            WORKED.to_lowercase(),
            WORKED.replace('-', ""),
            format!(" {WORKED}\r\n\t"),
            WORKED.replace('0', "o"),
            WORKED.replace('1', "L"),
        ] {
            assert_eq!(parse(folded.as_bytes()), Ok(value), "{folded:?}");
        }
        for broken in [
            WORKED.replacen('2', "U", 1),
            WORKED.replacen('-', "\u{a0}", 1),
            WORKED.replacen('-', "_", 1),
            WORKED[1..].to_string(),
            format!("{WORKED}0"),
        ] {
            assert!(parse(broken.as_bytes()).is_err(), "{broken:?}");
        }
    }
}
