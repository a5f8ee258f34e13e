//! The one interface every implementation of a key scheme presents to the
//! checks: builtins (pure Rust, in-process) and plugins (C ABI, in-process or
//! in a worker process) alike, so checks, tests and benches are generic over
//! where the code comes from.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::entitlement::Entitlement;
use crate::forgery::{Forgery, Pick};
use crate::verdict::{Context, Validation};

/// How an implementation failed to answer (as opposed to answering "no").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The implementation rejected its inputs as malformed (`KC_ERR_BAD_ARGUMENT`).
    BadArgument,
    /// The capability is not offered (`KC_ERR_UNSUPPORTED`).
    Unsupported,
    /// An internal error (`KC_ERR_INTERNAL`).
    Internal,
    /// A Rust panic caught at the boundary (`KC_ERR_PANIC`).
    Panic,
    /// Output that breaks the ABI: unknown status, absurd length, bad UTF-8, bad decode text.
    Protocol,
    /// The process running it died (signal or exit).
    Crash,
    /// The call did not return in time.
    Timeout,
}

impl FailureKind {
    /// Whether this failure is a `crash` finding (the implementation misbehaved)
    /// rather than a refusal of bad input.
    pub fn is_crash(self) -> bool {
        matches!(
            self,
            FailureKind::Panic | FailureKind::Protocol | FailureKind::Crash | FailureKind::Timeout
        )
    }
}

/// A failed call, with what the implementation or the host said.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct CallFailure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The message (the plugin's `last_error`, a signal name, ...).
    pub message: String,
}

impl CallFailure {
    /// A failure of `kind`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        CallFailure {
            kind,
            message: message.into(),
        }
    }
}

/// Why `generate` produced no key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum GenerateFailure {
    /// A declared refusal: the format cannot carry this entitlement.
    #[error("refused: {field}: {reason}")]
    Refused {
        /// The entitlement field that cannot be carried.
        field: String,
        /// Why.
        reason: String,
    },
    /// The call itself failed.
    #[error("{0}")]
    Failed(CallFailure),
}

impl GenerateFailure {
    /// A refusal from a `"<field>: <reason>"` message (`KC_REFUSED`); one
    /// that names no entitlement field breaks the ABI (a protocol failure).
    pub fn refused_from_message(message: &str) -> Self {
        let (field, reason) = message.split_once(": ").unwrap_or(("", message));
        GenerateFailure::refusal(field, reason).unwrap_or_else(|problem| {
            GenerateFailure::Failed(CallFailure::new(
                FailureKind::Protocol,
                format!(
                    "a refusal ({message:?}) {problem}; the ABI asks for \"<field>: <reason>\""
                ),
            ))
        })
    }

    /// A refusal of `field` (an entitlement field, or a part of one such as
    /// `customer.name`), or why it is not one.
    pub fn refusal(field: &str, reason: &str) -> Result<Self, String> {
        let top = field.split('.').next().unwrap_or_default();
        if !crate::entitlement::FIELDS.contains(&top) {
            return Err(format!(
                "that names no entitlement field ({field:?}; one of {})",
                crate::entitlement::FIELDS.join(", ")
            ));
        }
        if reason.trim().is_empty() {
            return Err("with no reason".into());
        }
        Ok(GenerateFailure::Refused {
            field: field.to_string(),
            reason: reason.to_string(),
        })
    }
}

/// Where an implementation comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// Compiled into keycompat.
    Builtin {
        /// The builtin's name, e.g. `acme-lk1`.
        scheme: String,
    },
    /// A shared library.
    Plugin {
        /// Absolute path.
        path: PathBuf,
        /// SHA-256 of the file, hex.
        sha256: String,
        /// ABI version the plugin declared, `major.minor`.
        abi: String,
        /// `KC_FLAG_*`.
        flags: u64,
    },
    /// A child process speaking the process protocol (`plugins/PROTOCOL.md`).
    Process {
        /// The command line (argv).
        command: Vec<String>,
        /// The script, jar or program file the command runs, when one of its
        /// arguments names a file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<PathBuf>,
        /// SHA-256 of that file, hex.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        /// The process protocol version spoken.
        protocol: u32,
        /// The key formats the plugin says it issues or reads.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        formats: Vec<String>,
    },
}

/// What the report prints about an implementation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImplInfo {
    /// The implementation's own name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Builtin, plugin or process plugin.
    pub origin: Origin,
    /// Whether it can generate keys.
    pub can_generate: bool,
    /// Whether it can validate keys.
    pub can_validate: bool,
}

