//! keycompat's side of the process protocol (`plugins/PROTOCOL.md`): JSON
//! Lines spoken with a process plugin, a child in any language.
//!
//! The process plugin is run by the same pool, batches, blame and restarts
//! as a `keycompat __worker` (see the module docs of `worker`); only the
//! messages differ. Here are the hello and the ready, the request items
//! (encoded once each, like the binary ones, so one item can be sent again
//! alone), and the results, checked as strictly as the C ABI's answers: a
//! wrong id, a wrong count, an unknown verdict or a decode that breaks the
//! canonical form is garbage, never a silently dropped answer.

use std::io::Write as _;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use crate::entitlement::Entitlement;
use crate::implementation::{CallFailure, FailureKind, GenerateFailure};
use crate::settings::Settings;
use crate::verdict::{Context, Validation};

/// The process protocol's version.
pub(crate) const PROTOCOL: u32 = 1;

/// The hello line (with its `\n`).
pub(super) fn hello(settings: &Settings, timeout: std::time::Duration) -> Vec<u8> {
    let v = serde_json::json!({
        "type": "hello",
        "protocol": PROTOCOL,
        "keycompat": env!("CARGO_PKG_VERSION"),
        "timeout_ms": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        "settings": settings,
    });
    let mut line = serde_json::to_vec(&v).expect("a hello always serializes");
    line.push(b'\n');
    line
}

/// What a ready message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ready {
    pub(super) name: String,
    pub(super) version: String,
    pub(super) can_generate: bool,
    pub(super) can_validate: bool,
    pub(super) formats: Vec<String>,
}

#[derive(Deserialize)]
struct ReadyMessage {
    name: String,
    version: String,
    capabilities: Capabilities,
    #[serde(default)]
    max_in_flight: Option<u64>,
}

#[derive(Deserialize)]
struct Capabilities {
    generate: bool,
    validate: bool,
    #[serde(default)]
    formats: Vec<String>,
}

/// How a plugin answered the hello.
#[derive(Debug)]
pub(super) enum HelloAnswer {
    Ready(Ready),
    /// `{"type":"error"}`: the plugin refused (bad settings, another protocol).
    Refused(String),
}

/// Reads the answer to the hello; `Err` says what is wrong with it.
pub(super) fn read_ready(line: &[u8]) -> Result<HelloAnswer, String> {
    let v: Value = parse(line)?;
    match message_type(&v)? {
        "ready" => {}
        "error" => return Ok(HelloAnswer::Refused(error_message(&v))),
        other => return Err(format!("a {other:?} message where ready was due")),
    }
    // The version first: a plugin of another version may differ in the rest.
    match v.get("protocol") {
        Some(p) if p.as_u64() == Some(u64::from(PROTOCOL)) => {}
        Some(p) => {
            let hint = if p.as_str().is_some() {
                " (a string; it must be a JSON integer)"
            } else {
                ""
            };
            return Err(format!(
                "a ready message of process protocol {p}{hint}, where keycompat speaks {PROTOCOL} (plugins/PROTOCOL.md)"
            ));
        }
        None => return Err("a ready message without `protocol`".into()),
    }
    let m: ReadyMessage = serde_path_to_error::deserialize(v)
        .map_err(|e| format!("a ready message that is not valid: {}", located(&e)))?;
    if m.max_in_flight == Some(0) {
        return Err("a ready message with max_in_flight 0 (it must be at least 1)".into());
    }
    if !m.capabilities.generate && !m.capabilities.validate {
        return Err("a ready message with neither the generate nor the validate capability".into());
    }
    Ok(HelloAnswer::Ready(Ready {
        name: m.name,
        version: m.version,
        can_generate: m.capabilities.generate,
        can_validate: m.capabilities.validate,
        formats: m.capabilities.formats,
    }))
}

/// Appends one entitlement of a generate request.
pub(super) fn put_entitlement(b: &mut Vec<u8>, e: &Entitlement) {
    serde_json::to_writer(b, e).expect("entitlements always serialize");
}

