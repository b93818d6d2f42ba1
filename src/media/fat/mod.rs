//! FAT32 volumes holding a media tree (Microsoft fatgen103; `shared/specs/boot-media.md` §4).
//!
//! The file system itself is formatted and filled by the `fatfs` crate (maintained, widely
//! used, MIT): it writes FAT32 with VFAT long file names and generated 8.3 short names into any
//! `Read + Write + Seek`. peforge fixes what makes the result deterministic and bootable from a
//! partition: every timestamp is the tree's `mtime` (a fixed time provider), the volume serial
//! is given, `BPB_HiddSec` is set to the partition start, and the volume label is also written
//! as the root directory's label entry (what `mdir`/Windows show). Files are written in sorted
//! order, each through a 1 MiB buffer, so memory stays flat.
//!
//! Limits: FAT32 stores files up to 4 GiB − 1 byte; larger ones are refused with the fix
//! (split the WIM).
#![warn(clippy::indexing_slicing, clippy::cast_possible_truncation)]

pub mod raw;

use std::cell::Cell;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use zerocopy::{FromBytes, IntoBytes};

use crate::media::container::{Civil, ContainerError, Layout, LayoutDir, copy_source};
use crate::progress::Progress;

/// Largest file FAT32 stores (`DIR_FileSize` is 32 bits).
pub const MAX_FILE: u64 = u32::MAX as u64;

thread_local! {
    static NOW: Cell<fatfs::DateTime> = const { Cell::new(fatfs::DateTime {
        date: fatfs::Date { year: 1980, month: 1, day: 1 },
        time: fatfs::Time { hour: 0, min: 0, sec: 0, millis: 0 },
    }) };
}

/// The time `fatfs` stamps on entries: the media tree's `mtime`, set per thread before writing.
#[derive(Debug)]
struct MediaTime;

impl fatfs::TimeProvider for MediaTime {
    fn get_current_date(&self) -> fatfs::Date {
        NOW.with(|n| n.get().date)
    }
    fn get_current_date_time(&self) -> fatfs::DateTime {
        NOW.with(Cell::get)
    }
}

static MEDIA_TIME: MediaTime = MediaTime;

fn dos_time(mtime: i64) -> fatfs::DateTime {
    let c = Civil::from_unix(mtime, 1980, 2107);
    fatfs::DateTime {
        date: fatfs::Date {
            year: u16::try_from(c.year).unwrap_or(1980),
            month: u16::from(c.month),
            day: u16::from(c.day),
        },
        time: fatfs::Time {
            hour: u16::from(c.hour),
            min: u16::from(c.minute),
            // DOS times have 2-second resolution.
            sec: u16::from(c.second & !1),
            millis: 0,
        },
    }
}

fn encode_dos(t: fatfs::DateTime) -> (u16, u16) {
    let date = ((t.date.year.saturating_sub(1980)) << 9) | (t.date.month << 5) | t.date.day;
    let time = (t.time.hour << 11) | (t.time.min << 5) | (t.time.sec / 2);
    (date, time)
}

/// A FAT volume label: the first 11 characters, upper case, characters FAT forbids in short
/// names replaced by `_`, space padded (fatgen103 §6).
pub fn volume_label(label: &str) -> [u8; 11] {
    let mut out = [b' '; 11];
    let text = if label.trim().is_empty() {
        "PEFORGE"
    } else {
        label
    };
    for (d, c) in out.iter_mut().zip(text.chars()) {
        let u = c.to_ascii_uppercase();
        *d = if u.is_ascii_graphic() && !"\"*+,./:;<=>?[\\]|".contains(u) || u == ' ' {
            u as u8
        } else {
            b'_'
        };
    }
    out
}

