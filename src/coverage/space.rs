//! The entitlement space a run tracks (its dimensions and their values) and
//! what a run observed of it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::class::{ExpiryClass, MaintenanceClass, NodeLock, SeatsClass};
use crate::catalog::Catalog;
use crate::check::Release;
use crate::entitlement::Entitlement;
use crate::verdict::Verdict;

/// A dimension of the space, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Every catalog product × edition.
    ProductEdition,
    /// Each catalog feature, granted at least once.
    Feature,
    /// Each shipped release whose validator was asked about a key.
    Release,
    /// [`SeatsClass`].
    Seats,
    /// [`ExpiryClass`].
    Expiry,
    /// [`MaintenanceClass`].
    Maintenance,
    /// [`NodeLock`].
    NodeLock,
    /// Each validating system × each [`Verdict`], reachable or not.
    ValidatorVerdict,
    /// Product × seats class.
    ProductSeats,
    /// Product × expiry class.
    ProductExpiry,
    /// Product × node lock.
    ProductNodeLock,
    /// Edition × seats class.
    EditionSeats,
    /// Edition × expiry class.
    EditionExpiry,
    /// Edition × node lock.
    EditionNodeLock,
    /// Seats class × expiry class.
    SeatsExpiry,
    /// Seats class × node lock.
    SeatsNodeLock,
    /// Expiry class × node lock.
    ExpiryNodeLock,
}

impl Dimension {
    /// Every dimension, in report order. The pairs of {product, edition,
    /// seats, expiry, node lock} are product × edition and the last nine.
    pub const ALL: [Dimension; 17] = [
        Dimension::ProductEdition,
        Dimension::Feature,
        Dimension::Release,
        Dimension::Seats,
        Dimension::Expiry,
        Dimension::Maintenance,
        Dimension::NodeLock,
        Dimension::ValidatorVerdict,
        Dimension::ProductSeats,
        Dimension::ProductExpiry,
        Dimension::ProductNodeLock,
        Dimension::EditionSeats,
        Dimension::EditionExpiry,
        Dimension::EditionNodeLock,
        Dimension::SeatsExpiry,
        Dimension::SeatsNodeLock,
        Dimension::ExpiryNodeLock,
    ];

    /// The human name, e.g. `product × seats class`.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::ProductEdition => "product × edition",
            Dimension::Feature => "feature",
            Dimension::Release => "release",
            Dimension::Seats => "seats class",
            Dimension::Expiry => "expiry class",
            Dimension::Maintenance => "maintenance class",
            Dimension::NodeLock => "node lock",
            Dimension::ValidatorVerdict => "validator × verdict",
            Dimension::ProductSeats => "product × seats class",
            Dimension::ProductExpiry => "product × expiry class",
            Dimension::ProductNodeLock => "product × node lock",
            Dimension::EditionSeats => "edition × seats class",
            Dimension::EditionExpiry => "edition × expiry class",
            Dimension::EditionNodeLock => "edition × node lock",
            Dimension::SeatsExpiry => "seats class × expiry class",
            Dimension::SeatsNodeLock => "seats class × node lock",
            Dimension::ExpiryNodeLock => "expiry class × node lock",
        }
    }

    /// The entitlement fields the dimension is made of (`None` for release
    /// and validator × verdict, which an entitlement cannot be steered into).
    pub(super) fn axes(self) -> Option<(Axis, Option<Axis>)> {
        use Axis::*;
        let (a, b) = match self {
            Dimension::Release | Dimension::ValidatorVerdict => return None,
            Dimension::Feature => (Feature, None),
            Dimension::Seats => (Seats, None),
            Dimension::Expiry => (Expiry, None),
            Dimension::Maintenance => (Maintenance, None),
            Dimension::NodeLock => (NodeLock, None),
            Dimension::ProductEdition => (Product, Some(Edition)),
            Dimension::ProductSeats => (Product, Some(Seats)),
            Dimension::ProductExpiry => (Product, Some(Expiry)),
            Dimension::ProductNodeLock => (Product, Some(NodeLock)),
            Dimension::EditionSeats => (Edition, Some(Seats)),
            Dimension::EditionExpiry => (Edition, Some(Expiry)),
            Dimension::EditionNodeLock => (Edition, Some(NodeLock)),
            Dimension::SeatsExpiry => (Seats, Some(Expiry)),
            Dimension::SeatsNodeLock => (Seats, Some(NodeLock)),
            Dimension::ExpiryNodeLock => (Expiry, Some(NodeLock)),
        };
        Some((a, b))
    }
}

