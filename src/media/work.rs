//! The work folder of a media run: a private folder next to the output where the run keeps its
//! staging files (extracted boot files, the new boot.wim, a template's files) and writes the
//! medium until it is verified. It is removed when the run ends (dropped), and by
//! [`remove_live_work_dirs`] from a signal handler, so a killed build leaves neither a
//! half-written medium nor copies of the boot image.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The work folders of the runs in progress, for [`remove_live_work_dirs`].
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A run's work folder (`.peforge-media-*` beside the output).
#[derive(Debug)]
pub struct WorkDir {
    dir: tempfile::TempDir,
}

impl WorkDir {
    /// Creates the work folder in the folder of `out` (same file system, so the final move of
    /// the medium is one rename).
    pub fn next_to(out: &Path) -> std::io::Result<WorkDir> {
        let dir = tempfile::Builder::new()
            .prefix(".peforge-media-")
            .tempdir_in(parent_of(out))?;
        if let Ok(mut live) = LIVE.lock() {
            live.push(dir.path().to_path_buf());
        }
        Ok(WorkDir { dir })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|p| p != self.dir.path());
        }
    }
}

/// Removes the work folders of every run in progress. For a Ctrl-C/SIGTERM handler that then
/// ends the process (destructors do not run then).
pub fn remove_live_work_dirs() {
    if let Ok(mut live) = LIVE.lock() {
        for p in live.drain(..) {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// The folder `out` is in (`.` for a bare name).
pub fn parent_of(out: &Path) -> PathBuf {
    out.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
