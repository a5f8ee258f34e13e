//! What a case asks the validators: each check adds its requests to the
//! case's [`Plan`], and every validator then answers its share of a whole
//! batch of plans in one call.

use std::collections::{BTreeMap, HashMap};

use super::matrix::{Generated, Matrix};
use super::tamper::mutate::Mutation;
use crate::date::Day;
use crate::fanout;
use crate::implementation::{CallFailure, GenerateFailure};
use crate::verdict::{Context, Validation};

/// Why a validation was requested: the check, and what in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Roundtrip(Base),
    Backward,
    Forward(usize),
    /// A release's answer to another generator's key for the same
    /// entitlement (release, index into [`Plan::alternatives`]).
    ForwardAlternative(usize, usize),
    /// FORWARD's evidence that another generator's key carries the
    /// entitlement: its generator's own reading of it (index into
    /// [`Plan::alternatives`]), where a release reads only the features it
    /// knows.
    AlternativeOwn(usize),
    Rollback,
    Tamper {
        base: Base,
        mutation: usize,
        by_old: bool,
    },
    /// TAMPER's reference: the unmutated key of `base` by old or new, in its
    /// own context (batches send a repeat of BACKWARD's or ROLLBACK's call once).
    TamperBase {
        base: Base,
        by_old: bool,
    },
    Time {
        base: Base,
        day: usize,
        by_old: bool,
    },
    /// TIME in a shipped release: the new key on [`Plan::days`]`[day]`, in
    /// release `release`'s context, asked of its validator.
    TimeRelease {
        release: usize,
        day: usize,
    },
    /// ENV: `base`'s key on [`Plan::env_days`]`[day]`, asked of a copy of a
    /// system running under another environment (index into the matrix's
    /// [`super::env::copies::EnvCopies::copies`]).
    Env {
        base: Base,
        day: usize,
        copy: usize,
    },
    /// ENV's reference: the same question asked of the system itself, in
    /// keycompat's own environment (index into
    /// [`super::env::copies::EnvCopies::systems`]).
    EnvHome {
        base: Base,
        day: usize,
        system: usize,
    },
}

impl Purpose {
    /// The check a request for this purpose serves.
    pub(crate) fn check(self) -> crate::finding::Check {
        use crate::finding::Check;
        match self {
            Purpose::Roundtrip(_) => Check::Roundtrip,
            Purpose::Backward => Check::Backward,
            Purpose::Forward(_) | Purpose::ForwardAlternative(..) | Purpose::AlternativeOwn(_) => {
                Check::Forward
            }
            Purpose::Rollback => Check::Rollback,
            Purpose::Tamper { .. } | Purpose::TamperBase { .. } => Check::Tamper,
            Purpose::Time { .. } | Purpose::TimeRelease { .. } => Check::Time,
            Purpose::Env { .. } | Purpose::EnvHome { .. } => Check::Env,
        }
    }
}

/// Which issued key a request validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    Old,
    New,
}

impl Base {
    pub(crate) const BOTH: [Base; 2] = [Base::Old, Base::New];

    pub(crate) fn index(self) -> usize {
        match self {
            Base::Old => 0,
            Base::New => 1,
        }
    }
}

/// One validation a check needs.
pub(crate) struct Request {
    pub(crate) purpose: Purpose,
    pub(crate) validator: String,
    pub(crate) key: Vec<u8>,
    pub(crate) context: Context,
}

/// A validator's answer to one request (`None`: never asked).
pub(crate) type Answer = Option<Result<Validation, CallFailure>>;