/// The single-valued entitlement dimensions, counted once per entitlement.
const SINGLE_VALUED: [Dimension; 14] = [
    Dimension::ProductEdition,
    Dimension::Seats,
    Dimension::Expiry,
    Dimension::Maintenance,
    Dimension::NodeLock,
    Dimension::ProductSeats,
    Dimension::ProductExpiry,
    Dimension::ProductNodeLock,
    Dimension::EditionSeats,
    Dimension::EditionExpiry,
    Dimension::EditionNodeLock,
    Dimension::SeatsExpiry,
    Dimension::SeatsNodeLock,
    Dimension::ExpiryNodeLock,
];

/// One entitlement field, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Axis {
    Product,
    Edition,
    Feature,
    Seats,
    Expiry,
    Maintenance,
    NodeLock,
}

/// Where one entitlement falls on each single-valued axis (`None`: a product
/// or edition the catalog does not have).
struct Point {
    product: Option<usize>,
    edition: Option<usize>,
    seats: usize,
    expiry: usize,
    maintenance: usize,
    node_lock: usize,
}

impl Point {
    fn get(&self, axis: Axis) -> Option<usize> {
        match axis {
            Axis::Product => self.product,
            Axis::Edition => self.edition,
            Axis::Feature => None,
            Axis::Seats => Some(self.seats),
            Axis::Expiry => Some(self.expiry),
            Axis::Maintenance => Some(self.maintenance),
            Axis::NodeLock => Some(self.node_lock),
        }
    }
}

/// The dimensions and values a run can cover, from one config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageSpace {
    pub(super) products: Vec<String>,
    pub(super) editions: Vec<String>,
    /// Catalog order (value index = position).
    pub(super) features: Vec<String>,
    /// Slug to value index.
    feature_lookup: HashMap<String, usize>,
    releases: Vec<String>,
    validators: Vec<String>,
}

impl CoverageSpace {
    /// The space of a config: its catalog, its shipped releases, and the
    /// systems that validate keys (e.g. `old`, `new`). Duplicate names count
    /// once.
    pub fn new(catalog: &Catalog, releases: &[Release], validators: &[String]) -> Self {
        let features = dedup(catalog.features.iter().map(|f| f.slug.clone()));
        let feature_lookup = features
            .iter()
            .enumerate()
            .map(|(i, f)| (f.clone(), i))
            .collect();
        CoverageSpace {
            products: dedup(catalog.products.iter().map(|p| p.slug.clone())),
            editions: dedup(catalog.editions.iter().cloned()),
            features,
            feature_lookup,
            releases: dedup(releases.iter().map(|r| r.name.clone())),
            validators: dedup(validators.iter().cloned()),
        }
    }

    /// How many values a dimension has.
    pub fn total(&self, dimension: Dimension) -> usize {
        match dimension {
            Dimension::Release => self.releases.len(),
            Dimension::ValidatorVerdict => self.validators.len() * Verdict::ALL.len(),
            d => match d.axes() {
                Some((a, None)) => self.axis_len(a),
                Some((a, Some(b))) => self.axis_len(a) * self.axis_len(b),
                None => 0,
            },
        }
    }

    pub(super) fn axis_len(&self, axis: Axis) -> usize {
        match axis {
            Axis::Product => self.products.len(),
            Axis::Edition => self.editions.len(),
            Axis::Feature => self.features.len(),
            Axis::Seats => SeatsClass::ALL.len(),
            Axis::Expiry => ExpiryClass::ALL.len(),
            Axis::Maintenance => MaintenanceClass::ALL.len(),
            Axis::NodeLock => NodeLock::ALL.len(),
        }
    }

