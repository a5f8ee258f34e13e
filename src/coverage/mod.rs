//! Scenario coverage: which parts of the entitlement space a run exercised,
//! and which it did not.
//!
//! A green run proves only what it tried. Random cases can, by bad luck or a
//! biased generator, never issue a node-locked trial, never cross acme-lk1's
//! last expiry day, never reach a shipped release; the gates then pass over
//! scenarios nobody ran. Coverage makes that visible: per dimension (product ×
//! edition, features, releases, seat/expiry/maintenance classes cut at the
//! edges key formats break on, node lock, validator × verdict, and pairs of
//! the entitlement dimensions) it counts what was observed and lists what was
//! not, so a release manager sees what "green" rests on; and it turns the gaps
//! into [`Target`]s the run can steer extra random cases into.
//!
//! What it must not do: know about the run, reports or gates (the integrator
//! calls it); keep entitlements (only counts, so shards stay small and merge
//! cheaply); cost more than about a microsecond per case. Counts are therefore
//! stored by value index in the [`CoverageSpace`]'s order, and turned into
//! names only for the report. That order is fixed by the config (catalog,
//! releases, validators), which every shard of one run shares
//! (`RunResult::merge` refuses shards of another config); releases and
//! validators are counted by name, as the run knows them by name.

mod class;
mod report;
mod space;
mod target;

pub use class::{ExpiryClass, MaintenanceClass, NodeLock, SeatsClass};
pub use report::{CoverageReport, DimensionCoverage, render_markdown};
pub use space::{Coverage, CoverageSpace, Dimension};
pub use target::{Setting, Target};

#[cfg(test)]
mod tests;
