//! Regression vectors: shrunk random cases saved after a failure, so the next
//! run feeds them first through the full check matrix and a fixed bug stays
//! fixed even when the random seed changes.
//!
//! They live in `regressions/<check>.toml` under the vectors directory, one
//! `[[regression]]` table each, appended by [`save_regression`]. Only the
//! entitlement is replayed; the other fields record where the failure came
//! from for the humans who read the file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Spanned;

use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};
use crate::finding::Check;

use super::id::regression_id;
use super::model::Converter;
use super::schema::{RawRegression, RawRegressionFile, Seed};

/// The directory of regression files, under the vectors directory.
pub const REGRESSIONS_DIR: &str = "regressions";

/// A shrunk random case saved after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegressionVector {
    /// `r-` + 12 hex digits over the entitlement's canonical JSON
    /// ([`regression_id`]).
    pub id: String,
    /// The entitlement to replay.
    pub entitlement: Entitlement,
    /// The check that failed.
    pub check: Check,
    /// The failing group's cause, e.g. `drift: features`.
    pub cause: String,
    /// The system that issued the key.
    pub generator: String,
    /// The system or release that validated it, if any.
    pub validator: Option<String>,
    /// The seed of the run that found it, if random.
    pub seed: Option<u64>,
    /// The day it was found, `YYYY-MM-DD`.
    pub found: String,
    /// Free text.
    pub note: String,
}

impl RegressionVector {
    /// A regression of `entitlement`, with its id computed.
    pub fn new(entitlement: Entitlement, check: Check, cause: impl Into<String>) -> Self {
        RegressionVector {
            id: regression_id(&entitlement),
            entitlement,
            check,
            cause: cause.into(),
            generator: String::new(),
            validator: None,
            seed: None,
            found: String::new(),
            note: String::new(),
        }
    }

    /// The file it is saved in, relative to the vectors directory.
    pub fn file(&self) -> String {
        format!("{REGRESSIONS_DIR}/{}.toml", self.check.as_str())
    }
}

/// The TOML form written by [`save_regression`]: absent optional fields are
/// null, as in every vector file.
#[derive(Serialize)]
struct WrittenRegression<'a> {
    id: &'a str,
    check: &'static str,
    cause: &'a str,
    generator: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    validator: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<Seed>,
    found: &'a str,
    note: &'a str,
    entitlement: WrittenEntitlement<'a>,
}

#[derive(Serialize)]
struct WrittenEntitlement<'a> {
    product: &'a str,
    edition: &'a str,
    max_major: u8,
    features: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seats: Option<u32>,
    issued: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maintenance_until: Option<String>,
    serial: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<&'a Customer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_id: Option<&'a str>,
}

#[derive(Serialize)]
struct WrittenFile<'a> {
    regression: [WrittenRegression<'a>; 1],
}

fn written(v: &RegressionVector) -> WrittenRegression<'_> {
    let e = &v.entitlement;
    WrittenRegression {
        id: &v.id,
        check: v.check.as_str(),
        cause: &v.cause,
        generator: &v.generator,
        validator: v.validator.as_deref(),
        seed: v.seed.map(Seed),
        found: &v.found,
        note: &v.note,
        entitlement: WrittenEntitlement {
            product: &e.product,
            edition: &e.edition,
            max_major: e.max_major,
            features: e.features.iter().map(String::as_str).collect(),
            seats: e.seats,
            issued: e.issued.to_string(),
            expires: e.expires.map(|d| d.to_string()),
            maintenance_until: e.maintenance_until.map(|d| d.to_string()),
            serial: e.serial,
            customer: e.customer.as_ref(),
            order_id: e.order_id.as_deref(),
            host_id: e.host_id.as_deref(),
        },
    }
}

/// The TOML text of one regression, as appended to its file.
pub fn regression_toml(v: &RegressionVector) -> Result<String, toml::ser::Error> {
    toml::to_string(&WrittenFile {
        regression: [written(v)],
    })
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Appends `v` to `<dir>/regressions/<check>.toml` (creating both as needed),
/// atomically: the new file is written beside the old one and renamed over
/// it, so a crash never leaves half a file. Returns `Ok(false)`, writing
/// nothing, when a regression with the same id is already saved in any
/// regression file. Not safe against concurrent writers of the same file.
pub fn save_regression(dir: &Path, v: &RegressionVector) -> io::Result<bool> {
    if v.id != regression_id(&v.entitlement) {
        return Err(invalid_input(format!(
            "regression id {} does not match its entitlement ({})",
            v.id,
            regression_id(&v.entitlement)
        )));
    }
    Day::parse(&v.found).map_err(|m| invalid_input(format!("regression `found`: {m}")))?;
    let regressions = dir.join(REGRESSIONS_DIR);
    if saved_ids(&regressions)?.contains(&v.id) {
        return Ok(false);
    }
    std::fs::create_dir_all(&regressions)?;
    let path = regressions.join(format!("{}.toml", v.check.as_str()));
    let mut text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&regression_toml(v).map_err(|e| invalid_input(e.to_string()))?);
    write_atomically(&path, text.as_bytes())?;
    Ok(true)
}

/// Ids of every regression saved under `regressions` (missing directory: none).
fn saved_ids(regressions: &Path) -> io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(regressions) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut ids = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&path)?;
            let file: RawRegressionFile = toml::from_str(&text).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {}", path.display(), e.message()),
                )
            })?;
            ids.extend(file.regression.iter().map(|r| {
                let r = r.get_ref();
                r.id.as_ref()
                    .map(|i| i.get_ref().clone())
                    .unwrap_or_default()
            }));
        }
    }
    Ok(ids)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

impl Converter<'_> {
    /// Converts a `[[regression]]`; `None` when it has errors.
    pub fn regression(&mut self, raw: &Spanned<RawRegression>) -> Option<RegressionVector> {
        let before = self.errors.len();
        let r = raw.get_ref();
        let check = Check::parse(r.check.get_ref());
        if check.is_none() {
            let known: Vec<&str> = Check::ALL.iter().map(|c| c.as_str()).collect();
            let e = self.loc.error(
                r.check.span(),
                format!(
                    "unknown check {:?}; the checks are {}",
                    r.check.get_ref(),
                    known.join(", ")
                ),
            );
            self.errors.push(e);
        }
        let entitlement = self.entitlement(&r.entitlement);
        let v = RegressionVector {
            id: String::new(),
            entitlement: entitlement?,
            check: check?,
            cause: r.cause.clone(),
            generator: r.generator.clone(),
            validator: r.validator.clone(),
            seed: r.seed.map(|s| s.0),
            found: r.found.get_ref().0.to_string(),
            note: r.note.clone(),
        };
        (self.errors.len() == before).then_some(v)
    }
}
