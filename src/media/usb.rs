//! Raw USB disk images (`.img`): an MBR with one active FAT32 partition (type 0x0C, LBA) that
//! starts at 1 MiB and holds the media tree (`shared/specs/boot-media.md` §4). Users write the
//! image to a stick with `peforge media write` (or `dd`, Rufus, Etcher); UEFI firmware boots
//! `\EFI\BOOT\BOOTX64.EFI` from it, a BIOS runs peforge's MBR and FAT32 boot code
//! ([`super::boot`]), which load `\BOOTMGR`. The image is
//! sized to the tree (at least 48 MiB, FAT32's minimum cluster count needs ~33 MiB), written
//! sparse, and deterministic: the volume serial and disk signature are derived from the tree's
//! label, `mtime`, paths and sizes, so two builds of the same tree are byte-identical.
#![warn(clippy::indexing_slicing, clippy::cast_possible_truncation)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;
use zerocopy::byteorder::{LittleEndian, U16, U32};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::boot::{self, BiosBoot, BootCode};
use super::container::{ContainerError, Layout};
use super::fat::{self, FatFile, FatVolume, Slice, VolumeParams};
use super::tree::MediaTree;
use crate::progress::Progress;

/// Raw MBR definitions (the IBM PC partition table as documented in UEFI 2.10 §5.2.1 "Legacy
/// Master Boot Record").
pub mod raw {
    use super::*;

    /// One of the four primary partition records (UEFI 2.10 table 5.2).
    #[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    pub struct PartitionRecord {
        /// 0x80 = active (bootable), 0x00 = inactive.
        pub boot_indicator: u8,
        /// CHS address of the first sector (head, sector | cylinder high bits, cylinder low).
        pub start_chs: [u8; 3],
        /// Partition type (0x0C = FAT32 with LBA addressing).
        pub os_type: u8,
        /// CHS address of the last sector.
        pub end_chs: [u8; 3],
        /// First sector (LBA).
        pub starting_lba: U32<LittleEndian>,
        /// Size in sectors.
        pub size_in_lba: U32<LittleEndian>,
    }

    /// The Master Boot Record, sector 0 (UEFI 2.10 table 5.1).
    #[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    pub struct Mbr {
        /// x86 boot code ([`crate::media::boot::MBR_CODE`] in peforge's images).
        pub boot_code: [u8; 440],
        /// Unique MBR disk signature.
        pub disk_signature: U32<LittleEndian>,
        /// Unknown, 0.
        pub unknown: U16<LittleEndian>,
        /// The four partition records.
        pub partitions: [PartitionRecord; 4],
        /// 0x55 0xAA.
        pub signature: [u8; 2],
    }

    /// Active partition flag.
    pub const ACTIVE: u8 = 0x80;
    /// FAT32 with LBA addressing.
    pub const TYPE_FAT32_LBA: u8 = 0x0C;
    /// GPT protective partition: the disk is GPT, not MBR.
    pub const TYPE_GPT_PROTECTIVE: u8 = 0xEE;
    /// Partition types that hold a FAT file system.
    pub const FAT_TYPES: [u8; 7] = [0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E, 0xEF];
    /// Boot signature.
    pub const SIGNATURE: [u8; 2] = [0x55, 0xAA];
}

/// Sector size of the image.
const SECTOR: u64 = 512;
/// Partition start: 1 MiB (2048 sectors), the alignment Windows and modern tools use.
pub const PARTITION_START: u64 = 1 << 20;
/// Smallest partition written.
const MIN_PARTITION: u64 = 48 << 20;
/// Largest partition written: Windows' formatter and Microsoft's media script refuse FAT32
/// above 32 GB (boot-media.md §4).
const MAX_PARTITION: u64 = 32 << 30;

/// What [`write()`] produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UsbSummary {
    /// The image written.
    pub path: PathBuf,
    /// Image size in bytes.
    pub bytes: u64,
    /// Partition offset in bytes.
    pub partition_offset: u64,
    /// Partition size in bytes.
    pub partition_bytes: u64,
    /// FAT32 cluster size.
    pub cluster_bytes: u32,
    /// FAT volume serial number.
    pub volume_id: u32,
    /// FAT volume label.
    pub label: String,
    /// Number of files stored.
    pub files: usize,
}

