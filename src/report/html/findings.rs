//! The Findings section, one group of findings per entry with its smallest
//! (or shrunk) example laid out field by field against what the validator
//! decoded, and the Waivers section listing the waivers that cover them.

use serde::Serialize;

use super::page::arrow;
use crate::finding::{Finding, Group, Source};
use crate::report::model;
use crate::run::RunResult;
use crate::verdict::Decoded;

#[derive(Serialize)]
struct FieldRow {
    name: &'static str,
    expected: String,
    decoded: Option<String>,
    differs: bool,
}

#[derive(Serialize)]
pub(super) struct FindingView {
    id: String,
    severity: &'static str,
    check: String,
    pair: String,
    count: u64,
    cause: String,
    waived_by: Option<String>,
    shrunk: bool,
    /// Why the example may not show when replayed, if it did not fail again.
    unreproduced: Option<&'static str>,
    expected: String,
    found: String,
    verdict: Option<String>,
    format: Option<String>,
    reason: Option<String>,
    fields: Vec<FieldRow>,
    diffs: Vec<(String, String, String)>,
    license_key: Option<String>,
    context: Option<String>,
    source: String,
    case_id: String,
    /// The group's id, for `keycompat replay --report --finding`.
    group_id: String,
    replay: String,
}

fn json_map<T: Serialize>(v: &T) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// Shows a JSON value the way a person reads it: strings without quotes,
/// lists comma-separated, `null` as a dash.
fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) if a.is_empty() => "(none)".into(),
        serde_json::Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join(", "),
        serde_json::Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}: {}", show(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn field_rows(f: &Finding) -> (Vec<FieldRow>, Vec<(String, String, String)>) {
    let Some(e) = &f.entitlement else {
        return (Vec::new(), Vec::new());
    };
    let expected = json_map(e);
    let decoded = f
        .validation
        .as_ref()
        .and_then(|v| v.decoded.as_ref())
        .map(json_map::<Decoded>);
    let differs = |name: &str| f.diffs.iter().any(|d| d.field.as_str() == name);
    let rows = crate::entitlement::FIELDS
        .iter()
        .map(|name| FieldRow {
            name,
            expected: expected.get(*name).map(show).unwrap_or_default(),
            decoded: decoded.as_ref().map(|d| {
                d.get(*name)
                    .map(show)
                    .unwrap_or_else(|| "not carried".into())
            }),
            differs: differs(name),
        })
        .collect();
    let diffs = f
        .diffs
        .iter()
        .map(|d| (d.field.to_string(), d.expected.clone(), d.found.clone()))
        .collect();
    (rows, diffs)
}

fn finding_view(i: usize, g: &Group) -> FindingView {
    let ex = model::example(g);
    let (fields, diffs) = field_rows(ex);
    FindingView {
        id: format!("finding-{}", i + 1),
        severity: g.key.severity.as_str(),
        check: g.key.check.to_string(),
        pair: arrow(&model::pair(&g.key.generator, g.key.validator.as_deref())),
        count: g.count,
        cause: g.key.cause.clone(),
        waived_by: g.waived_by.clone(),
        shrunk: g.shrunk.is_some(),
        unreproduced: g.unreproduced.then_some(crate::words::UNREPRODUCED),
        expected: ex.expected.clone(),
        found: ex.found.clone(),
        verdict: ex.validation.as_ref().map(|v| v.verdict.to_string()),
        format: ex.validation.as_ref().and_then(|v| v.format.clone()),
        reason: ex.validation.as_ref().and_then(|v| v.reason.clone()),
        fields,
        diffs,
        license_key: ex.license_key.as_deref().map(model::shown_key),
        context: ex.context.as_ref().map(|c| {
            let host = c
                .host_id
                .as_ref()
                .map(|h| format!(", host {h}"))
                .unwrap_or_default();
            format!("{} {}, today {}{host}", c.product, c.version, c.today)
        }),
        source: match &ex.source {
            Source::Random { seed, index } => format!("random case {index} of seed {seed}"),
            Source::Vector { id, file } => format!("vector {id} ({file})"),
            Source::Steered { index, target, .. } => {
                format!("random case {index} steered into {target}")
            }
            Source::Order {
                file,
                line,
                order_id,
            } => format!("order {order_id} ({file}:{line})"),
            Source::FieldKey { file, line } => format!("field key ({file}:{line})"),
            Source::Start {
                system,
                environment,
            } => format!("{system} started under {environment}"),
        },
        case_id: ex.case_id.clone(),
        group_id: g.id.clone(),
        replay: g.replay.clone(),
    }
}

pub(super) fn findings(r: &RunResult) -> Vec<FindingView> {
    r.groups_by_importance()
        .into_iter()
        .enumerate()
        .map(|(i, g)| finding_view(i, g))
        .collect()
}

#[derive(Serialize)]
pub(super) struct WaiverView {
    cell: String,
    reason: String,
    owner: String,
    ticket: String,
    expires: String,
    status: String,
    class: &'static str,
    matched: u64,
    expired_matches: u64,
}

pub(super) fn waivers(r: &RunResult) -> Vec<WaiverView> {
    r.waivers
        .iter()
        .map(|w| WaiverView {
            cell: w.waiver.cell(),
            reason: w.waiver.reason.clone(),
            owner: w.waiver.owner.clone(),
            ticket: w.waiver.ticket.clone(),
            expires: w.waiver.expires.to_string(),
            class: match w.status.as_str() {
                "active" => "green",
                "expired" => "red",
                _ => "yellow",
            },
            status: w.status.clone(),
            matched: w.matched,
            expired_matches: w.expired_matches,
        })
        .collect()
}
