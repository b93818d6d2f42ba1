//! Raw on-disc structures of ISO 9660 (ECMA-119, 4th edition 2019), its Joliet supplementary
//! volume descriptor (Microsoft "Joliet Specification", 1995) and the El Torito bootable CD
//! format (Phoenix/IBM "El Torito" Bootable CD-ROM Format Specification 1.0, 1995).
//!
//! Definitions only: the writer (`write.rs`) fills them and the reader (`read.rs`) views them.
//! Every multi-byte field has an explicit byte order; ECMA-119's "both-byte orders" fields
//! (7.2.3, 7.3.3) are [`Both16`]/[`Both32`]: the little-endian copy then the big-endian copy.

use zerocopy::byteorder::{BigEndian, LittleEndian, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Logical sector (block) size used by every structure here (ECMA-119 6.1.2: 2048 bytes).
pub const SECTOR: u64 = 2048;
/// [`SECTOR`] as a buffer length.
pub const SECTOR_LEN: usize = 2048;
/// First sector of the volume descriptor set (ECMA-119 6.2.1: the system area is sectors 0–15).
pub const FIRST_DESCRIPTOR_LBA: u32 = 16;
/// Standard identifier of every volume descriptor (ECMA-119 8.1.2).
pub const STANDARD_ID: [u8; 5] = *b"CD001";

/// Identifiers of UDF's volume recognition sequence (ECMA-167 2/9.1, 3/9.1) that may sit
/// among the ISO 9660 descriptors of a UDF bridge image.
pub const VRS_IDS: [[u8; 5]; 6] = [
    *b"BEA01", *b"NSR02", *b"NSR03", *b"TEA01", *b"BOOT2", *b"CDW02",
];

/// Volume descriptor type: boot record (ECMA-119 8.2; El Torito 2.0).
pub const VD_BOOT_RECORD: u8 = 0;
/// Volume descriptor type: primary (ECMA-119 8.4).
pub const VD_PRIMARY: u8 = 1;
/// Volume descriptor type: supplementary, used by Joliet (ECMA-119 8.5).
pub const VD_SUPPLEMENTARY: u8 = 2;
/// Volume descriptor type: set terminator (ECMA-119 8.3).
pub const VD_TERMINATOR: u8 = 255;

/// Joliet escape sequence for UCS-2 level 3 (Joliet spec, "Escape Sequences": `%/E`).
pub const JOLIET_ESCAPE_LEVEL3: [u8; 3] = *b"%/E";
/// Joliet escape sequences for levels 1 and 2 (`%/@`, `%/C`), accepted when reading.
pub const JOLIET_ESCAPES: [[u8; 3]; 3] = [*b"%/@", *b"%/C", *b"%/E"];

/// Directory record file flag: directory (ECMA-119 9.1.6, bit 1).
pub const FLAG_DIRECTORY: u8 = 0x02;
/// Directory record file flag: not the final record of a multi-extent file (ECMA-119 9.1.6,
/// bit 7).
pub const FLAG_MULTI_EXTENT: u8 = 0x80;

/// El Torito boot system identifier of the boot record (El Torito 2.0, offset 7).
pub const EL_TORITO_ID: &[u8; 23] = b"EL TORITO SPECIFICATION";
/// Platform ID: 80x86 BIOS (El Torito 2.1; spec §3 table row 1).
pub const PLATFORM_BIOS: u8 = 0x00;
/// Platform ID: EFI (UEFI 2.x specification 13.3.2.1 extends El Torito's list).
pub const PLATFORM_EFI: u8 = 0xEF;
/// Validation entry header ID (El Torito 2.1).
pub const HEADER_VALIDATION: u8 = 0x01;
/// Section header: more headers follow (El Torito 2.3).
pub const HEADER_SECTION_MORE: u8 = 0x90;
/// Section header: final header (El Torito 2.3).
pub const HEADER_SECTION_FINAL: u8 = 0x91;
/// Boot indicator: bootable (El Torito 2.2/2.4).
pub const BOOTABLE: u8 = 0x88;
/// Boot indicator: not bootable (El Torito 2.2/2.4).
pub const NOT_BOOTABLE: u8 = 0x00;
/// Extension entry indicator (El Torito 2.5), skipped by readers.
pub const EXTENSION_ENTRY: u8 = 0x44;
/// Boot media type: no emulation (El Torito 2.2, bits 0–3 = 0).
pub const MEDIA_NO_EMULATION: u8 = 0x00;
/// Validation entry key bytes (El Torito 2.1, offsets 0x1E–0x1F).
pub const VALIDATION_KEY: [u8; 2] = [0x55, 0xAA];
/// Size of one boot catalog entry (El Torito 2.0).
pub const CATALOG_ENTRY: usize = 32;
/// Size of a virtual sector counted by El Torito's sector count fields (El Torito 2.2).
pub const VIRTUAL_SECTOR: u64 = 512;

/// A 16-bit field recorded in both byte orders (ECMA-119 7.2.3).
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Both16 {
    /// Little-endian copy.
    pub le: U16<LittleEndian>,
    /// Big-endian copy.
    pub be: U16<BigEndian>,
}

impl Both16 {
    /// Records `v` in both orders.
    pub fn new(v: u16) -> Both16 {
        Both16 {
            le: U16::new(v),
            be: U16::new(v),
        }
    }
    /// The value (the little-endian copy, which readers such as Linux trust).
    pub fn get(self) -> u16 {
        self.le.get()
    }
}

/// A 32-bit field recorded in both byte orders (ECMA-119 7.3.3).
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Both32 {
    /// Little-endian copy.
    pub le: U32<LittleEndian>,
    /// Big-endian copy.
    pub be: U32<BigEndian>,
}

impl Both32 {
    /// Records `v` in both orders.
    pub fn new(v: u32) -> Both32 {
        Both32 {
            le: U32::new(v),
            be: U32::new(v),
        }
    }
    /// The value (the little-endian copy).
    pub fn get(self) -> u32 {
        self.le.get()
    }
}

/// Date and time of a directory record (ECMA-119 9.1.5): years since 1900, month, day, hour,
/// minute, second, offset from GMT in 15-minute units.
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RecordDateTime {
    /// Years since 1900.
    pub year: u8,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59.
    pub second: u8,
    /// Offset from GMT in 15-minute intervals (signed).
    pub gmt_offset: u8,
}

/// Date and time of a volume descriptor (ECMA-119 8.4.26.1): 16 ASCII digits
/// `YYYYMMDDHHMMSScc` and an offset from GMT in 15-minute units. All digits `0` and offset 0
/// mean "not specified".
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DescriptorDateTime {
    /// `YYYYMMDDHHMMSScc` as ASCII digits.
    pub digits: [u8; 16],
    /// Offset from GMT in 15-minute intervals (signed).
    pub gmt_offset: u8,
}

impl DescriptorDateTime {
    /// The "not specified" value.
    pub const UNSPECIFIED: DescriptorDateTime = DescriptorDateTime {
        digits: *b"0000000000000000",
        gmt_offset: 0,
    };
}

/// Fixed part of a directory record (ECMA-119 9.1), 33 bytes; the file identifier (and a pad
/// byte when its length is even) follows.
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DirRecordHeader {
    /// Length of the whole record (9.1.1).
    pub length: u8,
    /// Extended attribute record length (9.1.2), 0 here.
    pub ext_attr_length: u8,
    /// First logical block of the extent (9.1.3).
    pub extent: Both32,
    /// Data length in bytes (9.1.4).
    pub data_length: Both32,
    /// Recording date and time (9.1.5).
    pub recorded: RecordDateTime,
    /// File flags (9.1.6).
    pub flags: u8,
    /// File unit size for interleaved files (9.1.7), 0.
    pub file_unit_size: u8,
    /// Interleave gap size (9.1.8), 0.
    pub interleave_gap: u8,
    /// Volume sequence number (9.1.9), 1.
    pub volume_sequence: Both16,
    /// Length of the file identifier (9.1.10).
    pub identifier_length: u8,
}

/// Size of [`DirRecordHeader`].
pub const DIR_RECORD_HEADER: usize = 33;
/// Size of the root directory record inside a volume descriptor (ECMA-119 8.4.18).
pub const ROOT_RECORD: usize = 34;

/// Fixed part of a path table record (ECMA-119 9.4), in one byte order; the directory
/// identifier (and a pad byte when its length is odd) follows.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct PathTableHeaderLe {
    /// Length of the directory identifier (9.4.1).
    pub identifier_length: u8,
    /// Extended attribute record length (9.4.2).
    pub ext_attr_length: u8,
    /// Extent location (9.4.3).
    pub extent: U32<LittleEndian>,
    /// Parent directory number, 1-based (9.4.4).
    pub parent: U16<LittleEndian>,
}

