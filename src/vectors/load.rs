//! Reading a vectors directory: every `*.toml` file, in path order, with all
//! errors of all files collected (an author fixes them in one pass, not one
//! per run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::catalog::Catalog;

use super::error::{Locator, VectorError};
use super::id::{entitlement_vector_id, key_vector_id, regression_id};
use super::model::{Converter, Known};
use super::regression::REGRESSIONS_DIR;
use super::set::VectorSet;
use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::schema::{RawEntitlementVector, RawKeyVector, RawRegression};

/// Loads `dir`, checking cross-references against `known`.
pub(crate) fn load(
    dir: &Path,
    catalog: &Catalog,
    known: Known<'_>,
) -> (VectorSet, Vec<VectorError>) {
    let mut set = VectorSet::default();
    let mut errors = Vec::new();
    let files = match toml_files(dir) {
        Ok(f) => f,
        Err(e) => return (set, vec![e]),
    };
    let mut ids = IdRegistry::default();
    for rel in files {
        let path = dir.join(&rel);
        let text = match std::fs::read(&path).map(crate::utf8::decode) {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => {
                errors.push(VectorError {
                    file: path.clone(),
                    line: e.line as usize,
                    column: e.column as usize,
                    message: format!(
                        "byte 0x{:02X} is not UTF-8; hint: save the file as UTF-8",
                        e.byte
                    ),
                });
                continue;
            }
            Err(e) => {
                errors.push(VectorError::whole(&path, format!("cannot read: {e}")));
                continue;
            }
        };
        let loc = Locator::new(&path, &text);
        let mut conv = Converter {
            loc,
            catalog,
            known,
            errors: Vec::new(),
        };
        let rel = slash_path(&rel);
        if rel.starts_with(&format!("{REGRESSIONS_DIR}/")) {
            load_regressions(&mut conv, &mut ids, &rel, &mut set);
        } else {
            load_vectors(&mut conv, &mut ids, &rel, &mut set);
        }
        errors.append(&mut conv.errors);
    }
    errors.sort();
    (set, errors)
}

/// Ids seen so far, with where, to report duplicates.
#[derive(Default)]
struct IdRegistry {
    seen: BTreeMap<String, (String, usize)>,
}

impl IdRegistry {
    /// Registers the id of the vector at `span`: checks an explicit id against
    /// the computed one and reports a duplicate. Returns whether it is new.
    fn register(
        &mut self,
        conv: &mut Converter<'_>,
        rel: &str,
        span: std::ops::Range<usize>,
        explicit: Option<&Spanned<String>>,
        computed: &str,
    ) -> bool {
        if let Some(given) = explicit
            && given.get_ref() != computed
        {
            let e = conv.loc.error(
                given.span(),
                format!(
                    "id {} does not match the content (computed {computed}); hint: write id = \"{computed}\" or remove the id",
                    given.get_ref()
                ),
            );
            conv.errors.push(e);
            return false;
        }
        let line = conv.loc.position(span.start).0;
        if let Some((file, first)) = self.seen.get(computed) {
            let e = conv.loc.error(
                span,
                format!("duplicate vector: id {computed} is also the vector at {file}:{first}"),
            );
            conv.errors.push(e);
            return false;
        }
        self.seen
            .insert(computed.to_string(), (rel.to_string(), line));
        true
    }
}

