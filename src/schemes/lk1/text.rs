//! The key text: 25 Crockford base32 symbols in five dash-separated groups,
//! and the normalisation that reads them back (SCHEMES.md folds case and
//! look-alikes, deletes separators, and folds nothing else).

/// Crockford base32, the key's alphabet.
pub(super) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a key.
const SYMBOLS: usize = 25;
/// Symbols per dash-separated group.
const GROUP: usize = 5;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schemes::lk1::testing::{WORKED, cad, codec, verdict};
    use crate::verdict::Verdict;

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
}
