//! Starting a pool's process and waiting for its hello: a `keycompat
//! __worker` loading a plugin library, or a process plugin's command.
//!
//! A plugin that cannot be loaded gives the very [`PluginError`] an
//! in-process load gives; a worker that cannot be started, or dies or hangs
//! while loading, gives a [`PluginError::Loading`] that says how it ended and
//! quotes its stderr. A process plugin that cannot be started, refuses its
//! hello or answers it wrongly gives a [`PluginError::Process`] that says
//! the same.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::command::ProcessCommand;
use super::ending::human;
use super::json::{self, HelloAnswer};
use super::options::WorkerOptions;
use super::process::{EXIT_GRACE, Framing, Process, RecvError, STDERR_GRACE, SendError};
use super::target::Target;
use super::wire::{self, Reader, WireError};
use crate::implementation::{ImplInfo, Origin};
use crate::plugin::library::{PluginError, sha256_file};
use crate::settings::Settings;

/// How long a worker may take to load its plugin, or a process plugin to
/// start, and say hello (also `plugin inspect`'s limit on loading a library).
pub const MIN_LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts a process for `target` and waits for its hello.
pub(super) fn launch(
    target: &Target,
    options: &WorkerOptions,
) -> Result<(Process, ImplInfo), PluginError> {
    match target {
        Target::Library {
            plugin,
            settings,
            env,
        } => launch_worker(plugin, settings, env, options),
        Target::Command {
            command,
            settings,
            env,
        } => launch_command(command, settings, env, options),
    }
}

/// Starts a process plugin and waits for its ready.
fn launch_command(
    command: &ProcessCommand,
    settings: &Settings,
    env: &BTreeMap<String, String>,
    options: &WorkerOptions,
) -> Result<(Process, ImplInfo), PluginError> {
    let failed = |message: String| PluginError::Process {
        command: command.display(),
        message,
    };
    if command.argv.is_empty() {
        return Err(failed("the command is empty".into()));
    }
    let mut p = Process::spawn(command.command(env), Framing::Lines)
        .map_err(|e| failed(format!("cannot start it in {}: {e}", command.cwd.display())))?;
    if let Err(e) = p.limit_memory(options.memory_limit) {
        p.kill_and_reap(Duration::ZERO);
        return Err(failed(format!("cannot limit its memory: {e}")));
    }
    let limit = MIN_LOAD_TIMEOUT.max(options.timeout);
    let deadline = Instant::now() + limit;
    let failed_while = |p: &mut Process, what: String| {
        let ending = p.kill_and_reap(EXIT_GRACE);
        failed(format!(
            "{what} (the process: {}){}",
            ending.describe(),
            p.stderr().quote(STDERR_GRACE)
        ))
    };
    if let Err(e) = p.send(&json::hello(settings, options.timeout), deadline) {
        return Err(failed_while(
            &mut p,
            format!("it did not take the hello ({})", send_error_words(&e)),
        ));
    }
    let line = match p.recv(deadline) {
        Ok(line) => line,
        Err(RecvError::Timeout) => {
            return Err(failed_while(
                &mut p,
                format!("no ready within {}", human(limit)),
            ));
        }
        // A line with no end within the limit: the plugin did not end.
        Err(RecvError::TooLarge(n)) => {
            return Err(failed_while(
                &mut p,
                format!(
                    "its ready message was {n} bytes without a line end, more than the limit \
                     of {} bytes of one message",
                    wire::MAX_FRAME_BYTES
                ),
            ));
        }
        Err(e) => {
            return Err(failed_while(
                &mut p,
                format!("it ended before its ready ({})", recv_error_words(&e)),
            ));
        }
    };
    let ready = match json::read_ready(&line) {
        Ok(HelloAnswer::Ready(ready)) => ready,
        Ok(HelloAnswer::Refused(message)) => {
            p.kill_and_reap(EXIT_GRACE);
            return Err(failed(format!(
                "it refused the hello: {message}{}",
                p.stderr().quote(STDERR_GRACE)
            )));
        }
        Err(e) => {
            return Err(failed_while(
                &mut p,
                format!("it answered the hello with {e}"),
            ));
        }
    };
    let file = command.file();
    let sha256 = file.as_deref().and_then(|f| sha256_file(f).ok());
    let info = ImplInfo {
        name: ready.name,
        version: ready.version,
        origin: Origin::Process {
            command: command.argv.clone(),
            file,
            sha256,
            protocol: json::PROTOCOL,
            formats: ready.formats,
        },
        can_generate: ready.can_generate,
        can_validate: ready.can_validate,
    };
    Ok((p, info))
}

/// Starts a worker and waits for its hello.
fn launch_worker(
    path: &Path,
    settings: &Settings,
    env: &BTreeMap<String, String>,
    options: &WorkerOptions,
) -> Result<(Process, ImplInfo), PluginError> {
    let worker_failed = |message: String| PluginError::Loading {
        path: path.to_path_buf(),
        message,
    };
    let mut p = Process::spawn_worker(&options.exe, env).map_err(|e| {
        worker_failed(format!(
            "cannot start the worker process {}: {e}",
            options.exe.display()
        ))
    })?;
    if let Err(e) = p.limit_memory(options.memory_limit) {
        p.kill_and_reap(Duration::ZERO);
        return Err(worker_failed(format!(
            "cannot limit the worker's memory: {e}"
        )));
    }
    let hello = wire::encode_hello(&wire::Hello {
        plugin: path.to_path_buf(),
        settings: settings.clone(),
        progress: options.progress(),
        timeout: options.timeout,
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
        return Err(failed_while(
            &mut p,
            format!("did not take its hello ({})", send_error_words(&e)),
        ));
    }
    let payload = match p.recv(deadline) {
        Ok(payload) => payload,
        Err(RecvError::Timeout) => {
            return Err(failed_while(
                &mut p,
                format!(
                    "did not finish loading the plugin (its constructors, entry point and create) within {}",
                    human(MIN_LOAD_TIMEOUT.max(options.timeout))
                ),
            ));
        }
        Err(e) => {
            return Err(failed_while(
                &mut p,
                format!(
                    "ended while loading the plugin, in its constructors, entry point or create ({})",
                    recv_error_words(&e)
                ),
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
                // A closed stderr drops it (eprint! would panic).
                let newline = if said.ends_with('\n') { "" } else { "\n" };
                let _ = write!(std::io::stderr(), "{said}{newline}");
            }
            Err(e)
        }
        Err(e) => Err(failed_while(&mut p, format!("sent a bad hello ({e})"))),
    }
}

fn send_error_words(e: &SendError) -> String {
    match e {
        SendError::Timeout => "timeout".into(),
        SendError::Closed => "it closed its stdin".into(),
        SendError::Io(e) => e.to_string(),
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
