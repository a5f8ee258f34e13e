//! `keycompat selftest` as a library call: how much a configuration's run
//! would catch (issue 15).
//!
//! [`run`] makes the configured proof once as it is (the *baseline*, which
//! the report's other sections describe), then once per injector
//! ([`crate::inject`]) planted in each target system, and calls an injector
//! *caught* when its run has an unwaived finding group the baseline does not
//! have (groups matched by their stable id), or a red gate the baseline does
//! not have. It must cost a small multiple of a plain run, not one run per
//! injector, so:
//!
//! - the systems are opened once, and every system without the defect
//!   answers from a [`memo::Memo`] filled by the baseline;
//! - an injector's run stops as soon as it is caught (the stop flag the
//!   runner honours for Ctrl-C, set when an unwaived finding of a new group
//!   is recorded), so only a missed injector costs a whole run;
//! - nothing is saved: a selftest never writes vectors; only the example
//!   of a caught injector is shrunk, with the defect still planted.
//!
//! An injector the catalog allows but whose run missed it is asked of the
//! system once more, through a [`probe::Probe`]: if the defect changes none
//! of the system's answers to a wide set of questions, it is not applicable
//! to this config; otherwise the run has a blind spot. A catch always
//! stands: the probe never turns one into "not applicable".
//!
//! Injector runs follow one another, each on the run's threads (`-j`):
//! the systems are shared, and most injector runs stop within a batch.

mod hook;
mod memo;
mod probe;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::check::Matrix;
use crate::config::Config;
use crate::detection::{Catch, Detection, Mutant, Outcome};
use crate::finding::{Finding, GroupKey};
use crate::gate::{self, Status};
use crate::inject::{Applicability, Injected, Injector};
use crate::run::{self, Events, RunError, RunResult, Settings};
use hook::Planted;
use probe::Probe;

pub use memo::{CAPACITY as MEMO_CAPACITY, Memo};

/// Runs the proof of `config` unchanged, then with each of `injectors`
/// planted in each of `systems` (names of the config's systems); returns
/// the unchanged run's result with its detection section and gate.
/// `events` hears the unchanged run; `judged` each injector as it is
/// decided. `stop` (Ctrl-C) ends the selftest early, marked interrupted.
pub fn run(
    config: &Config,
    settings: &Settings,
    injectors: &[Injector],
    systems: &[String],
    events: &dyn Events,
    judged: &dyn Fn(&Mutant),
    stop: &AtomicBool,
) -> Result<RunResult, RunError> {
    let started = Instant::now();
    let shared = Arc::new(hook::Shared::new(systems.to_vec()));
    let settings = Settings {
        shrink: false,
        hook: Some(shared.clone()),
        ..settings.clone()
    };
    let mut baseline = run::run(config, &settings, events, stop)?;
    // A system that gave up in the unchanged run cannot be planted in, and
    // nothing could be caught beyond it: the report is that run's,
    // incomplete (NO-GO), with no detection score to mistake for one.
    if !baseline.meta.gave_up.is_empty() {
        return Ok(baseline);
    }
    let baseline_seconds = started.elapsed().as_secs_f64();
    let before = Before::of(&baseline);
    let mut mutants = Vec::new();
    'systems: for system in systems {
        let info = baseline.meta.systems.get(system).cloned();
        // The systems the unchanged run opened: the target as it is, and
        // every generator the probe issues keys with.
        let opened = shared.opened();
        let raw = opened.iter().find(|(n, _)| n == system).map(|(_, s)| s);
        let mut probe: Option<Probe> = None;
        for injector in injectors {
            if stop.load(Ordering::Relaxed) {
                break 'systems;
            }
            let applicability = info
                .as_ref()
                .map_or(Applicability::Applicable, |i| injector.applicability(i));
            if let Applicability::NotApplicable(reason) = applicability {
                let m = mutant(injector, system, Outcome::NotApplicable, Some(reason));
                judged(&m);
                mutants.push(m);
                continue;
            }
            let probe = match (raw, &mut probe) {
                (Some(raw), p @ None) => {
                    Some(&*p.insert(Probe::new(system, raw, &opened, &config.catalog)))
                }
                (_, p) => p.as_ref(),
            };
            let (partner, what) = match probe.and_then(Probe::partner) {
                Some((p, what)) => (Some(p), Some(what)),
                None => (None, None),
            };
            if injector.needs_partner() && partner.is_none() {
                let reason = format!(
                    "no other generator in the config issues any product's keys in a format other than {system}'s"
                );
                let m = mutant(injector, system, Outcome::NotApplicable, Some(reason));
                judged(&m);
                mutants.push(m);
                continue;
            }
            let planted = Planted {
                system: system.clone(),
                injector: injector.clone(),
                partner: partner.filter(|_| injector.needs_partner()),
            };
            shared.plant(Some(planted.clone()));
            let caught = AtomicBool::new(false);
            let watch = Watch {
                before: &before,
                caught: &caught,
                interrupted: stop,
            };
            let result = run::run(config, &settings, &watch, &caught);
            if stop.load(Ordering::Relaxed) {
                shared.plant(None);
                break 'systems;
            }
            let mut m = judge(injector, system, result, &before)?;
            if injector.needs_partner()
                && let Some(what) = what
            {
                m.what = what;
            }
            if m.outcome == Outcome::Caught {
                m.example = m
                    .example
                    .take()
                    .map(|e| shrunk(config, &settings, &shared, e));
            }
            shared.plant(None);
            if m.outcome == Outcome::Missed
                && !injector.always_acts()
                && let (Some(raw), Some(probe)) = (raw, probe)
            {
                let injected =
                    Injected::with_partner(Arc::clone(raw), injector.clone(), planted.partner);
                if !probe.changed_by(&injected, injector.in_validator()) {
                    m.outcome = Outcome::NotApplicable;
                    m.reason = Some(probe.unchanged_reason(system, injector.in_validator()));
                }
            }
            judged(&m);
            mutants.push(m);
        }
    }
    if stop.load(Ordering::Relaxed) {
        baseline.meta.interrupted = true;
    }
    let mut detection = Detection::new(systems.to_vec(), mutants);
    detection.baseline_seconds = baseline_seconds;
    detection.total_seconds = started.elapsed().as_secs_f64();
    Ok(baseline.with_detection(detection))
}