/// Parameters of a new FAT32 volume.
#[derive(Debug, Clone)]
pub struct VolumeParams {
    /// Volume size in 512-byte sectors.
    pub total_sectors: u32,
    /// Cluster size in bytes (power of two, 512 to 32768); must give at least 65525 clusters.
    pub bytes_per_cluster: u32,
    /// Sectors before the volume on its disk (the partition start LBA), for `BPB_HiddSec`.
    pub hidden_sectors: u32,
    /// Volume serial number.
    pub volume_id: u32,
    /// Volume label, see [`volume_label`].
    pub label: [u8; 11],
    /// Timestamp of every entry, seconds since the Unix epoch (clamped to 1980–2107).
    pub mtime: i64,
    /// `BPB_SecPerTrk` and `BPB_NumHeads`: the CHS geometry BIOS boot code falls back to
    /// (usb-boot.md §5.2: match the partition entry's 255/63).
    pub geometry: (u16, u16),
}

/// Cluster size for a FAT32 volume of `bytes`: the smallest of Windows' usual sizes that
/// still leaves comfortably more than the 65525 clusters FAT32 requires.
pub fn cluster_size_for(bytes: u64) -> u32 {
    const MIB: u64 = 1 << 20;
    match bytes {
        b if b < 128 * MIB => 512,
        b if b < 256 * MIB => 1024,
        b if b < 512 * MIB => 2048,
        b if b < 8192 * MIB => 4096,
        b if b < 16384 * MIB => 8192,
        b if b < 32768 * MIB => 16384,
        _ => 32768,
    }
}

/// Bytes the tree occupies in clusters of `cluster` bytes, directories included (each entry
/// counted with its long-name slots).
pub(crate) fn tree_bytes(layout: &Layout<'_>, cluster: u64) -> u64 {
    fn dir_bytes(d: &LayoutDir<'_>, cluster: u64) -> u64 {
        let entry = |name: &str| 32 * (1 + (name.encode_utf16().count() as u64).div_ceil(13));
        let own: u64 = 64
            + d.files.values().map(|f| entry(&f.name)).sum::<u64>()
            + d.dirs.values().map(|s| entry(&s.name)).sum::<u64>();
        let files: u64 = d
            .files
            .values()
            .map(|f| f.size.div_ceil(cluster) * cluster)
            .sum();
        own.div_ceil(cluster) * cluster
            + files
            + d.dirs.values().map(|s| dir_bytes(s, cluster)).sum::<u64>()
    }
    dir_bytes(&layout.root, cluster)
}

/// Refuses files FAT32 cannot store.
pub(crate) fn check_sizes(layout: &Layout<'_>) -> Result<(), ContainerError> {
    for f in layout.files() {
        if f.size > MAX_FILE {
            return Err(ContainerError::FileTooLarge {
                path: f.path.clone(),
                size: f.size,
                limit: MAX_FILE,
                format: "FAT32",
            });
        }
    }
    Ok(())
}

fn fill_dir<D: fatfs::ReadWriteSeek>(
    dir: &fatfs::Dir<'_, D>,
    ld: &LayoutDir<'_>,
    out_path: &Path,
    progress: &dyn Progress,
) -> Result<(), ContainerError> {
    let fat_err = |what: &str, source: std::io::Error| ContainerError::Io {
        path: out_path.to_path_buf(),
        source: std::io::Error::new(source.kind(), format!("{what}: {source}")),
    };
    for f in ld.files.values() {
        let mut file = dir.create_file(&f.name).map_err(|e| fat_err(&f.path, e))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut file);
        copy_source(f, &mut w, out_path, progress)?;
        w.flush().map_err(|e| fat_err(&f.path, e))?;
        drop(w);
        file.flush().map_err(|e| fat_err(&f.path, e))?;
    }
    for d in ld.dirs.values() {
        let sub = dir.create_dir(&d.name).map_err(|e| fat_err(&d.path, e))?;
        fill_dir(&sub, d, out_path, progress)?;
    }
    Ok(())
}