    /// The label of value `v` of a dimension, e.g. `acme-cad × enterprise`.
    pub fn label(&self, dimension: Dimension, v: usize) -> String {
        match dimension {
            Dimension::Release => self.releases.get(v).cloned().unwrap_or_default(),
            Dimension::ValidatorVerdict => {
                let n = Verdict::ALL.len();
                match (self.validators.get(v / n), Verdict::ALL.get(v % n)) {
                    (Some(system), Some(verdict)) => format!("{system} → {verdict}"),
                    _ => String::new(),
                }
            }
            d => match d.axes() {
                Some((a, None)) => self.axis_label(a, v),
                Some((a, Some(b))) => {
                    let n = self.axis_len(b).max(1);
                    format!(
                        "{} × {}",
                        self.axis_label(a, v / n),
                        self.axis_label(b, v % n)
                    )
                }
                None => String::new(),
            },
        }
    }

    fn axis_label(&self, axis: Axis, v: usize) -> String {
        let from = |names: &[String]| names.get(v).cloned().unwrap_or_default();
        let class = |label: Option<&'static str>| label.unwrap_or_default().to_string();
        match axis {
            Axis::Product => from(&self.products),
            Axis::Edition => from(&self.editions),
            Axis::Feature => from(&self.features),
            Axis::Seats => class(SeatsClass::ALL.get(v).map(|c| c.label())),
            Axis::Expiry => class(ExpiryClass::ALL.get(v).map(|c| c.label())),
            Axis::Maintenance => class(MaintenanceClass::ALL.get(v).map(|c| c.label())),
            Axis::NodeLock => class(NodeLock::ALL.get(v).map(|c| c.label())),
        }
    }

    /// How often value `v` of a dimension was observed.
    pub fn count(&self, coverage: &Coverage, dimension: Dimension, v: usize) -> u64 {
        match dimension {
            Dimension::Release => self
                .releases
                .get(v)
                .and_then(|r| coverage.releases.get(r))
                .copied()
                .unwrap_or(0),
            Dimension::ValidatorVerdict => {
                let n = Verdict::ALL.len();
                self.validators
                    .get(v / n)
                    .and_then(|s| coverage.verdicts.get(s))
                    .zip(Verdict::ALL.get(v % n))
                    .and_then(|(counts, verdict)| counts.get(verdict))
                    .copied()
                    .unwrap_or(0)
            }
            d => coverage.values[d as usize].get(v).copied().unwrap_or(0),
        }
    }

    fn classify(&self, e: &Entitlement) -> Point {
        Point {
            product: self.products.iter().position(|p| *p == e.product),
            edition: self.editions.iter().position(|x| *x == e.edition),
            seats: SeatsClass::of(e.seats) as usize,
            expiry: ExpiryClass::of(e.issued, e.expires) as usize,
            maintenance: MaintenanceClass::of(e.issued, e.expires, e.maintenance_until) as usize,
            node_lock: NodeLock::of(e.host_id.as_deref()) as usize,
        }
    }

    /// The value index of `point` in a single-valued entitlement dimension.
    fn index(&self, dimension: Dimension, point: &Point) -> Option<usize> {
        match dimension.axes()? {
            (a, None) => point.get(a),
            (a, Some(b)) => Some(point.get(a)? * self.axis_len(b) + point.get(b)?),
        }
    }

    fn feature_index(&self, slug: &str) -> Option<usize> {
        self.feature_lookup.get(slug).copied()
    }
}

fn dedup(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// What a run observed: counts only, mergeable across threads and shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Entitlements observed.
    #[serde(default)]
    entitlements: u64,
    /// Per dimension (by its position in [`Dimension::ALL`]), counts by
    /// value index in the space's order; empty for releases and verdicts.
    #[serde(default, with = "by_dimension")]
    values: [Vec<u64>; Dimension::ALL.len()],
    /// Keys asked of each shipped release, by release name.
    #[serde(default)]
    releases: BTreeMap<String, u64>,
    /// Verdicts given by each validating system.
    #[serde(default)]
    verdicts: BTreeMap<String, BTreeMap<Verdict, u64>>,
}

