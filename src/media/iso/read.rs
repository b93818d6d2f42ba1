//! The ISO reader: volume descriptors (ECMA-119 8), the directory hierarchy (ECMA-119 9.1, Joliet
//! when present) and the El Torito boot catalog (El Torito 2). Every structure is bounds-checked
//! against the file; a damaged image gives [`ContainerError::Malformed`], never a panic.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use zerocopy::FromBytes;

use super::BootEntryInfo;
use super::raw::{self, SECTOR};
use crate::media::container::ContainerError;

/// At most this many volume descriptors are read before giving up on a terminator.
const MAX_DESCRIPTORS: u32 = 64;
/// Directory nesting readers follow.
const MAX_DEPTH: usize = 64;
/// Directory entries readers accept in total.
const MAX_ENTRIES: usize = 1_000_000;
/// Largest directory extent read (16 MiB).
const MAX_DIR_BYTES: u64 = 16 << 20;
/// Boot catalog sectors read.
const CATALOG_SECTORS: u64 = 4;

/// A file on an ISO.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IsoFile {
    /// Path with `/` separators and without the `;1` version suffix, as the hierarchy read
    /// (Joliet when present) spells it.
    pub path: String,
    /// Size in bytes (all extents).
    pub size: u64,
    /// Pieces of the data (absolute byte offset in the image, length); several for ISO
    /// level 3 multi-extent files and fragmented UDF files.
    #[serde(skip)]
    pieces: Vec<(u64, u64)>,
}

impl IsoFile {
    /// First sector of the file's data (0 for an empty file).
    pub fn lba(&self) -> u32 {
        self.pieces
            .first()
            .map_or(0, |p| u32::try_from(p.0 / SECTOR).unwrap_or(u32::MAX))
    }
}

/// The file system an [`IsoReader`] read names from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum IsoFileSystem {
    /// Joliet supplementary hierarchy (long Unicode names): peforge, xorriso, oscdimg `-j1`.
    Joliet,
    /// UDF (long Unicode names): oscdimg `-u1`/`-u2` without Joliet.
    Udf,
    /// The primary ISO 9660 hierarchy only (usually 8.3 names).
    Iso9660,
}

/// An ISO 9660 image opened for reading.
#[derive(Debug)]
pub struct IsoReader {
    path: PathBuf,
    file: std::fs::File,
    len: u64,
    label: String,
    joliet: bool,
    fs: IsoFileSystem,
    files: Vec<IsoFile>,
    catalog_lba: Option<u32>,
}

fn malformed(path: &Path, offset: u64, what: impl Into<String>) -> ContainerError {
    ContainerError::Malformed {
        path: path.to_path_buf(),
        offset,
        what: what.into(),
    }
}

/// A directory still to read: path prefix, extent, size, depth.
type DirToRead = (String, u32, u64, usize);

/// The volume descriptors [`IsoReader::open`] uses.
struct Descriptors {
    primary: Option<raw::VolumeDescriptor>,
    joliet: Option<raw::VolumeDescriptor>,
}

/// The volume label: the Joliet identifier (UCS-2 big-endian) or the primary one (ASCII).
fn volume_label(vd: &raw::VolumeDescriptor, is_joliet: bool) -> String {
    if is_joliet {
        let units: Vec<u16> = vd
            .volume_id
            .chunks_exact(2)
            .map(|c| {
                u16::from_be_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            })
            .collect();
        String::from_utf16_lossy(&units)
            .trim_end_matches([' ', '\0'])
            .to_string()
    } else {
        String::from_utf8_lossy(&vd.volume_id)
            .trim_end()
            .to_string()
    }
}

