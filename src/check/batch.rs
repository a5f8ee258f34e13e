//! One batch of cases through the matrix, in three phases: every generator
//! issues keys for the whole batch; each check plans the validations it
//! needs and each validator answers its share in one call; then each check
//! judges its answers.

use std::collections::BTreeMap;

use super::matrix::{Case, CaseOutcome, Generated, Matrix};
use super::plan::{self, Plan};
use super::record::Recorder;
use super::{backward, env, forward, parity, rollback, roundtrip, tamper, time};
use crate::entitlement::Entitlement;
use crate::fanout;
use crate::implementation::CallFailure;
use crate::verdict::Context;

/// The plan of case `i` of a batch whose keys are `generated`: what every
/// check asks (ENV only when `env_sampled`).
fn plan_case(
    m: &Matrix,
    e: &Entitlement,
    generated: &Generated,
    i: usize,
    env_sampled: bool,
) -> Plan {
    let mut plan = Plan::new(m, generated, i);
    roundtrip::plan(m, e, &mut plan);
    backward::plan(m, e, &mut plan);
    rollback::plan(m, e, &mut plan);
    forward::plan(m, e, &mut plan);
    tamper::plan(m, e, &mut plan);
    time::plan(m, e, &mut plan);
    if env_sampled {
        env::plan(m, e, &mut plan);
    }
    plan
}

impl Matrix {
    /// Runs every enabled check on a batch of cases.
    pub fn run_batch(&self, cases: &[Case]) -> Vec<CaseOutcome> {
        let entitlements: Vec<&Entitlement> = cases.iter().map(|c| &c.entitlement).collect();
        let generated = self.generate_each(&entitlements);
        let plans: Vec<Plan> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                plan_case(
                    self,
                    &c.entitlement,
                    &generated,
                    i,
                    self.env.samples(&c.source),
                )
            })
            .collect();
        let answers = plan::validate_all(self, &plans);
        let batch_failures: Vec<(String, CallFailure)> = self
            .systems
            .iter()
            .flat_map(|(name, s)| {
                s.take_batch_failures()
                    .into_iter()
                    .map(move |f| (name.clone(), f))
            })
            .collect();
        cases
            .iter()
            .zip(&plans)
            .zip(answers)
            .enumerate()
            .map(|(i, ((case, plan), answers))| {
                let mut r = Recorder::new(self, case, plan, &answers);
                roundtrip::judge_generation(&mut r, &generated, i);
                parity::judge(&mut r, &generated, i);
                roundtrip::judge(&mut r);
                backward::judge(&mut r);
                forward::judge(&mut r);
                rollback::judge(&mut r);
                tamper::judge(&mut r);
                time::judge(&mut r);
                env::judge(&mut r);
                if i == 0 {
                    roundtrip::judge_batch_failures(&mut r, &batch_failures);
                }
                r.finish()
            })
            .collect()
    }

    /// Every generator's keys for `entitlements`, the generators asked at once
    /// (see `fanout.rs`).
    fn generate_each(&self, entitlements: &[&Entitlement]) -> Generated {
        let generators = self.generators();
        let jobs = generators
            .iter()
            .map(|g| (&*self.systems[g], entitlements))
            .collect();
        let keys = fanout::ask_each(jobs, |system, es| system.generate_batch(es));
        generators.into_iter().zip(keys).collect()
    }

    /// The implementation calls [`Self::run_batch`] makes for `cases`, without
    /// judging: what a bare loop repeats to measure the matrix's own cost.
    pub fn calls(&self, cases: &[Case]) -> Calls {
        let entitlements: Vec<Entitlement> = cases.iter().map(|c| c.entitlement.clone()).collect();
        let refs: Vec<&Entitlement> = entitlements.iter().collect();
        // Every generator `run_batch` asks, so the plans validate the same
        // keys (FORWARD's issuers' keys included).
        let generated = self.generate_each(&refs);
        let plans: Vec<Plan> = entitlements
            .iter()
            .enumerate()
            .map(|(i, e)| plan_case(self, e, &generated, i, true))
            .collect();
        let validations = plan::batches(&plans)
            .into_iter()
            .map(|(v, b)| (v.to_string(), b.owned_calls()))
            .collect();
        Calls {
            generators: self.generators(),
            entitlements,
            validations,
        }
    }
}

/// A batch's generate and validate calls, replayable with no bookkeeping.
pub struct Calls {
    entitlements: Vec<Entitlement>,
    generators: Vec<String>,
    validations: BTreeMap<String, Vec<(Vec<u8>, Context)>>,
}

impl Calls {
    /// Makes every call again, batched per system as `run_batch` does, and
    /// returns how many calls were made.
    pub fn replay(&self, matrix: &Matrix) -> usize {
        let refs: Vec<&Entitlement> = self.entitlements.iter().collect();
        let generate = self
            .generators
            .iter()
            .map(|g| (&*matrix.systems[g], refs.as_slice()))
            .collect();
        let generated = fanout::ask_each(generate, |system, es| system.generate_batch(es).len());
        let batches: Vec<Vec<(&[u8], &Context)>> = self
            .validations
            .values()
            .map(|requests| requests.iter().map(|(k, c)| (k.as_slice(), c)).collect())
            .collect();
        let validate = self
            .validations
            .keys()
            .zip(&batches)
            .map(|(v, batch)| (&*matrix.systems[v], batch.as_slice()))
            .collect();
        let validated =
            fanout::ask_each(validate, |system, batch| system.validate_batch(batch).len());
        generated.iter().chain(&validated).sum()
    }
}