/// One case's keys and planned validations.
pub(crate) struct Plan {
    pub(crate) old_key: Option<String>,
    pub(crate) new_key: Option<String>,
    /// The field the old system named when it refused the entitlement.
    pub(crate) old_refused: Option<String>,
    /// Where the old system issued a key or failed to answer: the field
    /// another generator of its `[formats]` format named in refusing the
    /// entitlement.
    pub(crate) format_refused: Option<String>,
    /// Whether the old system's generate call failed (crashed, hung) for
    /// the entitlement.
    pub(crate) old_failed: bool,
    /// Keys other generators (old first) issued for the entitlement, distinct
    /// from the new key and each other: (generator, key).
    pub(crate) alternatives: Vec<(String, String)>,
    /// The format of the old and the new key, when another generator of a
    /// `[formats]` format issued the very same key (a validator that fails
    /// on the key cannot name it).
    pub(crate) issued_as: [Option<String>; 2],
    /// TAMPER's mutations of the old and the new key.
    pub(crate) mutations: [Vec<Mutation>; 2],
    /// TIME's grid: (day, should validate, label).
    pub(crate) days: Vec<(Day, bool, &'static str)>,
    /// ENV's days: (day, label).
    pub(crate) env_days: Vec<(Day, &'static str)>,
    pub(crate) requests: Vec<Request>,
}

/// The field the first other generator of the old system's format (neither
/// old nor new) named in refusing entitlement `i`, if one refused it.
fn format_refusal(m: &Matrix, generated: &Generated, i: usize) -> Option<String> {
    m.old_format_peers()
        .find_map(|g| match generated.get(g).map(|keys| &keys[i]) {
            Some(Err(GenerateFailure::Refused { field, .. })) => Some(field.clone()),
            _ => None,
        })
}

impl Plan {
    /// An empty plan for case `i` of a batch whose keys are `generated`.
    pub(crate) fn new(m: &Matrix, generated: &Generated, i: usize) -> Self {
        let key = |system: &str| generated[system][i].as_ref().ok().cloned();
        let new_key = key(&m.new);
        let mut alternatives: Vec<(String, String)> = Vec::new();
        for g in std::iter::once(&m.old).chain(&m.issuers) {
            if let Some(k) = generated.get(g).and_then(|keys| keys[i].as_ref().ok())
                && Some(k) != new_key.as_ref()
                && alternatives.iter().all(|(_, a)| a != k)
            {
                alternatives.push((g.clone(), k.clone()));
            }
        }
        let old_key = key(&m.old);
        let issued_as = |system: &str, own: &Option<String>| {
            let own = own.as_ref()?;
            m.formats.iter().find_map(|(format, generators)| {
                generators
                    .iter()
                    .filter(|g| *g != system)
                    .any(|g| generated.get(g).and_then(|keys| keys[i].as_ref().ok()) == Some(own))
                    .then(|| format.clone())
            })
        };
        let issued_as = [issued_as(&m.old, &old_key), issued_as(&m.new, &new_key)];
        let old_failed = matches!(
            generated[&m.old][i],
            Err(crate::implementation::GenerateFailure::Failed(_))
        );
        let format_refused = (old_key.is_some() || old_failed)
            .then(|| format_refusal(m, generated, i))
            .flatten();
        Plan {
            old_key,
            new_key,
            issued_as,
            old_refused: match &generated[&m.old][i] {
                Err(crate::implementation::GenerateFailure::Refused { field, .. }) => {
                    Some(field.clone())
                }
                _ => None,
            },
            format_refused,
            old_failed,
            alternatives,
            mutations: Default::default(),
            days: Vec::new(),
            env_days: Vec::new(),
            requests: Vec::new(),
        }
    }

    /// The key of `base`.
    pub(crate) fn key(&self, base: Base) -> Option<&String> {
        match base {
            Base::Old => self.old_key.as_ref(),
            Base::New => self.new_key.as_ref(),
        }
    }

    /// The new key when it differs from the old one (checks that try both
    /// keys need not try one key twice).
    pub(crate) fn distinct_new_key(&self) -> Option<&String> {
        self.new_key
            .as_ref()
            .filter(|k| Some(*k) != self.old_key.as_ref())
    }

    /// Asks `validator` about `key` in `context`, for `purpose`.
    pub(crate) fn request(
        &mut self,
        purpose: Purpose,
        validator: &str,
        key: &[u8],
        context: &Context,
    ) {
        self.requests.push(Request {
            purpose,
            validator: validator.to_string(),
            key: key.to_vec(),
            context: context.clone(),
        });
    }

    /// The request made for `purpose` and its answer, if it was made.
    pub(crate) fn answered<'a>(
        &'a self,
        answers: &'a [Answer],
        purpose: Purpose,
    ) -> Option<(&'a Request, &'a Result<Validation, CallFailure>)> {
        let i = self.requests.iter().position(|r| r.purpose == purpose)?;
        Some((&self.requests[i], answers[i].as_ref()?))
    }
}

/// Sends each validator its share of every plan's requests as one batch.
pub(crate) fn validate_all(m: &Matrix, plans: &[Plan]) -> Vec<Vec<Answer>> {
    let mut answers: Vec<Vec<Answer>> =
        plans.iter().map(|p| vec![None; p.requests.len()]).collect();
    let batches: Vec<(&str, ValidatorBatch<'_>)> = batches(plans).into_iter().collect();
    let jobs = batches
        .iter()
        .map(|(validator, b)| (&*m.systems[*validator], b))
        .collect();
    // Each validator answers its share at once (see `fanout.rs`).
    let results = fanout::ask_each(jobs, |system, b| system.validate_batch(&b.calls));
    for ((_, batch), results) in batches.iter().zip(results) {
        let mut results: Vec<Answer> = results.into_iter().map(Some).collect();
        let mut uses = vec![0usize; results.len()];
        for &(_, _, call) in &batch.slots {
            uses[call] += 1;
        }
        for &(p, r, call) in &batch.slots {
            uses[call] -= 1;
            // The last request of a call takes its answer; repeats get copies.
            answers[p][r] = if uses[call] == 0 {
                results[call].take()
            } else {
                results[call].clone()
            };
        }
    }
    answers
}

/// One validator's share of a batch: distinct calls, and which call answers
/// each request.
pub(crate) struct ValidatorBatch<'a> {
    calls: Vec<(&'a [u8], &'a Context)>,
    /// (plan, request, index into `calls`).
    slots: Vec<(usize, usize, usize)>,
}

impl ValidatorBatch<'_> {
    /// The distinct calls, owned.
    pub(crate) fn owned_calls(&self) -> Vec<(Vec<u8>, Context)> {
        self.calls
            .iter()
            .map(|(k, c)| (k.to_vec(), (*c).clone()))
            .collect()
    }
}

/// Groups the plans' requests by validator. A validator answers the same
/// (key, context) the same way (the ABI makes validation a pure function of
/// its inputs), so a request repeated within a batch is sent once: when the
/// new system issues the legacy format its key equals the old one, and
/// ROUNDTRIP, BACKWARD and ROLLBACK would otherwise validate it twice.
pub(crate) fn batches(plans: &[Plan]) -> BTreeMap<&str, ValidatorBatch<'_>> {
    let mut out: BTreeMap<&str, ValidatorBatch<'_>> = BTreeMap::new();
    let mut seen: HashMap<(&str, &[u8], &Context), usize> = HashMap::new();
    for (p, plan) in plans.iter().enumerate() {
        for (r, req) in plan.requests.iter().enumerate() {
            let batch = out
                .entry(req.validator.as_str())
                .or_insert_with(|| ValidatorBatch {
                    calls: Vec::new(),
                    slots: Vec::new(),
                });
            let call = *seen
                .entry((req.validator.as_str(), req.key.as_slice(), &req.context))
                .or_insert_with(|| {
                    batch.calls.push((req.key.as_slice(), &req.context));
                    batch.calls.len() - 1
                });
            batch.slots.push((p, r, call));
        }
    }
    out
}
