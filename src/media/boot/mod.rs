//! BIOS boot code of the USB image (`shared/specs/usb-boot.md` §2–§4): peforge's own MBR code
//! (bytes 0–439 of LBA 0) and FAT32 volume boot code (stage 1 after the BPB in the partition's
//! sector 0 and its backup, stage 2 in reserved sector 2) that load `\BOOTMGR` to 2000:0000.
//!
//! The assembly sources (`mbr.asm`, `fat32_vbr.asm`, MIT, written for peforge) sit next to the
//! assembled bytes embedded here; `tests/media_bios_boot.rs` reassembles them with `nasm` and
//! compares byte for byte, so `cargo build` never needs nasm.
#![warn(clippy::indexing_slicing)]

use std::io::{Read, Seek, SeekFrom, Write};

/// MBR boot code, 440 bytes (assembled `mbr.asm`).
pub const MBR_CODE: &[u8; 440] = include_bytes!("mbr.bin");
/// FAT32 boot code, 1024 bytes (assembled `fat32_vbr.asm`): a sector-0 template whose bytes
/// 0x5A–0x1FF are stage 1, then stage 2 for reserved sector 2.
pub const VBR_CODE: &[u8; 1024] = include_bytes!("fat32_vbr.bin");

/// First byte after the FAT32 BPB (fatgen103 §3.3): stage 1 starts here.
const BPB_END: usize = 0x5A;
/// Reserved sector that receives stage 2.
const STAGE2_SECTOR: u64 = 2;
/// Offset of BPB_RsvdSecCnt and BPB_BkBootSec in the boot sector.
const RSVD_SEC_CNT: usize = 0x0E;
const BK_BOOT_SEC: usize = 0x32;

/// One set of boot code: MBR bytes 0–439 and the two FAT32 pieces. [`BootCode::PEFORGE`] is
/// what peforge ships; tests install variants assembled with other `nasm -D` options.
#[derive(Debug, Clone, Copy)]
pub struct BootCode<'a> {
    /// 440 bytes for LBA 0.
    pub mbr: &'a [u8],
    /// 1024 bytes: sector-0 template (stage 1 at 0x5A–0x1FF) and stage 2.
    pub vbr: &'a [u8],
}

impl BootCode<'static> {
    /// The boot code embedded in peforge.
    pub const PEFORGE: BootCode<'static> = BootCode {
        mbr: MBR_CODE,
        vbr: VBR_CODE,
    };
}

/// Whose BIOS boot code a disk image carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BiosBoot {
    /// All zero: UEFI only.
    None,
    /// Byte-identical to what this peforge writes.
    Peforge,
    /// Some other boot code.
    Other,
}

/// Classifies the code bytes 0–439 of an MBR.
pub fn classify_mbr(sector0: &[u8]) -> BiosBoot {
    let code = sector0.get(..440).unwrap_or(sector0);
    if code.iter().all(|&b| b == 0) {
        BiosBoot::None
    } else if code == MBR_CODE.as_slice() {
        BiosBoot::Peforge
    } else {
        BiosBoot::Other
    }
}

/// Classifies the boot code of a FAT32 boot sector (bytes 0x5A–0x1FD, after the BPB).
pub fn classify_vbr(boot_sector: &[u8]) -> BiosBoot {
    let code = boot_sector.get(BPB_END..510).unwrap_or(&[]);
    if code.iter().all(|&b| b == 0) {
        BiosBoot::None
    } else if Some(code) == VBR_CODE.get(BPB_END..510) {
        BiosBoot::Peforge
    } else {
        BiosBoot::Other
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Writes `code` into a disk image whose FAT32 partition starts at byte `partition`: MBR bytes
/// 0–439, stage 1 into the boot sector and its backup (keeping the jump, OEM name and BPB the
/// FAT writer wrote), stage 2 into reserved sector 2, which must be unused (all zero).
pub fn install<D: Read + Write + Seek>(
    disk: &mut D,
    partition: u64,
    code: &BootCode<'_>,
) -> std::io::Result<()> {
    let (Some(mbr), Some(stage1), Some(stage2)) = (
        code.mbr.get(..440),
        code.vbr.get(BPB_END..512),
        code.vbr.get(512..1024),
    ) else {
        return Err(bad("boot code has the wrong size"));
    };
    let mut boot = [0u8; 512];
    disk.seek(SeekFrom::Start(partition))?;
    disk.read_exact(&mut boot)?;
    let word = |o: usize| {
        u16::from_le_bytes([
            boot.get(o).copied().unwrap_or(0),
            boot.get(o + 1).copied().unwrap_or(0),
        ])
    };
    let reserved = u64::from(word(RSVD_SEC_CNT));
    let backup = u64::from(word(BK_BOOT_SEC));
    if reserved <= STAGE2_SECTOR || backup == STAGE2_SECTOR || backup >= reserved {
        return Err(bad("FAT32 reserved area has no room for stage 2"));
    }
    let mut s2 = [0u8; 512];
    disk.seek(SeekFrom::Start(partition + STAGE2_SECTOR * 512))?;
    disk.read_exact(&mut s2)?;
    // Free (zero) or already holding a stage 2 (its tag word ends the sector): reinstalling
    // over an older peforge stage 2 is fine, anything else belongs to someone.
    if s2.iter().any(|&b| b != 0) && s2.get(510..) != code.vbr.get(1022..) {
        return Err(bad("FAT32 reserved sector 2 is in use"));
    }
    disk.seek(SeekFrom::Start(0))?;
    disk.write_all(mbr)?;
    for sector in [0, backup] {
        disk.seek(SeekFrom::Start(partition + sector * 512 + BPB_END as u64))?;
        disk.write_all(stage1)?;
    }
    disk.seek(SeekFrom::Start(partition + STAGE2_SECTOR * 512))?;
    disk.write_all(stage2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_code_has_the_layout_the_writer_expects() {
        // Short jump to 0x5A, boot signature, stage-2 tag (fat32_vbr.asm).
        assert_eq!(&VBR_CODE[..3], &[0xEB, 0x58, 0x90]);
        assert_eq!(&VBR_CODE[510..512], &[0x55, 0xAA]);
        assert_eq!(&VBR_CODE[1022..1024], &0xB007u16.to_le_bytes());
        assert!(VBR_CODE[3..BPB_END].iter().all(|&b| b == 0));
        assert_eq!(classify_mbr(&[0; 512]), BiosBoot::None);
        assert_eq!(classify_mbr(MBR_CODE), BiosBoot::Peforge);
        let mut other = *MBR_CODE;
        other[5] ^= 1;
        assert_eq!(classify_mbr(&other), BiosBoot::Other);
        assert_eq!(classify_vbr(VBR_CODE), BiosBoot::Peforge);
    }
}