/// Appends one (key, context) item of a validate request: the key as a
/// string when it is UTF-8, else as `key_base64`.
///
/// Written by hand rather than through serde: this is the protocol's hot
/// path, and serde writes the context's version and date through
/// `Display`, escaping every fragment on its own. The output is what
/// `serde_json` writes for the same item (a test checks it).
pub(super) fn put_validate_item(b: &mut Vec<u8>, key: &[u8], c: &Context) {
    match std::str::from_utf8(key) {
        Ok(key) => {
            b.extend_from_slice(br#"{"key":"#);
            put_str(b, key);
        }
        Err(_) => {
            b.extend_from_slice(br#"{"key_base64":""#);
            let encoded = base64::engine::general_purpose::STANDARD.encode(key);
            b.extend_from_slice(encoded.as_bytes());
            b.push(b'"');
        }
    }
    b.extend_from_slice(br#","context":{"product":"#);
    put_str(b, &c.product);
    // Digits, dots and dashes only: nothing to escape.
    let _ = write!(
        b,
        r#","version":"{}","today":"{}","host_id":"#,
        c.version, c.today
    );
    match &c.host_id {
        Some(h) => put_str(b, h),
        None => b.extend_from_slice(b"null"),
    }
    b.extend_from_slice(b"}}");
}

/// Appends `s` as a JSON string: copied whole when nothing in it needs an
/// escape (the common case), else escaped by `serde_json`.
fn put_str(b: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        b.reserve(s.len() + 2);
        b.push(b'"');
        b.extend_from_slice(s.as_bytes());
        b.push(b'"');
    } else {
        serde_json::to_writer(b, s).expect("a str always serializes");
    }
}

/// Whether `s` holds a byte JSON escapes: a control character, `"` or `\\`.
/// Checked 32 bytes at a time without an early exit inside a chunk, so the
/// compiler vectorises it (keys of a few hundred bytes are common).
fn needs_escape(s: &[u8]) -> bool {
    s.chunks(32).any(|chunk| {
        chunk.iter().fold(false, |any, &c| {
            any | (c < 0x20) | (c == b'"') | (c == b'\\')
        })
    })
}

/// The start of a request line for items of `kind` (`validate`,
/// `generate`) under `field` (`items`, `entitlements`): the items, comma
/// separated, and [`REQUEST_END`] follow.
pub(super) fn request_head(kind: &str, field: &str, id: u64) -> Vec<u8> {
    format!(r#"{{"type":"{kind}","id":{id},"{field}":["#).into_bytes()
}

/// The end of every request line.
pub(super) const REQUEST_END: &[u8] = b"]}\n";

/// A results message: its id and answers.
pub(super) enum Reply {
    /// `more`: further results messages follow for the same request.
    Results {
        id: u64,
        results: Vec<Answer>,
        more: bool,
    },
    /// `{"type":"error"}`: the plugin gives up.
    Error(String),
}

/// Any message a plugin sends after its ready, read in one pass (no
/// intermediate `Value`: this is the protocol's hot path).
#[derive(Deserialize)]
struct Message {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    results: Option<Vec<Answer>>,
    #[serde(default)]
    more: Option<bool>,
    #[serde(default)]
    message: Option<String>,
}

/// One answer of a results message: a validation, a key, a refusal or an
/// error, told apart by which fields it has.
#[derive(Deserialize)]
pub(super) struct Answer {
    #[serde(default)]
    verdict: Option<crate::verdict::Verdict>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    decoded: Option<crate::verdict::Decoded>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    refused: Option<Refusal>,
    #[serde(default)]
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refusal {
    field: String,
    reason: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    kind: String,
    #[serde(default)]
    message: Option<String>,
}

/// Reads one line where results were due.
pub(super) fn read_reply(line: &[u8]) -> Result<Reply, String> {
    let m: Message = match serde_json::from_slice(line) {
        Ok(m) => m,
        // The slow path, for the words: not JSON, or not a message.
        Err(e) => {
            let v = parse(line)?;
            message_type(&v)?;
            let why = match serde_path_to_error::deserialize::<_, Message>(&v) {
                Err(located_error) => located(&located_error),
                Ok(_) => e.to_string(),
            };
            return Err(format!(
                "a message that is not valid ({why}): {}",
                excerpt(&v.to_string())
            ));
        }
    };
    match m.kind.as_str() {
        "results" => {}
        "error" => {
            return Ok(Reply::Error(
                m.message.unwrap_or_else(|| "(no message)".into()),
            ));
        }
        other => return Err(format!("a {other:?} message where results were due")),
    }
    let id = m.id.ok_or("a results message without an integer id")?;
    let results = m
        .results
        .ok_or("a results message without a results array")?;
    Ok(Reply::Results {
        id,
        results,
        more: m.more.unwrap_or(false),
    })
}

/// A deserialization error with the path of the value it is about
/// (`capabilities.generate: invalid type ...`), so a plugin author sees
/// which field to fix.
fn located<E: std::fmt::Display>(e: &serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    if path == "." || path.is_empty() {
        e.inner().to_string()
    } else {
        format!("at `{path}`: {}", e.inner())
    }
}

/// Reads one validate answer.
pub(super) fn validate_answer(a: Answer) -> Result<Result<Validation, CallFailure>, String> {
    if let Some(e) = a.error {
        if a.verdict.is_some() {
            return Err("a validate answer with both a verdict and an error".into());
        }
        return Ok(Err(call_failure(e)?));
    }
    let Some(verdict) = a.verdict else {
        return Err("a validate answer with no verdict or error".into());
    };
    if a.decoded.is_some() && !verdict.decodes() {
        return Err(format!(
            "a decoded entitlement with verdict {verdict}, which decodes nothing"
        ));
    }
    if a.decoded.is_none() && verdict.decodes() {
        return Err(format!(
            "verdict {verdict} without the decoded entitlement it requires"
        ));
    }
    Ok(Ok(Validation {
        verdict,
        format: a.format,
        reason: a.reason,
        decoded: a.decoded,
    }))
}

/// Reads one generate answer.
pub(super) fn generate_answer(a: Answer) -> Result<Result<String, GenerateFailure>, String> {
    match (a.key, a.refused, a.error) {
        (None, None, Some(e)) => Ok(Err(GenerateFailure::Failed(call_failure(e)?))),
        (None, Some(r), None) => GenerateFailure::refusal(&r.field, &r.reason)
            .map(Err)
            .map_err(|problem| format!("a refusal {problem}")),
        (Some(key), None, None) if key.is_empty() => Err("an empty key".into()),
        (Some(key), None, None) => Ok(Ok(key)),
        (None, None, None) => Err("a generate answer with no key, refusal or error".into()),
        _ => Err("a generate answer with more than one of key, refused and error".into()),
    }
}

fn call_failure(e: ErrorBody) -> Result<CallFailure, String> {
    let kind = match e.kind.as_str() {
        "bad_argument" => FailureKind::BadArgument,
        "unsupported" => FailureKind::Unsupported,
        "internal" => FailureKind::Internal,
        other => {
            return Err(format!(
                "an error of kind {other:?}, not bad_argument, unsupported or internal"
            ));
        }
    };
    Ok(CallFailure::new(
        kind,
        e.message.unwrap_or_else(|| "(no message)".into()),
    ))
}

fn parse(line: &[u8]) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| {
        format!(
            "a line that is not JSON ({e}): {}",
            excerpt(&String::from_utf8_lossy(line))
        )
    })?;
    if !v.is_object() {
        return Err(format!(
            "a line that is not a JSON object: {}",
            excerpt(&v.to_string())
        ));
    }
    Ok(v)
}

fn message_type(v: &Value) -> Result<&str, String> {
    v.get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a message without a \"type\": {}", excerpt(&v.to_string())))
}