impl IsoReader {
    /// Opens `path`, reads the volume descriptors and walks the whole directory tree (Joliet if
    /// the image has it, else the primary hierarchy).
    pub fn open(path: &Path) -> Result<IsoReader, ContainerError> {
        let file = std::fs::File::open(path).map_err(ContainerError::io(path))?;
        let len = file.metadata().map_err(ContainerError::io(path))?.len();
        let mut r = IsoReader {
            path: path.to_path_buf(),
            file,
            len,
            label: String::new(),
            joliet: false,
            fs: IsoFileSystem::Iso9660,
            files: Vec::new(),
            catalog_lba: None,
        };
        let found = r.descriptors()?;
        // Long names: Joliet first (what peforge writes), then UDF, then the primary hierarchy.
        if found.joliet.is_none() && r.try_udf(found.primary.as_ref())? {
            return Ok(r);
        }
        let first = u64::from(raw::FIRST_DESCRIPTOR_LBA) * SECTOR;
        let (vd, is_joliet) = match (found.joliet, found.primary) {
            (Some(j), _) => (j, true),
            (None, Some(p)) => (p, false),
            (None, None) => {
                return Err(malformed(
                    path,
                    first,
                    "not an ISO image (no ISO 9660 volume descriptor, no UDF anchor)",
                ));
            }
        };
        r.fs = if is_joliet {
            IsoFileSystem::Joliet
        } else {
            IsoFileSystem::Iso9660
        };
        r.joliet = is_joliet;
        r.label = volume_label(&vd, is_joliet);
        let (root, _) = raw::DirRecordHeader::read_from_prefix(&vd.root_record)
            .map_err(|_| malformed(path, 0, "bad root directory record"))?;
        r.walk(root.extent.get(), u64::from(root.data_length.get()))?;
        r.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(r)
    }

    /// Reads the volume descriptor set: the primary and Joliet descriptors and the boot record.
    fn descriptors(&mut self) -> Result<Descriptors, ContainerError> {
        let mut primary: Option<raw::VolumeDescriptor> = None;
        let mut joliet: Option<raw::VolumeDescriptor> = None;
        let mut terminated = false;
        for i in 0..MAX_DESCRIPTORS {
            let lba = raw::FIRST_DESCRIPTOR_LBA + i;
            let offset = u64::from(lba) * SECTOR;
            let Ok(sector) = self.read_at(offset, SECTOR, "volume descriptor") else {
                break;
            };
            let id = sector.get(1..6).unwrap_or_default();
            if id != raw::STANDARD_ID {
                // UDF's volume recognition sequence (ECMA-167 2/9.1) sits among or after the
                // ISO 9660 descriptors; anything else ends the set.
                if raw::VRS_IDS.iter().any(|v| v.as_slice() == id) {
                    continue;
                }
                break;
            }
            match sector.first().copied() {
                Some(raw::VD_PRIMARY) if primary.is_none() => {
                    primary = raw::VolumeDescriptor::read_from_bytes(&sector).ok();
                }
                Some(raw::VD_SUPPLEMENTARY) if joliet.is_none() => {
                    let vd = raw::VolumeDescriptor::read_from_bytes(&sector).ok();
                    if let Some(vd) = vd {
                        let esc = vd.escape_sequences.get(..3).unwrap_or_default();
                        if raw::JOLIET_ESCAPES.iter().any(|e| e.as_slice() == esc) {
                            joliet = Some(vd);
                        }
                    }
                }
                Some(raw::VD_BOOT_RECORD) => {
                    if let Ok(br) = raw::BootRecord::read_from_bytes(&sector)
                        && br.boot_system_id.starts_with(raw::EL_TORITO_ID)
                    {
                        self.catalog_lba = Some(br.catalog_lba.get());
                    }
                }
                Some(raw::VD_TERMINATOR) => {
                    terminated = true;
                    break;
                }
                _ => {}
            }
        }
        let first = u64::from(raw::FIRST_DESCRIPTOR_LBA) * SECTOR;
        if (primary.is_some() || joliet.is_some()) && !terminated {
            return Err(malformed(
                &self.path,
                first,
                "no volume descriptor set terminator",
            ));
        }
        Ok(Descriptors { primary, joliet })
    }

