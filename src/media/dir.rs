//! The folder container: the media tree written as plain files (for copying to a stick by hand
//! or to PXE tooling), with the same checks as the ISO and USB writers
//! (`shared/specs/boot-media.md` §1: case-insensitive names).
#![warn(clippy::indexing_slicing, clippy::cast_possible_truncation)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::container::{ContainerError, Layout, LayoutDir, copy_source};
use super::tree::MediaTree;
use crate::progress::Progress;

/// What [`write_dir`] produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DirSummary {
    /// The folder written.
    pub path: PathBuf,
    /// Number of files.
    pub files: usize,
    /// Sum of the file sizes.
    pub bytes: u64,
}

fn mtime(t: i64) -> SystemTime {
    if t >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(t.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(t.unsigned_abs())
    }
}

fn write_level(
    dir: &LayoutDir<'_>,
    at: &Path,
    time: SystemTime,
    progress: &dyn Progress,
) -> Result<usize, ContainerError> {
    let mut n = 0;
    for f in dir.files.values() {
        let p = at.join(&f.name);
        let mut file = std::fs::File::create(&p).map_err(ContainerError::io(&p))?;
        copy_source(f, &mut file, &p, progress)?;
        file.set_modified(time).map_err(ContainerError::io(&p))?;
        // Read back the size the file system recorded.
        let len = std::fs::metadata(&p).map_err(ContainerError::io(&p))?.len();
        if len != f.size {
            return Err(ContainerError::Internal {
                path: p,
                what: format!("{len} bytes on disk, {} written", f.size),
            });
        }
        n += 1;
    }
    for d in dir.dirs.values() {
        let p = at.join(&d.name);
        std::fs::create_dir(&p).map_err(ContainerError::io(&p))?;
        n += write_level(d, &p, time, progress)?;
        let handle = std::fs::File::open(&p).map_err(ContainerError::io(&p))?;
        handle.set_modified(time).map_err(ContainerError::io(&p))?;
    }
    Ok(n)
}

/// Writes `tree` into the folder `out_dir`, atomically: everything goes into a temporary folder
/// next to `out_dir`, which is renamed into place only when complete. `out_dir` must not exist
/// or be an empty folder (a non-empty one is refused rather than merged or overwritten). File
/// and folder modification times are `tree.mtime`, so two runs give identical trees.
pub fn write_dir(
    tree: &MediaTree,
    out_dir: &Path,
    progress: &dyn Progress,
) -> Result<DirSummary, ContainerError> {
    let layout = Layout::plan(tree)?;
    if out_dir.exists() {
        let empty = std::fs::read_dir(out_dir)
            .map(|mut rd| rd.next().is_none())
            .unwrap_or(false);
        if !out_dir.is_dir() || !empty {
            return Err(ContainerError::BadTarget {
                path: out_dir.to_path_buf(),
                reason: "exists and is not an empty folder; remove it or choose another output",
            });
        }
    }
    let parent = out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".peforge-")
        .suffix(".tmp")
        .tempdir_in(parent)
        .map_err(ContainerError::io(out_dir))?;
    let time = mtime(tree.mtime);
    progress.start("writing folder", Some(layout.total_bytes));
    let files = write_level(&layout.root, tmp.path(), time, progress)?;
    progress.finish();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(ContainerError::io(tmp.path()))?;
        let handle = std::fs::File::open(tmp.path()).map_err(ContainerError::io(tmp.path()))?;
        handle
            .set_modified(time)
            .map_err(ContainerError::io(tmp.path()))?;
    }
    if out_dir.exists() {
        std::fs::remove_dir(out_dir).map_err(ContainerError::io(out_dir))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, out_dir).map_err(|source| {
        let _ = std::fs::remove_dir_all(&kept);
        ContainerError::Io {
            path: out_dir.to_path_buf(),
            source,
        }
    })?;
    Ok(DirSummary {
        path: out_dir.to_path_buf(),
        files,
        bytes: layout.total_bytes,
    })
}
