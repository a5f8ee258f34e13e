//! Several systems asked at once.
//!
//! A system behind a process boundary (a worker, a process plugin) leaves
//! the asking thread waiting while its process works. Asked one after the
//! other, every other system's process would wait too, and an isolated run
//! would use fewer cores than an in-process one. So in a phase where several
//! systems each answer their own share ([`ask_each`]), each system across a
//! process boundary is asked on a thread of its own and the processes work
//! side by side; systems in keycompat's own process are asked on the calling
//! thread, as before (threads of their own would only compete for the cores
//! the run's jobs already use). The answers are the same in either case:
//! each system gets the same calls, only their timing changes.

use crate::implementation::Implementation;

/// Runs `ask(system, job)` for every `(system, job)`, returning the answers
/// in the same order. Systems that are [`Implementation::out_of_process`]
/// are asked on scoped threads, all at once, while the others are asked on
/// this thread; a panic on a thread is resumed here, as if it had happened
/// on this thread. A job is a `Copy` handle (a reference to the calls), so
/// a thread the OS refuses to start leaves its call to this thread: slower,
/// never lost.
pub(crate) fn ask_each<'s, J, T, F>(jobs: Vec<(&'s dyn Implementation, J)>, ask: F) -> Vec<T>
where
    J: Copy + Send,
    T: Send,
    F: Fn(&'s dyn Implementation, J) -> T + Sync,
{
    let remote = jobs.iter().filter(|(s, _)| s.out_of_process()).count();
    if remote == 0 || jobs.len() == 1 {
        return jobs.into_iter().map(|(s, j)| ask(s, j)).collect();
    }
    let ask = &ask;
    std::thread::scope(|scope| {
        // Every remote system's thread starts before any local work, so
        // their processes work while this thread does.
        let pending: Vec<Pending<'_, 's, J, T>> = jobs
            .into_iter()
            .map(|(system, job)| {
                if !system.out_of_process() {
                    return Pending::Here(system, job);
                }
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || ask(system, job))
                    .map_or(Pending::Here(system, job), Pending::Thread)
            })
            .collect();
        pending
            .into_iter()
            .map(|p| match p {
                Pending::Here(system, job) => ask(system, job),
                Pending::Thread(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            })
            .collect()
    })
}

/// A call not yet answered.
enum Pending<'scope, 's, J, T> {
    /// To make on this thread.
    Here(&'s dyn Implementation, J),
    /// Being made on a thread of its own.
    Thread(std::thread::ScopedJoinHandle<'scope, T>),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread::ThreadId;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::catalog::Catalog;
    use crate::entitlement::Entitlement;
    use crate::implementation::{CallFailure, GenerateFailure, ImplInfo};
    use crate::schemes::demo;
    use crate::schemes::lk1::Lk1System;
    use crate::verdict::{Context, Validation};

    /// The builtin acme-lk1, said to be out of process or not.
    struct Hosted {
        inner: Lk1System,
        remote: bool,
    }

    impl Implementation for Hosted {
        fn info(&self) -> &ImplInfo {
            self.inner.info()
        }
        fn generate(&self, e: &Entitlement) -> Result<String, GenerateFailure> {
            self.inner.generate(e)
        }
        fn validate(&self, key: &[u8], ctx: &Context) -> Result<Validation, CallFailure> {
            self.inner.validate(key, ctx)
        }
        fn out_of_process(&self) -> bool {
            self.remote
        }
    }

    fn hosted(remote: bool) -> Hosted {
        Hosted {
            inner: Lk1System::from_settings(&Catalog::acme(), &demo::lk1()).unwrap(),
            remote,
        }
    }

    /// Waits until `n` callers arrived, or 10 s: whether they all did.
    fn meet(arrived: &AtomicUsize, n: usize) -> bool {
        arrived.fetch_add(1, Ordering::SeqCst);
        let start = Instant::now();
        while arrived.load(Ordering::SeqCst) < n {
            if start.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    #[test]
    fn remote_systems_are_asked_side_by_side_and_answers_keep_their_order() {
        let (a, local, b) = (hosted(true), hosted(false), hosted(true));
        let arrived = AtomicUsize::new(0);
        let caller = std::thread::current().id();
        let jobs: Vec<(&dyn Implementation, &str)> = vec![(&a, "a"), (&local, "local"), (&b, "b")];
        let answers: Vec<(&str, bool, ThreadId)> = ask_each(jobs, |system, name| {
            // Each remote call waits for the other: asked one after the
            // other, the first would wait in vain.
            let met = !system.out_of_process() || meet(&arrived, 2);
            (name, met, std::thread::current().id())
        });
        let names: Vec<&str> = answers.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(names, ["a", "local", "b"]);
        assert!(answers.iter().all(|(_, met, _)| *met), "{answers:?}");
        assert_eq!(
            answers[1].2, caller,
            "a local system is asked on the caller's thread"
        );
        assert_ne!(answers[0].2, caller);
        assert_ne!(answers[2].2, caller);
    }

    #[test]
    fn local_systems_and_a_lone_remote_one_stay_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let (x, y, lone) = (hosted(false), hosted(false), hosted(true));
        for jobs in [
            vec![(&x as &dyn Implementation, 1), (&y, 2)],
            vec![(&lone, 3)],
        ] {
            let threads = ask_each(jobs, |_, n| (n, std::thread::current().id()));
            assert!(threads.iter().all(|(_, t)| *t == caller), "{threads:?}");
        }
    }

    #[test]
    fn real_calls_get_the_same_answers_as_asked_one_by_one() {
        let systems: Vec<Arc<Hosted>> = [true, false, true].map(|r| Arc::new(hosted(r))).into();
        let e = Entitlement::from_json(r#"{"product":"acme-cad","edition":"professional","max_major":7,"features":["export-dwg"],"seats":25,"issued":"2026-11-23","expires":"2027-12-31","maintenance_until":null,"serial":424242,"customer":null,"order_id":null,"host_id":null}"#).unwrap();
        let es = [&e];
        let jobs = systems
            .iter()
            .map(|s| (&**s as &dyn Implementation, &es[..]))
            .collect();
        let keys = ask_each(jobs, |system, es| system.generate_batch(es));
        let alone: Vec<_> = systems.iter().map(|s| s.generate_batch(&es)).collect();
        assert_eq!(keys, alone);
    }

    #[test]
    fn a_panic_on_a_thread_reaches_the_caller() {
        let (a, b) = (hosted(true), hosted(true));
        let jobs: Vec<(&dyn Implementation, bool)> = vec![(&a, false), (&b, true)];
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ask_each(jobs, |_, panics| {
                assert!(!panics, "planted panic");
            })
        }));
        let payload = caught.expect_err("the panic is resumed");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(message.contains("planted panic"), "{message}");
    }
}