impl Coverage {
    /// Entitlements observed.
    pub fn entitlements(&self) -> u64 {
        self.entitlements
    }

    /// Counts one case's entitlement. Allocation-free once each dimension
    /// has been seen; a product, edition or feature the catalog lacks is
    /// skipped, never an error.
    pub fn observe_entitlement(&mut self, space: &CoverageSpace, e: &Entitlement) {
        self.entitlements = self.entitlements.saturating_add(1);
        let point = space.classify(e);
        for d in SINGLE_VALUED {
            if let Some(v) = space.index(d, &point) {
                bump(self.slot(space, d), v);
            }
        }
        if !e.features.is_empty() {
            let counts = self.slot(space, Dimension::Feature);
            for f in &e.features {
                if let Some(v) = space.feature_index(f) {
                    bump(counts, v);
                }
            }
        }
    }

    /// Counts one key asked of a shipped release's validator.
    pub fn observe_release(&mut self, release: &str) {
        match self.releases.get_mut(release) {
            Some(n) => *n = n.saturating_add(1),
            None => {
                self.releases.insert(release.to_string(), 1);
            }
        }
    }

    /// Counts one verdict given by a validating system.
    pub fn observe_verdict(&mut self, validator: &str, verdict: Verdict) {
        let counts = match self.verdicts.get_mut(validator) {
            Some(c) => c,
            None => self.verdicts.entry(validator.to_string()).or_default(),
        };
        let n = counts.entry(verdict).or_default();
        *n = n.saturating_add(1);
    }

    /// Adds another coverage (another thread's or shard's). Associative and
    /// order-independent: merging shards in any grouping gives the coverage of
    /// one run over all their cases.
    pub fn merge(&mut self, other: Coverage) {
        self.entitlements = self.entitlements.saturating_add(other.entitlements);
        for (mine, counts) in self.values.iter_mut().zip(other.values) {
            if mine.len() < counts.len() {
                mine.resize(counts.len(), 0);
            }
            for (m, n) in mine.iter_mut().zip(counts) {
                *m = m.saturating_add(n);
            }
        }
        for (r, n) in other.releases {
            let mine = self.releases.entry(r).or_default();
            *mine = mine.saturating_add(n);
        }
        for (v, counts) in other.verdicts {
            let mine = self.verdicts.entry(v).or_default();
            for (verdict, n) in counts {
                let m = mine.entry(verdict).or_default();
                *m = m.saturating_add(n);
            }
        }
    }

    /// The counters of a dimension, sized to the space.
    fn slot(&mut self, space: &CoverageSpace, d: Dimension) -> &mut Vec<u64> {
        let counts = &mut self.values[d as usize];
        let total = space.total(d);
        if counts.len() < total {
            counts.resize(total, 0);
        }
        counts
    }
}

/// Serde for the per-dimension counts as a map keyed by dimension name
/// (deterministic: [`Dimension`] order), leaving out dimensions not seen.
mod by_dimension {
    use super::*;

    type Counts = [Vec<u64>; Dimension::ALL.len()];

    pub fn serialize<S: serde::Serializer>(values: &Counts, s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<Dimension, &Vec<u64>> = Dimension::ALL
            .into_iter()
            .zip(values)
            .filter(|(_, counts)| !counts.is_empty())
            .collect();
        map.serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Counts, D::Error> {
        let mut values = Counts::default();
        for (dimension, counts) in BTreeMap::<Dimension, Vec<u64>>::deserialize(d)? {
            values[dimension as usize] = counts;
        }
        Ok(values)
    }
}

fn bump(counts: &mut [u64], v: usize) {
    if let Some(n) = counts.get_mut(v) {
        *n = n.saturating_add(1);
    }
}
