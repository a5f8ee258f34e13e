//! Standard output for data (keys, verdicts, summaries), and standard error
//! for messages. A reader that goes away (`keycompat validate ... | head -1`,
//! `keycompat run 2>&1 | head`) is not an error: what is left is dropped, and
//! the command still exits with its own code (`eprintln!` would panic).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once standard output's reader has gone.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to standard output; a closed pipe silences the rest.
pub(crate) fn write(args: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CLOSED.store(true, Ordering::Relaxed);
        } else {
            write_err(format_args!("error: writing to standard output: {e}\n"));
        }
    }
}

/// Writes to standard error; a failed write (a closed pipe) is dropped.
pub(crate) fn write_err(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Whether a write error means only that the reader went away.
pub(crate) fn is_closed_pipe(e: &std::io::Error) -> bool {
    let closed = e.kind() == std::io::ErrorKind::BrokenPipe;
    if closed {
        CLOSED.store(true, Ordering::Relaxed);
    }
    closed
}

/// `print!` to standard output, surviving a closed pipe.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::output::write(format_args!($($t)*)) };
}

/// `println!` to standard output, surviving a closed pipe.
macro_rules! outln {
    () => { $crate::cli::output::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::cli::output::write(format_args!("{}\n", format_args!($($t)*))) };
}

/// `eprintln!` to standard error, surviving a closed pipe.
macro_rules! errln {
    () => { $crate::cli::output::write_err(format_args!("\n")) };
    ($($t:tt)*) => { $crate::cli::output::write_err(format_args!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {errln, out, outln};
