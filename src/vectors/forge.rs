//! Forged key vectors (`keycompat vectors forge`): every forgery (see
//! [`crate::forgery`]) that the forging systems of a config make of the keys
//! they issue for a few base entitlements, as `[[key]]` vectors.
//!
//! TAMPER presents a rotating few forgeries per case; the vectors carry every
//! one, every run, so a validator that accepts any one reserved value is
//! caught even if no random case happened to present it. The file is
//! generated, not hand-written, so it follows the forging implementations:
//! regenerate it when they change, and review the diff like any vector
//! change. Everything here is deterministic (Ed25519 and the MAC are), so
//! regenerating unchanged systems gives the same bytes.
//!
//! A forgery states the verdict its own format requires. A system named in
//! `expect` that does not read that format at all (the Acme old system and
//! acme-ed1) must reject it as it rejects the genuine key: `malformed`.
//! Which of the two applies is read from how the system answers the genuine
//! key; an answer that is neither (e.g. `bad_signature`: it holds another
//! secret) is an error, since nothing about the forgeries would then follow.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::check::own_context;
use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};
use crate::forgery::{Forgery, Pick};
use crate::implementation::{CallFailure, Implementation};
use crate::verdict::{Context, Verdict};

/// Why no vector file could be made.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// None of the systems forges any key of the base entitlements.
    #[error(
        "none of the systems {systems} forges keys; hint: a builtin holding the format's secret forges (e.g. `builtin = \"acme-lk1\"`); plugins cannot"
    )]
    NoForgeries {
        /// The systems asked, comma-separated.
        systems: String,
    },
    /// A system named in `expect` failed to validate a genuine key.
    #[error("{system} could not validate the {format} key {key}: {failure}")]
    Call {
        /// The system.
        system: String,
        /// The key's format.
        format: String,
        /// The genuine key.
        key: String,
        /// What went wrong.
        failure: CallFailure,
    },
    /// A system named in `expect` neither validates a genuine key nor
    /// rejects it as `malformed`, so what it must answer for the key's
    /// forgeries does not follow.
    #[error(
        "{system} answers {verdict} for the genuine {format} key {key} that {forger} issued; hint: it must validate the keys of the systems that forge (same secret, same trusted keys), or not read their format at all (malformed)"
    )]
    Undecidable {
        /// The system.
        system: String,
        /// Its verdict on the genuine key.
        verdict: Verdict,
        /// The key's format.
        format: String,
        /// The genuine key.
        key: String,
        /// The system that issued it.
        forger: String,
    },
}

/// One forged key vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgedVector {
    /// Free text: which forgery of which key.
    pub comment: String,
    /// The forgery's flags.
    pub flags: &'static [&'static str],
    /// The forged key.
    pub key: String,
    /// The genuine key's own context.
    pub context: Context,
    /// The verdict per system named.
    pub expect: BTreeMap<String, Verdict>,
}

/// The entitlements whose keys are forged: one with every field set, for
/// the first product of `catalog`, with features a legacy format can carry;
/// and one with every optional field empty (perpetual, unlimited, no
/// customer), for the last product (in Acme a new-only product, so a system
/// that picks the format issues the new one).
pub fn base_entitlements(catalog: &Catalog) -> Vec<Entitlement> {
    let day = |y, m, d| Day::from_ymd(y, m, d).expect("a fixed, real date");
    let product = |last: bool| {
        let products = &catalog.products;
        let picked = if last {
            products.last()
        } else {
            products.first()
        };
        picked.map(|p| p.slug.clone()).unwrap_or_default()
    };
    let edition = |last: bool| {
        let editions = &catalog.editions;
        let picked = if last {
            editions.last()
        } else {
            editions.first()
        };
        picked.cloned().unwrap_or_default()
    };
    let features: BTreeSet<String> = catalog
        .features
        .iter()
        .filter(|f| f.legacy_bit.is_some())
        .take(3)
        .map(|f| f.slug.clone())
        .collect();
    let full = Entitlement {
        product: product(false),
        edition: edition(true),
        max_major: 9,
        features,
        seats: Some(50),
        issued: day(2026, 11, 23),
        expires: Some(day(2028, 6, 30)),
        maintenance_until: Some(day(2027, 11, 23)),
        serial: 77_777,
        customer: Some(Customer {
            id: "C-000077".into(),
            name: "Forgery Test GmbH".into(),
        }),
        order_id: Some("SO-7777".into()),
        host_id: None,
    };
    let empty = Entitlement {
        product: product(true),
        edition: edition(false),
        max_major: 1,
        features: BTreeSet::new(),
        seats: None,
        expires: None,
        maintenance_until: None,
        serial: 1,
        customer: None,
        order_id: None,
        ..full.clone()
    };
    vec![full, empty]
}