/// Big-endian ("Type M") path table record header (ECMA-119 9.4).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct PathTableHeaderBe {
    /// Length of the directory identifier (9.4.1).
    pub identifier_length: u8,
    /// Extended attribute record length (9.4.2).
    pub ext_attr_length: u8,
    /// Extent location (9.4.3).
    pub extent: U32<BigEndian>,
    /// Parent directory number, 1-based (9.4.4).
    pub parent: U16<BigEndian>,
}

/// Primary (ECMA-119 8.4) or supplementary/Joliet (8.5) volume descriptor, one sector.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct VolumeDescriptor {
    /// Volume descriptor type (8.4.1): 1 primary, 2 supplementary.
    pub descriptor_type: u8,
    /// `CD001` (8.4.2).
    pub standard_id: [u8; 5],
    /// Version 1 (8.4.3).
    pub version: u8,
    /// Unused (8.4.4) / volume flags (8.5.3).
    pub flags: u8,
    /// System identifier (8.4.5).
    pub system_id: [u8; 32],
    /// Volume identifier (8.4.6).
    pub volume_id: [u8; 32],
    /// Unused (8.4.7).
    pub unused1: [u8; 8],
    /// Volume space size in logical blocks (8.4.8).
    pub volume_space_size: Both32,
    /// Unused (8.4.9) / escape sequences (8.5.6).
    pub escape_sequences: [u8; 32],
    /// Volume set size (8.4.10).
    pub volume_set_size: Both16,
    /// Volume sequence number (8.4.11).
    pub volume_sequence_number: Both16,
    /// Logical block size (8.4.12).
    pub logical_block_size: Both16,
    /// Path table size in bytes (8.4.13).
    pub path_table_size: Both32,
    /// Location of the type L path table (8.4.14).
    pub l_path_table: U32<LittleEndian>,
    /// Location of the optional type L path table (8.4.15).
    pub l_path_table_opt: U32<LittleEndian>,
    /// Location of the type M path table (8.4.16).
    pub m_path_table: U32<BigEndian>,
    /// Location of the optional type M path table (8.4.17).
    pub m_path_table_opt: U32<BigEndian>,
    /// Root directory record (8.4.18).
    pub root_record: [u8; ROOT_RECORD],
    /// Volume set identifier (8.4.19).
    pub volume_set_id: [u8; 128],
    /// Publisher identifier (8.4.20).
    pub publisher_id: [u8; 128],
    /// Data preparer identifier (8.4.21).
    pub preparer_id: [u8; 128],
    /// Application identifier (8.4.22).
    pub application_id: [u8; 128],
    /// Copyright file identifier (8.4.23).
    pub copyright_file_id: [u8; 37],
    /// Abstract file identifier (8.4.24).
    pub abstract_file_id: [u8; 37],
    /// Bibliographic file identifier (8.4.25).
    pub bibliographic_file_id: [u8; 37],
    /// Volume creation date and time (8.4.26).
    pub creation: DescriptorDateTime,
    /// Volume modification date and time (8.4.27).
    pub modification: DescriptorDateTime,
    /// Volume expiration date and time (8.4.28).
    pub expiration: DescriptorDateTime,
    /// Volume effective date and time (8.4.29).
    pub effective: DescriptorDateTime,
    /// File structure version, 1 (8.4.30).
    pub file_structure_version: u8,
    /// Reserved (8.4.31).
    pub reserved1: u8,
    /// Application use (8.4.32).
    pub application_use: [u8; 512],
    /// Reserved (8.4.33).
    pub reserved2: [u8; 653],
}