    /// Takes the names from a UDF volume when there is one; `Ok(false)` to fall back to ISO 9660.
    fn try_udf(&mut self, primary: Option<&raw::VolumeDescriptor>) -> Result<bool, ContainerError> {
        match super::udf::read_udf(&self.file, &self.path, self.len) {
            Ok(Some(files)) => {
                self.fs = IsoFileSystem::Udf;
                self.files = files
                    .into_iter()
                    .map(|f| IsoFile {
                        path: f.path,
                        size: f.size,
                        pieces: f.pieces.iter().map(|p| (p.offset, p.len)).collect(),
                    })
                    .collect();
                self.label = primary
                    .map(|p| String::from_utf8_lossy(&p.volume_id).trim_end().to_string())
                    .unwrap_or_default();
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) if primary.is_none() => Err(e),
            Err(_) => Ok(false),
        }
    }

    fn read_at(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>, ContainerError> {
        let end = offset.checked_add(len);
        if end.is_none_or(|e| e > self.len) {
            return Err(malformed(
                &self.path,
                offset,
                format!("{what} beyond the end of the file (truncated image?)"),
            ));
        }
        let n = usize::try_from(len)
            .map_err(|_| malformed(&self.path, offset, format!("{what} too large")))?;
        let mut buf = vec![0u8; n];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(ContainerError::io(&self.path))?;
        Ok(buf)
    }

    fn decode_name(&self, id: &[u8]) -> String {
        let name = if self.joliet {
            let units: Vec<u16> = id
                .chunks(2)
                .map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            String::from_utf8_lossy(id).into_owned()
        };
        let base = match name.rsplit_once(';') {
            Some((b, v)) if v.chars().all(|c| c.is_ascii_digit()) => b.to_string(),
            _ => name,
        };
        if self.joliet {
            base
        } else {
            base.strip_suffix('.').map(str::to_string).unwrap_or(base)
        }
    }

    /// Walks the hierarchy from the root directory, refusing loops and oversized or deep trees.
    fn walk(&mut self, root_lba: u32, root_size: u64) -> Result<(), ContainerError> {
        let mut stack: Vec<DirToRead> = vec![(String::new(), root_lba, root_size, 0)];
        let mut seen: HashSet<u32> = HashSet::new();
        let mut count = 0usize;
        while let Some((prefix, lba, size, depth)) = stack.pop() {
            let offset = u64::from(lba) * SECTOR;
            if depth > MAX_DEPTH {
                return Err(malformed(&self.path, offset, "directories nested too deep"));
            }
            if !seen.insert(lba) {
                return Err(malformed(&self.path, offset, "directory loop"));
            }
            if size > MAX_DIR_BYTES {
                return Err(malformed(
                    &self.path,
                    offset,
                    format!("directory of {size} bytes"),
                ));
            }
            let data = self.read_at(offset, size, "directory")?;
            self.directory(&data, offset, &prefix, depth, &mut count, &mut stack)?;
        }
        Ok(())
    }

    /// Reads one directory extent's records: files are kept, subdirectories queued.
    fn directory(
        &mut self,
        data: &[u8],
        offset: u64,
        prefix: &str,
        depth: usize,
        count: &mut usize,
        stack: &mut Vec<DirToRead>,
    ) -> Result<(), ContainerError> {
        // Multi-extent files: records with FLAG_MULTI_EXTENT continue with the next record
        // of the same name.
        let mut pending: BTreeMap<String, Vec<(u32, u64)>> = BTreeMap::new();
        let mut pos = 0usize;
        while pos < data.len() {
            let len = usize::from(data.get(pos).copied().unwrap_or(0));
            if len == 0 {
                // Rest of this sector is padding.
                pos = (pos / raw::SECTOR_LEN + 1) * raw::SECTOR_LEN;
                continue;
            }
            let at = offset + pos as u64;
            let rec = data.get(pos..pos + len).ok_or_else(|| {
                malformed(&self.path, at, "directory record crosses the extent end")
            })?;
            let (h, rest) = raw::DirRecordHeader::read_from_prefix(rec)
                .map_err(|_| malformed(&self.path, at, "directory record too short"))?;
            let id = rest
                .get(..usize::from(h.identifier_length))
                .ok_or_else(|| {
                    malformed(&self.path, at, "file identifier longer than its record")
                })?;
            pos += len;
            if id == [0] || id == [1] {
                continue;
            }
            *count += 1;
            if *count > MAX_ENTRIES {
                return Err(malformed(&self.path, at, "too many directory entries"));
            }
            let name = self.decode_name(id);
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(malformed(
                    &self.path,
                    at,
                    format!("invalid file name {name:?}"),
                ));
            }
            let full = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if h.flags & raw::FLAG_DIRECTORY != 0 {
                stack.push((
                    full,
                    h.extent.get(),
                    u64::from(h.data_length.get()),
                    depth + 1,
                ));
                continue;
            }
            self.add_extent(&mut pending, full, &h, at)?;
        }
        if let Some(name) = pending.keys().next() {
            return Err(malformed(
                &self.path,
                offset,
                format!("multi-extent file {name:?} has no final extent"),
            ));
        }
        Ok(())
    }

