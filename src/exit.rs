//! Process exit codes, documented and stable: CI scripts branch on them.

/// Go: every gate green (or yellow only through waivers and warnings); for
/// `validate`, the key is valid; for `generate`, every entitlement got a key.
pub const GO: i32 = 0;
/// Incompatible: a red gate; for `validate`, the key is rejected; for
/// `generate`, at least one entitlement was refused by the format; for
/// `bench --fail-on-regression`, a figure regressed against the baseline.
pub const INCOMPATIBLE: i32 = 1;
/// Usage, config or vector error: the input is wrong, nothing was proven.
pub const USAGE: i32 = 2;
/// A plugin could not be loaded, breaks the ABI, or failed on every call
/// until its restarts ran out: nothing it was asked was proven. In the last
/// case a run (`run`, `data`, `selftest`, and a `merge` of its shards) has
/// written its reports first, marked incomplete and NO-GO.
pub const PLUGIN: i32 = 3;
/// Interrupted by Ctrl-C (SIGINT): 128 + 2, as shells report it. The first
/// Ctrl-C writes a partial report marked interrupted (no verdict); a second
/// exits at once.
pub const INTERRUPTED: i32 = 130;
/// Terminated (SIGTERM, how CI systems cancel a job): 128 + 15, after the
/// same partial report.
pub const TERMINATED: i32 = 143;

/// Exit codes of the hidden `keycompat __worker` process, which hosts one
/// plugin for the coordinator (see [`crate::plugin::worker`]).
///
/// The coordinator learns what went wrong from the protocol, not from these
/// codes: they help someone running `keycompat __worker` by hand, and a
/// crash finding quotes them ("exited with status 70"). A worker can also
/// end with a code its plugin chose (a plugin that calls `exit(n)`) or with
/// a signal; findings report those as they are.
pub mod worker {
    /// The coordinator closed the protocol (the normal end), or the worker
    /// found itself orphaned and exited.
    pub const OK: i32 = 0;
    /// The worker was started with arguments; `keycompat __worker` takes
    /// none (everything arrives in the hello frame). The same code as
    /// [`super::USAGE`].
    pub const USAGE: i32 = super::USAGE;
    /// The plugin could not be loaded; the worker sent the load error to the
    /// coordinator before exiting. The same code as [`super::PLUGIN`].
    pub const LOAD_FAILED: i32 = super::PLUGIN;
    /// The protocol broke: the channel could not be set up, a frame could
    /// not be read or did not decode, or a message could not be written. The
    /// worker says why on stderr and, if it can, in an error frame.
    /// `EX_SOFTWARE` of `sysexits.h`.
    pub const PROTOCOL: i32 = 70;
    /// keycompat's own code in the worker panicked (a bug: please report
    /// it). Not chosen by keycompat but by Rust's runtime, which exits with
    /// 101 when the main thread panics; named here so that every code a
    /// worker returns is.
    pub const PANICKED: i32 = 101;
}