fn chs(lba: u64) -> [u8; 3] {
    const HEADS: u64 = 255;
    const SECTORS: u64 = 63;
    let c = lba / (HEADS * SECTORS);
    if c > 1023 {
        return [0xFE, 0xFF, 0xFF];
    }
    let h = (lba / SECTORS) % HEADS;
    let s = lba % SECTORS + 1;
    let b = |v: u64| u8::try_from(v & 0xFF).unwrap_or(0);
    [b(h), b(s | ((c >> 2) & 0xC0)), b(c)]
}

/// Deterministic identity of a tree: label, mtime, every path and size.
fn tree_digest(tree: &MediaTree, layout: &Layout<'_>) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(b"peforge usb image\0");
    h.update(tree.label.as_bytes());
    h.update([0]);
    h.update(tree.mtime.to_le_bytes());
    for f in layout.files() {
        h.update(f.path.to_uppercase().as_bytes());
        h.update([0]);
        h.update(f.size.to_le_bytes());
    }
    h.finalize().into()
}

/// Writes `tree` as a raw disk image at `out`: MBR, one active FAT32 partition at 1 MiB.
///
/// The image goes to a temporary file next to `out`, is mounted again and compared with the
/// tree (every file present with its size) and only then renamed over `out`. Files of 4 GiB or
/// more are refused (FAT32), with the fix in the error's hint. `tree.boot` is not used: UEFI
/// boots `EFI/BOOT/BOOTX64.EFI` from the tree itself.
pub fn write(
    tree: &MediaTree,
    out: &Path,
    progress: &dyn Progress,
) -> Result<UsbSummary, ContainerError> {
    write_sized(tree, out, None, progress)
}

/// [`write()`] with the image's total size given (`Some`: the partition spans it, up to FAT32's
/// 32 GiB, e.g. a whole stick), else sized to the tree. The file is sparse either way.
pub fn write_sized(
    tree: &MediaTree,
    out: &Path,
    size: Option<u64>,
    progress: &dyn Progress,
) -> Result<UsbSummary, ContainerError> {
    if out.is_dir() {
        return Err(ContainerError::BadTarget {
            path: out.to_path_buf(),
            reason: "is a directory; give the image file name",
        });
    }
    let layout = Layout::plan(tree)?;
    fat::check_sizes(&layout)?;
    let (partition, sectors) = partition_size(&layout, size)?;
    let start = u32::try_from(PARTITION_START / SECTOR).unwrap_or(2048);
    let digest = tree_digest(tree, &layout);
    let volume_id = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
    // Never 0: BOOTMGR identifies its disk by the MBR signature (usb-boot.md §4).
    let disk_signature = u32::from_le_bytes([digest[4], digest[5], digest[6], digest[7]]).max(1);
    let label = fat::volume_label(&tree.label);
    let cluster = fat::cluster_size_for(partition);
    let total = PARTITION_START + partition;

    let tmp = crate::fsutil::temp_next_to(out).map_err(ContainerError::io(out))?;
    let mut file = tmp.as_file().try_clone().map_err(ContainerError::io(out))?;
    file.set_len(total).map_err(ContainerError::io(out))?;
    write_mbr(&mut file, disk_signature, start, sectors).map_err(ContainerError::io(out))?;

    progress.start("writing USB image", Some(layout.total_bytes));
    let mut part = Slice::new(&mut file, PARTITION_START, partition);
    fat::write_volume(
        &mut part,
        &layout,
        &VolumeParams {
            total_sectors: sectors,
            bytes_per_cluster: cluster,
            hidden_sectors: start,
            volume_id,
            label,
            mtime: tree.mtime,
            geometry: (63, 255),
        },
        out,
        progress,
    )?;
    progress.finish();
    boot::install(&mut file, PARTITION_START, &BootCode::PEFORGE)
        .map_err(ContainerError::io(out))?;
    file.sync_all().map_err(ContainerError::io(out))?;
    drop(file);

    verify_read_back(tmp.path(), &layout, out)?;
    crate::media::container::publish(tmp, out)?;
    Ok(UsbSummary {
        path: out.to_path_buf(),
        bytes: total,
        partition_offset: PARTITION_START,
        partition_bytes: partition,
        cluster_bytes: cluster,
        volume_id,
        label: String::from_utf8_lossy(&label).trim_end().to_string(),
        files: layout.files().len(),
    })
}

