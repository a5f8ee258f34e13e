//! Whether a defect can change any answer of the system it is planted in,
//! asked of the system itself.
//!
//! An injector whose defect changes nothing any run could observe is not
//! applicable: a decode defect in a validator that decodes nothing, a host
//! check skipped in a validator whose format carries no node lock, a field
//! dropped that the generator's format does not carry. One that changes an
//! answer and is missed is a blind spot. The catalog cannot tell the two
//! apart, and neither can the run (a run cut to 10 cases never meets a
//! lapsed key, yet a defect on lapsed keys is its blind spot all the same).
//! So the probe asks the target a fixed, wide set of questions that depends
//! on neither the run's cases nor its checks: [`ENTITLEMENTS`] random
//! entitlements, issued by every generator of the config, each key asked in
//! contexts around every check (its own; the last day, the day before and
//! after; the next major version; another product; another host; no host)
//! and in other spellings (lower case, without separators, padded, with
//! look-alikes). A defect is applicable when one issued key, or one answer
//! (verdict, format, decode), differs from the system's own.
//!
//! The probe also finds the partner of `issue.format-flipped`: a product
//! whose keys another generator issues in a format other than the target's.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::check::own_context;
use crate::entitlement::Entitlement;
use crate::implementation::{CallFailure, GenerateFailure, Implementation};
use crate::inject::{Injected, Partner};
use crate::random::Generator;
use crate::verdict::{Context, Validation};

/// Random entitlements the probe issues (seed [`SEED`]).
pub(super) const ENTITLEMENTS: u64 = 128;

/// The probe's own seed, apart from any run's.
const SEED: u64 = 0x6b63_7072_6f62_6521;

/// A host no probe entitlement is locked to.
const OTHER_HOST: &str = "keycompat-probe-other-host";

/// One generator's keys for the probe's entitlements.
struct Issued<'a> {
    name: &'a str,
    generator: &'a Arc<dyn Implementation>,
    keys: Vec<Result<String, GenerateFailure>>,
}

/// What the target answered to the probe, as it is.
pub(super) struct Probe {
    entitlements: Vec<Entitlement>,
    /// The target's keys for `entitlements` (empty if it issues none).
    issued: Vec<Result<String, GenerateFailure>>,
    questions: Vec<(Vec<u8>, Context)>,
    answers: Vec<Result<Validation, CallFailure>>,
    generators: usize,
    /// For a flipped format choice: a product, the other generator, and the
    /// two formats (the target's, the other's).
    partner: Option<(Partner, String, String, String)>,
}

