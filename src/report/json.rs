//! The JSON report: the format of record, versioned by its `schema` field.
//!
//! It is the serde form of [`RunResult`] inside an envelope that names
//! [`SCHEMA_VERSION`]; `schema/keycompat-report-2.schema.json` describes it.
//! Output is deterministic (maps are `BTreeMap`s, no clock is read), so an
//! unsharded run and the merge of its shards compare byte for byte.

use std::path::Path;

use serde::Serialize;

use super::error::ReportError;
use crate::run::RunResult;

/// The version of the JSON report's format, written as its `schema` field.
///
/// Additive changes (new optional fields) keep the version and update the
/// published schema in the same change; anything a reader of this version
/// would misread gets a new version.
pub const SCHEMA_VERSION: &str = "keycompat-report/2";

#[derive(Serialize)]
struct Envelope<'a> {
    schema: &'static str,
    #[serde(flatten)]
    result: &'a RunResult,
}

/// The JSON report: pretty-printed, newline-terminated.
pub fn render(result: &RunResult) -> String {
    let envelope = Envelope {
        schema: SCHEMA_VERSION,
        result,
    };
    let mut text = serde_json::to_string_pretty(&envelope)
        .expect("a RunResult has string keys only and always serializes");
    text.push('\n');
    text
}

/// Parses a JSON report's text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<RunResult, ReportError> {
    let json_error = |source| ReportError::Json {
        path: path.to_path_buf(),
        source,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(json_error)?;
    let found = value.get("schema").map(|s| match s.as_str() {
        Some(s) => s.to_string(),
        None => s.to_string(),
    });
    if found.as_deref() != Some(SCHEMA_VERSION) {
        return Err(ReportError::SchemaVersion {
            path: path.to_path_buf(),
            found,
            expected: SCHEMA_VERSION,
        });
    }
    serde_json::from_value(value).map_err(json_error)
}
