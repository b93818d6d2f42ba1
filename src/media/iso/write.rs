//! The ISO writer: plan every sector, then stream (ECMA-119 6.2 and 9; Joliet; El Torito 2).
//!
//! Sector map, in this order: system area (0–15, zeros), primary volume descriptor (16), El
//! Torito boot record (17, when the tree has a boot image), Joliet supplementary descriptor,
//! terminator, boot catalog, the four path tables (L and M for each hierarchy), the primary
//! directories, the Joliet directories, then the files — boot images first so firmware with
//! small address limits can reach them, then every other file in sorted path order.

use std::collections::{HashMap, VecDeque};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use zerocopy::byteorder::{BigEndian, LittleEndian, U16, U32};
use zerocopy::{FromZeros, IntoBytes};

use super::BootEntryInfo;
use super::raw::{self, Both16, Both32, SECTOR};
use crate::media::container::{Civil, ContainerError, Layout, LayoutDir, LayoutFile, copy_source};
use crate::media::tree::MediaTree;
use crate::progress::Progress;

/// Largest file ISO 9660 stores in one extent (the 32-bit data length, ECMA-119 9.1.4).
const MAX_FILE: u64 = u32::MAX as u64;
/// ECMA-119 6.8.2.1: at most eight directory levels, the root being level 1.
const MAX_LEVELS: usize = 8;
/// Joliet: identifiers of at most 64 UCS-2 characters.
const JOLIET_MAX_NAME: usize = 64;
/// BIOS load size written for `etfsboot.com` (boot-media.md §3: 8 × 512 B).
const BIOS_LOAD_SECTORS: u64 = 8;

/// What [`write()`] produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IsoSummary {
    /// The ISO written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Number of files stored.
    pub files: usize,
    /// El Torito entries in catalog order (BIOS first when both exist).
    pub boot_entries: Vec<BootEntryInfo>,
}

/// A directory of one hierarchy (primary or Joliet), in path-table order.
struct PDir {
    parent: usize,
    ident: Vec<u8>,
    entries: Vec<PEntry>,
    lba: u32,
    size: u32,
}

enum Kind {
    Dir(usize),
    File(usize),
}

struct PEntry {
    ident: Vec<u8>,
    kind: Kind,
}

struct PFile<'a> {
    file: &'a LayoutFile<'a>,
    lba: u32,
}

fn sectors(bytes: u64) -> u64 {
    bytes.div_ceil(SECTOR)
}

fn record_len(ident_len: usize) -> usize {
    raw::DIR_RECORD_HEADER + ident_len + usize::from(ident_len.is_multiple_of(2))
}

/// Maps a name to ISO 9660 d-characters (A–Z, 0–9, `_`).
fn d_chars(s: &str, max: usize) -> Vec<u8> {
    s.chars()
        .map(|c| {
            let u = c.to_ascii_uppercase();
            if u.is_ascii_uppercase() || u.is_ascii_digit() || u == '_' {
                u as u8
            } else {
                b'_'
            }
        })
        .take(max)
        .collect()
}

/// Level 1 identifier (8.3 plus `;1` for files), unique in its directory; returns the
/// identifier and its sort key (ECMA-119 9.3: name, then extension, compared space-padded —
/// every d-character sorts above the space, so plain byte order of the parts agrees).
fn primary_ident(
    name: &str,
    is_dir: bool,
    taken: &mut Vec<Vec<u8>>,
) -> (Vec<u8>, (Vec<u8>, Vec<u8>)) {
    let (base, ext) = if is_dir {
        (d_chars(name, 8), Vec::new())
    } else {
        match name.rsplit_once('.') {
            Some((b, e)) if !b.is_empty() => (d_chars(b, 8), d_chars(e, 3)),
            _ => (d_chars(name, 8), Vec::new()),
        }
    };
    let base = if base.is_empty() { b"_".to_vec() } else { base };
    let mut candidate = base.clone();
    let mut n: u32 = 1;
    while taken
        .iter()
        .any(|t| *t == [candidate.as_slice(), b".", ext.as_slice()].concat())
    {
        let suffix = format!("~{n}").into_bytes();
        let keep = 8usize.saturating_sub(suffix.len()).min(base.len());
        candidate = [base.get(..keep).unwrap_or_default(), suffix.as_slice()].concat();
        n += 1;
    }
    taken.push([candidate.as_slice(), b".", ext.as_slice()].concat());
    let ident = if is_dir {
        candidate.clone()
    } else {
        [candidate.as_slice(), b".", ext.as_slice(), b";1"].concat()
    };
    (ident, (candidate, ext))
}

