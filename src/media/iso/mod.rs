//! ISO 9660 images with Joliet names and an El Torito boot catalog (ECMA-119; Joliet
//! Specification 1995; El Torito 1.0 with the UEFI platform ID 0xEF), as described in
//! `shared/specs/boot-media.md` §3.
//!
//! - [`write()`] lays a [`MediaTree`](super::MediaTree) out as an ISO: plan first (every volume
//!   descriptor, path table, directory, the boot catalog and every file get their sector), then
//!   stream the contents in sector order. Memory stays flat whatever the size of `boot.wim`, and
//!   the output depends only on the tree (sorted names, every timestamp from `tree.mtime`), so two
//!   builds of the same tree are byte-identical.
//! - [`IsoReader`] lists files, reads them and decodes the boot catalog of an existing ISO, for
//!   `media inspect` and `media retarget`: names come from Joliet (peforge, xorriso, oscdimg
//!   `-j1`), else from UDF 1.02–2.01 (oscdimg `-u1`/`-u2`, genisoimage `-udf`), else from the
//!   primary hierarchy.
//!
//! Limits: ISO level 1 names (8.3, upper case) in the primary hierarchy — Windows and Linux read
//! the Joliet hierarchy, which keeps the real names (at most 64 UCS-2 characters). Files of
//! 4 GiB or more are refused rather than written as ISO level 3 multi-extent files: `boot.wim`
//! must stay one file below that size for the USB image anyway (FAT32), and one rule for both
//! containers is simpler to explain. The reader does understand multi-extent files written by
//! other tools.
#![warn(clippy::indexing_slicing, clippy::cast_possible_truncation)]

pub mod raw;
mod read;
mod udf;
mod write;

pub use read::{IsoFile, IsoFileSystem, IsoReader};
pub use write::{IsoSummary, write};

/// One El Torito boot entry, as written or as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BootEntryInfo {
    /// Platform ID: 0x00 x86 BIOS, 0xEF UEFI.
    pub platform: u8,
    /// Boot indicator 0x88 (the firmware may boot this entry).
    pub bootable: bool,
    /// Media type (0 = no emulation).
    pub media_type: u8,
    /// Load segment (0 = the default 0x07C0).
    pub load_segment: u16,
    /// Number of 512-byte virtual sectors the firmware loads (8 for `etfsboot.com`).
    pub sector_count: u16,
    /// Absolute sector (2048 bytes) of the boot image.
    pub load_rba: u32,
    /// The file of the image at that sector, when a directory entry points there.
    pub image: Option<String>,
}

impl BootEntryInfo {
    /// `BIOS`, `UEFI` or the platform ID in hex, for reports.
    pub fn platform_name(&self) -> String {
        match self.platform {
            raw::PLATFORM_BIOS => "BIOS".into(),
            raw::PLATFORM_EFI => "UEFI".into(),
            p => format!("0x{p:02X}"),
        }
    }
}
