//! Descriptors between a worker and its plugin's zygote (`zygote.rs`): a
//! socket pair carrying small fixed-size messages, each with up to three
//! descriptors (`SCM_RIGHTS`), and pidfds, through which the worker
//! watches and kills plugin processes that are not its own children.
//!
//! Also the descriptor flags the worker's pipes need (non-blocking, a
//! close-on-exec copy), shared by its plugin lives, its process plugins and
//! its entry point.
//!
//! Only what std does not offer yet (descriptor passing is unstable in
//! std); nothing here knows what the messages mean.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

/// The most descriptors one message carries.
pub(super) const MAX_FDS: usize = 3;
/// Every message is this long: an op byte, a `u32` and an `i32`.
pub(super) const MESSAGE_BYTES: usize = 9;

/// One message: what it asks or answers, and two numbers whose meaning
/// depends on `op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Message {
    pub(super) op: u8,
    pub(super) a: u32,
    pub(super) b: i32,
}

impl Message {
    fn encode(self) -> [u8; MESSAGE_BYTES] {
        let mut out = [0u8; MESSAGE_BYTES];
        out[0] = self.op;
        out[1..5].copy_from_slice(&self.a.to_le_bytes());
        out[5..9].copy_from_slice(&self.b.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8; MESSAGE_BYTES]) -> Message {
        Message {
            op: bytes[0],
            a: u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]),
            b: i32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]),
        }
    }
}

/// Duplicates `fd` to a new close-on-exec descriptor >= 3, owned by the
/// caller.
pub(super) fn dup_cloexec(fd: RawFd) -> io::Result<RawFd> {
    // SAFETY: F_DUPFD_CLOEXEC on an open descriptor creates a new one; it
    // touches no memory.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(new)
    }
}

/// Sets `O_NONBLOCK` on `fd`, an open descriptor.
pub(super) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on an open descriptor only change its status
    // flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A connected pair of `SOCK_SEQPACKET` sockets (message boundaries kept,
/// a closed end seen as the end of input), both close-on-exec.
pub(super) fn socket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair fills the two-element array we pass.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Room for [`MAX_FDS`] descriptors in a control message, aligned as
/// `cmsghdr` needs.
#[repr(C, align(8))]
struct ControlBuffer([u8; 64]);

