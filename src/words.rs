//! Counting words shared by every output: the terminal summary, the gates
//! and each report format say "94,951 findings" and "1 crash" the same way,
//! so a number read in the HTML can be found again in the CI log.

/// `n` with thousands separators: `94,951`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `word` in the plural unless `n` is 1 (`crash` -> `crashes`; a word
/// already plural, or ending in `s`, is left as it is).
pub fn noun(n: u64, word: &str) -> String {
    match (n, word) {
        (1, w) => w.to_string(),
        (_, "crash") => "crashes".into(),
        (_, "drift") => "drift".into(),
        (_, w) if w.ends_with('s') => w.into(),
        (_, w) => format!("{w}s"),
    }
}

/// `n` and its noun: `1 finding`, `12,000 findings`.
pub fn counted(n: u64, word: &str) -> String {
    format!("{} {}", count(n), noun(n, word))
}

/// A percentage as every output prints it: `99.90 %`.
pub fn percent(p: f64) -> String {
    format!("{p:.2} %")
}

/// What every report says of a group whose example did not fail again.
pub const UNREPRODUCED: &str = "did not reproduce when run again alone: the system answers differently from call to call, or only among other calls";

/// A finding group's waiver as the terminal and JUnit tag it:
/// ` [waived: EMS-1042]`, or nothing.
pub fn waived_tag(waived_by: Option<&str>) -> String {
    waived_by
        .map(|w| format!(" [waived: {w}]"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_and_nouns_agree() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(94_951), "94,951");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(noun(1, "crash"), "crash");
        assert_eq!(noun(2, "crash"), "crashes");
        assert_eq!(noun(0, "outage"), "outages");
        assert_eq!(counted(1, "finding"), "1 finding");
        assert_eq!(counted(12_000, "finding"), "12,000 findings");
        assert_eq!(percent(99.899), "99.90 %");
    }
}
