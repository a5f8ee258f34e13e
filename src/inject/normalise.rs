//! Normalisation defects: a validator that folds key spellings differently
//! from what the format says. Stricter ones reject a spelling the original
//! accepted (a case-sensitive compare, separators or surrounding whitespace
//! no longer stripped): customers who typed their key are locked out.
//! The laxer one folds look-alike characters (Cyrillic letters, en dashes,
//! full-width digits) that the format does not fold: a key that must be
//! rejected is accepted.
//!
//! None of them knows the format: a stricter defect only turns an answer
//! the wrapped validator decoded into a rejection when the spelling is one
//! a format may fold; the laxer one asks the wrapped validator again with
//! the look-alikes folded, and only for keys it rejected.

use crate::verdict::{Validation, Verdict};

/// A defect in how the validator normalises key text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NormaliseDefect {
    /// Stricter: an all-lower-case spelling is rejected.
    CaseSensitive,
    /// Stricter: a key without its separators (`-`, `.`, `/`) is rejected.
    SeparatorsRequired,
    /// Stricter: surrounding whitespace is no longer trimmed.
    WhitespaceStrict,
    /// Laxer: look-alike characters are folded to ASCII.
    FoldLookAlikes,
}

impl NormaliseDefect {
    pub(crate) const ALL: [NormaliseDefect; 4] = [
        NormaliseDefect::CaseSensitive,
        NormaliseDefect::SeparatorsRequired,
        NormaliseDefect::WhitespaceStrict,
        NormaliseDefect::FoldLookAlikes,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            NormaliseDefect::CaseSensitive => "case-sensitive",
            NormaliseDefect::SeparatorsRequired => "separators-required",
            NormaliseDefect::WhitespaceStrict => "whitespace-strict",
            NormaliseDefect::FoldLookAlikes => "fold-look-alikes",
        }
    }

    pub(crate) fn what(self) -> &'static str {
        match self {
            NormaliseDefect::CaseSensitive => "stricter: a key typed in lower case is rejected",
            NormaliseDefect::SeparatorsRequired => {
                "stricter: a key typed without its separators is rejected"
            }
            NormaliseDefect::WhitespaceStrict => {
                "stricter: surrounding whitespace is no longer trimmed"
            }
            NormaliseDefect::FoldLookAlikes => {
                "laxer: look-alike characters (Cyrillic letters, en dashes, full-width digits) are folded to ASCII"
            }
        }
    }

    /// The stricter validator's answer for `key`, given the correct one.
    pub(crate) fn answer(self, key: &[u8], v: Validation) -> Validation {
        let rejected = v.verdict.decodes()
            && match self {
                NormaliseDefect::CaseSensitive => {
                    key.iter().any(u8::is_ascii_lowercase)
                        && !key.iter().any(u8::is_ascii_uppercase)
                }
                NormaliseDefect::SeparatorsRequired => {
                    !key.iter().any(|b| matches!(b, b'-' | b'.' | b'/'))
                }
                NormaliseDefect::WhitespaceStrict => {
                    key.first().is_some_and(u8::is_ascii_whitespace)
                        || key.last().is_some_and(u8::is_ascii_whitespace)
                }
                NormaliseDefect::FoldLookAlikes => false,
            };
        if rejected {
            Validation::reject(
                Verdict::Malformed,
                v.format.as_deref(),
                format!("malformed (injected: {})", self.what()),
            )
        } else {
            v
        }
    }

    /// For the laxer defect: the key with its look-alikes folded, when that
    /// changes it and `v`, the answer to the key as it is, rejected it.
    pub(crate) fn retry(self, key: &[u8], v: &Validation) -> Option<Vec<u8>> {
        if self != NormaliseDefect::FoldLookAlikes || v.verdict == Verdict::Valid {
            return None;
        }
        let text = std::str::from_utf8(key).ok()?;
        let folded: String = text.chars().map(fold).collect();
        (folded != text).then(|| folded.into_bytes())
    }
}

/// One look-alike folded to the ASCII character it imitates.
fn fold(c: char) -> char {
    const CYRILLIC: [(char, char); 11] = [
        ('\u{0410}', 'A'),
        ('\u{0412}', 'B'),
        ('\u{0415}', 'E'),
        ('\u{041A}', 'K'),
        ('\u{041C}', 'M'),
        ('\u{041D}', 'H'),
        ('\u{041E}', 'O'),
        ('\u{0420}', 'P'),
        ('\u{0421}', 'C'),
        ('\u{0422}', 'T'),
        ('\u{0425}', 'X'),
    ];
    match c {
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFF01 + 0x21).unwrap_or(c),
        _ => CYRILLIC
            .iter()
            .find(|(from, _)| *from == c)
            .map_or(c, |(_, to)| *to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Decoded;

    fn valid() -> Validation {
        Validation {
            verdict: Verdict::Valid,
            format: Some("f".into()),
            reason: None,
            decoded: Some(Decoded::default()),
        }
    }

    #[test]
    fn stricter_defects_reject_only_their_spelling() {
        let cases: [(NormaliseDefect, &[u8], &[u8]); 3] = [
            (
                NormaliseDefect::CaseSensitive,
                b"24a0m-02t1k",
                b"24A0M-02T1K",
            ),
            (
                NormaliseDefect::SeparatorsRequired,
                b"24A0M02T1K",
                b"24A0M-02T1K",
            ),
            (
                NormaliseDefect::WhitespaceStrict,
                b" 24A0M-02T1K\n",
                b"24A0M-02T1K",
            ),
        ];
        for (d, rejected, accepted) in cases {
            assert_eq!(
                d.answer(rejected, valid()).verdict,
                Verdict::Malformed,
                "{}",
                d.name()
            );
            assert_eq!(
                d.answer(accepted, valid()).verdict,
                Verdict::Valid,
                "{}",
                d.name()
            );
        }
        // A mixed-case key (base64) is no lower-case spelling.
        assert_eq!(
            NormaliseDefect::CaseSensitive
                .answer(b"key/aBc", valid())
                .verdict,
            Verdict::Valid
        );
    }

    #[test]
    fn stricter_defects_leave_rejections_alone() {
        let bad = Validation::reject(Verdict::BadSignature, None, "no");
        let out = NormaliseDefect::CaseSensitive.answer(b"abc", bad.clone());
        assert_eq!(out, bad);
    }

    #[test]
    fn the_laxer_defect_folds_look_alikes_of_rejected_keys() {
        let d = NormaliseDefect::FoldLookAlikes;
        let rejected = Validation::reject(Verdict::Malformed, None, "no");
        assert_eq!(
            d.retry("\u{0410}B\u{2013}\u{FF11}".as_bytes(), &rejected),
            Some(b"AB-1".to_vec())
        );
        assert_eq!(d.retry(b"AB-1", &rejected), None, "nothing to fold");
        assert_eq!(
            d.retry("\u{0410}".as_bytes(), &valid()),
            None,
            "accepted already"
        );
        assert_eq!(
            NormaliseDefect::CaseSensitive.retry("\u{0410}".as_bytes(), &rejected),
            None
        );
    }
}