    /// Adds one extent of a file; its final extent completes the file.
    fn add_extent(
        &mut self,
        pending: &mut BTreeMap<String, Vec<(u32, u64)>>,
        full: String,
        h: &raw::DirRecordHeader,
        at: u64,
    ) -> Result<(), ContainerError> {
        let extent = h.extent.get();
        let dlen = u64::from(h.data_length.get());
        if dlen > 0 {
            let end = u64::from(extent)
                .checked_mul(SECTOR)
                .and_then(|s| s.checked_add(dlen));
            if end.is_none_or(|e| e > self.len) {
                return Err(malformed(
                    &self.path,
                    at,
                    format!("file {full:?} extends beyond the image"),
                ));
            }
        }
        let parts = pending.entry(full.clone()).or_default();
        parts.push((extent, dlen));
        if h.flags & raw::FLAG_MULTI_EXTENT == 0 {
            let extents = pending.remove(&full).unwrap_or_default();
            let size: u64 = extents.iter().map(|e| e.1).sum();
            if size > self.len {
                return Err(malformed(
                    &self.path,
                    at,
                    format!("file {full:?} of {size} bytes in a {}-byte image", self.len),
                ));
            }
            let extents = extents
                .into_iter()
                .filter(|e| e.1 > 0)
                .map(|(lba, len)| (u64::from(lba) * SECTOR, len))
                .collect();
            self.files.push(IsoFile {
                path: full,
                size,
                pieces: extents,
            });
        }
        Ok(())
    }

    /// The image file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Volume label (Joliet volume identifier when present, else the primary one).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether names come from a Joliet hierarchy (long, mixed-case names).
    pub fn is_joliet(&self) -> bool {
        self.joliet
    }

    /// The hierarchy the names come from.
    pub fn file_system(&self) -> IsoFileSystem {
        self.fs
    }

    /// Every file, sorted by path.
    pub fn files(&self) -> &[IsoFile] {
        &self.files
    }

    /// Finds a file by path (case-insensitive, `/` or `\` separators, leading separator
    /// optional).
    pub fn find(&self, path: &str) -> Option<&IsoFile> {
        let want = path
            .replace('\\', "/")
            .trim_start_matches('/')
            .to_uppercase();
        self.files.iter().find(|f| f.path.to_uppercase() == want)
    }

    /// Streams a file's contents into `out`; returns the number of bytes copied.
    pub fn copy_to(&self, path: &str, out: &mut dyn Write) -> Result<u64, ContainerError> {
        let f = self.find(path).ok_or_else(|| ContainerError::NotFound {
            medium: self.path.clone(),
            path: path.to_string(),
        })?;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        for &(mut off, len) in &f.pieces {
            let mut left = len;
            while left > 0 {
                let n = left.min(buf.len() as u64);
                let chunk = buf
                    .get_mut(..usize::try_from(n).unwrap_or(0))
                    .unwrap_or_default();
                self.file
                    .read_exact_at(chunk, off)
                    .map_err(ContainerError::io(&self.path))?;
                out.write_all(chunk)
                    .map_err(ContainerError::io(&self.path))?;
                off += n;
                left -= n;
                total += n;
            }
        }
        Ok(total)
    }

