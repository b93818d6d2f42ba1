//! File output helpers: every file peforge produces is written to a temporary file next to the
//! target and renamed into place, so an error never leaves a half-written output.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A temporary file next to a target, under a [`crate::workdir::Claim`] on its folder: if the
/// run dies before [`TempNextTo::persist`], the next peforge run writing in that folder removes
/// it.
#[derive(Debug)]
pub struct TempNextTo {
    file: tempfile::NamedTempFile,
    _claim: crate::workdir::Claim,
}

impl TempNextTo {
    /// The open file.
    pub fn as_file(&self) -> &std::fs::File {
        self.file.as_file()
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Renames it onto `target` (atomic: same folder); the claim ends.
    pub fn persist(self, target: &Path) -> Result<std::fs::File, tempfile::PersistError> {
        self.file.persist(target)
    }
}

/// Creates a temporary file in the directory of `target` (same file system, so the final rename
/// is atomic), owned by a claim on that folder.
pub fn temp_next_to(target: &Path) -> std::io::Result<TempNextTo> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let claim = crate::workdir::Claim::new(dir, "temporary file")?;
    let file = claim.temp_file(".tmp")?;
    Ok(TempNextTo {
        file,
        _claim: claim,
    })
}

/// Writes `bytes` to `target` atomically.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    write_claimed(target, bytes, None)
}

/// Writes `bytes` to `target` atomically with mode 0600 (for files that hold secrets).
pub fn write_atomic_private(target: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    write_claimed(target, bytes, Some(std::fs::Permissions::from_mode(0o600)))
}

/// The temporary file belongs to a [`crate::workdir::Claim`], so a run killed while writing
/// leaves nothing the next run does not remove.
fn write_claimed(
    target: &Path,
    bytes: &[u8],
    mode: Option<std::fs::Permissions>,
) -> std::io::Result<PathBuf> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let claim = crate::workdir::Claim::new(dir, "write")?;
    let mut tmp = claim.temp_file(".tmp")?;
    if let Some(mode) = mode {
        tmp.as_file().set_permissions(mode)?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    drop(claim);
    Ok(target.to_path_buf())
}

/// SHA-256 of a file, streamed, as lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}