impl Origin {
    /// Whether two systems run the same code (the same builtin, the same
    /// library file, the same script or command), whatever their settings:
    /// such systems are no independent witnesses of each other.
    pub fn same_code(&self, other: &Origin) -> bool {
        match (self, other) {
            (Origin::Builtin { scheme: a }, Origin::Builtin { scheme: b }) => a == b,
            (Origin::Plugin { sha256: a, .. }, Origin::Plugin { sha256: b, .. }) => a == b,
            (
                Origin::Process {
                    command: a,
                    sha256: ha,
                    ..
                },
                Origin::Process {
                    command: b,
                    sha256: hb,
                    ..
                },
            ) => match (ha, hb) {
                (Some(ha), Some(hb)) => ha == hb,
                _ => a == b,
            },
            _ => false,
        }
    }
}

impl fmt::Display for ImplInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Builtin { scheme } => {
                write!(f, "{} {} (builtin:{scheme})", self.name, self.version)
            }
            Origin::Plugin { path, sha256, .. } => write!(
                f,
                "{} {} ({}, sha256 {})",
                self.name,
                self.version,
                path.display(),
                sha256
            ),
            Origin::Process {
                command, sha256, ..
            } => {
                write!(
                    f,
                    "{} {} (command `{}`",
                    self.name,
                    self.version,
                    command.join(" ")
                )?;
                match sha256 {
                    Some(h) => write!(f, ", sha256 {h})"),
                    None => write!(f, ")"),
                }
            }
        }
    }
}

/// A key generator and/or validator.
pub trait Implementation: Send + Sync {
    /// Name, version, origin and capabilities.
    fn info(&self) -> &ImplInfo;

    /// Issues a key for a checked entitlement.
    fn generate(&self, entitlement: &Entitlement) -> Result<String, GenerateFailure>;

    /// Validates key bytes (any bytes: keys are untrusted) in a context.
    fn validate(&self, key: &[u8], context: &Context) -> Result<Validation, CallFailure>;

    /// Issues keys for many entitlements, answers in order. Implementations
    /// behind a process boundary override this to cross it once per batch.
    fn generate_batch(
        &self,
        entitlements: &[&Entitlement],
    ) -> Vec<Result<String, GenerateFailure>> {
        entitlements.iter().map(|e| self.generate(e)).collect()
    }

    /// A reason the implementation can no longer answer at all (e.g. a worker
    /// that crashed on every call and exhausted its restarts): the run stops
    /// with this message instead of reporting every later case as a crash.
    fn fatal_error(&self) -> Option<String> {
        None
    }

    /// Whether calls cross a process boundary (a worker process, a process
    /// plugin) and leave the calling thread waiting: the matrix then asks
    /// this system on a thread of its own, beside the others (see
    /// `fanout.rs`). Wrappers forward it.
    fn out_of_process(&self) -> bool {
        false
    }

    /// Failures of whole batch calls that no item reproduced alone, since
    /// the last call of this method, from any thread: every item got its
    /// real answer, yet the batch failed (a plugin that answers a batch
    /// with too few results, or crashes only after many items), and the
    /// run reports that too rather than drop it. Wrappers forward it.
    fn take_batch_failures(&self) -> Vec<CallFailure> {
        Vec::new()
    }

    /// Validates many keys, answers in order (see [`Self::generate_batch`]).
    fn validate_batch(
        &self,
        requests: &[(&[u8], &Context)],
    ) -> Vec<Result<Validation, CallFailure>> {
        requests.iter().map(|(k, c)| self.validate(k, c)).collect()
    }

    /// Forgeries of a genuine `key` (see [`crate::forgery`]): keys that
    /// carry, in place of one field of its payload, a value the format
    /// reserves, rules out or does not know, correctly MACed or signed with
    /// the secret this implementation holds, each with the verdict the
    /// format's specification requires. `pick` says which to make.
    ///
    /// TAMPER presents them with every case, and `keycompat vectors forge`
    /// writes them all as vectors, so that a validator accepting such a value
    /// is caught whichever value it is. Only an implementation that holds the
    /// secret can forge: the default is none, and plugins (the C ABI has no
    /// such call) offer none. A vendor's own Rust implementation of its
    /// format offers them by overriding this; it returns none for a key it
    /// did not authenticate itself (another format, another secret), lists
    /// its most telling forgery first (see [`Pick::Sample`]), and offers only
    /// forgeries whose verdict its specification decides.
    fn forgeries(&self, key: &str, pick: Pick) -> Vec<Forgery> {
        let _ = (key, pick);
        Vec::new()
    }
}
