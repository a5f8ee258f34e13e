//! [`Memo`]: an implementation whose answers are remembered, so the runs of
//! a selftest ask each system that carries no defect each question once.
//!
//! Every implementation answers the same input the same way (keycompat's
//! results reproduce by design: contexts are never read from the machine),
//! so an answer remembered from the unchanged run is the answer an
//! injector's run would get. Memory is bounded: past [`CAPACITY`] answers a
//! memo stops remembering and just asks. Runs stop early once an injector
//! is caught, so the first cases, the ones remembered, are the ones asked
//! again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::entitlement::Entitlement;
use crate::forgery::{Forgery, Pick};
use crate::implementation::{CallFailure, GenerateFailure, ImplInfo, Implementation};
use crate::verdict::{Context, Validation};

/// Answers remembered per memo and kind of call. A run stopped once caught
/// asks a system a few thousand questions (the vectors and the first
/// batches); the demo has a dozen memos (ENV's copies included), so this
/// keeps them near 10 MB each. At 200 000 the demo's selftest peaked at
/// 1.4 GB.
pub const CAPACITY: usize = 20_000;

type Validated = Result<Validation, CallFailure>;
type Generated = Result<String, GenerateFailure>;

/// An implementation whose answers are remembered.
pub struct Memo {
    inner: Arc<dyn Implementation>,
    generated: Mutex<HashMap<Entitlement, Generated>>,
    validated: Mutex<HashMap<(Vec<u8>, Context), Validated>>,
}

impl Memo {
    /// Remembers `inner`'s answers.
    pub fn new(inner: Arc<dyn Implementation>) -> Self {
        Memo {
            inner,
            generated: Mutex::default(),
            validated: Mutex::default(),
        }
    }
}

/// Looks every input up, asks `ask` the rest (by position) in one batch,
/// remembers its answers while there is room.
fn through<K: Eq + std::hash::Hash, V: Clone>(
    memo: &Mutex<HashMap<K, V>>,
    keys: Vec<K>,
    ask: impl FnOnce(&[usize]) -> Vec<V>,
) -> Vec<V> {
    let mut answers: Vec<Option<V>> = {
        let m = memo.lock().unwrap_or_else(PoisonError::into_inner);
        keys.iter().map(|k| m.get(k).cloned()).collect()
    };
    let missing: Vec<usize> = (0..keys.len()).filter(|&i| answers[i].is_none()).collect();
    if !missing.is_empty() {
        let fresh = ask(&missing);
        let mut keys: Vec<Option<K>> = keys.into_iter().map(Some).collect();
        let mut m = memo.lock().unwrap_or_else(PoisonError::into_inner);
        for (&i, v) in missing.iter().zip(fresh) {
            if m.len() < CAPACITY
                && let Some(k) = keys[i].take()
            {
                m.insert(k, v.clone());
            }
            answers[i] = Some(v);
        }
    }
    answers.into_iter().flatten().collect()
}

impl Implementation for Memo {
    fn info(&self) -> &ImplInfo {
        self.inner.info()
    }

    fn generate(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
        self.generate_batch(&[e])
            .pop()
            .unwrap_or_else(|| self.inner.generate(e))
    }

    fn generate_batch(&self, es: &[&Entitlement]) -> Vec<Generated> {
        let keys = es.iter().map(|e| (*e).clone()).collect();
        through(&self.generated, keys, |missing| {
            let asked: Vec<&Entitlement> = missing.iter().map(|&i| es[i]).collect();
            self.inner.generate_batch(&asked)
        })
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        self.validate_batch(&[(key, context)])
            .pop()
            .unwrap_or_else(|| self.inner.validate(key, context))
    }

    fn validate_batch(&self, requests: &[(&[u8], &Context)]) -> Vec<Validated> {
        let keys = requests
            .iter()
            .map(|(k, c)| (k.to_vec(), (*c).clone()))
            .collect();
        through(&self.validated, keys, |missing| {
            let asked: Vec<(&[u8], &Context)> = missing.iter().map(|&i| requests[i]).collect();
            self.inner.validate_batch(&asked)
        })
    }

    fn fatal_error(&self) -> Option<String> {
        self.inner.fatal_error()
    }

    fn take_batch_failures(&self) -> Vec<CallFailure> {
        self.inner.take_batch_failures()
    }

    fn out_of_process(&self) -> bool {
        self.inner.out_of_process()
    }

    fn forgeries(&self, key: &str, pick: Pick) -> Vec<Forgery> {
        self.inner.forgeries(key, pick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts the calls that reach it.
    struct Counting {
        inner: Box<dyn Implementation>,
        validations: AtomicUsize,
    }

    impl Implementation for Counting {
        fn info(&self) -> &ImplInfo {
            self.inner.info()
        }
        fn generate(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
            self.inner.generate(e)
        }
        fn validate(&self, key: &[u8], c: &Context) -> Result<Validation, CallFailure> {
            self.validations.fetch_add(1, Ordering::Relaxed);
            self.inner.validate(key, c)
        }
    }

    #[test]
    fn each_question_reaches_the_implementation_once() {
        let settings = crate::system::acme_demo_settings("acme-lk1");
        let lk1 = crate::schemes::builtin("acme-lk1", &crate::catalog::Catalog::acme(), &settings)
            .unwrap();
        let counting = Arc::new(Counting {
            inner: lk1,
            validations: AtomicUsize::new(0),
        });
        let memo = Memo::new(counting.clone());
        let e = Entitlement::from_json(r#"{"product":"acme-cad","edition":"professional","max_major":5,"features":["export-dwg"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":null,"order_id":null,"host_id":null}"#).unwrap();
        let key = memo.generate(&e).unwrap();
        let ctx = crate::check::own_context(&e);
        let first = memo.validate_batch(&[(key.as_bytes(), &ctx), (b"nonsense", &ctx)]);
        let again = memo.validate_batch(&[(b"nonsense", &ctx), (key.as_bytes(), &ctx)]);
        assert_eq!(counting.validations.load(Ordering::Relaxed), 2);
        assert_eq!(first[0], again[1]);
        assert_eq!(first[1], again[0]);
    }
}