/// Formats `disk` (positioned anywhere; the volume starts at its offset 0) as FAT32 and writes
/// the tree into it. `out_path` names the output in errors.
pub(crate) fn write_volume<D: Read + Write + Seek>(
    disk: &mut D,
    layout: &Layout<'_>,
    params: &VolumeParams,
    out_path: &Path,
    progress: &dyn Progress,
) -> Result<(), ContainerError> {
    let io = ContainerError::io(out_path);
    check_sizes(layout)?;
    let c = params.bytes_per_cluster;
    if !(c.is_power_of_two() && (512..=32768).contains(&c)) {
        return Err(ContainerError::Internal {
            path: out_path.to_path_buf(),
            what: format!("cluster size {c}"),
        });
    }
    disk.seek(SeekFrom::Start(0))
        .map_err(ContainerError::io(out_path))?;
    let opts = fatfs::FormatVolumeOptions::new()
        .fat_type(fatfs::FatType::Fat32)
        .bytes_per_sector(512)
        .bytes_per_cluster(c)
        .total_sectors(params.total_sectors)
        .volume_id(params.volume_id)
        .volume_label(params.label)
        .sectors_per_track(params.geometry.0)
        .heads(params.geometry.1);
    fatfs::format_volume(&mut *disk, opts).map_err(ContainerError::io(out_path))?;

    // BPB_HiddSec in the boot sector and its backup; the label entry in the root directory.
    let mut head = [0u8; 90];
    disk.seek(SeekFrom::Start(0))
        .map_err(ContainerError::io(out_path))?;
    disk.read_exact(&mut head)
        .map_err(ContainerError::io(out_path))?;
    let mut bs =
        raw::Fat32BootSector::read_from_bytes(&head).map_err(|_| ContainerError::Internal {
            path: out_path.to_path_buf(),
            what: "boot sector".into(),
        })?;
    bs.hidden_sectors.set(params.hidden_sectors);
    for sector in [0u64, u64::from(bs.backup_boot_sector.get())] {
        disk.seek(SeekFrom::Start(sector * 512))
            .map_err(ContainerError::io(out_path))?;
        disk.write_all(bs.as_bytes())
            .map_err(ContainerError::io(out_path))?;
    }
    let now = dos_time(params.mtime);
    let (date, time) = encode_dos(now);
    let root = (u64::from(bs.reserved_sectors.get())
        + u64::from(bs.fats) * u64::from(bs.fat_size_32.get())
        + u64::from(bs.root_cluster.get().saturating_sub(2)) * u64::from(bs.sectors_per_cluster))
        * 512;
    let label = raw::DirEntry {
        name: params.label,
        attr: raw::ATTR_VOLUME_ID | raw::ATTR_ARCHIVE,
        nt_reserved: 0,
        create_tenth: 0,
        create_time: time.into(),
        create_date: date.into(),
        access_date: date.into(),
        cluster_high: 0.into(),
        write_time: time.into(),
        write_date: date.into(),
        cluster_low: 0.into(),
        size: 0.into(),
    };
    disk.seek(SeekFrom::Start(root))
        .map_err(ContainerError::io(out_path))?;
    disk.write_all(label.as_bytes())
        .map_err(ContainerError::io(out_path))?;
    disk.seek(SeekFrom::Start(0))
        .map_err(ContainerError::io(out_path))?;

    NOW.with(|n| n.set(now));
    let fs = fatfs::FileSystem::new(
        &mut *disk,
        fatfs::FsOptions::new()
            .time_provider(&MEDIA_TIME)
            .update_accessed_date(false),
    )
    .map_err(ContainerError::io(out_path))?;
    fill_dir(&fs.root_dir(), &layout.root, out_path, progress)?;
    fs.unmount().map_err(io)?;
    strip_dot_lfns(disk, out_path)
}

