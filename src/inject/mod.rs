//! Defect injectors: realistic porting and maintenance bugs planted around
//! any implementation, to measure what a run would catch (`keycompat
//! selftest`, issue 15).
//!
//! An [`Injector`] names one defect (`time.today-plus-1`,
//! `decode.feature-dropped`, ...); [`Injected`] wraps an implementation of
//! any origin (builtin, C plugin, process plugin) in it through the one
//! [`Implementation`](crate::implementation::Implementation) interface. The
//! defects work on what every implementation shares, the entitlement, the
//! context and the validation, and never on a key format: a selftest must
//! mean the same for a vendor's format as for the demo's. Where a defect
//! acts on only a share of inputs, the share is chosen by hashing the input
//! ([`hits`]), never by a random generator, so every run plants the defect
//! on the same inputs.
//!
//! Each family lives in its own file; this module knows only their names
//! and how to tell an injector that cannot change any answer for a config
//! ([`Injector::applicability`]) from one the run should catch.

mod context;
mod decode;
mod facts;
mod fault;
mod injector;
mod issue;
mod normalise;
mod time;
mod wrap;

pub use facts::SHARE;
pub use injector::{Applicability, Family, Injector, UnknownInjector};
pub use wrap::{Injected, Partner};
