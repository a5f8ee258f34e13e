//! How a [`WorkerImpl`](crate::plugin::WorkerImpl) runs its worker
//! processes: the options a caller sets, and the progress and silence
//! intervals derived from the per-item timeout.
//!
//! Plain data with no knowledge of processes, so every part of the
//! coordinator (launching, the pool, the exchange of frames) reads the same
//! options without depending on the others.

use std::path::PathBuf;
use std::time::Duration;

/// How [`WorkerImpl`](crate::plugin::WorkerImpl) runs its worker processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerOptions {
    /// The keycompat binary to run as `exe __worker`; default
    /// [`std::env::current_exe`].
    pub exe: PathBuf,
    /// How many worker processes at most (at least 1); calls made from
    /// several threads at once use several workers. Default 1.
    pub workers: usize,
    /// How long one call (one item of a batch) may take before the worker is
    /// killed and the item reported as a timeout. Default 5 s.
    pub timeout: Duration,
    /// How many times in a row a crashed worker is restarted before the
    /// implementation is declared dead; any successful request resets the
    /// count. Default 20.
    pub max_restarts: u32,
    /// The most data memory (heap and private writable mappings,
    /// `RLIMIT_DATA`) one worker process or process plugin may hold, in
    /// bytes; beyond it, its allocations fail. `None`: no limit. Default
    /// [`DEFAULT_MEMORY_LIMIT`].
    pub memory_limit: Option<u64>,
}

/// The default memory limit of a worker process or process plugin: 2 GiB,
/// far above what a key validator needs, far below a build machine's memory.
pub const DEFAULT_MEMORY_LIMIT: u64 = 2 << 30;

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("keycompat")),
            workers: 1,
            timeout: Duration::from_secs(5),
            max_restarts: 20,
            memory_limit: Some(DEFAULT_MEMORY_LIMIT),
        }
    }
}

impl WorkerOptions {
    /// How often a busy worker reports progress.
    pub(super) fn progress(&self) -> Duration {
        (self.timeout / 4).clamp(Duration::from_millis(5), Duration::from_secs(2))
    }

    /// What a crash message adds when the process's last words (`said`)
    /// show an allocation that failed and the memory is limited: the limit
    /// and where it is set.
    pub(super) fn memory_hint(&self, said: &str) -> String {
        const WORDS: [&str; 6] = [
            "memory allocation",
            "out of memory",
            "memoryerror",
            "outofmemoryerror",
            "cannot allocate memory",
            "bad_alloc",
        ];
        let said = said.to_ascii_lowercase();
        match self.memory_limit {
            Some(bytes) if WORDS.iter().any(|w| said.contains(w)) => format!(
                " (its memory is limited to {}: `[run] memory_limit`)",
                human_bytes(bytes)
            ),
            _ => String::new(),
        }
    }

    /// How long a worker may stay silent during a request.
    pub(super) fn silence(&self) -> Duration {
        self.timeout + self.progress() + Duration::from_millis(50) + self.timeout / 10
    }
}

/// `bytes` as `2 GiB`, `512 MiB` or `1000 bytes`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(size, _)| bytes >= *size && bytes.is_multiple_of(*size))
        .map_or_else(
            || format!("{bytes} bytes"),
            |(size, unit)| format!("{} {unit}", bytes / size),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_allocation_names_the_limit() {
        let o = WorkerOptions::default();
        assert_eq!(
            o.memory_hint("stderr: memory allocation of 67108864 bytes failed"),
            " (its memory is limited to 2 GiB: `[run] memory_limit`)"
        );
        assert_eq!(
            o.memory_hint("Traceback ... MemoryError"),
            o.memory_hint("out of memory")
        );
        assert_eq!(o.memory_hint("signal 11"), "");
        let none = WorkerOptions {
            memory_limit: None,
            ..o
        };
        assert_eq!(none.memory_hint("out of memory"), "");
        assert_eq!(human_bytes(512 << 20), "512 MiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }
}
