//! Every way a command fails, and the one exhaustive mapping from a failure
//! to its documented exit code ([`crate::exit`]). A command that reaches a
//! judged result (a run, a merge) takes its code from the result instead
//! (`run::result_code`): that is how a run a system gave up in exits 3
//! after its reports are written.

use crate::config::ConfigError;
use crate::exit;
use crate::plugin;
use crate::system::OpenError;

/// Every way a command fails, each with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or input.
    #[error("{0}")]
    Usage(String),
    /// The config is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A system cannot be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A plugin cannot be loaded.
    #[error(transparent)]
    Plugin(#[from] plugin::PluginError),
    /// A plugin's call failed (crashed, hung, broke the ABI) where a command
    /// needed its answer.
    #[error(
        "{system} could not {what}: {failure}; hint: `keycompat plugin inspect` checks the plugin (a library or a command)"
    )]
    Call {
        /// The system.
        system: String,
        /// `generate` or `validate`.
        what: &'static str,
        /// What went wrong.
        failure: crate::implementation::CallFailure,
    },
    /// The run could not reach a verdict.
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    /// Shard reports cannot be merged.
    #[error(transparent)]
    Merge(#[from] crate::run::MergeError),
    /// Reading input or writing output failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl From<crate::run::ReplayError> for CliError {
    fn from(e: crate::run::ReplayError) -> Self {
        match e {
            crate::run::ReplayError::Run(e) => CliError::Run(e),
            e @ crate::run::ReplayError::NoSuchVector { .. } => CliError::Usage(e.to_string()),
        }
    }
}

impl From<crate::volume::MeasureError> for CliError {
    fn from(e: crate::volume::MeasureError) -> Self {
        match e {
            crate::volume::MeasureError::Open(e) => CliError::Open(e),
            e @ crate::volume::MeasureError::NotConfigured => CliError::Usage(e.to_string()),
        }
    }
}

impl CliError {
    /// The documented exit code: the one place that chooses it.
    pub fn exit_code(&self) -> i32 {
        use crate::run::RunError;
        match self {
            CliError::Usage(_) | CliError::Config(_) | CliError::Merge(_) | CliError::Io { .. } => {
                exit::USAGE
            }
            CliError::Open(e) | CliError::Run(RunError::Open(e)) => open_code(e),
            CliError::Plugin(_) | CliError::Call { .. } => exit::PLUGIN,
            CliError::Run(
                RunError::Vectors { .. } | RunError::Source(_) | RunError::SaveRegression { .. },
            ) => exit::USAGE,
        }
    }
}

/// A system that cannot be opened: the plugin's fault (3) or the user's (2).
fn open_code(e: &OpenError) -> i32 {
    match e {
        OpenError::Plugin(_) => exit::PLUGIN,
        OpenError::UnknownSystem { .. }
        | OpenError::Config(_)
        | OpenError::Builtin { .. }
        | OpenError::CannotGenerate { .. }
        | OpenError::CannotValidate { .. } => exit::USAGE,
    }
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
    let what = what.into();
    move |source| CliError::Io { what, source }
}
