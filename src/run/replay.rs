//! Replaying one case from a finding: the command a report prints for each
//! group ([`replay_command`]), and the library call it runs ([`replay`]),
//! which judges the case (and its waivers) as a run does.

use std::collections::BTreeSet;

use super::settings::RunError;
use super::vectors;
use crate::check::vector::{VectorOutcome, check_key_vector};
use crate::check::{Case, Matrix, case_id};
use crate::config::Config;
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::finding::{Check, Finding, Source};
use crate::random::Generator;
use crate::system::Hosting;
use crate::vectors::KeyVector;

/// What to replay.
#[derive(Debug, Clone)]
pub enum ReplayTarget {
    /// Random case `index` of `seed`.
    Random {
        /// The run's seed.
        seed: u64,
        /// The case index.
        index: u64,
    },
    /// A vector or regression, by id.
    Vector(String),
    /// An entitlement given in full.
    Entitlement(Entitlement),
}

/// How a replayed finding is judged against the config's waivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaiverDecision {
    /// No waiver matches: it blocks.
    Unwaived,
    /// Waiver `i` covers it.
    Waived(usize),
    /// Waiver `i` matches but expired: it blocks again.
    Expired(usize),
}

impl WaiverDecision {
    /// Whether the finding blocks go-live.
    pub fn blocks(self) -> bool {
        !matches!(self, WaiverDecision::Waived(_))
    }
}

/// What a replay found.
#[derive(Debug)]
pub enum Replayed {
    /// A key vector, checked against every system it names.
    KeyVector {
        /// The vector.
        vector: Box<KeyVector>,
        /// What checking it observed.
        outcome: VectorOutcome,
    },
    /// A case through the matrix.
    Case {
        /// The case.
        case: Box<Case>,
        /// Observations made.
        observations: u64,
        /// Each finding and how waivers judge it.
        findings: Vec<(Finding, WaiverDecision)>,
    },
}

impl Replayed {
    /// Whether anything found blocks go-live.
    pub fn blocks(&self) -> bool {
        match self {
            Replayed::KeyVector { outcome, .. } => !outcome.findings.is_empty(),
            Replayed::Case { findings, .. } => findings.iter().any(|(_, d)| d.blocks()),
        }
    }
}

/// Replays one case (or key vector) with `check` (or every check), judging
/// waivers on `today`.
pub fn replay(
    config: &Config,
    target: &ReplayTarget,
    check: Option<Check>,
    today: Day,
    hosting: &Hosting,
) -> Result<Replayed, ReplayError> {
    let (entitlement, source) = match target {
        ReplayTarget::Random { seed, index } => (
            Generator::new(*seed, config.catalog.clone(), config.release_majors())
                .entitlement(*index),
            Source::Random {
                seed: *seed,
                index: *index,
            },
        ),
        ReplayTarget::Vector(id) => {
            let set = vectors::load_vectors(config)?;
            if let Some(k) = set.keys.iter().find(|k| k.id == *id) {
                let matrix =
                    Matrix::open(config, BTreeSet::new(), hosting).map_err(RunError::from)?;
                let outcome = check_key_vector(k, &matrix.systems);
                return Ok(Replayed::KeyVector {
                    vector: Box::new(k.clone()),
                    outcome,
                });
            }
            let found = set
                .regressions
                .iter()
                .map(|r| (&r.id, &r.entitlement, r.file()))
                .chain(
                    set.entitlements
                        .iter()
                        .map(|e| (&e.id, &e.entitlement, e.file.clone())),
                )
                .find(|(vid, _, _)| *vid == id);
            match found {
                Some((vid, e, file)) => (
                    e.clone(),
                    Source::Vector {
                        id: vid.clone(),
                        file,
                    },
                ),
                None => {
                    return Err(ReplayError::NoSuchVector {
                        id: id.clone(),
                        dir: config.vectors_dir().map_or_else(
                            || "the config (`[run] vectors = false`)".to_string(),
                            |d| d.display().to_string(),
                        ),
                    });
                }
            }
        }
        ReplayTarget::Entitlement(e) => (
            e.clone(),
            Source::Vector {
                id: "cli".into(),
                file: "--entitlement".into(),
            },
        ),
    };
    let checks: BTreeSet<Check> = match check {
        Some(c) => [c].into(),
        None => Check::ALL.into_iter().collect(),
    };
    let matrix = Matrix::open(config, checks, hosting).map_err(RunError::from)?;
    let case = Case {
        id: case_id(&entitlement),
        source,
        entitlement,
    };
    let outcome = matrix
        .run_batch(std::slice::from_ref(&case))
        .pop()
        .unwrap_or_default();
    let observations = outcome.tallies.values().map(|t| t.pass + t.fail).sum();
    // Judged as a run judges: an active waiver keeps a finding from blocking.
    let findings = outcome
        .findings
        .into_iter()
        .map(|f| {
            let decision = match crate::waiver::deciding(&config.waivers, &f, today) {
                Some((i, true)) => WaiverDecision::Waived(i),
                Some((i, false)) => WaiverDecision::Expired(i),
                None => WaiverDecision::Unwaived,
            };
            (f, decision)
        })
        .collect();
    Ok(Replayed::Case {
        case: Box::new(case),
        observations,
        findings,
    })
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The run's setup failed (vectors, systems).
    #[error(transparent)]
    Run(#[from] RunError),
    /// No vector has that id.
    #[error("no vector or regression with id {id:?} in {dir}")]
    NoSuchVector {
        /// The id asked for.
        id: String,
        /// The vectors directory.
        dir: String,
    },
}
