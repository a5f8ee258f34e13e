//! Counts each system's answered and failed calls, so a system that fails
//! every call it is asked (a plugin that breaks the ABI on every call, or
//! crashes on every input without exhausting its restarts) ends the run as a
//! plugin failure instead of a report of nothing but crash findings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::entitlement::Entitlement;
use crate::forgery::{Forgery, Pick};
use crate::implementation::{CallFailure, GenerateFailure, ImplInfo, Implementation};
use crate::verdict::{Context, Validation};

/// Calls a system must have failed, with none answered, before it counts as
/// failing every call.
const ALL_FAILED_AFTER: u64 = 32;

/// An implementation whose calls are counted.
pub(super) struct Counted {
    inner: Arc<dyn Implementation>,
    answered: AtomicU64,
    failed: AtomicU64,
}

impl Counted {
    pub(super) fn wrap(inner: Arc<dyn Implementation>) -> Arc<dyn Implementation> {
        Arc::new(Counted {
            inner,
            answered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        })
    }

    fn count<T, E>(&self, results: &[Result<T, E>], failed: impl Fn(&Result<T, E>) -> bool) {
        let f = results.iter().filter(|r| failed(r)).count() as u64;
        self.failed.fetch_add(f, Ordering::Relaxed);
        self.answered
            .fetch_add(results.len() as u64 - f, Ordering::Relaxed);
    }
}

fn generate_failed(r: &Result<String, GenerateFailure>) -> bool {
    matches!(r, Err(GenerateFailure::Failed(_)))
}

impl Implementation for Counted {
    fn info(&self) -> &ImplInfo {
        self.inner.info()
    }

    fn generate(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
        let r = self.inner.generate(e);
        self.count(std::slice::from_ref(&r), generate_failed);
        r
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        let r = self.inner.validate(key, context);
        self.count(std::slice::from_ref(&r), Result::is_err);
        r
    }

    fn generate_batch(&self, es: &[&Entitlement]) -> Vec<Result<String, GenerateFailure>> {
        let r = self.inner.generate_batch(es);
        self.count(&r, generate_failed);
        r
    }

    fn validate_batch(
        &self,
        requests: &[(&[u8], &Context)],
    ) -> Vec<Result<Validation, CallFailure>> {
        let r = self.inner.validate_batch(requests);
        self.count(&r, Result::is_err);
        r
    }

    /// Not a call to count: forging makes keys, it asks the system nothing.
    fn forgeries(&self, key: &str, pick: Pick) -> Vec<Forgery> {
        self.inner.forgeries(key, pick)
    }

    fn fatal_error(&self) -> Option<String> {
        if let Some(e) = self.inner.fatal_error() {
            return Some(e);
        }
        let failed = self.failed.load(Ordering::Relaxed);
        (self.answered.load(Ordering::Relaxed) == 0 && failed >= ALL_FAILED_AFTER)
            .then(|| format!("all {failed} of its calls failed, none answered"))
    }

    fn take_batch_failures(&self) -> Vec<CallFailure> {
        self.inner.take_batch_failures()
    }

    fn out_of_process(&self) -> bool {
        self.inner.out_of_process()
    }
}