/// Every forgery of every key that a system of `forgers` or `judged` issues
/// for each of `bases`, asked of every forger (in name order; each forged key
/// once), with the verdict each system of `judged` must return.
pub fn forge(
    forgers: &BTreeMap<String, Arc<dyn Implementation>>,
    judged: &BTreeMap<String, Arc<dyn Implementation>>,
    bases: &[Entitlement],
) -> Result<Vec<ForgedVector>, ForgeError> {
    let mut seen_keys = BTreeSet::new();
    let mut seen_forgeries = BTreeSet::new();
    let mut out = Vec::new();
    for e in bases {
        let context = own_context(e);
        for (issuer, system) in forgers.iter().chain(judged) {
            let Ok(key) = system.generate(e) else {
                continue;
            };
            if !seen_keys.insert(key.clone()) {
                continue;
            }
            let format = system
                .validate(key.as_bytes(), &context)
                .ok()
                .and_then(|v| v.format)
                .unwrap_or_else(|| "key".into());
            let forgeries: Vec<(&String, Forgery)> = forgers
                .iter()
                .flat_map(|(name, s)| {
                    s.forgeries(&key, Pick::All)
                        .into_iter()
                        .map(move |f| (name, f))
                })
                .filter(|(_, f)| seen_forgeries.insert(f.key.clone()))
                .collect();
            if forgeries.is_empty() {
                continue;
            }
            let reads = reads(judged, &key, &context, &format, issuer)?;
            for (forger, f) in forgeries {
                let expect = reads
                    .iter()
                    .map(|(system, reads)| {
                        let verdict = if *reads {
                            f.verdict
                        } else {
                            Verdict::Malformed
                        };
                        (system.clone(), verdict)
                    })
                    .collect();
                out.push(ForgedVector {
                    comment: format!(
                        "{}: {format} key of {} {} (max_major {}), forged by {forger}",
                        f.family, e.product, e.edition, e.max_major
                    ),
                    flags: f.flags,
                    key: f.key,
                    context: context.clone(),
                    expect,
                });
            }
        }
    }
    if out.is_empty() {
        return Err(ForgeError::NoForgeries {
            systems: forgers.keys().cloned().collect::<Vec<_>>().join(", "),
        });
    }
    Ok(out)
}

/// Whether each judged system reads `key`'s format (validates the genuine
/// key) or not at all (rejects it as malformed).
fn reads(
    judged: &BTreeMap<String, Arc<dyn Implementation>>,
    key: &str,
    context: &Context,
    format: &str,
    issuer: &str,
) -> Result<BTreeMap<String, bool>, ForgeError> {
    judged
        .iter()
        .map(|(name, system)| {
            let v = system
                .validate(key.as_bytes(), context)
                .map_err(|failure| ForgeError::Call {
                    system: name.clone(),
                    format: format.to_string(),
                    key: key.to_string(),
                    failure,
                })?;
            match v.verdict {
                Verdict::Valid => Ok((name.clone(), true)),
                Verdict::Malformed => Ok((name.clone(), false)),
                verdict => Err(ForgeError::Undecidable {
                    system: name.clone(),
                    verdict,
                    format: format.to_string(),
                    key: key.to_string(),
                    forger: issuer.to_string(),
                }),
            }
        })
        .collect()
}

/// The vector file: a header of `#` lines naming the command that made it
/// (`generated_by`), then one `[[key]]` per vector (vectors/README.md).
pub fn forged_vectors_toml(vectors: &[ForgedVector], generated_by: &str) -> String {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut out = format!(
        "# Generated by `{generated_by}`: do not edit.\n\
         # Run it again after a change to the forging systems or their formats'\n\
         # forgeries (src/forgery.rs, the builtins' forge.rs), and review the diff.\n\
         #\n\
         # Keys of a few entitlements whose payload carries, in one field, a value the\n\
         # format reserves, rules out or does not know, correctly MACed or signed by a\n\
         # system that holds the secret: each must get the verdict its format requires,\n\
         # and `malformed` from a system that does not read the format at all.\n"
    );
    for v in vectors {
        let flags: Vec<String> = v.flags.iter().map(|f| quote(f)).collect();
        let expect: Vec<String> = v
            .expect
            .iter()
            .map(|(system, verdict)| {
                format!("{} = {}", bare_or_quoted(system), quote(verdict.as_str()))
            })
            .collect();
        let mut context = format!(
            "product = {}, version = {}, today = {}",
            quote(&v.context.product),
            quote(&v.context.version.to_string()),
            quote(&v.context.today.to_string())
        );
        if let Some(host) = &v.context.host_id {
            let _ = write!(context, ", host_id = {}", quote(host));
        }
        let _ = write!(
            out,
            "\n[[key]]\ncomment = {}\nflags = [{}]\nresult = \"invalid\"\nkey = {}\ncontext = {{ {context} }}\nexpect = {{ {} }}\n",
            quote(&v.comment),
            flags.join(", "),
            quote(&v.key),
            expect.join(", ")
        );
    }
    out
}