/// Picks the partition size (bytes, sectors): the tree's need, or the requested image size.
fn partition_size(layout: &Layout<'_>, size: Option<u64>) -> Result<(u64, u32), ContainerError> {
    let data = fat::tree_bytes(layout, 32768);
    let needed = (data + data / 16 + (8 << 20))
        .max(MIN_PARTITION)
        .div_ceil(1 << 20)
        << 20;
    let partition = match size {
        None => needed,
        Some(total) => {
            // Whole MiB after the 1 MiB gap, at most FAT32's limit.
            let room = (total.saturating_sub(PARTITION_START) >> 20 << 20).min(MAX_PARTITION);
            if room < needed {
                return Err(ContainerError::MediumTooLarge {
                    size: needed + PARTITION_START,
                    limit: total,
                    format: "a USB image of the requested size",
                });
            }
            room
        }
    };
    if partition > MAX_PARTITION {
        return Err(ContainerError::MediumTooLarge {
            size: partition,
            limit: MAX_PARTITION,
            format: "a FAT32 USB image",
        });
    }
    let sectors =
        u32::try_from(partition / SECTOR).map_err(|_| ContainerError::MediumTooLarge {
            size: partition,
            limit: MAX_PARTITION,
            format: "a FAT32 USB image",
        })?;
    Ok((partition, sectors))
}

/// Writes sector 0: the partition table with the one active FAT32 partition.
fn write_mbr(
    file: &mut File,
    disk_signature: u32,
    start: u32,
    sectors: u32,
) -> std::io::Result<()> {
    let mut mbr = raw::Mbr::new_zeroed();
    mbr.disk_signature.set(disk_signature);
    mbr.partitions[0] = raw::PartitionRecord {
        boot_indicator: raw::ACTIVE,
        start_chs: chs(u64::from(start)),
        os_type: raw::TYPE_FAT32_LBA,
        end_chs: chs(u64::from(start) + u64::from(sectors) - 1),
        starting_lba: U32::new(start),
        size_in_lba: U32::new(sectors),
    };
    mbr.signature = raw::SIGNATURE;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(mbr.as_bytes())
}

/// Reads the written image back: every file of the tree must be there, with its size.
fn verify_read_back(image: &Path, layout: &Layout<'_>, out: &Path) -> Result<(), ContainerError> {
    let check = UsbReader::open(image)?;
    let files = check.files()?;
    let planned = layout.files();
    let mismatch = planned.len() != files.len()
        || planned.iter().any(|p| {
            !files
                .iter()
                .any(|f| f.path.eq_ignore_ascii_case(&p.path) && f.size == p.size)
        });
    if mismatch {
        return Err(ContainerError::Internal {
            path: out.to_path_buf(),
            what: format!("read back {} files, wrote {}", files.len(), planned.len()),
        });
    }
    Ok(())
}

/// One MBR partition record, decoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionInfo {
    /// Slot 1–4.
    pub index: u8,
    /// Active flag (0x80).
    pub active: bool,
    /// Partition type byte.
    pub kind: u8,
    /// First sector.
    pub start_lba: u32,
    /// Size in sectors.
    pub sectors: u32,
}

/// The BIOS boot code found in a disk image: in the MBR and in the FAT boot sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BiosBootCode {
    /// MBR bytes 0–439 (`none` for a bare FAT image).
    pub mbr: BiosBoot,
    /// FAT boot sector after the BPB.
    pub vbr: BiosBoot,
    /// Both pieces are peforge's own (this version's bytes).
    pub peforge: bool,
}

impl BiosBootCode {
    fn new(mbr: BiosBoot, vbr: BiosBoot) -> BiosBootCode {
        BiosBootCode {
            mbr,
            vbr,
            peforge: mbr == BiosBoot::Peforge && vbr == BiosBoot::Peforge,
        }
    }
}

/// A USB disk image (MBR + FAT partition) or a bare FAT image (such as `efisys.bin`) opened
/// for reading.
#[derive(Debug)]
pub struct UsbReader {
    path: PathBuf,
    partitions: Vec<PartitionInfo>,
    bios_boot: BiosBootCode,
    volume: FatVolume<Slice<File>>,
}

fn looks_like_fat_boot_sector(s: &[u8]) -> bool {
    let jump = matches!(s.first(), Some(0xEB) | Some(0xE9));
    let bps = s
        .get(11..13)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(u16::from_le_bytes);
    let fs_type = s.get(0x52..0x57) == Some(b"FAT32") || s.get(0x36..0x39) == Some(b"FAT");
    jump && matches!(bps, Some(512 | 1024 | 2048 | 4096)) && fs_type
}

