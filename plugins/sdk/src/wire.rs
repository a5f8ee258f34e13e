//! The text forms in which data crosses the boundary, as the header specifies.
//!
//! Inputs (entitlement, context, settings) are arrays of `kc_field` pairs; an
//! absent field is null. Outputs of `validate` are `key=value` lines, a bare
//! `key` meaning null. Values escape `\`, LF, CR and NUL with a backslash; list
//! items (comma-joined) also escape `,`. Both sides of the boundary use this
//! module, so the host and Rust plugins cannot disagree on escaping.

use crate::abi::KcField;

/// An owned, ordered set of fields: what a `kc_field` array carries.
///
/// Keys and values live in one buffer, so building or copying a set costs two
/// allocations however many fields it has: fields cross the boundary on every
/// call, and for a scheme as cheap as an HMAC their marshalling is the cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    buf: Vec<u8>,
    /// (key start, key end, value end) in `buf`; the value starts at key end.
    entries: Vec<(u32, u32, u32)>,
}

/// Appends formatted text to a byte buffer.
struct ByteWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Fields {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for `fields` fields of `bytes` bytes of keys
    /// and values in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(fields),
        }
    }

    fn pos(&self) -> u32 {
        u32::try_from(self.buf.len()).expect("fields stay under 4 GiB")
    }

    /// Adds a field whose value `write` appends to the buffer.
    fn push_with(&mut self, key: &str, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.pos();
        self.buf.extend_from_slice(key.as_bytes());
        let key_end = self.pos();
        write(&mut self.buf);
        let end = self.pos();
        self.entries.push((start, key_end, end));
    }

    /// Adds a field; a later field with the same key is shadowed by the first.
    pub fn push(&mut self, key: impl AsRef<str>, value: impl AsRef<[u8]>) {
        self.push_with(key.as_ref(), |b| b.extend_from_slice(value.as_ref()));
    }

    /// Adds a field when `value` is `Some`: absent means null.
    pub fn push_opt(&mut self, key: &str, value: Option<impl AsRef<[u8]>>) {
        if let Some(v) = value {
            self.push(key, v);
        }
    }

    /// Adds a field whose value is `value` formatted with `Display`, without
    /// an intermediate string.
    pub fn push_display(&mut self, key: &str, value: impl std::fmt::Display) {
        self.push_with(key, |b| {
            use std::fmt::Write;
            let _ = write!(ByteWriter(b), "{value}");
        });
    }

    /// Adds a list field: items escaped and comma-joined as [`join_list`] does.
    pub fn push_list<S: AsRef<str>>(&mut self, key: &str, items: impl IntoIterator<Item = S>) {
        let mut s = String::new();
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            escape_into(&mut s, item.as_ref(), true);
        }
        self.push(key, s);
    }

    fn entry(&self, e: &(u32, u32, u32)) -> (&str, &[u8]) {
        let (start, key_end, end) = (e.0 as usize, e.1 as usize, e.2 as usize);
        // Keys are only ever pushed as `&str` or checked UTF-8.
        let key = std::str::from_utf8(&self.buf[start..key_end]).unwrap_or_default();
        (key, &self.buf[key_end..end])
    }

    /// The raw value of `key`, `None` when absent.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.entries.iter().find_map(|e| {
            let (start, key_end) = (e.0 as usize, e.1 as usize);
            (&self.buf[start..key_end] == key.as_bytes()).then(|| &self.buf[key_end..e.2 as usize])
        })
    }

    /// The value of `key` as UTF-8, `Ok(None)` when absent.
    pub fn get_str(&self, key: &str) -> Result<Option<&str>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| format!("{key}: value is not valid UTF-8")),
        }
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|e| self.entry(e))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Borrowed `kc_field`s pointing into `self`, valid while `self` is
    /// neither moved nor modified.
    pub fn to_raw(&self) -> Vec<KcField> {
        self.iter()
            .map(|(k, v)| KcField {
                key: k.as_ptr().cast(),
                key_len: k.len(),
                val: v.as_ptr(),
                val_len: v.len(),
            })
            .collect()
    }

    /// Copies a `kc_field` array. Keys must be UTF-8.
    ///
    /// # Safety
    /// `ptr` must point to `n` readable `KcField`s (or be anything when `n` is
    /// 0), each pointing to `key_len` and `val_len` readable bytes.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw(ptr: *const KcField, n: usize) -> Result<Self, String> {
        if n == 0 {
            return Ok(Self::new());
        }
        if ptr.is_null() {
            return Err(format!("{n} fields given with a null pointer"));
        }
        // SAFETY: the caller guarantees `n` readable fields at `ptr`.
        let raw = unsafe { std::slice::from_raw_parts(ptr, n) };
        let mut fields = Self {
            buf: Vec::with_capacity(raw.iter().map(|f| f.key_len + f.val_len).sum()),
            entries: Vec::with_capacity(n),
        };
        for f in raw {
            // SAFETY: the caller guarantees each field's bytes are readable.
            let key = unsafe { bytes(f.key.cast(), f.key_len) }?;
            // SAFETY: as above.
            let val = unsafe { bytes(f.val, f.val_len) }?;
            let key = std::str::from_utf8(key)
                .map_err(|_| "a field key is not valid UTF-8".to_string())?;
            fields.push(key, val);
        }
        Ok(fields)
    }
}