/// The tables of the top-level arrays `names` (`[[key]]` ...), each with its
/// span. Each is deserialized on its own afterwards, so one broken vector
/// does not hide the errors of the others.
fn top_level_items<'i>(
    conv: &mut Converter<'_>,
    text: &'i str,
    names: &[&str],
) -> Vec<(String, Spanned<DeValue<'i>>)> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in &syntax {
            let e = conv.loc.toml_error(e);
            conv.errors.push(e);
        }
        return Vec::new();
    }
    let expected = names
        .iter()
        .map(|n| format!("[[{n}]]"))
        .collect::<Vec<_>>()
        .join(" or ");
    let mut out = Vec::new();
    for (name, value) in root.into_inner() {
        let span = value.span();
        match value.into_inner() {
            _ if !names.contains(&name.get_ref().as_ref()) => {
                let e = conv.loc.error(
                    name.span(),
                    format!("unknown table `{}`; expected {expected}", name.get_ref()),
                );
                conv.errors.push(e);
            }
            DeValue::Array(items) if items.iter().all(|i| i.get_ref().is_table()) => {
                out.extend(items.into_iter().map(|i| (name.get_ref().to_string(), i)));
            }
            _ => {
                let e = conv.loc.error(
                    span,
                    format!(
                        "`{}` must be an array of tables: [[{}]]",
                        name.get_ref(),
                        name.get_ref()
                    ),
                );
                conv.errors.push(e);
            }
        }
    }
    out
}

/// Deserializes one table, keeping its span.
fn parse_item<'i, T: Deserialize<'i>>(
    conv: &mut Converter<'_>,
    item: Spanned<DeValue<'i>>,
) -> Option<Spanned<T>> {
    let span = item.span();
    match T::deserialize(ValueDeserializer::from(item)) {
        Ok(v) => Some(Spanned::new(span, v)),
        Err(e) => {
            let e = conv.loc.toml_error(&e);
            conv.errors.push(e);
            None
        }
    }
}

fn load_vectors(conv: &mut Converter<'_>, ids: &mut IdRegistry, rel: &str, set: &mut VectorSet) {
    let text = conv.loc.text;
    for (kind, item) in top_level_items(conv, text, &["entitlement", "key"]) {
        if kind == "entitlement" {
            let Some(raw) = parse_item::<RawEntitlementVector>(conv, item) else {
                continue;
            };
            if let Some(mut v) = conv.entitlement_vector(rel, &raw) {
                v.id = entitlement_vector_id(&v);
                if ids.register(conv, rel, raw.span(), raw.get_ref().id.as_ref(), &v.id) {
                    set.entitlements.push(v);
                }
            }
        } else {
            let Some(raw) = parse_item::<RawKeyVector>(conv, item) else {
                continue;
            };
            if let Some(mut v) = conv.key_vector(rel, &raw) {
                v.id = key_vector_id(&v);
                if ids.register(conv, rel, raw.span(), raw.get_ref().id.as_ref(), &v.id) {
                    set.keys.push(v);
                }
            }
        }
    }
}

fn load_regressions(
    conv: &mut Converter<'_>,
    ids: &mut IdRegistry,
    rel: &str,
    set: &mut VectorSet,
) {
    let text = conv.loc.text;
    for (_, item) in top_level_items(conv, text, &["regression"]) {
        let Some(raw) = parse_item::<RawRegression>(conv, item) else {
            continue;
        };
        if let Some(mut v) = conv.regression(&raw) {
            v.id = regression_id(&v.entitlement);
            if ids.register(conv, rel, raw.span(), raw.get_ref().id.as_ref(), &v.id) {
                set.regressions.push(v);
            }
        }
    }
}

/// `*.toml` files under `dir`, relative to it, sorted by path. Hidden files
/// and directories (such as a half-written `.x.toml.tmp`) are skipped.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, VectorError> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let abs = if rel.as_os_str().is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(&rel)
        };
        let entries = std::fs::read_dir(&abs).map_err(|e| {
            VectorError::whole(&abs, format!("cannot read the vectors directory: {e}"))
        })?;
        for entry in entries {
            let entry = entry
                .map_err(|e| VectorError::whole(&abs, format!("cannot list directory: {e}")))?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let child = rel.join(&name);
            let is_dir =
                entry.file_type().map(|t| t.is_dir()).unwrap_or(false) || dir.join(&child).is_dir();
            if is_dir {
                pending.push(child);
            } else if child.extension().is_some_and(|x| x == "toml") {
                out.push(child);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A relative path with `/` separators on every platform.
fn slash_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