/// Sends `message` with `fds` (at most [`MAX_FDS`]); the descriptors stay
/// open here (the receiver gets copies).
pub(super) fn send(socket: &OwnedFd, message: Message, fds: &[RawFd]) -> io::Result<()> {
    let bytes = message.encode();
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let mut control = ControlBuffer([0; 64]);
    // SAFETY: an all-zero msghdr is valid (no name, no control).
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} descriptors in one message, more than {MAX_FDS}",
                fds.len()
            ),
        ));
    }
    if !fds.is_empty() {
        let data_len = std::mem::size_of_val(fds) as u32;
        // SAFETY: CMSG_SPACE is arithmetic on its argument.
        let space = unsafe { libc::CMSG_SPACE(data_len) } as usize;
        debug_assert!(space <= control.0.len());
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: `msg` points at `control`, which has room for one header
        // and `data_len` bytes of data (CMSG_SPACE above, at most 64 bytes);
        // CMSG_FIRSTHDR is then non-null and CMSG_DATA points inside it.
        unsafe {
            let header = libc::CMSG_FIRSTHDR(&msg);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = libc::CMSG_LEN(data_len) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr().cast::<u8>(),
                libc::CMSG_DATA(header),
                data_len as usize,
            );
        }
    }
    loop {
        // SAFETY: `msg` and everything it points to (`iov`, `bytes`,
        // `control`) live until the call returns; MSG_NOSIGNAL turns a
        // closed peer into EPIPE instead of SIGPIPE.
        let r = unsafe { libc::sendmsg(socket.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if r >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Receives one message and the descriptors it carries (close-on-exec,
/// owned by the caller); `None` when the peer closed its end.
pub(super) fn recv(socket: &OwnedFd) -> io::Result<Option<(Message, Vec<OwnedFd>)>> {
    let mut bytes = [0u8; MESSAGE_BYTES];
    let mut iov = libc::iovec {
        iov_base: bytes.as_mut_ptr().cast(),
        iov_len: bytes.len(),
    };
    let mut control = ControlBuffer([0; 64]);
    // SAFETY: an all-zero msghdr is valid (no name, no control).
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    let n = loop {
        // SAFETY: `msg` points at `bytes` and `control`, which live until
        // the call returns; MSG_CMSG_CLOEXEC makes received descriptors
        // close-on-exec.
        let r = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if r >= 0 {
            break r as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let fds = received_fds(&msg);
    if n == 0 && fds.is_empty() {
        return Ok(None);
    }
    if n != MESSAGE_BYTES || msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a control message of {n} bytes (flags {:#x})",
                msg.msg_flags
            ),
        ));
    }
    Ok(Some((Message::decode(&bytes), fds)))
}

/// The descriptors of every `SCM_RIGHTS` header in `msg`, each owned.
fn received_fds(msg: &libc::msghdr) -> Vec<OwnedFd> {
    let mut fds = Vec::new();
    // SAFETY: `msg` was filled by recvmsg: its control buffer holds
    // `msg_controllen` bytes of well-formed headers, which the CMSG macros
    // walk without leaving it; each SCM_RIGHTS header's data holds
    // descriptors the kernel just installed in this process for us alone.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(msg);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(header);
                let len = (*header).cmsg_len as usize - (data as usize - header as usize);
                for k in 0..len / size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(data.cast::<RawFd>().add(k));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            header = libc::CMSG_NXTHDR(msg, header);
        }
    }
    fds
}

/// A pidfd for `pid`, which must be an unreaped child of this process (so
/// the pid cannot name another process).
pub(super) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just created and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// Sends SIGKILL to the process behind `pidfd`; harmless once it is gone
/// (a pidfd never names another process).
pub(super) fn kill(pidfd: &OwnedFd) {
    // SAFETY: pidfd_send_signal with a valid pidfd, a signal number, no
    // siginfo and no flags.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}

/// Waits until one of `fds` is readable (or closed: a pidfd whose process
/// exited, a pipe whose writer is gone), or `deadline` (if any) passes.
/// Returns which are, as a bit per position (none on timeout).
pub(super) fn wait_readable(fds: &[RawFd], deadline: Option<Instant>) -> u32 {
    let mut polls: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
            }
        };
        // SAFETY: `polls` holds `polls.len()` valid pollfds.
        let r = unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, ms) };
        if r > 0 {
            return polls
                .iter()
                .enumerate()
                .filter(|(_, p)| p.revents != 0)
                .fold(0, |bits, (i, _)| bits | 1 << i);
        }
        if r == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return 0;
        }
    }
}

/// Waits until the process behind `pidfd` has exited or `deadline` (if
/// any) passes; true if it has exited.
pub(super) fn wait_exited(pidfd: &OwnedFd, deadline: Option<Instant>) -> bool {
    wait_readable(&[pidfd.as_raw_fd()], deadline) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_descriptors_cross_a_socket_pair() {
        let (a, b) = socket_pair().unwrap();
        let (r, w) = socket_pair().unwrap();
        let m = Message {
            op: b'S',
            a: 7,
            b: -3,
        };
        send(&a, m, &[r.as_raw_fd(), w.as_raw_fd()]).unwrap();
        let (got, fds) = recv(&b).unwrap().unwrap();
        assert_eq!(got, m);
        assert_eq!(fds.len(), 2);
        // The received copies are the same sockets.
        send(&fds[1], m, &[]).unwrap();
        assert_eq!(recv(&r).unwrap().unwrap().0, m);
        drop(a);
        assert!(recv(&b).unwrap().is_none());
    }

    #[test]
    fn a_pidfd_says_when_a_child_exits() {
        // SAFETY: the child only _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: ends the forked test child at once.
            unsafe { libc::_exit(3) };
        }
        let pidfd = pidfd_open(pid).unwrap();
        assert!(wait_exited(&pidfd, None));
        let mut status = 0;
        // SAFETY: reaps the child we forked.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(libc::WEXITSTATUS(status), 3);
    }
}
