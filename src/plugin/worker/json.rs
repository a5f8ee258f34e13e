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
pub(super) fn hello(settings: &Settings) -> Vec<u8> {
    let v = serde_json::json!({
        "type": "hello",
        "protocol": PROTOCOL,
        "keycompat": env!("CARGO_PKG_VERSION"),
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
    protocol: Value,
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
    let m: ReadyMessage =
        serde_json::from_value(v).map_err(|e| format!("a ready message that is not valid: {e}"))?;
    if m.protocol.as_u64() != Some(u64::from(PROTOCOL)) {
        return Err(format!(
            "the plugin speaks process protocol {}, keycompat speaks {PROTOCOL} (plugins/PROTOCOL.md)",
            m.protocol
        ));
    }
    if m.max_in_flight == Some(0) {
        return Err("max_in_flight 0: it must be at least 1".into());
    }
    if !m.capabilities.generate && !m.capabilities.validate {
        return Err("capabilities: neither generate nor validate".into());
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
pub(super) fn put_validate_item(b: &mut Vec<u8>, key: &[u8], c: &Context) {
    let item = match std::str::from_utf8(key) {
        Ok(key) => serde_json::json!({ "key": key, "context": c }),
        Err(_) => serde_json::json!({
            "key_base64": base64::engine::general_purpose::STANDARD.encode(key),
            "context": c,
        }),
    };
    serde_json::to_writer(b, &item).expect("items always serialize");
}

/// Writes the request line for `items` (each already JSON) of `kind`
/// (`validate`, `generate`) under `field` (`items`, `entitlements`).
pub(super) fn request<'a>(
    kind: &str,
    field: &str,
    id: u64,
    items: impl Iterator<Item = &'a [u8]>,
    capacity: usize,
) -> Vec<u8> {
    let mut b = Vec::with_capacity(capacity + 64);
    let _ = write!(b, r#"{{"type":"{kind}","id":{id},"{field}":["#);
    for (i, item) in items.enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(item);
    }
    b.extend_from_slice(b"]}\n");
    b
}

/// A results message: its id and answers (still JSON).
pub(super) enum Reply {
    /// `more`: further results messages follow for the same request.
    Results {
        id: u64,
        results: Vec<Value>,
        more: bool,
    },
    /// `{"type":"error"}`: the plugin gives up.
    Error(String),
}

/// Reads one line where results were due.
pub(super) fn read_reply(line: &[u8]) -> Result<Reply, String> {
    let mut v: Value = parse(line)?;
    match message_type(&v)? {
        "results" => {}
        "error" => return Ok(Reply::Error(error_message(&v))),
        other => return Err(format!("a {other:?} message where results were due")),
    }
    let id = v
        .get("id")
        .and_then(Value::as_u64)
        .ok_or("a results message without an integer id")?;
    let more = match v.get("more") {
        None | Some(Value::Bool(false)) | Some(Value::Null) => false,
        Some(Value::Bool(true)) => true,
        Some(other) => return Err(format!("a results message with \"more\": {other}")),
    };
    let Some(Value::Array(results)) = v.get_mut("results").map(Value::take) else {
        return Err("a results message without a results array".into());
    };
    Ok(Reply::Results { id, results, more })
}

/// Reads one validate answer.
pub(super) fn validate_answer(v: Value) -> Result<Result<Validation, CallFailure>, String> {
    if let Some(e) = v.get("error") {
        return Ok(Err(call_failure(e)?));
    }
    let validation: Validation =
        serde_json::from_value(v).map_err(|e| format!("a validate answer that is not valid: {e}"))?;
    if validation.decoded.is_some() && !validation.verdict.decodes() {
        return Err(format!(
            "a decoded entitlement with verdict {}, which decodes nothing",
            validation.verdict
        ));
    }
    Ok(Ok(validation))
}

/// Reads one generate answer.
pub(super) fn generate_answer(v: Value) -> Result<Result<String, GenerateFailure>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Refusal {
        field: String,
        reason: String,
    }
    if let Some(e) = v.get("error") {
        return Ok(Err(GenerateFailure::Failed(call_failure(e)?)));
    }
    if let Some(r) = v.get("refused") {
        let r: Refusal = serde_json::from_value(r.clone())
            .map_err(|e| format!("a refusal that is not valid: {e}"))?;
        return Ok(Err(GenerateFailure::Refused {
            field: r.field,
            reason: r.reason,
        }));
    }
    match v.get("key") {
        Some(Value::String(key)) => Ok(Ok(key.clone())),
        _ => Err(format!(
            "a generate answer with no key, refusal or error: {}",
            excerpt(&v.to_string())
        )),
    }
}

fn call_failure(e: &Value) -> Result<CallFailure, String> {
    let kind = match e.get("kind").and_then(Value::as_str) {
        Some("bad_argument") => FailureKind::BadArgument,
        Some("unsupported") => FailureKind::Unsupported,
        Some("internal") => FailureKind::Internal,
        other => {
            return Err(format!(
                "an error of kind {}, not bad_argument, unsupported or internal",
                other.map_or("(none)".to_string(), |k| format!("{k:?}"))
            ));
        }
    };
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("(no message)");
    Ok(CallFailure::new(kind, message))
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
    v.get("type").and_then(Value::as_str).ok_or_else(|| {
        format!(
            "a message without a \"type\": {}",
            excerpt(&v.to_string())
        )
    })
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

    #[test]
    fn a_ready_of_another_protocol_names_both() {
        let e = read_ready(br#"{"type":"ready","protocol":2,"name":"x","version":"1","capabilities":{"generate":false,"validate":true}}"#)
            .unwrap_err();
        assert!(e.contains("protocol 2, keycompat speaks 1"), "{e}");
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
    fn a_decode_with_a_rejection_is_garbage() {
        let v = serde_json::json!({"verdict":"malformed","decoded":{"product":"acme-cad"}});
        assert!(validate_answer(v).is_err());
    }
}
