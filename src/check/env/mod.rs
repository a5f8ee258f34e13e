//! ENV: a validator asked the same questions under other environments
//! (`[env] environments`: time zones, locales, calendars) must answer as it
//! does in keycompat's own.
//!
//! Each checked system runs again, once per environment, as a copy in its
//! own child processes (registered in the matrix under a name such as
//! `new [TZ=Pacific/Kiritimati]`, so batches ask it like any system). The
//! system's own answer in keycompat's environment is the reference: a key
//! valid at home but rejected elsewhere is an outage, one rejected at home
//! but accepted elsewhere a leak, another verdict or decode a drift.
//! Findings blame the system, never the copy, and name the environment and
//! the day. A system in keycompat's own process cannot run elsewhere: it is
//! listed as not checked ([`crate::environment::EnvScope::unchecked`]),
//! never as passing. Opening the copies is [`copies`]'s.

pub(super) mod copies;

use super::matrix::{Matrix, own_context};
use super::plan::{Base, Plan, Purpose};
use super::record::{At, Recorder, Words};
use crate::date::Day;
use crate::entitlement::Entitlement;
use crate::finding::Check;
use crate::judge::{Expect, Miss, verdict_text};
use crate::verdict::{Context, Validation};

/// The days that matter for a validator that reads the machine's time zone:
/// the day of issue, the last valid day and the day after it (perpetual
/// keys: the day of issue), each once.
fn days(e: &Entitlement) -> Vec<(Day, &'static str)> {
    let mut days = Vec::new();
    if let Some(x) = e.expires {
        days.push((x, "the expiry day"));
        if let Some(after) = x.add_days(1) {
            days.push((after, "the day after expiry"));
        }
    }
    if days.iter().all(|(d, _)| *d != e.issued) {
        days.insert(0, (e.issued, "the day of issue"));
    }
    days
}

/// Asks each checked system, and each of its copies, about the old and the
/// new key in their own context on each of [`days`].
pub(super) fn plan(m: &Matrix, e: &Entitlement, plan: &mut Plan) {
    let env = &m.env;
    if !m.enabled(Check::Env) || env.copies.is_empty() {
        return;
    }
    plan.env_days = days(e);
    let own = own_context(e);
    for base in Base::BOTH {
        let key = match base {
            Base::Old => plan.old_key.clone(),
            Base::New => plan.distinct_new_key().cloned(),
        };
        let Some(key) = key else { continue };
        for d in 0..plan.env_days.len() {
            let ctx = Context {
                today: plan.env_days[d].0,
                ..own.clone()
            };
            for (s, system) in env.systems.iter().enumerate() {
                let home = Purpose::EnvHome {
                    base,
                    day: d,
                    system: s,
                };
                plan.request(home, system, key.as_bytes(), &ctx);
                for (c, copy) in env.copies_of(s) {
                    let purpose = Purpose::Env {
                        base,
                        day: d,
                        copy: c,
                    };
                    plan.request(purpose, &copy.name, key.as_bytes(), &ctx);
                }
            }
        }
    }
}

/// Judges every copy's answer against its system's answer at home.
pub(super) fn judge(r: &mut Recorder<'_>) {
    let (m, plan, answers) = (r.matrix, r.plan, r.answers());
    let mut home: Option<&Result<Validation, _>> = None;
    for (req, answer) in plan.requests.iter().zip(answers) {
        let (base, day, copy) = match req.purpose {
            Purpose::EnvHome { base, system, .. } => {
                // Planned right before the copies that compare with it. A
                // failure at home is recorded as such, first: a copy failing
                // on the same input is the same finding, not an ENV one.
                home = answer.as_ref();
                if let Some(result) = home {
                    let generator = if base == Base::Old { &m.old } else { &m.new };
                    let at = At::request(Check::Env, generator, &m.env.systems[system], req);
                    r.failure(at, result);
                }
                continue;
            }
            Purpose::Env { base, day, copy } => (base, day, copy),
            _ => continue,
        };
        let Some(result) = answer else { continue };
        let copy = &m.env.copies[copy];
        let system = m.env.systems[copy.system].as_str();
        let generator = if base == Base::Old { &m.old } else { &m.new };
        let under = format!(
            "under {} on {}",
            m.env.environments[copy.environment], plan.env_days[day].1
        );
        let at = At::request(Check::Env, generator, system, req);
        match home {
            Some(Ok(reference)) => {
                let expect = Expect::Exactly {
                    verdict: reference.verdict,
                    decoded: reference.decoded.as_ref(),
                };
                let format = r.format(base);
                r.judge(at, expect, result, |miss| {
                    words(&format, &under, reference, miss)
                });
            }
            // Nothing to compare with: the failure at home is a finding of
            // its own; a copy's failure too.
            _ => {
                if !r.failure_under(at, result, Some(&under)) {
                    r.tally(Check::Env, generator, Some(system), |t| t.skipped += 1);
                }
            }
        }
    }
}

