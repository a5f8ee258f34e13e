//! Stable vector ids, derived from content.
//!
//! A finding names its vector by id, waivers and partitions select by id, and
//! reports are merged by id: so an id must not change when a comment is
//! reworded, a file is reformatted or its fields are reordered, and must
//! change when anything that is checked changes. The id is `v-` plus the
//! first 12 hex digits of SHA-256 over a canonical JSON form of the vector's
//! semantic content (everything but `id` and `comment`; flags as a sorted set;
//! the key as hex of its bytes, however the file spelled it). A regression's
//! id (`r-...`) covers only its entitlement's canonical JSON: the same
//! entitlement is the same regression, whichever check found it.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::entitlement::Entitlement;
use crate::verdict::{Context, Decoded, Verdict};

use super::model::{EntitlementVector, ExpectedKey, KeyVector};

/// Hex digits of the digest kept in an id.
const ID_HEX_DIGITS: usize = 12;

#[derive(Serialize)]
struct CanonicalEntitlementVector<'a> {
    kind: &'static str,
    result: &'static str,
    flags: Vec<&'a str>,
    entitlement: &'a Entitlement,
    keys: &'a BTreeMap<String, ExpectedKey>,
}

#[derive(Serialize)]
struct CanonicalKeyVector<'a> {
    kind: &'static str,
    result: &'static str,
    flags: Vec<&'a str>,
    key_hex: String,
    context: &'a Context,
    expect: &'a BTreeMap<String, Verdict>,
    decoded: &'a Option<Decoded>,
}

fn sorted_flags(flags: &[String]) -> Vec<&str> {
    let mut f: Vec<&str> = flags.iter().map(String::as_str).collect();
    f.sort_unstable();
    f.dedup();
    f
}

fn digest_id(prefix: &str, canonical: &str) -> String {
    let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
    format!("{prefix}{}", &digest[..ID_HEX_DIGITS])
}

fn canonical_json<T: Serialize>(v: &T) -> String {
    // Structs of strings, integers, sets and ordered maps always serialize.
    serde_json::to_string(v).expect("canonical vector forms serialize")
}

/// The canonical JSON an entitlement vector's id is computed over.
pub fn entitlement_vector_canonical(v: &EntitlementVector) -> String {
    canonical_json(&CanonicalEntitlementVector {
        kind: "entitlement",
        result: v.result.as_str(),
        flags: sorted_flags(&v.flags),
        entitlement: &v.entitlement,
        keys: &v.keys,
    })
}

/// The canonical JSON a key vector's id is computed over.
pub fn key_vector_canonical(v: &KeyVector) -> String {
    canonical_json(&CanonicalKeyVector {
        kind: "key",
        result: v.result.as_str(),
        flags: sorted_flags(&v.flags),
        key_hex: hex::encode(&v.key),
        context: &v.context,
        expect: &v.expect,
        decoded: &v.decoded,
    })
}

/// The id of an entitlement vector (its `id` field is ignored).
pub fn entitlement_vector_id(v: &EntitlementVector) -> String {
    digest_id("v-", &entitlement_vector_canonical(v))
}

/// The id of a key vector (its `id` field is ignored).
pub fn key_vector_id(v: &KeyVector) -> String {
    digest_id("v-", &key_vector_canonical(v))
}

/// The id of a regression of this entitlement.
pub fn regression_id(entitlement: &Entitlement) -> String {
    digest_id("r-", &entitlement.to_json())
}
