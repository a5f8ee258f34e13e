//! After a run: every unwaived group whose example is an entitlement (a
//! random, steered or order case) is shrunk to a minimal entitlement that
//! fails the same way and saved as a regression vector, run first next time.

use std::sync::atomic::{AtomicBool, Ordering};

use super::aggregate::Aggregate;
use super::settings::{Events, RunError, RunOptions};
use crate::check::Matrix;
use crate::config::Config;
use crate::finding::Source;
use crate::vectors::{self, RegressionVector};

/// The most groups shrunk per run: each costs up to a few hundred cases.
const MAX_SHRINKS: usize = 100;

/// Whether a group's example can be shrunk: it came from an entitlement that
/// is not already a vector.
pub(crate) fn shrinkable(source: &Source) -> bool {
    matches!(
        source,
        Source::Random { .. } | Source::Steered { .. } | Source::Order { .. }
    )
}

/// Shrinks the example of every unwaived group that came from a shrinkable case.
pub(super) fn shrink(
    matrix: &Matrix,
    config: &Config,
    aggregate: &mut Aggregate,
    events: &dyn Events,
    stop: &AtomicBool,
) {
    let stopped = || stop.load(Ordering::Relaxed);
    let targets: Vec<_> = aggregate
        .groups()
        .iter()
        .filter(|((_, waiver), g)| {
            waiver.is_none() && g.example.entitlement.is_some() && shrinkable(&g.example.source)
        })
        .map(|(k, _)| k.clone())
        .take(MAX_SHRINKS)
        .collect();
    for key in targets {
        if stopped() {
            break;
        }
        let Some(group) = aggregate.groups().get(&key) else {
            continue;
        };
        let reproduces = crate::shrink::reproduces(matrix, &group.example);
        if stopped() {
            break;
        }
        if !reproduces {
            aggregate.set_unreproduced(&key);
            continue;
        }
        let Some(group) = aggregate.groups().get(&key) else {
            continue;
        };
        let shrunk = crate::shrink::shrink(
            matrix,
            &config.catalog,
            &group.example,
            crate::shrink::DEFAULT_BUDGET,
            &stopped,
        );
        events.shrunk(
            &group.key,
            shrunk.as_ref().and_then(|s| s.entitlement.as_ref()),
        );
        aggregate.set_shrunk(&key, shrunk);
    }
}

/// Saves every shrunk example as a regression vector; with `[run] vectors
/// = false` there is nowhere to save them, and a warning says so.
pub(super) fn save(
    config: &Config,
    aggregate: &Aggregate,
    options: &RunOptions,
    events: &dyn Events,
) -> Result<(), RunError> {
    let shrunk = aggregate
        .groups()
        .values()
        .filter_map(|g| Some((g, g.shrunk.as_ref()?.entitlement.as_ref()?)));
    let Some(dir) = config.vectors_dir() else {
        let n = shrunk.count();
        if n > 0 {
            events.warning(&format!(
                "{n} shrunk examples not saved as regression vectors: `[run] vectors = false`"
            ));
        }
        return Ok(());
    };
    for (g, e) in shrunk {
        let mut r = RegressionVector::new(e.clone(), g.key.check, g.key.cause.clone());
        r.generator = g.key.generator.clone();
        r.validator = g.key.validator.clone();
        r.seed = match &g.example.source {
            Source::Random { seed, .. } | Source::Steered { seed, .. } => Some(*seed),
            _ => None,
        };
        r.found = options.today.to_string();
        let origin = match &g.example.source {
            Source::Order {
                file,
                line,
                order_id,
            } => format!(" (order {order_id}, {file}:{line})"),
            _ => String::new(),
        };
        r.note = format!(
            "{} {}; shrunk from {}{origin}",
            g.key.severity, g.key, g.replay
        );
        let saved =
            vectors::save_regression(&dir, &r).map_err(|source| RunError::SaveRegression {
                dir: dir.clone(),
                source,
            })?;
        if saved {
            events.regression_saved(&r.id, &dir.join(r.file()));
        }
    }
    Ok(())
}