/// A miss in words: what the copy did, under which environment, on which
/// day, against what the system answered at home.
fn words(format: &str, under: &str, reference: &Validation, miss: &Miss) -> Words {
    let cause = match miss {
        Miss::Rejected(_) => format!("{format} key rejected {under}"),
        Miss::Accepted => format!("{format} key accepted {under}"),
        Miss::Failed(_) => {
            return Words {
                cause: format!("validate {} {under}", miss.cause()),
                expected: "an answer".into(),
            };
        }
        other => format!("{format} key, {} {under}", other.cause()),
    };
    Words {
        cause,
        expected: format!(
            "{} as in keycompat's own environment",
            verdict_text(reference)
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::copies::{EnvCopies, EnvCopy};
    use super::*;
    use crate::finding::Source;
    use crate::implementation::Implementation;

    fn entitlement(issued: &str, expires: Option<&str>) -> Entitlement {
        let mut e: Entitlement = serde_json::from_str(
            r#"{"product":"acme-cad","edition":"professional","max_major":7,"features":[],"seats":null,"issued":"2026-11-23","expires":null,"maintenance_until":null,"serial":1,"customer":null,"order_id":null,"host_id":null}"#,
        )
        .expect("an entitlement");
        e.issued = Day::parse(issued).expect("a day");
        e.expires = expires.map(|d| Day::parse(d).expect("a day"));
        e
    }

    fn labels(e: &Entitlement) -> Vec<String> {
        days(e)
            .into_iter()
            .map(|(d, label)| format!("{d} {label}"))
            .collect()
    }

    #[test]
    fn days_are_issue_expiry_and_the_day_after_each_once() {
        assert_eq!(
            labels(&entitlement("2026-11-23", Some("2027-12-31"))),
            [
                "2026-11-23 the day of issue",
                "2027-12-31 the expiry day",
                "2028-01-01 the day after expiry"
            ]
        );
        assert_eq!(
            labels(&entitlement("2026-11-23", None)),
            ["2026-11-23 the day of issue"]
        );
        assert_eq!(
            labels(&entitlement("2027-12-31", Some("2027-12-31"))),
            [
                "2027-12-31 the expiry day",
                "2028-01-01 the day after expiry"
            ]
        );
    }

    /// A copy of a system under another environment that moves "today" a
    /// day on (a validator east of UTC reading the local date), or fails.
    struct Copy {
        inner: Arc<dyn Implementation>,
        fails: bool,
    }

    impl Implementation for Copy {
        fn info(&self) -> &crate::implementation::ImplInfo {
            self.inner.info()
        }
        fn generate(
            &self,
            e: &Entitlement,
        ) -> Result<String, crate::implementation::GenerateFailure> {
            self.inner.generate(e)
        }
        fn validate(
            &self,
            key: &[u8],
            ctx: &Context,
        ) -> Result<Validation, crate::implementation::CallFailure> {
            if self.fails {
                return Err(crate::implementation::CallFailure::new(
                    crate::implementation::FailureKind::Crash,
                    "planted",
                ));
            }
            let today = ctx.today.add_days(1).unwrap_or(ctx.today);
            self.inner.validate(
                key,
                &Context {
                    today,
                    ..ctx.clone()
                },
            )
        }
    }

    /// The demo's builtins as old and new, with `new` copied under two
    /// environments: `TZ=East` (today a day on) and `TZ=Broken` (fails).
    fn matrix() -> Matrix {
        use crate::catalog::Catalog;
        use crate::schemes::demo;
        use crate::schemes::lk1::Lk1System;
        use crate::schemes::new_system::NewSystemImpl;
        let old: Arc<dyn Implementation> =
            Arc::new(Lk1System::from_settings(&Catalog::acme(), &demo::lk1()).unwrap());
        let new: Arc<dyn Implementation> =
            Arc::new(NewSystemImpl::from_settings(&Catalog::acme(), &demo::new_system()).unwrap());
        let copy = |fails| -> Arc<dyn Implementation> {
            Arc::new(Copy {
                inner: Arc::clone(&new),
                fails,
            })
        };
        let env = EnvCopies {
            environments: vec!["TZ=East".into(), "TZ=Broken".into()],
            systems: vec!["new".into()],
            copies: vec![
                EnvCopy {
                    name: "new [TZ=East]".into(),
                    system: 0,
                    environment: 0,
                },
                EnvCopy {
                    name: "new [TZ=Broken]".into(),
                    system: 0,
                    environment: 1,
                },
            ],
            unchecked: Vec::new(),
            failed: Vec::new(),
            every: 1,
        };
        Matrix {
            systems: BTreeMap::from([
                ("old".to_string(), old),
                ("new".to_string(), Arc::clone(&new)),
                ("new [TZ=East]".to_string(), copy(false)),
                ("new [TZ=Broken]".to_string(), copy(true)),
            ]),
            old: "old".into(),
            new: "new".into(),
            releases: Vec::new(),
            parity: Vec::new(),
            formats: Vec::new(),
            issuers: Vec::new(),
            checks: [Check::Roundtrip, Check::Env].into(),
            products: Vec::new(),
            env,
        }
    }

    #[test]
    fn a_copy_that_answers_otherwise_or_fails_is_blamed_on_its_system() {
        let m = matrix();
        let e = entitlement("2026-11-23", Some("2027-12-31"));
        let case = super::super::Case {
            id: super::super::case_id(&e),
            source: Source::Random { seed: 1, index: 0 },
            entitlement: e,
        };
        let outcome = m.run_batch(std::slice::from_ref(&case)).pop().unwrap();
        let findings: Vec<(String, String, String, String)> = outcome
            .findings
            .iter()
            .map(|f| {
                (
                    f.key.severity.to_string(),
                    f.key.generator.clone(),
                    f.key.validator.clone().unwrap_or_default(),
                    f.key.cause.clone(),
                )
            })
            .collect();
        let finding = |severity: &str, generator: &str, cause: &str| {
            (
                severity.into(),
                generator.into(),
                "new".into(),
                cause.into(),
            )
        };
        // The new system issues the old key (acme-lk1) for Acme CAD: one
        // key, on the expiry day already expired a day on, and failing on
        // every day under the broken environment.
        let mut expected = vec![finding(
            "outage",
            "old",
            "acme-lk1 key rejected under TZ=East on the expiry day",
        )];
        for day in ["the day of issue", "the expiry day", "the day after expiry"] {
            expected.push(finding(
                "crash",
                "old",
                &format!("validate failed: crash under TZ=Broken on {day}"),
            ));
        }
        let mut sorted = findings.clone();
        sorted.sort();
        expected.sort();
        assert_eq!(sorted, expected, "{:#?}", outcome.findings);
        // Every copy's answer is tallied at its system's cell, none at a copy's.
        assert!(
            outcome
                .tallies
                .keys()
                .all(|(c, _, v)| *c != Check::Env || v.as_deref() == Some("new"))
        );
        let env_fail: u64 = outcome
            .tallies
            .iter()
            .filter(|((c, _, _), _)| *c == Check::Env)
            .map(|(_, t)| t.fail)
            .sum();
        assert_eq!(env_fail, 4);
        // Copies are not validators of the run: no coverage verdicts.
        let copies: Vec<usize> = m
            .systems
            .keys()
            .enumerate()
            .filter(|(_, n)| m.env.is_copy(n))
            .map(|(i, _)| i)
            .collect();
        assert!(outcome.verdicts.iter().all(|(i, _)| !copies.contains(i)));
    }

    #[test]
    fn every_nth_random_case_and_every_other_case_is_sampled() {
        let env = EnvCopies {
            every: 4,
            ..EnvCopies::default()
        };
        let random = |index| Source::Random { seed: 1, index };
        let sampled: Vec<u64> = (0..10).filter(|&i| env.samples(&random(i))).collect();
        assert_eq!(sampled, [0, 4, 8]);
        assert!(env.samples(&Source::Vector {
            id: "v".into(),
            file: "f".into()
        }));
    }
}