fn error_message(v: &Value) -> String {
    v.get("message")
        .and_then(Value::as_str)
        .unwrap_or("(no message)")
        .to_string()
}

/// The start of a long text, for messages.
fn excerpt(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(MAX).collect();
    format!("{head:?}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(json: &str) -> Result<Result<String, GenerateFailure>, String> {
        generate_answer(serde_json::from_str(json).expect("an answer"))
    }

    #[test]
    fn a_generate_answer_holds_exactly_one_well_formed_thing() {
        assert_eq!(generate(r#"{"key":"K"}"#), Ok(Ok("K".into())));
        assert!(matches!(
            generate(r#"{"refused":{"field":"customer.name","reason":"too long"}}"#),
            Ok(Err(GenerateFailure::Refused { .. }))
        ));
        for (bad, says) in [
            (
                r#"{"key":"K","refused":{"field":"seats","reason":"r"}}"#,
                "more than one",
            ),
            (
                r#"{"key":"K","error":{"kind":"internal"}}"#,
                "more than one",
            ),
            (r#"{"key":""}"#, "an empty key"),
            (
                r#"{"refused":{"field":"not-a-field","reason":"r"}}"#,
                "no entitlement field",
            ),
            (
                r#"{"refused":{"field":"","reason":"r"}}"#,
                "no entitlement field",
            ),
            (r#"{"refused":{"field":"seats","reason":" "}}"#, "no reason"),
            (r#"{}"#, "no key, refusal or error"),
        ] {
            let e = generate(bad).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_validate_answer_with_a_verdict_and_an_error_is_refused() {
        let a = serde_json::from_str(r#"{"verdict":"malformed","error":{"kind":"internal"}}"#)
            .expect("an answer");
        assert!(validate_answer(a).is_err());
    }

    #[test]
    fn a_c_refusal_naming_no_field_breaks_the_abi() {
        assert!(matches!(
            GenerateFailure::refused_from_message("seats: 2000 is too many"),
            GenerateFailure::Refused { .. }
        ));
        for bad in ["", "no colon here", ": empty field", "colour: blue"] {
            match GenerateFailure::refused_from_message(bad) {
                GenerateFailure::Failed(f) => assert_eq!(f.kind, FailureKind::Protocol, "{bad}"),
                other => panic!("{bad:?} accepted as {other:?}"),
            }
        }
    }

    #[test]
    fn a_ready_of_another_protocol_names_both() {
        let e = read_ready(br#"{"type":"ready","protocol":2,"name":"x","version":"1","capabilities":{"generate":false,"validate":true}}"#)
            .unwrap_err();
        assert!(e.contains("protocol 2, where keycompat speaks 1"), "{e}");
    }

    #[test]
    fn a_ready_or_results_message_of_the_wrong_shape_names_the_field() {
        let e = read_ready(br#"{"type":"ready","protocol":"1","name":"x","version":"1","capabilities":{"generate":false,"validate":true}}"#)
            .unwrap_err();
        assert!(
            e.contains(r#"protocol "1""#) && e.contains("JSON integer"),
            "{e}"
        );
        let e = read_ready(br#"{"type":"ready","protocol":1,"name":"x","version":"1","capabilities":{"generate":"no","validate":true}}"#)
            .unwrap_err();
        assert!(e.contains("at `capabilities.generate`"), "{e}");
        let e = read_reply(br#"{"type":"results","id":1,"results":[{"verdict":"valid"},{"verdict":"valid","decoded":{"seats":"ten"}}]}"#)
            .err()
            .unwrap();
        assert!(e.contains("at `results[1].decoded"), "{e}");
    }

    #[test]
    fn garbage_is_named_with_an_excerpt() {
        let e = read_reply(b"Loading model...").err().unwrap();
        assert!(e.contains("not JSON") && e.contains("Loading model"), "{e}");
    }

    #[test]
    fn non_utf8_keys_travel_as_base64() {
        let c: Context = serde_json::from_str(
            r#"{"product":"acme-cad","version":"7.2","today":"2026-12-01","host_id":null}"#,
        )
        .unwrap();
        let mut b = Vec::new();
        put_validate_item(&mut b, b"\xff\x00", &c);
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["key_base64"], "/wA=");
        assert!(v.get("key").is_none());
    }

    #[test]
    fn items_are_written_as_serde_json_writes_them() {
        #[derive(serde::Serialize)]
        struct Item<'a> {
            key: &'a str,
            context: &'a Context,
        }
        for (key, host) in [
            ("24A0W-00J1K-7Y9KS-680WH-WR416", r#"null"#),
            ("a \"quoted\"\\ key\n\u{1}\u{7f} Zo\u{eb}", r#""H-\"1\"\t""#),
            ("", r#""""#),
            // A quote past the first 32-byte chunk.
            ("0123456789012345678901234567890123456789\"end", r#"null"#),
        ] {
            let c: Context = serde_json::from_str(&format!(
                r#"{{"product":"acme-cad","version":"7.2","today":"2026-12-01","host_id":{host}}}"#
            ))
            .unwrap();
            let mut b = Vec::new();
            put_validate_item(&mut b, key.as_bytes(), &c);
            let want = serde_json::to_vec(&Item { key, context: &c }).unwrap();
            assert_eq!(
                String::from_utf8(b).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    fn one_answer(line: &str) -> Answer {
        match read_reply(line.as_bytes()) {
            Ok(Reply::Results { mut results, .. }) => results.remove(0),
            _ => panic!("not results: {line}"),
        }
    }

    #[test]
    fn a_decode_with_a_rejection_is_garbage() {
        let a = one_answer(
            r#"{"type":"results","id":1,"results":[{"verdict":"malformed","decoded":{"product":"acme-cad"}}]}"#,
        );
        assert!(validate_answer(a).is_err());
    }

    #[test]
    fn a_decoding_verdict_without_a_decode_is_garbage() {
        let a = one_answer(r#"{"type":"results","id":1,"results":[{"verdict":"valid"}]}"#);
        let e = validate_answer(a).err().unwrap();
        assert!(e.contains("without the decoded entitlement"), "{e}");
    }

    #[test]
    fn an_unknown_verdict_names_the_message() {
        let e = read_reply(br#"{"type":"results","id":1,"results":[{"verdict":"ok"}]}"#)
            .err()
            .unwrap();
        assert!(
            e.contains("not valid") && e.contains("unknown variant"),
            "{e}"
        );
    }
}
