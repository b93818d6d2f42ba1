//! Raw FAT32 structures (Microsoft "FAT: General Overview of On-Disk Format", fatgen103, 2000)
//! that peforge reads or patches itself; the rest of the file system is written by the `fatfs`
//! crate.

use zerocopy::byteorder::{LittleEndian, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// FAT32 boot sector: BPB (fatgen103 §3.1) and the FAT32 extended BPB (§3.3), 90 bytes; boot
/// code and the 0x55 0xAA signature follow.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Fat32BootSector {
    /// `BS_jmpBoot`: x86 jump to the boot code (0xEB xx 0x90 or 0xE9 xx xx).
    pub jump: [u8; 3],
    /// `BS_OEMName`.
    pub oem_name: [u8; 8],
    /// `BPB_BytsPerSec`: 512, 1024, 2048 or 4096.
    pub bytes_per_sector: U16<LittleEndian>,
    /// `BPB_SecPerClus`: power of two.
    pub sectors_per_cluster: u8,
    /// `BPB_RsvdSecCnt`.
    pub reserved_sectors: U16<LittleEndian>,
    /// `BPB_NumFATs`.
    pub fats: u8,
    /// `BPB_RootEntCnt`: 0 on FAT32.
    pub root_entries: U16<LittleEndian>,
    /// `BPB_TotSec16`: 0 on FAT32.
    pub total_sectors_16: U16<LittleEndian>,
    /// `BPB_Media`.
    pub media: u8,
    /// `BPB_FATSz16`: 0 on FAT32.
    pub fat_size_16: U16<LittleEndian>,
    /// `BPB_SecPerTrk`.
    pub sectors_per_track: U16<LittleEndian>,
    /// `BPB_NumHeads`.
    pub heads: U16<LittleEndian>,
    /// `BPB_HiddSec`: sectors before this volume on the disk (the partition's start LBA).
    pub hidden_sectors: U32<LittleEndian>,
    /// `BPB_TotSec32`.
    pub total_sectors_32: U32<LittleEndian>,
    /// `BPB_FATSz32`: sectors per FAT.
    pub fat_size_32: U32<LittleEndian>,
    /// `BPB_ExtFlags`.
    pub ext_flags: U16<LittleEndian>,
    /// `BPB_FSVer`.
    pub fs_version: U16<LittleEndian>,
    /// `BPB_RootClus`: first cluster of the root directory.
    pub root_cluster: U32<LittleEndian>,
    /// `BPB_FSInfo`.
    pub fs_info_sector: U16<LittleEndian>,
    /// `BPB_BkBootSec`: sector of the backup boot sector (6).
    pub backup_boot_sector: U16<LittleEndian>,
    /// `BPB_Reserved`.
    pub reserved: [u8; 12],
    /// `BS_DrvNum`.
    pub drive_number: u8,
    /// `BS_Reserved1`.
    pub reserved1: u8,
    /// `BS_BootSig`: 0x29 when the next three fields are present.
    pub boot_signature: u8,
    /// `BS_VolID`: volume serial number.
    pub volume_id: U32<LittleEndian>,
    /// `BS_VolLab`.
    pub volume_label: [u8; 11],
    /// `BS_FilSysType`: `FAT32   ` (informational).
    pub fs_type: [u8; 8],
}

/// Offset of the 0x55 0xAA signature in a boot sector (fatgen103 §3.1, and the MBR).
pub const SIGNATURE_OFFSET: usize = 510;

/// A short directory entry (fatgen103 §6), here only used for the volume label entry.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DirEntry {
    /// `DIR_Name`: 11 bytes, space padded.
    pub name: [u8; 11],
    /// `DIR_Attr`.
    pub attr: u8,
    /// `DIR_NTRes`.
    pub nt_reserved: u8,
    /// `DIR_CrtTimeTenth`.
    pub create_tenth: u8,
    /// `DIR_CrtTime`.
    pub create_time: U16<LittleEndian>,
    /// `DIR_CrtDate`.
    pub create_date: U16<LittleEndian>,
    /// `DIR_LstAccDate`.
    pub access_date: U16<LittleEndian>,
    /// `DIR_FstClusHI`.
    pub cluster_high: U16<LittleEndian>,
    /// `DIR_WrtTime`.
    pub write_time: U16<LittleEndian>,
    /// `DIR_WrtDate`.
    pub write_date: U16<LittleEndian>,
    /// `DIR_FstClusLO`.
    pub cluster_low: U16<LittleEndian>,
    /// `DIR_FileSize`.
    pub size: U32<LittleEndian>,
}

/// `ATTR_VOLUME_ID` (fatgen103 §6).
pub const ATTR_VOLUME_ID: u8 = 0x08;
/// `ATTR_ARCHIVE` (fatgen103 §6).
pub const ATTR_ARCHIVE: u8 = 0x20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_offsets_match_fatgen103() {
        assert_eq!(size_of::<Fat32BootSector>(), 90);
        assert_eq!(size_of::<DirEntry>(), 32);
        assert_eq!(std::mem::offset_of!(Fat32BootSector, hidden_sectors), 0x1C);
        assert_eq!(std::mem::offset_of!(Fat32BootSector, volume_id), 0x43);
        assert_eq!(std::mem::offset_of!(Fat32BootSector, volume_label), 0x47);
    }
}
