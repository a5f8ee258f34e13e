//! [`Injected`]: an implementation with one defect planted around it.
//!
//! The wrapper changes what goes in (the entitlement before it is issued,
//! the context a key is validated in) and what comes out (the verdict and
//! the decode), and keeps the wrapped implementation's batching, so a
//! worker-hosted plugin still crosses its process boundary once per batch.
//! The one defect no wrapper can make alone, a product's keys issued in
//! another format, borrows another generator of the config: a [`Partner`].

use std::sync::Arc;

use super::injector::{Defect, Injector};
use super::issue::IssueDefect;
use crate::entitlement::Entitlement;
use crate::forgery::{Forgery, Pick};
use crate::implementation::{CallFailure, GenerateFailure, ImplInfo, Implementation};
use crate::verdict::{Context, Validation, Verdict};

/// An implementation with an injector's defect planted around it.
pub struct Injected {
    inner: Arc<dyn Implementation>,
    injector: Injector,
    partner: Option<Partner>,
}

/// For the flipped format choice: the product whose keys another generator
/// of the config issues instead, in its format.
#[derive(Clone)]
pub struct Partner {
    /// The product's slug.
    pub product: String,
    /// The generator that issues its keys.
    pub generator: Arc<dyn Implementation>,
}

impl Injected {
    /// Plants `injector`'s defect around `inner`.
    pub fn new(inner: Arc<dyn Implementation>, injector: Injector) -> Self {
        Injected::with_partner(inner, injector, None)
    }

    /// Plants `injector`'s defect around `inner`, with the generator a
    /// flipped format choice issues through (`issue.format-flipped` changes
    /// nothing without one).
    pub fn with_partner(
        inner: Arc<dyn Implementation>,
        injector: Injector,
        partner: Option<Partner>,
    ) -> Self {
        Injected {
            inner,
            injector,
            partner,
        }
    }

    /// The generator that issues `e` instead of the wrapped one, if the
    /// format choice is flipped for its product.
    fn flipped(&self, e: &Entitlement) -> Option<&Arc<dyn Implementation>> {
        let p = self.partner.as_ref()?;
        (self.injector.defect() == Defect::Issue(IssueDefect::FormatFlipped)
            && p.product == e.product)
            .then_some(&p.generator)
    }

    /// The wrapped generator's keys for `es`, with the entitlement defects.
    fn generate_own(&self, es: &[&Entitlement]) -> Vec<Result<String, GenerateFailure>> {
        let issued: Vec<Result<Option<Entitlement>, GenerateFailure>> =
            es.iter().map(|e| self.issued(e)).collect();
        let asked: Vec<&Entitlement> = es
            .iter()
            .zip(&issued)
            .filter_map(|(e, i)| match i {
                Ok(Some(changed)) => Some(changed),
                Ok(None) => Some(*e),
                Err(_) => None,
            })
            .collect();
        let mut answers = self.inner.generate_batch(&asked).into_iter();
        issued
            .into_iter()
            .map(|i| match i {
                Err(failure) => Err(failure),
                Ok(_) => answers.next().unwrap_or_else(fewer_answers),
            })
            .collect()
    }