/// El Torito boot record volume descriptor (El Torito 2.0), one sector.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct BootRecord {
    /// 0 (boot record).
    pub descriptor_type: u8,
    /// `CD001`.
    pub standard_id: [u8; 5],
    /// Version 1.
    pub version: u8,
    /// `EL TORITO SPECIFICATION` padded with zeros.
    pub boot_system_id: [u8; 32],
    /// Unused, zeros.
    pub boot_id: [u8; 32],
    /// Absolute sector of the boot catalog (offset 0x47).
    pub catalog_lba: U32<LittleEndian>,
    /// Unused, zeros.
    pub unused: [u8; 1973],
}

/// Boot catalog validation entry (El Torito 2.1).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ValidationEntry {
    /// 0x01.
    pub header_id: u8,
    /// Platform of the initial/default entry.
    pub platform: u8,
    /// Reserved.
    pub reserved: U16<LittleEndian>,
    /// Manufacturer/developer of the CD.
    pub id_string: [u8; 24],
    /// Makes the 16 little-endian words of the entry sum to 0.
    pub checksum: U16<LittleEndian>,
    /// 0x55 0xAA.
    pub key: [u8; 2],
}

/// Initial/default entry (El Torito 2.2) and section entry (El Torito 2.4): the same layout;
/// in the initial entry the selection-criteria bytes are unused zeros.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct BootEntry {
    /// 0x88 bootable, 0x00 not bootable.
    pub boot_indicator: u8,
    /// Boot media type (0 = no emulation).
    pub media_type: u8,
    /// Load segment; 0 means the traditional 0x07C0.
    pub load_segment: U16<LittleEndian>,
    /// System type (partition type byte of the image; 0 for no emulation).
    pub system_type: u8,
    /// Unused, 0.
    pub unused: u8,
    /// Number of 512-byte virtual sectors loaded by the BIOS.
    pub sector_count: U16<LittleEndian>,
    /// Absolute 2048-byte sector of the image.
    pub load_rba: U32<LittleEndian>,
    /// Selection criteria type (section entries only), 0 = none.
    pub selection_criteria: u8,
    /// Vendor unique selection criteria.
    pub vendor_criteria: [u8; 19],
}

