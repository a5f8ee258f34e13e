//! Starting a worker: spawn `keycompat __worker`, send the hello, and wait
//! for it to load the plugin.
//!
//! A plugin that cannot be loaded gives the very [`PluginError`] an
//! in-process load gives; a worker that cannot be started, or dies or hangs
//! while loading, gives a [`PluginError::Open`] that says how it ended and
//! quotes its stderr.

use std::path::Path;
use std::time::{Duration, Instant};

use super::ending::human;
use super::options::WorkerOptions;
use super::process::{EXIT_GRACE, Process, RecvError, STDERR_GRACE, SendError};
use super::wire::{self, Reader, WireError};
use crate::implementation::ImplInfo;
use crate::plugin::library::PluginError;
use crate::settings::Settings;

/// How long a worker may take to load its plugin and say hello.
const MIN_LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts a worker and waits for its hello.
pub(super) fn launch(
    path: &Path,
    settings: &Settings,
    options: &WorkerOptions,
) -> Result<(Process, ImplInfo), PluginError> {
    let worker_failed = |message: String| PluginError::Open {
        path: path.to_path_buf(),
        message,
    };
    let mut p = Process::spawn(&options.exe).map_err(|e| {
        worker_failed(format!(
            "cannot start the worker process {}: {e}",
            options.exe.display()
        ))
    })?;
    let hello = wire::encode_hello(&wire::Hello {
        plugin: path.to_path_buf(),
        settings: settings.clone(),
        progress: options.progress(),
    });
    let deadline = Instant::now() + MIN_LOAD_TIMEOUT.max(options.timeout);
    let failed_while = |p: &mut Process, what: String| {
        let ending = p.kill_and_reap(EXIT_GRACE);
        worker_failed(format!(
            "the worker process ({} __worker) {what}: {}{}",
            options.exe.display(),
            ending.describe(),
            p.stderr().quote(STDERR_GRACE)
        ))
    };
    if let Err(e) = p.send(&hello, deadline) {
        let why = match e {
            SendError::Timeout => "timeout".to_string(),
            SendError::Closed => "it closed its stdin".to_string(),
            SendError::Io(e) => e.to_string(),
        };
        return Err(failed_while(
            &mut p,
            format!("did not take its hello ({why})"),
        ));
    }
    let payload = match p.recv(deadline) {
        Ok(payload) => payload,
        Err(RecvError::Timeout) => {
            return Err(failed_while(
                &mut p,
                format!(
                    "did not load the plugin within {}",
                    human(MIN_LOAD_TIMEOUT.max(options.timeout))
                ),
            ));
        }
        Err(e) => {
            return Err(failed_while(
                &mut p,
                format!("ended while loading the plugin ({})", recv_error_words(&e)),
            ));
        }
    };
    let mut r = Reader::new(&payload);
    let decoded = r.u8("tag").and_then(|tag| match tag {
        wire::TAG_READY => wire::decode_ready(&mut r).map(Ok),
        wire::TAG_LOAD_FAILED => wire::decode_load_failed(&mut r).map(Err),
        wire::TAG_ERROR => r
            .string("message")
            .map(|m| Err(worker_failed(format!("the worker process refused: {m}")))),
        other => Err(WireError(format!("unexpected message tag {other}"))),
    });
    match decoded {
        Ok(Ok(info)) => Ok((p, info)),
        Ok(Err(e)) => {
            // As in-process, where the plugin writes to our stderr: a
            // `create` failure says "see the plugin's stderr above".
            p.kill_and_reap(EXIT_GRACE);
            let said = p.stderr().all(STDERR_GRACE);
            if !said.trim().is_empty() {
                eprint!("{said}");
                if !said.ends_with('\n') {
                    eprintln!();
                }
            }
            Err(e)
        }
        Err(e) => Err(failed_while(&mut p, format!("sent a bad hello ({e})"))),
    }
}

fn recv_error_words(e: &RecvError) -> String {
    match e {
        RecvError::Timeout => "timeout".into(),
        RecvError::Eof => "end of file".into(),
        RecvError::TooLarge(n) => format!("a frame of {n} bytes"),
        RecvError::Io(e) => e.to_string(),
    }
}
