//! `wim extract` and `wim put` as plans: copy one file out of an image to a local file, or
//! store a local file in an image and read it back after the commit.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::{CommitMode, Wim};
use crate::progress::Progress;

/// Errors of [`extract`] and [`put`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The WIM.
    #[error(transparent)]
    Wim(#[from] super::Error),
    /// The local file cannot be read.
    #[error("{}: cannot read", path.display())]
    Read {
        /// The local file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The output file cannot be written.
    #[error("{}", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Staging the file for the image failed.
    #[error(transparent)]
    Stage(std::io::Error),
    /// The file read back from the committed WIM differs.
    #[error("{}: verification failed: {inner} differs after commit", written.display())]
    NotVerified {
        /// The WIM written.
        written: PathBuf,
        /// The path inside the image.
        inner: String,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Wim(e) => e.hint(),
            _ => None,
        }
    }
}

/// Everything `wim extract` needs (to a file).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtractPlan {
    /// The WIM.
    pub wim: PathBuf,
    /// Image index.
    pub index: u32,
    /// Path inside the image.
    pub inner: String,
    /// The local file to write.
    pub output: PathBuf,
}

/// Copies the file out of the image, atomically; returns its size.
pub fn extract(plan: &ExtractPlan) -> Result<u64, Error> {
    let bytes = Wim::open(&plan.wim)?.read_file(plan.index, &plan.inner)?;
    crate::fsutil::write_atomic(&plan.output, &bytes).map_err(|source| Error::Write {
        path: plan.output.clone(),
        source,
    })?;
    Ok(bytes.len() as u64)
}

/// Everything `wim put` needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PutPlan {
    /// The WIM.
    pub wim: PathBuf,
    /// The local file to store.
    pub local: PathBuf,
    /// Destination path inside the image.
    pub inner: String,
    /// Image index.
    pub index: u32,
    /// How the WIM is written.
    pub commit: CommitMode,
}

/// Stores the file in the image, commits, and reads it back; returns the WIM written.
pub fn put(plan: &PutPlan, progress: Rc<dyn Progress>) -> Result<PathBuf, Error> {
    let bytes = std::fs::read(&plan.local).map_err(|source| Error::Read {
        path: plan.local.clone(),
        source,
    })?;
    let mut w = open_for(&plan.wim, &plan.commit)?;
    let mut tmp = tempfile::NamedTempFile::new().map_err(Error::Stage)?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(Error::Stage)?;
    w.replace_file(plan.index, &plan.inner, tmp.into_temp_path())?;
    w.set_progress(progress);
    let written = w.commit(plan.commit.clone())?;
    // Re-read what was written before reporting success.
    let check = Wim::open(&written)?.read_file(plan.index, &plan.inner)?;
    if check != bytes {
        return Err(Error::NotVerified {
            written,
            inner: plan.inner.clone(),
        });
    }
    Ok(written)
}

/// Opens the WIM for `mode`: writable unless writing elsewhere.
pub fn open_for(path: &Path, mode: &CommitMode) -> Result<Wim, super::Error> {
    if matches!(mode, CommitMode::Output(_)) {
        Wim::open(path)
    } else {
        Wim::open_writable(path)
    }
}