/// Joliet identifier: UCS-2 big-endian, without a `;1` version (as xorriso writes; Linux and
/// Windows accept both).
fn joliet_ident(file: &str, name: &str) -> Result<Vec<u8>, ContainerError> {
    let units: Vec<u16> = name.encode_utf16().collect();
    if units.iter().any(|u| (0xD800..0xE000).contains(u)) {
        return Err(ContainerError::BadName {
            path: file.to_string(),
            reason: "has a character outside the Basic Multilingual Plane, which Joliet (UCS-2) cannot store",
        });
    }
    if units.len() > JOLIET_MAX_NAME {
        return Err(ContainerError::BadName {
            path: file.to_string(),
            reason: "has a name longer than 64 characters, the Joliet limit",
        });
    }
    Ok(units.iter().flat_map(|u| u.to_be_bytes()).collect())
}

/// A child while a directory's entries are being sorted.
enum Kid<'a, 't> {
    Dir(&'a LayoutDir<'t>),
    File(usize),
}

/// Builds one hierarchy breadth-first (path table order, ECMA-119 9.4.5: by level, then parent
/// number, then identifier).
fn hierarchy(
    root: &LayoutDir<'_>,
    joliet: bool,
    file_index: &HashMap<&str, usize>,
) -> Result<Vec<PDir>, ContainerError> {
    let mut dirs: Vec<PDir> = Vec::new();
    let mut queue: VecDeque<(&LayoutDir<'_>, usize, Vec<u8>, usize)> = VecDeque::new();
    queue.push_back((root, 0, vec![0], 1));
    while let Some((ld, parent, ident, level)) = queue.pop_front() {
        let me = dirs.len();
        // (sort key, identifier, target)
        let mut kids: Vec<(Vec<u8>, Vec<u8>, Kid<'_, '_>)> = Vec::new();
        let mut taken = Vec::new();
        for d in ld.dirs.values() {
            if level + 1 > MAX_LEVELS {
                return Err(ContainerError::TooDeep {
                    path: d.path.clone(),
                    depth: level + 1,
                    limit: MAX_LEVELS,
                    format: "ISO 9660",
                });
            }
            let (id, key) = if joliet {
                let id = joliet_ident(&d.path, &d.name)?;
                (id.clone(), id)
            } else {
                let (id, (b, e)) = primary_ident(&d.name, true, &mut taken);
                (id, [b, vec![0], e].concat())
            };
            kids.push((key, id, Kid::Dir(d)));
        }
        for f in ld.files.values() {
            let idx = file_index.get(f.path.as_str()).copied().ok_or_else(|| {
                ContainerError::Internal {
                    path: PathBuf::from(&f.path),
                    what: "file missing from the plan".into(),
                }
            })?;
            let (id, key) = if joliet {
                let id = joliet_ident(&f.path, &f.name)?;
                (id.clone(), id)
            } else {
                let (id, (b, e)) = primary_ident(&f.name, false, &mut taken);
                (id, [b, vec![0], e].concat())
            };
            kids.push((key, id, Kid::File(idx)));
        }
        kids.sort_by(|a, b| a.0.cmp(&b.0));
        let mut entries = Vec::with_capacity(kids.len());
        for (_, id, kid) in kids {
            match kid {
                Kid::Dir(d) => {
                    // Its index once dequeued: this directory, then every one queued before it.
                    let index = me + 1 + queue.len();
                    entries.push(PEntry {
                        ident: id.clone(),
                        kind: Kind::Dir(index),
                    });
                    queue.push_back((d, me, id, level + 1));
                }
                Kid::File(i) => entries.push(PEntry {
                    ident: id,
                    kind: Kind::File(i),
                }),
            }
        }
        dirs.push(PDir {
            parent,
            ident,
            entries,
            lba: 0,
            size: 0,
        });
    }
    Ok(dirs)
}

/// Size of a directory extent: records never cross a sector boundary (ECMA-119 6.8.1.1).
fn dir_size(d: &PDir) -> u64 {
    let mut pos: u64 = 0;
    let lens = [34usize, 34]
        .into_iter()
        .chain(d.entries.iter().map(|e| record_len(e.ident.len())));
    for len in lens {
        let len = len as u64;
        if pos % SECTOR + len > SECTOR {
            pos = sectors(pos) * SECTOR;
        }
        pos += len;
    }
    sectors(pos).max(1) * SECTOR
}

fn path_table_size(dirs: &[PDir]) -> u64 {
    dirs.iter()
        .map(|d| 8 + d.ident.len() as u64 + (d.ident.len() as u64 % 2))
        .sum()
}

struct Plan<'a> {
    files: Vec<PFile<'a>>,
    primary: Vec<PDir>,
    joliet: Vec<PDir>,
    boot_record: Option<u32>,
    joliet_vd: u32,
    terminator: u32,
    catalog: Option<u32>,
    pt_size: [u32; 2],
    pt_lba: [u32; 4],
    total: u32,
    boot: Vec<(u8, usize, u16)>,
}

