//! The command line of a process plugin, and how it is started.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to start a process plugin: `[systems.NAME] command = [...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessCommand {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// Variables added to keycompat's own environment.
    pub env: BTreeMap<String, String>,
}

impl ProcessCommand {
    /// A command run in `cwd` with keycompat's environment.
    pub fn new(argv: Vec<String>, cwd: PathBuf) -> Self {
        ProcessCommand {
            argv,
            cwd,
            env: BTreeMap::new(),
        }
    }

    /// The command line as one string, for messages.
    pub fn display(&self) -> String {
        self.argv.join(" ")
    }

    /// The file the command runs, for its SHA-256: the first argument after
    /// the program that names a file (`validator.py`, `app.jar`), else the
    /// program itself when it is given as a path.
    pub fn file(&self) -> Option<PathBuf> {
        let resolve = |a: &str| {
            let p = Path::new(a);
            let p = if p.is_absolute() {
                p.to_path_buf()
            } else {
                self.cwd.join(p)
            };
            p.is_file().then_some(p)
        };
        self.argv
            .iter()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .find_map(|a| resolve(a))
            .or_else(|| {
                self.argv
                    .first()
                    .filter(|p| p.contains('/'))
                    .and_then(|p| resolve(p))
            })
    }

    /// The process to spawn, with `extra` variables over the configured ones.
    pub(super) fn command(&self, extra: &BTreeMap<String, String>) -> Command {
        let mut c = Command::new(&self.argv[0]);
        c.args(&self.argv[1..])
            .current_dir(&self.cwd)
            .envs(&self.env)
            .envs(extra);
        c
    }
}
