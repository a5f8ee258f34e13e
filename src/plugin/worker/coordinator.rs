//! The coordinator's face: [`WorkerImpl`], the [`Implementation`] the checks
//! call, which hands every call to the [`Pool`] of worker processes and
//! reports what the pool knows.
//!
//! It holds no logic of its own beyond encoding a call's items once: the
//! pool starts, lends and buries workers, `batch.rs` runs the items in
//! request frames and blames the culprit of a death.

use std::path::Path;

use crate::entitlement::Entitlement;
use crate::implementation::{CallFailure, FailureKind, GenerateFailure, ImplInfo, Implementation};
use crate::plugin::library::PluginError;
use crate::settings::Settings;
use crate::verdict::{Context, Validation};

use super::command::ProcessCommand;
use super::encoded::{Encoded, GenerateOp, ValidateOp};
use super::json;
use super::launch::launch;
use super::options::WorkerOptions;
use super::pool::{Pool, WorkerStats};
use super::target::Target;
use super::wire;

/// A plugin run in worker processes, or a process plugin.
pub struct WorkerImpl {
    info: ImplInfo,
    pool: Pool,
}

impl WorkerImpl {
    /// Starts one worker for the plugin at `path` with `settings` and waits
    /// for its hello. A plugin that cannot be loaded gives the same
    /// [`PluginError`] as an in-process load; a worker that cannot be
    /// started, or dies while loading the plugin, gives a
    /// [`PluginError::Loading`] that says so.
    pub fn spawn(
        path: &Path,
        settings: &Settings,
        options: WorkerOptions,
    ) -> Result<WorkerImpl, PluginError> {
        Self::spawn_in_env(path, settings, &Default::default(), options)
    }

    /// [`Self::spawn`], with `env` set over keycompat's environment in the
    /// worker processes (the ENV check's copies under other time zones and
    /// locales).
    pub fn spawn_in_env(
        path: &Path,
        settings: &Settings,
        env: &std::collections::BTreeMap<String, String>,
        options: WorkerOptions,
    ) -> Result<WorkerImpl, PluginError> {
        let target = Target::Library {
            plugin: path.to_path_buf(),
            settings: settings.clone(),
            env: env.clone(),
        };
        Self::start(target, options)
    }

    /// Starts one process of a process plugin (`plugins/PROTOCOL.md`) with
    /// `settings` in its hello, `env` over its configured environment, and
    /// waits for its ready. A plugin that cannot be started, or refuses or
    /// botches its hello, gives a [`PluginError::Process`] saying so.
    pub fn spawn_command(
        command: &ProcessCommand,
        settings: &Settings,
        env: &std::collections::BTreeMap<String, String>,
        options: WorkerOptions,
    ) -> Result<WorkerImpl, PluginError> {
        let target = Target::Command {
            command: command.clone(),
            settings: settings.clone(),
            env: env.clone(),
        };
        Self::start(target, options)
    }

    fn start(target: Target, options: WorkerOptions) -> Result<WorkerImpl, PluginError> {
        let options = WorkerOptions {
            workers: options.workers.max(1),
            ..options
        };
        let (process, info) = launch(&target, &options)?;
        let pool = Pool::new(target, &info.name, options, process);
        Ok(WorkerImpl { info, pool })
    }

    /// The options the workers run with.
    pub fn options(&self) -> &WorkerOptions {
        &self.pool.options
    }

    /// Process ids of the idle workers (busy ones are in use by a call).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.pool.idle_pids()
    }

    /// Restarts and unattributed deaths so far.
    pub fn stats(&self) -> WorkerStats {
        self.pool.stats()
    }
}

impl Implementation for WorkerImpl {
    fn info(&self) -> &ImplInfo {
        &self.info
    }

    fn take_batch_failures(&self) -> Vec<CallFailure> {
        self.pool.take_unattributed()
    }

    fn generate(&self, entitlement: &Entitlement) -> Result<String, GenerateFailure> {
        let mut answers = self.generate_batch(&[entitlement]);
        answers.pop().unwrap_or_else(|| {
            Err(GenerateFailure::Failed(CallFailure::new(
                FailureKind::Internal,
                "no answer (a bug)",
            )))
        })
    }

    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure> {
        let mut answers = self.validate_batch(&[(key, context)]);
        answers
            .pop()
            .unwrap_or_else(|| Err(CallFailure::new(FailureKind::Internal, "no answer (a bug)")))
    }

    fn generate_batch(
        &self,
        entitlements: &[&Entitlement],
    ) -> Vec<Result<String, GenerateFailure>> {
        let items = if self.pool.target.is_command() {
            Encoded::new_json(entitlements, |b, e| json::put_entitlement(b, e))
        } else {
            Encoded::new(entitlements, |b, e| wire::put_entitlement(b, e))
        };
        self.pool.run::<GenerateOp>(&items)
    }

    fn validate_batch(
        &self,
        requests: &[(&[u8], &Context)],
    ) -> Vec<Result<Validation, CallFailure>> {
        let items = if self.pool.target.is_command() {
            Encoded::new_json(requests, |b, (k, c)| json::put_validate_item(b, k, c))
        } else {
            Encoded::new(requests, |b, (k, c)| wire::put_validate_item(b, k, c))
        };
        self.pool.run::<ValidateOp>(&items)
    }

    fn fatal_error(&self) -> Option<String> {
        self.pool.fatal_message()
    }

    fn out_of_process(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for WorkerImpl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerImpl")
            .field("info", &self.info)
            .field("options", &self.pool.options)
            .finish_non_exhaustive()
    }
}