/// Reads `len` bytes at `ptr`, refusing a null pointer with a non-zero length.
///
/// # Safety
/// `ptr` must point to `len` readable bytes when it is not null.
#[allow(unsafe_code)]
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], String> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(format!("null pointer with length {len}"));
    }
    // SAFETY: non-null and, by the caller's guarantee, `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Whether `b` is escaped in a value (in a list item when `in_list`).
fn is_special(b: u8, in_list: bool) -> bool {
    matches!(b, b'\\' | b'\n' | b'\r' | 0) || (in_list && b == b',')
}

fn escape_into(out: &mut String, value: &str, in_list: bool) {
    if !value.bytes().any(|b| is_special(b, in_list)) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            ',' if in_list => out.push_str("\\,"),
            c => out.push(c),
        }
    }
}

/// Escapes a scalar value for a decode line.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    escape_into(&mut out, value, false);
    out
}

/// Joins list items (e.g. feature names) into one escaped value.
pub fn join_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        escape_into(&mut out, item.as_ref(), true);
    }
    out
}

/// Undoes [`escape`]; an unknown or dangling escape is an error.
pub fn unescape(value: &str) -> Result<String, String> {
    if !value.contains('\\') {
        return Ok(value.to_string());
    }
    let mut items = split_escaped(value, false)?;
    Ok(items.pop().unwrap_or_default())
}

/// Splits and unescapes a list value written by [`join_list`]; `""` is empty.
pub fn split_list(value: &str) -> Result<Vec<String>, String> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    if !value.contains('\\') {
        return Ok(value.split(',').map(String::from).collect());
    }
    split_escaped(value, true)
}

fn split_escaped(value: &str, in_list: bool) -> Result<Vec<String>, String> {
    let mut items = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        let current = items.last_mut().expect("items is never empty");
        match c {
            '\\' => match chars.next() {
                Some('\\') => current.push('\\'),
                Some('n') => current.push('\n'),
                Some('r') => current.push('\r'),
                Some('0') => current.push('\0'),
                Some(',') if in_list => current.push(','),
                Some(other) => return Err(format!("unknown escape \\{other}")),
                None => return Err("value ends in a lone backslash".to_string()),
            },
            ',' if in_list => items.push(String::new()),
            c => current.push(c),
        }
    }
    Ok(items)
}

/// Writes decode text: `key=value` lines, a bare `key` for null.
#[derive(Debug, Default, Clone)]
pub struct RecordWriter {
    text: String,
}

/// Room for a whole decode of a typical key, so writing it does not grow
/// the text again and again.
const DECODE_CAPACITY: usize = 512;

impl RecordWriter {
    /// Starts a decode with its verdict line.
    pub fn new(verdict: &str) -> Self {
        let mut w = Self {
            text: String::with_capacity(DECODE_CAPACITY),
        };
        w.field("verdict", Some(verdict));
        w
    }

    /// Writes `key=value` with `value` formatted by `Display` (and escaped),
    /// without an intermediate string; a bare `key` when `value` is `None`.
    pub fn field_display(&mut self, key: &str, value: Option<impl std::fmt::Display>) -> &mut Self {
        use std::fmt::Write;
        self.text.push_str(key);
        if let Some(v) = value {
            self.text.push('=');
            let start = self.text.len();
            let _ = write!(self.text, "{v}");
            if self.text[start..].bytes().any(|b| is_special(b, false)) {
                let written = self.text.split_off(start);
                escape_into(&mut self.text, &written, false);
            }
        }
        self.text.push('\n');
        self
    }

    /// Writes `key=value` (escaped), or a bare `key` when `value` is `None`.
    pub fn field(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        self.text.push_str(key);
        if let Some(v) = value {
            self.text.push('=');
            escape_into(&mut self.text, v, false);
        }
        self.text.push('\n');
        self
    }