/// `fatfs` 0.3 writes a long-name entry before the `.` and `..` entries of every directory it
/// creates; fatgen103 §6.7 requires `.` and `..` to be the first two entries, and fsck.fat
/// flags the extra entries. This pass walks every directory (following the FAT chains) and
/// drops those two long-name entries, compacting the directory in place. Nothing else moves:
/// file entries keep their clusters and sizes.
fn strip_dot_lfns<D: Read + Write + Seek>(
    disk: &mut D,
    out_path: &Path,
) -> Result<(), ContainerError> {
    let io = |e| ContainerError::io(out_path)(e);
    let mut head = [0u8; 90];
    disk.seek(SeekFrom::Start(0)).map_err(io)?;
    disk.read_exact(&mut head).map_err(io)?;
    let bs =
        raw::Fat32BootSector::read_from_bytes(&head).map_err(|_| ContainerError::Internal {
            path: out_path.to_path_buf(),
            what: "boot sector".into(),
        })?;
    let geo = DirGeometry::of(&bs);
    // (first cluster, is the root, parent is the root)
    let mut queue = vec![(bs.root_cluster.get(), true, false)];
    while let Some((first, is_root, parent_is_root)) = queue.pop() {
        let chain = geo.chain(disk, first).map_err(io)?;
        let content = geo.read_chain(disk, &chain).map_err(io)?;
        let (mut kept, dropped) = compact_directory(&content, is_root, parent_is_root, &mut queue);
        if dropped && !is_root {
            kept.resize(content.len(), 0);
            for (&c, bytes) in chain.iter().zip(kept.chunks(geo.cluster_len)) {
                disk.seek(SeekFrom::Start(geo.cluster_offset(c)))
                    .map_err(io)?;
                disk.write_all(bytes).map_err(io)?;
            }
        }
    }
    write_fs_info(disk, &bs, geo.fat_at, geo.data_at).map_err(io)
}

/// Where a FAT32 volume's FAT and clusters are, for walking directories.
struct DirGeometry {
    fat_at: u64,
    data_at: u64,
    cluster_len: usize,
    max_chain: u64,
}

impl DirGeometry {
    /// Reads the layout from the boot sector.
    fn of(bs: &raw::Fat32BootSector) -> DirGeometry {
        let fat_at = u64::from(bs.reserved_sectors.get()) * 512;
        DirGeometry {
            fat_at,
            data_at: fat_at + u64::from(bs.fats) * u64::from(bs.fat_size_32.get()) * 512,
            cluster_len: usize::from(bs.sectors_per_cluster) * 512,
            max_chain: u64::from(bs.total_sectors_32.get())
                / u64::from(bs.sectors_per_cluster.max(1)),
        }
    }

    /// Byte offset of cluster `c`.
    fn cluster_offset(&self, c: u32) -> u64 {
        self.data_at + u64::from(c - 2) * self.cluster_len as u64
    }

    /// Follows the FAT chain from `first`, bounded by the volume's cluster count (no loops).
    fn chain<D: Read + Seek>(&self, disk: &mut D, first: u32) -> std::io::Result<Vec<u32>> {
        let mut chain = Vec::new();
        let mut c = first;
        while (2..0x0FFF_FFF8).contains(&c) && (chain.len() as u64) <= self.max_chain {
            chain.push(c);
            let mut e = [0u8; 4];
            disk.seek(SeekFrom::Start(self.fat_at + u64::from(c) * 4))?;
            disk.read_exact(&mut e)?;
            c = u32::from_le_bytes(e) & 0x0FFF_FFFF;
        }
        Ok(chain)
    }

    /// Reads the clusters of a chain, in order.
    fn read_chain<D: Read + Seek>(&self, disk: &mut D, chain: &[u32]) -> std::io::Result<Vec<u8>> {
        let mut content = Vec::with_capacity(chain.len() * self.cluster_len);
        for &c in chain {
            let mut buf = vec![0u8; self.cluster_len];
            disk.seek(SeekFrom::Start(self.cluster_offset(c)))?;
            disk.read_exact(&mut buf)?;
            content.extend_from_slice(&buf);
        }
        Ok(content)
    }
}

