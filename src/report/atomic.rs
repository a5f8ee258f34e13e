//! Atomic file replacement: a reader (a CI artifact upload, a browser, a
//! `keycompat merge`) sees the old file or the new one, never half of one,
//! even when the run is killed mid-write.
//!
//! The text goes to a fresh temporary file in the target's directory (a
//! rename is only atomic within one file system), is flushed to disk, and is
//! renamed over the target; the directory is then synced so the rename itself
//! survives a power loss. A crash can leave a stray `.NAME.PID.N.tmp`, never
//! a truncated `NAME`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::ReportError;

/// Distinguishes temporary files of concurrent writes in one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The temporary sibling of `path`: hidden, unique to this process and call.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Replaces `path` with `bytes` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let tmp = temp_path(path);
    let result = write_synced(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_error(path)));
    if result.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    sync_dir(path)
}

fn write_synced(tmp: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(io_error(tmp))?;
    file.write_all(bytes).map_err(io_error(tmp))?;
    file.sync_all().map_err(io_error(tmp))
}

/// Syncs the directory holding `path`, so the rename is durable (Unix; a
/// no-op where directories cannot be opened).
fn sync_dir(path: &Path) -> Result<(), ReportError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = std::env::temp_dir().join(format!("kc-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let target = dir.join("report.md");
        write(&target, b"first").expect("write");
        write(&target, b"second").expect("rewrite");
        assert_eq!(std::fs::read(&target).expect("read"), b"second");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["report.md"]);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn a_failed_write_names_the_path() {
        let target = Path::new("/nonexistent-keycompat-dir/report.json");
        let err = write(target, b"x").expect_err("no such directory");
        assert!(
            err.to_string().contains("nonexistent-keycompat-dir"),
            "{err}"
        );
    }
}