impl UsbReader {
    /// Opens `path`: a disk image whose MBR has a FAT partition (the first one is used), or a
    /// bare FAT volume.
    pub fn open(path: &Path) -> Result<UsbReader, ContainerError> {
        let mut file = File::open(path).map_err(ContainerError::io(path))?;
        let len = file.metadata().map_err(ContainerError::io(path))?.len();
        let mut sector = [0u8; 512];
        file.read_exact(&mut sector)
            .map_err(|_| ContainerError::Malformed {
                path: path.to_path_buf(),
                offset: 0,
                what: "shorter than one sector".into(),
            })?;
        let malformed = |offset: u64, what: &str| ContainerError::Malformed {
            path: path.to_path_buf(),
            offset,
            what: what.into(),
        };
        if sector.get(fat::raw::SIGNATURE_OFFSET..) != Some(&raw::SIGNATURE[..]) {
            return Err(malformed(
                510,
                "no boot signature 0x55 0xAA (not a disk image)",
            ));
        }
        if looks_like_fat_boot_sector(&sector) {
            let volume = FatVolume::open(Slice::new(file, 0, len), path)?;
            return Ok(UsbReader {
                path: path.to_path_buf(),
                partitions: Vec::new(),
                bios_boot: BiosBootCode::new(BiosBoot::None, boot::classify_vbr(&sector)),
                volume,
            });
        }
        let mbr = raw::Mbr::read_from_bytes(&sector).map_err(|_| malformed(0, "bad MBR"))?;
        let partitions: Vec<PartitionInfo> = mbr
            .partitions
            .iter()
            .zip(1u8..)
            .filter(|(p, _)| p.os_type != 0)
            .map(|(p, i)| PartitionInfo {
                index: i,
                active: p.boot_indicator == raw::ACTIVE,
                kind: p.os_type,
                start_lba: p.starting_lba.get(),
                sectors: p.size_in_lba.get(),
            })
            .collect();
        if partitions
            .iter()
            .any(|p| p.kind == raw::TYPE_GPT_PROTECTIVE)
        {
            return Err(malformed(
                446,
                "GPT disk images are not supported (expected an MBR disk)",
            ));
        }
        let fat_part = partitions
            .iter()
            .find(|p| raw::FAT_TYPES.contains(&p.kind) && p.sectors > 0)
            .ok_or_else(|| malformed(446, "no FAT partition in the MBR"))?;
        let start = u64::from(fat_part.start_lba) * SECTOR;
        let size = u64::from(fat_part.sectors) * SECTOR;
        if start.checked_add(size).is_none_or(|e| e > len) {
            return Err(malformed(
                446,
                "the FAT partition extends beyond the end of the image (truncated?)",
            ));
        }
        let mut vbr = [0u8; 512];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut vbr))
            .map_err(ContainerError::io(path))?;
        let bios_boot = BiosBootCode::new(boot::classify_mbr(&sector), boot::classify_vbr(&vbr));
        let volume = FatVolume::open(Slice::new(file, start, size), path)?;
        Ok(UsbReader {
            path: path.to_path_buf(),
            partitions,
            bios_boot,
            volume,
        })
    }

    /// The image file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// MBR partitions in use (empty for a bare FAT image).
    pub fn partitions(&self) -> &[PartitionInfo] {
        &self.partitions
    }

    /// Whose BIOS boot code the image carries.
    pub fn bios_boot(&self) -> BiosBootCode {
        self.bios_boot
    }

    /// FAT volume label.
    pub fn label(&self) -> String {
        self.volume.label()
    }

    /// FAT volume serial number.
    pub fn volume_id(&self) -> u32 {
        self.volume.volume_id()
    }

    /// Every file, sorted by path.
    pub fn files(&self) -> Result<Vec<FatFile>, ContainerError> {
        self.volume.files()
    }

    /// Streams a file (case-insensitive path) into `out`.
    pub fn copy_to(&self, path: &str, out: &mut dyn Write) -> Result<u64, ContainerError> {
        self.volume.copy_to(path, out)
    }

    /// Reads a whole file into memory.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ContainerError> {
        self.volume.read(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbr_is_one_sector() {
        assert_eq!(size_of::<raw::Mbr>(), 512);
        assert_eq!(size_of::<raw::PartitionRecord>(), 16);
        assert_eq!(std::mem::offset_of!(raw::Mbr, partitions), 446);
    }

    #[test]
    fn chs_of_1mib_is_cylinder_0_head_32_sector_33() {
        // 2048 = (0 * 255 + 32) * 63 + 32  → C 0, H 32, S 33.
        assert_eq!(chs(2048), [32, 33, 0]);
        assert_eq!(chs(u64::from(u32::MAX)), [0xFE, 0xFF, 0xFF]);
    }
}