/// Drops the long-name entries before `.` and `..` of one directory (and points `..` of a root
/// child at cluster 0), queueing its subdirectories; returns the entries kept and whether
/// anything changed.
fn compact_directory(
    content: &[u8],
    is_root: bool,
    parent_is_root: bool,
    queue: &mut Vec<(u32, bool, bool)>,
) -> (Vec<u8>, bool) {
    let mut kept: Vec<u8> = Vec::with_capacity(content.len());
    let mut pending: Vec<&[u8]> = Vec::new();
    let mut dropped = false;
    for e in content.chunks_exact(32) {
        let (name, attr) = (
            e.get(..11).unwrap_or_default(),
            e.get(11).copied().unwrap_or(0),
        );
        match name.first() {
            None | Some(0) => break,
            Some(0xE5) => {
                kept.extend(pending.drain(..).flatten());
                kept.extend_from_slice(e);
                continue;
            }
            _ => {}
        }
        if attr & 0x3F == 0x0F {
            pending.push(e);
            continue;
        }
        if name == b".          " || name == b"..         " {
            dropped |= !pending.is_empty();
            pending.clear();
            if name == b"..         " && parent_is_root {
                // fatgen103 §6.7: `..` of a root child points at cluster 0.
                let mut fixed = e.to_vec();
                if let Some(c) = fixed.get_mut(20..22) {
                    c.fill(0);
                }
                if let Some(c) = fixed.get_mut(26..28) {
                    c.fill(0);
                }
                dropped = true;
                kept.extend_from_slice(&fixed);
                continue;
            }
        } else {
            kept.extend(pending.drain(..).flatten());
            if attr & 0x10 != 0 {
                let hi = u32::from(u16::from_le_bytes([
                    e.get(20).copied().unwrap_or(0),
                    e.get(21).copied().unwrap_or(0),
                ]));
                let lo = u32::from(u16::from_le_bytes([
                    e.get(26).copied().unwrap_or(0),
                    e.get(27).copied().unwrap_or(0),
                ]));
                queue.push(((hi << 16) | lo, false, is_root));
            }
        }
        kept.extend_from_slice(e);
    }
    (kept, dropped)
}

/// Sets the FSInfo free count and next-free hint (fatgen103 §5), which fatfs leaves unknown.
fn write_fs_info<D: Read + Write + Seek>(
    disk: &mut D,
    bs: &raw::Fat32BootSector,
    fat_at: u64,
    data_at: u64,
) -> std::io::Result<()> {
    let data_sectors = u64::from(bs.total_sectors_32.get()).saturating_sub(data_at / 512);
    let clusters = data_sectors / u64::from(bs.sectors_per_cluster.max(1));
    let mut fat = vec![0u8; usize::try_from((clusters + 2) * 4).unwrap_or(0)];
    disk.seek(SeekFrom::Start(fat_at))?;
    disk.read_exact(&mut fat)?;
    let free: Vec<u32> = fat
        .chunks_exact(4)
        .zip(0u32..)
        .skip(2)
        .filter(|(e, _)| {
            <[u8; 4]>::try_from(*e).is_ok_and(|b| u32::from_le_bytes(b) & 0x0FFF_FFFF == 0)
        })
        .map(|(_, i)| i)
        .collect();
    let count = u32::try_from(free.len()).unwrap_or(u32::MAX);
    let next = free.first().copied().unwrap_or(0xFFFF_FFFF);
    let fs_info = u64::from(bs.fs_info_sector.get()) * 512;
    disk.seek(SeekFrom::Start(fs_info + 488))?;
    disk.write_all(&count.to_le_bytes())?;
    disk.write_all(&next.to_le_bytes())?;
    disk.flush()
}

/// A window `[start, start + len)` of a seekable stream, seen as a stream of its own (a
/// partition of a disk image).
#[derive(Debug)]
pub struct Slice<T> {
    inner: T,
    start: u64,
    len: u64,
    pos: u64,
}

impl<T: Seek> Slice<T> {
    /// A window of `inner`; the slice's position starts at 0.
    pub fn new(inner: T, start: u64, len: u64) -> Slice<T> {
        Slice {
            inner,
            start,
            len,
            pos: 0,
        }
    }

    fn place(&mut self) -> std::io::Result<()> {
        self.inner
            .seek(SeekFrom::Start(self.start + self.pos))
            .map(|_| ())
    }
}

impl<T: Read + Seek> Read for Slice<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        self.place()?;
        let got = self.inner.read(buf.get_mut(..n).unwrap_or_default())?;
        self.pos += got as u64;
        Ok(got)
    }
}