impl Probe {
    /// Asks `target` (named `name`) the probe, with the keys of every
    /// generator in `systems` (the target among them, if it generates).
    pub(super) fn new(
        name: &str,
        target: &Arc<dyn Implementation>,
        systems: &[(String, Arc<dyn Implementation>)],
        catalog: &Catalog,
    ) -> Self {
        let random = Generator::new(SEED, catalog.clone(), Vec::new());
        let entitlements: Vec<Entitlement> =
            (0..ENTITLEMENTS).map(|i| random.entitlement(i)).collect();
        let refs: Vec<&Entitlement> = entitlements.iter().collect();
        let generators: Vec<Issued<'_>> = systems
            .iter()
            .filter(|(_, s)| s.info().can_generate)
            .map(|(n, s)| Issued {
                name: n,
                generator: s,
                keys: s.generate_batch(&refs),
            })
            .collect();
        let issued = generators
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.keys.clone())
            .unwrap_or_default();
        let mut questions = Vec::new();
        for g in &generators {
            for (e, key) in entitlements.iter().zip(&g.keys) {
                if let Ok(key) = key {
                    questions.extend(asked(e, key, catalog));
                }
            }
        }
        let answers = if target.info().can_validate {
            ask(target.as_ref(), &questions)
        } else {
            Vec::new()
        };
        let mut probe = Probe {
            entitlements,
            issued,
            questions,
            answers,
            generators: generators.len(),
            partner: None,
        };
        probe.partner = probe.find_partner(name, target, &generators, catalog);
        probe
    }

    /// Whether `injected`, the target with a defect, answers any question
    /// or issues any key differently from the target.
    pub(super) fn changed_by(&self, injected: &Injected, in_validator: bool) -> bool {
        if in_validator {
            !self.answers.is_empty()
                && ask(injected, &self.questions)
                    .iter()
                    .zip(&self.answers)
                    .any(|(a, b)| !same_answer(a, b))
        } else {
            let refs: Vec<&Entitlement> = self.entitlements.iter().collect();
            !self.issued.is_empty()
                && injected
                    .generate_batch(&refs)
                    .iter()
                    .zip(&self.issued)
                    .any(|(a, b)| !same_key(a, b))
        }
    }

    /// Why a defect that changed nothing is not applicable to `system`.
    pub(super) fn unchanged_reason(&self, system: &str, in_validator: bool) -> String {
        if in_validator {
            format!(
                "it changes none of {system}'s answers to {} questions: keys of the config's {} generators \
                 in contexts around every check and in other spellings",
                crate::words::count(self.questions.len() as u64),
                self.generators,
            )
        } else {
            format!(
                "it changes none of the keys {system} issues for {} varied entitlements",
                self.entitlements.len()
            )
        }
    }

    /// The partner of a flipped format choice, and the change in words.
    pub(super) fn partner(&self) -> Option<(Partner, String)> {
        self.partner.as_ref().map(|(p, other, mine, theirs)| {
            (
                p.clone(),
                format!(
                    "{}'s keys are issued in {theirs} instead of {mine}, as {other} issues them (a policy drift)",
                    p.product
                ),
            )
        })
    }

    fn find_partner(
        &self,
        name: &str,
        target: &Arc<dyn Implementation>,
        generators: &[Issued<'_>],
        catalog: &Catalog,
    ) -> Option<(Partner, String, String, String)> {
        let format_of = |key: &str, e: &Entitlement, own: &Arc<dyn Implementation>| {
            [target, own].into_iter().find_map(|v| {
                let answer = v.validate(key.as_bytes(), &own_context(e)).ok()?;
                answer.verdict.decodes().then_some(answer.format?)
            })
        };
        let mine = generators.iter().find(|g| g.name == name)?;
        for product in &catalog.products {
            let of_product = (0..self.entitlements.len())
                .filter(|&i| self.entitlements[i].product == product.slug);
            for i in of_product {
                let e = &self.entitlements[i];
                let Ok(my_key) = &mine.keys[i] else { continue };
                let Some(my_format) = format_of(my_key, e, mine.generator) else {
                    continue;
                };
                for other in generators.iter().filter(|g| g.name != name) {
                    let Ok(key) = &other.keys[i] else { continue };
                    match format_of(key, e, other.generator) {
                        Some(f) if f != my_format => {
                            let partner = Partner {
                                product: product.slug.clone(),
                                generator: Arc::clone(other.generator),
                            };
                            return Some((partner, other.name.to_string(), my_format, f));
                        }
                        _ => {}
                    }
                }
            }
        }
        None
    }
}

/// The questions asked of one key of `e`: contexts around every check, and
/// other spellings of the key in its own context.
fn asked(e: &Entitlement, key: &str, catalog: &Catalog) -> Vec<(Vec<u8>, Context)> {
    let own = own_context(e);
    let mut contexts = vec![own.clone()];
    if let Some(expires) = e.expires {
        for shift in [-1, 0, 1] {
            if let Some(day) = expires.add_days(shift) {
                contexts.push(Context {
                    today: day,
                    ..own.clone()
                });
            }
        }
    }
    let mut next = own.clone();
    next.version.major += 1;
    contexts.push(next);
    if let Some(other) = catalog.products.iter().find(|p| p.slug != e.product) {
        contexts.push(Context {
            product: other.slug.clone(),
            ..own.clone()
        });
    }
    if e.host_id.is_some() {
        contexts.push(Context {
            host_id: Some(OTHER_HOST.to_string()),
            ..own.clone()
        });
        contexts.push(Context {
            host_id: None,
            ..own.clone()
        });
    }
    let mut questions: Vec<(Vec<u8>, Context)> = contexts
        .into_iter()
        .map(|c| (key.as_bytes().to_vec(), c))
        .collect();
    let spellings = [
        key.to_ascii_lowercase(),
        key.replace(['-', '.', '/'], ""),
        format!("  {key}\n"),
        look_alikes(key),
    ];
    for spelling in spellings {
        if spelling != key {
            questions.push((spelling.into_bytes(), own.clone()));
        }
    }
    questions
}

/// `key` with its first A, E and O and its first dash written in
/// look-alikes (Cyrillic letters, an en dash).
fn look_alikes(key: &str) -> String {
    key.replacen('A', "\u{0410}", 1)
        .replacen('E', "\u{0415}", 1)
        .replacen('O', "\u{041E}", 1)
        .replacen('-', "\u{2013}", 1)
}

/// The answers of `v` to `questions`, in batches of a run's size.
fn ask(
    v: &dyn Implementation,
    questions: &[(Vec<u8>, Context)],
) -> Vec<Result<Validation, CallFailure>> {
    questions
        .chunks(256)
        .flat_map(|chunk| {
            let refs: Vec<(&[u8], &Context)> =
                chunk.iter().map(|(k, c)| (k.as_slice(), c)).collect();
            v.validate_batch(&refs)
        })
        .collect()
}

