//! An existing medium of any container kind — ISO 9660 image, USB disk image (MBR + FAT) or
//! folder — behind one reader, for `media inspect` and `media retarget`
//! (`shared/specs/boot-media.md` §1 and §3–§5).
#![warn(clippy::indexing_slicing, clippy::cast_possible_truncation)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::container::ContainerError;
use super::iso::{BootEntryInfo, IsoReader};
use super::tree::{FileSource, MediaTree};
use super::usb::UsbReader;

/// A file on a medium.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediumFile {
    /// `/`-separated path as the medium spells it.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

/// An opened medium.
#[derive(Debug)]
#[non_exhaustive]
pub enum Medium {
    /// An ISO 9660 image.
    Iso(IsoReader),
    /// A disk image with a FAT partition, or a bare FAT image.
    Usb(UsbReader),
    /// A folder.
    Dir {
        /// The folder.
        root: PathBuf,
        /// Its files (sorted), with the local path of each.
        files: Vec<(MediumFile, PathBuf)>,
    },
}

impl Medium {
    /// Opens `path`, telling the kind from its content: a folder, an ISO (ISO 9660 or UDF
    /// volume descriptors from sector 16), else a disk image.
    pub fn open(path: &Path) -> Result<Medium, ContainerError> {
        if path.is_dir() {
            let tree = MediaTree::from_dir(path)?;
            let mut files = Vec::with_capacity(tree.files.len());
            for (rel, src) in tree.files {
                if let FileSource::Local(local) = src {
                    let size = std::fs::metadata(&local)
                        .map_err(ContainerError::io(&local))?
                        .len();
                    files.push((MediumFile { path: rel, size }, local));
                }
            }
            return Ok(Medium::Dir {
                root: path.to_path_buf(),
                files,
            });
        }
        let mut f = std::fs::File::open(path).map_err(ContainerError::io(path))?;
        let mut head = vec![0u8; 24 * 2048];
        let n = read_up_to(&mut f, &mut head).map_err(ContainerError::io(path))?;
        // ISO 9660 descriptors or UDF's volume recognition sequence in sectors 16–23.
        let is_iso = (16..24).any(|i: usize| {
            head.get(i * 2048 + 1..i * 2048 + 6)
                .filter(|_| i * 2048 + 6 <= n)
                .is_some_and(|id| {
                    id == b"CD001" || super::iso::raw::VRS_IDS.iter().any(|v| v.as_slice() == id)
                })
        });
        if is_iso {
            Ok(Medium::Iso(IsoReader::open(path)?))
        } else {
            Ok(Medium::Usb(UsbReader::open(path)?))
        }
    }

    /// `iso`, `usb` or `dir`.
    pub fn kind(&self) -> &'static str {
        match self {
            Medium::Iso(_) => "iso",
            Medium::Usb(_) => "usb",
            Medium::Dir { .. } => "dir",
        }
    }

    /// The medium's path.
    pub fn path(&self) -> &Path {
        match self {
            Medium::Iso(r) => r.path(),
            Medium::Usb(r) => r.path(),
            Medium::Dir { root, .. } => root,
        }
    }

    /// Volume label (empty for a folder).
    pub fn label(&self) -> String {
        match self {
            Medium::Iso(r) => r.label().to_string(),
            Medium::Usb(r) => r.label(),
            Medium::Dir { .. } => String::new(),
        }
    }

    /// Every file, sorted by path.
    pub fn files(&self) -> Result<Vec<MediumFile>, ContainerError> {
        Ok(match self {
            Medium::Iso(r) => r
                .files()
                .iter()
                .map(|f| MediumFile {
                    path: f.path.clone(),
                    size: f.size,
                })
                .collect(),
            Medium::Usb(r) => r
                .files()?
                .into_iter()
                .map(|f| MediumFile {
                    path: f.path,
                    size: f.size,
                })
                .collect(),
            Medium::Dir { files, .. } => files.iter().map(|(f, _)| f.clone()).collect(),
        })
    }

    /// El Torito boot entries (ISO only; empty otherwise).
    pub fn boot_entries(&self) -> Result<Vec<BootEntryInfo>, ContainerError> {
        match self {
            Medium::Iso(r) => r.boot_entries(),
            _ => Ok(Vec::new()),
        }
    }

    /// Streams a file (path case-insensitive, `/` or `\`) into `out`.
    pub fn copy_to(&self, path: &str, out: &mut dyn Write) -> Result<u64, ContainerError> {
        match self {
            Medium::Iso(r) => r.copy_to(path, out),
            Medium::Usb(r) => r.copy_to(path, out),
            Medium::Dir { root, files } => {
                let want = path
                    .replace('\\', "/")
                    .trim_start_matches('/')
                    .to_uppercase();
                let (_, local) = files
                    .iter()
                    .find(|(f, _)| f.path.to_uppercase() == want)
                    .ok_or_else(|| ContainerError::NotFound {
                        medium: root.clone(),
                        path: path.to_string(),
                    })?;
                let mut f = std::fs::File::open(local).map_err(ContainerError::io(local))?;
                std::io::copy(&mut f, out).map_err(ContainerError::io(local))
            }
        }
    }

    /// Reads a whole file into memory.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ContainerError> {
        let mut v = Vec::new();
        self.copy_to(path, &mut v)?;
        Ok(v)
    }
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let k = f.read(buf.get_mut(n..).unwrap_or_default())?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}