/// A TOML key: bare when it can be, quoted otherwise.
fn bare_or_quoted(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        key.to_string()
    } else {
        toml::Value::String(key.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schemes::{self, demo};
    use crate::vectors::{VectorSet, load_dir};

    fn load_text(text: &str) -> VectorSet {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("forgeries.toml"), text).expect("write");
        load_dir(dir.path(), &Catalog::acme()).expect("the file loads")
    }

    /// Builtins by name: `acme-lk1` is the old system, `acme-ed1` the new
    /// one, `acme-ed1!` the new one issuing acme-ed1 only.
    fn systems(list: &[(&str, &str)]) -> BTreeMap<String, Arc<dyn Implementation>> {
        let catalog = Catalog::acme();
        list.iter()
            .map(|(name, builtin)| {
                let settings = match *builtin {
                    "acme-lk1" => demo::lk1(),
                    "acme-ed1" => demo::new_system(),
                    _ => {
                        let mut s = demo::new_system();
                        s.insert("emit".into(), "acme-ed1".into());
                        s
                    }
                };
                let builtin = builtin.trim_end_matches('!');
                let s: Arc<dyn Implementation> = schemes::builtin(builtin, &catalog, &settings)
                    .unwrap()
                    .into();
                (name.to_string(), s)
            })
            .collect()
    }

    #[test]
    fn every_forgery_of_every_issued_key_once_with_the_verdict_each_system_owes() {
        let forgers = systems(&[("old-rust", "acme-lk1"), ("new-rust", "acme-ed1!")]);
        let judged = systems(&[("old", "acme-lk1"), ("new", "acme-ed1")]);
        let bases = base_entitlements(&Catalog::acme());
        assert_eq!(bases[1].product, "acme-cloud");
        let vectors = forge(&forgers, &judged, &bases).unwrap();
        let keys: BTreeSet<&str> = vectors.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys.len(), vectors.len(), "each forged key once");
        let ed1: Vec<_> = vectors
            .iter()
            .filter(|v| v.key.starts_with("key/"))
            .collect();
        let lk1: Vec<_> = vectors
            .iter()
            .filter(|v| !v.key.starts_with("key/"))
            .collect();
        // The full entitlement fits acme-lk1 (old and new issue the same
        // key, forged alike by both); both have an acme-ed1 key.
        assert_eq!(lk1.len(), 26);
        assert!(ed1.len() > 2 * 50, "{}", ed1.len());
        for v in &ed1 {
            assert_eq!(v.expect["old"], Verdict::Malformed, "{}", v.comment);
        }
        for v in &vectors {
            let new = judged["new"]
                .validate(v.key.as_bytes(), &v.context)
                .unwrap();
            assert_eq!(new.verdict, v.expect["new"], "{}", v.comment);
            let old = judged["old"]
                .validate(v.key.as_bytes(), &v.context)
                .unwrap();
            assert_eq!(old.verdict, v.expect["old"], "{}", v.comment);
            assert!(v.expect.values().all(|x| *x != Verdict::Valid));
        }
        // Forgers in name order: new-rust's own key comes first.
        assert_eq!(
            vectors[0].comment,
            "forged v=2: acme-ed1 key of acme-cad enterprise (max_major 9), forged by new-rust"
        );
    }

    #[test]
    fn the_file_loads_as_vectors_and_is_the_same_every_time() {
        let forgers = systems(&[("new-rust", "acme-ed1")]);
        let judged = systems(&[("old", "acme-lk1"), ("new", "acme-ed1")]);
        let bases = base_entitlements(&Catalog::acme());
        let vectors = forge(&forgers, &judged, &bases).unwrap();
        // The new system in its own policy issues acme-lk1 for the first
        // entitlement and acme-ed1 for the second, and forges both.
        assert!(vectors.iter().any(|v| v.key.starts_with("key/")));
        assert!(vectors.iter().any(|v| !v.key.starts_with("key/")));
        let text = forged_vectors_toml(&vectors, "keycompat vectors forge");
        assert!(text.starts_with("# Generated by `keycompat vectors forge`"));
        assert_eq!(
            text,
            forged_vectors_toml(
                &forge(&forgers, &judged, &bases).unwrap(),
                "keycompat vectors forge"
            )
        );
        let set = load_text(&text);
        assert_eq!(set.keys.len(), vectors.len());
        for (loaded, v) in set.keys.iter().zip(&vectors) {
            assert_eq!(loaded.key, v.key.as_bytes());
            assert_eq!(loaded.expect, v.expect);
            assert_eq!(loaded.context, v.context);
            assert_eq!(
                loaded.flags,
                v.flags.iter().map(|f| f.to_string()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn without_a_forger_or_with_a_stranger_there_is_no_file() {
        let judged = systems(&[("old", "acme-lk1")]);
        let bases = base_entitlements(&Catalog::acme());
        let err = forge(&BTreeMap::new(), &judged, &bases).unwrap_err();
        assert!(matches!(err, ForgeError::NoForgeries { .. }), "{err}");
        // A judged system with another secret says bad_signature.
        let catalog = Catalog::acme();
        let mut other = demo::lk1();
        other.insert("secret".into(), "another secret".into());
        let stranger: Arc<dyn Implementation> = schemes::builtin("acme-lk1", &catalog, &other)
            .unwrap()
            .into();
        let judged = BTreeMap::from([("old".to_string(), stranger)]);
        let err = forge(&systems(&[("old-rust", "acme-lk1")]), &judged, &bases).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("old answers bad_signature for the genuine acme-lk1 key"),
            "{err}"
        );
    }
}