    /// Writes a list field, e.g. `features=a,b`.
    pub fn list<S: AsRef<str>>(
        &mut self,
        key: &str,
        items: impl IntoIterator<Item = S>,
    ) -> &mut Self {
        self.text.push_str(key);
        self.text.push('=');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            escape_into(&mut self.text, item.as_ref(), true);
        }
        self.text.push('\n');
        self
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.text
    }
}

/// One parsed decode line: the key, and the still-escaped value (`None` = null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The field name.
    pub key: &'a str,
    /// The escaped value; `None` for a bare key.
    pub value: Option<&'a str>,
}

/// Splits decode text into records. Empty lines are an error (a plugin that
/// writes them is not following the header), as is a missing final newline
/// only when the text is empty.
pub fn parse_records(text: &str) -> Result<Vec<Record<'_>>, String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Err("empty decode output".to_string());
    }
    let mut records = Vec::with_capacity(16);
    for (i, line) in body.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            return Err(format!("decode line {} is empty", i + 1));
        }
        // `=` is ASCII: both slices start and end on character boundaries.
        records.push(match line.bytes().position(|b| b == b'=') {
            Some(eq) => Record {
                key: &line[..eq],
                value: Some(&line[eq + 1..]),
            },
            None => Record {
                key: line,
                value: None,
            },
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips() {
        for s in [
            "",
            "plain",
            "a\\b",
            "new\nline",
            "cr\r",
            "nul\0",
            "Zoë, Müller",
        ] {
            assert_eq!(unescape(&escape(s)).unwrap(), s);
        }
    }

    #[test]
    fn lists_round_trip_with_commas() {
        let items = vec!["a,b".to_string(), "c\\".to_string(), "".to_string()];
        assert_eq!(split_list(&join_list(&items)).unwrap(), items);
        assert_eq!(split_list("").unwrap(), Vec::<String>::new());
    }

    /// The lines `key=value` split at the first `=`, CR LF endings
    /// allowed, as `parse_records` reads them.
    fn records_by_lines(text: &str) -> Result<Vec<(&str, Option<&str>)>, String> {
        let body = text.strip_suffix('\n').unwrap_or(text);
        if body.is_empty() {
            return Err("empty decode output".to_string());
        }
        body.split('\n')
            .enumerate()
            .map(|(i, line)| {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if line.is_empty() {
                    return Err(format!("decode line {} is empty", i + 1));
                }
                Ok(match line.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (line, None),
                })
            })
            .collect()
    }

    #[test]
    fn records_are_lines_split_at_their_first_equals_sign() {
        for text in [
            "verdict=valid\n",
            "verdict=valid",
            "verdict=valid\r\nformat=acme-ed1\r\nexpires\r\n",
            "a=b=c\nd==\n=\n=x\nk=\r\nk\r\n\r=\n",
            "verdict=valid\n\nx=1\n",
            "verdict=valid\n\r\n",
            "x\n\n",
            "\n",
            "\r\n",
            "",
            "naïve=ß=\nZoë\n",
        ] {
            let records = parse_records(text)
                .map(|rs| rs.into_iter().map(|r| (r.key, r.value)).collect::<Vec<_>>());
            assert_eq!(records, records_by_lines(text), "{text:?}");
        }
    }

    #[test]
    fn displayed_values_are_escaped_too() {
        let mut w = RecordWriter::new("valid");
        w.field_display("serial", Some(42))
            .field_display("note", Some("a\nb\\"))
            .field_display("expires", None::<u8>);
        assert_eq!(
            w.finish(),
            "verdict=valid\nserial=42\nnote=a\\nb\\\\\nexpires\n"
        );
    }

    #[test]
    fn records_parse_bare_keys_as_null() {
        let mut w = RecordWriter::new("valid");
        w.field("expires", None).field("customer_name", Some("x=y"));
        let text = w.finish();
        let recs = parse_records(&text).unwrap();
        assert_eq!(
            recs[0],
            Record {
                key: "verdict",
                value: Some("valid")
            }
        );
        assert_eq!(
            recs[1],
            Record {
                key: "expires",
                value: None
            }
        );
        assert_eq!(
            recs[2],
            Record {
                key: "customer_name",
                value: Some("x=y")
            }
        );
        assert!(parse_records("").is_err());
        assert!(parse_records("verdict=valid\n\nx=1\n").is_err());
    }

    #[test]
    fn unknown_escape_is_an_error() {
        assert!(unescape("a\\q").is_err());
        assert!(unescape("a\\").is_err());
    }
}
