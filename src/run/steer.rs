//! Steering: after the random cases, one more case for each combination of
//! the entitlement space they did not reach (coverage targets).

use super::aggregate::Aggregate;
use super::settings::RunOptions;
use crate::check::{Case, case_id};
use crate::config::Config;
use crate::coverage::CoverageSpace;
use crate::finding::Source;
use crate::random::Generator;

/// One case per uncovered combination: random case `cases + i`, steered.
pub(super) fn cases(
    space: &CoverageSpace,
    aggregate: &Aggregate,
    generator: &Generator,
    config: &Config,
    options: &RunOptions,
) -> Vec<Case> {
    space
        .targets(&aggregate.coverage)
        .into_iter()
        .enumerate()
        .filter_map(|(i, target)| {
            let index = options.cases + i as u64;
            let mut e = generator.entitlement(index);
            target.steer(&mut e, index ^ generator.seed());
            e.check(&config.catalog).ok()?;
            Some(Case {
                id: case_id(&e),
                source: Source::Steered {
                    seed: generator.seed(),
                    index,
                    target: target.label,
                },
                entitlement: e,
            })
        })
        .collect()
}