impl<T: Write + Seek> Write for Slice<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        if n == 0 && !buf.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                "write beyond the end of the partition",
            ));
        }
        self.place()?;
        let put = self.inner.write(buf.get(..n).unwrap_or_default())?;
        self.pos += put as u64;
        Ok(put)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Seek> Seek for Slice<T> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let p = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        self.pos = p;
        Ok(p)
    }
}

/// A read-only view for readers: any write `fatfs` might attempt (it rewrites FSInfo on
/// unmount when it finds it stale) fails instead of touching the medium.
#[derive(Debug)]
pub struct ReadOnly<T>(pub T);

impl<T: Read> Read for ReadOnly<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}
impl<T> Write for ReadOnly<T> {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "medium opened read-only",
        ))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl<T: Seek> Seek for ReadOnly<T> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.0.seek(to)
    }
}

/// A file on a FAT volume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FatFile {
    /// Path with `/` separators, long names.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

/// Directory nesting the reader follows.
const MAX_DEPTH: usize = 32;
/// Entries the reader accepts in total.
const MAX_ENTRIES: usize = 1_000_000;

/// Checks the BPB fields (fatgen103 §3.1–3.3) that `fatfs` combines with unchecked u32
/// arithmetic — data area start, cluster count, FAT32 root cluster — so hostile values are an
/// error naming the field's offset instead of an overflow (a panic in debug builds, a wrong
/// offset in release builds). Everything else is left to `fatfs`'s own validation.
fn check_bpb(boot: &[u8]) -> Result<(), (u64, &'static str)> {
    let u8_at = |o: usize| boot.get(o).copied().map(u32::from).unwrap_or(0);
    let u16_at = |o: usize| u8_at(o) | (u8_at(o + 1) << 8);
    let u32_at = |o: usize| u16_at(o) | (u16_at(o + 2) << 16);
    let bytes_per_sector = u16_at(11);
    if !bytes_per_sector.is_power_of_two() || !(512..=4096).contains(&bytes_per_sector) {
        return Err((11, "bytes per sector is not 512, 1024, 2048 or 4096"));
    }
    let sectors_per_cluster = u8_at(13);
    if !sectors_per_cluster.is_power_of_two() {
        return Err((13, "sectors per cluster is not a power of two"));
    }
    let fat_size = match u16_at(22) {
        0 => u32_at(36),
        n => n,
    };
    let root_dir_sectors = (u16_at(17) * 32).div_ceil(bytes_per_sector);
    let first_data = u8_at(16)
        .checked_mul(fat_size)
        .and_then(|f| f.checked_add(u16_at(14)))
        .and_then(|f| f.checked_add(root_dir_sectors))
        .ok_or((36, "reserved sectors plus FATs overflow the sector count"))?;
    let total = match u16_at(19) {
        0 => u32_at(32),
        n => n,
    };
    let clusters = total
        .checked_sub(first_data)
        .filter(|c| *c > 0)
        .ok_or((32, "no data area after the reserved sectors and FATs"))?
        / sectors_per_cluster;
    if u16_at(22) == 0 {
        let root = u32_at(44);
        if root < 2 || root - 2 >= clusters {
            return Err((44, "the root directory cluster is outside the data area"));
        }
    }
    Ok(())
}

/// A FAT volume opened read-only (listing and reading files).
pub struct FatVolume<D: Read + Seek> {
    fs: fatfs::FileSystem<ReadOnly<D>>,
    medium: PathBuf,
    capacity: u64,
}

impl<D: Read + Seek> std::fmt::Debug for FatVolume<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FatVolume")
            .field("medium", &self.medium)
            .finish_non_exhaustive()
    }
}