fn to_u32(v: u64, size: u64) -> Result<u32, ContainerError> {
    u32::try_from(v).map_err(|_| ContainerError::MediumTooLarge {
        size,
        limit: u64::from(u32::MAX) * SECTOR,
        format: "ISO 9660",
    })
}

/// The boot images of the tree, by platform; they must be files of the tree and non-empty.
fn boot_files<'a>(
    tree: &MediaTree,
    layout: &'a Layout<'a>,
) -> Result<Vec<(u8, &'a LayoutFile<'a>)>, ContainerError> {
    let mut boot_files: Vec<(u8, &'a LayoutFile<'a>)> = Vec::new();
    for (which, platform, path) in [
        ("BIOS", raw::PLATFORM_BIOS, &tree.boot.bios),
        ("UEFI", raw::PLATFORM_EFI, &tree.boot.uefi),
    ] {
        let Some(path) = path else { continue };
        let f = layout
            .find(path)
            .ok_or_else(|| ContainerError::BootImageMissing {
                path: path.clone(),
                which,
            })?;
        if f.size == 0 {
            return Err(ContainerError::BootImageEmpty {
                path: path.clone(),
                which,
            });
        }
        boot_files.push((platform, f));
    }
    Ok(boot_files)
}

/// File order on the image: boot images first, then sorted paths; refuses files too large.
fn file_order<'a>(
    boot_files: &[(u8, &'a LayoutFile<'a>)],
    layout: &'a Layout<'a>,
) -> Result<Vec<&'a LayoutFile<'a>>, ContainerError> {
    let mut order: Vec<&'a LayoutFile<'a>> = boot_files.iter().map(|(_, f)| *f).collect();
    for f in layout.files() {
        if f.size > MAX_FILE {
            return Err(ContainerError::FileTooLarge {
                path: f.path.clone(),
                size: f.size,
                limit: MAX_FILE,
                format: "ISO 9660 (without multi-extent files)",
            });
        }
        if !order.iter().any(|o| std::ptr::eq(*o, f)) {
            order.push(f);
        }
    }
    Ok(order)
}