    /// Reads a whole file into memory (use [`IsoReader::copy_to`] for large files).
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ContainerError> {
        let mut v = Vec::new();
        self.copy_to(path, &mut v)?;
        Ok(v)
    }

    /// Decodes the El Torito boot catalog: the initial/default entry then every section entry.
    /// Empty when the image has no El Torito boot record.
    pub fn boot_entries(&self) -> Result<Vec<BootEntryInfo>, ContainerError> {
        let Some(lba) = self.catalog_lba else {
            return Ok(Vec::new());
        };
        let offset = u64::from(lba) * SECTOR;
        let avail = self
            .len
            .saturating_sub(offset)
            .min(CATALOG_SECTORS * SECTOR);
        let cat = self.read_at(offset, avail, "boot catalog")?;
        let entry_at = |i: usize| cat.get(i * raw::CATALOG_ENTRY..(i + 1) * raw::CATALOG_ENTRY);
        let v =
            entry_at(0).ok_or_else(|| malformed(&self.path, offset, "boot catalog truncated"))?;
        let validation = raw::ValidationEntry::read_from_bytes(v)
            .map_err(|_| malformed(&self.path, offset, "boot catalog truncated"))?;
        let sum = v.chunks_exact(2).fold(0u16, |s, w| {
            s.wrapping_add(u16::from_le_bytes([
                w.first().copied().unwrap_or(0),
                w.get(1).copied().unwrap_or(0),
            ]))
        });
        if validation.header_id != raw::HEADER_VALIDATION
            || validation.key != raw::VALIDATION_KEY
            || sum != 0
        {
            return Err(malformed(
                &self.path,
                offset,
                "invalid El Torito validation entry (header, key bytes or checksum)",
            ));
        }
        let to_info =
            |platform: u8, bytes: &[u8], at: u64| -> Result<BootEntryInfo, ContainerError> {
                let e = raw::BootEntry::read_from_bytes(bytes)
                    .map_err(|_| malformed(&self.path, at, "boot entry truncated"))?;
                let rba = e.load_rba.get();
                Ok(BootEntryInfo {
                    platform,
                    bootable: e.boot_indicator == raw::BOOTABLE,
                    media_type: e.media_type & 0x0F,
                    load_segment: e.load_segment.get(),
                    sector_count: e.sector_count.get(),
                    load_rba: rba,
                    image: self
                        .files
                        .iter()
                        .find(|f| f.size > 0 && f.lba() == rba)
                        .map(|f| f.path.clone()),
                })
            };
        let mut out = Vec::new();
        let initial = entry_at(1)
            .ok_or_else(|| malformed(&self.path, offset, "boot catalog has no initial entry"))?;
        out.push(to_info(validation.platform, initial, offset + 32)?);
        let mut i = 2usize;
        while let Some(h) = entry_at(i) {
            let indicator = h.first().copied().unwrap_or(0);
            if indicator != raw::HEADER_SECTION_MORE && indicator != raw::HEADER_SECTION_FINAL {
                break;
            }
            let at = offset + (i * raw::CATALOG_ENTRY) as u64;
            let header = raw::SectionHeader::read_from_bytes(h)
                .map_err(|_| malformed(&self.path, at, "section header truncated"))?;
            i += 1;
            for _ in 0..header.entries.get() {
                let e = entry_at(i).ok_or_else(|| {
                    malformed(&self.path, at, "section entries beyond the catalog")
                })?;
                out.push(to_info(
                    header.platform,
                    e,
                    offset + (i * raw::CATALOG_ENTRY) as u64,
                )?);
                i += 1;
                while entry_at(i).and_then(|x| x.first().copied()) == Some(raw::EXTENSION_ENTRY) {
                    i += 1;
                }
            }
            if indicator == raw::HEADER_SECTION_FINAL {
                break;
            }
        }
        Ok(out)
    }
}