impl<D: Read + Seek> FatVolume<D> {
    /// Mounts the FAT volume that starts at offset 0 of `disk`; `medium` names it in errors.
    pub fn open(mut disk: D, medium: &Path) -> Result<FatVolume<D>, ContainerError> {
        let capacity = disk
            .seek(SeekFrom::End(0))
            .map_err(ContainerError::io(medium))?;
        disk.seek(SeekFrom::Start(0))
            .map_err(ContainerError::io(medium))?;
        let mut boot = [0u8; 512];
        disk.read_exact(&mut boot)
            .map_err(ContainerError::io(medium))?;
        check_bpb(&boot).map_err(|(offset, what)| ContainerError::Malformed {
            path: medium.to_path_buf(),
            offset,
            what: format!("not a usable FAT file system ({what})"),
        })?;
        disk.seek(SeekFrom::Start(0))
            .map_err(ContainerError::io(medium))?;
        let fs = fatfs::FileSystem::new(
            ReadOnly(disk),
            fatfs::FsOptions::new().update_accessed_date(false),
        )
        .map_err(|e| ContainerError::Malformed {
            path: medium.to_path_buf(),
            offset: 0,
            what: format!("not a FAT file system ({e})"),
        })?;
        Ok(FatVolume {
            fs,
            medium: medium.to_path_buf(),
            capacity,
        })
    }

    /// Volume label from the boot sector, trimmed.
    pub fn label(&self) -> String {
        self.fs.volume_label().trim_end().to_string()
    }

    /// Volume serial number.
    pub fn volume_id(&self) -> u32 {
        self.fs.volume_id()
    }

    /// Every file, sorted by path.
    pub fn files(&self) -> Result<Vec<FatFile>, ContainerError> {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), self.fs.root_dir(), 0usize)];
        while let Some((prefix, dir, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(self.malformed(format!("directories nested too deep at {prefix:?}")));
            }
            for e in dir.iter() {
                let e = e.map_err(ContainerError::io(&self.medium))?;
                let name = e.file_name();
                if name == "." || name == ".." {
                    continue;
                }
                if name.is_empty() || name.contains('/') {
                    return Err(self.malformed(format!("invalid file name {name:?} in {prefix:?}")));
                }
                if out.len() + stack.len() > MAX_ENTRIES {
                    return Err(self.malformed("too many directory entries".into()));
                }
                let path = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                if e.is_dir() {
                    stack.push((path, e.to_dir(), depth + 1));
                } else {
                    out.push(FatFile {
                        path,
                        size: e.len(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn malformed(&self, what: String) -> ContainerError {
        ContainerError::Malformed {
            path: self.medium.clone(),
            offset: 0,
            what,
        }
    }

    /// Streams a file (path case-insensitive, `/` or `\`) into `out`; returns the byte count.
    pub fn copy_to(&self, path: &str, out: &mut dyn Write) -> Result<u64, ContainerError> {
        let p = path.replace('\\', "/");
        let p = p.trim_start_matches('/');
        let not_found = || ContainerError::NotFound {
            medium: self.medium.clone(),
            path: path.to_string(),
        };
        if p.is_empty() {
            return Err(not_found());
        }
        let mut f = self.fs.root_dir().open_file(p).map_err(|_| not_found())?;
        // A file larger than its volume is damage (a looping cluster chain would otherwise be
        // copied until the recorded size).
        let size = f
            .seek(SeekFrom::End(0))
            .map_err(ContainerError::io(&self.medium))?;
        f.seek(SeekFrom::Start(0))
            .map_err(ContainerError::io(&self.medium))?;
        if size > self.capacity {
            return Err(self.malformed(format!("{path:?} is {size} bytes, larger than the volume")));
        }
        std::io::copy(&mut f, out).map_err(ContainerError::io(&self.medium))
    }

    /// Reads a whole file into memory (use [`FatVolume::copy_to`] for large files).
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ContainerError> {
        let mut v = Vec::new();
        self.copy_to(path, &mut v)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_fat_safe() {
        assert_eq!(&volume_label("Configuration Manager"), b"CONFIGURATI");
        assert_eq!(&volume_label("a.b"), b"A_B        ");
        assert_eq!(&volume_label(""), b"PEFORGE    ");
    }

    #[test]
    fn dos_time_has_two_second_resolution_and_clamps() {
        let t = dos_time(1_709_210_097); // 2024-02-29 12:34:57
        assert_eq!((t.date.year, t.date.month, t.date.day), (2024, 2, 29));
        assert_eq!((t.time.hour, t.time.min, t.time.sec), (12, 34, 56));
        assert_eq!(dos_time(0).date.year, 1980);
    }
}
