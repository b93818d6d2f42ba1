//! Read-only UDF (ECMA-167 3rd edition, OSTA UDF 1.02–2.01 with type 1 partition maps), for
//! ISOs whose long names live only in UDF: Microsoft's oscdimg writes `-u2` (UDF only) and
//! `-u1` (UDF + an ISO 9660 bridge with 8.3 names) images. Only what listing and reading files
//! needs: anchor (3/10.2), partition (3/10.5) and logical volume (3/10.6) descriptors, the file
//! set descriptor (4/14.1), file entries (4/14.9, 4/14.17), allocation descriptors (4/14.14)
//! and file identifier descriptors (4/14.4). Every structure is checked (tag checksum and
//! location) and bounds-checked; damage gives an error, never a panic.

use std::os::unix::fs::FileExt;
use std::path::Path;

use super::raw::SECTOR;
use crate::media::container::ContainerError;

/// Sector of the anchor volume descriptor pointer (ECMA-167 3/8.4.2.1).
const ANCHOR_LBA: u64 = 256;
/// Tag identifiers (ECMA-167 3/7.2.1 and 4/7.2.1).
const TAG_ANCHOR: u16 = 2;
const TAG_PARTITION: u16 = 5;
const TAG_LOGICAL_VOLUME: u16 = 6;
const TAG_TERMINATING: u16 = 8;
const TAG_FILE_SET: u16 = 256;
const TAG_FILE_ID: u16 = 257;
const TAG_FILE_ENTRY: u16 = 261;
const TAG_EXT_FILE_ENTRY: u16 = 266;
/// ICB file type: directory (ECMA-167 4/14.6.6).
const FILE_TYPE_DIRECTORY: u8 = 4;
/// File characteristics (ECMA-167 4/14.4.3).
const CHAR_DIRECTORY: u8 = 0x02;
const CHAR_DELETED: u8 = 0x04;
const CHAR_PARENT: u8 = 0x08;

const MAX_DEPTH: usize = 64;
const MAX_ENTRIES: usize = 1_000_000;
const MAX_DIR_BYTES: u64 = 16 << 20;
const MAX_EXTENTS: usize = 100_000;
const MAX_VDS_SECTORS: u64 = 64;

/// One piece of a file: `len` bytes at absolute byte `offset` of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub offset: u64,
    pub len: u64,
}

/// A file found in the UDF hierarchy.
#[derive(Debug, Clone)]
pub(crate) struct UdfFile {
    pub path: String,
    pub size: u64,
    pub pieces: Vec<Piece>,
}

struct Reader<'a> {
    file: &'a std::fs::File,
    path: &'a Path,
    len: u64,
    partition_start: u64,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2)
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map(u16::from_le_bytes)
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_le_bytes)
}
fn le64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_le_bytes)
}

/// Checks a descriptor tag (ECMA-167 3/7.2): checksum of bytes 0–3 and 5–15, and the recorded
/// location. Returns the tag identifier.
fn tag_id(b: &[u8], location: Option<u32>) -> Option<u16> {
    let head = b.get(..16)?;
    let sum = head
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .fold(0u8, |s, (_, v)| s.wrapping_add(*v));
    if Some(&sum) != head.get(4) {
        return None;
    }
    if let Some(loc) = location
        && le32(b, 12) != Some(loc)
    {
        return None;
    }
    le16(b, 0)
}