/// `example` shrunk with the defect planted (as it is when nothing simpler
/// fails the same way, or it is a vector: already as small as its author
/// made it).
fn shrunk(
    config: &Config,
    settings: &Settings,
    shared: &Arc<hook::Shared>,
    example: Finding,
) -> Finding {
    if example.entitlement.is_none() || !run::shrinkable(&example.source) {
        return example;
    }
    let hook: &dyn crate::check::OpenHook = shared.as_ref();
    let Ok(matrix) = Matrix::open_with(
        config,
        settings.checks.clone(),
        &settings.hosting,
        Some(hook),
    ) else {
        return example;
    };
    crate::shrink::shrink(
        &matrix,
        &config.catalog,
        &example,
        crate::shrink::DEFAULT_BUDGET,
        &crate::plugin::worker::calls_stopped,
    )
    .unwrap_or(example)
}

/// What the unchanged run found: what an injector's run must go beyond.
struct Before {
    /// Ids of the groups with unwaived findings.
    unwaived: BTreeSet<String>,
    /// Names of the red gates.
    red: BTreeSet<String>,
}

impl Before {
    fn of(r: &RunResult) -> Self {
        Before {
            unwaived: r
                .aggregate
                .groups()
                .keys()
                .filter(|(_, w)| w.is_none())
                .map(|(k, _)| k.id())
                .collect(),
            red: red_gates(r),
        }
    }
}

fn red_gates(r: &RunResult) -> BTreeSet<String> {
    r.gates
        .iter()
        .filter(|g| g.status == Status::Red && g.name != gate::DETECTION_GATE)
        .map(|g| g.name.clone())
        .collect()
}

/// Stops an injector's run at its first unwaived finding of a group the
/// unchanged run does not have, or on Ctrl-C.
struct Watch<'a> {
    before: &'a Before,
    caught: &'a AtomicBool,
    interrupted: &'a AtomicBool,
}

impl Events for Watch<'_> {
    fn progress(&self, _n: u64) {
        if self.interrupted.load(Ordering::Relaxed) {
            self.caught.store(true, Ordering::Relaxed);
        }
    }

    fn unwaived(&self, group: &GroupKey) {
        if !self.caught.load(Ordering::Relaxed) && !self.before.unwaived.contains(&group.id()) {
            self.caught.store(true, Ordering::Relaxed);
        }
    }
}

fn mutant(injector: &Injector, system: &str, outcome: Outcome, reason: Option<String>) -> Mutant {
    Mutant {
        injector: injector.name(),
        family: injector.family(),
        what: injector.what().to_string(),
        system: system.to_string(),
        outcome,
        reason,
        caught_by: Vec::new(),
        red_gates: Vec::new(),
        example: None,
        replay: None,
    }
}

/// Caught or missed, from an injector's run.
fn judge(
    injector: &Injector,
    system: &str,
    result: Result<RunResult, RunError>,
    before: &Before,
) -> Result<Mutant, RunError> {
    let r = result?;
    // A system failing every call stops a real run too (NO-GO, exit 3).
    if let Some(stop) = r.meta.gave_up.first() {
        return Ok(mutant(
            injector,
            system,
            Outcome::Caught,
            Some(format!("the run stopped: {stop}")),
        ));
    }
    let new: Vec<&crate::finding::Group> = r
        .groups_by_importance()
        .into_iter()
        .filter(|g| g.waived_by.is_none() && !before.unwaived.contains(&g.id))
        .collect();
    let mut m = mutant(injector, system, Outcome::Missed, None);
    m.caught_by = new
        .iter()
        .map(|g| Catch {
            id: g.id.clone(),
            check: g.key.check,
            severity: g.key.severity,
            generator: g.key.generator.clone(),
            validator: g.key.validator.clone(),
            cause: g.key.cause.clone(),
            count: g.count,
        })
        .collect();
    if let Some(g) = new.first() {
        m.example = Some(g.shrunk.clone().unwrap_or_else(|| g.example.clone()));
        m.replay = Some(g.replay.clone());
    }
    // A run stopped once caught has partial counts: its gates mean nothing.
    if !r.meta.interrupted {
        m.red_gates = red_gates(&r).difference(&before.red).cloned().collect();
    }
    if !m.caught_by.is_empty() || !m.red_gates.is_empty() {
        m.outcome = Outcome::Caught;
    }
    Ok(m)
}
