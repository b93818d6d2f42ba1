//! Editing a registry hive that lives inside a WIM image: extract it to a private temporary
//! directory, open it with hivex, and stage the edited file back into the image. Nothing reaches
//! the WIM until the caller commits the [`Wim`].

use std::path::PathBuf;

use super::{Error as WimError, Wim};
use crate::registry::hive::{self, Hive};

/// Errors of offline hive editing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The image does not contain the hive.
    #[error("{wim}: image {index} has no {hive}")]
    NoHive {
        /// The WIM path.
        wim: PathBuf,
        /// The image index.
        index: u32,
        /// The hive path inside the image.
        hive: String,
    },
    /// A WIM error.
    #[error(transparent)]
    Wim(#[from] WimError),
    /// A hive error (corrupt, dirty...). The path named is the extracted copy's; the CLI says
    /// which image it came from.
    #[error("{inner} in image {index}: {source}")]
    Hive {
        /// The hive path inside the image.
        inner: String,
        /// The image index.
        index: u32,
        /// The hive error.
        source: hive::Error,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoHive { .. } => {
                Some("pick the WinPE image with --index (see `peforge wim info`)".into())
            }
            Error::Wim(e) => e.hint(),
            Error::Hive { source, .. } => source.hint(),
        }
    }
}

/// A hive extracted from an image, open with hivex.
#[derive(Debug)]
pub struct ExtractedHive {
    /// The open hive.
    pub hive: Hive,
    /// Image index it came from.
    pub index: u32,
    /// Path inside the image.
    pub inner: String,
    local: PathBuf,
    _dir: tempfile::TempDir,
}

/// Extracts the hive `inner` (e.g. [`super::SOFTWARE_HIVE`]) of image `index` and opens it;
/// `writable` refuses a dirty hive.
pub fn open_hive(
    wim: &Wim,
    index: u32,
    inner: &str,
    writable: bool,
) -> Result<ExtractedHive, Error> {
    let entry = wim.stat(index, inner)?;
    let Some(entry) = entry.filter(|e| !e.is_dir) else {
        return Err(Error::NoHive {
            wim: wim.path().into(),
            index,
            hive: super::normalize(inner),
        });
    };
    let dir = tempfile::tempdir().map_err(|source| WimError::Io {
        path: wim.path().into(),
        source,
    })?;
    let local = wim.extract_to(index, &entry.path, dir.path())?;
    let wrap = |source| Error::Hive {
        inner: super::normalize(inner),
        index,
        source,
    };
    let hive = if writable {
        Hive::open_writable(&local)
    } else {
        Hive::open(&local)
    }
    .map_err(wrap)?;
    Ok(ExtractedHive {
        hive,
        index,
        inner: entry.path,
        local,
        _dir: dir,
    })
}

impl ExtractedHive {
    /// Writes the edited hive and stages it into `wim` at its original path.
    pub fn stage(self, wim: &mut Wim) -> Result<(), Error> {
        let ExtractedHive {
            hive,
            index,
            inner,
            local,
            _dir,
        } = self;
        let wrap = |source| Error::Hive {
            inner: super::normalize(&inner),
            index,
            source,
        };
        let written = hive.commit(Some(&local)).map_err(wrap)?;
        // Move the file out of the temporary directory into a TempPath owned by the WIM's
        // staging list, which outlives this directory until the commit.
        let staged = tempfile::NamedTempFile::new()
            .map_err(|source| WimError::Io {
                path: wim.path().into(),
                source,
            })?
            .into_temp_path();
        std::fs::copy(&written, &staged).map_err(|source| WimError::Io {
            path: written.clone(),
            source,
        })?;
        wim.replace_file(index, &inner, staged)?;
        Ok(())
    }
}
