//! Faults: a plugin that crashes or hangs on a small share of its inputs
//! (one in [`SHARE`](super::facts::SHARE), chosen by hashing the input). They are
//! planted as the failures a crashed or hung worker yields (`Crash`,
//! `Timeout`), without killing or waiting for anything, so a selftest costs
//! no restarts and no timeouts.

use super::facts::hits;
use crate::implementation::{CallFailure, FailureKind};
use crate::verdict::Context;

/// A fault on a share of inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FaultDefect {
    /// `generate` crashes on a share of entitlements.
    CrashOnGenerate,
    /// `validate` crashes on a share of keys.
    CrashOnValidate,
    /// `validate` hangs on a share of keys.
    HangOnValidate,
}

impl FaultDefect {
    pub(crate) const ALL: [FaultDefect; 3] = [
        FaultDefect::CrashOnGenerate,
        FaultDefect::CrashOnValidate,
        FaultDefect::HangOnValidate,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            FaultDefect::CrashOnGenerate => "crash-on-generate",
            FaultDefect::CrashOnValidate => "crash-on-validate",
            FaultDefect::HangOnValidate => "hang-on-validate",
        }
    }

    pub(crate) fn what(self) -> &'static str {
        match self {
            FaultDefect::CrashOnGenerate => "generate crashes on one entitlement in 64",
            FaultDefect::CrashOnValidate => "validate crashes on one key in 64",
            FaultDefect::HangOnValidate => "validate hangs on one key in 64",
        }
    }

    /// Whether the fault is in `validate` (else in `generate`).
    pub(crate) fn validates(self) -> bool {
        self != FaultDefect::CrashOnGenerate
    }

    /// The failure `generate` yields for the entitlement whose canonical
    /// JSON is `entitlement`, if the fault hits it.
    pub(crate) fn generate(self, entitlement: &str) -> Option<CallFailure> {
        (self == FaultDefect::CrashOnGenerate && hits(entitlement.as_bytes())).then(crashed)
    }

    /// The failure `validate` yields for `key` in `context`, if the fault
    /// hits them.
    pub(crate) fn validate(self, key: &[u8], context: &Context) -> Option<CallFailure> {
        if !self.validates() {
            return None;
        }
        let input = [
            key,
            b"\x1f",
            context.product.as_bytes(),
            context.today.to_string().as_bytes(),
        ]
        .concat();
        if !hits(&input) {
            return None;
        }
        Some(match self {
            FaultDefect::HangOnValidate => {
                CallFailure::new(FailureKind::Timeout, "no answer within 5s (injected hang)")
            }
            _ => crashed(),
        })
    }
}

fn crashed() -> CallFailure {
    CallFailure::new(
        FailureKind::Crash,
        "killed by signal 11 (SIGSEGV) (injected crash)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;
    use crate::verdict::Version;

    fn ctx() -> Context {
        Context {
            product: "p".into(),
            version: Version { major: 1, minor: 0 },
            today: Day::parse("2026-01-01").unwrap(),
            host_id: None,
        }
    }

    #[test]
    fn faults_hit_a_small_deterministic_share() {
        let keys: Vec<String> = (0..6400).map(|i| format!("KEY-{i}")).collect();
        let hit: Vec<&String> = keys
            .iter()
            .filter(|k| {
                FaultDefect::CrashOnValidate
                    .validate(k.as_bytes(), &ctx())
                    .is_some()
            })
            .collect();
        assert!((50..160).contains(&hit.len()), "{}", hit.len());
        let again = keys
            .iter()
            .filter(|k| {
                FaultDefect::CrashOnValidate
                    .validate(k.as_bytes(), &ctx())
                    .is_some()
            })
            .count();
        assert_eq!(hit.len(), again);
    }

    #[test]
    fn faults_are_the_failures_a_crashed_or_hung_worker_yields() {
        let key = (0..10_000)
            .map(|i| format!("KEY-{i}"))
            .find(|k| {
                FaultDefect::HangOnValidate
                    .validate(k.as_bytes(), &ctx())
                    .is_some()
            })
            .unwrap();
        let hang = FaultDefect::HangOnValidate
            .validate(key.as_bytes(), &ctx())
            .unwrap();
        assert_eq!(hang.kind, FailureKind::Timeout);
        let crash = FaultDefect::CrashOnValidate
            .validate(key.as_bytes(), &ctx())
            .unwrap();
        assert!(crash.kind.is_crash() && hang.kind.is_crash());
        assert!(
            FaultDefect::CrashOnGenerate
                .validate(key.as_bytes(), &ctx())
                .is_none()
        );
    }
}