/// Two answers a check could tell apart: the reason's wording is not one.
fn same_answer(a: &Result<Validation, CallFailure>, b: &Result<Validation, CallFailure>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.verdict == b.verdict && a.format == b.format && a.decoded == b.decoded,
        (Err(a), Err(b)) => a.kind == b.kind,
        _ => false,
    }
}

fn same_key(a: &Result<String, GenerateFailure>, b: &Result<String, GenerateFailure>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a == b,
        (Err(GenerateFailure::Refused { .. }), Err(GenerateFailure::Refused { .. })) => true,
        (Err(GenerateFailure::Failed(a)), Err(GenerateFailure::Failed(b))) => a.kind == b.kind,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::Injector;

    fn builtin(scheme: &str) -> Arc<dyn Implementation> {
        builtin_with(scheme, &[])
    }

    fn builtin_with(scheme: &str, more: &[(&str, &str)]) -> Arc<dyn Implementation> {
        let mut settings = crate::system::acme_demo_settings(scheme);
        settings.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        crate::schemes::builtin(scheme, &Catalog::acme(), &settings)
            .unwrap()
            .into()
    }

    fn injector(name: &str) -> Injector {
        Injector::select(&Catalog::acme(), &[name.to_string()])
            .unwrap()
            .remove(0)
    }

    fn changes(probe: &Probe, target: &Arc<dyn Implementation>, name: &str) -> bool {
        let i = injector(name);
        let validates = i.in_validator();
        probe.changed_by(&Injected::new(Arc::clone(target), i), validates)
    }

    #[test]
    fn a_defect_on_what_the_format_does_not_carry_changes_nothing() {
        let lk1 = builtin("acme-lk1");
        let systems = vec![("old".to_string(), Arc::clone(&lk1))];
        let probe = Probe::new("old", &lk1, &systems, &Catalog::acme());
        // acme-lk1 carries no node lock: skipping the host check or
        // misreading the lock changes no answer.
        assert!(!changes(&probe, &lk1, "context.host-unchecked"));
        assert!(!changes(&probe, &lk1, "decode.host-lock-dropped"));
        let why = probe.unchanged_reason("old", true);
        assert!(why.contains("none of old's answers"), "{why}");
        // What it carries, every defect changes.
        for name in [
            "time.today-plus-1",
            "time.expiry-ignored",
            "context.version-last-major-rejected",
            "decode.feature-dropped",
            "norm.case-sensitive",
            "norm.fold-look-alikes",
            "issue.seats-clamped",
            "issue.expiry-dropped",
            // It refuses a node lock: dropping it issues a key instead.
            "issue.host-lock-dropped",
        ] {
            assert!(changes(&probe, &lk1, name), "{name}");
        }
    }

    #[test]
    fn every_defect_acts_on_a_format_that_carries_every_field() {
        let ed1 = builtin("acme-ed1");
        let systems = vec![("new".to_string(), Arc::clone(&ed1))];
        let probe = Probe::new("new", &ed1, &systems, &Catalog::acme());
        // acme-ed1 carries every field: the probe sees every defect act.
        for i in Injector::all(&Catalog::acme()) {
            if i.always_acts() || i.needs_partner() {
                continue;
            }
            assert!(changes(&probe, &ed1, &i.name()), "{i}");
        }
    }

    #[test]
    fn a_flipped_format_needs_another_generator_of_another_format() {
        let lk1 = builtin("acme-lk1");
        // The new system issues acme-lk1 where it fits for three products,
        // as the old one does: the same format, no partner.
        let new = builtin("acme-ed1");
        let same = vec![
            ("old".to_string(), Arc::clone(&lk1)),
            ("new".to_string(), Arc::clone(&new)),
        ];
        assert!(
            Probe::new("old", &lk1, &same, &Catalog::acme())
                .partner()
                .is_none()
        );
        let ed1 = builtin_with("acme-ed1", &[("emit", "acme-ed1")]);
        let both = vec![
            ("old".to_string(), Arc::clone(&lk1)),
            ("new-rust".to_string(), Arc::clone(&ed1)),
        ];
        let probe = Probe::new("old", &lk1, &both, &Catalog::acme());
        let (partner, what) = probe.partner().expect("new-rust issues acme-ed1");
        assert!(
            what.contains("in acme-ed1 instead of acme-lk1, as new-rust issues them"),
            "{what}"
        );
        let flipped = Injected::with_partner(
            Arc::clone(&lk1),
            injector("issue.format-flipped"),
            Some(partner.clone()),
        );
        for e in probe
            .entitlements
            .iter()
            .filter(|e| e.product == partner.product)
        {
            assert_eq!(flipped.generate(e), ed1.generate(e));
        }
        assert!(probe.changed_by(&flipped, false));
    }
}
