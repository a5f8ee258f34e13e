//! The figures the volume gates need, measured by the run itself: the new
//! system's key generation and validation rates at the production thread
//! count, as `keycompat bench` measures them (interleaved rounds, median and
//! range), and nothing else, so a run pays seconds, not a full bench.
//!
//! The new system is opened afresh, hosted as the run hosts its plugins (in
//! worker processes by default: a plugin that crashes while measured costs
//! a worker, not the run's report; the figure then includes keycompat's
//! pipe and understates the system). The old system only issues keys, so
//! that a format the new system reads but no longer issues (the field's
//! keys) is measured too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::bench::{self, BenchOptions, BenchResult, Direct, Hosting as Where, Matrices, Systems};
use crate::config::Config;
use crate::implementation::{Implementation, Origin};
use crate::random::Generator;
use crate::system::{Hosting, OpenError};

/// Rounds of an in-run measurement: `keycompat bench`'s default.
pub const ROUNDS: usize = 5;
/// Each figure's total time over its rounds: `keycompat bench`'s default.
pub const TIME: Duration = Duration::from_secs(1);
/// Entitlements issued for the keys measured: `keycompat bench`'s default.
pub const CORPUS: usize = 1000;

/// Why the figures could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// The config's `[gates.volume]` sets no rate: nothing to measure for.
    #[error(
        "`[gates.volume]` sets no rate (issue_per_second, validate_per_second): nothing to measure"
    )]
    NotConfigured,
    /// A system cannot be opened again for measuring.
    #[error(transparent)]
    Open(#[from] OpenError),
}

/// Where `imp` runs under `hosting`, as bench tables label it.
fn label(imp: &dyn Implementation, hosting: &Hosting) -> Where {
    match (&imp.info().origin, hosting) {
        (Origin::Process { .. }, _) => Where::Process,
        (Origin::Plugin { .. }, Hosting::Workers(_)) => Where::Isolated,
        _ => Where::InProcess,
    }
}

/// The run's hosting with a worker (or process plugin copy) per production
/// thread, so the figure is not capped by the run's `-j`.
fn hosting_for(hosting: &Hosting, threads: usize) -> Hosting {
    match hosting {
        Hosting::InProcess => Hosting::InProcess,
        Hosting::Workers(o) => {
            let mut o = o.clone();
            o.workers = o.workers.max(threads);
            Hosting::Workers(o)
        }
    }
}

/// Measures the new system of `config` (`[run] new`) for its volume gates:
/// generate and validate per key format at `[gates.volume] threads`, in
/// [`ROUNDS`] interleaved rounds of [`TIME`] per figure in all, on a corpus
/// drawn with `seed`. `say` hears what is being done.
pub fn measure(
    config: &Config,
    hosting: &Hosting,
    seed: u64,
    say: &dyn Fn(&str),
) -> Result<BenchResult, MeasureError> {
    let volume = &config.gates.volume;
    if volume.is_empty() {
        return Err(MeasureError::NotConfigured);
    }
    let threads = volume.threads.unwrap_or(1).max(1) as usize;
    let hosting = hosting_for(hosting, threads);
    let (old, new) = (&config.run.old, &config.run.new);
    let mut direct = BTreeMap::new();
    for name in [new, old] {
        if direct.contains_key(name) {
            continue;
        }
        let Some(system) = config.systems.get(name) else {
            continue;
        };
        let imp: Arc<dyn Implementation> = Arc::from(crate::system::open_configured(
            name, system, config, &hosting,
        )?);
        let hosting = label(imp.as_ref(), &hosting);
        direct.insert(name.clone(), Direct { hosting, imp });
    }
    let systems = Systems {
        direct,
        isolated: BTreeMap::new(),
    };
    let options = BenchOptions {
        seed,
        corpus: CORPUS,
        time: TIME,
        rounds: ROUNDS,
        threads: vec![threads],
        matrix_cases: 0,
        measured: Some(BTreeSet::from([new.clone()])),
    };
    let generator = Generator::new(seed, config.catalog.clone(), config.release_majors());
    let none = Matrices {
        in_process: None,
        isolated: None,
    };
    Ok(bench::run(
        &systems, &none, &generator, old, new, &options, say,
    ))
}