/// Boot catalog entries (platform, file index, sectors to load) for the boot images.
fn boot_entries(
    boot_files: &[(u8, &LayoutFile<'_>)],
    file_index: &HashMap<&str, usize>,
) -> Vec<(u8, usize, u16)> {
    boot_files
        .iter()
        .filter_map(|(platform, f)| {
            let idx = file_index.get(f.path.as_str())?;
            let count = if *platform == raw::PLATFORM_BIOS {
                f.size.div_ceil(raw::VIRTUAL_SECTOR).min(BIOS_LOAD_SECTORS)
            } else {
                f.size
                    .div_ceil(raw::VIRTUAL_SECTOR)
                    .min(u64::from(u16::MAX))
            };
            Some((*platform, *idx, u16::try_from(count).unwrap_or(u16::MAX)))
        })
        .collect()
}

/// Assigns every sector of the image: descriptors, path tables, directories, then file data.
fn plan<'a>(tree: &MediaTree, layout: &'a Layout<'a>) -> Result<Plan<'a>, ContainerError> {
    let boot_files = boot_files(tree, layout)?;
    let order = file_order(&boot_files, layout)?;
    let file_index: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();

    let mut primary = hierarchy(&layout.root, false, &file_index)?;
    let mut joliet = hierarchy(&layout.root, true, &file_index)?;

    let mut lba: u64 = u64::from(raw::FIRST_DESCRIPTOR_LBA) + 1; // after the PVD
    let boot_record = if boot_files.is_empty() {
        None
    } else {
        lba += 1;
        Some(lba - 1)
    };
    let joliet_vd = lba;
    let terminator = lba + 1;
    lba += 2;
    let catalog = if boot_files.is_empty() {
        None
    } else {
        lba += 1;
        Some(lba - 1)
    };
    let pt = [path_table_size(&primary), path_table_size(&joliet)];
    let mut pt_lba = [0u64; 4];
    for (i, slot) in pt_lba.iter_mut().enumerate() {
        *slot = lba;
        lba += sectors(pt.get(i / 2).copied().unwrap_or(0)).max(1);
    }
    for d in primary.iter_mut().chain(joliet.iter_mut()) {
        let size = dir_size(d);
        d.lba = to_u32(lba, lba * SECTOR)?;
        d.size = to_u32(size, size)?;
        lba += sectors(size);
    }
    let mut files = Vec::with_capacity(order.len());
    for f in order {
        let at = if f.size == 0 { 0 } else { lba };
        lba += sectors(f.size);
        files.push(PFile {
            file: f,
            lba: to_u32(at, lba.saturating_mul(SECTOR))?,
        });
    }
    let total = to_u32(lba, lba.saturating_mul(SECTOR))?;
    let boot = boot_entries(&boot_files, &file_index);
    let small = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(Plan {
        files,
        primary,
        joliet,
        boot_record: boot_record.map(small),
        joliet_vd: small(joliet_vd),
        terminator: small(terminator),
        catalog: catalog.map(small),
        pt_size: [small(pt[0]), small(pt[1])],
        pt_lba: pt_lba.map(small),
        total,
        boot,
    })
}

/// A sequential writer that knows its offset and checks it against the plan.
struct Out<'p> {
    w: BufWriter<std::fs::File>,
    pos: u64,
    path: &'p Path,
}

impl Write for Out<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.w.write(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

impl Out<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ContainerError> {
        self.write_all(bytes).map_err(ContainerError::io(self.path))
    }
    fn zeros(&mut self, mut n: u64) -> Result<(), ContainerError> {
        let z = [0u8; 4096];
        while n > 0 {
            let k = n.min(z.len() as u64);
            self.put(z.get(..usize::try_from(k).unwrap_or(0)).unwrap_or_default())?;
            n -= k;
        }
        Ok(())
    }
    fn pad_sector(&mut self) -> Result<(), ContainerError> {
        let rem = self.pos % SECTOR;
        if rem != 0 {
            self.zeros(SECTOR - rem)?;
        }
        Ok(())
    }
    /// The stream must be exactly at `lba` (plan and output agree).
    fn at(&mut self, lba: u32, what: &str) -> Result<(), ContainerError> {
        if self.pos != u64::from(lba) * SECTOR {
            return Err(ContainerError::Internal {
                path: self.path.to_path_buf(),
                what: format!(
                    "{what} planned at sector {lba}, stream at byte {}",
                    self.pos
                ),
            });
        }
        Ok(())
    }
}

fn record_time(c: Civil) -> raw::RecordDateTime {
    raw::RecordDateTime {
        year: u8::try_from(c.year - 1900).unwrap_or(0),
        month: c.month,
        day: c.day,
        hour: c.hour,
        minute: c.minute,
        second: c.second,
        gmt_offset: 0,
    }
}

fn descriptor_time(c: Civil) -> raw::DescriptorDateTime {
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}00",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    let mut digits = [b'0'; 16];
    for (d, b) in digits.iter_mut().zip(s.bytes()) {
        *d = b;
    }
    raw::DescriptorDateTime {
        digits,
        gmt_offset: 0,
    }
}

