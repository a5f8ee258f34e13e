//! The run's stop flag, as the plugin host sees it.
//!
//! A first Ctrl-C or SIGTERM asks the run to stop and report what it has.
//! A call in flight to a slow or hanging plugin would hold that up for its
//! whole timeout, and the isolation of a failing item for several: CI sends
//! SIGKILL a few seconds after SIGTERM, and the partial report would be
//! lost. So once the flag is set, waits on a worker or process plugin end
//! within [`POLL`], no new request is sent, and no failure is isolated:
//! the calls cut short fail, and the run discards the cases they were for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How often a wait on a plugin looks at the flag.
pub(super) const POLL: Duration = Duration::from_millis(100);

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Makes the plugin host watch `flag` (set by the first Ctrl-C or SIGTERM).
/// The first flag given counts.
pub fn stop_calls_on(flag: Arc<AtomicBool>) {
    let _ = FLAG.set(flag);
}

/// Whether calls are being stopped: calls in flight may have been cut short.
pub fn stopping() -> bool {
    FLAG.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// The failure of a call cut short (never judged: its case is discarded).
pub(super) const STOPPED: &str =
    "keycompat is stopping (Ctrl-C or SIGTERM): the call was cut short";