/// Section header entry (El Torito 2.3).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct SectionHeader {
    /// 0x90 more headers follow, 0x91 final header.
    pub header_indicator: u8,
    /// Platform ID of the entries of this section.
    pub platform: u8,
    /// Number of section entries following this header.
    pub entries: U16<LittleEndian>,
    /// ID string identifying the section.
    pub id_string: [u8; 28],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_specs() {
        assert_eq!(size_of::<VolumeDescriptor>(), 2048);
        assert_eq!(size_of::<BootRecord>(), 2048);
        assert_eq!(size_of::<DirRecordHeader>(), DIR_RECORD_HEADER);
        assert_eq!(size_of::<PathTableHeaderLe>(), 8);
        assert_eq!(size_of::<PathTableHeaderBe>(), 8);
        assert_eq!(size_of::<ValidationEntry>(), CATALOG_ENTRY);
        assert_eq!(size_of::<BootEntry>(), CATALOG_ENTRY);
        assert_eq!(size_of::<SectionHeader>(), CATALOG_ENTRY);
        assert_eq!(size_of::<DescriptorDateTime>(), 17);
        // ECMA-119 8.4: the root directory record starts at byte 156, the creation date at 813.
        assert_eq!(std::mem::offset_of!(VolumeDescriptor, root_record), 156);
        assert_eq!(std::mem::offset_of!(VolumeDescriptor, creation), 813);
        assert_eq!(std::mem::offset_of!(VolumeDescriptor, escape_sequences), 88);
        assert_eq!(std::mem::offset_of!(BootRecord, catalog_lba), 0x47);
    }

    #[test]
    fn both_endian_layout() {
        use zerocopy::IntoBytes;
        assert_eq!(
            Both32::new(0x0102_0304).as_bytes(),
            &[4, 3, 2, 1, 1, 2, 3, 4]
        );
        assert_eq!(Both16::new(0x0102).as_bytes(), &[2, 1, 1, 2]);
    }
}
