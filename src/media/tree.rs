//! The file tree of a boot medium, independent of its container (ISO, USB image, folder).
//!
//! Paths use `/` separators and keep their case as given (e.g. `EFI/BOOT/BOOTX64.EFI`,
//! `sources/boot.wim`, `SMS/data/Variables.dat`); lookups by writers that need
//! case-insensitivity compare upper-cased. The writers in [`super`] lay the tree out in sorted
//! order so output is deterministic.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a file's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// A local file, streamed when the medium is written (large files such as boot.wim).
    Local(PathBuf),
    /// Content held in memory (small generated files such as TsmBootstrap.ini).
    Bytes(Vec<u8>),
}

/// El Torito boot images of an ISO, named by their path in the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootImages {
    /// BIOS no-emulation boot image (e.g. `boot/etfsboot.com`), platform 0x00, load size 8 × 512 B.
    pub bios: Option<String>,
    /// UEFI boot image (e.g. `efi/microsoft/boot/efisys_noprompt.bin`), platform 0xEF.
    pub uefi: Option<String>,
}

/// A medium's files plus what is needed to make it bootable.
#[derive(Debug, Clone, Default)]
pub struct MediaTree {
    /// Files by path (`/`-separated, no leading `/`). Directories are implied.
    pub files: BTreeMap<String, FileSource>,
    /// Volume label (ISO volume identifier, FAT volume label).
    pub label: String,
    /// El Torito entries for ISO output.
    pub boot: BootImages,
    /// Timestamp for every file and volume field, seconds since the Unix epoch (from
    /// `SOURCE_DATE_EPOCH` for reproducible builds).
    pub mtime: i64,
}

impl MediaTree {
    /// Adds or replaces a file.
    pub fn insert(&mut self, path: &str, source: FileSource) {
        self.files
            .insert(path.trim_start_matches('/').replace('\\', "/"), source);
    }
}

impl MediaTree {
    /// Builds a tree from a folder (an ADK `Media` folder, an extracted medium, a staged tree):
    /// every regular file under `root` becomes a [`FileSource::Local`] entry at its relative
    /// path. Symbolic links are followed; names that are not UTF-8 are refused. Label, boot
    /// images and mtime are left for the caller to set.
    pub fn from_dir(root: &std::path::Path) -> Result<MediaTree, super::ContainerError> {
        const MAX_DEPTH: usize = 64;
        let mut tree = MediaTree::default();
        let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
        while let Some((dir, prefix, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(super::ContainerError::TooDeep {
                    path: prefix,
                    depth,
                    limit: MAX_DEPTH,
                    format: "a media folder",
                });
            }
            let rd = std::fs::read_dir(&dir).map_err(super::ContainerError::io(&dir))?;
            for entry in rd {
                let entry = entry.map_err(super::ContainerError::io(&dir))?;
                let path = entry.path();
                let name = entry.file_name().into_string().map_err(|n| {
                    super::ContainerError::BadName {
                        path: format!("{prefix}{}", n.to_string_lossy()),
                        reason: "is not valid UTF-8",
                    }
                })?;
                let rel = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                let md = std::fs::metadata(&path).map_err(super::ContainerError::io(&path))?;
                if md.is_dir() {
                    stack.push((path, rel, depth + 1));
                } else if md.is_file() {
                    tree.files.insert(rel, FileSource::Local(path));
                }
            }
        }
        Ok(tree)
    }
}