fn dir_record(ident: &[u8], lba: u32, size: u32, flags: u8, time: raw::RecordDateTime) -> Vec<u8> {
    let len = record_len(ident.len());
    let header = raw::DirRecordHeader {
        length: u8::try_from(len).unwrap_or(u8::MAX),
        ext_attr_length: 0,
        extent: Both32::new(lba),
        data_length: Both32::new(size),
        recorded: time,
        flags,
        file_unit_size: 0,
        interleave_gap: 0,
        volume_sequence: Both16::new(1),
        identifier_length: u8::try_from(ident.len()).unwrap_or(u8::MAX),
    };
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(ident);
    v.resize(len, 0);
    v
}

fn dir_bytes(dirs: &[PDir], idx: usize, files: &[PFile<'_>], time: raw::RecordDateTime) -> Vec<u8> {
    let Some(d) = dirs.get(idx) else {
        return Vec::new();
    };
    let parent = dirs.get(d.parent).unwrap_or(d);
    let mut out: Vec<u8> = Vec::with_capacity(d.size as usize);
    let mut push = |rec: Vec<u8>| {
        let rem = out.len() as u64 % SECTOR;
        if rem + rec.len() as u64 > SECTOR {
            out.resize(out.len().div_ceil(raw::SECTOR_LEN) * raw::SECTOR_LEN, 0);
        }
        out.extend_from_slice(&rec);
    };
    push(dir_record(&[0], d.lba, d.size, raw::FLAG_DIRECTORY, time));
    push(dir_record(
        &[1],
        parent.lba,
        parent.size,
        raw::FLAG_DIRECTORY,
        time,
    ));
    for e in &d.entries {
        match e.kind {
            Kind::Dir(i) => {
                let (lba, size) = dirs.get(i).map_or((0, 0), |s| (s.lba, s.size));
                push(dir_record(&e.ident, lba, size, raw::FLAG_DIRECTORY, time));
            }
            Kind::File(i) => {
                let (lba, size) = files.get(i).map_or((0, 0), |f| {
                    (f.lba, u32::try_from(f.file.size).unwrap_or(u32::MAX))
                });
                push(dir_record(&e.ident, lba, size, 0, time));
            }
        }
    }
    out.resize(d.size as usize, 0);
    out
}

fn path_table(dirs: &[PDir], big_endian: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for d in dirs {
        let id_len = u8::try_from(d.ident.len()).unwrap_or(u8::MAX);
        let parent = u16::try_from(d.parent + 1).unwrap_or(u16::MAX);
        if big_endian {
            let h = raw::PathTableHeaderBe {
                identifier_length: id_len,
                ext_attr_length: 0,
                extent: U32::<BigEndian>::new(d.lba),
                parent: U16::<BigEndian>::new(parent),
            };
            out.extend_from_slice(h.as_bytes());
        } else {
            let h = raw::PathTableHeaderLe {
                identifier_length: id_len,
                ext_attr_length: 0,
                extent: U32::<LittleEndian>::new(d.lba),
                parent: U16::<LittleEndian>::new(parent),
            };
            out.extend_from_slice(h.as_bytes());
        }
        out.extend_from_slice(&d.ident);
        if d.ident.len() % 2 == 1 {
            out.push(0);
        }
    }
    out
}

fn fill<const N: usize>(text: &[u8], pad: u8) -> [u8; N] {
    let mut a = [pad; N];
    for (d, s) in a.iter_mut().zip(text) {
        *d = *s;
    }
    a
}

/// UCS-2BE text padded with UCS-2 spaces (Joliet descriptor fields).
fn fill_ucs2<const N: usize>(text: &str) -> [u8; N] {
    let mut a = [0u8; N];
    for pair in a.chunks_exact_mut(2) {
        pair.copy_from_slice(&[0, b' ']);
    }
    let bytes: Vec<u8> = text
        .encode_utf16()
        .filter(|u| !(0xD800..0xE000).contains(u))
        .flat_map(u16::to_be_bytes)
        .take(N)
        .collect();
    for (d, s) in a.iter_mut().zip(&bytes) {
        *d = *s;
    }
    a
}

fn volume_descriptor(
    plan: &Plan<'_>,
    joliet: bool,
    label: &str,
    now: Civil,
) -> raw::VolumeDescriptor {
    let dirs = if joliet { &plan.joliet } else { &plan.primary };
    let (root_lba, root_size) = dirs.first().map_or((0, 0), |r| (r.lba, r.size));
    let root = dir_record(
        &[0],
        root_lba,
        root_size,
        raw::FLAG_DIRECTORY,
        record_time(now),
    );
    let pt = if joliet {
        plan.pt_size[1]
    } else {
        plan.pt_size[0]
    };
    let base = if joliet { 2 } else { 0 };
    let mut vd = raw::VolumeDescriptor::new_zeroed();
    vd.descriptor_type = if joliet {
        raw::VD_SUPPLEMENTARY
    } else {
        raw::VD_PRIMARY
    };
    vd.standard_id = raw::STANDARD_ID;
    vd.version = 1;
    if joliet {
        vd.system_id = fill_ucs2("");
        vd.volume_id = fill_ucs2(label);
        vd.escape_sequences = fill(&raw::JOLIET_ESCAPE_LEVEL3, 0);
        vd.volume_set_id = fill_ucs2(label);
        vd.publisher_id = fill_ucs2("");
        vd.preparer_id = fill_ucs2("");
        vd.application_id = fill_ucs2("PEFORGE");
        vd.copyright_file_id = fill_ucs2::<37>("");
        vd.abstract_file_id = fill_ucs2::<37>("");
        vd.bibliographic_file_id = fill_ucs2::<37>("");
        // 37-byte fields hold 18 characters and a final zero byte.
        vd.copyright_file_id[36] = 0;
        vd.abstract_file_id[36] = 0;
        vd.bibliographic_file_id[36] = 0;
    } else {
        let vol = d_chars_label(label);
        vd.system_id = fill(b"", b' ');
        vd.volume_id = fill(&vol, b' ');
        vd.volume_set_id = fill(&vol, b' ');
        vd.publisher_id = fill(b"", b' ');
        vd.preparer_id = fill(b"", b' ');
        vd.application_id = fill(b"PEFORGE", b' ');
        vd.copyright_file_id = fill(b"", b' ');
        vd.abstract_file_id = fill(b"", b' ');
        vd.bibliographic_file_id = fill(b"", b' ');
    }
    vd.volume_space_size = Both32::new(plan.total);
    vd.volume_set_size = Both16::new(1);
    vd.volume_sequence_number = Both16::new(1);
    vd.logical_block_size = Both16::new(2048);
    vd.path_table_size = Both32::new(pt);
    let [l, m] = if base == 0 {
        [plan.pt_lba[0], plan.pt_lba[1]]
    } else {
        [plan.pt_lba[2], plan.pt_lba[3]]
    };
    vd.l_path_table = U32::new(l);
    vd.m_path_table = U32::new(m);
    vd.root_record = fill(&root, 0);
    vd.creation = descriptor_time(now);
    vd.modification = descriptor_time(now);
    vd.expiration = raw::DescriptorDateTime::UNSPECIFIED;
    vd.effective = raw::DescriptorDateTime::UNSPECIFIED;
    vd.file_structure_version = 1;
    vd
}

/// Volume label in the primary descriptor: upper case, d-characters and spaces, 32 at most.
fn d_chars_label(label: &str) -> Vec<u8> {
    label
        .chars()
        .map(|c| {
            let u = c.to_ascii_uppercase();
            if u.is_ascii_uppercase() || u.is_ascii_digit() || u == '_' || u == ' ' {
                u as u8
            } else {
                b'_'
            }
        })
        .take(32)
        .collect()
}

fn boot_catalog(plan: &Plan<'_>) -> Vec<u8> {
    let entry = |(_, idx, count): &(u8, usize, u16)| raw::BootEntry {
        boot_indicator: raw::BOOTABLE,
        media_type: raw::MEDIA_NO_EMULATION,
        load_segment: U16::new(0),
        system_type: 0,
        unused: 0,
        sector_count: U16::new(*count),
        load_rba: U32::new(plan.files.get(*idx).map_or(0, |f| f.lba)),
        selection_criteria: 0,
        vendor_criteria: [0; 19],
    };
    let mut out = Vec::with_capacity(raw::SECTOR_LEN);
    let Some(first) = plan.boot.first() else {
        return out;
    };
    let mut validation = raw::ValidationEntry {
        header_id: raw::HEADER_VALIDATION,
        platform: first.0,
        reserved: U16::new(0),
        id_string: [0; 24],
        checksum: U16::new(0),
        key: raw::VALIDATION_KEY,
    };
    let sum = validation.as_bytes().chunks_exact(2).fold(0u16, |s, w| {
        s.wrapping_add(<[u8; 2]>::try_from(w).map_or(0, u16::from_le_bytes))
    });
    validation.checksum = U16::new(0u16.wrapping_sub(sum));
    out.extend_from_slice(validation.as_bytes());
    out.extend_from_slice(entry(first).as_bytes());
    // One section per further entry, the last marked final (El Torito 2.3), as xorriso and
    // oscdimg write the UEFI entry.
    let rest: Vec<_> = plan.boot.iter().skip(1).collect();
    for (i, e) in rest.iter().enumerate() {
        let header = raw::SectionHeader {
            header_indicator: if i + 1 == rest.len() {
                raw::HEADER_SECTION_FINAL
            } else {
                raw::HEADER_SECTION_MORE
            },
            platform: e.0,
            entries: U16::new(1),
            id_string: [0; 28],
        };
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(entry(e).as_bytes());
    }
    out
}

/// Writes everything before the file data: descriptors, boot catalog, path tables, directories.
fn write_metadata(
    o: &mut Out<'_>,
    plan: &Plan<'_>,
    label: &str,
    now: Civil,
) -> Result<(), ContainerError> {
    let time = record_time(now);
    o.zeros(u64::from(raw::FIRST_DESCRIPTOR_LBA) * SECTOR)?;
    o.at(raw::FIRST_DESCRIPTOR_LBA, "primary volume descriptor")?;
    o.put(volume_descriptor(plan, false, label, now).as_bytes())?;
    if let (Some(lba), Some(cat)) = (plan.boot_record, plan.catalog) {
        o.at(lba, "boot record")?;
        let mut br = raw::BootRecord::new_zeroed();
        br.descriptor_type = raw::VD_BOOT_RECORD;
        br.standard_id = raw::STANDARD_ID;
        br.version = 1;
        br.boot_system_id = fill(raw::EL_TORITO_ID, 0);
        br.catalog_lba = U32::new(cat);
        o.put(br.as_bytes())?;
    }
    o.at(plan.joliet_vd, "Joliet volume descriptor")?;
    o.put(volume_descriptor(plan, true, label, now).as_bytes())?;
    o.at(plan.terminator, "terminator")?;
    let mut term = [0u8; raw::SECTOR_LEN];
    term[0] = raw::VD_TERMINATOR;
    term[1..6].copy_from_slice(&raw::STANDARD_ID);
    term[6] = 1;
    o.put(&term)?;
    if let Some(cat) = plan.catalog {
        o.at(cat, "boot catalog")?;
        o.put(&boot_catalog(plan))?;
        o.pad_sector()?;
    }
    let tables = [
        (&plan.primary, false),
        (&plan.primary, true),
        (&plan.joliet, false),
        (&plan.joliet, true),
    ];
    for ((dirs, big_endian), lba) in tables.into_iter().zip(plan.pt_lba) {
        o.at(lba, "path table")?;
        o.put(&path_table(dirs, big_endian))?;
        o.pad_sector()?;
    }
    for dirs in [&plan.primary, &plan.joliet] {
        for (i, d) in dirs.iter().enumerate() {
            o.at(d.lba, "directory")?;
            o.put(&dir_bytes(dirs, i, &plan.files, time))?;
        }
    }
    Ok(())
}

/// Reads the image back before the rename: descriptors, every directory, the catalog.
fn read_back(
    image: &Path,
    plan: &Plan<'_>,
    out: &Path,
) -> Result<Vec<BootEntryInfo>, ContainerError> {
    let check = super::IsoReader::open(image)?;
    let entries = check.boot_entries()?;
    if check.files().len() != plan.files.len() || entries.len() != plan.boot.len() {
        return Err(ContainerError::Internal {
            path: out.to_path_buf(),
            what: format!(
                "read back {} files and {} boot entries, wrote {} and {}",
                check.files().len(),
                entries.len(),
                plan.files.len(),
                plan.boot.len()
            ),
        });
    }
    Ok(entries)
}

/// Writes `tree` as an ISO 9660 + Joliet image with an El Torito catalog to `out`.
///
/// The BIOS entry (platform 0x00, no emulation, 8 × 512-byte load size) points at
/// `tree.boot.bios`, the UEFI entry (platform 0xEF, no emulation, whole image) at
/// `tree.boot.uefi` — each only when set; a tree with neither gives a plain data ISO. The image
/// is written to a temporary file next to `out`, read back (descriptors and directory tree) and
/// only then renamed over `out`, so a failure never leaves a partial ISO. `progress` receives
/// one phase sized by the sum of the file contents.
///
/// Errors: invalid or colliding names, a file of 4 GiB or more, a missing or empty boot image,
/// I/O on a source or the output.
pub fn write(
    tree: &MediaTree,
    out: &Path,
    progress: &dyn Progress,
) -> Result<IsoSummary, ContainerError> {
    if out.is_dir() {
        return Err(ContainerError::BadTarget {
            path: out.to_path_buf(),
            reason: "is a directory; give the ISO file name",
        });
    }
    let layout = Layout::plan(tree)?;
    let plan = plan(tree, &layout)?;
    let now = Civil::from_unix(tree.mtime, 1900, 2155);
    let label = if tree.label.trim().is_empty() {
        "PEFORGE"
    } else {
        tree.label.as_str()
    };

    let tmp = crate::fsutil::temp_next_to(out).map_err(ContainerError::io(out))?;
    let file = tmp.as_file().try_clone().map_err(ContainerError::io(out))?;
    let mut o = Out {
        w: BufWriter::with_capacity(1 << 20, file),
        pos: 0,
        path: out,
    };

    write_metadata(&mut o, &plan, label, now)?;
    progress.start("writing ISO", Some(layout.total_bytes));
    for f in &plan.files {
        if f.file.size == 0 {
            continue;
        }
        o.at(f.lba, &f.file.path)?;
        copy_source(f.file, &mut o, out, progress)?;
        o.pad_sector()?;
    }
    o.at(plan.total, "end of volume")?;
    o.flush().map_err(ContainerError::io(out))?;
    drop(o);
    progress.finish();
    tmp.as_file().sync_all().map_err(ContainerError::io(out))?;

    let entries = read_back(tmp.path(), &plan, out)?;
    crate::media::container::publish(tmp, out)?;
    Ok(IsoSummary {
        path: out.to_path_buf(),
        bytes: u64::from(plan.total) * SECTOR,
        files: plan.files.len(),
        boot_entries: entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_identifiers_are_8_3_and_unique() {
        let mut taken = Vec::new();
        let (a, _) = primary_ident("efisys_noprompt.bin", false, &mut taken);
        let (b, _) = primary_ident("efisys_noprompt2.bin", false, &mut taken);
        let (c, _) = primary_ident("microsoft", true, &mut taken);
        assert_eq!(a, b"EFISYS_N.BIN;1");
        assert_eq!(b, b"EFISYS~1.BIN;1");
        assert_eq!(c, b"MICROSOF");
        let (d, _) = primary_ident("bootmgr", false, &mut taken);
        assert_eq!(d, b"BOOTMGR.;1");
    }

    #[test]
    fn joliet_identifiers_are_ucs2() {
        assert_eq!(joliet_ident("x", "a.b").unwrap(), b"\0a\0.\0b");
        assert!(joliet_ident("x", &"n".repeat(65)).is_err());
        assert!(joliet_ident("x", "\u{1F600}").is_err());
    }

    #[test]
    fn directory_records_do_not_cross_sectors() {
        let d = PDir {
            parent: 0,
            ident: vec![0],
            entries: (0..100)
                .map(|i| PEntry {
                    ident: format!("FILE{i:04}.BIN;1").into_bytes(),
                    kind: Kind::File(0),
                })
                .collect(),
            lba: 0,
            size: 0,
        };
        // 68 bytes of dot entries, then 100 records of 48 bytes: 42 per sector.
        assert_eq!(dir_size(&d), 3 * SECTOR);
    }
}