    /// The entitlement the defective generator issues (`None`: `e` itself),
    /// or its failure without asking the wrapped one.
    fn issued(&self, e: &Entitlement) -> Result<Option<Entitlement>, GenerateFailure> {
        match self.injector.defect() {
            Defect::Issue(d) => d.entitlement(e),
            Defect::Fault(d) => match d.generate(&e.to_json()) {
                Some(f) => Err(GenerateFailure::Failed(f)),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// The context the defective validator uses (`None`: the one given), or
    /// its failure without asking the wrapped one.
    fn context(&self, key: &[u8], context: &Context) -> Result<Option<Context>, CallFailure> {
        match self.injector.defect() {
            Defect::Time(d) => Ok(d.context(context)),
            Defect::Fault(d) => d.validate(key, context).map_or(Ok(None), Err),
            _ => Ok(None),
        }
    }

    /// The defective validator's answer, given the wrapped one's.
    fn answer(&self, key: &[u8], context: &Context, v: Validation) -> Validation {
        match self.injector.defect() {
            Defect::Time(d) => d.answer(context, v),
            Defect::Context(d) => d.answer(context, v),
            Defect::Decode(d) => d.answer(self.injector.facts(), v),
            Defect::Normalise(d) => d.answer(key, v),
            Defect::Issue(_) | Defect::Fault(_) => v,
        }
    }

    /// For the laxer normalisation: asks again, with look-alikes folded,
    /// about the keys rejected as they were, and takes an acceptance.
    fn retry_folded(
        &self,
        requests: &[(&[u8], &Context)],
        answers: &mut [Result<Validation, CallFailure>],
    ) {
        let Defect::Normalise(d) = self.injector.defect() else {
            return;
        };
        let retries: Vec<(usize, Vec<u8>)> = answers
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let v = a.as_ref().ok()?;
                d.retry(requests[i].0, v).map(|folded| (i, folded))
            })
            .collect();
        if retries.is_empty() {
            return;
        }
        let again: Vec<(&[u8], &Context)> = retries
            .iter()
            .map(|(i, folded)| (folded.as_slice(), requests[*i].1))
            .collect();
        for ((i, _), answer) in retries.iter().zip(self.inner.validate_batch(&again)) {
            if let Ok(v) = answer
                && v.verdict == Verdict::Valid
            {
                answers[*i] = Ok(v);
            }
        }
    }
}

impl Implementation for Injected {
    fn info(&self) -> &ImplInfo {
        self.inner.info()
    }

    fn generate(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
        if let Some(partner) = self.flipped(e) {
            return partner.generate(e);
        }
        match self.issued(e)? {
            Some(changed) => self.inner.generate(&changed),
            None => self.inner.generate(e),
        }
    }

    fn generate_batch(&self, es: &[&Entitlement]) -> Vec<Result<String, GenerateFailure>> {
        let flipped: Vec<bool> = es.iter().map(|e| self.flipped(e).is_some()).collect();
        let Some(partner) = self.partner.as_ref().filter(|_| flipped.contains(&true)) else {
            return self.generate_own(es);
        };
        let pick = |theirs: bool| -> Vec<&Entitlement> {
            es.iter()
                .zip(&flipped)
                .filter(|(_, f)| **f == theirs)
                .map(|(e, _)| *e)
                .collect()
        };
        let (theirs, ours) = (pick(true), pick(false));
        let mut theirs = partner.generator.generate_batch(&theirs).into_iter();
        let mut ours = self.generate_own(&ours).into_iter();
        flipped
            .into_iter()
            .map(|f| if f { theirs.next() } else { ours.next() }.unwrap_or_else(fewer_answers))
            .collect()
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        self.validate_batch(&[(key, context)])
            .pop()
            .unwrap_or_else(|| {
                Err(CallFailure::new(
                    crate::implementation::FailureKind::Protocol,
                    "no answer",
                ))
            })
    }

    fn validate_batch(
        &self,
        requests: &[(&[u8], &Context)],
    ) -> Vec<Result<Validation, CallFailure>> {
        let contexts: Vec<Result<Option<Context>, CallFailure>> = requests
            .iter()
            .map(|(key, context)| self.context(key, context))
            .collect();
        let asked: Vec<(&[u8], &Context)> = requests
            .iter()
            .zip(&contexts)
            .filter_map(|((key, context), c)| match c {
                Ok(Some(shifted)) => Some((*key, shifted)),
                Ok(None) => Some((*key, *context)),
                Err(_) => None,
            })
            .collect();
        let mut inner = self.inner.validate_batch(&asked).into_iter();
        let mut answers: Vec<Result<Validation, CallFailure>> = requests
            .iter()
            .zip(contexts)
            .map(|((key, context), c)| match c {
                Err(failure) => Err(failure),
                Ok(_) => inner
                    .next()
                    .unwrap_or_else(|| {
                        Err(CallFailure::new(
                            crate::implementation::FailureKind::Protocol,
                            "fewer answers than requests",
                        ))
                    })
                    .map(|v| self.answer(key, context, v)),
            })
            .collect();
        self.retry_folded(requests, &mut answers);
        answers
    }

