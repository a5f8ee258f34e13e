//! The check matrix (DESIGN.md): one file per check, each holding what it asks
//! the systems and how it judges their answers.
//!
//! | check | file |
//! |---|---|
//! | VECTOR (shared vectors) | [`vector`] |
//! | ROUNDTRIP | `roundtrip.rs` |
//! | BACKWARD | `backward.rs` |
//! | FORWARD | `forward.rs` |
//! | ROLLBACK | `rollback.rs` |
//! | PARITY | `parity.rs` |
//! | TAMPER (and its mutations) | `tamper/` |
//! | TIME | `time.rs` |
//! | ENV (validators under other environments) | `env/` |
//!
//! A batch of cases goes through three phases so that implementations behind
//! a process boundary are crossed once per batch, not once per call: every
//! generator issues keys for the whole batch; each check plans the
//! validations it needs ([`plan`]) and each validator answers its share as
//! one batch; then each check judges its answers. Whether an answer is a
//! finding, and of which severity, is decided by [`crate::judge`] alone;
//! [`record`] turns its verdict into a finding at a cell of the matrix.

pub mod backward;
mod batch;
mod counted;
mod env;
mod forward;
mod hook;
mod matrix;
mod parity;
mod plan;
mod record;
mod rollback;
mod roundtrip;
pub mod tamper;
mod time;
pub mod vector;

pub use backward::{FieldKeyMiss, judge_field_key};
pub use batch::Calls;
pub use env::copies::{EnvCopies, EnvCopy};
pub use hook::OpenHook;
pub use matrix::{
    Case, CaseOutcome, Cell, Matrix, ParityFormat, Release, Tally, case_id, own_context, releases,
};
