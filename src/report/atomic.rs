//! Atomic file replacement: a reader (a CI artifact upload, a browser, a
//! `keycompat merge`) sees the old file or the new one, never half of one,
//! even when the run is killed mid-write.
//!
//! The text goes to a fresh temporary file in the target's directory (a
//! rename is only atomic within one file system), is flushed to disk, and is
//! renamed over the target; the directory is then synced so the rename itself
//! survives a power loss. A crash can leave a stray `.NAME.PID.N.tmp`, never
//! a truncated `NAME`.
//!
//! Files that belong together (the four reports of one run) are replaced as
//! a set ([`write_set`]): no rename makes several files atomic, so the old
//! ones are all removed before the first new one is renamed in. A reader may
//! then find some of the set missing, but never a file of the previous run
//! beside one of this run, which would be read as this run's.

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

/// Replaces the files of a set, each `(path, bytes)`, so that no file of
/// the set it replaces is ever found beside one of it: every new text is
/// staged first (a synced temporary sibling), then every old file is
/// removed, then the new ones are renamed in, in order. An error leaves no
/// temporary file; one after the first removal leaves part of the old set
/// or part of the new one (named in the error), never both.
pub fn write_set(files: &[(&Path, &[u8])]) -> Result<(), ReportError> {
    let mut staged: Vec<PathBuf> = Vec::with_capacity(files.len());
    let clean = |staged: &[PathBuf]| {
        for tmp in staged {
            // Best effort: the error that matters is the one returned.
            let _ = std::fs::remove_file(tmp);
        }
    };
    for (path, bytes) in files {
        let tmp = temp_path(path);
        if let Err(e) = write_synced(&tmp, bytes) {
            let _ = std::fs::remove_file(&tmp);
            clean(&staged);
            return Err(e);
        }
        staged.push(tmp);
    }
    for (path, _) in files {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                clean(&staged);
                return Err(io_error(path)(e));
            }
        }
    }
    for (i, ((path, _), tmp)) in files.iter().zip(&staged).enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            clean(&staged[i..]);
            return Err(io_error(path)(e));
        }
    }
    for (path, _) in files {
        sync_dir(path)?;
    }
    Ok(())
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
    fn a_set_replaces_every_file_and_leaves_no_file_of_the_old_set() {
        let dir = std::env::temp_dir().join(format!("kc-atomic-set-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (a, b) = (dir.join("a.json"), dir.join("b.md"));
        std::fs::write(&a, "old a").expect("old a");
        std::fs::write(&b, "old b").expect("old b");
        write_set(&[(&a, b"new a"), (&b, b"new b")]).expect("write the set");
        assert_eq!(std::fs::read(&a).expect("a"), b"new a");
        assert_eq!(std::fs::read(&b).expect("b"), b"new b");
        // A set that cannot be written in full leaves the old files and no
        // temporary behind: a staging error comes before any removal.
        let blocked = dir.join("missing-dir").join("c.xml");
        let err = write_set(&[(&a, b"newer a"), (&blocked, b"c")]).expect_err("no such directory");
        assert!(err.to_string().contains("missing-dir"), "{err}");
        assert_eq!(std::fs::read(&a).expect("a"), b"new a");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.json", "b.md"]);
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