/// OSTA CS0 d-string / file identifier (UDF 2.1.1): compression ID 8 (one byte per character)
/// or 16 (UTF-16BE).
fn decode_name(id: &[u8]) -> Option<String> {
    let (kind, rest) = id.split_first()?;
    match kind {
        8 => Some(rest.iter().map(|&b| char::from(b)).collect()),
        16 => {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

impl Reader<'_> {
    fn bad(&self, offset: u64, what: impl Into<String>) -> ContainerError {
        ContainerError::Malformed {
            path: self.path.to_path_buf(),
            offset,
            what: format!("UDF: {}", what.into()),
        }
    }

    fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, ContainerError> {
        if offset.checked_add(len).is_none_or(|e| e > self.len) {
            return Err(self.bad(offset, "structure beyond the end of the image"));
        }
        let n = usize::try_from(len).map_err(|_| self.bad(offset, "structure too large"))?;
        let mut buf = vec![0u8; n];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(ContainerError::io(self.path))?;
        Ok(buf)
    }

    fn sector(&self, lba: u64) -> Result<Vec<u8>, ContainerError> {
        self.read(lba * SECTOR, SECTOR)
    }

    /// Absolute byte offset of logical block `lbn` of the partition.
    fn block(&self, lbn: u32) -> u64 {
        self.partition_start + u64::from(lbn) * SECTOR
    }

    /// Reads the file entry at `lbn`: (is directory, information length, pieces).
    fn file_entry(&self, lbn: u32) -> Result<(bool, u64, Vec<Piece>), ContainerError> {
        let at = self.block(lbn);
        let fe = self.sector(at / SECTOR)?;
        let (ea_at, ad_at) = match tag_id(&fe, Some(lbn)) {
            Some(TAG_FILE_ENTRY) => (168, 176),
            Some(TAG_EXT_FILE_ENTRY) => (208, 216),
            _ => return Err(self.bad(at, "expected a file entry")),
        };
        let file_type = fe.get(27).copied().unwrap_or(0);
        let flags = le16(&fe, 34).unwrap_or(0);
        let size = le64(&fe, 56).ok_or_else(|| self.bad(at, "file entry truncated"))?;
        let l_ea = le32(&fe, ea_at).ok_or_else(|| self.bad(at, "file entry truncated"))?;
        let l_ad = le32(&fe, ea_at + 4).ok_or_else(|| self.bad(at, "file entry truncated"))?;
        let start = usize::try_from(l_ea)
            .ok()
            .and_then(|e| e.checked_add(ad_at));
        let ads = start
            .and_then(|s| fe.get(s..s.checked_add(usize::try_from(l_ad).ok()?)?))
            .ok_or_else(|| self.bad(at, "allocation descriptors beyond the file entry"))?;
        let mut pieces = Vec::new();
        match flags & 7 {
            // Embedded: the data is the allocation descriptor area itself.
            3 => {
                let offset = at + start.unwrap_or(0) as u64;
                pieces.push(Piece {
                    offset,
                    len: size.min(u64::from(l_ad)),
                });
            }
            kind @ (0 | 1) => {
                let step = if kind == 0 { 8 } else { 16 };
                for ad in ads.chunks_exact(step) {
                    let raw_len = le32(ad, 0).unwrap_or(0);
                    let len = u64::from(raw_len & 0x3FFF_FFFF);
                    if len == 0 {
                        break;
                    }
                    match raw_len >> 30 {
                        0 => {}
                        3 => {
                            return Err(
                                self.bad(at, "continued allocation descriptors are not supported")
                            );
                        }
                        _ => {
                            return Err(
                                self.bad(at, "unrecorded (sparse) extents are not supported")
                            );
                        }
                    }
                    let pos = le32(ad, 4).unwrap_or(0);
                    if kind == 1 && le16(ad, 8).unwrap_or(0) != 0 {
                        return Err(self.bad(at, "extents in other partitions are not supported"));
                    }
                    let offset = self.block(pos);
                    if offset.checked_add(len).is_none_or(|e| e > self.len) {
                        return Err(self.bad(at, "extent beyond the end of the image"));
                    }
                    pieces.push(Piece { offset, len });
                    if pieces.len() > MAX_EXTENTS {
                        return Err(self.bad(at, "too many extents"));
                    }
                }
            }
            _ => return Err(self.bad(at, "extended allocation descriptors are not supported")),
        }
        // Trim to the information length.
        let mut left = size;
        for p in &mut pieces {
            p.len = p.len.min(left);
            left -= p.len;
        }
        pieces.retain(|p| p.len > 0);
        if left > 0 {
            return Err(self.bad(at, "extents shorter than the file"));
        }
        // Extents never overlap in a sound image: a file larger than the image is damage (and
        // would make readers copy without end).
        if size > self.len {
            return Err(self.bad(
                at,
                format!("file of {size} bytes in a {}-byte image", self.len),
            ));
        }
        Ok((file_type == FILE_TYPE_DIRECTORY, size, pieces))
    }

    fn gather(&self, pieces: &[Piece]) -> Result<Vec<u8>, ContainerError> {
        let mut out = Vec::new();
        for p in pieces {
            out.extend_from_slice(&self.read(p.offset, p.len)?);
        }
        Ok(out)
    }
}

/// Finds a UDF volume in the image and lists its files; `Ok(None)` when there is no UDF anchor.
pub(crate) fn read_udf(
    file: &std::fs::File,
    path: &Path,
    len: u64,
) -> Result<Option<Vec<UdfFile>>, ContainerError> {
    let mut r = Reader {
        file,
        path,
        len,
        partition_start: 0,
    };
    if len < (ANCHOR_LBA + 1) * SECTOR {
        return Ok(None);
    }
    let anchor = r.sector(ANCHOR_LBA)?;
    if tag_id(&anchor, u32::try_from(ANCHOR_LBA).ok()) != Some(TAG_ANCHOR) {
        return Ok(None);
    }
    let vds_len = u64::from(le32(&anchor, 16).unwrap_or(0));
    let vds_loc = u64::from(le32(&anchor, 20).unwrap_or(0));
    let (part_start, fsd_lbn) = volume_descriptors(&r, vds_loc, vds_len)?;
    r.partition_start = part_start * SECTOR;
    let fsd_at = r.block(fsd_lbn);
    let set = r.sector(fsd_at / SECTOR)?;
    if tag_id(&set, Some(fsd_lbn)) != Some(TAG_FILE_SET) {
        return Err(r.bad(fsd_at, "expected a file set descriptor"));
    }
    let root = le32(&set, 404).ok_or_else(|| r.bad(fsd_at, "file set descriptor truncated"))?;
    let mut files = Walk::default().run(&r, root)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Some(files))
}

/// Scans the volume descriptor sequence for the partition start and the file set's block.
fn volume_descriptors(
    r: &Reader<'_>,
    vds_loc: u64,
    vds_len: u64,
) -> Result<(u64, u32), ContainerError> {
    let mut partition: Option<(u16, u64)> = None;
    let mut fsd: Option<(u32, u16)> = None;
    for i in 0..vds_len.div_ceil(SECTOR).min(MAX_VDS_SECTORS) {
        let lba = vds_loc + i;
        let d = r.sector(lba)?;
        match tag_id(&d, u32::try_from(lba).ok()) {
            Some(TAG_PARTITION) if partition.is_none() => {
                let number = le16(&d, 22).unwrap_or(0);
                let start = u64::from(le32(&d, 188).unwrap_or(0));
                partition = Some((number, start));
            }
            Some(TAG_LOGICAL_VOLUME) if fsd.is_none() => {
                let block = le32(&d, 212).unwrap_or(0);
                if u64::from(block) != SECTOR {
                    return Err(r.bad(
                        lba * SECTOR,
                        format!("logical block size {block} (only 2048 is supported)"),
                    ));
                }
                let maps = le32(&d, 268).unwrap_or(0);
                let map_type = d.get(440).copied().unwrap_or(0);
                if maps != 1 || map_type != 1 {
                    return Err(r.bad(
                        lba * SECTOR,
                        "only one type 1 partition map is supported (UDF 1.02–2.01)",
                    ));
                }
                fsd = Some((le32(&d, 252).unwrap_or(0), le16(&d, 256).unwrap_or(0)));
            }
            Some(TAG_TERMINATING) => break,
            _ => {}
        }
    }
    let (Some((_, part_start)), Some((fsd_lbn, _))) = (partition, fsd) else {
        return Err(r.bad(
            vds_loc * SECTOR,
            "no partition or logical volume descriptor",
        ));
    };
    Ok((part_start, fsd_lbn))
}

/// State of the directory walk: files found so far, entries counted, directories still to read.
#[derive(Default)]
struct Walk {
    files: Vec<UdfFile>,
    count: usize,
    stack: Vec<(String, u32, usize)>,
}

impl Walk {
    /// Walks the directory tree from `root`, refusing loops and oversized or deep trees.
    fn run(mut self, r: &Reader<'_>, root: u32) -> Result<Vec<UdfFile>, ContainerError> {
        let mut seen = std::collections::HashSet::new();
        self.stack.push((String::new(), root, 0usize));
        while let Some((prefix, lbn, depth)) = self.stack.pop() {
            let at = r.block(lbn);
            if depth > MAX_DEPTH {
                return Err(r.bad(at, "directories nested too deep"));
            }
            if !seen.insert(lbn) {
                return Err(r.bad(at, "directory loop"));
            }
            let (is_dir, size, pieces) = r.file_entry(lbn)?;
            if !is_dir {
                return Err(r.bad(at, "directory entry is not a directory"));
            }
            if size > MAX_DIR_BYTES {
                return Err(r.bad(at, format!("directory of {size} bytes")));
            }
            let data = r.gather(&pieces)?;
            self.directory(r, at, &data, &prefix, depth)?;
        }
        Ok(self.files)
    }

    /// Reads one directory's file identifiers: files are kept, subdirectories queued.
    fn directory(
        &mut self,
        r: &Reader<'_>,
        at: u64,
        data: &[u8],
        prefix: &str,
        depth: usize,
    ) -> Result<(), ContainerError> {
        let mut pos = 0usize;
        while pos + 38 <= data.len() {
            let fid = data.get(pos..).unwrap_or_default();
            if le16(fid, 0) != Some(TAG_FILE_ID) {
                return Err(r.bad(at, "expected a file identifier descriptor"));
            }
            let chars = fid.get(18).copied().unwrap_or(0);
            let l_fi = usize::from(fid.get(19).copied().unwrap_or(0));
            let icb = le32(fid, 24).unwrap_or(0);
            let l_iu = usize::from(le16(fid, 36).unwrap_or(0));
            let total = (38 + l_iu + l_fi).div_ceil(4) * 4;
            let name_bytes = fid
                .get(38 + l_iu..38 + l_iu + l_fi)
                .ok_or_else(|| r.bad(at, "file identifier beyond the directory"))?;
            pos += total;
            if chars & (CHAR_PARENT | CHAR_DELETED) != 0 {
                continue;
            }
            self.count += 1;
            if self.count > MAX_ENTRIES {
                return Err(r.bad(at, "too many directory entries"));
            }
            let name = decode_name(name_bytes).ok_or_else(|| r.bad(at, "bad file identifier"))?;
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(r.bad(at, format!("invalid file name {name:?}")));
            }
            let full = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if chars & CHAR_DIRECTORY != 0 {
                self.stack.push((full, icb, depth + 1));
            } else {
                let (_, size, pieces) = r.file_entry(icb)?;
                self.files.push(UdfFile {
                    path: full,
                    size,
                    pieces,
                });
            }
        }
        Ok(())
    }
}
