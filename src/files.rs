//! Saving files so that a crash, a kill or a full disk mid-save never leaves a truncated file: the bytes
//! go to a temporary file in the same folder, are flushed to disk, then renamed over the target (an
//! atomic step on every platform Bevy runs on). Readers see the old file or the new one, never half.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether a save may replace a file that is already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Replace {
    /// Replace it (an explicit save).
    Always,
    /// Keep it: the save does nothing and reports `Ok(false)` (an automatic save that must not
    /// overwrite a file someone wrote meanwhile).
    Never,
}

/// Writes `bytes` to `path` atomically. Returns whether the file was written (`false` only with
/// [`Replace::Never`] when the file exists). On error nothing is left behind and `path` is unchanged.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], replace: Replace) -> std::io::Result<bool> {
    let temp = temp_path(path)?;
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        match replace {
            Replace::Always => std::fs::rename(&temp, path).map(|()| true),
            // A hard link fails if the target exists: "create unless present" in one atomic step.
            Replace::Never => match std::fs::hard_link(&temp, path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            },
        }
    })();
    // After a rename the temporary name is gone; otherwise (error, link) it goes now.
    let _ = std::fs::remove_file(&temp);
    written
}

/// `.<name>.<pid>.<n>.tmp` beside `path`: same folder (so the rename stays on one file system), unique
/// per process and call.
fn temp_path(path: &Path) -> std::io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let temp = format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    Ok(path.with_file_name(temp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bth-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn replaces_or_keeps_as_asked_and_leaves_no_temporary_file() {
        let d = dir("replace");
        let f = d.join("rig.json");
        assert!(write_atomic(&f, b"old", Replace::Always).unwrap());
        assert!(!write_atomic(&f, b"auto", Replace::Never).unwrap());
        assert_eq!(std::fs::read(&f).unwrap(), b"old");
        assert!(write_atomic(&f, b"new", Replace::Always).unwrap());
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        let g = d.join("fresh.json");
        assert!(write_atomic(&g, b"auto", Replace::Never).unwrap());
        assert_eq!(std::fs::read(&g).unwrap(), b"auto");
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A folder that does not exist: an error, nothing written.
        assert!(write_atomic(&d.join("no/such/dir/x.json"), b"x", Replace::Always).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
