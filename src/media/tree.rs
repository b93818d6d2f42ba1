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