    fn fatal_error(&self) -> Option<String> {
        self.inner.fatal_error()
    }

    fn take_batch_failures(&self) -> Vec<CallFailure> {
        self.inner.take_batch_failures()
    }

    fn out_of_process(&self) -> bool {
        self.inner.out_of_process()
            || self
                .partner
                .as_ref()
                .is_some_and(|p| p.generator.out_of_process())
    }

    fn forgeries(&self, key: &str, pick: Pick) -> Vec<Forgery> {
        self.inner.forgeries(key, pick)
    }
}

fn fewer_answers() -> Result<String, GenerateFailure> {
    Err(GenerateFailure::Failed(CallFailure::new(
        crate::implementation::FailureKind::Protocol,
        "fewer answers than requests",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::check::own_context;

    fn demo_ed1() -> Arc<dyn Implementation> {
        let settings = crate::system::acme_demo_settings("acme-ed1");
        crate::schemes::builtin("acme-ed1", &Catalog::acme(), &settings)
            .unwrap()
            .into()
    }

    fn injected(name: &str) -> Injected {
        let injector = Injector::select(&Catalog::acme(), &[name.to_string()])
            .unwrap()
            .remove(0);
        Injected::new(demo_ed1(), injector)
    }

    fn example() -> Entitlement {
        Entitlement::from_json(r#"{"product":"acme-cloud","edition":"professional","max_major":7,"features":["ai-assist","export-dwg"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":null,"order_id":null,"host_id":"H1"}"#).unwrap()
    }

    #[test]
    fn a_wrapped_builtin_keeps_its_answers_where_the_defect_does_not_act() {
        let plain = demo_ed1();
        let e = example();
        let i = injected("decode.seats-unlimited-as-number");
        let key = i.generate(&e).unwrap();
        assert_eq!(key, plain.generate(&e).unwrap());
        let ctx = own_context(&e);
        assert_eq!(
            i.validate(key.as_bytes(), &ctx).unwrap(),
            plain.validate(key.as_bytes(), &ctx).unwrap()
        );
    }

    #[test]
    fn the_defect_reaches_a_real_implementation_through_batches() {
        let e = example();
        let plain = demo_ed1();
        let key = plain.generate(&e).unwrap();
        let mut ctx = own_context(&e);
        ctx.today = e.expires.unwrap();
        let i = injected("time.today-plus-1");
        let answers =
            i.validate_batch(&[(key.as_bytes(), &ctx), (key.as_bytes(), &own_context(&e))]);
        assert_eq!(answers[0].as_ref().unwrap().verdict, Verdict::Expired);
        assert_eq!(answers[1].as_ref().unwrap().verdict, Verdict::Valid);
        let dropped = injected("issue.host-lock-dropped").generate(&e).unwrap();
        let decoded = plain
            .validate(dropped.as_bytes(), &ctx)
            .unwrap()
            .decoded
            .unwrap();
        assert_eq!(decoded.host_id, Some(None));
    }

    #[test]
    fn a_refusal_never_reaches_the_wrapped_generator() {
        let mut e = example();
        e.customer = Some(crate::entitlement::Customer {
            id: "C-1".into(),
            name: "Zoë".into(),
        });
        let i = injected("issue.non-ascii-refused");
        let out = i.generate_batch(&[&e, &example()]);
        assert!(matches!(out[0], Err(GenerateFailure::Refused { .. })));
        assert!(out[1].is_ok());
    }
}
