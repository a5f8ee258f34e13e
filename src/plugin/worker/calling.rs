//! Which plugin call a worker's plugin child is in, in a word of memory
//! the child shares with its worker: when the child dies, the worker reads
//! the index of the item whose call killed it, so one suspect is re-run
//! alone instead of every unanswered item of the request.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// One `u64` in an anonymous shared mapping, made before the worker forks
/// its plugin child, so both see it at the same address. 0 means "not in
/// a plugin call"; `i + 1` means "calling the plugin for item `i`".
pub(super) struct CallingSlot {
    word: *const AtomicU64,
}

// SAFETY: the slot is only touched through atomic operations; the mapping
// lives as long as the process (it is never unmapped).
unsafe impl Send for CallingSlot {}
// SAFETY: as above.
unsafe impl Sync for CallingSlot {}

impl CallingSlot {
    pub(super) fn new() -> io::Result<CallingSlot> {
        // SAFETY: a fresh anonymous mapping of one page, not backed by a
        // file and overlapping nothing (the kernel chooses the address).
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                std::mem::size_of::<AtomicU64>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // The mapping is page-aligned and zero-filled: a valid AtomicU64 of 0.
        Ok(CallingSlot {
            word: p.cast::<AtomicU64>(),
        })
    }

    fn word(&self) -> &AtomicU64 {
        // SAFETY: `word` points into a live mapping that is never unmapped,
        // aligned and initialised (see `new`).
        unsafe { &*self.word }
    }

    /// The child is about to call the plugin for item `i` of the request.
    pub(super) fn enter(&self, i: usize) {
        self.word().store(i as u64 + 1, Ordering::Release);
    }

    /// The child is not in a plugin call.
    pub(super) fn leave(&self) {
        self.word().store(0, Ordering::Release);
    }

    /// The item being called, if any. Read by the worker once the child is
    /// dead, when the value no longer changes. A plugin that scribbles over
    /// memory may have changed it: callers check it names an item.
    pub(super) fn current(&self) -> Option<u32> {
        match self.word().load(Ordering::Acquire) {
            0 => None,
            n => u32::try_from(n - 1).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_is_shared_with_a_forked_child() {
        let slot = CallingSlot::new().unwrap();
        assert_eq!(slot.current(), None);
        // SAFETY: the child only stores to the slot and _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            slot.enter(41);
            // SAFETY: ends the forked test child at once.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: reaps the child we forked.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(slot.current(), Some(41));
        slot.leave();
        assert_eq!(slot.current(), None);
    }
}
